import { compareSessions, measures, type Measure } from '../../core/records/compare';
import { loadSession, type SessionRecord } from '../../core/records/store';
import type { ReportSessionResult } from '../../core/facts/saved-facts';
import { traceLine } from '../../core/records/trace-log';
import type { TraceResult } from '../../core/runs/trace';
import type { MailboxWatchResult } from '../../core/runs/mailbox-watch';
import { UsageError, booleanFlag } from '../args';
import type { Command } from '../command';
import { ExitCode } from '../exit-codes';
import { formatBytes, printJson, renderTable } from '../output';
import { renderMailboxes } from './mailboxes';
import { profileCompareText, profileOf, profileText } from './profile-text';
import { compareProfiles } from '../../core/profile/compare';
import { readSavedProfile } from '../../core/profile/saved';

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
      if (file.endsWith('.speedscope.json')) {
        const saved = await readSavedProfile(file);
        if (booleanFlag(args.flags, 'json')) printJson(output, saved);
        else output.out(`speedscope profile ${file}${saved.node ? ` of ${saved.node}` : ''}, ${saved.at}\n${profileText(saved.profile, { top: 15 })}`);
        return ExitCode.ok;
      }
      const r = loadSession(file);
      if (booleanFlag(args.flags, 'json')) {
        printJson(output, r);
        return ExitCode.ok;
      }
      output.out(`${r.kind} session ${r.id} on ${r.node} (${r.env}), ${r.startedAt}, ${(r.durationMs / 1000).toFixed(1)} s, ended: ${r.endReason}${r.endDetail ? ` (${r.endDetail})` : ''}`);
      if (r.kind === 'mailboxes') output.out(renderMailboxes((r.result as MailboxWatchResult).rows));
      else if (r.kind === 'profile') output.out(profileText(profileOf(r, file), { top: 15 }));
      else output.out(showBody(r));
      return ExitCode.ok;
    }
    if (action === 'compare') {
      if (other === undefined) throw new UsageError('session compare needs two files: beam-lens session compare A B');
      const a = loadSession(file);
      const b = loadSession(other);
      if (a.kind !== b.kind) throw new UsageError(`cannot compare a ${a.kind} session with a ${b.kind} session`);
      if (a.kind === 'profile') {
        const c = compareProfiles(profileOf(a, file), profileOf(b, other));
        if (booleanFlag(args.flags, 'json')) printJson(output, { kind: a.kind, before: { id: a.id, startedAt: a.startedAt, ...c.before }, after: { id: b.id, startedAt: b.startedAt, ...c.after }, changes: c.changes });
        else output.out(`profile: ${a.id} (${a.startedAt}) → ${b.id} (${b.startedAt})\n${profileCompareText(c, 20)}`);
        return ExitCode.ok;
      }
      const { rows } = compareSessions(a, b);
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

/** The body of `session show` for one record, as text (never raw JSON). */
function showBody(r: SessionRecord): string {
  if (r.kind === 'report') {
    const cluster = clusterSummary(r.result);
    if (cluster) return cluster;
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

/** The summary a cluster report session saved (`result.cluster`), read from the file field by field; null when it is not one. */
function clusterSummary(result: unknown): string | null {
  const obj = (x: unknown): Record<string, unknown> | null => (typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : null);
  const c = obj(obj(result)?.cluster);
  if (!c || !Array.isArray(c.nodes) || !Array.isArray(c.clusterFindings)) return null;
  const str = (x: unknown): string => (typeof x === 'string' ? x : '?');
  const lines = [`cluster of ${str(c.entry)} (${c.nodes.length} members, reached ${c.via === 'direct' ? 'directly' : 'through the entry'}):`];
  for (const n of c.nodes.map(obj)) {
    if (!n) continue;
    lines.push(`  ${str(n.node)}: ${n.status === 'ok' ? `${typeof n.findings === 'number' ? n.findings : 0} findings` : `${str(n.status)}${typeof n.error === 'string' ? ` (${n.error})` : ''}`}`);
  }
  lines.push(`  cluster: ${c.clusterFindings.length} findings`);
  for (const f of c.clusterFindings.map(obj)) if (f) lines.push(`    [${str(f.severity)}] ${str(f.title)}`);
  return lines.join('\n');
}
