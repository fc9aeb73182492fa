// A scripted run of the `investigate` prompt against the demo node: no model; the test reads the
// prompt, calls the tools it names in the order it names them (filling placeholders from earlier
// results, as an agent would), accepts each consent form, and writes the handoff from what the
// tools returned. The handoff must name the demo's pathologies. Also: attach as a tool, saved
// sessions and reports as resources, compare_sessions, and leaving the node clean.
import { strict as assert } from 'node:assert';
import { Pid } from '../../../src/etf';
import { startNode, waitFor, type TestNode } from '../harness';
import { data, ensureBuilt, startMcp, text, type McpTestClient } from './client';
import { clean } from '../target-state';

interface Finding {
  id: string;
  severity: string;
  title: string;
  evidence: string[];
  recommendation: string;
  validation: string;
}

describe('MCP server: a scripted investigate run on the demo node', function () {
  this.timeout(300_000);
  let demo: TestNode;
  let mcp: McpTestClient;

  before(async () => {
    ensureBuilt();
    demo = await startNode({ command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie] }, startTimeoutMs: 240_000 });
    await waitFor(async () => (await demo.eval(`whereis('Elixir.Demo.EventSink').`)) instanceof Pid, 30_000, 'the demo application');
    // No node at start: the agent attaches itself. Every consent form is accepted as asked.
    mcp = await startMcp({ args: [], elicit: () => ({ action: 'accept', content: {} }) });
  });
  after(async () => {
    await mcp?.close();
    await demo?.stop();
  });

  it('follows the prompt step by step and ends with a handoff naming the pathologies', async () => {
    const prompt = await mcp.client.getPrompt({ name: 'investigate', arguments: { node: demo.node, symptom: 'mailbox' } });
    const body = prompt.messages.map((m) => (m.content.type === 'text' ? m.content.text : '')).join('\n');
    const steps = [...body.matchAll(/^\d+\. ([a-z_]+) (\{[^\n]*?\})?/gm)].map((m) => ({ tool: m[1] as string, args: m[2] ?? '{}' }));
    assert.deepEqual(steps.slice(0, 4).map((s) => s.tool), ['attach', 'overview', 'supervision_tree', 'processes'], 'phase zero first');
    assert.equal(steps.at(-1)?.tool, 'report', 'the plan ends with the written report');

    const evidence: string[] = [];
    const sessions: string[] = [];
    let growing = '';
    for (const step of steps) {
      const sort = /sort: "([a-z_]+)"/.exec(step.args)?.[1];
      const args: Record<string, unknown> =
        step.tool === 'attach' ? { node: demo.node, cookieFile: demo.cookieFile }
        : step.tool === 'processes' ? { sort: sort ?? 'memory', limit: 10 }
        : step.tool === 'supervision_tree' ? { app: 'demo' }
        : step.tool === 'mailbox_watch' ? { durationS: 3 }
        : step.tool === 'process_info' ? { pid: growing, messages: 3 }
        : step.tool === 'trace_messages' ? { pid: growing, rate: 10, limit: 20, durationS: 3 }
        : step.tool === 'report' ? { durationS: 7, allowTrace: true }
        : {};
      const r = await mcp.call(step.tool, args);
      assert.ok(!r.isError, `${step.tool} ${JSON.stringify(args)}: ${text(r)}`);
      const d = data<Record<string, unknown>>(r);
      const session = d.session as { id: string } | undefined;
      if (session) sessions.push(session.id);
      if (step.tool === 'supervision_tree') {
        const big = /(\S+) Demo\.SessionSupervisor one_for_one \S+ restarts \d+, (\d+) children/.exec(text(r));
        assert.ok(big, text(r));
        evidence.push(`supervision_tree: Demo.SessionSupervisor (${big[1]}) has ${big[2]} children`);
      }
      if (step.tool === 'mailbox_watch') {
        const top = (d.rows as Array<{ pid: string; name: string | null; growthPerSec: number }>)[0];
        assert.ok(top);
        growing = top.pid;
        evidence.push(`mailbox_watch (session ${session?.id}): ${top.name} ${top.pid} grows ${top.growthPerSec} msgs/s`);
      }
      if (step.tool === 'trace_messages') evidence.push(`trace_messages (session ${session?.id}): ${String(d.forwarded)} events on ${growing}`);
      if (step.tool === 'report') {
        const findings = d.findings as Finding[];
        evidence.push(...findings.map((f) => `report (${(d.report as { uri: string }).uri}): [${f.severity}] ${f.title} — ${f.evidence[0] ?? ''}`));
        const handoff = [
          '## Summary',
          ...findings.filter((f) => f.severity !== 'info').slice(0, 6).map((f) => `- ${f.title}`),
          '## Evidence',
          ...evidence.map((e) => `- ${e}`),
          '## Follow-up tasks',
          ...findings.map((f) => `- ${f.recommendation} Validate: ${f.validation}`),
        ].join('\n');
        for (const pathology of [/Demo\.EventSink's mailbox grows/, /Demo\.Pricing\.compute\/2/, /Demo\.Flaky\.Supervisor/, /Demo\.BlobCache/, /demo_cache/, /Demo\.SessionSupervisor .* has 300 children/]) {
          assert.match(handoff, pathology);
        }
        // The full report is a resource.
        const res = await mcp.client.readResource({ uri: (d.report as { uri: string }).uri });
        const md = res.contents[0] && 'text' in res.contents[0] ? res.contents[0].text : '';
        assert.match(md, /EventSink/);
      }
    }
    assert.equal(growing.length > 0, true);
    const listed = await mcp.client.listResources();
    for (const id of sessions) assert.ok(listed.resources.some((x) => x.uri === `beam-lens://sessions/${id}`), `${id} listed`);
    assert.ok(listed.resources.some((x) => x.uri.startsWith('beam-lens://reports/')));
    await clean(demo, [['Elixir.Demo.Pricing', 'compute', 2]]);
  });

  it('compare_sessions compares two mailbox watches; detach leaves no hidden node', async () => {
    const a = data<{ session: { id: string } }>(await mcp.call('mailbox_watch', { durationS: 2 }));
    const b = data<{ session: { uri: string } }>(await mcp.call('mailbox_watch', { durationS: 2 }));
    const c = data<{ kind: string; rows: Array<{ what: string; before: number | null; after: number | null }> }>(await mcp.call('compare_sessions', { a: a.session.id, b: b.session.uri }));
    assert.equal(c.kind, 'mailboxes');
    assert.ok(c.rows.some((r) => r.what === 'Elixir.Demo.EventSink' && (r.before ?? 0) > 100 && (r.after ?? 0) > 100), JSON.stringify(c.rows.slice(0, 3)));
    const mixed = await mcp.call('compare_sessions', { a: a.session.id, b: (await mcp.client.listResources()).resources.find((x) => x.uri.includes('-report-'))?.name ?? '' });
    assert.equal(mixed.isError, true);
    assert.match(text(mixed), /cannot compare a mailboxes session with a report session/);
    data(await mcp.call('detach', { node: demo.node }));
    await waitFor(async () => ((await demo.eval(`nodes(hidden).`)) as unknown[]).length <= 1, 30_000, 'only the test admin connection left');
    const r = await mcp.call('overview', {});
    assert.equal(r.isError, true);
    assert.match(text(r), /no node is attached: call `attach`/);
  });
});
