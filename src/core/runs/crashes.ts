// Why a supervisor's children crash: a bounded message trace on the supervisor (it traps exits,
// so every crash of a child arrives as an {'EXIT', Child, Reason} message), run by the probe's
// tracer with a rate limit, a cap and a deadline like every trace. The reasons are grouped with
// counts; the last full one is kept (an exception's reason carries its stacktrace).
import type { Attachment } from '../attach/attachment';
import { runTrace, type TraceEvent } from './trace';

export interface CrashGroup {
  /** The exit reason as the node prints it, child pids left out. */
  reason: string;
  count: number;
  /** Children that exited with it. */
  children: string[];
}

export interface CrashEvidence {
  supervisor: string;
  windowMs: number;
  /** Crashes (exits other than normal/shutdown) grouped by reason, most frequent first. */
  groups: CrashGroup[];
  /** The last crash's reason in full (as far as the trace printed it). */
  last?: string;
  /** Exits that are not crashes (normal, shutdown), counted. */
  clean: number;
  endReason: string;
}

const EXIT = /^\{'EXIT',(<[^>]+>),([\s\S]*)\}$/;

/** Parses one traced message: an {'EXIT', Pid, Reason} tuple, else null. */
export function exitOf(e: TraceEvent): { child: string; reason: string } | null {
  if (e.type !== 'receive') return null;
  const m = EXIT.exec(e.detail.trim());
  return m ? { child: m[1] as string, reason: (m[2] as string).trim() } : null;
}

/** A reason without pids and refs, so the same crash from different children groups together. */
export function reasonKey(reason: string): string {
  return reason.replace(/#Ref<[\w@.-]+>/g, '#Ref<…>').replace(/<(?:\d+\.\d+\.\d+|[\w@-][\w@.-]*\.\d+\.\d+)>/g, '<pid>');
}

export function groupCrashes(events: TraceEvent[]): Pick<CrashEvidence, 'groups' | 'last' | 'clean'> {
  const groups = new Map<string, CrashGroup>();
  let last: string | undefined;
  let clean = 0;
  for (const e of events) {
    const x = exitOf(e);
    if (!x) continue;
    if (x.reason === 'normal' || x.reason === 'shutdown' || x.reason.startsWith('{shutdown,')) {
      clean++;
      continue;
    }
    const key = reasonKey(x.reason);
    const g = groups.get(key) ?? { reason: key.length > 300 ? `${key.slice(0, 300)}…` : key, count: 0, children: [] };
    g.count++;
    if (!g.children.includes(x.child)) g.children.push(x.child);
    groups.set(key, g);
    last = x.reason;
  }
  return { groups: [...groups.values()].sort((a, b) => b.count - a.count), ...(last !== undefined ? { last } : {}), clean };
}

/** Watches one supervisor's mailbox for its children's exits over `durationMs` (needs trace + probe consent). */
export async function gatherCrashes(session: Attachment, supervisorPid: string, durationMs: number, signal?: AbortSignal): Promise<CrashEvidence> {
  const result = await runTrace(
    session,
    { kind: 'messages', pid: supervisorPid },
    { rate: { count: 50, perMs: 1000 }, cap: 200, deadlineMs: durationMs, maxChars: 2000 },
    () => undefined,
    signal,
  );
  return { supervisor: supervisorPid, windowMs: result.durationMs, ...groupCrashes(result.events), endReason: result.endReason };
}

const EXCEPTION = /^\{#\{'__exception__' => true,'__struct__' => 'Elixir\.([\w.]+)'(?:,message => <<"((?:[^"\\]|\\.)*)">>)?[^}]*\},\[\{'?([\w.]+)'?,'?([\w?!]+)'?,(\d+),\[\{file,"([^"]*)"\},\{line,(\d+)\}/;

/**
 * A reason for a person: an Elixir exception with its stacktrace reads as
 * `RuntimeError "message" in Mod.fun/2 (file:line)`; other reasons stay as the node printed them.
 */
export function describeReason(reason: string): string {
  const m = EXCEPTION.exec(reason);
  if (!m) return reason;
  const [, struct = '', message, mod = '', fun = '', arity = '', file = '', line = ''] = m;
  const where = `${mod.startsWith('Elixir.') ? `${mod.slice(7)}.${fun}` : `${mod}:${fun}`}/${arity}`;
  return `${struct}${message !== undefined ? ` "${message}"` : ''} in ${where} (${file}:${line})`;
}

/** Evidence lines for a restart-storm finding. */
export function crashEvidenceLines(c: CrashEvidence): string[] {
  const window = `${(c.windowMs / 1000).toFixed(1)} s`;
  if (c.groups.length === 0) return [`no child crashed while its messages were traced for ${window}${c.clean ? ` (${c.clean} clean exits)` : ''}`];
  return [
    `crash reasons seen by the supervisor over ${window}: ${c.groups.map((g) => `${describeReason(g.reason)} × ${g.count}`).join('; ')}`,
    ...(c.last && c.last.length > 80 ? [`last crash in full: ${c.last.length > 1500 ? `${c.last.slice(0, 1500)}…` : c.last}`] : []),
  ];
}
