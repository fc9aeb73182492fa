// When to collect runtime facts again. Every face that keeps lenses fresh (the language server
// attached with --node, the extension) uses this one schedule, so the cost to the node is bounded
// the same way everywhere:
// - after a collection that took the node d ms, wait max(base, d / budget) with a budget of 1%
//   of the wall time, so the node spends about 1% of one scheduler on us at most; but to keep
//   lenses at most 30 s old the wait is shortened to 30 s - d as long as that stays within twice
//   the budget. d is what the collector reports as the node's time (the pass timed on the node's
//   own clock plus the tree's round trips), else our wall time (the 30 s are counted from our
//   wall time: transfer and decoding included); it counts waiting for a CPU on a
//   busy machine too, so the node's CPU time is lower (bench/probe-cost.ts measures it: 0.1-0.3%
//   of one scheduler at an idle 100,000-process node);
// - the first collection reads every process once (its module, its memory): the second follows
//   after the base interval, and the schedule is set by what the collections after it cost;
// - a collection that fails or times out is stopped on the node (the signal aborts the linked
//   evaluation) and the next try waits twice as long each time, up to 10 minutes, instead of
//   retrying an impossible pass;
// - nothing runs between collections.
export interface FactsScheduleOptions {
  /** Shortest wait between collections (the face's refresh setting). */
  baseMs: number;
  /** Share of the wall time the collections may take on the node (default 0.01). */
  budget?: number;
  /** How old facts may get while that costs at most twice the budget (default 30 s). */
  maxAgeMs?: number;
  /** Longest wait after failures (default 10 min). */
  maxBackoffMs?: number;
}

export function nextFactsDelay(lastCostMs: number, consecutiveFailures: number, options: FactsScheduleOptions, lastWallMs = lastCostMs): number {
  const budget = options.budget ?? 0.01;
  const maxAge = options.maxAgeMs ?? 30_000;
  // Fresh enough within twice the budget: wait what keeps facts maxAge old; else the budget. The
  // age counts our whole collection (the wire and our decoding too), not only the node's part.
  const fresh = maxAge - Math.max(lastCostMs, lastWallMs);
  const byBudget = lastCostMs / budget;
  const steady = Math.max(options.baseMs, byBudget > fresh && fresh >= lastCostMs / (2 * budget) ? fresh : byBudget);
  if (consecutiveFailures === 0) return Math.round(steady);
  return Math.round(Math.min(options.maxBackoffMs ?? 600_000, steady * 2 ** consecutiveFailures));
}

/**
 * The wait before a view's next periodic refresh that took the node `lastCostMs`: at least
 * `baseMs`, else `lastCostMs / budget` (default 1% of the wall time), so a view left open on a
 * large node (e.g. the sidebar ranking 100,000 supervisor children) costs it at most ~1% of one
 * scheduler.
 */
export function budgetDelay(lastCostMs: number, baseMs: number, budget = 0.01): number {
  return Math.round(Math.max(baseMs, Math.max(0, lastCostMs) / budget));
}

export interface FactsLoop {
  stop(): void;
}

export interface FactsLoopOptions extends FactsScheduleOptions {
  /** A collection taking longer is cancelled (default 60 s). */
  timeoutMs?: number;
  onError?: (err: unknown, nextInMs: number) => void;
  /** Called after each collection (cost, delay) — for logs and benchmarks. */
  onCollected?: (costMs: number, nextInMs: number) => void;
}

/** Runs `collect` now and then on the schedule above until stop(). `collect` may return the node's cost in ms. */
export function startFactsLoop(collect: (signal: AbortSignal) => Promise<number | void>, options: FactsLoopOptions): FactsLoop {
  let stopped = false;
  let failures = 0;
  let collected = 0;
  let timer: NodeJS.Timeout | null = null;
  let running: AbortController | null = null;
  const tick = async (): Promise<void> => {
    if (stopped) return;
    const ac = new AbortController();
    running = ac;
    const deadline = setTimeout(() => ac.abort(new Error(`collecting facts took longer than ${options.timeoutMs ?? 60_000} ms; stopped on the node`)), options.timeoutMs ?? 60_000);
    const t0 = Date.now();
    let delay: number;
    try {
      const reported = await collect(ac.signal);
      failures = 0;
      const wall = Date.now() - t0;
      const cost = typeof reported === 'number' ? reported : wall;
      delay = collected++ === 0 ? options.baseMs : nextFactsDelay(cost, 0, options, wall);
      options.onCollected?.(cost, delay);
    } catch (err) {
      failures++;
      delay = nextFactsDelay(Date.now() - t0, failures, options);
      if (!stopped) options.onError?.(err, delay);
    } finally {
      clearTimeout(deadline);
      running = null;
    }
    if (!stopped) timer = setTimeout(() => void tick(), delay);
  };
  timer = setTimeout(() => void tick(), 0);
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      running?.abort(new Error('stopped'));
    },
  };
}
