// `beam-lens mcp` intrusive tools against the demo node, through the SDK's Client over stdio:
// consent by elicitation (accepted, declined, cancelled), a client without elicitation with and
// without pre-approval, production, one tracing session per node, cancellation and the client
// going away mid-trace (the target is clean within 5 s), bad inputs, the audit log.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Pid, isAtom } from '../../../src/etf';
import { startNode, waitFor, type TestNode } from '../harness';
import { data, ensureBuilt, startMcp, text, type McpTestClient } from './client';
import { clean } from '../target-state';

type Mfa = [string, string, number];

const COMPUTE: Mfa = ['Elixir.Demo.Pricing', 'compute', 2];
// 1,000 calls/s: a long trace of it runs until stopped (compute/2 at 300,000/s trips the breaker).
const PAGE_VIEW: Mfa = ['Elixir.Demo.EventProducer', 'page_view', 1];

interface AuditLine {
  face: string;
  client?: { name: string; version?: string };
  action: string;
  outcome: string;
  node: string;
  limits?: Record<string, unknown>;
}

function audit(mcp: McpTestClient): AuditLine[] {
  try {
    return readFileSync(path.join(mcp.cwd, '.beam-lens/audit.log'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditLine);
  } catch {
    return [];
  }
}

describe('MCP server: consent, tracing sessions and leaving, on the demo node', function () {
  this.timeout(300_000);
  let demo: TestNode;
  let conn: string[];
  const open: McpTestClient[] = [];
  const start = async (...args: Parameters<typeof startMcp>): Promise<McpTestClient> => {
    const m = await startMcp(...args);
    open.push(m);
    return m;
  };
  const tracerRunning = async (): Promise<boolean> => isAtom(await demo.eval(`is_pid(whereis(beam_lens_tracer)).`), 'true');

  before(async () => {
    ensureBuilt();
    demo = await startNode({ command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie] }, startTimeoutMs: 240_000 });
    await waitFor(async () => (await demo.eval(`whereis('Elixir.Demo.PricingWorker').`)) instanceof Pid, 30_000, 'the demo application');
    conn = ['--node', demo.node, '--cookie-file', demo.cookieFile];
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((m) => m.close().catch(() => undefined)));
  });
  after(async () => demo?.stop());

  it('elicitation accepted: the form names the node, its tag, what is set and how it is undone; limits only go down; audited with face and client; clean after', async () => {
    const mcp = await start({ args: conn, elicit: () => ({ action: 'accept', content: { durationS: 1 } }) });
    const progress: number[] = [];
    const r = await mcp.call('hot_functions', { durationS: 3, limit: 5 }, { onprogress: (p) => progress.push(p.progress) });
    const hot = data<{ session: { id: string; uri: string; endReason: string }; functions: Array<{ mfa: string }> }>(r);
    assert.equal(hot.session.endReason, 'completed');
    assert.ok(hot.functions.some((f) => f.mfa === 'Elixir.Demo.Pricing:compute/2'), text(r));
    const form = mcp.forms[0];
    assert.ok(form && form.mode !== 'url');
    assert.match(form.message, new RegExp(`${demo.node} \\[local\\]`));
    assert.match(form.message, /call_count trace patterns/);
    assert.match(form.message, /Undone: .*removed/);
    const schema = (form as { requestedSchema: { properties: Record<string, { maximum?: number; default?: number }> } }).requestedSchema;
    assert.equal(schema.properties.durationS?.maximum, 3, 'the requested limit is the most the user can choose');
    const saved = JSON.parse(readFileSync(path.join(mcp.cwd, '.beam-lens/sessions', `${hot.session.id}.json`), 'utf8')) as { limits: { durationMs: number } };
    assert.equal(saved.limits.durationMs, 1000, 'ran with the lowered duration');
    const lines = audit(mcp).filter((l) => l.action.startsWith('hot'));
    assert.deepEqual(lines.map((l) => `${l.action}:${l.outcome}`), ['hot start:requested', 'hot end:completed']);
    for (const l of lines) {
      assert.equal(l.face, 'mcp');
      assert.deepEqual(l.client, { name: 'beam-lens-test-client', version: '9.8.7' });
    }
    await clean(demo, [COMPUTE]);
    // The saved session is a resource.
    const res = await mcp.client.readResource({ uri: hot.session.uri });
    assert.match(res.contents[0] && 'text' in res.contents[0] ? res.contents[0].text : '', /"kind": "hot"/);
  });

  it('declined or cancelled: nothing is set, the result says so, and the refusal is audited', async () => {
    for (const action of ['decline', 'cancel'] as const) {
      const mcp = await start({ args: conn, elicit: () => ({ action }) });
      const r = await mcp.call('trace_calls', { mfa: 'Demo.Pricing.compute/2', limit: 5 });
      assert.equal(r.isError, true);
      assert.match(text(r), new RegExp(`${action === 'decline' ? 'declined' : 'cancelled'} trace_calls .*nothing was set on the node`));
      assert.equal(await tracerRunning(), false);
      await clean(demo, [COMPUTE], 1000);
      assert.deepEqual(audit(mcp).map((l) => `${l.action}:${l.outcome}`), ['trace start:refused']);
    }
  });

  it('a client without elicitation is refused with the pre-approval flags named; with pre-approval the call runs, arity only unless captureArgs', async () => {
    const plain = await start({ args: conn });
    const refused = await plain.call('trace_calls', { mfa: 'Demo.Pricing.compute/2', limit: 5 });
    assert.equal(refused.isError, true);
    assert.match(text(refused), /cannot show a consent form .*Nothing was set.*--allow-probe --allow-trace/);
    await clean(demo, [COMPUTE], 1000);

    const pre = await start({ args: [...conn, '--allow-probe', '--allow-trace'] });
    const r = data<{ events: Array<{ type: string; what: string; detail: string }>; session: { endReason: string } }>(await pre.call('trace_calls', { mfa: 'Demo.Pricing.compute/2', limit: 6, rate: 100 }));
    assert.equal(r.session.endReason, 'cap');
    const calls = r.events.filter((e) => e.type === 'call');
    assert.ok(calls.length > 0);
    for (const e of calls) assert.equal(e.what, "'Elixir.Demo.Pricing':compute/2", 'arity only');
    for (const e of r.events.filter((x) => x.type === 'return')) assert.equal(e.detail, '_', 'no return terms');
    const withArgs = data<{ events: Array<{ type: string; what: string }> }>(await pre.call('trace_calls', { mfa: 'Demo.Pricing.compute/2', limit: 2, captureArgs: true }));
    assert.match(withArgs.events.find((e) => e.type === 'call')?.what ?? '', /compute\(#\{.*\}, \d+\)/);
    assert.equal(pre.forms.length, 0, 'pre-approved: nobody is asked');
    // A pre-approved server leaves the probe loaded until detach; detaching cleans everything.
    data(await pre.call('detach', {}));
    await clean(demo, [COMPUTE]);
  });

  it('production: the form requires the node name typed; a wrong name sets nothing; pre-approval needs --confirm-node', async () => {
    let typed = 'not-the-node';
    const prod = await start({ args: [...conn, '--env', 'production'], elicit: () => ({ action: 'accept', content: { confirmNode: typed } }) });
    const wrong = await prod.call('system_monitor', { durationS: 1 });
    assert.equal(wrong.isError, true);
    assert.match(text(wrong), /typed in the consent form \("not-the-node"\) is not .*nothing was set/);
    const form = prod.forms[0] as { message: string; requestedSchema: { required?: string[] } };
    assert.deepEqual(form.requestedSchema.required, ['confirmNode']);
    assert.match(form.message, /tagged production: type its name/);
    await clean(demo, [], 1000);
    typed = demo.node;
    const ok = data<{ session: { endReason: string } }>(await prod.call('system_monitor', { durationS: 1 }));
    assert.equal(ok.session.endReason, 'deadline');
    await clean(demo, []);

    const noConfirm = await start({ args: [...conn, '--env', 'production', '--allow-probe', '--allow-trace'] });
    const r = await noConfirm.call('hot_functions', { durationS: 1 });
    assert.equal(r.isError, true);
    assert.match(text(r), new RegExp(`tagged production: add --confirm-node ${demo.node}`));
    const confirmed = await start({ args: [...conn, '--env', 'production', '--allow-probe', '--allow-trace', '--confirm-node', demo.node] });
    assert.equal(data<{ session: { endReason: string } }>(await confirmed.call('hot_functions', { durationS: 1 })).session.endReason, 'completed');
    data(await confirmed.call('detach', {}));
    await clean(demo, [COMPUTE]);
  });

  it('one tracing session per node: the next is refused naming the running one; a cancelled trace leaves the node clean at once', async () => {
    const mcp = await start({ args: [...conn, '--allow-probe', '--allow-trace'] });
    const stop = new AbortController();
    const running = mcp.call('trace_calls', { mfa: 'Demo.EventProducer.page_view/1', rate: 1, limit: 1000, durationS: 60 }, { signal: stop.signal }).catch((err: unknown) => err);
    await waitFor(tracerRunning, 20_000, 'the tracer to run');
    const second = await mcp.call('hot_functions', { durationS: 1 });
    assert.equal(second.isError, true);
    assert.match(text(second), /targetBusy: a trace session is already running on .* one tracing session per node at a time/);
    stop.abort();
    assert.ok((await running) instanceof Error, 'the cancelled call is rejected on the client');
    // At once: no flags, no patterns, no tracer (a pre-approved server keeps its probe until detach).
    // The server stops the trace when it handles the cancellation: generous on a loaded machine.
    await clean(demo, [PAGE_VIEW], 20_000, { probeMayStay: true });
    await waitFor(() => audit(mcp).some((l) => l.action === 'trace end' && l.outcome === 'stopped'), 20_000, 'the stopped trace to be audited');
    assert.ok(audit(mcp).some((l) => l.action === 'hot start' && l.outcome === 'refused'), 'the refused second session is audited');
    assert.equal(data<{ overview: { node: string } }>(await mcp.call('overview')).overview.node, demo.node, 'still serving');
    data(await mcp.call('detach', {}));
    await clean(demo, [COMPUTE]);
  });

  it('the client going away mid-trace: stdin closed, or the server killed, leaves the target clean (about 5 s at most when idle)', async () => {
    for (const how of ['stdin', 'kill'] as const) {
      const mcp = await start({ args: [...conn, '--allow-probe', '--allow-trace'] });
      void mcp.call('trace_calls', { mfa: 'Demo.EventProducer.page_view/1', rate: 1, limit: 1000, durationS: 60 }).catch(() => undefined);
      await waitFor(tracerRunning, 20_000, 'the tracer to run');
      const t0 = Date.now();
      if (how === 'stdin') {
        mcp.closeStdin();
        await clean(demo, [PAGE_VIEW], 30_000);
        await waitFor(() => mcp.stderr().includes('client closed stdin'), 30_000, 'the server to notice');
      } else {
        process.kill(mcp.pid(), 'SIGKILL');
        await clean(demo, [PAGE_VIEW], 30_000);
      }
      // Measured, not asserted: a loaded two-core machine stretches it (a leak shows as not clean).
      console.log(`      ${how}: clean after ${Date.now() - t0} ms`);
      open.splice(open.indexOf(mcp), 1);
      await mcp.close().catch(() => undefined);
    }
  });

  it('bad inputs to runs are tool errors with actionable text, and nothing is set', async () => {
    const mcp = await start({ args: [...conn, '--allow-probe', '--allow-trace'] });
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['trace_calls', { mfa: 'Demo.Pricing.nope/2' }, /Demo\.Pricing\.nope\/2 does not exist on .*check the function name and arity/],
      ['trace_calls', { mfa: 'NoSuch.Module.run/1' }, /no module NoSuch\.Module is loaded/],
      ['trace_calls', { mfa: 'compute' }, /is not Module:function\/arity/],
      ['trace_calls', { mfa: 'Demo.Pricing.compute/2', durationS: -5 }, /durationS must be at least 1 second/],
      ['trace_calls', { mfa: 'Demo.Pricing.compute/2', limit: 10_000_000 }, /limit is at most 1000 events/],
      ['trace_calls', { mfa: 'Demo.Pricing.compute/2', rate: 5000 }, /rate is at most 100 events per second/],
      ['trace_calls', { mfa: 'Demo.Pricing.compute/2', match: 'fun(' }, /match/],
      ['hot_functions', { durationS: 'long' }, /durationS/],
      ['findings', { durationS: 600 }, /durationS is at most 60 seconds/],
      ['trace_messages', { pid: '<0.9999.77>' }, /is not alive on/],
      ['trace_messages', { pid: 'nope' }, /is not a pid|no process is registered as nope/],
      ['compare_sessions', { a: 'nope', b: '../../etc/passwd' }, /no saved session nope|is not a session id/],
    ];
    for (const [tool, args, pattern] of cases) {
      const r = await mcp.call(tool, args);
      assert.equal(r.isError, true, `${tool} ${JSON.stringify(args)} → ${text(r)}`);
      assert.match(text(r), pattern, `${tool} ${JSON.stringify(args)}`);
    }
    data(await mcp.call('detach', {}));
    await clean(demo, [COMPUTE]);
  });
});
