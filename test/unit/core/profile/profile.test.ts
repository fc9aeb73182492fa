import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { compareProfiles } from '../../../../src/core/profile/compare';
import { toCollapsed, toSpeedscope } from '../../../../src/core/profile/export';
import { byTotal, bySelf, foldStacks, summarize } from '../../../../src/core/profile/fold';
import { definingFunction, functionName } from '../../../../src/core/profile/names';
import { ProfileBuilder, isProfile, processLabel, type Profile, type RawFrame } from '../../../../src/core/profile/profile';
import { backedOff, profilePlan } from '../../../../src/core/profile/run';

const stats = { hz: 100, intervalUs: 10_000, samples: 0, ticks: 0, lateTicks: 0, backoffs: 0, costUsPerSample: 10, costUsMax: 20 };

const F = {
  init: { module: 'proc_lib', function: 'init_p_do_apply', arity: 3, line: 240 },
  loop: { module: 'gen_server', function: 'loop', arity: 7, line: 871 },
  handle: { module: 'Elixir.Demo.PricingWorker', function: 'handle_info', arity: 2, line: 46 },
  reprice: { module: 'Elixir.Demo.PricingWorker', function: 'reprice', arity: 4, line: 56 },
  compute: { module: 'Elixir.Demo.Pricing', function: 'compute', arity: 2, line: 13 },
  compute14: { module: 'Elixir.Demo.Pricing', function: 'compute', arity: 2, line: 14 },
  discount: { module: 'Elixir.Demo.Pricing', function: 'volume_discount', arity: 1, line: 17 },
  fold: { module: 'lists', function: 'foldl_1', arity: 3, line: 1355 },
  fun: { module: 'Elixir.Demo.Pricing', function: '-compute/2-fun-0-', arity: 2, line: 13 },
} satisfies Record<string, RawFrame>;

/** Builds a profile from stacks given outermost first, with a count each. */
function build(stacks: Array<{ pid?: string; stack: RawFrame[]; n: number; idle?: boolean }>, pids = ['<0.100.0>']): Profile {
  const b = new ProfileBuilder();
  for (const pid of pids) b.addProcess({ pid, name: pid === '<0.100.0>' ? 'Elixir.Demo.PricingWorker' : null, initialCall: 'Elixir.Demo.Other:init/1' });
  b.setFile('Elixir.Demo.Pricing', 'lib/demo/workers/pricing.ex');
  let t = 0;
  for (const s of stacks) {
    for (let i = 0; i < s.n; i++) {
      t += 10_000;
      b.add(s.pid ?? (pids[0] as string), t, !s.idle, [...s.stack].reverse().map((f) => b.frame(f)));
    }
  }
  return b.profile({ mode: 'probe', stats: { ...stats, samples: b.count }, durationMs: t / 1000 });
}

const busyStacks = [
  { stack: [F.init, F.handle, F.reprice, F.compute, F.discount], n: 30 },
  { stack: [F.init, F.handle, F.reprice, F.compute], n: 20 },
  { stack: [F.init, F.handle, F.reprice, F.compute14], n: 10 },
  { stack: [F.init, F.handle, F.reprice], n: 5 },
  { stack: [F.init, F.loop], n: 35, idle: true },
];

