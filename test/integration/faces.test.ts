// Every face attached to ONE demo node agrees on the findings: `beam-lens findings --json`, the
// report (`beam-lens report --json` and the facts it saves), the language server's diagnostics
// (attached by itself with --node, and from the saved report), and the extension's pure sidebar
// model over live facts. Same ids, same severities. Needs `npm run build`.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { attach } from '../../src/core/attach';
import type { Finding } from '../../src/core/findings/rules';
import { readReportDocument } from '../../src/core/report/validate';
import { factsCollector } from '../../src/core/facts/runtime-facts';
import type { Attachment } from '../../src/core/attach/attachment';
import { loadSession } from '../../src/core/records/store';
import type { ReportSessionResult } from '../../src/core/facts/saved-facts';
import { walkTree } from '../../src/core/inspect/tree';
import { findingItems } from '../../src/extension/model/sidebar';
import { startNode, waitFor, type TestNode } from './harness';
import { LspTestClient } from './lsp-client';
import { data, startMcp } from './mcp/client';
import { parseXml, xmlElements } from '../unit/core/report/xml';

const root = path.join(__dirname, '../..');
const bin = path.join(root, 'bin/beam-lens');
const serverJs = path.join(root, 'dist/server.js');

/** The findings every face must show for the demo: its restart loop and its growing mailbox. */
const EXPECTED: Array<[string, Finding['severity']]> = [
  ['mailbox-growth:Demo.EventSink', 'critical'],
  ['restart-storm:Demo.Flaky.Supervisor', 'critical'],
];

