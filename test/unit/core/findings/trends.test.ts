// Leak trends without a node: the least-squares fit, steadiness and projection, the window plan
// (interval adapted, bounds as usage errors), and each trend rule firing on a leak and staying
// quiet on noise, a burst or a flat series.
import { strict as assert } from 'node:assert';
import {
  TREND_THRESHOLDS,
  fitLine,
  parseDuration,
  planWindow,
  rankByGrowth,
  secondsToLimit,
  trendFindings,
  type Point,
  type TrendSamples,
} from '../../../../src/core/findings/trends';
import { BeamLensError } from '../../../../src/errors';

const line = (n: number, everyMs: number, f: (i: number) => number): Point[] => Array.from({ length: n }, (_, i) => [i * everyMs, f(i)]);
const flat = (v: number): Point[] => line(13, 2000, () => v);

function samples(over: Partial<TrendSamples> = {}): TrendSamples {
  return {
    node: 'n@h',
    startedAt: '2026-12-01T00:00:00Z',
    durationMs: 24_000,
    intervalMs: 2000,
    samples: 13,
    atoms: flat(20_000),
    processes: flat(300),
    ports: flat(30),
    binary: flat(10_000_000),
    total: flat(100_000_000),
    limits: { atoms: 1_048_576, processes: 262_144, ports: 65_536 },
    processMemory: [],
    processRanking: true,
    ets: [],
    ...over,
  };
}

const usage = (fn: () => unknown, re: RegExp): void =>
  assert.throws(fn, (e: unknown) => e instanceof BeamLensError && e.kind === 'usage' && re.test(e.message));

describe('leak trends: fitting and projection', () => {
  it('fits a line exactly, with slope per second, R² 1 and full steadiness', () => {
    const f = fitLine(line(11, 1000, (i) => 100 + 20 * i));
    assert.ok(Math.abs(f.perSec - 20) < 1e-9);
    assert.ok(Math.abs(f.r2 - 1) < 1e-9);
    assert.equal(f.steadiness, 1);
    assert.equal(f.rising, 1);
    assert.equal(f.first, 100);
    assert.equal(f.last, 300);
  });
  it('noise around a flat line has a low R² and a falling share; a flat series has slope 0', () => {
    const noisy = fitLine(line(20, 1000, (i) => 1000 + (i % 2 === 0 ? 50 : -50)));
    assert.ok(Math.abs(noisy.perSec) < 10);
    assert.ok(noisy.r2 < 0.1);
    assert.ok(noisy.steadiness <= 0.55);
    assert.equal(fitLine(flat(5)).perSec, 0);
    assert.equal(fitLine([[0, 1]]).perSec, 0);
  });
  it('projects the time to a limit, and none for a falling or flat series', () => {
    assert.equal(secondsToLimit(1000, 10, 2000), 100);
    assert.equal(secondsToLimit(1000, 0, 2000), null);
    assert.equal(secondsToLimit(1000, -5, 2000), null);
    assert.equal(secondsToLimit(3000, 10, 2000), 0);
  });
});

describe('leak trends: the window', () => {
  it('parses durations (bare numbers are seconds)', () => {
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('90'), 90_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('soon'), null);
    assert.equal(parseDuration('-3m'), null);
  });
  it('adapts the interval to the duration, within 1 s and 60 s', () => {
    assert.deepEqual(planWindow(120_000), { durationMs: 120_000, intervalMs: 4000, samples: 31 });
    assert.equal(planWindow(10_000).intervalMs, 1000);
    assert.equal(planWindow(6 * 3600_000).intervalMs, 60_000);
    assert.ok(planWindow(6 * 3600_000).samples <= TREND_THRESHOLDS.window.maxSamples);
    assert.deepEqual(planWindow(24_000, 2000), { durationMs: 24_000, intervalMs: 2000, samples: 13 });
  });
  it('too short a window, too few or too many samples, and a bad interval are usage errors saying what works', () => {
    usage(() => planWindow(5000), /at least 10 s and 5 samples; got 5 s/);
    usage(() => planWindow(20_000, 10_000), /gives 3\. Use a longer --duration or an --interval of at most 5 s/);
    usage(() => planWindow(3600_000, 1000), /at most 400 samples per watch: 60 min every 1 s gives 3601\. Use an --interval of at least 10 s/);
    usage(() => planWindow(60_000, 500), /interval must be from 1 s to 60 s/);
    usage(() => planWindow(7 * 3600_000), /at most 6 h/);
  });
});

