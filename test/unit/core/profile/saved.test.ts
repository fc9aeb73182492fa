// The one reader of saved profiles (core/profile/saved.ts): a profile session saved by core's
// audited run service and the speedscope file of the same profile reopen to the same folded tree;
// files that are not (readable) profiles give a usage error that says what is wrong and what to do.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Attachment, type AttachmentConnection } from '../../../../src/core/attach/attachment';
import { toSpeedscope } from '../../../../src/core/profile/export';
import { toFlameProfile } from '../../../../src/core/profile/flame';
import { foldStacks, type CallTree } from '../../../../src/core/profile/fold';
import { functionName } from '../../../../src/core/profile/names';
import { ProfileBuilder, type Profile, type ProfileSession, type RawFrame } from '../../../../src/core/profile/profile';
import { listSavedProfiles, parseFunctionName, readSavedProfile, savedProfileSteps, type SavedProfile } from '../../../../src/core/profile/saved';
import { runStepsYielding } from '../../../../src/core/records/steps';
import { saveSession } from '../../../../src/core/records/store';
import { runAudited } from '../../../../src/core/runs/run';
import { BeamLensError } from '../../../../src/errors';

const F = {
  init: { module: 'proc_lib', function: 'init_p_do_apply', arity: 3, line: 240 },
  handle: { module: 'Elixir.Demo.PricingWorker', function: 'handle_info', arity: 2, line: 46 },
  reprice: { module: 'Elixir.Demo.PricingWorker', function: 'reprice', arity: 4, line: 56 },
  compute: { module: 'Elixir.Demo.Pricing', function: 'compute', arity: 2, line: 13 },
  compute14: { module: 'Elixir.Demo.Pricing', function: 'compute', arity: 2, line: 14 },
  fold: { module: 'lists', function: 'foldl_1', arity: 3, line: 1355 },
  fun: { module: 'Elixir.Demo.Pricing', function: '-compute/2-fun-0-', arity: 2, line: 13 },
  loop: { module: 'gen_server', function: 'loop', arity: 7, line: 871 },
} satisfies Record<string, RawFrame>;

function build(): Profile {
  const b = new ProfileBuilder();
  b.addProcess({ pid: '<0.100.0>', name: 'Elixir.Demo.PricingWorker', initialCall: 'proc_lib:init_p/5' });
  b.addProcess({ pid: '<0.200.0>', name: null, initialCall: 'Elixir.Demo.Other:init/1' });
  b.setFile('Elixir.Demo.Pricing', 'lib/demo/workers/pricing.ex');
  const stacks: Array<{ pid: string; stack: RawFrame[]; n: number; idle?: boolean }> = [
    { pid: '<0.100.0>', stack: [F.init, F.handle, F.reprice, F.compute], n: 7 },
    { pid: '<0.100.0>', stack: [F.init, F.handle, F.reprice, F.compute14], n: 2 },
    { pid: '<0.100.0>', stack: [F.init, F.handle, F.reprice, F.fold, F.fun], n: 3 },
    { pid: '<0.200.0>', stack: [F.init, F.fold, F.fun], n: 2 },
    { pid: '<0.200.0>', stack: [F.init, F.loop], n: 4, idle: true },
  ];
  let t = 0;
  for (const s of stacks) {
    for (let i = 0; i < s.n; i++) {
      t += 10_000;
      b.add(s.pid, t, !s.idle, [...s.stack].reverse().map((f) => b.frame(f)));
    }
  }
  const stats = { hz: 100, intervalUs: 10_000, samples: b.count, ticks: b.count, lateTicks: 0, backoffs: 0, costUsPerSample: 10, costUsMax: 20 };
  return b.profile({ mode: 'probe', stats, durationMs: t / 1000 });
}

/** A folded tree by frame names (frame indices may differ between two readings). */
function named(p: Profile, t: CallTree): unknown {
  const frame = p.frames[t.frame];
  return { name: frame ? `${functionName(frame)}:${frame.line}${frame.file ? `@${frame.file}` : ''}` : 'root', self: t.self, total: t.total, children: t.children.map((c) => named(p, c)).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) };
}

async function usage(f: () => Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(f, (err: unknown) => {
    assert.ok(err instanceof BeamLensError, String(err));
    assert.equal(err.kind, 'usage');
    assert.match(err.message, re);
    return true;
  });
}