function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { cwd, env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : err ? 1 : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

type Pair = [string, string];
const pairs = (fs: ReadonlyArray<{ id: string; severity: string }>): Pair[] => fs.map((f): Pair => [f.id, f.severity]).sort((a, b) => a[0].localeCompare(b[0]));
const expectedIn = (got: Pair[]): Pair[] => got.filter(([id]) => EXPECTED.some(([e]) => e === id));

/** Every diagnostic the server published, as [finding id, finding severity] (LSP severity checked too). */
function diagnosticPairs(client: LspTestClient): Pair[] {
  const out = new Map<string, string>();
  for (const list of client.diagnostics.values()) {
    for (const d of list) {
      const data = d.data as { findingId: string; severity: string };
      assert.equal(d.severity, data.severity === 'info' ? 3 : 2, `LSP severity of ${data.findingId}`);
      out.set(data.findingId, data.severity);
    }
  }
  return [...out].sort((a, b) => a[0].localeCompare(b[0]));
}

describe('faces agree on the findings of one node', function () {
  this.timeout(300_000);
  let demo: TestNode;
  let ws: string;
  let session: Attachment;

  before(async () => {
    ws = mkdtempSync(path.join(tmpdir(), 'beam-lens-faces-'));
    cpSync(path.join(root, 'test/fixtures/demo/lib'), path.join(ws, 'lib'), { recursive: true });
    demo = await startNode({ command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie] }, startTimeoutMs: 240_000 });
    session = await attach({ node: demo.node, cookie: { kind: 'file', path: demo.cookieFile } });
    // Both pathologies are under way: the flaky supervisor remembers two restarts (from then on
    // it holds 2 or 3 of its 3 allowed: critical), the sink's queue has built up.
    await waitFor(
      async () => {
        const trees = await session.tree({ pageSize: 20 });
        const flaky = trees.flatMap((t) => (t.supervisor ? [...walkTree(t.supervisor)] : [])).find(({ node }) => node.name === 'Elixir.Demo.Flaky.Supervisor');
        const q = String(await demo.eval("element(2, erlang:process_info(whereis('Elixir.Demo.EventSink'), message_queue_len))."));
        return (flaky?.node.restarts ?? 0) >= 2 && Number(q) > 2000 ? true : undefined;
      },
      60_000,
      'the demo to build up its restarts and its mailbox',
      500,
    );
  });

  after(async () => {
    await session?.detach();
    await demo?.stop();
    if (ws) rmSync(ws, { recursive: true, force: true });
  });

  it('CLI findings, the report, the saved report, LSP diagnostics (live and saved) and the sidebar agree', async () => {
    const conn = ['--node', demo.node, '--cookie-file', demo.cookieFile];
    const live = await LspTestClient.start([bin, 'lsp', '--stdio', ...conn, '--refresh', '2', '--no-saved-sessions'], ws);
    try {
      const [findings, report] = await Promise.all([
        cli(['findings', ...conn, '--duration', '3', '--json'], ws),
        cli(['report', ...conn, '--duration', '3', '--json', '--out', path.join(ws, 'report.md')], ws),
      ]);
      assert.equal(findings.code, 0, findings.stderr);
      assert.equal(report.code, 0, report.stderr);
      const cliPairs = pairs((JSON.parse(findings.stdout) as { findings: Finding[] }).findings);
      const reportJson = JSON.parse(report.stdout) as { findings: Finding[]; session: string };
      const reportPairs = pairs(reportJson.findings);

      // The two demo pathologies, with the same ids and severities, in both CLI faces.
      assert.deepEqual(expectedIn(cliPairs), EXPECTED, `findings --json: ${JSON.stringify(cliPairs)}`);
      assert.deepEqual(expectedIn(reportPairs), EXPECTED, `report --json: ${JSON.stringify(reportPairs)}`);

      // The saved report carries exactly the report's findings (no second copy under another id).
      const saved = loadSession(reportJson.session).result as ReportSessionResult;
      assert.deepEqual(pairs(saved.facts.findings), reportPairs, 'saved report facts');
      // So does the report document it saved (what the report view shows), and its Markdown names every finding by id.
      const document = readReportDocument(saved.report);
      assert.deepEqual(pairs(document.sections.flatMap((x) => x.blocks).flatMap((b) => (b.kind === 'finding' ? [b.finding] : []))), reportPairs, 'saved report document');
      const markdown = readFileSync(path.join(ws, 'report.md'), 'utf8');
      for (const [id] of reportPairs) assert.ok(markdown.includes(`- Finding id: \`${id}\``), `${id} in report.md`);
      // Its charts (issue 18 item 7): SVG files next to it that parse, each linked as an image by relative path.
      const charts = (JSON.parse(report.stdout) as { charts: string[] }).charts;
      const chartNames = charts.map((f) => path.relative(ws, f));
      for (const name of ['report.charts/mailbox.svg', 'report.charts/memory.svg', 'report.charts/schedulers.svg']) assert.ok(chartNames.includes(name), `${name} in ${chartNames.join(', ')}`);
      for (const name of chartNames) {
        const svg = parseXml(readFileSync(path.join(ws, name), 'utf8'));
        assert.equal(svg.name, 'svg', name);
        assert.ok(xmlElements(svg, 'text').length > 5, `${name}: labels`);
        assert.ok(markdown.includes(`](${name})`), `${name} linked from report.md`);
      }
      const mailboxSvg = readFileSync(path.join(ws, 'report.charts/mailbox.svg'), 'utf8');
      assert.ok(mailboxSvg.includes('Demo.EventSink'), 'the growing mailbox is charted');

      // The sidebar model over live facts (two collections, so mailbox growth is known).
      // Growth is measured between consecutive collections: collect until the model shows the
      // expected findings (no fixed pause; a loaded machine may need a few rounds).
      const collector = factsCollector(session);
      await collector.collect();
      const sidebarOf = (found: Finding[]): Finding[] => findingItems(demo.node, null, found).flatMap((i) => (i.kind === 'finding' ? [i.finding] : []));
      let sidebar: Finding[] = [];
      let facts = await collector.collect();
      await waitFor(async () => {
        facts = await collector.collect();
        sidebar = sidebarOf(facts.findings);
        return JSON.stringify(expectedIn(pairs(sidebar))) === JSON.stringify(EXPECTED);
      }, 60_000, 'the sidebar model to show the expected findings', 500).catch(() => undefined);
      assert.deepEqual(expectedIn(pairs(sidebar)), EXPECTED, `sidebar: ${JSON.stringify(pairs(sidebar))}`);
      // With a diagnosis the sidebar shows the report's findings as they are.
      const withDiagnosis = findingItems(demo.node, reportJson.findings, facts.findings).flatMap((i) => (i.kind === 'finding' ? [i.finding] : []));
      assert.deepEqual(pairs(withDiagnosis), reportPairs);

      // The language server attached by itself: its diagnostics name the same findings.
      await waitFor(() => (EXPECTED.every(([id]) => diagnosticPairs(live).some(([d]) => d === id)) ? true : undefined), 60_000, `live diagnostics for ${EXPECTED.map(([id]) => id).join(', ')}`, 200);
      assert.deepEqual(expectedIn(diagnosticPairs(live)), EXPECTED, 'live LSP diagnostics');
    } finally {
      assert.equal(await live.stop(), 0);
    }

    // The language server without a node shows the saved report: every diagnostic is one of the
    // report's findings with the report's severity, and both pathologies are there.
    assert.ok(readdirSync(path.join(ws, '.beam-lens/sessions')).some((f) => f.includes('-report-')));
    const offline = await LspTestClient.start([serverJs, '--stdio'], ws);
    try {
      const reportFindings = pairs((loadSession(path.join(ws, '.beam-lens/sessions', readdirSync(path.join(ws, '.beam-lens/sessions')).find((f) => f.includes('-report-')) as string)).result as ReportSessionResult).facts.findings);
      await waitFor(() => (EXPECTED.every(([id]) => diagnosticPairs(offline).some(([d]) => d === id)) ? true : undefined), 30_000, 'diagnostics from the saved report', 200);
      const shown = diagnosticPairs(offline);
      for (const p of shown) assert.ok(reportFindings.some((r) => r[0] === p[0] && r[1] === p[1]), `saved diagnostic ${JSON.stringify(p)} is a report finding`);
      assert.deepEqual(expectedIn(shown), EXPECTED);
    } finally {
      assert.equal(await offline.stop(), 0);
    }
  });
  it('the MCP face (findings and report tools) names the same findings with the same severities', async () => {
    const mcp = await startMcp({ args: ['--node', demo.node, '--cookie-file', demo.cookieFile], cwd: ws });
    try {
      const findings = data<{ findings: Finding[] }>(await mcp.call('findings', { durationS: 3 })).findings;
      assert.deepEqual(expectedIn(pairs(findings)), EXPECTED, `MCP findings: ${JSON.stringify(pairs(findings))}`);
      const report = data<{ findings: Finding[]; session: { id: string } }>(await mcp.call('report', { durationS: 3 }));
      assert.deepEqual(expectedIn(pairs(report.findings)), EXPECTED, 'MCP report');
      const saved = loadSession(path.join(ws, '.beam-lens/sessions', `${report.session.id}.json`)).result as ReportSessionResult;
      assert.deepEqual(pairs(saved.facts.findings), pairs(report.findings), 'the MCP report saves exactly its findings');
    } finally {
      await mcp.close();
    }
  });
});
