// When to collect facts again. One collection scans every process on the target (4.5 s of one
// scheduler at 100,000 processes without the probe): wait at least 5x its duration, so the load we
// add stays under ~20% of one scheduler however large the node. A node that misses its deadlines
// (overloaded) is asked less often: the wait doubles per timeout, up to 32x and 5 minutes.
export class RefreshBackoff {
  private factor = 1;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs = 300_000,
  ) {}

  /** True while the last collections timed out. */
  get overloaded(): boolean {
    return this.factor > 1;
  }

  /** The wait before the next collection, given how long this one took and how it failed (if it did). */
  next(tookMs: number, failure?: unknown): number {
    const timedOut = typeof failure === 'object' && failure !== null && 'kind' in failure && failure.kind === 'timeout';
    if (failure === undefined) this.factor = 1;
    else if (timedOut) this.factor = Math.min(this.factor * 2, 32);
    return Math.min(this.maxMs, this.factor * Math.max(this.baseMs, 5 * tookMs));
  }
}
