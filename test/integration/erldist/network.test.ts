// Clean endings when the network or the node fails: traffic black-holed by freezing a TCP proxy
// the test owns (no FIN, no RST) during a trace; the node SIGKILLed mid-command; a node whose
// schedulers are all busy.
import { strict as assert } from 'node:assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DistError, connect } from '../../../src/erldist';
import { Tuple, isAtom } from '../../../src/etf';
import { startNode, waitFor, type TestNode } from '../harness';
import { LspTestClient } from '../lsp-client';

const root = path.join(__dirname, '../../..');
const bin = path.join(root, 'bin/beam-lens');
const maxRss = path.join(root, 'test/fixtures/max-rss.cjs');
const TICKTIME = 4;
const BEAT = `-module(bl_net_beat).\n-export([beat/1]).\nbeat(N) -> N + 1.\n`;

/** A TCP proxy to one port; freeze() stops forwarding in both directions and keeps every socket open. */
async function startProxy(port: number): Promise<{ port: number; freeze(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (d: Buffer) => !frozen && upstream.write(d));
    upstream.on('data', (d: Buffer) => !frozen && client.write(d));
    client.on('end', () => !frozen && upstream.end());
    upstream.on('end', () => !frozen && client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze() {
      frozen = true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function spawnCli(args: string[], cwd: string): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string; at: number }> } {
  // Through node --require max-rss.cjs: the CLI prints its peak memory when it exits.
  const child = spawn(process.execPath, ['--require', maxRss, bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.resume();
  const done = new Promise<{ code: number | null; stderr: string; at: number }>((resolve) => child.once('exit', (code) => resolve({ code, stderr, at: Date.now() })));
  return { child, done };
}

function peakMb(stderr: string): number {
  return Math.round(Number(/MAX_RSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0) / 1024);
}

async function traceClean(node: TestNode): Promise<boolean> {
  const t = (await node.eval(`{erlang:trace_info({bl_net_beat, beat, 1}, traced), whereis(beam_lens_tracer), code:is_loaded(beam_lens_probe), [P || P <- erlang:processes(), {flags, F} <- [erlang:trace_info(P, flags)], F =/= []]}.`)) as Tuple;
  const [traced, tracer, loaded, flagged] = t.elements;
  return traced instanceof Tuple && isAtom(traced.elements[1], 'false') && isAtom(tracer, 'undefined') && isAtom(loaded, 'false') && Array.isArray(flagged) && flagged.length === 0;
}

async function beating(node: TestNode): Promise<void> {
  await node.loadModule(BEAT);
  await node.eval(`spawn(fun Loop() -> bl_net_beat:beat(1), timer:sleep(20), Loop() end), ok.`);
}

describe('clean endings when the network or the node fails', function () {
  this.timeout(180_000);
  let dir: string;
  before(() => {
    if (!existsSync(path.join(root, 'dist/cli.js'))) throw new Error('run `npm run build` first');
    dir = mkdtempSync(path.join(tmpdir(), 'bl-net-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`black-holed traffic during a trace: the node cleans up after its tick timeout, the CLI exits 3 within its tick timeout`, async () => {
    const node = await startNode({ args: ['-kernel', 'net_ticktime', String(TICKTIME)] });
    const proxy = await startProxy(node.port);
    try {
      await beating(node);
      const { child, done } = spawnCli(
        ['trace', 'bl_net_beat:beat/1', '--node', node.node, '--host', '127.0.0.1', '--port', String(proxy.port), '--cookie-file', node.cookieFile, '--allow-trace', '--allow-probe', '--rate', '2/1s', '--limit', '100000', '--duration', '120'],
        dir,
      );
      try {
        await waitFor(async () => isAtom(await node.eval(`is_pid(whereis(beam_lens_tracer)).`), 'true'), 30_000, 'the tracer to run');
        const frozenAt = Date.now();
        proxy.freeze();
        // The node notices the silence within 1.25 × net_ticktime; room for a loaded machine.
        await waitFor(() => traceClean(node), (TICKTIME * 1.25 + 15) * 1000, 'the node to clean up after the link went silent', 100);
        const cleanS = (Date.now() - frozenAt) / 1000;
        const r = await Promise.race([done, new Promise<null>((resolve) => setTimeout(() => resolve(null), (TICKTIME * 1.25 + 20) * 1000))]);
        assert.ok(r, 'the CLI did not end after the link went silent');
        assert.equal(r.code, 3, r.stderr);
        assert.match(r.stderr, new RegExp(`lost the connection to node ${node.node}: nothing received \\(not even a tick\\) for \\d+ s`));
        console.log(`      node clean after ${cleanS.toFixed(1)} s, CLI ended after ${((r.at - frozenAt) / 1000).toFixed(1)} s (net_ticktime ${TICKTIME} s), CLI peak ${peakMb(r.stderr)} MB`);
      } finally {
        child.kill('SIGKILL');
      }
    } finally {
      await proxy.close();
      await node.stop();
    }
  });

  it('the node SIGKILLed mid-command: the CLI and the language server end promptly with "node X went down"', async () => {
    const node = await startNode();
    try {
      await beating(node);
      const ws = mkdtempSync(path.join(dir, 'ws-'));
      const lsp = await LspTestClient.start([bin, 'lsp', '--stdio', '--node', node.node, '--cookie-file', node.cookieFile, '--refresh', '2', '--no-saved-sessions'], ws);
      const { child, done } = spawnCli(['trace', 'bl_net_beat:beat/1', '--node', node.node, '--cookie-file', node.cookieFile, '--allow-trace', '--allow-probe', '--rate', '2/1s', '--limit', '100000', '--duration', '120'], dir);
      try {
        await waitFor(() => lsp.attachStates.find((s) => s.state === 'attached'), 30_000, 'the language server to attach');
        await waitFor(async () => isAtom(await node.eval(`is_pid(whereis(beam_lens_tracer)).`), 'true'), 30_000, 'the tracer to run');
        const killedAt = Date.now();
        node.process.kill('SIGKILL');
        // The kill closes the socket at once (about a second when idle; measured below, not
        // asserted): the bound only catches a CLI that waits for a tick timeout instead.
        const r = await Promise.race([done, new Promise<null>((resolve) => setTimeout(() => resolve(null), 20_000))]);
        assert.ok(r, 'the CLI did not end within 20 s');
        assert.equal(r.code, 3, r.stderr);
        assert.match(r.stderr, new RegExp(`node ${node.node} went down`));
        const detached = await waitFor(() => lsp.attachStates.find((s) => s.state === 'detached'), Math.max(0, 20_000 - (Date.now() - killedAt)), 'the language server to report the node down');
        const lspAt = Date.now();
        assert.match(detached.message ?? '', new RegExp(`node ${node.node} went down`));
        console.log(`      CLI ended ${((r.at - killedAt) / 1000).toFixed(2)} s after the kill, language server reported it after ${((lspAt - killedAt) / 1000).toFixed(2)} s, CLI peak ${peakMb(r.stderr)} MB`);
      } finally {
        child.kill('SIGKILL');
        await lsp.stop();
      }
    } finally {
      await node.stop();
    }
  });

  it('a node with every scheduler busy: calls end at their deadline saying the node is overloaded', async () => {
    const node = await startNode({ args: ['+S', '1:1', '-kernel', 'net_ticktime', String(TICKTIME)] });
    const conn = await connect({ node: node.node, cookie: node.cookie, timeoutMs: 5000 });
    try {
      await waitFor(() => conn.silenceTimeoutMs === TICKTIME * 1250, 30_000, 'the node\'s net_ticktime to be adopted');
      // High-priority spinners starve rex (normal priority) but not the node's ticker (max): alive, yet unresponsive.
      await node.eval(
        `[spawn_opt(fun() -> End = erlang:monotonic_time(millisecond) + ${(TICKTIME + 4) * 1000}, Spin = fun S() -> case erlang:monotonic_time(millisecond) < End of true -> S(); false -> ok end end, Spin() end, [{priority, high}]) || _ <- [1, 2]], ok.`,
      );
      const askedAt = Date.now();
      const err = await conn.rpc('erlang', 'node', [], { timeoutMs: TICKTIME * 1000 + 1000 }).then(
        () => assert.fail('the rpc answered on a saturated node'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof DistError);
      assert.equal(err.kind, 'timeout');
      assert.match(err.message, /although the node is alive \(it kept sending ticks\): node \S+ is overloaded/);
      assert.ok(conn.isOpen, 'a busy node is not a lost node');
      console.log(`      rpc ended after ${((Date.now() - askedAt) / 1000).toFixed(1)} s (its deadline ${TICKTIME + 1} s): ${err.message}`);
      await waitFor(async () => String(await conn.rpc('erlang', 'node', [], { timeoutMs: 2000 })) === node.node, 20_000, 'the node to answer again');
    } finally {
      await conn.close();
      await node.stop();
    }
  });
});
