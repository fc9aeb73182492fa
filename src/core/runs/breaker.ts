// Circuit breaker seen from our side: while a session runs, watch the target's run queue and
// total memory and stop the session when a threshold is crossed. (The tracer on the target also
// watches its own queue; this covers sessions without a tracer process, such as call counts.)
import type { Attachment } from '../attach/attachment';
import { asNumber, asTuple } from '../target/terms';

export interface BreakerLimits {
  /** Trip when the total run queue stays above this for 3 checks in a row (default 4 x schedulers). */
  runQueue?: number;
  /**
   * Trip when total memory grew by more than this many bytes since the start. Default: 256 MiB or
   * half of the node's memory at the start, whichever is larger (a broker whose queues hold
   * gigabytes grows by hundreds of MB under its own load, not because of the session).
   */
  memoryGrowth?: number;
  /** Default 500 ms. */
  checkMs?: number;
}

export interface BreakerTrip {
  what: 'run_queue' | 'memory';
  value: number;
  limit: number;
}

/** What each check read (a sampler slows down on it before the breaker trips). */
export interface BreakerReading {
  runQueue: number;
  schedulers: number;
  /** The run-queue limit in effect. */
  limit: number;
}

/** Watches until `signal` aborts; resolves with the trip, or null when stopped without one. */
export async function watchBreaker(
  session: Attachment,
  limits: BreakerLimits,
  signal: AbortSignal,
  onReading?: (r: BreakerReading) => void,
): Promise<BreakerTrip | null> {
  const read = async (): Promise<{ rq: number; mem: number; schedulers: number }> => {
    const t = asTuple(
      await session.evaluator.eval(`{erlang:statistics(total_run_queue_lengths), erlang:memory(total), erlang:system_info(schedulers_online)}.`),
      3,
    );
    return { rq: asNumber(t.at(0)), mem: asNumber(t.at(1)), schedulers: asNumber(t.at(2)) };
  };
  const start = await read();
  const rqLimit = limits.runQueue ?? start.schedulers * 4;
  const memLimit = limits.memoryGrowth ?? Math.max(256 * 1024 * 1024, Math.round(start.mem / 2));
  let over = 0;
  while (!signal.aborted) {
    // One listener at a time: each wait removes its own (no pile-up of abort listeners).
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, limits.checkMs ?? 500);
      signal.addEventListener('abort', done, { once: true });
    });
    if (signal.aborted) break;
    const now = await read().catch(() => null);
    if (now === null) continue;
    onReading?.({ runQueue: now.rq, schedulers: now.schedulers, limit: rqLimit });
    over = now.rq > rqLimit ? over + 1 : 0;
    if (over >= 3) return { what: 'run_queue', value: now.rq, limit: rqLimit };
    if (now.mem - start.mem > memLimit) return { what: 'memory', value: now.mem - start.mem, limit: memLimit };
  }
  return null;
}

/** Why a breaker stopped a session, for people: "memory grew by 311.5 MiB, over the limit of 256.0 MiB". */
export function describeTrip(trip: { what: string; value: number; limit: number }): string {
  if (trip.what === 'memory' || trip.what === 'memory_growth') {
    const mib = (n: number): string => `${(n / (1024 * 1024)).toFixed(1)} MiB`;
    return `node memory grew by ${mib(trip.value)} during the session, over the limit of ${mib(trip.limit)}`;
  }
  if (trip.what === 'run_queue') return `run queue at ${trip.value}, over the limit of ${trip.limit} for 3 checks in a row`;
  if (trip.what === 'tracer_queue') return `the tracer's queue reached ${trip.value} messages, over the limit of ${trip.limit}`;
  return `${trip.what} ${trip.value} over the limit of ${trip.limit}`;
}
