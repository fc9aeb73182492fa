// Two BEAM Lens instances on one node share the one probe module: each detach releases its own
// part (its trace, its call counts undone at once) and the probe stays for the other; the last one
// out unloads it; an instance that vanishes without detaching is released by the guardian's
// nodedown; a probe of another version is never used blindly.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Atom, ErlMap, Pid, Tuple, isAtom, type Term } from '../../../src/etf';
import { connect } from '../../../src/erldist';
import { Attachment } from '../../../src/core/attach/attachment';
import { PROBE_VERSION, describeProbeRelease } from '../../../src/core/probe/loader';
import { runTrace } from '../../../src/core/runs/trace';
import { startNode, waitFor, type TestNode } from '../harness';
import { runCli } from '../cli-runner';
import { startMcp, data, text } from '../mcp/client';
import { AttachedNode, describeDetach } from '../../../src/extension/node-scope';
import { clean, leftovers } from '../target-state';

const COMPUTE: [string, string, number] = ['Elixir.Demo.Pricing', 'compute', 2];
const TRACE = { kind: 'call', module: 'Elixir.Demo.Pricing', function: 'compute', arity: 2, returns: false } as const;

/** What a long session of `s` sets through the probe and is still running: call counts on Demo.Pricing, and (with `trace`) a call trace of compute/2. */
async function longSessions(s: Attachment, trace: boolean): Promise<void> {
  const owner = s.connection.spawn();
  const counted = await s.connection.rpc('beam_lens_probe', 'hot_start', [[Atom.of('Elixir.Demo.Pricing')], owner.pid]);
  assert.ok(counted instanceof Tuple && isAtom(counted.at(0), 'ok'), String(counted));
  if (!trace) return;
  const spec = new ErlMap([
    [Atom.of('owner'), owner.pid],
    [Atom.of('kind'), Atom.of('call')],
    [Atom.of('mfa'), new Tuple([Atom.of(COMPUTE[0]), Atom.of(COMPUTE[1]), COMPUTE[2]])],
    [Atom.of('rate'), new Tuple([1, 1000])],
    [Atom.of('cap'), 1_000_000],
    [Atom.of('deadline_ms'), 600_000],
    // Only the release may end it (not a busy shared machine's run queue).
    [Atom.of('breaker'), new ErlMap([[Atom.of('run_queue'), 1_000_000], [Atom.of('memory_growth'), 1 << 40], [Atom.of('tracer_queue'), 1_000_000]])],
  ]);
  const started = await s.connection.rpc('beam_lens_probe', 'trace_start', [spec]);
  assert.ok(started instanceof Tuple && isAtom(started.at(0), 'ok'), String(started));
}

/** Owners the probe's guardian lists (node names), or null when no guardian runs. */
async function owners(node: TestNode): Promise<string[] | null> {
  const t = (await node.eval(`case whereis(beam_lens_guardian) of undefined -> none; _ -> maps:get(owners, beam_lens_probe:status()) end.`)) as Term;
  return isAtom(t, 'none') ? null : (t as Term[]).map((o) => (o as { name: string }).name).sort();
}

/** Nothing of the probe left: module and old code gone, no guardian, no beam_lens_* process. */
async function probeGone(node: TestNode): Promise<void> {
  const t = (await node.eval(`{erlang:module_loaded(beam_lens_probe), erlang:check_old_code(beam_lens_probe), [N || N <- registered(), lists:prefix("beam_lens_", atom_to_list(N))]}.`)) as Tuple;
  assert.deepEqual([isAtom(t.at(0), 'false'), isAtom(t.at(1), 'false'), (t.at(2) as Term[]).length], [true, true, 0], 'probe module, old code or a beam_lens_* process left');
}

