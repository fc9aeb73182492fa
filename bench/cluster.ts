// Cluster overview of N local nodes (default 10) against the slowest single node's own overview,
// side by side in one run: each round asks every node alone (its overview + cluster facts over its
// own direct connection, one after the other), then the whole cluster at once through the entry
// node and directly. Goal: the cluster overview within 1.5x the slowest single node's.
// Also the bytes each way moved over our connection(s). Then the cluster-wide top-50 by memory over
// 4 nodes x 50,000 processes with the probe on each member (direct), against the slowest member's
// on-target one-pass top-50 (compiled on the node, timed there). Goal: within 1.5x.
import { randomBytes } from 'node:crypto';
import { Atom } from '../src/etf';
import { connect, type NodeConnection } from '../src/erldist';
import { ClusterView, clusterOverview, clusterTopProcesses } from '../src/core/cluster/cluster';
import { memberFacts } from '../src/core/cluster/facts';
import { getOverview } from '../src/core/inspect/overview';
import { RemoteEvaluator } from '../src/core/target/remote-eval';
import { Attachment } from '../src/core/attach/attachment';
import { shortHost, startNode, type TestNode } from '../test/integration/harness';
import { DIRECT, ITEMS } from './on-target-top';
import { heading, kib, median, row, timeMs } from './util';

const N = Number(process.env.BENCH_CLUSTER_NODES ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

async function main(): Promise<void> {
  const cookieText = randomBytes(16).toString('hex');
  const nodes: TestNode[] = await Promise.all(Array.from({ length: N }, () => startNode({ cookieText })));
  const conns: NodeConnection[] = [];
  try {
    const [entryNode, ...rest] = nodes as [TestNode, ...TestNode[]];
    for (const n of rest) await entryNode.eval(`true = net_kernel:connect_node('${n.node}').`);
    for (const n of nodes) conns.push(await connect({ node: n.node, cookie: n.cookie, host: shortHost(), timeoutMs: 5000 }));
    const entry = conns[0] as NodeConnection;
    const evaluators = conns.map((c) => new RemoteEvaluator(c));
    const single = async (i: number): Promise<void> => {
      const ev = evaluators[i] as RemoteEvaluator;
      await Promise.all([getOverview(ev, { utilizationWindowMs: 500 }), memberFacts(ev, 5000)]);
    };
    const direct = async (node: string) => new Attachment(await connect({ node, cookie: entryNode.cookie, host: shortHost(), timeoutMs: 5000 }), { env: 'local' });
    const entrySession = new Attachment(entry, { env: 'local' });
    // Warm up (parse caches on every path).
    for (let i = 0; i < N; i++) await single(i);
    const viewEntry = await ClusterView.open(entrySession, { via: 'entry' });
    await clusterOverview(viewEntry);
    const slowest: number[] = [];
    const viaEntry: number[] = [];
    const viaDirect: number[] = [];
    let bytesEntry = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const each: number[] = [];
      for (let i = 0; i < N; i++) each.push((await timeMs(() => single(i))).ms);
      slowest.push(Math.max(...each));
      const before = entry.traffic.bytesIn + entry.traffic.bytesOut;
      const e = await timeMs(() => clusterOverview(viewEntry));
      if (e.value.nodes.filter((n) => n.status === 'ok').length !== N) throw new Error(`only ${e.value.nodes.filter((n) => n.status === 'ok').length} of ${N} answered`);
      viaEntry.push(e.ms);
      bytesEntry = entry.traffic.bytesIn + entry.traffic.bytesOut - before;
      // Direct: opening the connections is part of what a one-shot `cluster --via direct` pays.
      const d = await timeMs(async () => {
        const v = await ClusterView.open(entrySession, { via: 'direct', connectDirect: direct });
        try {
          return await clusterOverview(v);
        } finally {
          await v.close();
        }
      });
      viaDirect.push(d.ms);
    }
    heading(`cluster overview of ${N} local nodes, ${ROUNDS} rounds (median)`);
    row(['measure', 'time', 'ratio to the slowest single node']);
    row(['---', '---', '---']);
    const base = median(slowest);
    row(['slowest single node (its own overview + facts, direct connection)', `${base.toFixed(0)} ms`, '1.00x']);
    row([`cluster through the entry node (${kib(bytesEntry)} on our one connection)`, `${median(viaEntry).toFixed(0)} ms`, `${(median(viaEntry) / base).toFixed(2)}x`]);
    row([`cluster direct (${N - 1} connections opened and closed)`, `${median(viaDirect).toFixed(0)} ms`, `${(median(viaDirect) / base).toFixed(2)}x`]);
    process.stdout.write(`\ncluster overview through the entry: ${(median(viaEntry) / base).toFixed(2)}x the slowest single node (goal <= 1.5x)\n`);
    await viewEntry.close();
  } finally {
    await Promise.all(conns.map((c) => c.close()));
    await Promise.all(nodes.map((n) => n.stop()));
  }
}


