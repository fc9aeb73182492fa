// The process table's queries on a node with N idle processes (default 1,000,000), as the
// extension issues them: the first page (200 rows by mailbox), each sort, a filter — with the
// probe, and (BENCH_ZERO=1) the same without it, side by side in one run. Also what an attached
// editor costs the node while nothing is open: the facts feed's passes, measured as the node's
// runtime over a window with the feed running against the same window without it. (With no
// Elixir/Erlang source on screen the extension pauses the feed: attached and idle costs nothing.)
import { filteredProcesses } from '../src/core/inspect/process-filter';
import type { ProcessSort } from '../src/core/inspect/processes';
import { factsCollector } from '../src/core/facts/runtime-facts';
import { Attachment } from '../src/core/attach/attachment';
import { RemoteEvaluator } from '../src/core/target/remote-eval';
import { connect } from '../src/erldist';
import { startNode } from '../test/integration/harness';
import { heading, median, row, timeMs } from './util';

const N = Number(process.env.BENCH_PROCESSES ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ZERO = process.env.BENCH_ZERO === '1';
const IDLE_WINDOW_MS = Number(process.env.BENCH_IDLE_MS ?? 30_000);

async function main(): Promise<void> {
  const node = await startNode({ args: ['+P', String(N * 2 + 100_000)], startTimeoutMs: 120_000 });
  try {
    const admin = new RemoteEvaluator(await node.admin());
    await admin.eval(
      `register(bl_bench_holder, spawn(fun() -> Ps = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, Count)], receive stop -> [exit(P, kill) || P <- Ps] end end)), ok.`,
      { Count: N },
      600_000,
    );
    while (((await admin.eval(`erlang:system_info(process_count).`)) as number) < N) await new Promise((r) => setTimeout(r, 200));
    const probed = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local', grants: { allowProbe: true } });
    await probed.loadProbe();
    const plain = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local' });

    heading(`Process table on ${N.toLocaleString('en-US')} processes (median of ${ROUNDS}; goals: page and sorts ≤ 2 s, filter ≤ 5 s with the probe)`);
    row(['query', 'with the probe', 'goal', 'within', ...(ZERO ? ['zero-install', 'probe speed-up'] : [])]);
    row(['---', '---', '---', '---', ...(ZERO ? ['---', '---'] : [])]);
    const queries: Array<[string, number, (s: Attachment) => Promise<unknown>]> = [
      ['first page (200 by mailbox)', 2000, (s) => s.processes({ sort: 'mailbox', offset: 0, limit: 200 })],
      ...(['memory', 'reductions'] as ProcessSort[]).map((sort): [string, number, (s: Attachment) => Promise<unknown>] => [`sort by ${sort}`, 2000, (s) => s.processes({ sort, offset: 0, limit: 200 })]),
      ['page at offset 500,000 by memory', 2000, (s) => s.processes({ sort: 'memory', offset: 500_000, limit: 200 })],
      ['filter "code_server"', 5000, (s) => filteredProcesses(s, { sort: 'memory', offset: 0, limit: 200 }, 'code_server')],
      ['filter "prim_eval" (a million matches)', 5000, (s) => filteredProcesses(s, { sort: 'memory', offset: 0, limit: 200 }, 'prim_eval')],
    ];
    for (const [what, goal, q] of queries) {
      const times: number[] = [];
      for (let i = 0; i < ROUNDS; i++) times.push((await timeMs(() => q(probed))).ms);
      const p = median(times);
      const cells: string[] = [what, `${p.toFixed(0)} ms`, `${goal} ms`, p <= goal ? 'yes' : `no (${(p / goal).toFixed(1)}x)`];
      if (ZERO) {
        const z = (await timeMs(() => q(plain))).ms;
        cells.push(`${z.toFixed(0)} ms`, `${(z / p).toFixed(1)}x`);
      }
      row(cells);
    }

    // Idle cost: the node's runtime over a window with and without the facts feed of one attached editor.
    const runtime = async (): Promise<number> => (((await admin.eval('element(1, erlang:statistics(runtime)).')) as number) ?? 0);
    const window = async (busy: boolean): Promise<number> => {
      const collector = factsCollector(plain);
      let stop = false;
      const loop = (async () => {
        while (busy && !stop) {
          const t0 = Date.now();
          await collector.collect().catch(() => undefined);
          // The extension's pacing: at most every max(10 s, 5x the pass's cost).
          const wait = Math.max(10_000, 5 * (Date.now() - t0));
          const until = Date.now() + wait;
          while (!stop && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
        }
      })();
      const r0 = await runtime();
      await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
      const r1 = await runtime();
      stop = true;
      await loop;
      return r1 - r0;
    };
    const quiet = await window(false);
    const fed = await window(true);
    heading(`Attached and idle (no view open) on ${N.toLocaleString('en-US')} processes, ${IDLE_WINDOW_MS / 1000} s windows`);
    row(['window', 'node CPU time', 'share of one scheduler']);
    row(['---', '---', '---']);
    row(['not attached (baseline)', `${quiet} ms`, `${((quiet / IDLE_WINDOW_MS) * 100).toFixed(2)}%`]);
    row(['attached, a source file open (facts feed running)', `${fed} ms`, `${((fed / IDLE_WINDOW_MS) * 100).toFixed(2)}%`]);
    row(['difference (our cost)', `${fed - quiet} ms`, `${(((fed - quiet) / IDLE_WINDOW_MS) * 100).toFixed(2)}%`]);
    await probed.detach();
    await plain.detach();
    await admin.eval(`bl_bench_holder ! stop, ok.`);
  } finally {
    await node.stop();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
