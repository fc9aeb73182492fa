// The process table's filter with the probe (compiled pass, one match per distinct name/MFA)
// agrees with the interpreted pass without it: same matches, same order, pid text, names,
// proc_lib initial calls and current functions, case-insensitive.
import { strict as assert } from 'node:assert';
import { filteredProcesses } from '../../../../src/core/inspect/process-filter';
import { Attachment } from '../../../../src/core/attach/attachment';
import { connect } from '../../../../src/erldist';
import { isAtom } from '../../../../src/etf';
import { startNode, waitFor, type TestNode } from '../../harness';

describe('process table filter: probe and zero-install agree', function () {
  this.timeout(120_000);
  let node: TestNode;
  let probed: Attachment;
  let plain: Attachment;
  let codeServer = '';

  before(async () => {
    node = await startNode({});
    await node.eval(`
      register(bl_filter_holder, spawn(fun() ->
        Ps = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, 3000)],
        {ok, G} = gen_event:start(),
        receive stop -> [exit(P, kill) || P <- [G | Ps]] end end)),
      ok.`);
    // The holder spawns its 3,000 processes after eval returns: both passes must see all of them.
    const waiting = "element(2, erlang:process_info(whereis(bl_filter_holder), current_function)) =:= {prim_eval, 'receive', 2}.";
    await waitFor(async () => isAtom(await node.eval(waiting), 'true'), 60_000, 'the holder waiting with its 3,000 processes and gen_event spawned', 100);
    codeServer = String(await node.eval('pid_to_list(whereis(code_server)).').then((t) => (Array.isArray(t) ? String.fromCharCode(...(t as number[])) : '')));
    probed = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local', grants: { allowProbe: true } });
    assert.equal((await probed.loadProbe()).state, 'loaded');
    plain = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local' });
  });

  after(async () => {
    await probed?.detach();
    await plain?.detach();
    await node?.stop();
  });

  const cases: Array<[string, () => string]> = [
    ['current function (a fun in a receive)', () => 'prim_eval'],
    ['registered name, any case', () => 'CODE_SERVER'],
    ['initial call through proc_lib', () => 'gen_event:init_it'],
    ['initial call m:f/a', () => 'erlang:apply/2'],
    ['registered name part', () => 'bl_filter'],
    ['pid text', () => codeServer],
  ];
  for (const [what, needle] of cases) {
    it(`${what}: same matches both ways`, async () => {
      const q = { sort: 'memory' as const, offset: 0, limit: 5000 };
      const a = await filteredProcesses(probed, q, needle());
      const b = await filteredProcesses(plain, q, needle());
      assert.equal(a.via, 'probe');
      assert.equal(b.via, 'rpc');
      assert.ok(a.matched > 0, `${needle()} matches something`);
      // The two sessions' own rpc workers may differ by a process or two: compare the stable ones.
      const pids = (p: typeof a) => new Set(p.rows.filter((r) => r.currentFunction !== 'erl_eval:do_apply/7' && !/^rpc|erpc|erl_eval/.test(r.initialCall ?? '')).map((r) => r.pid));
      const [pa, pb] = [pids(a), pids(b)];
      const onlyA = [...pa].filter((p) => !pb.has(p));
      const onlyB = [...pb].filter((p) => !pa.has(p));
      assert.ok(onlyA.length <= 2 && onlyB.length <= 2, `probe only: ${onlyA.slice(0, 5).join(' ')}; rpc only: ${onlyB.slice(0, 5).join(' ')}`);
      assert.ok(Math.abs(a.matched - b.matched) <= 2, `${a.matched} vs ${b.matched}`);
      assert.ok(a.total >= a.matched);
    });
  }
});

describe('probe ranking of 220,000 processes, deep pages (one sort of every value) included, equals one direct sort', function () {
  this.timeout(180_000);
  let node: TestNode;
  let probed: Attachment;

  before(async () => {
    node = await startNode({ args: ['+P', '600000'] });
    // 220,000 idle processes whose heaps differ (process i holds i rem 300 list cells), so memory ranks them.
    await node.eval(`
      register(bl_rank_holder, spawn(fun() ->
        Ps = [spawn(fun() -> L = lists:seq(1, I rem 300), receive stop -> length(L) end end) || I <- lists:seq(1, 220000)],
        receive stop -> [exit(P, kill) || P <- Ps] end end)),
      ok.`);
    await waitFor(async () => ((await node.eval('erlang:system_info(process_count).')) as number) > 220_000, 120_000, '220,000 processes on the node', 500);
    probed = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local', grants: { allowProbe: true } });
    assert.equal((await probed.loadProbe()).state, 'loaded');
  });

  after(async () => {
    await probed?.detach();
    await node?.stop();
  });

  it('the same rows, in the same order, as lists:sort on the target, deep in the ranking', async () => {
    // At the top our own rpc workers (and the one that sorts) come and go; 100,000 down only the idle processes rank.
    for (const offset of [100_000, 200_000]) {
      const page = await probed.processes({ sort: 'memory', offset, limit: 50 });
      assert.equal(page.via, 'probe');
      assert.ok(page.total > 220_000);
      // The idle processes do not change, so one direct sort on the target gives the same ranking.
      const direct = (await node.eval(
        `Ps = [{M, P} || P <- erlang:processes(), {memory, M} <- [erlang:process_info(P, memory)]],
         Sorted = lists:sort(fun({A, _}, {B, _}) -> A >= B end, Ps),
         [M || {M, _} <- lists:sublist(Sorted, Offset + 1, 50)].`,
        { Offset: offset },
      )) as number[];
      assert.deepEqual(page.rows.map((r) => r.memory), direct, `memory values at offset ${offset}`);
    }
  });

  it('warms the probe\'s cache in the background for a table about to open (once), and without the probe says so', async () => {
    await node.eval(`case whereis(beam_lens_cache) of undefined -> ok; P -> exit(P, kill) end, ok.`);
    await waitFor(async () => isAtom(await node.eval('whereis(beam_lens_cache).'), 'undefined'), 10_000, 'the cache process gone');
    assert.equal(await probed.warmProcessCache(), 'started');
    assert.equal(await probed.warmProcessCache(), 'already');
    const plain = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local' });
    assert.equal(await plain.warmProcessCache(), 'no-probe');
    await plain.detach();
    // The pass runs at low priority and ends back at normal, waiting, holding every process.
    const idle = `case erlang:process_info(whereis(beam_lens_cache), [priority, status]) of [{_, normal}, {_, waiting}] -> true; _ -> false end.`;
    await waitFor(async () => isAtom(await node.eval(idle), 'true'), 60_000, 'the warm-up done');
    assert.equal(await probed.warmProcessCache(), 'already');
    const page = await probed.processes({ sort: 'memory', offset: 0, limit: 20 });
    assert.equal(page.via, 'probe');
    assert.equal(page.rows.length, 20);
  });
});
