// One intrusive run per node across BEAM Lens instances (two OS processes: the CLI, `beam-lens
// mcp`, an editor) and against a foreign tracer: the second is refused naming who holds the node,
// with nothing set; the first's counts stay right; the node's claim leaves nothing behind.
import { strict as assert } from 'node:assert';
import { Atom, Pid, Tuple, isAtom, type Term } from '../../../src/etf';
import { connect, type NodeConnection } from '../../../src/erldist';
import { Attachment } from '../../../src/core/attach/attachment';
import { RUN_CLAIM_NAME } from '../../../src/core/attach/run-claim';
import { runAudited, type RunOutcome, type RunResult } from '../../../src/core/runs/run';
import { runHotFunctions, type HotResult } from '../../../src/core/runs/hot';
import { runTrace } from '../../../src/core/runs/trace';
import { errorKindOf } from '../../../src/errors';
import { startNode, waitFor, type TestNode } from '../harness';
import { runCli } from '../cli-runner';
import { ensureBuilt, startMcp, text } from '../mcp/client';
import { clean } from '../target-state';

const BUSY = `
-module(bl_busy).
-export([start/0, loop/0, work/1]).
start() -> register(bl_busy, spawn(fun loop/0)), ok.
loop() -> work(1), receive stop -> ok after 2 -> bl_busy:loop() end.
work(N) -> N + 1.
`;
const WORK: [string, string, number] = ['bl_busy', 'work', 1];

