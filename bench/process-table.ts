// The process table's queries on a node with N idle processes (default 1,000,000), as the
// extension issues them: the first page (200 rows by mailbox), each sort, a deep page, filters —
// with the probe, cold (its cache of slow items dropped before each run) and warm, side by side
// in one run, and (BENCH_ZERO=1) once without the probe. Then what an attached editor with a
// source file open costs the node: the facts feed on its own schedule (core/facts/schedule.ts),
// the node's CPU time (/proc) over a window with the feed against one without it.
import { filteredProcesses } from '../src/core/inspect/process-filter';
import { factsCollector } from '../src/core/facts/runtime-facts';
import { Attachment } from '../src/core/attach/attachment';
import { RemoteEvaluator } from '../src/core/target/remote-eval';
import { connect } from '../src/erldist';
import { startNode } from '../test/integration/harness';
import { readFileSync } from 'node:fs';
import { loadavg as osLoadavg } from 'node:os';
import { Atom } from '../src/etf';
import { startFactsLoop } from '../src/core/facts/schedule';
import { heading, median, row, timeMs } from './util';

const loadavg = (): string => osLoadavg().map((l) => l.toFixed(2)).join(' ');

const N = Number(process.env.BENCH_PROCESSES ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ZERO = process.env.BENCH_ZERO === '1';
const IDLE_WINDOW_MS = Number(process.env.BENCH_IDLE_MS ?? 60_000);

async function main(): Promise<void> {
  const node = await startNode({ args: ['+P', String(N * 2 + 100_000)], startTimeoutMs: 120_000 });
  try {
    const admin = new RemoteEvaluator(await node.admin());
    const cpu = (): number => {
      const f = readFileSync(`/proc/${node.process.pid as number}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    };
    await admin.eval(
      `register(bl_bench_holder, spawn(fun() -> Ps = [spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, Count)], receive stop -> [exit(P, kill) || P <- Ps] end end)), ok.`,
      { Count: N },
      600_000,
    );
    while (((await admin.eval(`erlang:system_info(process_count).`)) as number) < N) await new Promise((r) => setTimeout(r, 200));
    const probed = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local', grants: { allowProbe: true } });
    await probed.loadProbe();
    const plain = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local' });

    // The probe keeps memory and current_function per pid (its process beam_lens_cache) and
    // asks a process again only when its reductions or queue moved: the first memory sort or
    // filter of a session reads every process ("cold": the cache dropped before each run), the
    // later ones only the cheap items ("warm"). Both in this run, alternating.
    const dropCache = async (): Promise<void> => {
      await admin.eval(`case whereis(beam_lens_cache) of undefined -> ok; P -> exit(P, kill) end, ok.`);
      while ((await admin.eval(`whereis(beam_lens_cache).`)) instanceof Atom === false) await new Promise((r) => setTimeout(r, 20));
    };
    heading(`Process table on ${N.toLocaleString('en-US')} processes (median of ${ROUNDS}; goals: page and sorts ≤ 2 s, filter ≤ 5 s with the probe)`);
    process.stdout.write(`load average before: ${loadavg()}\n\n`);
    row(['query', 'with the probe, cold (first of a session)', 'warm (cache kept)', 'cold / warm', 'goal', 'within (warm)', ...(ZERO ? ['zero-install', 'probe speed-up (warm)'] : [])]);
    row(['---', '---', '---', '---', '---', '---', ...(ZERO ? ['---', '---'] : [])]);
    const queries: Array<[string, number, boolean, (s: Attachment) => Promise<unknown>]> = [
      ['first page (200 by mailbox)', 2000, false, (s) => s.processes({ sort: 'mailbox', offset: 0, limit: 200 })],
      ['sort by reductions', 2000, false, (s) => s.processes({ sort: 'reductions', offset: 0, limit: 200 })],
      ['sort by memory', 2000, true, (s) => s.processes({ sort: 'memory', offset: 0, limit: 200 })],
      ['page at offset 500,000 by memory', 2000, true, (s) => s.processes({ sort: 'memory', offset: 500_000, limit: 200 })],
      ['filter "code_server"', 5000, true, (s) => filteredProcesses(s, { sort: 'memory', offset: 0, limit: 200 }, 'code_server')],
      ['filter "prim_eval" (a million matches)', 5000, true, (s) => filteredProcesses(s, { sort: 'memory', offset: 0, limit: 200 }, 'prim_eval')],
    ];
    let cacheBytes = 0;
    for (const [what, goal, cached, q] of queries) {
      const cold: number[] = [];
      const warm: number[] = [];
      for (let i = 0; i < ROUNDS; i++) {
        if (cached) {
          await dropCache();
          cold.push((await timeMs(() => q(probed))).ms);
        }
        warm.push((await timeMs(() => q(probed))).ms);
      }
      if (cached) cacheBytes = Math.max(cacheBytes, Number(await admin.eval(`element(2, erlang:process_info(whereis(beam_lens_cache), memory)).`)));
      const w = median(warm);
      const c = cached ? median(cold) : w;
      const cells: string[] = [what, cached ? `${c.toFixed(0)} ms` : '(no cache used)', `${w.toFixed(0)} ms`, cached ? `${(c / w).toFixed(1)}x` : '', `${goal} ms`, w <= goal ? 'yes' : `no (${(w / goal).toFixed(1)}x)`];
      if (ZERO) {
        const z = (await timeMs(() => q(plain))).ms;
        cells.push(`${z.toFixed(0)} ms`, `${(z / w).toFixed(1)}x`);
      }
      row(cells);
    }
    process.stdout.write(`\ncache process (beam_lens_cache): ${(cacheBytes / 1024 / 1024).toFixed(1)} MiB on the node; load average after: ${loadavg()}\n`);

    // The table as the extension opens it on a large node with the probe (src/extension/table-view.ts):
    // the first page by mailbox, then the probe's background warm-up (one low-priority pass) —
    // the user's first memory sort either at once (it takes the pass over where the warm-up is)
    // or once the warm-up is done, each with the cache dropped before the table opened.
    const warmUpDone = async (): Promise<void> => {
      for (;;) {
        const st = await admin.eval(`case whereis(beam_lens_cache) of undefined -> gone; P -> case erlang:process_info(P, [priority, status, message_queue_len]) of [{_, normal}, {_, waiting}, {_, 0}] -> done; _ -> busy end end.`);
        if (st instanceof Atom && st.name !== 'busy') return;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    heading(`Opening the table on ${N.toLocaleString('en-US')} processes: the probe warms its cache in the background (median of ${ROUNDS})`);
    row(['step', 'time', 'goal', 'within']);
    row(['---', '---', '---', '---']);
    // The floor of any exact memory ranking: one process_info(P, memory) per process (a signal the
    // process must answer), in a compiled loop on the node (a module of the bench node's own).
    await admin.eval(
      `{ok, M, B} = compile:forms([{attribute, 1, module, bl_bench_floor}, {attribute, 1, export, [{loop, 1}]},
         {function, 1, loop, 1, [{clause, 1, [{nil, 1}], [], [{atom, 1, ok}]},
           {clause, 1, [{cons, 1, {var, 1, 'P'}, {var, 1, 'Ps'}}], [],
             [{call, 1, {remote, 1, {atom, 1, erlang}, {atom, 1, process_info}}, [{var, 1, 'P'}, {atom, 1, memory}]},
              {call, 1, {atom, 1, loop}, [{var, 1, 'Ps'}]}]}]}]),
       {module, M} = code:load_binary(M, "bl_bench_floor.beam", B), ok.`,
    );
    const opened: Record<string, number[]> = { first: [], atOnce: [], warmUp: [], warmCpu: [], mem: [], deep: [], filter: [], floor: [], cold: [] };
    for (let i = 0; i < ROUNDS; i++) {
      // Side by side in each round: the floor, a cold memory sort, then the table's way.
      opened.floor?.push(Number(await admin.eval(`Ps = erlang:processes(), {T, ok} = timer:tc(bl_bench_floor, loop, [Ps]), T div 1000.`)));
      await dropCache();
      opened.cold?.push((await timeMs(() => probed.processes({ sort: 'memory', offset: 0, limit: 200 }))).ms);
      await dropCache();
      opened.first?.push((await timeMs(() => probed.processes({ sort: 'mailbox', offset: 0, limit: 200 }))).ms);
      if ((await probed.warmProcessCache()) !== 'started') throw new Error('the warm-up did not start');
      opened.atOnce?.push((await timeMs(() => probed.processes({ sort: 'memory', offset: 0, limit: 200 }))).ms);
      await dropCache();
      await probed.processes({ sort: 'mailbox', offset: 0, limit: 200 });
      const c0 = cpu();
      const w0 = Date.now();
      await probed.warmProcessCache();
      await warmUpDone();
      opened.warmUp?.push(Date.now() - w0);
      opened.warmCpu?.push(cpu() - c0);
      opened.mem?.push((await timeMs(() => probed.processes({ sort: 'memory', offset: 0, limit: 200 }))).ms);
      opened.deep?.push((await timeMs(() => probed.processes({ sort: 'memory', offset: 500_000, limit: 200 }))).ms);
      opened.filter?.push((await timeMs(() => filteredProcesses(probed, { sort: 'memory', offset: 0, limit: 200 }, 'code_server'))).ms);
    }
    const m = (k: string): number => median(opened[k] ?? []);
    const within = (v: number, goal: number): string => (v <= goal ? 'yes' : `no (${(v / goal).toFixed(1)}x)`);
    row(['the floor: process_info(P, memory) for every process, compiled loop on the node', `${m('floor').toFixed(0)} ms`, '', '']);
    row(['sort by memory, cache cold (the first of a session)', `${m('cold').toFixed(0)} ms (${(m('cold') / m('floor')).toFixed(2)}x the floor)`, '2000 ms', within(m('cold'), 2000)]);
    row(['first page (200 by mailbox), cache cold', `${m('first').toFixed(0)} ms`, '2000 ms', within(m('first'), 2000)]);
    row(['sort by memory at once after opening (takes the warm-up over)', `${m('atOnce').toFixed(0)} ms`, '2000 ms', within(m('atOnce'), 2000)]);
    row(['the warm-up (wall time; node CPU)', `${m('warmUp').toFixed(0)} ms; ${m('warmCpu').toFixed(0)} ms CPU`, '', '']);
    row(['sort by memory after the warm-up', `${m('mem').toFixed(0)} ms`, '2000 ms', within(m('mem'), 2000)]);
    row(['page at offset 500,000 by memory after the warm-up', `${m('deep').toFixed(0)} ms`, '2000 ms', within(m('deep'), 2000)]);
    row(['filter "code_server" after the warm-up', `${m('filter').toFixed(0)} ms`, '5000 ms', within(m('filter'), 5000)]);
    process.stdout.write(`\nload average after: ${loadavg()}\n`);

    // Idle cost: the node's CPU over a window with and without the facts feed of one attached
    // editor, on the faces' own schedule (core/facts/schedule.ts); the first collection (every
    // process's module and memory read once) is before the window and reported apart.
    const windowCost = async (busy: boolean): Promise<{ ms: number; note: string }> => {
      if (!busy) {
        const c0 = cpu();
        await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
        return { ms: cpu() - c0, note: '' };
      }
      const collector = factsCollector(plain);
      const costs: number[] = [];
      const walls: number[] = [];
      const delays: number[] = [];
      const errors: string[] = [];
      let first = { cpu: 0, wall: 0 };
      let c0 = 0;
      let opened: () => void = () => undefined;
      const started = new Promise<void>((r) => (opened = r));
      const f0 = cpu();
      const t0 = Date.now();
      const loop = startFactsLoop(
        async (signal) => {
          const t = Date.now();
          await collector.collect(signal);
          walls.push(Date.now() - t);
          return collector.lastNodeCostMs;
        },
        {
          baseMs: 10_000,
          timeoutMs: 300_000,
          onError: (err) => {
            errors.push(err instanceof Error ? err.message : String(err));
            if (costs.length === 0) {
              c0 = cpu();
              opened();
            }
          },
          onCollected: (cost, next) => {
            if (costs.length === 0) {
              first = { cpu: cpu() - f0, wall: Date.now() - t0 };
              c0 = cpu();
              opened();
            }
            costs.push(cost);
            delays.push(next);
          },
        },
      );
      await started;
      await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
      const ms = cpu() - c0;
      loop.stop();
      return {
        ms,
        note: `${errors.length > 0 ? `${errors.length} failed collections (${errors[0] ?? ''}); ` : ''}first collection ${Math.round(first.cpu)} ms node CPU in ${Math.round(first.wall / 1000)} s (before the window); then ${costs.length - 1} in the window: reported node cost ${costs.slice(1).map((c) => Math.round(c)).join('/')} ms, our wall ${walls.slice(1).map((c) => Math.round(c)).join('/')} ms, waits ${delays.map((d) => Math.round(d / 1000)).join('/')} s`,
      };
    };
    const quiet = await windowCost(false);
    const fed = await windowCost(true);
    heading(`Attached on ${N.toLocaleString('en-US')} processes, a source file open (facts feed), ${IDLE_WINDOW_MS / 1000} s windows; load average ${loadavg()}`);
    row(['window', 'node CPU time', 'share of one scheduler', 'detail']);
    row(['---', '---', '---', '---']);
    row(['not attached (baseline)', `${quiet.ms} ms`, `${((quiet.ms / IDLE_WINDOW_MS) * 100).toFixed(2)}%`, '']);
    row(['facts feed on its schedule', `${fed.ms} ms`, `${((fed.ms / IDLE_WINDOW_MS) * 100).toFixed(2)}%`, fed.note]);
    row(['difference (our cost)', `${fed.ms - quiet.ms} ms`, `${(((fed.ms - quiet.ms) / IDLE_WINDOW_MS) * 100).toFixed(2)}%`, '']);
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
