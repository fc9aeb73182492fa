// What BEAM Lens costs the node, measured side by side in one run (issue 15):
//   load   probe load / unload at ~100 and 1,000,000 processes, and how long code_server is held
//          (a process on the node times code:is_loaded/1 in a loop meanwhile), against the old
//          code:soft_purge/1 through code_server;
//   oneshot the whole `beam-lens processes --sort memory --limit 50` command (process start to
//          exit) at 200,000 and 1,000,000 processes against the on-target one-pass top-50 floor
//          (the probe's compiled top_processes/4 timed with timer:tc on the node), with and
//          without --allow-probe, and what the probe path would cost for one query;
//   idle   the node's own CPU time (utime+stime of its OS process) over a window with nothing
//          attached, then with each face's collection running on its own interval: the language
//          server (`beam-lens lsp --stdio --node`, a real process), the facts loop with the probe,
//          the extension's sidebar refresh and its dashboard (their core calls, on their
//          intervals: driving VS Code itself is not done here).
// BENCH_PART=load,oneshot,idle (default all); BENCH_IDLE_S=60; BENCH_ONESHOT=200000,1000000.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from '../src/erldist';
import { Atom, Tuple, type Term } from '../src/etf';
import { budgetDelay, startFactsLoop } from '../src/core/facts/schedule';
import { loadProbe } from '../src/core/probe/loader';
import { processRows } from '../src/core/inspect/processes';
import { RemoteEvaluator } from '../src/core/target/remote-eval';
import { factsCollector } from '../src/core/facts/runtime-facts';
import { Attachment } from '../src/core/attach/attachment';
import { startNode, type TestNode } from '../test/integration/harness';
import { LspTestClient } from '../test/integration/lsp-client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { heading, median, row } from './util';

const root = path.join(__dirname, '..');
const parts = (process.env.BENCH_PART ?? 'load,oneshot,idle').split(',');
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
const FACES = (process.env.BENCH_IDLE_FACES ?? 'baseline,lsp,facts,sidebar,dashboard,mcp').split(',');
const ONESHOT = (process.env.BENCH_ONESHOT ?? '200000,1000000').split(',').map(Number);
const fmt = (ms: number): string => (ms >= 100 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`);

function fixtureDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bl-idle-'));
  execFileSync('erlc', ['-o', dir, path.join(__dirname, 'fixtures/bl_idle.erl')]);
  copyFileSync(path.join(__dirname, 'fixtures/bl_idle.app'), path.join(dir, 'bl_idle.app'));
  return dir;
}

async function idleNode(dir: string, processes: number, kind: 'sessions' | 'plain'): Promise<TestNode> {
  const node = await startNode({ args: ['+P', String(processes * 2 + 100_000), '-pa', dir, '-eval', 'application:ensure_all_started(bl_idle)'], startTimeoutMs: 120_000 });
  const admin = await node.admin();
  await waitRpc(admin, 'bl_idle_sup');
  // In chunks, so no single rpc takes minutes.
  const chunk = kind === 'sessions' ? 20_000 : 200_000;
  for (let done = 0; done < processes; done += chunk) {
    const n = Math.min(chunk, processes - done);
    if (kind === 'sessions') await admin.rpc('bl_idle', 'add', [n], { timeoutMs: 600_000 });
    else await admin.rpc('erlang', 'apply', [Atom.of('bl_idle'), Atom.of('plain_spawn'), [n]], { timeoutMs: 600_000 }).then(() => admin.rpc('erlang', 'unregister', [Atom.of('bl_idle_holder')]));
  }
  return node;
}

async function waitRpc(conn: Awaited<ReturnType<typeof connect>>, name: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await conn.rpc('erlang', 'whereis', [Atom.of(name)])) instanceof Atom === false) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not start`);
}

