// The diagnostic report as Markdown: summary, findings with evidence, recommended changes, and a
// risk & validation plan. Node data is escaped: names and atoms come from strangers.
import { formatModule } from '../etf';
import { displayMfa, type Finding } from './findings';
import type { NodeSamples } from './sampler';
import { walkTree } from './tree';

const MiB = 1024 * 1024;

export interface ReportInput {
  samples: NodeSamples;
  findings: Finding[];
  env: string;
  /** Whether the probe was loaded (else zero-install). */
  probe: boolean;
  /** Why counting calls (asked for) did not run, for the method section. */
  tracingNote?: string;
  generatedAt?: Date;
}

/** Escapes text for Markdown inline use: no HTML, no accidental emphasis or links. */
export function md(text: string): string {
  // Brackets are escaped, so parentheses cannot form a link; < > cannot form HTML.
  return text.replace(/[\\`*_[\]<>|~]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

function code(text: string): string {
  const clean = text.replace(/\r?\n/g, ' ');
  const fence = clean.includes('`') ? '``' : '`';
  return `${fence}${fence === '``' ? ' ' : ''}${clean}${fence === '``' ? ' ' : ''}${fence}`;
}

function mib(n: number): string {
  return `${(n / MiB).toFixed(1)} MiB`;
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

export function renderReport(input: ReportInput): string {
  const { samples: s, findings } = input;
  const o = s.overviewEnd;
  const util = o.schedulerUtilization;
  const out: string[] = [];
  const critical = findings.filter((f) => f.severity === 'critical').length;
  const warnings = findings.filter((f) => f.severity === 'warning').length;
  out.push(`# BEAM Lens report: ${code(s.node)}`, '');
  out.push(
    `Generated ${(input.generatedAt ?? new Date()).toISOString()} · environment **${md(input.env)}** · sampled read-only for ` +
      `${(s.windowMs / 1000).toFixed(1)} s from ${s.startedAt} · ${input.probe ? 'probe loaded' : 'zero-install (no code loaded on the node)'}`,
    '',
  );
  out.push('## Diagnostic summary', '');
  out.push(
    `**${findings.length} finding${findings.length === 1 ? '' : 's'}** (${critical} critical, ${warnings} warning${warnings === 1 ? '' : 's'}, ${findings.length - critical - warnings} info).`,
    '',
  );
  out.push('| | |', '|---|---|');
  const rows: Array<[string, string]> = [
    ['Node', `${code(s.node)} · OTP ${md(o.otpRelease)} · ERTS ${md(o.ertsVersion)}`],
    ['Uptime', formatUptime(o.uptimeMs)],
    [
      'Schedulers',
      `${o.schedulers.online}/${o.schedulers.total} online` +
        (util ? ` · utilization ${pct(util.total)} (${util.perScheduler.map(pct).join(', ')})` : ''),
    ],
    [
      'Run queue',
      `${o.runQueue.total} (per scheduler: ${o.runQueue.perScheduler.join(', ')}` +
        (o.runQueue.dirtyCpu !== undefined ? `; dirty CPU ${o.runQueue.dirtyCpu}, dirty IO ${o.runQueue.dirtyIo ?? 0}` : '') +
        ')',
    ],
    ['Reductions', `${Math.round(s.totalReductionsPerSec).toLocaleString('en-US')}/s over the window`],
    [
      'Memory',
      `${mib(o.memory.total)} total · processes ${mib(o.memory.processes)} · binary ${mib(o.memory.binary)} · ETS ${mib(o.memory.ets)} · ` +
        `atom ${mib(o.memory.atom)} · code ${mib(o.memory.code)} · system ${mib(o.memory.system)}`,
    ],
    ['Memory change', `${signed((o.memory.total - s.overviewStart.memory.total) / MiB)} MiB over the window`],
    [
      'Counts / limits',
      Object.entries(o.limits)
        .map(([k, v]) => `${k === 'etsTables' ? 'ETS tables' : k} ${v.count.toLocaleString('en-US')}${v.limit ? ` / ${v.limit.toLocaleString('en-US')}` : ''}`)
        .join(' · '),
    ],
    ['IO', `in ${mib(o.io.inputBytes)} · out ${mib(o.io.outputBytes)} since start`],
  ];
  for (const [k, v] of rows) out.push(`| ${k} | ${v} |`);
  out.push('');

  out.push('## Findings', '');
  if (findings.length === 0) out.push('Nothing stood out in this window. Sample longer or under load to be sure.', '');
  findings.forEach((f, i) => {
    out.push(`### ${i + 1}. [${f.severity.toUpperCase()}] ${md(f.title)}`, '');
    out.push(`- Finding id: ${code(f.id)}`);
    if (f.subject.pid) out.push(`- Process: ${code(f.subject.pid)}${f.subject.name ? ` (${code(formatModule(f.subject.name))})` : ''}`);
    if (f.location) {
      const l = f.location;
      const fn = l.function ? displayMfa(`${l.module}:${l.function}${l.arity !== undefined ? `/${l.arity}` : ''}`) : formatModule(l.module);
      out.push(`- Where: ${code(fn)}${l.file ? ` in ${code(l.file)}${l.line ? `:${l.line}` : ''}` : ''}`);
    }
    out.push('- Evidence:');
    for (const e of f.evidence) out.push(`  - ${md(e)}`);
    out.push(`- Recommendation: ${md(f.recommendation)}`, '');
  });

  out.push('## Recommended changes', '');
  if (findings.length === 0) out.push('None from this window.', '');
  findings.forEach((f, i) => out.push(`${i + 1}. **${md(f.title)}**: ${md(f.recommendation)}`));
  out.push('');

  out.push('## Risk & validation plan', '');
  if (findings.length > 0) {
    out.push('| # | Change | What could go wrong | How to validate |', '|---|---|---|---|');
    findings.forEach((f, i) => out.push(`| ${i + 1} | ${md(shortTitle(f))} | ${md(f.risk)} | ${md(f.validation)} |`));
    out.push('');
  }
  out.push(
    'Roll changes out one at a time, on staging first, and re-run this report under comparable load after each: ' +
      'every finding above should disappear or shrink, and no new one should appear. Keep the previous release ready to roll back.',
    '',
  );

  out.push('## Appendix', '', '### Busiest processes in the window', '');
  out.push('| Process | Name / initial call | Reductions/s | Memory | Binary refs | Queue start → end | Current function |', '|---|---|---|---|---|---|---|');
  for (const p of s.processes.slice(0, 15)) {
    out.push(
      `| ${code(p.pid)} | ${md(p.row.name ? formatModule(p.row.name) : p.row.initialCall ? displayMfa(p.row.initialCall) : '')} | ` +
        `${Math.round(p.reductionsPerSec).toLocaleString('en-US')} | ${mib(p.memoryEnd)} | ${mib(p.binaryEnd)} | ${p.queueStart} → ${p.queueEnd} | ` +
        `${md(p.row.currentFunction ? displayMfa(p.row.currentFunction) : '')} |`,
    );
  }
  out.push('', '### Largest ETS tables', '', '| Table | Rows | Memory | Type | Owner |', '|---|---|---|---|---|');
  for (const t of s.ets.slice(0, 10)) {
    out.push(`| ${md(t.name)} | ${t.size.toLocaleString('en-US')} | ${mib(t.memoryBytes)} | ${md(`${t.type}, ${t.protection}`)} | ${md(t.ownerName ?? t.owner ?? '')} |`);
  }
  out.push('', '### Supervisors', '', '| Application | Supervisor | Strategy | Intensity | Children | Restarts remembered |', '|---|---|---|---|---|---|');
  for (const app of s.treesEnd) {
    if (!app.supervisor) continue;
    for (const { node } of walkTree(app.supervisor)) {
      if (node.type !== 'supervisor') continue;
      const label = node.name ?? node.module ?? node.pid ?? '?';
      out.push(
        `| ${md(app.name)} | ${md(formatModule(label))} | ${md(node.strategy ?? (node.error ? 'no answer' : '?'))} | ` +
          `${node.intensity ?? '?'} / ${node.period ?? '?'} s | ${node.childCount}${node.truncated ? ' (paged)' : ''} | ${node.restarts ?? '?'} |`,
      );
    }
  }
  out.push(
    '',
    '### Method',
    '',
    'Read-only: two whole-node snapshots of per-process reductions, queue length, memory and binary references (chunked, ' +
      'at most 10,000 processes per call), mailbox samples every second for the largest queues, the supervision trees ' +
      'at both ends (restart counts from each supervisor\'s state, child pids compared), and 50 samples of what the busiest ' +
      'processes were running. Scheduler utilization was measured by switching `scheduler_wall_time` on for 0.5 s and back off ' +
      'in the same call. ' +
      (s.hot
        ? `Calls were counted with call_count on ${s.hot.modules.length} modules of the node's own applications for ${(s.hot.durationMs / 1000).toFixed(1)} s; the patterns were removed at the end (and would have been by the probe's guardian had BEAM Lens vanished).`
        : input.tracingNote
          ? `Counting calls was asked for but did not run (${input.tracingNote}); no trace flags or patterns were left set.`
          : 'No trace flags or patterns were set.'),
    '',
  );
  return out.join('\n');
}

function shortTitle(f: Finding): string {
  const first = f.recommendation.split(/(?<=\.)\s/)[0] ?? f.recommendation;
  return `${f.rule} (${f.subject.name ? formatModule(f.subject.name) : f.subject.module ? formatModule(f.subject.module) : f.subject.pid ?? 'node'}): ${first}`;
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
}

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}
