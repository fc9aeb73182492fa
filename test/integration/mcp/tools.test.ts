// `beam-lens mcp` driven by the SDK's Client over stdio against the demo node: every read-only
// tool, bad inputs answered as tool errors while the server keeps serving, and results bounded
// to 32 KB on a node with 100,000 processes and a 100,000-child supervisor.
import { strict as assert } from 'node:assert';
import { Atom, Pid } from '../../../src/etf';
import { startNode, waitFor, type TestNode } from '../harness';
import { data, ensureBuilt, resultBytes, startMcp, text, type McpTestClient } from './client';

const demoCommand = { file: 'test/fixtures/demo/start.sh', args: (name: string, cookie: string) => [name, cookie] };

describe('MCP server: read-only tools on the demo node', function () {
  this.timeout(300_000);
  let demo: TestNode;
  let mcp: McpTestClient;

  before(async () => {
    ensureBuilt();
    demo = await startNode({ command: demoCommand, startTimeoutMs: 240_000 });
    await waitFor(async () => (await demo.eval(`whereis('Elixir.Demo.EventSink').`)) instanceof Pid, 30_000, 'the demo application');
    // The sink's queue and the cache's table grow after the application has started (the cache
    // fills in handle_continue): wait until both are what the tests rank first.
    const ready = `{message_queue_len, Q} = erlang:process_info(whereis('Elixir.Demo.EventSink'), message_queue_len), Q > 100 andalso ets:info(demo_cache, size) =:= 200000.`;
    await waitFor(async () => (await demo.eval(ready)) === Atom.of('true'), 60_000, 'the sink queue growing and the cache filled', 200);
    mcp = await startMcp({ args: ['--node', demo.node, '--cookie-file', demo.cookieFile] });
  });
  after(async () => {
    await mcp?.close();
    await demo?.stop();
  });

  it('lists every tool with input and output schemas, annotations and a description for a model', async () => {
    const { tools } = await mcp.client.listTools();
    const names = tools.map((t) => t.name).sort();
    for (const n of ['attach', 'detach', 'list_nodes', 'overview', 'processes', 'process_info', 'supervision_tree', 'ports', 'ets']) assert.ok(names.includes(n), `${n} in ${names.join(',')}`);
    for (const t of tools) {
      assert.ok(t.outputSchema, `${t.name} has an output schema`);
      assert.equal(t.inputSchema.type, 'object');
      assert.ok((t.description ?? '').length > 60, `${t.name} describes itself`);
      assert.ok(t.annotations, `${t.name} has annotations`);
    }
    const processes = tools.find((t) => t.name === 'processes');
    assert.equal(processes?.annotations?.readOnlyHint, true);
    const props = processes?.inputSchema.properties as Record<string, { maximum?: number; enum?: string[] }>;
    assert.equal(props.limit?.maximum, 100);
    assert.deepEqual(props.sort?.enum, ['memory', 'reductions', 'mailbox', 'reduction_rate']);
  });

  it('list_nodes shows the demo in EPMD and as attached', async () => {
    const r = data<{ registered: Array<{ name: string }>; attached: Array<{ node: string }> }>(await mcp.call('list_nodes'));
    assert.ok(r.registered.some((n) => n.name === demo.name));
    assert.deepEqual(r.attached.map((a) => a.node), [demo.node]);
  });

  it('overview, processes by mailbox, process_info, supervision_tree, ports and ets answer with node omitted', async () => {
    const o = data<{ overview: { node: string } }>(await mcp.call('overview'));
    assert.equal(o.overview.node, demo.node);
    const p = await mcp.call('processes', { sort: 'mailbox', limit: 5 });
    const page = data<{ rows: Array<{ pid: string; name: string | null }>; total: number; truncated?: { next: string } }>(p);
    assert.equal(page.rows[0]?.name, 'Elixir.Demo.EventSink', text(p));
    assert.match(page.truncated?.next ?? '', /offset: 5/);
    const filtered = data<{ rows: Array<{ name: string | null }> }>(await mcp.call('processes', { filter: 'pricing', sort: 'reductions', limit: 5 }));
    assert.ok(filtered.rows.some((r) => r.name === 'Elixir.Demo.PricingWorker'));
    const sink = page.rows[0]?.pid as string;
    const info = await mcp.call('process_info', { pid: sink, messages: 2 });
    const d = data<{ process: { pid: string; messages?: { shown: string[] }; dictionaryKeys: string[] } }>(info);
    assert.equal(d.process.pid, sink);
    assert.equal(d.process.messages?.shown.length, 2);
    assert.ok(!('dictionary' in d.process) && !('state' in d.process), 'never the dictionary values or the state');
    const tree = data<{ applications: Array<{ name: string; supervisor: { childCount: number } }> }>(await mcp.call('supervision_tree', { app: 'demo' }));
    assert.equal(tree.applications[0]?.name, 'demo');
    assert.equal(tree.applications[0]?.supervisor.childCount, 8);
    assert.ok(data<{ rows: unknown[] }>(await mcp.call('ports', { limit: 5 })).rows.length > 0);
    const ets = data<{ rows: Array<{ name: string }> }>(await mcp.call('ets', { limit: 3 }));
    assert.equal(ets.rows[0]?.name, 'demo_cache');
  });

  it('bad inputs are tool errors with actionable text, and the server keeps serving', async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['overview', { node: 'nosuch@nowhere' }, /nosuch@nowhere is not attached.*call `attach`/],
      ['process_info', { pid: 'not-a-pid' }, /is not a pid; write it as the node prints it/],
      ['process_info', { pid: '<0.9999.77>' }, /is not alive on .*find current pids with `processes`/],
      ['processes', { limit: 10_000_000 }, /limit is at most 100 rows per call; page with offset/],
      ['processes', { limit: 'many' }, /limit/],
      ['processes', { sort: 'size' }, /sort/],
      ['supervision_tree', { app: 'no_such_app' }, /no running application named no_such_app/],
      ['process_info', { pid: 42 }, /pid/],
      ['attach', { node: 'bad name!' }, /not a node name/],
    ];
    for (const [tool, args, pattern] of cases) {
      const r = await mcp.call(tool, args);
      assert.equal(r.isError, true, `${tool} ${JSON.stringify(args)} → ${text(r)}`);
      assert.match(text(r), pattern, `${tool} ${JSON.stringify(args)}`);
    }
    assert.equal(data<{ overview: { node: string } }>(await mcp.call('overview')).overview.node, demo.node, 'still serving');
  });

  it('investigate prompt lays out phase zero, a plan with cost and consent, guidance and a handoff with only these tools', async () => {
    const { tools } = await mcp.client.listTools();
    const known = new Set(tools.map((t) => t.name).concat(['findings', 'mailbox_watch', 'hot_functions', 'trace_calls', 'trace_messages', 'system_monitor', 'report', 'compare_sessions']));
    for (const symptom of ['memory', 'mailbox', 'reductions', 'crashes', 'latency']) {
      const p = await mcp.client.getPrompt({ name: 'investigate', arguments: { node: demo.node, symptom } });
      const body = p.messages.map((m) => (m.content.type === 'text' ? m.content.text : '')).join('\n');
      for (const section of ['## Phase zero', '## Instrumentation plan', '## Optimization guidance', '## Handoff', 'Summary', 'Evidence', 'Follow-up tasks']) assert.ok(body.includes(section), `${symptom}: ${section}`);
      assert.match(body, /Cost: /);
      assert.match(body, /CONSENT/);
      const named = [...body.matchAll(/^\d+\. ([a-z_]+) /gm)].map((m) => m[1] as string);
      assert.ok(named.length >= 5);
      for (const n of named) assert.ok(known.has(n), `${symptom} names an unknown tool ${n}`);
    }
  });
});