/** utime + stime of the node's OS process, in ms (from /proc; the demo/erl process is the VM). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // CLK_TCK is 100 on Linux
}

// ---- load / unload ---------------------------------------------------------------------------

const WATCH_CODE_SERVER = `
register(bl_cs_watch, spawn(fun() ->
  Loop = fun L(Max) ->
    {Us, _} = timer:tc(code, is_loaded, [lists]),
    M = max(Us, Max),
    receive {get, From} -> From ! {bl_cs_max, M} after 1 -> L(M) end
  end,
  Loop(0)
end)), ok.`;

async function codeServerMax(node: TestNode): Promise<number> {
  const r = await node.eval(`bl_cs_watch ! {get, self()}, receive {bl_cs_max, M} -> M end.`);
  return (r as number) / 1000;
}

async function loadUnload(node: TestNode, label: string): Promise<void> {
  const loads: number[] = [];
  const unloads: number[] = [];
  const blocked: number[] = [];
  for (let i = 0; i < 3; i++) {
    const conn = await connect({ node: node.node, cookie: node.cookie });
    const ev = new RemoteEvaluator(conn);
    const t0 = performance.now();
    const { status, handle } = await loadProbe(conn, ev);
    loads.push(performance.now() - t0);
    if (status.state !== 'loaded' || handle === null) throw new Error(`probe did not load: ${JSON.stringify(status)}`);
    await node.eval(WATCH_CODE_SERVER);
    unloads.push((await handle.unload()).unloadMs);
    blocked.push(await codeServerMax(node));
    await conn.close();
  }
  // The old way, for comparison: code:delete + code:soft_purge, both through code_server.
  const conn = await connect({ node: node.node, cookie: node.cookie });
  const bin = readFileSync(path.join(root, 'dist/probe/beam_lens_probe.beam'));
  await conn.rpc('code', 'load_binary', [Atom.of('beam_lens_probe'), [...'beam_lens_probe.beam'].map((c) => c.charCodeAt(0)), bin]);
  await node.eval(WATCH_CODE_SERVER);
  const t0 = performance.now();
  await conn.rpc('code', 'delete', [Atom.of('beam_lens_probe')]);
  await conn.rpc('code', 'soft_purge', [Atom.of('beam_lens_probe')], { timeoutMs: 120_000 });
  const oldMs = performance.now() - t0;
  const oldBlocked = await codeServerMax(node);
  await conn.close();
  row([label, fmt(median(loads)), fmt(median(unloads)), fmt(Math.max(...blocked)), fmt(oldMs), fmt(oldBlocked)]);
}

// ---- one-shot CLI ------------------------------------------------------------------------------

function runCli(args: string[]): Promise<{ ms: number; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(root, 'bin/beam-lens'), ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ ms: performance.now() - t0, stderr, code }));
  });
}

async function oneShot(dir: string, processes: number): Promise<void> {
  const node = await idleNode(dir, processes, 'plain');
  try {
    const count = await (await node.admin()).rpc('erlang', 'system_info', [Atom.of('process_count')]);
    const base = ['processes', '--node', node.node, '--cookie-file', node.cookieFile, '--sort', 'memory', '--limit', '50'];
    const floor: number[] = [];
    const plain: number[] = [];
    const allow: number[] = [];
    const probePath: number[] = [];
    let allowNote = '';
    const items = ['registered_name', 'memory', 'reductions', 'message_queue_len', 'current_function', 'initial_call'].map((i) => Atom.of(i));
    const start = await runCli(['--version']);
    for (let i = 0; i < 3; i++) {
      // Floor: the probe's compiled one-pass, timed on the node itself.
      {
        const conn = await connect({ node: node.node, cookie: node.cookie });
        const ev = new RemoteEvaluator(conn);
        const { handle } = await loadProbe(conn, ev);
        const r = await ev.eval(`timer:tc(beam_lens_probe, top_processes, [memory, 0, 50, Items]).`, { Items: items }, 300_000);
        floor.push(((r as Tuple).at(0) as number) / 1000);
        await handle?.unload();
        await conn.close();
      }
      const p = await runCli(base);
      if (p.code !== 0) throw new Error(`CLI failed: ${p.stderr}`);
      plain.push(p.ms);
      const a = await runCli([...base, '--allow-probe']);
      allow.push(a.ms);
      allowNote = a.stderr.trim().split('\n')[0] ?? '';
      // The probe path for one query, in process: attach, load, query, rows, unload, close.
      {
        const t0 = performance.now();
        const conn = await connect({ node: node.node, cookie: node.cookie });
        const ev = new RemoteEvaluator(conn);
        const { handle } = await loadProbe(conn, ev);
        const reply = await ev.call('beam_lens_probe', 'top_processes', [Atom.of('memory'), 0, 50, []], { timeoutMs: 300_000 });
        await processRows(conn, ev, ((reply as Tuple).at(1) as Term[]).map((t) => (t as Tuple).at(0)) as never);
        await handle?.unload();
        await conn.close();
        probePath.push(performance.now() - t0 + start.ms);
      }
    }
    const f = median(floor);
    row([`${(count as number).toLocaleString('en-US')}`, fmt(f), fmt(median(plain)), `${(median(plain) / f).toFixed(2)}x`, fmt(median(allow)), `${(median(allow) / f).toFixed(2)}x`, fmt(median(probePath)), `${(median(probePath) / f).toFixed(2)}x`]);
    process.stdout.write(`\n--allow-probe said: "${allowNote}"; CLI start alone (--version): ${fmt(start.ms)}\n\n`);
  } finally {
    await node.stop();
  }
}

// ---- idle cost -------------------------------------------------------------------------------

/**
 * The node's CPU share over IDLE_S seconds of `body`'s steady state: the window opens when body
 * calls begin() (after attaching, loading the probe, a first collection) and closes at end()
 * (before detaching), so set-up and clean-up are not in it.
 */