describe('saved profiles read back (core reader shared by session show and the editor)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'bl-saved-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a profile saved by the audited run service reopens to the same folded tree, with its node, time and selection', async () => {
    const profile = build();
    const session = new Attachment({ peer: 'demo@h' } as unknown as AttachmentConnection, { env: 'staging', grants: {} });
    const r = await runAudited<ProfileSession>({
      session,
      kind: 'profile',
      limits: { hz: 100 },
      consent: [],
      audit: null,
      save: { cwd: dir },
      body: async () => ({ value: { profile, selection: { process: 'Demo.PricingWorker' } }, endReason: 'completed' }),
    });
    assert.ok(r.file);
    const saved = await readSavedProfile(r.file);
    assert.equal(saved.source, 'session');
    assert.equal(saved.node, 'demo@h');
    assert.match(saved.at, /^\d{4}-\d\d-\d\dT/);
    assert.deepEqual(saved.selection, { process: 'Demo.PricingWorker' });
    assert.deepEqual(saved.profile, JSON.parse(JSON.stringify(profile)));
    assert.deepEqual(named(saved.profile, foldStacks(saved.profile)), named(profile, foldStacks(profile)));
    for (const pid of ['<0.100.0>', '<0.200.0>']) assert.deepEqual(named(saved.profile, foldStacks(saved.profile, { pids: [pid] })), named(profile, foldStacks(profile, { pids: [pid] })));
    // Listed among the workspace's saved profiles from its header (node, env, time) without reading the samples.
    const listed = listSavedProfiles(dir);
    assert.deepEqual(listed.map((e) => [e.file, e.node, e.env, e.startedAt]), [[r.file, 'demo@h', 'staging', saved.at]]);
  });

  it('the speedscope file of a profile reopens to the same folded tree of busy samples, its node and processes', async () => {
    const profile = build();
    const file = path.join(dir, 'p.speedscope.json');
    writeFileSync(file, JSON.stringify(toSpeedscope(profile, 'BEAM Lens profile of Demo.PricingWorker on demo@box')));
    const saved = await readSavedProfile(file);
    assert.equal(saved.source, 'speedscope');
    assert.equal(saved.node, 'demo@box');
    assert.equal(saved.profile.mode, 'speedscope');
    assert.equal(saved.profile.stats.samples, 14, 'busy samples (the file leaves idle ones out)');
    assert.equal(saved.profile.stats.hz, 100);
    assert.deepEqual(named(saved.profile, foldStacks(saved.profile)), named(profile, foldStacks(profile)));
    assert.deepEqual(
      saved.profile.processes.map((p) => [p.pid, p.name, p.initialCall]),
      [['<0.100.0>', 'Elixir.Demo.PricingWorker', null], ['<0.200.0>', null, 'Elixir.Demo.Other:init/1']],
    );
    // The flame graph's model of it: top frame by total under the worker is compute/2 in pricing.ex.
    const flame = toFlameProfile(saved.profile, { node: 'demo@box', title: 't', endReason: saved.endReason });
    const worker = flame.processes[0]?.tree;
    const path3 = [worker?.children[0], worker?.children[0]?.children[0], worker?.children[0]?.children[0]?.children[0], worker?.children[0]?.children[0]?.children[0]?.children[0]];
    assert.deepEqual(path3.map((t) => (t ? flame.frames[t.frame]?.name : null)), ['proc_lib:init_p_do_apply/3', 'Demo.PricingWorker.handle_info/2', 'Demo.PricingWorker.reprice/4', 'Demo.Pricing.compute/2']);
    assert.equal(flame.frames.find((f) => f.name === 'Demo.Pricing.compute/2')?.file, 'lib/demo/workers/pricing.ex');
  });

  it('reads display names back as functions (Erlang, Elixir, generated, quoted) and refuses other names', () => {
    for (const f of [F.init, F.compute, F.fold, { module: 'Elixir.Demo.Pricing', function: 'valid?', arity: 1, line: 0 }, { module: 'my mod', function: 'Weird', arity: 0, line: 0 }, { module: 'Elixir.A', function: 'foo bar', arity: 2, line: 0 }]) {
      assert.deepEqual(parseFunctionName(functionName(f)), { module: f.module, function: f.function, arity: f.arity });
    }
    const fun = parseFunctionName('fn in Demo.Pricing.compute/2');
    assert.ok(fun && functionName(fun) === 'fn in Demo.Pricing.compute/2');
    assert.equal(parseFunctionName('comprehension in lists:map/2') && functionName(parseFunctionName('comprehension in lists:map/2') ?? F.init), 'comprehension in lists:map/2');
    for (const n of ['main', 'foo (bar.py:12)', '[unknown]', 'Object.<anonymous>', 'Foo.bar']) assert.equal(parseFunctionName(n), null, n);
  });

  it('bad files give a usage error saying what is wrong and what to do', async () => {
    const write = (name: string, content: unknown): string => {
      const f = path.join(dir, name);
      writeFileSync(f, typeof content === 'string' ? content : JSON.stringify(content));
      return f;
    };
    await usage(() => readSavedProfile(path.join(dir, 'missing.json')), /cannot read profile file .*missing\.json \(ENOENT\)/);
    await usage(() => readSavedProfile(dir), /is not a file/);
    await usage(() => readSavedProfile(write('x.json', 'flame graph, please')), /not a BEAM Lens session file \(not JSON\)/);
    await usage(() => readSavedProfile(write('y.json', { hello: 1 })), /not a BEAM Lens session file/);
    const record = { format: 1, id: 'x', kind: 'hot', node: 'a@b', env: 'local', startedAt: '2026-01-01T00:00:00.000Z', endedAt: '', durationMs: 1, limits: {}, endReason: 'completed', result: { functions: [] } };
    await usage(() => readSavedProfile(write('hot.json', record)), /is a hot session, not a profile: open a profile session .*speedscope/);
    await usage(() => readSavedProfile(write('broken.json', { ...record, kind: 'profile', result: { profile: { ...build(), stats: undefined } } })), /profile session without a readable profile/);
    await usage(() => readSavedProfile(write('broken2.json', { ...record, kind: 'profile', result: { profile: { ...build(), stacks: [[999]] } } })), /profile session without a readable profile/);
    // speedscope files of other tools.
    const schema = 'https://www.speedscope.app/file-format-schema.json';
    const sampled = { type: 'sampled', name: 'main', unit: 'milliseconds', startValue: 0, endValue: 2, samples: [[0], [0]], weights: [1, 1] };
    await usage(() => readSavedProfile(write('py.speedscope.json', { $schema: schema, exporter: 'py-spy@0.3', shared: { frames: [{ name: 'main (app.py:3)' }] }, profiles: [sampled] })), /frame 0 "main \(app\.py:3\)" is not an Erlang or Elixir function \(written by py-spy@0\.3\).*speedscope\.app/);
    const beamFrames = { frames: [{ name: 'lists:foldl/3' }] };
    await usage(() => readSavedProfile(write('ev.speedscope.json', { $schema: schema, shared: beamFrames, profiles: [{ type: 'evented', name: 'x', unit: 'milliseconds', startValue: 0, endValue: 1, events: [] }] })), /profile 0 is an "evented" profile; BEAM Lens reads sampled profiles/);
    await usage(() => readSavedProfile(write('mem.speedscope.json', { $schema: schema, shared: beamFrames, profiles: [{ ...sampled, unit: 'bytes' }] })), /measured in "bytes", not in time/);
    await usage(() => readSavedProfile(write('idx.speedscope.json', { $schema: schema, shared: beamFrames, profiles: [{ ...sampled, samples: [[0], [5]] }] })), /sample 1 is not a list of frame indices/);
    await usage(() => readSavedProfile(write('len.speedscope.json', { $schema: schema, shared: beamFrames, profiles: [{ ...sampled, weights: [1] }] })), /"samples" and "weights" of the same length/);
    await usage(() => readSavedProfile(write('noschema.json', { shared: beamFrames, profiles: [sampled] })), /looks like a speedscope file but has no "\$schema"/);
    await usage(() => readSavedProfile(write('many.speedscope.json', { $schema: schema, shared: beamFrames, profiles: Array.from({ length: 1001 }, () => sampled) })), /1001 profiles, more than the 1000/);
    // A process that only waited: no busy samples, still a profile (the flame graph says so).
    const idle = await readSavedProfile(write('idle.speedscope.json', { $schema: schema, shared: beamFrames, profiles: [{ ...sampled, samples: [], weights: [] }] }));
    assert.deepEqual([idle.profile.stats.samples, idle.profile.stats.hz, idle.profile.processes.length], [0, 0, 1]);
    // A huge file is refused before it is read.
    const huge = write('huge.json', '');
    truncateSync(huge, 300 * 1024 * 1024);
    await usage(() => readSavedProfile(huge), /huge\.json is 300 MB, more than the 256 MB BEAM Lens reads as a profile file: is it the right file\?/);
    await usage(() => readSavedProfile(write('small.json', JSON.stringify(record)), { maxBytes: 10 }), /more than the 0\.0 MB/);
  });

  it('a maximum-size file (1,000,000 samples) is read without holding the event loop: a timer keeps firing, and the result is the blocking read\'s', async function () {
    this.timeout(120_000);
    // The largest profile BEAM Lens records: 1,000,000 samples over 10 processes, 3,000 stacks.
    const b = new ProfileBuilder();
    for (let p = 0; p < 10; p++) b.addProcess({ pid: `<0.${100 + p}.0>`, name: null, initialCall: 'proc_lib:init_p/5' });
    const frames = Array.from({ length: 600 }, (_, i) => b.frame({ module: `Elixir.Demo.M${i % 60}`, function: `f${i}`, arity: i % 4, line: i + 1 }));
    const stacks = Array.from({ length: 3000 }, (_, i) => Array.from({ length: 8 + (i % 25) }, (_, k) => frames[(i * 7 + k * 13) % 600] ?? 0));
    for (let i = 0; i < 1_000_000; i++) b.add(`<0.${100 + (i % 10)}.0>`, (i + 1) * 1000, i % 10 !== 0, stacks[i % 3000] ?? []);
    const profile = b.profile({ mode: 'probe', stats: { hz: 1000, intervalUs: 1000, samples: b.count, ticks: b.count, lateTicks: 0, backoffs: 0, costUsPerSample: 1, costUsMax: 2 }, durationMs: 1_000_000 });
    const base = { format: 1 as const, env: 'local', endedAt: '', durationMs: 1, limits: {}, endReason: 'completed' as const };
    const file = saveSession({ ...base, id: '20260101T000000Z-profile-ffffff', kind: 'profile', node: 'a@h', startedAt: '2026-01-01T00:00:00.000Z', result: { profile, selection: { top: 10 } } }, { cwd: dir });
    const speedscope = path.join(dir, 'max.speedscope.json');
    writeFileSync(speedscope, JSON.stringify(toSpeedscope(profile, 'BEAM Lens profile of 10 processes on a@h')));

    /** Ticks of a 0 ms timer chain while `read` runs: each one is a turn of the event loop. */
    const ticksDuring = async (read: () => Promise<unknown>): Promise<number> => {
      let ticks = 0;
      let on = true;
      const tick = (): void => {
        ticks++;
        if (on) setTimeout(tick, 0);
      };
      setTimeout(tick, 0);
      await read();
      on = false;
      const during = ticks;
      // Let the chain's last timer run out.
      await new Promise((r) => setTimeout(r, 5));
      return during;
    };
    for (const f of [file, speedscope]) {
      let sliced: SavedProfile | undefined;
      const pending = readSavedProfile(f);
      assert.ok(pending instanceof Promise, 'the editor gets a promise');
      const ticks = await ticksDuring(async () => (sliced = await pending));
      // The reader gives the loop a turn at least every 8 ms of its work (about a second here).
      assert.ok(ticks >= 20, `${path.basename(f)}: the event loop turned only ${ticks} times while it was read`);
      // And not only while the thread pool reads the file: decoding, parsing and checking it pause too.
      const inMemory = readFileSync(f);
      const parseTicks = await ticksDuring(() => runStepsYielding(savedProfileSteps(f, { bytes: inMemory }, () => '')));
      assert.ok(parseTicks >= 10, `${path.basename(f)}: the event loop turned only ${parseTicks} times while it was parsed and checked`);
      let blocking: SavedProfile | undefined;
      const blockingTicks = await ticksDuring(async () => (blocking = await readSavedProfile(f, { sliceMs: Infinity })));
      assert.equal(blockingTicks, 0, 'the blocking way (for comparison) holds the loop');
      assert.ok(sliced && blocking);
      assert.equal(sliced.profile.stats.samples, blocking.profile.stats.samples);
      assert.deepEqual([sliced.node, sliced.source, sliced.profile.stats], [blocking.node, blocking.source, blocking.profile.stats]);
      assert.deepEqual(sliced.profile.stacks, blocking.profile.stacks);
      assert.deepEqual(named(sliced.profile, foldStacks(sliced.profile)), named(blocking.profile, foldStacks(blocking.profile)));
      assert.deepEqual(sliced.profile.processes.map((p) => [p.pid, p.samples.length, p.samples.at(-1)]), blocking.profile.processes.map((p) => [p.pid, p.samples.length, p.samples.at(-1)]));
    }
  });

  it('session records saved by saveSession list newest first; other kinds are not listed', async () => {
    const base = { format: 1 as const, env: 'local', endedAt: '', durationMs: 1, limits: {}, endReason: 'completed' as const };
    saveSession({ ...base, id: '20260101T000000Z-profile-aaaaaa', kind: 'profile', node: 'a@h', startedAt: '2026-01-01T00:00:00.000Z', result: { profile: build(), selection: { top: 3 } } }, { cwd: dir });
    saveSession({ ...base, id: '20260102T000000Z-profile-bbbbbb', kind: 'profile', node: 'b@h', startedAt: '2026-01-02T00:00:00.000Z', result: { profile: build(), selection: { top: 1 } } }, { cwd: dir });
    saveSession({ ...base, id: '20260103T000000Z-hot-cccccc', kind: 'hot', node: 'c@h', startedAt: '2026-01-03T00:00:00.000Z', result: {} }, { cwd: dir });
    assert.deepEqual(listSavedProfiles(dir).map((e) => [e.id, e.node]), [['20260102T000000Z-profile-bbbbbb', 'b@h'], ['20260101T000000Z-profile-aaaaaa', 'a@h']]);
    assert.deepEqual((await readSavedProfile(listSavedProfiles(dir)[1]?.file ?? '')).selection, { top: 3 });
    assert.deepEqual(listSavedProfiles(path.join(dir, 'nowhere')), []);
  });
});