describe('profile names (Erlang and Elixir)', () => {
  it('names Elixir and Erlang functions as each language writes them', () => {
    assert.equal(functionName({ module: 'Elixir.Demo.Pricing', function: 'compute', arity: 2 }), 'Demo.Pricing.compute/2');
    assert.equal(functionName({ module: 'lists', function: 'foldl', arity: 3 }), 'lists:foldl/3');
    assert.equal(functionName({ module: 'Elixir.Demo.Worker', function: 'valid?', arity: 1 }), 'Demo.Worker.valid?/1');
    assert.equal(functionName({ module: 'Elixir.Demo.Worker', function: 'weird name', arity: 0 }), 'Demo.Worker."weird name"/0');
    assert.equal(functionName({ module: 'Weird-Mod', function: 'Up', arity: 0 }), "'Weird-Mod':'Up'/0");
  });
  it('anonymous functions and comprehensions keep their parent', () => {
    assert.equal(functionName({ module: 'Elixir.Demo.Pricing', function: '-compute/2-fun-0-', arity: 3 }), 'fn in Demo.Pricing.compute/2');
    assert.equal(functionName({ module: 't1', function: '-loop/1-fun-0-', arity: 2 }), 'fn in t1:loop/1');
    assert.equal(functionName({ module: 't1', function: '-go/0-lc$^0/1-0-', arity: 1 }), 'comprehension in t1:go/0');
    assert.equal(functionName({ module: 't1', function: '-outer/1-fun-0-/1-fun-1-', arity: 1 }), 'fn in t1:outer/1');
    assert.deepEqual(definingFunction({ module: 'Elixir.Demo.Pricing', function: '-compute/2-fun-0-', arity: 3 }), { module: 'Elixir.Demo.Pricing', function: 'compute', arity: 2 });
    assert.equal(processLabel({ pid: '<0.1.0>', name: 'Elixir.Demo.PricingWorker', initialCall: null }), 'Demo.PricingWorker <0.1.0>');
    assert.equal(processLabel({ pid: '<0.1.0>', name: null, initialCall: 'Elixir.Demo.Session:init/1' }), 'Demo.Session.init/1 <0.1.0>');
  });
});

describe('profile folding', () => {
  it('folds stacks into a call tree with self and total per frame and line', () => {
    const p = build(busyStacks);
    const tree = foldStacks(p);
    assert.equal(tree.total, 65);
    const [init] = tree.children;
    assert.equal(init?.total, 65);
    const reprice = init?.children[0]?.children[0];
    assert.equal(p.frames[reprice?.frame ?? -1]?.function, 'reprice');
    assert.equal(reprice?.self, 5);
    // compute/2 at line 13 and line 14 stay apart.
    assert.deepEqual(reprice?.children.map((c) => [p.frames[c.frame]?.line, c.total, c.self]), [[13, 50, 20], [14, 10, 10]]);
    const withIdle = foldStacks(p, { includeIdle: true });
    assert.equal(withIdle.total, 100);
  });

  it('ranks functions by self and total, once per sample under recursion, with hot lines', () => {
    const rec = build([{ stack: [F.init, F.reprice, F.reprice, F.reprice, F.compute], n: 4 }, ...busyStacks]);
    const s = summarize(rec);
    assert.equal(s.busy, 69);
    assert.equal(s.idle, 35);
    const reprice = s.functions.find((f) => f.function === 'reprice');
    assert.equal(reprice?.total, 69);
    const compute = s.functions.find((f) => f.function === 'compute');
    assert.equal(compute?.total, 64);
    assert.equal(compute?.self, 34);
    assert.equal(compute?.name, 'Demo.Pricing.compute/2');
    assert.equal(compute?.file, 'lib/demo/workers/pricing.ex');
    assert.deepEqual(compute?.lines.map((l) => [l.line, l.self]), [[13, 24], [14, 10]]);
    assert.equal(bySelf(s)[0]?.function, 'compute');
    // proc_lib's entry and reprice/4 are on every busy sample (the trunk, outermost first); equal
    // totals rank the deeper callee first.
    assert.deepEqual(s.trunk, ['proc_lib:init_p_do_apply/3', 'Demo.PricingWorker.reprice/4']);
    assert.deepEqual(byTotal(s).slice(0, 4).map((f) => f.function), ['reprice', 'init_p_do_apply', 'handle_info', 'compute']);
    assert.ok(Math.abs((compute?.totalShare ?? 0) - 64 / 69) < 1e-9);
  });

  it('counts a "running" sample at a place where the process was seen waiting as idle (woken by our request)', () => {
    const p = build([
      { stack: [F.init, F.loop], n: 6, idle: true },
      { stack: [F.init, F.loop], n: 2 },
      { stack: [F.init, F.handle], n: 3 },
    ]);
    const s = summarize(p);
    assert.deepEqual([s.busy, s.idle], [3, 8]);
    assert.equal(s.functions.find((f) => f.function === 'loop'), undefined);
  });

  it('keeps processes apart and counts idle samples per process', () => {
    const p = build(
      [
        { pid: '<0.100.0>', stack: [F.init, F.compute], n: 3 },
        { pid: '<0.200.0>', stack: [F.init, F.fold, F.fun], n: 2 },
        { pid: '<0.200.0>', stack: [F.init, F.loop], n: 4, idle: true },
      ],
      ['<0.100.0>', '<0.200.0>'],
    );
    const s = summarize(p, { pids: ['<0.200.0>'] });
    assert.deepEqual(s.processes.map((x) => [x.pid, x.busy, x.idle]), [['<0.200.0>', 2, 4]]);
    assert.deepEqual(bySelf(s).map((f) => f.name), ['fn in Demo.Pricing.compute/2']);
    assert.equal(summarize(p).busy, 5);
  });

  it('accepts saved profiles and refuses malformed ones', () => {
    const p = build(busyStacks);
    assert.ok(isProfile(JSON.parse(JSON.stringify(p))));
    assert.ok(!isProfile({ ...p, stacks: [[999]] }));
    assert.ok(!isProfile({ ...p, processes: [{ pid: '<0.1.0>', samples: [[0, 99, 1]] }] }));
    assert.ok(!isProfile(null));
  });
});

