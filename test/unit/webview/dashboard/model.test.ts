// The dashboard webview's model (webview/dashboard/model.ts): the sample ring, series per chart,
// readouts, gaps, axis domains and formats.
import { strict as assert } from 'node:assert';
import type { DashboardSample } from '../../../../src/protocol/webview';
import {
  CHARTS,
  MAX_SAMPLES,
  MAX_SCHEDULER_LINES,
  SampleRing,
  breakGaps,
  byteTicks,
  domains,
  formatBytes,
  formatRate,
  ioSeries,
  latest,
  memorySeries,
  pushSample,
  readouts,
  utilizationSeries,
} from '../../../../webview/dashboard/model';

const sample = (at: number, over: Partial<DashboardSample> = {}): DashboardSample => ({
  at,
  memory: { total: 1000 + at, processes: 400, processesUsed: 390, system: 600, atom: 30, atomUsed: 29, binary: 100, code: 200, ets: 50 },
  schedulerUtilization: { total: 0.5, perScheduler: [0.75, 0.25] },
  runQueue: 2,
  processCount: 1234,
  ioInPerSec: 0,
  ioOutPerSec: 0,
  ...over,
});

describe('dashboard model: sample ring', () => {
  it(`keeps the newest ${MAX_SAMPLES} samples in order`, () => {
    const ring = new SampleRing();
    for (let i = 0; i < MAX_SAMPLES + 25; i++) ring.push(sample(i));
    assert.equal(ring.size, MAX_SAMPLES);
    const all = ring.toArray();
    assert.equal(all.length, MAX_SAMPLES);
    assert.equal(all[0]?.at, 25);
    assert.equal(all[all.length - 1]?.at, MAX_SAMPLES + 24);
    assert.ok(all.every((s, i) => i === 0 || s.at === (all[i - 1]?.at ?? NaN) + 1), 'oldest first, no holes');
    assert.equal(ring.last()?.at, MAX_SAMPLES + 24);
    assert.equal(ring.previous()?.at, MAX_SAMPLES + 23);
  });

  it('wraps a small ring and resets to the newest of a long history', () => {
    const ring = new SampleRing(3);
    assert.equal(ring.last(), undefined);
    assert.deepEqual(ring.toArray(), []);
    for (const at of [1, 2, 3, 4, 5]) ring.push(sample(at));
    assert.deepEqual(
      ring.toArray().map((s) => s.at),
      [3, 4, 5],
    );
    ring.reset([10, 11, 12, 13].map((at) => sample(at)));
    assert.deepEqual(
      ring.toArray().map((s) => s.at),
      [11, 12, 13],
    );
    ring.push(sample(14));
    assert.deepEqual(
      ring.toArray().map((s) => s.at),
      [12, 13, 14],
    );
    ring.reset([]);
    assert.equal(ring.size, 0);
    assert.throws(() => new SampleRing(0), RangeError);
  });

  it('caps the array form the same way', () => {
    let samples: DashboardSample[] = [];
    for (let i = 0; i < 10; i++) samples = pushSample(samples, sample(i), 4);
    assert.deepEqual(
      samples.map((s) => s.at),
      [6, 7, 8, 9],
    );
  });
});

