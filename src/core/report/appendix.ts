// The report's appendix as typed sections: busiest processes, largest ETS tables, supervisors,
// mailbox lengths over the window, and how the data was taken.
import { formatModule } from '../../etf';
import { displayMfa } from '../findings/rules';
import { count, numberCell, paragraph, section, text, code, type ReportChart, type ReportSection, type ReportTable, type RichText, type TableCell } from './document';
import type { NodeSamples } from '../findings/sampler';
import { walkTree } from '../inspect/tree';
import type { SchedulingSample } from '../findings/scheduling';
import { memoryChart, microstateChart, schedulerChart } from './charts';

const plain = (t: string): TableCell => ({ kind: 'text', text: t });

export function reportAppendix(s: NodeSamples, tracingNote?: string, scheduling?: SchedulingSample): ReportSection[] {
  const out = [
    section('busiest-processes', 'Busiest processes in the window', [{ kind: 'table', table: busiestProcesses(s) }]),
    section('largest-ets-tables', 'Largest ETS tables', [{ kind: 'table', table: largestEts(s) }]),
    section('supervisors', 'Supervisors', [{ kind: 'table', table: supervisors(s) }]),
  ];
  const chart = mailboxChart(s);
  if (chart) out.push(section('mailbox-lengths', 'Mailbox lengths over the window', [{ kind: 'chart', chart }]));
  out.push(section('memory-by-type', 'Memory by type', [{ kind: 'chart', chart: memoryChart(s) }]));
  const sched = schedulerChart(s);
  if (sched) out.push(section('scheduler-utilization', 'Scheduler utilization', [{ kind: 'chart', chart: sched }]));
  const msacc = microstateChart(scheduling);
  if (msacc) out.push(section('microstates', 'Microstate accounting', [{ kind: 'chart', chart: msacc }]));
  out.push(section('method', 'Method', [paragraph(method(s, tracingNote))]));
  return out;
}

function busiestProcesses(s: NodeSamples): ReportTable {
  return {
    columns: [
      { label: 'Process', type: 'text' },
      { label: 'Name / initial call', type: 'text' },
      { label: 'Reductions/s', type: 'number' },
      { label: 'Memory', type: 'number' },
      { label: 'Binary refs', type: 'number' },
      { label: 'Queue start → end', type: 'text' },
      { label: 'Current function', type: 'text' },
    ],
    rows: s.processes.slice(0, 15).map((p) => [
      { kind: 'code', text: p.pid },
      plain(p.row.name ? formatModule(p.row.name) : p.row.initialCall ? displayMfa(p.row.initialCall) : ''),
      numberCell(p.reductionsPerSec, 'per-second'),
      numberCell(p.memoryEnd, 'bytes'),
      numberCell(p.binaryEnd, 'bytes'),
      plain(`${p.queueStart} → ${p.queueEnd}`),
      plain(p.row.currentFunction ? displayMfa(p.row.currentFunction) : ''),
    ]),
  };
}

function largestEts(s: NodeSamples): ReportTable {
  return {
    columns: [
      { label: 'Table', type: 'text' },
      { label: 'Rows', type: 'number' },
      { label: 'Memory', type: 'number' },
      { label: 'Type', type: 'text' },
      { label: 'Owner', type: 'text' },
    ],
    rows: s.ets.slice(0, 10).map((t) => [
      plain(t.name),
      numberCell(t.size, 'count'),
      numberCell(t.memoryBytes, 'bytes'),
      plain(`${t.type}, ${t.protection}`),
      plain(t.ownerName ?? t.owner ?? ''),
    ]),
  };
}

function supervisors(s: NodeSamples): ReportTable {
  const rows: TableCell[][] = [];
  // Unnamed supervisors of one module with the same settings (one per queue or connection:
  // RabbitMQ runs hundreds) are one row with their count.
  const groups = new Map<string, { app: string; label: string; strategy: string; intensity: string; n: number; children: number; paged: boolean; restarts: number | undefined }>();
  for (const app of s.treesEnd) {
    if (!app.supervisor) continue;
    for (const { node } of walkTree(app.supervisor)) {
      if (node.type !== 'supervisor') continue;
      const label = formatModule(node.name ?? node.module ?? node.pid ?? '?');
      const strategy = node.strategy ?? (node.error ? 'no answer' : 'unknown');
      const intensity = node.intensity !== undefined ? `${node.intensity} / ${node.period ?? '?'} s` : 'unknown';
      const key = node.name === null ? `${app.name}\u0000${label}\u0000${strategy}\u0000${intensity}` : `${app.name}\u0000${node.pid ?? label}`;
      const g = groups.get(key);
      if (g) {
        g.n++;
        g.children += node.childCount;
        g.paged ||= node.truncated === true;
        if (node.restarts !== undefined) g.restarts = (g.restarts ?? 0) + node.restarts;
      } else {
        groups.set(key, { app: app.name, label, strategy, intensity, n: 1, children: node.childCount, paged: node.truncated === true, restarts: node.restarts });
      }
    }
  }
  for (const g of groups.values()) {
    rows.push([
      plain(g.app),
      plain(g.n > 1 ? `${g.label} ×${g.n}` : g.label),
      plain(g.strategy),
      plain(g.intensity),
      plain(`${g.children}${g.n > 1 ? ' in all' : ''}${g.paged ? ' (paged)' : ''}`),
      g.restarts === undefined ? plain('unknown') : numberCell(g.restarts, 'count'),
    ]);
  }
  return {
    columns: [
      { label: 'Application', type: 'text' },
      { label: 'Supervisor', type: 'text' },
      { label: 'Strategy', type: 'text' },
      { label: 'Intensity', type: 'text' },
      { label: 'Children', type: 'text' },
      { label: 'Restarts remembered', type: 'number' },
    ],
    rows,
  };
}