describe('leak trends: findings', () => {
  it('an atom leak is projected to the atom limit; the severity follows the time left', () => {
    const f = trendFindings(samples({ atoms: line(13, 2000, (i) => 20_000 + 40 * i) }));
    const a = f.find((x) => x.id === 'atom-leak:atoms');
    assert.ok(a);
    assert.equal(a.rule, 'atom-leak');
    assert.match(a.title, /Atoms grow by 20\/s: the atom table is full in 14\.3 h/);
    assert.equal(a.severity, 'critical');
    assert.ok(a.evidence.some((e) => /^projection: 1,028,096 atoms left/.test(e)), a.evidence.join('\n'));
    const slow = trendFindings(samples({ atoms: line(13, 2000, (i) => 20_000 + 2 * i), durationMs: 24_000 })).find((x) => x.rule === 'atom-leak');
    assert.ok(slow);
    assert.equal(slow.severity, 'warning');
  });
  it('one burst of new atoms (a module loaded) is no leak', () => {
    const burst = line(13, 2000, (i) => (i < 6 ? 20_000 : 20_500));
    assert.equal(trendFindings(samples({ atoms: burst })).filter((x) => x.rule === 'atom-leak').length, 0);
  });
  it('process and port counts growing toward their limits', () => {
    const f = trendFindings(samples({ processes: line(13, 2000, (i) => 300 + 100 * i), ports: line(13, 2000, (i) => 30 + 2 * i) }));
    const p = f.find((x) => x.id === 'process-count-growth:processes');
    assert.ok(p);
    assert.equal(p.severity, 'warning', p.title);
    assert.match(p.title, /grows by 50\/s: the processes limit is reached in 86\.9 min/);
    const o = f.find((x) => x.id === 'port-count-growth:ports');
    assert.ok(o);
    assert.equal(o.severity, 'warning');
    // A count that goes up and down is no trend.
    const saw = line(13, 2000, (i) => 300 + (i % 2) * 200);
    assert.equal(trendFindings(samples({ processes: saw })).filter((x) => x.rule === 'process-count-growth').length, 0);
  });
  it('ranks processes by memory slope and makes leak candidates of the steady ones, with module and mailbox', () => {
    const grower = { pid: '<0.10.0>', name: 'Elixir.Demo.Grower', initialCall: 'Elixir.Demo.Grower:init/1', points: line(13, 2000, (i) => 1_000_000 + 100_000 * 2 * i), messageQueueLen: 0 };
    const slow = { pid: '<0.11.0>', name: null, initialCall: 'Elixir.Demo.Cache:init/1', points: line(13, 2000, (i) => 1_000_000 + 30_000 * 2 * i), messageQueueLen: 3 };
    const spiky = { pid: '<0.12.0>', name: null, initialCall: 'Elixir.Demo.Spiky:init/1', points: line(13, 2000, (i) => (i % 3 === 0 ? 9_000_000 : 1_000_000) + 300_000 * i), messageQueueLen: 0 };
    const s = samples({ processMemory: [slow, spiky, grower] });
    assert.deepEqual(rankByGrowth(s).map((p) => p.pid), ['<0.12.0>', '<0.10.0>', '<0.11.0>']);
    const f = trendFindings(s, { 'Elixir.Demo.Grower': 'lib/demo/grower.ex' }).filter((x) => x.rule === 'memory-growth');
    assert.deepEqual(f.map((x) => x.id), ['memory-growth:Demo.Grower', 'memory-growth:Demo.Cache.init/1']);
    const [g, c] = f;
    assert.ok(g && c);
    assert.equal(g.severity, 'warning');
    assert.match(g.title, /Demo\.Grower's memory grows by 97\.7 KiB\/s .*leak candidate #1/);
    assert.deepEqual(g.location, { module: 'Elixir.Demo.Grower', file: 'lib/demo/grower.ex' });
    assert.ok(g.evidence.includes('module Demo.Grower; mailbox 0 messages'));
    assert.equal(c.severity, 'info');
    assert.match(c.title, /leak candidate #2/);
  });
  it('growing binary memory; an ETS table that only grows, and not one that was trimmed', () => {
    const binary = line(13, 2000, (i) => 10_000_000 + 4_000_000 * i);
    const only = { id: 'sessions', name: 'sessions', owner: '<0.9.0>', size: line(13, 2000, (i) => 1000 + 500 * i), memory: line(13, 2000, (i) => 100_000 + 50_000 * i) };
    const trimmed = { ...only, id: 'cache', name: 'cache', size: line(13, 2000, (i) => (i === 6 ? 100 : 1000 + 500 * i)) };
    const binaryHolders = [{ pid: '<0.20.0>', name: 'Elixir.Demo.Router', initialCall: null, bytes: 40 * 1024 * 1024 }];
    const f = trendFindings(samples({ binary, ets: [only, trimmed], binaryHolders }));
    const b = f.find((x) => x.id === 'binary-growth:binary');
    assert.ok(b);
    assert.ok(b.evidence.includes('largest holders at the end: Demo.Router 40.0 MiB'), b.evidence.join('\n'));
    assert.equal(b.severity, 'warning');
    assert.deepEqual(f.filter((x) => x.rule === 'ets-growth').map((x) => x.id), ['ets-growth:sessions']);
  });
  it('a quiet node has no trend finding', () => {
    assert.deepEqual(trendFindings(samples()), []);
  });
});