describe('MCP server: results bounded on a node with 100,000 processes and a 100,000-child supervisor', function () {
  this.timeout(400_000);
  let big: TestNode;
  let mcp: McpTestClient;

  before(async () => {
    ensureBuilt();
    big = await startNode({ command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie, '+P', '1000000'] }, env: { DEMO_SESSIONS: '100000' }, startTimeoutMs: 240_000 });
    await waitFor(async () => (await big.eval(`proplists:get_value(active, supervisor:count_children('Elixir.Demo.SessionSupervisor')).`)) === 100_000, 120_000, '100,000 sessions', 500);
    mcp = await startMcp({ args: ['--node', big.node, '--cookie-file', big.cookieFile] });
  });
  after(async () => {
    await mcp?.close();
    await big?.stop();
  });

  it('processes pages stay under 32 KB with a next-page note', async () => {
    const r = await mcp.call('processes', { sort: 'memory', limit: 100 });
    const page = data<{ total: number; rows: unknown[]; truncated?: { next: string } }>(r);
    assert.ok(page.total > 100_000, String(page.total));
    assert.ok(resultBytes(r) <= 32 * 1024, `${resultBytes(r)} bytes`);
    assert.match(page.truncated?.next ?? '', /offset: \d+/);
    const next = Number(/offset: (\d+)/.exec(page.truncated?.next ?? '')?.[1]);
    const r2 = await mcp.call('processes', { sort: 'memory', limit: 100, offset: next });
    assert.equal(data<{ offset: number }>(r2).offset, next);
  });

  it('the supervision tree of the huge supervisor is cut to fit and says how to page it', async () => {
    const r = await mcp.call('supervision_tree', { app: 'demo', pageSize: 100, depth: 32 });
    assert.ok(resultBytes(r) <= 32 * 1024, `${resultBytes(r)} bytes`);
    assert.match(text(r), /100000 children/);
    const sup = (await big.eval(`pid_to_list(whereis('Elixir.Demo.SessionSupervisor')).`)) as number[];
    const pid = String.fromCharCode(...sup);
    const page = await mcp.call('supervision_tree', { supervisor: pid, offset: 500, pageSize: 100 });
    const s = data<{ supervisor: { childCount: number; children: unknown[] }; truncated?: { next: string } }>(page);
    assert.equal(s.supervisor.childCount, 100_000);
    assert.ok(s.supervisor.children.length > 0 && s.supervisor.children.length <= 100);
    assert.match(s.truncated?.next ?? '', /offset: \d+/);
    assert.ok(resultBytes(page) <= 32 * 1024);
  });
});
