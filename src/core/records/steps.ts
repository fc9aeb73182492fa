// Long CPU work written once as a generator that yields between slices of work, run either to
// completion at once (a CLI, a test) or cooperatively: the event loop turns between slices, so
// an extension host reading a 100 MB saved profile keeps answering (timers, messages, the UI).
import { performance } from 'node:perf_hooks';
import { BeamLensError } from '../../errors';

/** Work that yields (undefined) at points where it may pause, and returns T. */
export type Steps<T> = Generator<void, T, void>;

/**
 * Units of work between pauses: a unit is one small thing looked at (a frame of a stack, a sample,
 * a function), so a step costs about the same whatever the items' sizes (a few ms).
 */
export const STEP_WORK = 65_536;

/** Counts work done since the last pause: `if (budget.spend(stack.length + 1)) yield;`. */
export class WorkBudget {
  private left = STEP_WORK;

  /** Counts `units`; true when a pause is due (the count starts again). */
  spend(units: number): boolean {
    this.left -= units;
    if (this.left > 0) return false;
    this.left = STEP_WORK;
    return true;
  }
}

/** Runs the work to its end without pausing. */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/**
 * Runs the work, giving the event loop a turn (setImmediate: timers and I/O run) whenever it has
 * run for `sliceMs` since the last turn. `sliceMs: Infinity` never pauses (the blocking way, for
 * comparison). When `signal` aborts, the work stops at its next pause (it is dropped there) and
 * the promise rejects with a 'cancelled' error.
 */
export async function runStepsYielding<T>(steps: Steps<T>, sliceMs = 8, signal?: AbortSignal): Promise<T> {
  let since = performance.now();
  for (;;) {
    if (signal?.aborted) throw cancelled();
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - since >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      since = performance.now();
    }
  }
}

function cancelled(): BeamLensError {
  return new BeamLensError('cancelled', 'cancelled: the work was stopped before it ended');
}