describe('profile files: speedscope and folded stacks', () => {
  it('writes speedscope files that validate against the schema shipped in the speedscope package', () => {
    const p = build(
      [
        { pid: '<0.100.0>', stack: [F.init, F.compute], n: 3 },
        { pid: '<0.200.0>', stack: [F.init, F.fold, F.fun], n: 2 },
        { pid: '<0.200.0>', stack: [F.init, F.loop], n: 1, idle: true },
      ],
      ['<0.100.0>', '<0.200.0>'],
    );
    const file = toSpeedscope(p, 'test');
    const schema = JSON.parse(readFileSync(path.join(require.resolve('speedscope/package.json'), '..', 'dist', 'release', 'file-format-schema.json'), 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ allErrors: true });
    const validate = ajv.compile({ ...schema, $ref: '#/definitions/FileFormat.File' });
    assert.ok(validate(file), JSON.stringify(validate.errors));
    // Shape: shared frames named in Erlang/Elixir notation with file and line; one sampled profile per process.
    assert.equal(file.$schema, 'https://www.speedscope.app/file-format-schema.json');
    assert.equal(file.profiles.length, 2);
    assert.deepEqual(file.profiles.map((x) => x.name), ['Demo.PricingWorker <0.100.0>', 'Demo.Other.init/1 <0.200.0>']);
    const second = file.profiles[1];
    assert.equal(second?.samples.length, 2, 'idle samples left out');
    assert.equal(second?.samples.length, second?.weights.length);
    const names = (second?.samples[0] ?? []).map((i) => file.shared.frames[i]?.name);
    assert.deepEqual(names, ['proc_lib:init_p_do_apply/3', 'lists:foldl_1/3', 'fn in Demo.Pricing.compute/2']);
    assert.deepEqual(file.shared.frames.find((f) => f.name === 'Demo.Pricing.compute/2'), { name: 'Demo.Pricing.compute/2', file: 'lib/demo/workers/pricing.ex', line: 13 });
    assert.ok(file.profiles.every((x) => x.weights.every((w) => w > 0) && Math.abs(x.endValue - x.weights.reduce((a, b) => a + b, 0)) < 1e-6));
    // A broken file is caught by the same validation (the test can fail).
    assert.ok(!validate({ ...file, profiles: [{ ...second, samples: 'x' }] }));
  });

  it('writes folded stacks, root first, one line per distinct stack', () => {
    const p = build(busyStacks);
    const text = toCollapsed(p);
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 3, text);
    assert.ok(lines.includes('Demo.PricingWorker <0.100.0>;proc_lib:init_p_do_apply/3;Demo.PricingWorker.handle_info/2;Demo.PricingWorker.reprice/4;Demo.Pricing.compute/2;Demo.Pricing.volume_discount/1 30'));
    // Two lines of compute/2 fold into one function in folded stacks.
    assert.ok(lines.includes('Demo.PricingWorker <0.100.0>;proc_lib:init_p_do_apply/3;Demo.PricingWorker.handle_info/2;Demo.PricingWorker.reprice/4;Demo.Pricing.compute/2 30'));
    assert.equal(lines.reduce((a, l) => a + Number(l.split(' ').pop()), 0), 65);
    assert.equal(toCollapsed(p, { includeIdle: true }).trim().split('\n').length, 4);
  });
});