describe('one intrusive run per node across BEAM Lens instances, and against a foreign tracer', function () {
  this.timeout(120_000);
  let node: TestNode;

  before(async () => {
    ensureBuilt();
    node = await startNode();
    await node.loadModule(BUSY);
    await node.eval(`bl_busy:start().`);
  });
  after(async () => node?.stop());

  async function attach(grants = { allowProbe: true, allowTrace: true, allowGc: true }): Promise<Attachment> {
    return new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local', grants });
  }
  const count = async (): Promise<Term> => ((await node.eval(`erlang:trace_info({bl_busy, work, 1}, call_count).`)) as Tuple).at(1) as Term;
  const claimHolder = async (): Promise<Term> => node.eval(`whereis('${RUN_CLAIM_NAME}').`);
  const probeLoaded = async (): Promise<boolean> => isAtom(await node.eval(`erlang:module_loaded(beam_lens_probe).`), 'true');
  const hot = (s: Attachment, durationMs: number): Promise<RunResult<HotResult>> =>
    runAudited<HotResult>({
      session: s, kind: 'hot', limits: { durationMs }, consent: ['trace', 'probe'], audit: null, save: null, deadlineMs: durationMs + 30_000,
      body: async (signal) => {
        const r = await runHotFunctions(s, { durationMs, modules: ['bl_busy'], signal });
        return { value: r, endReason: r.endReason, durationMs: r.durationMs };
      },
    });

  it('a second instance (the CLI, then `beam-lens mcp`) counting the same module is refused, naming the first; the first\'s counts are not reset and its claim goes with its run', async () => {
    const a = await attach();
    try {
      const first = hot(a, 12_000);
      await waitFor(async () => typeof (await count()) === 'number' && ((await count()) as number) > 20, 20_000, 'the first count to run');
      const before = (await count()) as number;
      assert.ok((await claimHolder()) instanceof Pid, 'the first run holds the node\'s claim');

      const cli = await runCli(['hot', '--node', node.node, '--cookie-file', node.cookieFile, '--allow-probe', '--allow-trace', '--module', 'bl_busy', '--duration', '2']);
      assert.equal(cli.code, 1, `${cli.stdout}\n${cli.stderr}`);
      assert.match(cli.stderr, new RegExp(`another BEAM Lens \\(${a.connection.localName}\\) is running a hot session on ${node.node} \\(started [^)]*ends by [^)]* at the latest\\): one intrusive session per node at a time`));
      assert.match(cli.stderr, /nothing was set/);

      const mcp = await startMcp({ args: ['--node', node.node, '--cookie-file', node.cookieFile, '--allow-probe', '--allow-trace'] });
      try {
        const r = await mcp.call('hot_functions', { durationS: 1 });
        assert.equal(r.isError, true, text(r));
        assert.match(text(r), new RegExp(`another BEAM Lens \\(${a.connection.localName}\\) is running a hot session`));
      } finally {
        await mcp.close();
      }
      // Still counting, never reset by the refused ones (a reset restarts at zero).
      const after = await count();
      assert.ok(typeof after === 'number' && after >= before, `counts reset: ${String(before)} then ${String(after)}`);

      const r = await first;
      assert.equal(r.endReason, 'completed');
      assert.ok(r.value.totalCalls >= before, `the first run's total ${r.value.totalCalls} < ${before} counted before the others tried`);
      assert.ok(isAtom(await claimHolder(), 'undefined'), 'the claim outlived its run');
      await clean(node, [WORK], 15_000, { probeMayStay: true });
    } finally {
      await a.detach();
    }
    await clean(node, [WORK]);
  });

  it('a zero-install run claims the node too, and the claim goes when its owner\'s connection dies', async () => {
    const a = await attach();
    const b = await attach();
    try {
      // A zero-install intrusive run (no probe: forced GCs need none) that waits until stopped.
      const stop = new AbortController();
      const gcRun = runAudited({
        session: a, kind: 'bin-leak', limits: {}, consent: ['gc'], audit: null, save: null, stop: stop.signal,
        body: (signal) => new Promise<RunOutcome<number>>((resolve) => signal.addEventListener('abort', () => resolve({ value: 0, endReason: 'stopped' }), { once: true })),
      });
      await waitFor(async () => (await claimHolder()) instanceof Pid, 10_000, 'the zero-install run\'s claim');
      assert.equal(await probeLoaded(), false);
      await assert.rejects(hot(b, 1000), (err: unknown) => errorKindOf(err) === 'targetBusy' && new RegExp(`another BEAM Lens \\(${a.connection.localName}\\) is running a bin-leak session`).test(String(err)));
      assert.equal(await probeLoaded(), false, 'the refused run loaded the probe');
      assert.ok(isAtom(await count(), 'false'), 'the refused run set a pattern');

      // a vanishes (a killed process: its socket closes without a word): its claim goes with it.
      (a.connection as unknown as { socket: { destroy(): void } }).socket.destroy();
      await waitFor(async () => isAtom(await claimHolder(), 'undefined'), 15_000, 'the claim of a vanished instance to go');
      stop.abort();
      await gcRun.catch(() => undefined);
      const r = await hot(b, 500);
      assert.equal(r.endReason, 'completed');
    } finally {
      await a.detach().catch(() => undefined);
      await b.detach();
    }
    await clean(node, [WORK]);
    assert.ok(isAtom(await claimHolder(), 'undefined'));
  });

  it('an older BEAM Lens (a release without the node\'s claim) counting the module through the shared probe: refused naming its node, its counts kept', async () => {
    const old = await attach();
    const s = await attach();
    try {
      assert.equal((await old.loadProbe()).state, 'loaded');
      // What that release does: hot_start straight away, no claim.
      const owner = old.connection.spawn();
      const started = await old.connection.rpc('beam_lens_probe', 'hot_start', [[Atom.of('bl_busy')], owner.pid]);
      assert.ok(started instanceof Tuple && isAtom(started.at(0), 'ok'));
      await waitFor(async () => ((await count()) as number) > 5, 10_000, 'its counts');
      const before = (await count()) as number;
      await assert.rejects(hot(s, 1000), (err: unknown) => errorKindOf(err) === 'targetBusy' && new RegExp(`already has a call_count pattern .*set by another BEAM Lens \\(${old.connection.localName}, a release that does not claim the node`).test(String(err)));
      assert.ok(((await count()) as number) >= before, 'its counts were reset');
    } finally {
      await s.detach();
      await old.detach();
    }
    await clean(node, [WORK]);
  });

  it('call_count patterns of another tool (cprof) on the module: hot functions is refused naming them, nothing set, their counts kept', async () => {
    await node.eval(`erlang:trace_pattern({bl_busy, '_', '_'}, true, [call_count]).`);
    const s = await attach();
    try {
      await waitFor(async () => ((await count()) as number) > 5, 10_000, 'the foreign counts');
      const before = (await count()) as number;
      await assert.rejects(hot(s, 1000), (err: unknown) => errorKindOf(err) === 'targetBusy' && /bl_busy:\w+\/\d already has a call_count pattern .*set by another tool.*Nothing was set on/.test(String(err)));
      assert.equal(await probeLoaded(), false, 'the refused run loaded the probe');
      assert.ok(((await count()) as number) >= before, 'the foreign counts were reset');
      assert.ok(isAtom(await claimHolder(), 'undefined'));
    } finally {
      await s.detach();
      await node.eval(`erlang:trace_pattern({bl_busy, '_', '_'}, false, [call_count]).`);
    }
    await clean(node, [WORK]);
  });

  it('a foreign tracer (dbg tracing calls of every process): call and message traces are refused naming its tracer process, nothing set', async () => {
    await node.eval(`{ok, _} = dbg:tracer(), {ok, _} = dbg:p(all, [call]), {ok, _} = dbg:tpl(bl_busy, work, 1, []), ok.`);
    const s = await attach();
    try {
      await assert.rejects(
        runTrace(s, { kind: 'call', module: 'bl_busy', function: 'work', arity: 1, returns: false }, { rate: { count: 10, perMs: 1000 }, cap: 5, deadlineMs: 5000 }, () => undefined),
        (err: unknown) => errorKindOf(err) === 'targetBusy' && /bl_busy:work\/1 already has a trace pattern/.test(String(err)) && /a tracer process <[\d.]+> \(running \S+, linked to dbg\) is tracing \d+ process/.test(String(err)) && /new processes are traced by default/.test(String(err)),
      );
      const busy = (await node.eval(`pid_to_list(whereis(bl_busy)).`)) as Term[];
      await assert.rejects(
        runTrace(s, { kind: 'messages', pid: String.fromCodePoint(...(busy as number[])) }, { rate: { count: 10, perMs: 1000 }, cap: 5, deadlineMs: 5000 }, () => undefined),
        (err: unknown) => errorKindOf(err) === 'targetBusy' && /is already traced by <[\d.]+> \(running \S+, linked to dbg\)/.test(String(err)),
      );
      assert.equal(await probeLoaded(), false, 'the refused trace loaded the probe');
      // dbg's pattern and flags are still its own.
      assert.ok(isAtom(((await node.eval(`erlang:trace_info({bl_busy, work, 1}, traced).`)) as Tuple).at(1), 'local'));
    } finally {
      await s.detach();
      await node.eval(`dbg:stop(), ok.`);
    }
    await clean(node, [WORK]);
  });
});

