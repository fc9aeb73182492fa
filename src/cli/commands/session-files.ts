import { loadSession, type SessionRecord } from '../../core/records/store';
import type { MailboxWatchResult } from '../../core/runs/mailbox-watch';
import { UsageError, booleanFlag } from '../args';
import type { Command } from '../command';
import { ExitCode } from '../exit-codes';
import { printJson, renderTable } from '../output';
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
      return (res.functions ?? []).map((f) => ({ key: f.mfa, label: f.mfa, value: f.callsPerSec, unit: 'calls/s' }));
    }
    default:
      return [];
  }
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
      if (r.kind === 'mailboxes') output.out(renderMailboxes((r.result as MailboxWatchResult).rows));
      else {
        const ms = measures(r);
        if (ms.length > 0) output.out(renderTable([{ header: 'WHAT', cell: (m: Measure) => m.label }, { header: 'VALUE', align: 'right', cell: (m) => `${m.value} ${m.unit}` }], ms));
        else output.out(JSON.stringify(r.result, null, 2));
      }
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
