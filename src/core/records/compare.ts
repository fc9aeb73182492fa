// Two saved sessions of the same kind side by side: what was measured before and after a change,
// largest difference first. Shared by `beam-lens session compare`, the MCP compare_sessions tool
// and the editor.
import { BeamLensError } from '../../errors';
import type { MailboxWatchResult } from '../runs/mailbox-watch';
import type { SessionRecord } from './store';
import type { ReportSessionResult } from '../facts/saved-facts';
import { displayMfa } from '../findings/thresholds';
import type { TraceResult } from '../runs/trace';

/** One measured thing of a session (a process's queue growth, a function's calls/s). */
export interface Measure {
  key: string;
  label: string;
  value: number;
  unit: string;
}

export interface ComparisonRow {
  what: string;
  unit: string;
  before: number | null;
  after: number | null;
}

export interface Comparison {
  kind: string;
  before: { id: string; startedAt: string; node: string };
  after: { id: string; startedAt: string; node: string };
  rows: ComparisonRow[];
}

/** Rows of a session as (key, label, value): mailbox growth per process, calls/s per function. */
export function measures(r: SessionRecord): Measure[] {
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
      // Findings (present or not) and the node's counts per module.
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
        const subject = e.type === 'call' ? e.what.replace(/\(.*$/, '') : e.type === 'send' ? `to ${e.what}` : e.type === 'receive' ? `by ${e.pid}` : e.what;
        const key = `${e.type} ${subject}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return [...counts].map(([key, n]) => ({ key, label: key, value: n, unit: 'events' }));
    }
    default:
      return [];
  }
}

/** Compares two sessions of one kind. Throws 'usage' for different kinds or a kind with nothing to compare. */
export function compareSessions(a: SessionRecord, b: SessionRecord): Comparison {
  if (a.kind !== b.kind) throw new BeamLensError('usage', `cannot compare a ${a.kind} session with a ${b.kind} session: compare two of the same kind`);
  if (a.kind !== 'mailboxes' && a.kind !== 'hot') {
    throw new BeamLensError('usage', `${a.kind} sessions have no measures to compare; compare two hot-functions or two mailbox-watch sessions`);
  }
  const before = new Map(measures(a).map((m) => [m.key, m]));
  const after = new Map(measures(b).map((m) => [m.key, m]));
  const keys = [...new Set([...before.keys(), ...after.keys()])];
  const rows = keys.map((k) => {
    const x = before.get(k);
    const y = after.get(k);
    return { what: (y ?? x)?.label ?? k, unit: (y ?? x)?.unit ?? '', before: x?.value ?? null, after: y?.value ?? null };
  });
  rows.sort((p, q) => Math.abs((q.after ?? 0) - (q.before ?? 0)) - Math.abs((p.after ?? 0) - (p.before ?? 0)));
  return {
    kind: a.kind,
    before: { id: a.id, startedAt: a.startedAt, node: a.node },
    after: { id: b.id, startedAt: b.startedAt, node: b.node },
    rows,
  };
}
