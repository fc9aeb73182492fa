import { loadSession, type SessionRecord } from '../../core/records/store';
import type { MailboxWatchResult } from '../../core/runs/mailbox-watch';
import { UsageError, booleanFlag } from '../args';
import type { Command } from '../command';
import { ExitCode } from '../exit-codes';
import { formatBytes, printJson, renderTable } from '../output';
import { displayMfa } from '../../core/findings/thresholds';
import type { ReportSessionResult } from '../../core/facts/saved-facts';
import { traceLine } from '../../core/records/trace-log';
import type { TraceResult } from '../../core/runs/trace';
import { renderMailboxes } from './mailboxes';

/** Rows of any session kind as (key, label, value) so two sessions can be compared. */
interface Measure {
  key: string;
  label: string;
  value: number;
  unit: string;
}

function measures(r: SessionRecord): Measure[] {
  switch (r.kind) {
    case 'mailboxes':
      return (r.result as MailboxWatchResult).rows.map((row) => ({
        key: row.name ?? row.initialCall ?? row.pid,
        label: row.name ?? row.initialCall ?? row.pid,
        value: row.growthPerSec,
        unit: 'msgs/s',
      }));
    case 'hot': {
      const res = r.result as { functions?: Array<{ mfa: string; callsPerSec: number }> };
      return (res.functions ?? []).map((f) => ({ key: f.mfa, label: displayMfa(f.mfa), value: f.callsPerSec, unit: 'calls/s' }));
    }
    case 'report': {
      const facts = (r.result as Partial<ReportSessionResult> | null)?.facts;
      if (!facts) return [];
      return [
        ...facts.findings.map((f) => ({ key: `finding:${f.id}`, label: `[${f.severity}] ${f.title}`, value: 1, unit: 'finding' })),
        ...facts.modules.slice(0, 30).flatMap((m) => [
          { key: `processes:${m.module}`, label: `${m.module} processes`, value: m.processes, unit: 'processes' },
          { key: `memory:${m.module}`, label: `${m.module} memory`, value: Math.round((m.memory / (1024 * 1024)) * 10) / 10, unit: 'MiB' },
        ]),
      ];
    }
    case 'trace':
    case 'trace-messages':
    case 'monitor': {
      // Events per kind and subject (function called, process sent to, monitor event kind).
      const events = (r.result as Partial<TraceResult> | null)?.events ?? [];
      const counts = new Map<string, number>();
      for (const e of events) {
        const subject = e.type === 'call' ? e.what.replace(/\(.*$/, '') : e.type === 'monitor' ? e.what : e.type === 'send' ? `to ${e.what}` : e.type === 'receive' ? `by ${e.pid}` : e.what;
        const key = `${e.type} ${subject}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return [...counts].map(([key, n]) => ({ key, label: key, value: n, unit: 'events' }));
    }
    default:
      return [];
  }
}

/** The body of `session show` for one record, as text (never raw JSON). */
function showBody(r: SessionRecord): string {
  if (r.kind === 'mailboxes') return renderMailboxes((r.result as MailboxWatchResult).rows);
  if (r.kind === 'report') {
    const facts = (r.result as Partial<ReportSessionResult> | null)?.facts;
    if (!facts) return 'no facts saved in this report session';
    const lines = [`${facts.findings.length} finding${facts.findings.length === 1 ? '' : 's'}:`, ...facts.findings.map((f) => `  [${f.severity}] ${f.title}`)];
    if (facts.modules.length > 0) {
      lines.push(
        '',
        renderTable(
          [
            { header: 'MODULE', max: 50, cell: (m: (typeof facts.modules)[0]) => m.module },
            { header: 'PROCESSES', align: 'right', cell: (m) => String(m.processes) },
            { header: 'MEMORY', align: 'right', cell: (m) => formatBytes(m.memory) },
            { header: 'LARGEST MAILBOX', align: 'right', cell: (m) => String(m.largestMailbox) },
          ],
          facts.modules.slice(0, 20),
        ),
      );
    }
    return lines.join('\n');
  }
  if (r.kind === 'trace' || r.kind === 'trace-messages' || r.kind === 'monitor') {
    const res = r.result as Partial<TraceResult> | null;
    const events = res?.events ?? [];
    if (events.length === 0) return 'no events were recorded';
    return [...events.map(traceLine), `${events.length} events${res?.dropped ? `, ${res.dropped} dropped by the rate limit` : ''}`].join('\n');
  }
  const ms = measures(r);
  if (ms.length === 0) return 'nothing was recorded in this session';
  return renderTable([{ header: 'WHAT', cell: (m: Measure) => m.label }, { header: 'VALUE', align: 'right', cell: (m) => `${m.value} ${m.unit}` }], ms);
}

export const sessionCommand: Command = {
  spec: {
    name: 'session',
    summary: 'Reopen a saved session offline (show FILE) or compare two (compare A B).',
    usage: 'beam-lens session show FILE [--json] | beam-lens session compare A B [--json]',
    positionals: ['action', 'file', 'other?'],
    flags: { json: { type: 'boolean', description: 'machine-readable output' } },
  },
  async run({ args, output }) {
    const [action, file, other] = args.positionals as [string, string, string | undefined];
    if (action === 'show') {
      if (other !== undefined) throw new UsageError('session show takes one file');
      const r = loadSession(file);
      if (booleanFlag(args.flags, 'json')) {
        printJson(output, r);
        return ExitCode.ok;
      }
      output.out(`${r.kind} session ${r.id} on ${r.node} (${r.env}), ${r.startedAt}, ${(r.durationMs / 1000).toFixed(1)} s, ended: ${r.endReason}${r.endDetail ? ` (${r.endDetail})` : ''}`);
      output.out(showBody(r));
      return ExitCode.ok;
    }
    if (action === 'compare') {
      if (other === undefined) throw new UsageError('session compare needs two files: beam-lens session compare A B');
      const a = loadSession(file);
      const b = loadSession(other);
      if (a.kind !== b.kind) throw new UsageError(`cannot compare a ${a.kind} session with a ${b.kind} session`);
      const before = new Map(measures(a).map((m) => [m.key, m]));
      const after = new Map(measures(b).map((m) => [m.key, m]));
      const keys = [...new Set([...before.keys(), ...after.keys()])];
      const rows = keys.map((k) => {
        const x = before.get(k);
        const y = after.get(k);
        return { what: (y ?? x)?.label ?? k, unit: (y ?? x)?.unit ?? '', before: x?.value ?? null, after: y?.value ?? null };
      });
      rows.sort((p, q) => Math.abs((q.after ?? 0) - (q.before ?? 0)) - Math.abs((p.after ?? 0) - (p.before ?? 0)));
      if (rows.length === 0 && !booleanFlag(args.flags, 'json')) {
        output.out(`${a.kind}: ${a.id} (${a.startedAt}) → ${b.id} (${b.startedAt})\nneither session recorded anything to compare`);
        return ExitCode.ok;
      }
      if (booleanFlag(args.flags, 'json')) {
        printJson(output, { kind: a.kind, before: { id: a.id, startedAt: a.startedAt }, after: { id: b.id, startedAt: b.startedAt }, rows });
        return ExitCode.ok;
      }
      output.out(`${a.kind}: ${a.id} (${a.startedAt}) → ${b.id} (${b.startedAt})`);
      output.out(
        renderTable(
          [
            { header: 'WHAT', cell: (r: (typeof rows)[0]) => r.what },
            { header: 'BEFORE', align: 'right', cell: (r) => (r.before === null ? '-' : String(r.before)) },
            { header: 'AFTER', align: 'right', cell: (r) => (r.after === null ? '-' : String(r.after)) },
            { header: 'UNIT', cell: (r) => r.unit },
          ],
          rows,
        ),
      );
      return ExitCode.ok;
    }
    throw new UsageError(`unknown session action "${action}": use show or compare`);
  },
};
