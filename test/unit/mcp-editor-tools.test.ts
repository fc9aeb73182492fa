// The language-model tools VS Code gets (package.json contributes.languageModelTools) are the MCP
// tools with the same input schemas; result bounds cut lists to fit 32 KB with a next-page note.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { RESULT_BYTES, STRUCTURED_BUDGET, boundText, capStrings, fitItems, toolResult } from '../../src/mcp/bounds';
import { LM_TOOLS, intrusiveSummary, lmToolName } from '../../src/mcp/editor-tools';
import { createMcpServer } from '../../src/mcp/server';

interface Contribution {
  name: string;
  modelDescription: string;
  inputSchema: Record<string, unknown>;
}

describe('MCP tools offered to VS Code language models', () => {
  it('package.json contributes every editor tool with the MCP input schema and description', async () => {
    const mcp = createMcpServer({ cwd: '/nonexistent', preapproved: {}, defaultCookie: { kind: 'default' } }, () => Promise.reject(new Error('no attach in this test')));
    const [c, s] = InMemoryTransport.createLinkedPair();
    await mcp.server.connect(s);
    const client = new Client({ name: 'unit', version: '1' });
    await client.connect(c);
    try {
      const { tools } = await client.listTools();
      const pkg = JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { contributes: { languageModelTools: Contribution[] } };
      const contributed = pkg.contributes.languageModelTools;
      assert.deepEqual(contributed.map((t) => t.name), LM_TOOLS.map(lmToolName));
      for (const name of LM_TOOLS) {
        const tool = tools.find((t) => t.name === name);
        const c2 = contributed.find((t) => t.name === lmToolName(name));
        assert.ok(tool && c2, name);
        const { $schema: _ignored, ...schema } = tool.inputSchema as Record<string, unknown>;
        assert.deepEqual(c2.inputSchema, schema, `${name}: regenerate the contribution from the MCP schema`);
        assert.ok(c2.modelDescription.startsWith(tool.description ?? '-'), name);
      }
      assert.ok(!LM_TOOLS.includes('attach' as never), 'the sidebar owns connections');
    } finally {
      await client.close();
      await mcp.shutdown();
    }
  });

  it('says what intrusive calls set, and nothing for read-only ones', () => {
    assert.match(intrusiveSummary('trace_calls', { mfa: 'Demo.Pricing.compute/2', rate: 5 }) ?? '', /call trace pattern on Demo\.Pricing\.compute\/2 \(at most 5 events\/s.*arity only/);
    assert.match(intrusiveSummary('hot_functions', {}) ?? '', /call_count/);
    assert.equal(intrusiveSummary('processes', {}), null);
    assert.equal(intrusiveSummary('report', {}), null);
    assert.match(intrusiveSummary('report', { allowTrace: true }) ?? '', /count calls/);
  });
});

describe('MCP result bounds', () => {
  it('fits the longest prefix of a list and keeps results under 32 KB', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => ({ pid: `<0.${i}.0>`, name: `worker_${i}`, memory: i * 1000 }));
    const { value, shown } = fitItems(rows, (r) => ({ total: rows.length, rows: r }), STRUCTURED_BUDGET);
    assert.ok(shown > 100 && shown < 5000);
    assert.ok(Buffer.byteLength(JSON.stringify(value)) <= STRUCTURED_BUDGET);
    assert.ok(Buffer.byteLength(JSON.stringify(fitItems(rows, (r) => ({ rows: r }), STRUCTURED_BUDGET).value)) > STRUCTURED_BUDGET - 200, 'fills the budget');
    const r = toolResult(value, rows.map((x) => x.pid).join('\n'));
    assert.ok(Buffer.byteLength(JSON.stringify(r.structuredContent)) + Buffer.byteLength((r.content[0] as { text: string }).text) <= RESULT_BYTES);
    assert.match((r.content[0] as { text: string }).text, /text cut at \d+ bytes/);
  });

  it('cuts long strings from the node and refuses an unbounded structured result', () => {
    assert.match(capStrings({ a: ['x'.repeat(5000)] }).a[0] ?? '', /…\(4000 more chars\)$/);
    assert.equal(boundText('short'), 'short');
    assert.throws(() => toolResult({ rows: Array.from({ length: 200 }, () => 'y'.repeat(900)) }, ''), /over the 32768-byte bound/);
  });
});
