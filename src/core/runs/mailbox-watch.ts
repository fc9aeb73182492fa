// Mailbox watch: sample queue lengths over a window and rank processes by growth per second,
// saying which are draining and which are not. Read-only: no tracing.
import type { Pid } from '../../etf';
import { growth } from '../findings/rules';
import { pidText } from '../target/pids';
import { delay, processRows, topIndices } from '../inspect/processes';
import type { ProgressReporter } from '../target/rpc';
import type { Attachment } from '../attach/attachment';
import { queueLengths, snapshotProcesses } from '../inspect/snapshot';

export interface MailboxRow {
  pid: string;
  name: string | null;
  initialCall: string | null;
  messageQueueLen: number;
  /** Least-squares growth over the window, messages per second (negative: draining). */
  growthPerSec: number;
  /** Share of sampling steps in which the queue did not shrink. */
  steadiness: number;
  /** blocked: suspended (on a busy port or distribution channel) at the end: it cannot drain at all. */
  trend: 'growing' | 'draining' | 'steady' | 'blocked';
  /** By the one naming rule (src/core/identity.ts). */
  module?: string | null;
  label?: string | null;
  /** Where it is suspended, when blocked. */
  suspendedIn?: string;
  samples: Array<[number, number]>;
}

export interface MailboxWatchResult {
  durationMs: number;
  intervalMs: number;
  processesSeen: number;
  rows: MailboxRow[];
}

export interface MailboxWatchOptions {
  durationMs: number;
  intervalMs?: number;
  /** Rows returned (default 20). */
  limit?: number;
  /** Processes followed between the two whole-node passes (default 200). */
  follow?: number;
  onProgress?: ProgressReporter;
  signal?: AbortSignal;
}

export async function watchMailboxes(session: Attachment, options: MailboxWatchOptions): Promise<MailboxWatchResult> {
  const interval = options.intervalMs ?? 500;
  const limit = options.limit ?? 20;
  const first = await snapshotProcesses(session.connection, session.evaluator, { signal: options.signal });
  const t0 = first.at;
  const lens = first.values.map((v) => (v === null ? -1 : v.messageQueueLen));
  // Follow the largest queues; every process is compared again at the end of the window.
  const followIdx = topIndices(lens, options.follow ?? 200);
  const followed = followIdx.map((i) => first.pids[i] as Pid);
  const series = new Map<number, Array<[number, number]>>(followIdx.map((i) => [i, [[0, lens[i] as number]]]));
  const deadline = t0 + options.durationMs;
  while (Date.now() + interval <= deadline) {
    await delay(interval, options.signal);
    const now = await queueLengths(session.evaluator, followed);
    const at = Date.now() - t0;
    now.forEach((len, k) => {
      if (len !== null) series.get(followIdx[k] as number)?.push([at, len]);
    });
    options.onProgress?.(Math.min(at, options.durationMs), options.durationMs, 'watching mailboxes');
  }
  await delay(Math.max(0, deadline - Date.now()), options.signal);
  const last = await snapshotProcesses(session.connection, session.evaluator, { pids: first.pids, signal: options.signal });
  const windowMs = Math.max(1, last.at - t0);
  const candidates: Array<{ i: number; points: Array<[number, number]> }> = [];
  first.pids.forEach((_, i) => {
    const a = first.values[i];
    const b = last.values[i];
    if (!a || !b) return;
    const followedPoints = series.get(i);
    const points: Array<[number, number]> = followedPoints ? [...followedPoints, [windowMs, b.messageQueueLen]] : [[0, a.messageQueueLen], [windowMs, b.messageQueueLen]];
    if (points.every(([, q]) => q === 0)) return;
    candidates.push({ i, points });
  });
  const scored = candidates.map((c) => ({ ...c, g: growth({ pid: '', points: c.points }) }));
  // A blocked process first (its queue cannot drain whatever its rate), then by rate, then by length.
  const blocked = (i: number): number => (last.values[i]?.suspendedIn !== undefined ? 1 : 0);
  scored.sort(
    (x, y) => blocked(y.i) - blocked(x.i) || Math.abs(y.g.perSec) - Math.abs(x.g.perSec) || (last.values[y.i]?.messageQueueLen ?? 0) - (last.values[x.i]?.messageQueueLen ?? 0),
  );
  const picked = scored.slice(0, limit);
  const rows = await processRows(session.connection, session.evaluator, picked.map((p) => first.pids[p.i] as Pid));
  return {
    durationMs: windowMs,
    intervalMs: interval,
    processesSeen: first.pids.length,
    rows: picked.map((p, k) => {
      const row = rows[k];
      const len = last.values[p.i]?.messageQueueLen ?? 0;
      const suspendedIn = last.values[p.i]?.suspendedIn;
      const trend: MailboxRow['trend'] =
        suspendedIn !== undefined ? 'blocked' : p.g.perSec >= 1 && p.g.steadiness >= 0.6 ? 'growing' : p.g.perSec <= -1 ? 'draining' : 'steady';
      return {
        pid: row?.pid ?? pidText(first.pids[p.i] as Pid, session.node),
        name: row?.name ?? null,
        initialCall: row?.initialCall ?? null,
        module: row?.module ?? null,
        label: row?.label ?? null,
        messageQueueLen: len,
        growthPerSec: Math.round(p.g.perSec * 10) / 10,
        steadiness: Math.round(p.g.steadiness * 100) / 100,
        trend,
        ...(suspendedIn !== undefined ? { suspendedIn } : {}),
        samples: p.points,
      };
    }),
  };
}