describe('the OTP modules zero-install work loads, with two BEAM Lens instances on a fresh node', function () {
  this.timeout(120_000);

  /** code:all_loaded() through rex alone (the admin connection loads nothing itself). */
  async function allLoaded(conn: NodeConnection): Promise<string[]> {
    return ((await conn.rpc('code', 'all_loaded', [])) as Term[]).map((t) => `${((t as Tuple).at(0) as Atom).name}`).sort();
  }

  it('the second instance restores to the earliest record (the first\'s, asked through the node), so nothing stays after both detach', async () => {
    ensureBuilt();
    const node = await startNode();
    const admin = await connect({ node: node.node, cookie: node.cookie });
    try {
      let last = '';
      let since = Date.now();
      await waitFor(async () => {
        const now = (await allLoaded(admin)).join();
        if (now !== last) [last, since] = [now, Date.now()];
        return Date.now() - since >= 500;
      }, 20_000, 'the node to finish booting');
      const before = await allLoaded(admin);
      assert.ok(!before.includes('erl_scan'), 'a fresh node without erl_scan loaded');

      const a = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local' });
      let aDetached = false;
      try {
        await a.processes({ sort: 'memory', limit: 3, offset: 0 });
        assert.ok((await allLoaded(admin)).includes('erl_scan'), 'zero-install work loaded erl_scan');
        // The second instance, another OS process, attaches while the first is there.
        const mcp = await startMcp({ args: ['--node', node.node, '--cookie-file', node.cookieFile] });
        try {
          assert.notEqual((await mcp.call('processes', { sort: 'memory', limit: 3 })).isError, true);
          aDetached = true;
          await a.detach();
          assert.notEqual((await mcp.call('processes', { sort: 'memory', limit: 3 })).isError, true);
          assert.notEqual((await mcp.call('detach', {})).isError, true);
        } finally {
          await mcp.close();
        }
      } finally {
        if (!aDetached) await a.detach();
      }
      assert.deepEqual(await allLoaded(admin), before);
    } finally {
      await admin.close();
      await node.stop();
    }
  });
});
