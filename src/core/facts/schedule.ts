// When to collect runtime facts again. Every face that keeps lenses fresh (the language server
// attached with --node, the extension) uses this one schedule, so the cost to the node is bounded
// the same way everywhere:
// - after a collection that took the node d ms, wait max(base, d / budget). The default budget
//   is 0.5% of the wall time: a pass makes other processes answer on every scheduler, so the
//   node's CPU time is up to twice the pass's own time on a 2-scheduler node, and the share of
//   one scheduler stays under ~1%. d is what the collector reports as the node's time (the pass
//   timed on the node's clock), else our wall time. At an idle 100,000-process node a pass takes
//   ~50-100 ms there, so lenses are refreshed every 10-20 s;
// - a collection that fails or times out is stopped on the node (the signal aborts the linked
//   evaluation) and the next try waits twice as long each time, up to 10 minutes, instead of
//   retrying an impossible pass;
// - nothing runs between collections.
export interface FactsScheduleOptions {
  /** Shortest wait between collections (the face's refresh setting). */
  baseMs: number;
  /** Share of the wall time the collections may take on the node (default 0.005, see above). */
  budget?: number;
  /** Longest wait after failures (default 10 min). */
  maxBackoffMs?: number;
}

export function nextFactsDelay(lastCostMs: number, consecutiveFailures: number, options: FactsScheduleOptions): number {
  const budget = options.budget ?? 0.005;
  const steady = Math.max(options.baseMs, lastCostMs / budget);
  if (consecutiveFailures === 0) return Math.round(steady);
  return Math.round(Math.min(options.maxBackoffMs ?? 600_000, steady * 2 ** consecutiveFailures));
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
      const cost = typeof reported === 'number' ? reported : Date.now() - t0;
      delay = nextFactsDelay(cost, 0, options);
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
