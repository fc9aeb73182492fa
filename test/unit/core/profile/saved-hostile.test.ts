// A saved profile is untrusted: files shaped against the reader's algorithms (the median of the
// weights, the call tree of many frames, very deep samples) are read in work linear (or n log n) in
// their size, and the work is sliced by how much there is, not by how many items hold it.
import { strict as assert } from 'node:assert';
import { SPEEDSCOPE_SCHEMA } from '../../../../src/core/profile/export';
import { foldStacks } from '../../../../src/core/profile/fold';
import { savedProfileSteps } from '../../../../src/core/profile/saved';
import { runSteps } from '../../../../src/core/records/steps';

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
});
