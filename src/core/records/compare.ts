// Two saved sessions of the same kind side by side: what was measured before and after a change,
// largest difference first. Shared by `beam-lens session compare`, the MCP compare_sessions tool
// and the editor.
import { BeamLensError } from '../../errors';
import type { MailboxWatchResult } from '../runs/mailbox-watch';
import type { SessionRecord } from './store';

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
      return (res.functions ?? []).map((f) => ({ key: f.mfa, label: f.mfa, value: f.callsPerSec, unit: 'calls/s' }));
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