describe('two BEAM Lens instances share the probe on one node', function () {
  this.timeout(240_000);
  let demo: TestNode;

  before(async () => {
    demo = await startNode({ command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie] }, startTimeoutMs: 240_000 });
    await waitFor(async () => (await demo.eval(`whereis('Elixir.Demo.PricingWorker').`)) instanceof Pid, 30_000, 'the demo application');
  });
  after(async () => demo?.stop());

  async function attach(node: TestNode = demo): Promise<Attachment> {
    return new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local', grants: { allowProbe: true, allowTrace: true } });
  }

  it('the first to detach leaves the probe to the second, with its own trace and call counts undone; the last one out unloads it', async () => {
    const s1 = await attach();
    const s2 = await attach();
    let s2Detached = false;
    try {
      assert.equal((await s1.loadProbe()).state, 'loaded');
      const st2 = await s2.loadProbe();
      assert.ok(st2.state === 'loaded' && st2.how === 'already-loaded', JSON.stringify(st2));
      assert.deepEqual(st2.sharedWith, [s1.connection.localName]);
      assert.deepEqual(await owners(demo), [s1.connection.localName, s2.connection.localName].sort());

      // s1 counts calls and traces Demo.Pricing.compute/2, both long-running, when it detaches.
      await longSessions(s1, true);
      // (The tracer's flags come and go with its rate window; its patterns and itself stay.)
      assert.match(await leftovers(demo, [COMPUTE], { probeMayStay: true }), /trace patterns, beam_lens_tracer alive/);

      // s1 is the editor's: its detach (the sidebar's) says the probe stays, and for whom.
      const outcome = await new AttachedNode(s1, { node: demo.node, env: 'local', cookie: { kind: 'value', value: demo.cookieText } }).close();
      assert.equal(outcome.probeUnloaded, false);
      assert.deepEqual(outcome.probeSharedWith, [s2.connection.localName]);
      const said = describeDetach(outcome);
      assert.match(said, new RegExp(`the probe stays loaded on ${demo.node} because another BEAM Lens \\(${s2.connection.localName}\\) still uses it`));
      assert.match(said, /unloads itself when the last one leaves; nothing else of ours is left on it/);
      const probe = s1.probeRelease;
      assert.deepEqual(probe?.state === 'shared' ? probe.others : probe, [s2.connection.localName]);
      assert.equal(describeProbeRelease(demo.node, probe!), said.replace(/^.*?: connection closed, /, '').replace(/; nothing else.*$/, ''));
      // Undone at the release, before detach returned: no flag, pattern or tracer of s1's is left.
      assert.equal(await leftovers(demo, [COMPUTE], { probeMayStay: true }), '');
      assert.deepEqual(await owners(demo), [s2.connection.localName]);

      // s2's probe still answers: a processes page through it, a short trace.
      assert.ok(s2.hasProbe);
      const page = await s2.processes({ sort: 'memory', limit: 5, offset: 0 });
      assert.equal(page.rows.length, 5);
      const r = await runTrace(s2, TRACE, { rate: { count: 100, perMs: 1000 }, cap: 3, deadlineMs: 20_000 }, () => undefined);
      assert.equal(r.endReason, 'cap');

      s2Detached = true;
      assert.equal((await s2.detach()).probe?.state, 'unloaded');
      await clean(demo, [COMPUTE]);
      await probeGone(demo);
    } finally {
      await s1.detach().catch(() => undefined);
      if (!s2Detached) await s2.detach().catch(() => undefined);
    }
  });

  it('an instance killed without detaching is released by nodedown: its call counts go, the other keeps working; the CLI says the probe stays', async () => {
    const s1 = await attach();
    const s2 = await attach();
    try {
      await s1.loadProbe();
      await s2.loadProbe();
      await longSessions(s1, false);
      assert.match(await leftovers(demo, [COMPUTE], { probeMayStay: true }), /trace patterns/);
      // s1 vanishes: its socket closes without a word (a killed process).
      (s1.connection as unknown as { socket: { destroy(): void } }).socket.destroy();
      await waitFor(async () => (await owners(demo))?.join() === s2.connection.localName, 20_000, 'the guardian to drop the vanished owner');
      await clean(demo, [COMPUTE], 15_000, { probeMayStay: true });
      const r = await runTrace(s2, TRACE, { rate: { count: 100, perMs: 1000 }, cap: 3, deadlineMs: 20_000 }, () => undefined);
      assert.equal(r.endReason, 'cap');

      // A one-shot CLI command meets s2's probe: shares it and says so, and leaves it to s2.
      const cli = await runCli(['processes', '--node', demo.node, '--cookie-file', demo.cookieFile, '--allow-probe', '--sort', 'reduction-rate', '--limit', '3']);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stderr, new RegExp(`probe already loaded on ${demo.node}, shared with ${s2.connection.localName}`));
      assert.match(cli.stderr, new RegExp(`the probe stays loaded on ${demo.node} because another BEAM Lens \\(${s2.connection.localName}\\) still uses it`));
      assert.deepEqual(await owners(demo), [s2.connection.localName]);

      // So does `beam-lens mcp` (pre-approved probe): its detach tool names s2.
      const mcp = await startMcp({ args: ['--node', demo.node, '--cookie-file', demo.cookieFile, '--allow-probe'] });
      try {
        data(await mcp.call('processes', { sort: 'reduction_rate', limit: 3 }));
        assert.equal((await owners(demo))?.length, 2);
        const r = await mcp.call('detach', {});
        assert.deepEqual(data(r).probeStaysFor, [s2.connection.localName]);
        assert.match(text(r), new RegExp(`undone; the probe stays loaded on ${demo.node} because another BEAM Lens \\(${s2.connection.localName}\\) still uses it`));
      } finally {
        await mcp.close();
      }
      assert.deepEqual(await owners(demo), [s2.connection.localName]);

      assert.equal((await s2.detach()).probe?.state, 'unloaded');
      await clean(demo, [COMPUTE]);
      await probeGone(demo);
    } finally {
      await s2.detach().catch(() => undefined);
    }
  });

  it('met while its last user is unloading it (its guardian answers nothing meanwhile): loaded again once gone, and it works', async () => {
    const node = await startNode();
    try {
      // Another user's probe whose last release runs a slow undo action (8 s): the module is still
      // loaded and its guardian registered, but on its way out.
      const beam = readFileSync(path.join(__dirname, '../../../dist/probe/beam_lens_probe.beam'));
      await node.eval(
        `{module, _} = code:load_binary(beam_lens_probe, "beam_lens_probe.beam", Bin), P = spawn(fun() -> receive stop -> ok end end), {ok, _} = beam_lens_probe:start(P), ok = beam_lens_probe:add_undo({timer, sleep, [8000]}), {ok, []} = beam_lens_probe:release(P), P ! stop, ok.`,
        { Bin: beam },
      );
      const s = await attach(node);
      try {
        const st = await s.loadProbe();
        assert.equal(st.state, 'loaded', JSON.stringify(st));
        assert.deepEqual(await owners(node), [s.connection.localName]);
        assert.equal((await s.processes({ sort: 'memory', limit: 3, offset: 0 })).rows.length, 3);
      } finally {
        assert.equal((await s.detach()).probe?.state, 'unloaded');
      }
      await probeGone(node);
    } finally {
      await node.stop();
    }
  });

  it('a last owner\'s detach that meets another BEAM Lens loading the probe again in the gap does not wait for it: ours is gone, and it stays for the other', async () => {
    const node = await startNode();
    try {
      const s = await attach(node);
      assert.equal((await s.loadProbe()).state, 'loaded');
      // Another instance loads the probe again the moment ours is gone (our guardian ends after
      // the final purge), before our detach looks again: a process on the node holds rex (which
      // serves our rpcs) from our guardian's end until the new probe runs.
      const beam = readFileSync(path.join(__dirname, '../../../dist/probe/beam_lens_probe.beam'));
      await node.eval(
        `Owner = spawn(fun() -> receive stop -> ok end end), register(bl_other_owner, Owner), G = whereis(beam_lens_guardian),
         spawn(fun() -> R = erlang:monitor(process, G),
                        receive {'DOWN', R, _, _, _} -> ok end,
                        erlang:suspend_process(whereis(rex)),
                        try
                          {module, _} = code:load_binary(beam_lens_probe, "beam_lens_probe.beam", Bin),
                          {ok, _} = beam_lens_probe:start(Owner)
                        after erlang:resume_process(whereis(rex))
                        end end), ok.`,
        { Bin: beam },
      );
      const other = String.fromCodePoint(...((await node.eval(`pid_to_list(whereis(bl_other_owner)).`)) as number[]));
      const r = await s.detach();
      assert.deepEqual(r.probe?.state === 'shared' ? r.probe.others : r.probe, [other]);
      assert.ok(isAtom(await node.eval(`maps:get(owners, beam_lens_probe:status()) =:= [whereis(bl_other_owner)].`), 'true'), 'the other owner\'s probe');
      await node.eval(`{ok, []} = beam_lens_probe:release(whereis(bl_other_owner)), ok.`);
      await waitFor(async () => isAtom(await node.eval(`erlang:module_loaded(beam_lens_probe) orelse erlang:check_old_code(beam_lens_probe).`), 'false'), 15_000, 'the other probe to unload');
      await probeGone(node);
    } finally {
      await node.stop();
    }
  });

  describe('a probe of another version on the node', () => {
    let node: TestNode;
    before(async () => (node = await startNode()));
    after(async () => node?.stop());

    const stub = (withStatus: boolean): string =>
      `-module(beam_lens_probe).\n-export([version/0${withStatus ? ', status/0' : ''}]).\nversion() -> 999.\n` +
      (withStatus ? `status() -> #{owners => [other_lens@elsewhere], undo => [], groups => []}.\n` : '');

    it('in use by another BEAM Lens: left alone, we stay zero-install and say which version, whose, and what to do', async () => {
      await node.loadModule(stub(true));
      const holder = await node.eval(`P = spawn(fun() -> receive stop -> ok end end), true = register(beam_lens_guardian, P), P.`);
      const s = await attach(node);
      try {
        const st = await s.loadProbe();
        assert.equal(st.state, 'unavailable');
        const reason = st.state === 'unavailable' ? st.reason : '';
        assert.match(reason, /beam_lens_probe version 999 is loaded on .* in use by other_lens@elsewhere, another BEAM Lens/);
        assert.match(reason, new RegExp(`speaks version ${PROBE_VERSION}`));
        assert.match(reason, /zero-install mode.*detach the other BEAM Lens/);
        assert.equal(s.hasProbe, false);
        assert.equal((await s.processes({ sort: 'memory', limit: 3, offset: 0 })).rows.length, 3);
        await assert.rejects(s.prepareTracing(), /cannot trace .* without the probe: beam_lens_probe version 999/);
      } finally {
        await s.detach();
      }
      // Still theirs, untouched.
      assert.equal(await node.eval(`beam_lens_probe:version().`), 999);
      assert.ok(isAtom(await node.eval(`is_process_alive(H).`, { H: holder }), 'true'));
      await node.eval(`H ! stop, code:purge(beam_lens_probe), code:delete(beam_lens_probe), code:purge(beam_lens_probe).`, { H: holder });
      await waitFor(async () => isAtom(await node.eval(`whereis(beam_lens_guardian).`), 'undefined'), 10_000, 'the stub guardian to stop');
    });

    it('a leftover nobody uses: replaced by ours, and gone after detach', async () => {
      await node.loadModule(stub(false));
      const s = await attach(node);
      try {
        const st = await s.loadProbe();
        assert.ok(st.state === 'loaded' && st.replaced === 'version 999', JSON.stringify(st));
        assert.equal(await node.eval(`beam_lens_probe:version().`), PROBE_VERSION);
        assert.equal((await s.processes({ sort: 'memory', limit: 3, offset: 0 })).rows.length, 3);
        assert.deepEqual(await owners(node), [s.connection.localName]);
      } finally {
        assert.equal((await s.detach()).probe?.state, 'unloaded');
      }
      await probeGone(node);
      assert.ok(isAtom(await node.eval(`whereis(beam_lens_guardian).`), 'undefined'));
    });
  });
});
