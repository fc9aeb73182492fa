// The MCP face's cost over the core call it makes, side by side in one run (calls alternate):
//   1. tool-call overhead: `processes {limit: 20}` and `process_info` through the SDK's Client
//      over stdio to `beam-lens mcp`, against the same core call (Attachment.processes /
//      processDetail) on a small node; p95 of each and the p95 of the per-pair difference;
//   2. `processes {limit: 50}` on a node with 100,000 processes, the probe loaded on both sides
//      (the server with --allow-probe): p95 through MCP / p95 of the core call.
// Goals (docs/benchmarks.md): overhead p95 ≤ 10 ms; ratio at 100,000 processes ≤ 1.3.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { attach } from '../src/core/attach';
import type { Attachment } from '../src/core/attach/attachment';
import { startNode, type TestNode } from '../test/integration/harness';
import { ensureBuilt } from '../test/integration/mcp/client';
import { fmt, heading, median, percentile, row, timeMs } from './util';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 60);
const BIG_ROUNDS = Number(process.env.BENCH_BIG_ROUNDS ?? 15);
const N = Number(process.env.BENCH_PROCESSES ?? 100_000);

async function mcpClient(node: TestNode, extra: string[]): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [path.join(__dirname, '../bin/beam-lens'), 'mcp', '--node', node.node, '--cookie-file', node.cookieFile, ...extra],
    cwd: mkdtempSync(path.join(tmpdir(), 'beam-lens-bench-mcp-')),
    stderr: 'ignore',
  });
  const client = new Client({ name: 'beam-lens-bench', version: '1' });
  await client.connect(transport);
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<void> {
  const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 600_000 });
  if (r.isError) throw new Error(`${name}: ${JSON.stringify(r.content)}`);
}

/** Alternates the two calls ROUNDS times (after a warm-up) and returns both timings. */
async function pairs(rounds: number, core: () => Promise<unknown>, viaMcp: () => Promise<unknown>): Promise<{ core: number[]; mcp: number[]; diff: number[] }> {
  for (let i = 0; i < 3; i++) {
    await core();
    await viaMcp();
  }
  const out = { core: [] as number[], mcp: [] as number[], diff: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? [core, viaMcp] : [viaMcp, core];
    const ms: number[] = [];
    for (const f of order) ms.push((await timeMs(f)).ms);
    const [c, m] = i % 2 === 0 ? [ms[0] as number, ms[1] as number] : [ms[1] as number, ms[0] as number];
    out.core.push(c);
    out.mcp.push(m);
    out.diff.push(m - c);
  }
  return out;
}

function report(label: string, r: { core: number[]; mcp: number[]; diff: number[] }): void {
  row([label, fmt(median(r.core)), fmt(percentile(r.core, 95)), fmt(median(r.mcp)), fmt(percentile(r.mcp, 95)), fmt(percentile(r.mcp, 95) - percentile(r.core, 95)), fmt(percentile(r.diff, 95)), (percentile(r.mcp, 95) / percentile(r.core, 95)).toFixed(2)]);
}

async function main(): Promise<void> {
  ensureBuilt();
  heading(`MCP tool call vs the same core call (${ROUNDS} alternating pairs; p95 = 95th percentile)`);
  row(['call', 'core median', 'core p95', 'MCP median', 'MCP p95', 'p95 overhead', 'p95 of pair differences', 'p95 ratio']);
  row(['---', '---', '---', '---', '---', '---', '---', '---']);
  const small = await startNode();
  let session: Attachment | undefined;
  let client: Client | undefined;
  try {
    session = await attach({ node: small.node, cookie: { kind: 'file', path: small.cookieFile } });
    client = await mcpClient(small, []);
    const s = session;
    const c = client;
    report('processes {limit: 20} (small node)', await pairs(ROUNDS, () => s.processes({ sort: 'memory', limit: 20, offset: 0 }), () => call(c, 'processes', { limit: 20 })));
    const pid = (await s.processes({ sort: 'memory', limit: 1, offset: 0 })).rows[0]?.pid as string;
    report('process_info', await pairs(ROUNDS, () => s.processDetail(pid), () => call(c, 'process_info', { pid })));
  } finally {
    await client?.close();
    await session?.detach();
    await small.stop();
  }

  const big = await startNode({ args: ['+P', String(N * 2 + 100_000)], startTimeoutMs: 120_000 });
  try {
    await big.eval(
      `register(bl_bench_holder, spawn(fun() -> Ps = [spawn(fun() -> L = lists:seq(1, I rem 500), receive stop -> length(L) end end) || I <- lists:seq(1, Count)], receive stop -> [exit(P, kill) || P <- Ps] end end)), ok.`,
      { Count: N },
    );
    while (((await big.eval(`erlang:system_info(process_count).`)) as number) < N) await new Promise((r) => setTimeout(r, 200));
    session = await attach({ node: big.node, cookie: { kind: 'file', path: big.cookieFile }, grants: { allowProbe: true } });
    await session.loadProbe();
    client = await mcpClient(big, ['--allow-probe']);
    const s = session;
    const c = client;
    heading(`processes {sort: memory, limit: 50} on ${N.toLocaleString('en-US')} processes, probe loaded on both sides (${BIG_ROUNDS} alternating pairs)`);
    row(['call', 'core median', 'core p95', 'MCP median', 'MCP p95', 'p95 overhead', 'p95 of pair differences', 'p95 ratio']);
    row(['---', '---', '---', '---', '---', '---', '---', '---']);
    report(`processes at ${N.toLocaleString('en-US')}`, await pairs(BIG_ROUNDS, () => s.processes({ sort: 'memory', limit: 50, offset: 0 }), () => call(c, 'processes', { sort: 'memory', limit: 50 })));
  } finally {
    // Both sides share the probe module on the target; the first to detach purges it.
    await client?.close();
    await session?.detach().catch(() => undefined);
    await big.stop();
  }
  process.stdout.write('\nGoals: p95 overhead ≤ 10 ms; p95 ratio at 100,000 processes ≤ 1.3.\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
