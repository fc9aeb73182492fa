// A saved profile is untrusted: files shaped against the reader's algorithms (the median of the
// weights, the call tree of many frames, very deep samples) are read in work linear (or n log n) in
// their size, and the work is sliced by how much there is, not by how many items hold it.
import { strict as assert } from 'node:assert';
import { SPEEDSCOPE_SCHEMA } from '../../../../src/core/profile/export';
import { foldStacks, foldStacksSteps, summarizeSteps } from '../../../../src/core/profile/fold';
import { profileCheckSteps, type Profile, type ProfileSample } from '../../../../src/core/profile/profile';
import { savedProfileSteps } from '../../../../src/core/profile/saved';
import { runSteps, STEP_WORK } from '../../../../src/core/records/steps';

/**
 * Weights arranged against a middle-pivot Hoare quickselect of the median: each partition's pivot
 * is the next-smallest value (such a selection scans the whole range for each of n/2 pivots). Built
 * directly: in each round the range holds only larger values but the pivot, which ends up first.
 */
function killer(n: number): number[] {
  const val = new Float64Array(n).fill(Infinity);
  const ids = Array.from({ length: n }, (_, i) => i);
  let next = 1;
  const k = n >> 1;
  for (let lo = 0; lo <= k && lo < n - 1; lo++) {
    const m = (lo + n - 1) >> 1;
    const pid = ids[m] ?? 0;
    val[pid] = next++;
    ids[m] = ids[lo] ?? 0;
    ids[lo] = pid;
  }
  for (let x = 0; x < n; x++) if (val[x] === Infinity) val[x] = next++;
  return Array.from(val);
}

const speedscope = (frames: number, samples: number[][], weights: number[]): unknown => ({
  $schema: SPEEDSCOPE_SCHEMA,
  shared: { frames: Array.from({ length: frames }, (_, i) => ({ name: `m:f${i}/0` })) },
  profiles: [{ type: 'sampled', name: 'p', unit: 'microseconds', startValue: 0, endValue: 1, samples, weights }],
});

describe('saved profiles shaped against the reader', () => {
  it('the sampling interval (median weight) of weights arranged against quickselect is found in n log n (300,000 samples: a quickselect took minutes)', () => {
    const n = 300_000;
    const w = killer(n);
    const saved = runSteps(savedProfileSteps('x.speedscope.json', { data: speedscope(1, w.map(() => [0]), w) }, () => ''));
    const sorted = [...w].sort((a, b) => a - b);
    assert.equal(saved.profile.stats.intervalUs, Math.round(sorted[n >> 1] ?? 0));
  });

  it('the call tree of a file of 150,000 frames under one caller, one sample each, is folded in linear work (a search of the children per frame took minutes)', () => {
    const n = 150_000;
    const samples = Array.from({ length: n }, (_, k) => [0, 1 + (k % (n - 1))]);
    const saved = runSteps(savedProfileSteps('x.speedscope.json', { data: speedscope(n, samples, samples.map(() => 1)) }, () => ''));
    const tree = foldStacks(saved.profile);
    const caller = tree.children[0];
    assert.equal(tree.children.length, 1);
    assert.ok(caller);
    assert.equal(caller.children.length, n - 1);
    // Children in the order they were first seen (all totals tie), the second sample of frame 1 counted.
    assert.deepEqual(caller.children.slice(0, 3).map((c) => [c.frame, c.total]), [[1, 2], [2, 1], [3, 1]]);
    assert.deepEqual(caller.children.at(-1)?.frame, n - 1);
  });

  describe('deep samples: a step does about the same work however deep the stacks (counted: reads of the stacks)', () => {
    const depth = 5000;
    let reads = 0;
    /** A stack whose reads (its frames, its length, its methods) are counted. */
    const counted = (frames: number[]): number[] =>
      new Proxy(frames, {
        get(target, key, receiver): unknown {
          reads++;
          return Reflect.get(target, key, receiver) as unknown;
        },
      });
    const deepStacks = (n: number): number[][] => Array.from({ length: n }, (_, k) => counted(Array.from({ length: depth }, (_, i) => (i === depth - 1 ? k : i % 2))));
    /** The most reads done between two pauses of `steps`, and its result. */
    function mostReadsPerStep<T>(steps: Generator<void, T, void>): { most: number; value: T } {
      let most = 0;
      for (;;) {
        const before = reads;
        const r = steps.next();
        most = Math.max(most, reads - before);
        if (r.done) return { most, value: r.value };
      }
    }
    // A step's budget (STEP_WORK units) plus one stack, a few reads per frame; before, a step
    // took 1,024 stacks or 4,096 samples whatever their depth (here: all 300 in one step, 4.5 M reads).
    const bound = 4 * (STEP_WORK + depth);

    it('reading a speedscope file of deep samples', () => {
      const samples = deepStacks(300);
      const { most, value } = mostReadsPerStep(savedProfileSteps('x.speedscope.json', { data: speedscope(300, samples, samples.map(() => 1)) }, () => ''));
      assert.equal(value.profile.stacks.length, 300);
      assert.ok(most <= bound, `${most} reads of the samples in one step`);
    });

    it('checking a saved session\'s deep stacks, and folding and summing them up', () => {
      const stacks = deepStacks(300);
      const profile: Profile = {
        mode: 'probe',
        frames: Array.from({ length: 300 }, (_, i) => ({ module: 'm', function: `f${i}`, arity: 0, line: 0 })),
        stacks,
        processes: [{ pid: '<0.1.0>', name: null, initialCall: null, samples: stacks.map((_, k) => [k, k, 1] as ProfileSample) }],
        stats: { hz: 1000, intervalUs: 1000, samples: 300, ticks: 300, lateTicks: 0, backoffs: 0, costUsPerSample: 0, costUsMax: 0 },
        durationMs: 1,
      };
      const checked = mostReadsPerStep(profileCheckSteps(profile));
      assert.equal(checked.value, profile);
      assert.ok(checked.most <= bound, `check: ${checked.most} reads in one step`);
      const folded = mostReadsPerStep(foldStacksSteps(profile));
      assert.equal(folded.value.total, 300);
      assert.ok(folded.most <= bound, `fold: ${folded.most} reads in one step`);
      const summed = mostReadsPerStep(summarizeSteps(profile));
      assert.equal(summed.value.counted, 300);
      assert.ok(summed.most <= bound, `summary: ${summed.most} reads in one step`);
    });
  });
});
