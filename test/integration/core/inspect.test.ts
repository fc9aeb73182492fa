import { strict as assert } from 'node:assert';
import { Pid, Tuple, isAtom, type Term } from '../../../src/etf';
import { connect } from '../../../src/erldist';
import { Attachment } from '../../../src/core/attach/attachment';
import { walkTree, type TreeNode } from '../../../src/core/inspect/tree';
import { a, startNode, waitFor, type TestNode } from '../harness';

async function attach(node: TestNode, grants: { allowProbe?: boolean } = {}): Promise<Attachment> {
  const conn = await connect({ node: node.node, cookie: node.cookie });
  return new Attachment(conn, { env: 'local', grants });
}

function find(tree: TreeNode, pred: (n: TreeNode) => boolean): TreeNode | undefined {
  for (const { node } of walkTree(tree)) if (pred(node)) return node;
  return undefined;
}

describe('inspection on a plain Erlang node', function () {
  this.timeout(180_000);
  let node: TestNode;
  let session: Attachment;

  before(async () => {
    node = await startNode({ args: ['+P', '200000'] });
    // 25,000 idle processes whose heap sizes we control: process i holds a list of i rem 1000 elements.
    await node.eval(`
      Spawn = fun(I) -> spawn(fun() -> L = lists:seq(1, I rem 1000), receive stop -> length(L) end end) end,
      Pids = [Spawn(I) || I <- lists:seq(1, 25000)],
      register(bl_holder, spawn(fun() -> receive stop -> ok end end)),
      ets:new(bl_pids, [named_table, public]), ets:insert(bl_pids, [{P} || P <- Pids]), ets:give_away(bl_pids, whereis(bl_holder), []),
      ok.`);
    session = await attach(node);
  });
  after(async () => {
    await session?.detach();
    await node?.stop();
  });

  it('pages processes by memory without the probe, sorted on the target in one pass, matching a direct sort there', async () => {
    const page1 = await session.processes({ sort: 'memory', limit: 20, offset: 0 });
    assert.equal(page1.via, 'rpc');
    assert.ok(page1.total > 25_000, String(page1.total));
    const expected = (await node.eval(`
      L = lists:sort(fun({A, _}, {B, _}) -> A >= B end,
        [{M, P} || P <- erlang:processes(), {memory, M} <- [erlang:process_info(P, memory)]]),
      [M || {M, _} <- lists:sublist(L, 20)].`)) as number[];
    // The rpc machinery's own processes may differ; compare the idle workers' figures, which are stable.
    assert.deepEqual(page1.rows.slice(5).map((r) => r.memory), expected.slice(5), 'same memory figures in the same order');
    for (const r of page1.rows) assert.match(r.pid, /^<0\.\d+\.\d+>$/);
    const page2 = await session.processes({ sort: 'memory', limit: 10, offset: 10 });
    assert.deepEqual(page2.rows.map((r) => r.memory), page1.rows.slice(10).map((r) => r.memory));
  });

  it('names processes by registered name or translated initial call', async () => {
    const page = await session.processes({ sort: 'reductions', limit: 50, offset: 0 });
    const code = page.rows.find((r) => r.name === 'code_server');
    assert.ok(code, 'code_server is among the top by reductions');
    assert.equal(code.currentFunction, 'code_server:loop/1');
    const anonymous = (await session.processes({ sort: 'memory', limit: 30, offset: 5 })).rows.find((r) => r.name === null);
    assert.ok(anonymous?.initialCall, 'an unnamed process shows its initial call');
  });

  it('with the probe: same ranking, far less on the wire, and the probe is gone after detach', async () => {
    const probed = await attach(node, { allowProbe: true });
    try {
      const status = await probed.loadProbe();
      assert.equal(status.state, 'loaded');
      const viaProbe = await probed.processes({ sort: 'memory', limit: 20, offset: 0 });
      assert.equal(viaProbe.via, 'probe');
      const viaRpc = await session.processes({ sort: 'memory', limit: 20, offset: 0 });
      assert.deepEqual(viaProbe.rows.slice(5).map((r) => r.memory), viaRpc.rows.slice(5).map((r) => r.memory));
      const rate = await probed.processes({ sort: 'reduction-rate', limit: 5, offset: 0, windowMs: 300 });
      assert.equal(rate.rows.length, 5);
      assert.ok(rate.rows.every((r) => typeof r.reductionRate === 'number'));
    } finally {
      await probed.detach();
    }
    assert.ok(isAtom(await node.eval(`code:is_loaded(beam_lens_probe).`), 'false'));
    assert.ok(isAtom(await node.eval(`erlang:check_old_code(beam_lens_probe).`), 'false'));
    assert.ok(isAtom(await node.eval(`whereis(beam_lens_guardian).`), 'undefined'));
  });

  it('the probe unloads itself when our node goes away without detaching', async () => {
    const conn = await connect({ node: node.node, cookie: node.cookie });
    const s = new Attachment(conn, { env: 'local', grants: { allowProbe: true } });
    assert.equal((await s.loadProbe()).state, 'loaded');
    // Drop the connection as if BEAM Lens had been killed: no unload call is made.
    (conn as unknown as { socket: { destroy(): void } }).socket.destroy();
    // The node sees the connection drop and the guardian unloads: a generous deadline, as the
    // machine running the suite may be loaded.
    const deadline = Date.now() + 30_000;
    let loaded: Term = a('true');
    while (Date.now() < deadline) {
      loaded = await node.eval(`{code:is_loaded(beam_lens_probe), erlang:check_old_code(beam_lens_probe), whereis(beam_lens_guardian)}.`);
      if (loaded instanceof Tuple && loaded.elements.every((e) => isAtom(e, 'false') || isAtom(e, 'undefined'))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(loaded instanceof Tuple && loaded.elements.every((e) => isAtom(e, 'false') || isAtom(e, 'undefined')), 'probe gone within 30 s');
  });

  it('without the compiler application: loads the precompiled probe, else stays zero-install', async () => {
    const bare = await startNode();
    try {
      // A release without `compiler`: take it off the code path before anything loads it.
      const removed = await bare.eval(`{code:is_loaded(compile), code:del_path(compiler)}.`);
      assert.ok(removed instanceof Tuple && isAtom(removed.at(0), 'false') && isAtom(removed.at(1), 'true'));
      const s = await attach(bare, { allowProbe: true });
      try {
        const status = await s.loadProbe();
        assert.equal(status.state, 'loaded');
        assert.equal(status.state === 'loaded' && status.how, 'precompiled');
        assert.equal((await s.processes({ sort: 'memory', limit: 3, offset: 0 })).via, 'probe');
      } finally {
        await s.detach();
      }
      const { mkdtempSync, copyFileSync, rmSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const path = await import('node:path');
      const onlySource = mkdtempSync(path.join(tmpdir(), 'bl-probe-'));
      copyFileSync(path.join(__dirname, '../../../probe/beam_lens_probe.erl'), path.join(onlySource, 'beam_lens_probe.erl'));
      const conn = await connect({ node: bare.node, cookie: bare.cookie });
      const z = new Attachment(conn, { env: 'local', grants: { allowProbe: true }, probeDir: onlySource });
      try {
        const status = await z.loadProbe();
        assert.equal(status.state, 'unavailable');
        assert.match(status.state === 'unavailable' ? status.reason : '', /no precompiled probe .* no compiler application/);
        const page = await z.processes({ sort: 'memory', limit: 3, offset: 0 });
        assert.equal(page.via, 'rpc');
        assert.equal(page.rows.length, 3);
      } finally {
        await z.detach();
        rmSync(onlySource, { recursive: true, force: true });
      }
      assert.ok(isAtom(await bare.eval(`code:is_loaded(beam_lens_probe).`), 'false'));
    } finally {
      await bare.stop();
    }
  });

  it('refuses to load the probe without consent, with the flag to add', async () => {
    const s = await attach(node);
    try {
      await assert.rejects(s.loadProbe(), (e: unknown) => e instanceof Error && 'kind' in e && (e as { kind: string }).kind === 'consentRequired' && /--allow-probe/.test(e.message));
    } finally {
      await s.detach();
    }
    const prod = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'production', grants: { allowProbe: true } });
    try {
      await assert.rejects(prod.loadProbe(), new RegExp(`tagged production: add --confirm-node ${node.node}`));
    } finally {
      await prod.detach();
    }
  });

  it('overview: versions, memory, limits, utilization, and scheduler_wall_time left as it was', async () => {
    const before = await node.eval(`erlang:statistics(scheduler_wall_time).`);
    assert.ok(isAtom(before, 'undefined'), 'off before');
    const o = await session.overview({ utilizationWindowMs: 300 });
    assert.match(o.otpRelease, /^\d+$/);
    assert.ok(o.memory.total > o.memory.processes && o.memory.processes > 0);
    assert.ok(o.limits.processes.count > 25_000 && o.limits.processes.limit === 262_144);
    assert.ok(o.schedulerUtilization !== null);
    assert.equal(o.schedulerUtilization.perScheduler.length, o.schedulers.total);
    assert.ok(o.schedulerUtilization.total >= 0 && o.schedulerUtilization.total <= 1);
    assert.ok(isAtom(await node.eval(`erlang:statistics(scheduler_wall_time).`), 'undefined'), 'off again after');
  });

  it('a supervisor that does not answer is marked and the walk goes on; a large one is paged by memory', async () => {
    // A tree to walk: a root with a simple_one_for_one pool of 3,000 workers and a "supervisor"
    // child that never answers. Supervisors need a callback module: compile a tiny one on the node.
    await node.loadModule(`-module(bl_lens_sup). -export([init/1, start_worker/1, start_stuck/0]).
             init(root) -> {ok, {#{strategy => one_for_one, intensity => 5, period => 10},
               [#{id => pool, start => {supervisor, start_link, [{local, bl_pool}, bl_lens_sup, pool]}, type => supervisor},
                #{id => stuck, start => {bl_lens_sup, start_stuck, []}, type => supervisor}]}};
             init(pool) -> {ok, {#{strategy => simple_one_for_one, intensity => 1, period => 5},
               [#{id => w, start => {bl_lens_sup, start_worker, []}}]}}.
             start_worker(N) -> {ok, spawn_link(fun() -> L = lists:seq(1, N), receive stop -> length(L) end end)}.
             start_stuck() -> {ok, spawn_link(fun() -> receive never -> ok end end)}.`);
    await node.eval(`
      Parent = self(),
      spawn(fun() -> {ok, Root} = supervisor:start_link({local, bl_root}, bl_lens_sup, root), Parent ! {up, Root}, receive stop -> ok end end),
      receive {up, _} -> ok after 30000 -> timeout end,
      [supervisor:start_child(bl_pool, [I]) || I <- lists:seq(1, 3000)],
      ok.`);
    const { walkSupervisor } = await import('../../../src/core/inspect/tree');
    const rootPid = (await node.eval(`whereis(bl_root).`)) as Pid;
    // The pool (3,000 children) must answer within the timeout even on a loaded machine; the
    // stuck one never answers, so the walk goes on after it (no timing assertion: a hang would
    // show as the test's own timeout).
    const root = await walkSupervisor(session.connection, session.evaluator, rootPid, { id: null, module: 'bl_lens_sup', name: 'bl_root' }, { pageSize: 25, supervisorTimeoutMs: 3000 }, 0);
    assert.equal(root.strategy, 'one_for_one');
    assert.equal(root.intensity, 5);
    assert.equal(root.period, 10);
    const stuck = find(root, (n) => n.id === 'stuck');
    assert.ok(stuck?.error, 'the stuck supervisor is marked');
    assert.match(stuck.error ?? '', /did not answer within 3000 ms/);
    const pool = find(root, (n) => n.name === 'bl_pool');
    assert.ok(pool, 'the walk went on past the stuck one');
    assert.equal(pool.strategy, 'simple_one_for_one');
    assert.equal(pool.childCount, 3000);
    assert.equal(pool.children.length, 25);
    assert.equal(pool.truncated, true);
    // Largest first: worker N holds a list of N elements, so the page is the 25 largest.
    const memories = (await Promise.all(pool.children.map((c) => node.eval(`element(2, erlang:process_info(list_to_pid("${c.pid}"), memory)).`)))) as number[];
    assert.deepEqual([...memories].sort((x, y) => y - x), memories);
    await node.eval(`exit(whereis(bl_root), shutdown), ok.`);
  });

  it('ports and ETS tables, largest first', async () => {
    const ets = await session.ets(5, 'size');
    assert.equal(ets.rows[0]?.name, 'bl_pids');
    assert.ok(ets.total > 10);
    const ports = await session.ports(50);
    const ours = ports.rows.find((p) => p.name === 'tcp_inet' && p.peer !== null && p.input > 0);
    assert.ok(ours, 'our distribution socket shows with its peer address');
    assert.match(ours.local ?? '', /^\d+\.\d+\.\d+\.\d+:\d+$/);
  });

  it('process detail never reads the queue unless asked, and then only a short one', async () => {
    const pid = (await node.eval(`P = spawn(fun() -> receive stop -> ok end end), [P ! {msg, N} || N <- lists:seq(1, 20)], P.`)) as Pid;
    const text = `<0.${pid.id}.${pid.serial}>`;
    const plain = await session.processDetail(text);
    assert.equal(plain.messageQueueLen, 20);
    assert.equal(plain.messages, undefined);
    const withMessages = await session.processDetail(text, { messages: 3 });
    assert.deepEqual(withMessages.messages?.shown, ['{msg,1}', '{msg,2}', '{msg,3}']);
    const guarded = await session.processDetail(text, { messages: 3, maxQueueToRead: 10 });
    assert.deepEqual(guarded.messages?.shown, []);
    assert.match(guarded.messages?.note ?? '', /holds 20 messages/);
    await assert.rejects(session.processDetail('0.1.0'), /not a pid/);
  });
});

describe('inspection on the demo Elixir node', function () {
  this.timeout(300_000);
  let demo: TestNode;
  let session: Attachment;

  before(async () => {
    demo = await startNode({
      command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie] },
      startTimeoutMs: 240_000,
    });
    session = await attach(demo);
    // Ready when the demo application runs (it registers Demo.Supervisor).
    const deadline = Date.now() + 30_000;
    while (!((await demo.eval(`whereis('Elixir.Demo.Supervisor').`)) instanceof Pid)) {
      if (Date.now() > deadline) throw new Error('demo did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    await session?.detach();
    await demo?.stop();
  });

  it('sorting by mailbox puts the growing Demo.EventSink first', async () => {
    const deadline = Date.now() + 30_000;
    let first = '';
    while (Date.now() < deadline) {
      const page = await session.processes({ sort: 'mailbox', limit: 5, offset: 0 });
      first = page.rows[0]?.name ?? '';
      if (first === 'Elixir.Demo.EventSink' && (page.rows[0]?.messageQueueLen ?? 0) > 100) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(first, 'Elixir.Demo.EventSink');
  });

  it('sorting by reduction rate puts Demo.PricingWorker first', async () => {
    // Right after start the cache is still being filled; the steady state comes within seconds.
    const deadline = Date.now() + 20_000;
    let page = await session.processes({ sort: 'reduction-rate', limit: 3, offset: 0, windowMs: 1000 });
    while (page.rows[0]?.name !== 'Elixir.Demo.PricingWorker' && Date.now() < deadline) {
      page = await session.processes({ sort: 'reduction-rate', limit: 3, offset: 0, windowMs: 1000 });
    }
    assert.equal(page.rows[0]?.name, 'Elixir.Demo.PricingWorker');
    assert.ok((page.rows[0]?.reductionRate ?? 0) > 100_000);
  });

  it('walks the demo tree with strategies, intensities and paged dynamic children', async () => {
    const apps = await session.tree({ app: 'demo', pageSize: 50 });
    const root = apps[0]?.supervisor;
    assert.ok(root);
    assert.equal(root.name, 'Elixir.Demo.Supervisor');
    assert.equal(root.strategy, 'one_for_one');
    assert.equal(root.intensity, 10);
    assert.equal(root.period, 60);
    const sessions = find(root, (n) => n.name === 'Elixir.Demo.SessionSupervisor');
    assert.ok(sessions);
    assert.equal(sessions.childCount, 300);
    assert.equal(sessions.children.length, 50);
    assert.equal(sessions.truncated, true);
    const flaky = find(root, (n) => n.name === 'Elixir.Demo.Flaky.Supervisor');
    assert.equal(flaky?.intensity, 3);
    assert.equal(flaky?.period, 5);
    const pipeline = find(root, (n) => n.name === 'Elixir.Demo.Pipeline.Supervisor');
    assert.equal(pipeline?.strategy, 'rest_for_one');
    await assert.rejects(session.tree({ app: 'no_such_app' }), /no running application named no_such_app; running: .*demo/);
  });

  it('process detail of the sink: queue, ancestors, no messages by default', async () => {
    const pid = (await demo.eval(`whereis('Elixir.Demo.EventSink').`)) as Pid;
    const d = await session.processDetail(`<0.${pid.id}.${pid.serial}>`);
    assert.equal(d.name, 'Elixir.Demo.EventSink');
    assert.ok(d.messageQueueLen > 0);
    assert.equal(d.messages, undefined);
    assert.ok(d.ancestors.includes('Elixir.Demo.Pipeline.Supervisor'), d.ancestors.join(','));
    assert.equal(d.initialCall, 'Elixir.Demo.EventSink:init/1');
  });

  it('the large ETS table and the binary holder are visible', async () => {
    // The cache fills its table in handle_continue, after the application has started.
    await waitFor(async () => (await demo.eval(`ets:info(demo_cache, size).`)) === 200_000, 60_000, 'the demo cache to be filled', 200);
    const ets = await session.ets(3, 'memory');
    assert.equal(ets.rows[0]?.name, 'demo_cache');
    assert.equal(ets.rows[0]?.size, 200_000);
    assert.equal(ets.rows[0]?.ownerName, 'Elixir.Demo.Cache');
    const holder = (await demo.eval(`{binary, B} = erlang:process_info(whereis('Elixir.Demo.BlobCache'), binary), lists:sum([S || {_, S, _} <- B]).`)) as number;
    assert.ok(holder >= 32 * 1024 * 1024);
  });

  it('the report names every pathology of the demo', async () => {
    const { sampleNode } = await import('../../../src/core/findings/sampler');
    const { computeFindings } = await import('../../../src/core/findings/rules');
    const samples = await sampleNode(session, { durationMs: 6000 });
    const findings = computeFindings(samples);
    const ids = findings.map((f) => f.id);
    assert.ok(ids.includes('mailbox-growth:Demo.EventSink'), ids.join(', '));
    assert.ok(ids.includes('restart-storm:Demo.Flaky.Supervisor'), ids.join(', '));
    assert.ok(ids.includes('reduction-hog:Demo.PricingWorker'), ids.join(', '));
    assert.ok(ids.includes('binary-holder:Demo.BlobCache'), ids.join(', '));
    assert.ok(ids.includes('large-ets:demo_cache'), ids.join(', '));
    const sink = findings.find((f) => f.rule === 'mailbox-growth');
    assert.match(sink?.location?.file ?? '', /event_sink\.ex$/);
    const growth = Number(/grows by (\d+) messages\/s/.exec(sink?.title ?? '')?.[1]);
    // The producer is paced at 1,000/s and catches up after a stall; the sink drains at most
    // ~450/s (less on a loaded machine): a per-second figure in that range, not a per-window one.
    assert.ok(growth > 200 && growth < 2000, `growth ${growth}/s (the demo adds ~670/s)`);
  });

  it('leaves nothing behind: no hidden node, no probe', async () => {
    const other = await attach(demo);
    await other.detach();
    // Only the harness's own admin connection and this suite's session remain, once the node has
    // seen our closed connection go (it learns of it asynchronously).
    let hidden: Term[] = [];
    await waitFor(async () => (hidden = (await demo.eval(`[atom_to_list(N) || N <- nodes(hidden)].`)) as Term[]).length <= 2, 30_000, 'the detached connection to leave nodes(hidden)', 100).catch(() => {
      assert.fail(`${hidden.length} hidden nodes remain`);
    });
    assert.ok(isAtom(await demo.eval(`code:is_loaded(beam_lens_probe).`), 'false'));
  });
});