describe('profile comparison', () => {
  it('compares two profiles function by function: what got faster', () => {
    const before = build(busyStacks);
    const after = build([
      { stack: [F.init, F.handle, F.reprice, F.compute], n: 10 },
      { stack: [F.init, F.handle, F.reprice], n: 30 },
    ]);
    const c = compareProfiles(before, after);
    assert.equal(c.before.busy, 65);
    assert.equal(c.after.busy, 40);
    const discount = c.changes.find((x) => x.function === 'volume_discount');
    assert.equal(discount?.after, null);
    assert.ok((discount?.totalDelta ?? 0) < 0);
    const compute = c.changes.find((x) => x.function === 'compute');
    assert.ok(Math.abs((compute?.totalDelta ?? 0) - (10 / 40 - 60 / 65)) < 1e-9);
    assert.equal(c.changes[0]?.function, 'compute', 'largest change first');
  });
});

describe('profile bounds and back-off', () => {
  it('bounds rate, duration, samples and processes, and says how to go faster', () => {
    const zero = { hasProbe: false, node: 'demo@host' };
    const probe = { hasProbe: true, node: 'demo@host' };
    assert.deepEqual(profilePlan(zero, { durationMs: 10_000 }, 1), { mode: 'rpc', hz: 10, maxSamples: 100_000 });
    assert.deepEqual(profilePlan(probe, { durationMs: 10_000 }, 3), { mode: 'probe', hz: 97, maxSamples: 100_000 });
    assert.throws(() => profilePlan(zero, { durationMs: 10_000, hz: 97 }, 1), /zero-install sampling over rpc goes from 1 to 25 Hz; add --allow-probe/);
    assert.throws(() => profilePlan(probe, { durationMs: 10_000, hz: 5000 }, 1), /--hz must be from 1 to 1000/);
    assert.throws(() => profilePlan(probe, { durationMs: 700_000 }, 1), /--duration must be from 0.1 to 600 seconds/);
    assert.throws(() => profilePlan(probe, { durationMs: 1000, maxSamples: 2_000_000 }, 1), /--max-samples must be from 1 to 1000000/);
    assert.throws(() => profilePlan(probe, { durationMs: 1000 }, 101), /profile 1 to 100 processes at a time/);
    assert.throws(() => profilePlan(zero, { durationMs: 1000, mode: 'probe' }, 1), /needs the probe loaded .*--allow-probe/);
  });

  it('zero-install sampling slows down while the run queue is long and comes back as it falls', () => {
    const base = 100_000;
    const long = { runQueue: 9, schedulers: 2, limit: 8 };
    const short = { runQueue: 0, schedulers: 2, limit: 8 };
    let i = base;
    const seen: number[] = [];
    for (let k = 0; k < 5; k++) seen.push((i = backedOff(i, base, long)));
    assert.deepEqual(seen, [200_000, 400_000, 800_000, 800_000, 800_000], 'at most 8x');
    assert.equal(backedOff(i, base, { runQueue: 2, schedulers: 2, limit: 8 }), 800_000, 'in between: stays');
    const back: number[] = [];
    for (let k = 0; k < 4; k++) back.push((i = backedOff(i, base, short)));
    assert.deepEqual(back, [400_000, 200_000, 100_000, 100_000], 'never faster than asked');
    assert.equal(backedOff(base, base, null), base, 'no reading yet');
  });
});
