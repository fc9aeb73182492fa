// Top-50 processes by memory, reductions and queue length on a node with N idle processes
// (default 100,000; BENCH_PROCESSES=1000000 for the million), side by side in one run:
//   - BEAM Lens with the probe (end to end: rpc, ranking on the target, rows for the page, decode)
//   - the same one-pass top-50 compiled and run directly on the target (timer:tc there)
//   - BEAM Lens without the probe (zero-install: chunked rpc)
//   - observer_backend:etop_collect/1, the full collection observer/etop use
// and the bytes each BEAM Lens variant moved over the wire.
import { Atom, type Term, Tuple } from '../src/etf';
import { connect } from '../src/erldist';
import { RemoteEvaluator } from '../src/core/target/remote-eval';
import { Attachment } from '../src/core/attach/attachment';
import type { ProcessSort } from '../src/core/inspect/processes';
import { startNode } from '../test/integration/harness';
import { DIRECT, ITEMS } from './on-target-top';
import { heading, kib, median, row, timeMs } from './util';

const N = Number(process.env.BENCH_PROCESSES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (N >= 1_000_000 ? 3 : 5));

async function main(): Promise<void> {
  const node = await startNode({ args: ['+P', String(N * 2 + 100_000)], startTimeoutMs: 120_000 });
  try {
    const admin = new RemoteEvaluator(await node.admin());
    await node.loadModule(DIRECT);
    await admin.eval(
      `register(bl_bench_holder, spawn(fun() -> Ps = [spawn(fun() -> L = lists:seq(1, I rem 500), receive stop -> length(L) end end) || I <- lists:seq(1, Count)], receive stop -> [exit(P, kill) || P <- Ps] end end)),
       ok.`,
      { Count: N },
      600_000,
    );
    while (((await admin.eval(`erlang:system_info(process_count).`)) as number) < N) await new Promise((r) => setTimeout(r, 200));

    const probeConn = await connect({ node: node.node, cookie: node.cookie });
    const probed = new Attachment(probeConn, { env: 'local', grants: { allowProbe: true } });
    await probed.loadProbe();
    const plainConn = await connect({ node: node.node, cookie: node.cookie });
    const plain = new Attachment(plainConn, { env: 'local' });

    heading(`Top-50 of ${N.toLocaleString('en-US')} processes (median of ${ROUNDS}; probe and direct alternate)`);
    row(['sort key', 'BEAM Lens + probe', 'direct on target', 'ratio', 'wire (probe)', 'zero-install', 'ratio', 'wire (zero-install)']);
    row(['---', '---', '---', '---', '---', '---', '---', '---']);
    const keys: Array<[ProcessSort, string]> = [['memory', 'memory'], ['reductions', 'reductions'], ['mailbox', 'message_queue_len']];
    for (const [sort, key] of keys) {
      const probeTimes: number[] = [];
      const directTimes: number[] = [];
      let wire = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const runProbe = async (): Promise<void> => {
          const before = probeConn.traffic.bytesIn + probeConn.traffic.bytesOut;
          const { ms } = await timeMs(() => probed.processes({ sort, limit: 50, offset: 0 }));
          probeTimes.push(ms);
          wire = probeConn.traffic.bytesIn + probeConn.traffic.bytesOut - before;
        };
        const runDirect = async (): Promise<void> => {
          const t = (await admin.eval(`element(1, timer:tc(bl_bench_direct, top, [Key, 50, Items])).`, { Key: Atom.of(key), Items: ITEMS.map((x) => Atom.of(x)) }, 600_000)) as number;
          directTimes.push(t / 1000);
        };
        if (i % 2 === 0) {
          await runProbe();
          await runDirect();
        } else {
          await runDirect();
          await runProbe();
        }
      }
      const zeroRounds = N >= 1_000_000 ? 1 : 2;
      const zeroTimes: number[] = [];
      let zeroWire = 0;
      for (let i = 0; i < zeroRounds; i++) {
        const before = plainConn.traffic.bytesIn + plainConn.traffic.bytesOut;
        const { ms } = await timeMs(() => plain.processes({ sort, limit: 50, offset: 0 }));
        zeroTimes.push(ms);
        zeroWire = plainConn.traffic.bytesIn + plainConn.traffic.bytesOut - before;
      }
      const p = median(probeTimes);
      const d = median(directTimes);
      const z = median(zeroTimes);
      row([sort, `${p.toFixed(0)} ms`, `${d.toFixed(0)} ms`, `${(p / d).toFixed(2)}x`, kib(wire), `${z.toFixed(0)} ms`, `${(z / d).toFixed(1)}x`, kib(zeroWire)]);
    }
    const etop = (await admin.eval(
      `{T, Size} = timer:tc(fun() -> observer_backend:etop_collect(self()), receive {_, Info} -> byte_size(term_to_binary(Info)) after 600000 -> 0 end end), {T, Size}.`,
      {},
      600_000,
    )) as Tuple;
    const [etopUs, etopBytes] = etop.elements as [number, number];
    process.stdout.write(
      `\nobserver_backend:etop_collect/1 (every process's row, on the target): ${(etopUs / 1000).toFixed(0)} ms, ${kib(etopBytes)} if shipped\n`,
    );
    await probed.detach();
    await plain.detach();
    await admin.eval(`bl_bench_holder ! stop, ok.`);
  } finally {
    await node.stop();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