const SPARK = '▁▂▃▄▅▆▇█';

/** A text sparkline of up to `width` points (resampled evenly), scaled from 0 to the series' maximum. */
export function sparkline(values: readonly number[], width = 24): string {
  if (values.length === 0) return '';
  const picked = values.length <= width ? values : Array.from({ length: width }, (_, i) => values[Math.round((i * (values.length - 1)) / (width - 1))] ?? 0);
  const max = Math.max(...picked);
  return picked.map((v) => SPARK[max <= 0 ? 0 : Math.min(SPARK.length - 1, Math.floor((v / max) * (SPARK.length - 1)))]).join('');
}

/** The watched mailboxes that held messages, largest first (at most 5). */
function mailboxChart(s: NodeSamples): ReportChart | null {
  const names = new Map(s.processes.map((p) => [p.pid, p.row.name ? formatModule(p.row.name) : p.row.initialCall ? displayMfa(p.row.initialCall) : '']));
  const watched = s.mailboxes
    .map((m) => ({ m, max: Math.max(0, ...m.points.map((p) => p[1])) }))
    .filter((x) => x.max > 0 && x.m.points.length > 0)
    .sort((a, b) => b.max - a.max)
    .slice(0, 5);
  if (watched.length === 0) return null;
  const label = (pid: string): string => {
    const name = names.get(pid);
    return name ? `${pid} ${name}` : pid;
  };
  const fallback: ReportTable = {
    columns: [
      { label: 'Process', type: 'text' },
      { label: 'Samples', type: 'number' },
      { label: 'First', type: 'number' },
      { label: 'Last', type: 'number' },
      { label: 'Largest', type: 'number' },
      { label: 'Over the window', type: 'text' },
    ],
    rows: watched.map(({ m, max }) => {
      const values = m.points.map((p) => p[1]);
      return [
        { kind: 'rich', text: [code(m.pid), ...(names.get(m.pid) ? [text(` ${names.get(m.pid) ?? ''}`)] : [])] },
        numberCell(values.length, 'count'),
        numberCell(values[0] ?? 0, 'count'),
        numberCell(values[values.length - 1] ?? 0, 'count'),
        numberCell(max, 'count'),
        plain(sparkline(values)),
      ];
    }),
  };
  return {
    id: 'mailbox',
    shape: 'lines',
    title: 'Messages queued, sampled every second',
    x: { label: 'time since the window started', unit: 'ms' },
    y: { label: 'messages queued', unit: 'count' },
    series: watched.map(({ m }) => ({ label: label(m.pid), points: m.points.map(([x, y]) => [x, y]) })),
    fallback,
  };
}

function sockets(s: NodeSamples): string {
  const c = s.connections;
  if (!c) return '';
  if (c.samples === 0) return c.note ? `TCP sockets were not sampled: ${c.note}. ` : '';
  return `TCP sockets and their owners were listed ${c.samples} times over ${(c.spanMs / 1000).toFixed(1)} s (connection churn)${c.note ? `; ${c.note}` : ''}. `;
}

function method(s: NodeSamples, tracingNote: string | undefined): RichText {
  const tracing = s.hot
    ? `Calls were counted with call_count on ${count(s.hot.modules.length)} modules of the node's own applications for ${(s.hot.durationMs / 1000).toFixed(1)} s; ` +
      "the patterns were removed at the end (and would have been by the probe's guardian had BEAM Lens vanished)."
    : tracingNote
      ? `Counting calls was asked for but did not run: ${tracingNote}.`
      : 'No trace flags or patterns were set.';
  return [
    text(
      'Read-only: two whole-node snapshots of per-process reductions, queue length, memory and binary references (chunked, ' +
    'at most 10,000 processes per call), mailbox samples every second for the largest queues, the supervision trees ' +
    "at both ends (restart counts from each supervisor's state, child pids compared), and 50 samples of what the busiest " +
        'processes were running. Scheduler utilization was measured by switching ',
    ),
    code('scheduler_wall_time'),
    text(` on for 0.5 s and back off in the same call. ${sockets(s)}${tracing}`),
  ];
}