async function window(node: TestNode, what: string, body: (stop: Promise<void>, begin: () => void, end: () => void) => Promise<string>): Promise<void> {
  const pid = node.process.pid as number;
  let release!: () => void;
  const stop = new Promise<void>((r) => (release = r));
  let before = 0;
  let t0 = 0;
  let used = 0;
  let wall = 0;
  let timer: NodeJS.Timeout | undefined;
  const begin = (): void => {
    before = cpuMs(pid);
    t0 = performance.now();
    timer = setTimeout(release, IDLE_S * 1000);
  };
  const end = (): void => {
    used = cpuMs(pid) - before;
    wall = performance.now() - t0;
  };
  const note = await body(stop, begin, end);
  clearTimeout(timer);
  row([what, `${((100 * used) / wall).toFixed(2)}%`, `${Math.round(used)} ms in ${Math.round(wall / 1000)} s`, note]);
}

async function idle(dir: string): Promise<void> {
  const N = 100_000;
  const node = await idleNode(dir, N, 'sessions');
  const ws = mkdtempSync(path.join(tmpdir(), 'bl-idle-ws-'));
  mkdirSync(path.join(ws, 'lib'));
  try {
    heading(`Idle cost at ${N.toLocaleString('en-US')} idle gen_servers (node CPU time / wall, % of one scheduler; ${IDLE_S} s each)`);
    row(['attached', 'node CPU', 'detail', 'lens age / interval']);
    row(['---', '---', '---', '---']);
    if (FACES.includes('baseline')) {
      await window(node, 'nothing (baseline)', async (stop, begin, end) => {
        begin();
        await stop;
        end();
        return '';
      });
    }
    if (FACES.includes('lsp')) {
      // The window starts once the server has attached (its first collection reads every
      // process's module once: reported separately below).
      const c = await LspTestClient.start([path.join(root, 'bin/beam-lens'), 'lsp', '--stdio', '--node', node.node, '--cookie-file', node.cookieFile, '--no-saved-sessions'], ws);
      const pid = node.process.pid as number;
      const c0 = cpuMs(pid);
      const t0 = performance.now();
      while (!c.attachStates.some((a) => a.state === 'attached')) await new Promise((r) => setTimeout(r, 50));
      const firstCpu = cpuMs(pid) - c0;
      const firstWall = performance.now() - t0;
      await window(node, 'language server `beam-lens lsp --node` (zero-install), after attach', async (stop, begin, end) => {
        begin();
        await stop;
        end();
        return `real process, default refresh (10 s base); attach + first collection: ${Math.round(firstCpu)} ms node CPU in ${Math.round(firstWall)} ms`;
      });
      await c.stop();
    }
    for (const withProbe of FACES.includes('facts') ? [false, true] : []) {
      await window(node, `facts loop in process, ${withProbe ? 'with' : 'without'} the probe`, async (stop, begin, end) => {
        const conn = await connect({ node: node.node, cookie: node.cookie });
        const s = new Attachment(conn, { env: 'local', grants: { allowProbe: withProbe } });
        if (withProbe) await s.loadProbe();
        const collector = factsCollector(s);
        const ages: number[] = [];
        const costs: number[] = [];
        const walls: number[] = [];
        const parts: string[] = [];
        const loop = startFactsLoop(
          async (signal) => {
            const t0 = performance.now();
            await collector.collect(signal);
            walls.push(performance.now() - t0);
            const d = collector.lastCostDetail;
            parts.push(`${Math.round(d.summaryNodeMs)}+${Math.round(d.treeMs)} ms, ${d.memoryReads} memory reads`);
            return collector.lastNodeCostMs;
          },
          {
            baseMs: 10_000,
            onCollected: (cost, next) => {
              // The first collection reads every process's module and memory once: not in the window.
              if (costs.length === 0) begin();
              costs.push(cost);
              ages.push((walls[walls.length - 1] ?? 0) + next);
            },
          },
        );
        await stop;
        end();
        loop.stop();
        await s.detach();
        return `${costs.length} collections (the first, which reads every process once, is before the window); cost on the node, summary+tree: ${parts.join('; ')}; our wall ${walls.map((c) => Math.round(c)).join('/')} ms; lens age <= ${Math.round(Math.max(...ages, 0) / 1000)} s`;
      });
    }
    const sidebarRuns: Array<{ withProbe: boolean; budgeted: boolean }> = [
      { withProbe: false, budgeted: false },
      { withProbe: false, budgeted: true },
      { withProbe: true, budgeted: true },
    ];
    for (const { withProbe, budgeted } of FACES.includes('sidebar') ? sidebarRuns : []) {
      // The extension's scheme (src/extension/sidebar.ts, nodes.ts): while the BEAM view is
      // visible, one refresh of the node: overview with a 500 ms utilization window, then the
      // trees (pages of 50); the "Top by" sections only when expanded (not here). Hidden, nothing
      // is polled (the baseline row). Before: every 2 x refreshIntervalSeconds (default 5 s);
      // now: that or 100x the last refresh's cost beyond its window (core's budgetDelay).
      const label = budgeted ? 'every max(10 s, 100x its cost)' : 'every 10 s (before)';
      await window(node, `sidebar visible, its refresh ${label} (overview 500 ms window, then tree pages of 50), ${withProbe ? 'with' : 'without'} the probe`, async (stop, begin, end) => {
        const conn = await connect({ node: node.node, cookie: node.cookie });
        const s = new Attachment(conn, { env: 'local', grants: { allowProbe: withProbe } });
        if (withProbe) await s.loadProbe();
        // The attach's own first refresh is before the window.
        await s.overview({ utilizationWindowMs: 500 });
        await s.tree({ pageSize: 50 });
        begin();
        let done = false;
        const walls: number[] = [];
        const delays: number[] = [];
        let cost = 0;
        const run = (async () => {
          while (!done) {
            const d = budgeted ? budgetDelay(cost, 10_000) : 10_000;
            delays.push(d);
            await Promise.race([new Promise((r) => setTimeout(r, d)), stop]);
            if (done) break;
            const t0 = performance.now();
            await s.overview({ utilizationWindowMs: 500 });
            await s.tree({ pageSize: 50 });
            cost = performance.now() - t0 - 500;
            walls.push(cost);
          }
        })();
        await stop;
        done = true;
        await run;
        end();
        await s.detach();
        return `${walls.length} refreshes, wall beyond the 500 ms window ${walls.map((c) => Math.round(c)).join('/')} ms; waits ${delays.map((d) => Math.round(d / 1000)).join('/')} s`;
      });
    }
    for (const withProbe of FACES.includes('mcp') ? [false, true] : []) {
      // `beam-lens mcp --node` (a real process, the SDK's client over stdio): attached, one tool
      // call before the window, then nothing asked: it should cost the node nothing.
      await window(node, `MCP server \`beam-lens mcp --node\` attached and idle, ${withProbe ? '--allow-probe' : 'zero-install'}`, async (stop, begin, end) => {
        const transport = new StdioClientTransport({
          command: process.execPath,
          args: [path.join(root, 'bin/beam-lens'), 'mcp', '--node', node.node, '--cookie-file', node.cookieFile, ...(withProbe ? ['--allow-probe'] : [])],
          cwd: ws,
          stderr: 'ignore',
        });
        const client = new Client({ name: 'beam-lens-bench', version: '1' });
        await client.connect(transport);
        const t0 = performance.now();
        const r = await client.callTool({ name: 'processes', arguments: { limit: 5 } }, undefined, { timeout: 600_000 });
        if (r.isError) throw new Error(`processes: ${JSON.stringify(r.content)}`);
        const first = performance.now() - t0;
        begin();
        await stop;
        end();
        await client.close();
        return `one \`processes {limit: 5}\` call before the window (${Math.round(first)} ms), then idle`;
      });
    }
    if (FACES.includes('dashboard')) await window(node, 'dashboard (overview, 250 ms window, every 5 s)', async (stop, begin, end) => {
      const conn = await connect({ node: node.node, cookie: node.cookie });
      const s = new Attachment(conn, { env: 'local' });
      begin();
      let done = false;
      let n = 0;
      const run = (async () => {
        while (!done) {
          await s.overview({ utilizationWindowMs: 250 });
          n++;
          await Promise.race([new Promise((r) => setTimeout(r, 5000)), stop]);
        }
      })();
      await stop;
      done = true;
      await run;
      end();
      await s.detach();
      return `${n} samples`;
    });
  } finally {
    rmSync(ws, { recursive: true, force: true });
    await node.stop();
  }
}

