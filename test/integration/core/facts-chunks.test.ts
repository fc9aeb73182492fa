// The facts' chunked pass against a real node (small chunks, so a node of a few thousand
// processes needs several replies): every process counted once, memory matching the node's own
// sum, an idle pass that ships no pid chunk, and a process that grows seen in the next pass.
import { strict as assert } from 'node:assert';
import { connect } from '../../../src/erldist';
import { Pid } from '../../../src/etf';
import { ModuleSummarizer } from '../../../src/core/facts/module-summary';
import { RemoteEvaluator } from '../../../src/core/target/remote-eval';
import { startNode, type TestNode } from '../harness';

describe('facts pass in chunks (real node)', function () {
  this.timeout(120_000);
  let node: TestNode;

  before(async () => {
    node = await startNode();
    await node.eval(`register(bl_chunk_holder, spawn(fun() -> Ps = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, 3000)], receive stop -> [exit(P, kill) || P <- Ps] end end)), ok.`);
  });

  after(async () => {
    await node?.stop();
  });

  it('counts every process once over several replies, ships no pid chunk when idle, and sees growth', async () => {
    const conn = await connect({ node: node.node, cookie: node.cookie });
    try {
      const ev = new RemoteEvaluator(conn);
      // Chunks of 50 processes, at most 10 a reply: ~3,060 processes take 7 replies.
      const s = new ModuleSummarizer(ev, node.node, { chunk: 50, maxChunks: 10, read: 400 });
      const first = await s.summarize();
      const total = first.reduce((n, r) => n + r.processes, 0);
      const count = (await node.eval(`erlang:system_info(process_count).`)) as number;
      // All but our own evaluation worker (and perhaps a transient rpc helper).
      assert.ok(Math.abs(count - 1 - total) <= 3, `${total} counted, ${count} on the node`);
      assert.equal(new Set(first.map((r) => r.module)).size, first.length);
      const idle = first.find((r) => r.processes >= 3000);
      assert.ok(idle, JSON.stringify(first.slice(0, 3)));

      await s.summarize(); // our first reads moved every process's reductions by one
      await s.summarize();
      assert.equal(s.lastPass.pidsShipped || s.lastPass.memoryReads > 50, false, JSON.stringify(s.lastPass));

      // A message waits in one idle process's queue: the next pass reads its memory again and
      // the module's memory grows by it.
      const victim = (await node.eval(`lists:nth(1500, erlang:processes()).`)) as Pid;
      const before = (await s.summarize()).find((r) => r.module === idle.module)?.memory ?? 0;
      await node.eval(`P ! {grow, lists:seq(1, 1000)}, ok.`, { P: victim });
      const after = (await s.summarize()).find((r) => r.module === idle.module)?.memory ?? 0;
      assert.ok(s.lastPass.memoryReads >= 1, JSON.stringify(s.lastPass));
      assert.ok(after > before, `memory ${before} -> ${after}`);
    } finally {
      await conn.close();
    }
  });
});