async function topAcrossMembers(): Promise<void> {
  const members = Number(process.env.BENCH_CLUSTER_MEMBERS ?? 4);
  const perNode = Number(process.env.BENCH_PROCESSES ?? 50_000);
  const cookieText = randomBytes(16).toString('hex');
  const nodes = await Promise.all(Array.from({ length: members }, () => startNode({ cookieText, args: ['+P', String(perNode * 2 + 100_000)], startTimeoutMs: 120_000 })));
  try {
    const [entryNode, ...rest] = nodes as [TestNode, ...TestNode[]];
    for (const n of rest) await entryNode.eval(`true = net_kernel:connect_node('${n.node}').`);
    for (const n of nodes) {
      await n.loadModule(DIRECT);
      await n.eval(
        `register(bl_bench_holder, spawn(fun() -> Ps = [spawn(fun() -> L = lists:seq(1, I rem 500), receive stop -> length(L) end end) || I <- lists:seq(1, Count)], receive stop -> [exit(P, kill) || P <- Ps] end end)), ok.`,
        { Count: perNode },
      );
    }
    for (const n of nodes) while (((await n.eval('erlang:system_info(process_count).')) as number) < perNode) await new Promise((r) => setTimeout(r, 200));
    const entry = new Attachment(await connect({ node: entryNode.node, cookie: entryNode.cookie, host: shortHost(), timeoutMs: 5000 }), { env: 'local', grants: { allowProbe: true } });
    const conns: NodeConnection[] = [entry.connection as NodeConnection];
    const view = await ClusterView.open(entry, {
      via: 'direct',
      timeoutMs: 60_000,
      connectDirect: async (node) => {
        const c = await connect({ node, cookie: entryNode.cookie, host: shortHost(), timeoutMs: 5000 });
        conns.push(c);
        return new Attachment(c, { env: 'local' });
      },
    });
    const loaded = await view.loadProbes();
    if (loaded.some((a) => a.value?.state !== 'loaded')) throw new Error(`probe not loaded everywhere: ${JSON.stringify(loaded)}`);
    const clusterTimes: number[] = [];
    const floors: number[] = [];
    let wire = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const each = await Promise.all(
        nodes.map(async (n) => ((await n.eval(`element(1, timer:tc(bl_bench_direct, top, [memory, 50, Items])).`, { Items: ITEMS.map((x) => Atom.of(x)) })) as number) / 1000),
      );
      floors.push(Math.max(...each));
      const before = conns.reduce((a, c) => a + c.traffic.bytesIn + c.traffic.bytesOut, 0);
      const t = await timeMs(() => clusterTopProcesses(view, 'memory', 50));
      if (t.value.rows.length !== 50) throw new Error('short page');
      clusterTimes.push(t.ms);
      wire = conns.reduce((a, c) => a + c.traffic.bytesIn + c.traffic.bytesOut, 0) - before;
    }
    heading(`cluster top-50 by memory over ${members} nodes x ${perNode.toLocaleString('en-US')} processes, probe on each member (median of ${ROUNDS})`);
    row(['measure', 'time', 'ratio']);
    row(['---', '---', '---']);
    const floor = median(floors);
    row(['slowest member, one-pass top-50 on the target (the floor)', `${floor.toFixed(0)} ms`, '1.00x']);
    row([`BEAM Lens cluster top-50 (${kib(wire)} over our ${conns.length} connections)`, `${median(clusterTimes).toFixed(0)} ms`, `${(median(clusterTimes) / floor).toFixed(2)}x`]);
    process.stdout.write(`\ncluster top-50: ${(median(clusterTimes) / floor).toFixed(2)}x the slowest member's on-target floor (goal <= 1.5x)\n`);
    await view.close();
    await entry.detach();
    for (const n of nodes) await n.eval('bl_bench_holder ! stop, ok.');
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

void main()
  .then(topAcrossMembers)
  .catch((err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  });