async function main(): Promise<void> {
  const dir = fixtureDir();
  try {
    if (parts.includes('load')) {
      heading('Probe load and unload (median of 3), and the longest code:is_loaded/1 wait meanwhile');
      row(['processes', 'load', 'unload (to purged)', 'code_server held', 'old: delete + code:soft_purge', 'code_server held (old)']);
      row(['---', '---', '---', '---', '---', '---']);
      const small = await startNode();
      try {
        await loadUnload(small, '~60 (fresh node)');
      } finally {
        await small.stop();
      }
      const big = await idleNode(dir, Number(process.env.BENCH_LOAD_BIG ?? 1_000_000), 'plain');
      try {
        await loadUnload(big, (process.env.BENCH_LOAD_BIG ?? '1,000,000').toString());
      } finally {
        await big.stop();
      }
    }
    if (parts.includes('oneshot')) {
      heading('One-shot `beam-lens processes --sort memory --limit 50` (process start to exit, median of 3) against the on-target one-pass floor');
      row(['processes', 'floor (probe top_processes on the node)', 'CLI', 'ratio', 'CLI --allow-probe', 'ratio', 'probe path for one query (est.)', 'ratio']);
      row(['---', '---', '---', '---', '---', '---', '---', '---']);
      for (const n of ONESHOT) await oneShot(dir, n);
    }
    if (parts.includes('idle')) await idle(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
