// The probe cache's background warm-up (a table opening on a large node) is for the BEAM Lens that
// asked for it: when that one leaves — it detaches, or its connection dies — the pass stops on the
// node, keeping what it read, and the cache stays usable for another BEAM Lens sharing the probe;
// the last one out takes the cache process (and its memory) with the probe.
import { strict as assert } from 'node:assert';
import { connect } from '../../../src/erldist';
import { Attachment } from '../../../src/core/attach/attachment';
import { isAtom, type Term, type Tuple } from '../../../src/etf';
import { startNode, waitFor, type TestNode } from '../harness';

describe('the probe cache warm-up stops when the BEAM Lens that asked for it leaves', function () {
  this.timeout(240_000);
  let node: TestNode;

  before(async () => {
    node = await startNode({ args: ['+P', '600000'] });
    await node.eval(`
      register(bl_warm_holder, spawn(fun() ->
        Ps = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, 200000)],
        receive stop -> [exit(P, kill) || P <- Ps] end end)),
      ok.`);
    await waitFor(async () => ((await node.eval('erlang:system_info(process_count).')) as number) > 200_000, 120_000, '200,000 processes on the node', 500);
  });
  after(async () => node?.stop());

  async function attach(): Promise<Attachment> {
    const s = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local', grants: { allowProbe: true } });
    assert.equal((await s.loadProbe()).state, 'loaded');
    return s;
  }

  /** The cache process's reductions, or null when there is none. */
  async function cacheReductions(): Promise<number | null> {
    const t = (await node.eval(`case whereis(beam_lens_cache) of undefined -> none; P -> {reductions, R} = erlang:process_info(P, reductions), R end.`)) as Term;
    return typeof t === 'number' ? t : null;
  }

  async function dropCache(): Promise<void> {
    await node.eval(`case whereis(beam_lens_cache) of undefined -> ok; P -> exit(P, kill) end, ok.`);
    await waitFor(async () => (await cacheReductions()) === null, 10_000, 'the cache process gone');
  }

  /** Waits until the cache process's pass has ended (its reductions stop growing, back at normal priority); its reductions then. */
  async function passEnded(what: string): Promise<number> {
    let last = -1;
    await waitFor(
      async () => {
        const t = (await node.eval(`case whereis(beam_lens_cache) of undefined -> none; P -> {erlang:process_info(P, reductions), erlang:process_info(P, priority)} end.`)) as Term;
        if (isAtom(t, 'none')) throw new Error('the cache process went away');
        const [r, p] = [((t as Tuple).at(0) as Tuple).at(1) as number, ((t as Tuple).at(1) as Tuple).at(1)];
        const still = r === last && isAtom(p, 'normal');
        last = r;
        return still;
      },
      120_000,
      what,
      300,
    );
    return last;
  }

  async function underWay(): Promise<void> {
    await waitFor(async () => ((await cacheReductions()) ?? 0) > 20_000, 30_000, 'the warm-up under way', 20);
  }

  it('stops when its requester detaches or its connection dies; the other instance keeps a usable cache; the last detach removes it', async () => {
    const b = await attach();
    let a: Attachment | undefined;
    let c: Attachment | undefined;
    try {
      // What a whole warm-up costs (asked by b, which stays).
      await dropCache();
      assert.equal(await b.warmProcessCache(), 'started');
      const full = await passEnded('the whole warm-up done');
      assert.equal(await b.warmProcessCache(), 'already');

      // a asks for a warm-up, then detaches while it runs: the pass stops there.
      a = await attach();
      await dropCache();
      assert.equal(await a.warmProcessCache(), 'started');
      await underWay();
      await a.detach();
      const afterDetach = await passEnded('the warm-up stopped after the detach');
      assert.ok(afterDetach < full / 2, `the pass went on after its requester detached: ${afterDetach} of ${full} reductions`);

      // b's cache still serves (a memory page through it), and b's own warm-up reads on.
      const page = await b.processes({ sort: 'memory', limit: 5, offset: 0 });
      assert.equal(page.via, 'probe');
      assert.equal(page.rows.length, 5);

      // c asks, then its connection dies without a word (a killed editor): the pass stops too.
      c = await attach();
      await dropCache();
      assert.equal(await c.warmProcessCache(), 'started');
      await underWay();
      (c.connection as unknown as { socket: { destroy(): void } }).socket.destroy();
      const afterKill = await passEnded('the warm-up stopped after the connection died');
      assert.ok(afterKill < full / 2, `the pass went on after its requester's connection died: ${afterKill} of ${full} reductions`);
      // Still there for b, whose warm-up reads on from what was read (started: the cache is not whole).
      assert.equal(await b.warmProcessCache(), 'started');
      await passEnded('b’s warm-up done');
      assert.equal(await b.warmProcessCache(), 'already');
      process.stdout.write(`      (cache process reductions: whole warm-up ${full}, requester detached ${afterDetach}, connection died ${afterKill})\n`);

      // The last one out: the probe goes, and the cache process with it.
      assert.equal((await b.detach()).probe?.state, 'unloaded');
      assert.equal(await cacheReductions(), null);
    } finally {
      await b.detach().catch(() => undefined);
      await a?.detach().catch(() => undefined);
      await c?.detach().catch(() => undefined);
    }
  });
});
