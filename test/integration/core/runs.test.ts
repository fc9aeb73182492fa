import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Pid, Tuple, isAtom } from '../../../src/etf';
import { connect } from '../../../src/erldist';
import { Attachment } from '../../../src/core/attach/attachment';
import { watchMailboxes } from '../../../src/core/runs/mailbox-watch';
import { runHotFunctions } from '../../../src/core/runs/hot';
import { runMonitor, runTrace } from '../../../src/core/runs/trace';
import { startNode, waitFor, type TestNode } from '../harness';
import { clean } from '../target-state';

const root = path.join(__dirname, '../../..');

const COMPUTE: [string, string, number] = ['Elixir.Demo.Pricing', 'compute', 2];

describe('tracing sessions on the demo node', function () {
  this.timeout(300_000);
  let demo: TestNode;

  before(async () => {
    demo = await startNode({ command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie] }, startTimeoutMs: 240_000 });
    await waitFor(async () => (await demo.eval(`whereis('Elixir.Demo.PricingWorker').`)) instanceof Pid, 30_000, 'the demo application');
  });
  after(async () => demo?.stop());

  async function attach(): Promise<Attachment> {
    return new Attachment(await connect({ node: demo.node, cookie: demo.cookie }), { env: 'local', grants: { allowProbe: true, allowTrace: true } });
  }

  it('hot functions: Demo.Pricing.compute/2 leads, ~300k calls/s, and nothing is left afterwards', async () => {
    const s = await attach();
    try {
      const r = await runHotFunctions(s, { durationMs: 2000, limit: 10 });
      assert.equal(r.endReason, 'completed');
      assert.ok(r.modules.includes('Elixir.Demo.Pricing'));
      assert.ok(!r.modules.some((m) => m.startsWith('Elixir.Enum') || m === 'lists'), 'never OTP or Elixir modules');
      // compute/2 and the helpers it calls once per call share the top with the same count.
      const top = r.functions.slice(0, 4);
      const compute = top.find((f) => f.mfa === 'Elixir.Demo.Pricing:compute/2');
      assert.ok(compute, top.map((f) => f.mfa).join(', '));
      assert.ok(compute.callsPerSec > 100_000 && compute.callsPerSec < 1_000_000, String(compute.callsPerSec));
      assert.ok(top.every((f) => f.callsPerSec > 100_000));
    } finally {
      await s.detach();
    }
    await clean(demo, [COMPUTE]);
  });

  it('mailbox watch: Demo.EventSink grows and is not draining', async () => {
    const s = await attach();
    try {
      const r = await watchMailboxes(s, { durationMs: 3000, intervalMs: 500 });
      const sink = r.rows.find((x) => x.name === 'Elixir.Demo.EventSink');
      assert.equal(sink?.trend, 'growing');
      assert.ok((sink?.growthPerSec ?? 0) > 300);
      assert.equal(r.rows[0]?.name, 'Elixir.Demo.EventSink');
    } finally {
      await s.detach();
    }
  });

  it('call trace: calls and returns, stopped by its cap, arguments matched, terms truncated', async () => {
    const s = await attach();
    const seen: string[] = [];
    try {
      const r = await runTrace(
        s,
        { kind: 'call', module: 'Elixir.Demo.Pricing', function: 'compute', arity: 2, returns: true, match: 'fun([_, Qty]) when Qty > 100 -> true end' },
        { rate: { count: 1000, perMs: 1000 }, cap: 10, deadlineMs: 10_000, maxChars: 60 },
        (e) => seen.push(`${e.type} ${e.what}`),
      );
      assert.equal(r.endReason, 'cap');
      assert.equal(r.forwarded, 10);
      assert.ok(r.events.some((e) => e.type === 'call' && /compute/.test(e.what)));
      assert.ok(r.events.some((e) => e.type === 'return'));
      for (const e of r.events.filter((x) => x.type === 'call')) {
        const qty = Number(/,\s*(\d+)\)$/.exec(e.what)?.[1] ?? /(\d+)\)?$/.exec(e.what)?.[1]);
        assert.ok(qty > 100 || Number.isNaN(qty), `matched calls only: ${e.what}`);
        assert.ok(e.what.length <= 63, `truncated: ${e.what.length}`);
      }
    } finally {
      await s.detach();
    }
    await clean(demo, [COMPUTE]);
  });

  it('call trace ends by its deadline with the rate limit counting drops', async () => {
    const s = await attach();
    try {
      // Demo.EventProducer.page_view/1 runs ~330 times a second: enough to overflow 5/s.
      const r = await runTrace(s, { kind: 'call', module: 'Elixir.Demo.EventProducer', function: 'page_view', arity: 1, returns: false }, { rate: { count: 5, perMs: 1000 }, cap: 1000, deadlineMs: 1500 }, () => undefined);
      assert.equal(r.endReason, 'deadline');
      assert.ok(r.forwarded <= 10, `rate 5/s over 1.5 s: ${r.forwarded}`);
      assert.ok(r.dropped > 0, `dropped ${r.dropped}`);
    } finally {
      await s.detach();
    }
    await clean(demo, [['Elixir.Demo.EventProducer', 'page_view', 1]]);
  });

  it('a call trace flooding the tracer (300,000 calls/s at 5/s) trips its own breaker instead of hurting the node', async () => {
    const s = await attach();
    try {
      const r = await runTrace(s, { kind: 'call', module: 'Elixir.Demo.Pricing', function: 'compute', arity: 2, returns: false }, { rate: { count: 5, perMs: 1000 }, cap: 1000, deadlineMs: 20_000 }, () => undefined);
      assert.ok(['breaker', 'deadline'].includes(r.endReason), r.endReason);
      if (r.endReason === 'breaker') assert.equal(r.breaker?.what, 'tracer_queue');
    } finally {
      await s.detach();
    }
    await clean(demo, [COMPUTE]);
  });

  it('message trace of the sink, capped; and the circuit breaker stops a session and says why', async () => {
    const sink = (await demo.eval(`whereis('Elixir.Demo.EventSink').`)) as Pid;
    const s = await attach();
    try {
      const r = await runTrace(s, { kind: 'messages', pid: `<0.${sink.id}.${sink.serial}>` }, { rate: { count: 100, perMs: 1000 }, cap: 20, deadlineMs: 10_000 }, () => undefined);
      assert.equal(r.endReason, 'cap');
      assert.ok(r.events.some((e) => e.type === 'receive'));
      const tripped = await runTrace(
        s,
        { kind: 'messages', pid: `<0.${sink.id}.${sink.serial}>` },
        { rate: { count: 100, perMs: 1000 }, cap: 100_000, deadlineMs: 20_000, breaker: { memoryGrowth: 1 } },
        () => undefined,
      );
      assert.equal(tripped.endReason, 'breaker');
      assert.equal(tripped.breaker?.what, 'memory');
    } finally {
      await s.detach();
    }
    await clean(demo, []);
  });

  it('system monitor: refuses when another tool holds it, and restores it after its own run', async () => {
    const holder = (await demo.eval(`P = spawn(fun() -> receive stop -> ok end end), erlang:system_monitor(P, [{long_gc, 500}]), P.`)) as Pid;
    const s = await attach();
    try {
      await assert.rejects(runMonitor(s, { rate: { count: 10, perMs: 1000 }, cap: 10, deadlineMs: 1000 }, () => undefined), /already held by <0\.\d+\.\d+>/);
      const still = (await demo.eval(`erlang:system_monitor().`)) as Tuple;
      assert.ok(still.at(0) instanceof Pid && (still.at(0) as Pid).id === holder.id, 'unchanged');
      await demo.eval(`erlang:system_monitor(undefined), ok.`);
      const r = await runMonitor(s, { largeHeapWords: 10_000, rate: { count: 100, perMs: 1000 }, cap: 5, deadlineMs: 5000 }, () => undefined);
      assert.ok(['cap', 'deadline'].includes(r.endReason));
    } finally {
      await s.detach();
    }
    await clean(demo, []);
  });

  it('a session stopped by the user ends as stopped and leaves nothing', async () => {
    const s = await attach();
    const stop = new AbortController();
    try {
      const pending = runTrace(s, { kind: 'call', module: 'Elixir.Demo.EventProducer', function: 'page_view', arity: 1, returns: false }, { rate: { count: 1, perMs: 1000 }, cap: 1000, deadlineMs: 60_000 }, () => stop.abort(), stop.signal);
      const r = await pending;
      assert.equal(r.endReason, 'stopped');
    } finally {
      await s.detach();
    }
    await clean(demo, [['Elixir.Demo.EventProducer', 'page_view', 1]]);
  });

  it('a report with tracing allowed names the hot function and still leaves nothing', async () => {
    const { diagnose } = await import('../../../src/core/findings/diagnose');
    const s = await attach();
    try {
      const d = await diagnose(s, { durationMs: 4000, trace: true });
      const ids = d.findings.map((f) => f.id);
      assert.ok(ids.includes('hot-function:Demo.Pricing.compute/2'), ids.join(', '));
      assert.ok(ids.includes('mailbox-growth:Demo.EventSink'), ids.join(', '));
      assert.equal(d.tracingNote, undefined);
    } finally {
      await s.detach();
    }
    await clean(demo, [COMPUTE]);
  });

  it('SIGKILL of the CLI mid-trace: the target removes everything by itself', async () => {
    if (!existsSync(path.join(root, 'dist/cli.js'))) throw new Error('run `npm run build` first');
    const dir = mkdtempSync(path.join(tmpdir(), 'bl-kill-'));
    const child = spawn(
      path.join(root, 'bin/beam-lens'),
      ['trace', 'Elixir.Demo.EventProducer:page_view/1', '--node', demo.node, '--cookie-file', demo.cookieFile, '--allow-trace', '--allow-probe', '--rate', '1/1s', '--limit', '1000', '--duration', '120'],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      await waitFor(async () => isAtom(await demo.eval(`is_pid(whereis(beam_lens_tracer)).`), 'true'), 20_000, 'the tracer to run');
      child.kill('SIGKILL');
      // The guardian sees our node go and removes everything (about a second when idle).
      await clean(demo, [['Elixir.Demo.EventProducer', 'page_view', 1]], 30_000);
      const audit = readFileSync(path.join(dir, '.beam-lens/audit.log'), 'utf8');
      assert.match(audit, /"action":"trace start"/);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