describe('dashboard model: series', () => {
  it('extracts memory by type as seven lines', () => {
    const series = memorySeries([sample(1), sample(2)]);
    assert.deepEqual(
      series.map((s) => s.name),
      ['total', 'processes', 'binary', 'ets', 'atom', 'code', 'other system'],
    );
    assert.deepEqual(series[0]?.points, [
      [1, 1001],
      [2, 1002],
    ]);
    assert.deepEqual(series.find((s) => s.name === 'ets')?.points, [
      [1, 50],
      [2, 50],
    ]);
    assert.ok(series.every((s) => /^var\(--vscode-charts-(foreground|blue|red|green|yellow|orange|purple), #[0-9a-f]{6}\)$/.test(s.color)));
  });

  it('leaves out samples without a utilization measurement and scales to percent', () => {
    const series = utilizationSeries([sample(1, { schedulerUtilization: null }), sample(2), sample(3, { schedulerUtilization: null })]);
    assert.deepEqual(
      series.map((s) => s.name),
      ['total', 'scheduler 1', 'scheduler 2'],
    );
    assert.deepEqual(series[0]?.points, [[2, 50]]);
    assert.deepEqual(series[1]?.points, [[2, 75]]);
    assert.deepEqual(series[2]?.points, [[2, 25]]);
    assert.deepEqual(utilizationSeries([sample(1, { schedulerUtilization: null })]), [{ name: 'total', color: series[0]?.color, points: [] }]);
  });

  it('breaks a scheduler line where that scheduler was not measured, clamps, and caps the line count', () => {
    const series = utilizationSeries([sample(1, { schedulerUtilization: { total: 1.2, perScheduler: [0.5] } }), sample(2, { schedulerUtilization: { total: 0.4, perScheduler: [0.5, 0.3] } })]);
    assert.deepEqual(series[0]?.points, [
      [1, 100],
      [2, 40],
    ]);
    assert.ok(Number.isNaN(series[2]?.points[0]?.[1]));
    const many = utilizationSeries([sample(1, { schedulerUtilization: { total: 0.1, perScheduler: Array.from({ length: 64 }, () => 0.1) } })]);
    assert.equal(many.length, 1 + MAX_SCHEDULER_LINES);
  });

  it('draws IO rates from the second sample on (the first has nothing to diff against)', () => {
    const io = ioSeries([sample(1), sample(2, { ioInPerSec: 2048, ioOutPerSec: 10 }), sample(3, { ioInPerSec: 0, ioOutPerSec: 5 })]);
    assert.deepEqual(io[0]?.points, [
      [2, 2048],
      [3, 0],
    ]);
    assert.deepEqual(io[1]?.points, [
      [2, 10],
      [3, 5],
    ]);
    assert.equal(latest(io[1] ?? { name: '', color: '', points: [] }), 5);
  });

  it('has a chart for memory, schedulers, run queue, processes and IO', () => {
    assert.deepEqual(
      CHARTS.map((c) => c.id),
      ['memory', 'schedulers', 'runqueue', 'processes', 'io'],
    );
    const counts = CHARTS.map((c) => c.series([sample(1), sample(2)]).length);
    assert.deepEqual(counts, [7, 3, 1, 1, 2]);
  });

  it('breaks lines at gaps much longer than the usual interval', () => {
    const pts: Array<[number, number]> = [
      [0, 1],
      [1000, 2],
      [2000, 3],
      [30_000, 4],
      [31_000, 5],
    ];
    const out = breakGaps(pts);
    assert.equal(out.length, 6);
    assert.ok(Number.isNaN(out[3]?.[1]));
    assert.equal(out[3]?.[0], 16_000);
    assert.deepEqual(breakGaps(pts.slice(0, 3)), pts.slice(0, 3));
    assert.equal(latest({ name: 'x', color: '', points: out }), 5);
    assert.equal(latest({ name: 'x', color: '', points: [[1, NaN]] }), undefined);
  });
});

describe('dashboard model: readouts, domains and formats', () => {
  it('reads out the latest values as text', () => {
    const r = readouts(sample(5, { ioInPerSec: 1536, ioOutPerSec: 3 * 1024 * 1024, memory: { total: 50 * 1024 * 1024, processes: 2048, processesUsed: 0, system: 0, atom: 0, atomUsed: 0, binary: 512, code: 0, ets: 10 * 1024 } }));
    assert.equal(r.io, 'in 1.5 KiB/s · out 3.0 MiB/s');
    assert.equal(r.memory, 'total 50.0 MiB · processes 2.0 KiB · binary 512 B · ets 10.0 KiB');
    assert.equal(r.schedulers, '50% busy · 2 schedulers');
    assert.equal(r.runqueue, '2 waiting');
    assert.equal(r.processes, '1,234 processes');
    assert.equal(readouts(sample(5, { schedulerUtilization: null })).schedulers, 'not measured');
    assert.equal(formatRate(0), '0 B/s');
    assert.equal(formatRate(1023.4), '1023 B/s');
    assert.equal(formatRate(1023.6), '1.0 KiB/s');
    assert.equal(formatBytes(5 * 1024 ** 4 * 1024), '5120 TiB');
  });

  it('computes axis domains: y from 0, never empty, NaN ignored, a single instant widened', () => {
    assert.deepEqual(domains([], 1), { x: [0, 1], y: [0, 1] });
    const util = utilizationSeries([sample(1000), sample(2000)]);
    assert.deepEqual(domains(util, 100), { x: [1000, 2000], y: [0, 100] });
    assert.deepEqual(domains([{ name: 'a', color: '', points: [[5000, 7]] }], 1), { x: [5000 - 60_000, 5000], y: [0, 7] });
    assert.deepEqual(
      domains(
        [
          { name: 'a', color: '', points: [[1, 3], [2, NaN]] },
          { name: 'b', color: '', points: [[0, 9]] },
        ],
        1,
      ),
      { x: [0, 2], y: [0, 9] },
    );
    assert.deepEqual(domains(memorySeries([sample(1), sample(2)]), 1024).y, [0, 1024]);
    assert.deepEqual(domains(memorySeries([sample(1), sample(9000)]), 1024).y, [0, 10_000]);
  });

  it('puts byte ticks at round binary units', () => {
    const MiB = 1024 * 1024;
    assert.deepEqual(byteTicks(68.7 * MiB), [0, 20, 40, 60, 80].map((v) => v * MiB));
    assert.deepEqual(byteTicks(1024), [0, 256, 512, 768, 1024]);
    assert.deepEqual(byteTicks(900), [0, 250, 500, 750, 1000]);
    assert.deepEqual(byteTicks(0), [0, 1]);
    const t = byteTicks(3.2 * 1024 * MiB);
    assert.equal(t[t.length - 1], 4 * 1024 * MiB);
    assert.ok(t.every((v) => v >= 0));
  });
});
