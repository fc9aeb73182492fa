import { strict as assert } from 'node:assert';
import { createRequire } from 'node:module';
import { buildClusterReport, type ClusterReportInput } from '../../../../src/core/report/cluster';
import { chartsOf, reportChartFiles } from '../../../../src/core/report/chart-files';
import type { ReportBlock, ReportSection } from '../../../../src/core/report/document';
import { renderReportMarkdown } from '../../../../src/core/report/markdown';
import { readReportDocument } from '../../../../src/core/report/validate';
import { HOSTILE, reportDocument } from './fixture';

// markdown-it ships without types: html: true reads raw HTML as HTML, so any that got through shows up.
const MarkdownIt = createRequire(__filename)('markdown-it') as new (options: { html: boolean }) => { render(src: string): string };
const reader = new MarkdownIt({ html: true });

const at = new Date('2026-12-01T10:00:00.000Z');

function input(over: Partial<ClusterReportInput> = {}): ClusterReportInput {
  return {
    entry: 'a@h',
    via: 'entry',
    env: 'staging',
    windowMs: 5000,
    members: [
      { node: 'a@h', status: 'ok', report: reportDocument(at), otpRelease: '25', processCount: 1000, memoryTotal: 200 * 1024 * 1024, runQueue: 1, connectedNodes: ['b@h', 'c@h'] },
      { node: 'b@h', status: 'ok', report: reportDocument(at), otpRelease: '25', processCount: 900, memoryTotal: 100 * 1024 * 1024, runQueue: 0, connectedNodes: ['a@h'] },
      { node: 'c@h', status: 'timeout', error: 'c@h did not answer within 5000 ms (frozen, overloaded or partitioned?)' },
    ],
    clusterFindings: [
      {
        id: 'version-drift:app:shop',
        rule: 'version-drift',
        severity: 'warning',
        nodes: ['a@h', 'b@h'],
        title: `Application shop runs in different versions (1.0, 1.1) ${HOSTILE}`,
        evidence: ['1.0: a@h', '1.1: b@h'],
        subject: { name: 'shop' },
        recommendation: 'Finish the deploy; `beam-lens cluster` shows it.',
        risk: 'A restart.',
        validation: 'One version.',
      },
    ],
    missingLinks: [{ from: 'b@h', to: 'c@h' }],
    generatedAt: at,
    ...over,
  };
}

function allSections(doc: { sections: ReportSection[] }): ReportSection[] {
  const out: ReportSection[] = [];
  const visit = (s: ReportSection): void => {
    out.push(s);
    s.sections.forEach(visit);
  };
  doc.sections.forEach(visit);
  return out;
}

describe('cluster report document', () => {
  it('holds a summary, the cluster findings and one section per member, ids unique, counts summed', () => {
    const doc = buildClusterReport(input());
    const node = reportDocument(at);
    assert.equal(doc.node, 'a@h');
    assert.equal(doc.findingCounts.total, 1 + 2 * node.findingCounts.total);
    assert.deepEqual(doc.sections.map((s) => s.title).slice(0, 3), ['Cluster summary', 'Cluster findings', 'Cluster: recommended changes']);
    assert.deepEqual(doc.sections.slice(3).map((s) => s.title), ['Node a@h', 'Node b@h', 'Node c@h']);
    const ids = allSections(doc).map((s) => s.id);
    assert.equal(new Set(ids).size, ids.length, ids.join(' '));
    const findings = allSections(doc).flatMap((s) => s.blocks.filter((b): b is Extract<ReportBlock, { kind: 'finding' }> => b.kind === 'finding').map((b) => b.finding.id));
    assert.equal(new Set(findings).size, findings.length, 'the same finding on two members is two findings');
    assert.ok(findings.some((id) => id.startsWith('a@h/')) && findings.some((id) => id.startsWith('b@h/')));
    // Links point at findings of the document.
    const links = allSections(doc).flatMap((s) => s.blocks.flatMap((b) => (b.kind === 'list' ? b.items.flat() : [])).filter((x) => x.kind === 'findingLink').map((x) => (x.kind === 'findingLink' ? x.findingId : '')));
    assert.ok(links.length > 0 && links.every((l) => findings.includes(l)), links.join(' '));
    // Chart ids unique (they name SVG files) and valid.
    const charts = chartsOf(doc).map((c) => c.id);
    assert.equal(new Set(charts).size, charts.length);
    assert.ok(charts.every((id) => id !== undefined && /^[a-z0-9][a-z0-9-]{0,63}$/.test(id)), charts.join(' '));
    assert.equal(reportChartFiles(doc, '/tmp/x.md').length, 2 * chartsOf(node).length);
    // It reads back like any report document (session files, the webview).
    assert.deepEqual(readReportDocument(JSON.parse(JSON.stringify(doc))), doc);
  });

  it('renders to Markdown with the member that did not answer, the missing link, and node data as text', () => {
    const md = renderReportMarkdown(buildClusterReport(input()));
    assert.match(md, /^# BEAM Lens cluster report: `a@h` and 2 other members$/m);
    assert.match(md, /\| `c@h` \| timeout \|/);
    assert.match(md, /`c@h` did not answer \(timeout\): c@h did not answer within 5000 ms/);
    assert.match(md, /- `b@h` does not list `c@h`/);
    assert.match(md, /^### 1\. \[WARNING\] Application shop runs in different versions/m);
    assert.ok(!/<img/i.test(reader.render(md)), 'no HTML from node data');
    assert.match(md, /^### Diagnostic summary$/m);
    const full = renderReportMarkdown(buildClusterReport(input({ missingLinks: [], clusterFindings: [] })));
    assert.match(full, /a full mesh/);
    assert.match(full, /No mesh, version, configuration/);
  });
});
