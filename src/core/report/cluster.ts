// The cluster report as one report document (document.ts): a summary of the members, the cluster
// findings (what no single node shows), then one section per member holding that member's own
// report (build.ts), its ids made unique in the document. Renderers need nothing new: the same
// Markdown writer and webview show it.
import type { Severity } from '../findings/rules';
import type { ClusterFinding } from '../cluster/rules';
import {
  REPORT_DOCUMENT_VERSION,
  code,
  count,
  mib,
  numberCell,
  paragraph,
  section,
  spansOfMarkedText,
  strong,
  text,
  type ReportBlock,
  type ReportDocument,
  type ReportFinding,
  type ReportSection,
  type RichText,
  type TableCell,
} from './document';

export interface ClusterReportMember {
  node: string;
  status: 'ok' | 'timeout' | 'unreachable' | 'error';
  error?: string;
  /** The member's own report (absent when it did not answer). */
  report?: ReportDocument;
  otpRelease?: string;
  processCount?: number;
  memoryTotal?: number;
  runQueue?: number;
  connectedNodes?: string[];
}

export interface ClusterReportInput {
  entry: string;
  via: 'entry' | 'direct';
  env: string;
  windowMs: number;
  members: ClusterReportMember[];
  clusterFindings: ClusterFinding[];
  /** Pairs of members where one does not list the other. */
  missingLinks: Array<{ from: string; to: string }>;
  generatedAt?: Date;
}

export function buildClusterReport(input: ClusterReportInput): ReportDocument {
  const generatedAt = (input.generatedAt ?? new Date()).toISOString();
  const counts = { critical: 0, warning: 0, info: 0, total: 0 } satisfies Record<Severity, number> & { total: number };
  const add = (s: Severity, n = 1): void => {
    counts[s] += n;
    counts.total += n;
  };
  for (const f of input.clusterFindings) add(f.severity);
  for (const m of input.members) {
    if (!m.report) continue;
    for (const s of ['critical', 'warning', 'info'] as const) add(s, m.report.findingCounts[s]);
  }
  const answered = input.members.filter((m) => m.status === 'ok').length;
  const reached = input.via === 'entry' ? `through ${input.entry}'s own distribution` : 'over a direct connection to each';
  return {
    version: REPORT_DOCUMENT_VERSION,
    node: input.entry,
    env: input.env,
    generatedAt,
    title: [text('BEAM Lens cluster report: '), code(input.entry), text(` and ${input.members.length - 1} other member${input.members.length === 2 ? '' : 's'}`)],
    byline: [
      text(`Generated ${generatedAt} · environment `),
      strong(input.env),
      text(` · every member sampled read-only over the same ${(input.windowMs / 1000).toFixed(1)} s window, reached ${reached}`),
    ],
    findingCounts: counts,
    sections: [
      section('cluster-summary', 'Cluster summary', [
        {
          kind: 'paragraph',
          text: [
            strong(`${input.members.length} members, ${answered} answered`),
            text(`; ${counts.total} finding${counts.total === 1 ? '' : 's'} (${counts.critical} critical, ${counts.warning} warning${counts.warning === 1 ? '' : 's'}, ${counts.info} info), ${input.clusterFindings.length} of them about the cluster.`),
          ],
        },
        membersTable(input),
        ...input.members.filter((m) => m.error).map((m) => paragraph([code(m.node), text(` ${m.status}: ${m.error ?? ''}`)])),
        input.missingLinks.length === 0
          ? paragraph('Every member that answered lists every other member (a full mesh).')
          : { kind: 'list', ordered: false, items: input.missingLinks.map((l) => [code(l.from), text(' does not list '), code(l.to)]) },
      ]),
      section(
        'cluster-findings',
        'Cluster findings',
        input.clusterFindings.length === 0
          ? [paragraph('No mesh, version, configuration, outlier, distribution or global-name problem between the members that answered.')]
          : input.clusterFindings.map((f, i): ReportBlock => ({ kind: 'finding', finding: clusterFinding(f, i + 1) })),
      ),
      ...(input.clusterFindings.length > 0
        ? [
            section('cluster-recommended-changes', 'Cluster: recommended changes', [
              {
                kind: 'list',
                ordered: true,
                items: input.clusterFindings.map((f): RichText => [{ kind: 'findingLink', findingId: f.id, text: f.title }, text(': '), ...spansOfMarkedText(f.recommendation)]),
              },
            ]),
          ]
        : []),
      ...input.members.map((m, i) => memberSection(m, i)),
    ],
  };
}

function membersTable(input: ClusterReportInput): ReportBlock {
  const opt = (v: number | undefined, unit: 'count' | 'bytes'): TableCell => (v === undefined ? { kind: 'text', text: '' } : numberCell(v, unit));
  return {
    kind: 'table',
    table: {
      columns: [
        { label: 'Node', type: 'text' },
        { label: 'Status', type: 'text' },
        { label: 'OTP', type: 'text' },
        { label: 'Processes', type: 'number' },
        { label: 'Memory', type: 'number' },
        { label: 'Run queue', type: 'number' },
        { label: 'Sees', type: 'number' },
        { label: 'Findings', type: 'number' },
      ],
      rows: input.members.map((m) => [
        { kind: 'code', text: m.node === input.entry ? `${m.node} (entry)` : m.node },
        { kind: 'text', text: m.status },
        { kind: 'text', text: m.otpRelease ?? '' },
        opt(m.processCount, 'count'),
        opt(m.memoryTotal, 'bytes'),
        opt(m.runQueue, 'count'),
        opt(m.connectedNodes?.length, 'count'),
        opt(m.report?.findingCounts.total, 'count'),
      ]),
    },
  };
}

function clusterFinding(f: ClusterFinding, number: number): ReportFinding {
  return {
    id: f.id,
    number,
    severity: f.severity,
    rule: f.rule,
    title: [text(f.title)],
    evidence: [[text('Nodes: '), ...f.nodes.flatMap((n, i) => [...(i > 0 ? [text(', ')] : []), code(n)])], ...f.evidence.map((e) => [text(e)])],
    recommendation: spansOfMarkedText(f.recommendation),
    risk: spansOfMarkedText(f.risk),
    validation: spansOfMarkedText(f.validation),
  };
}

/** [a-z0-9-] from a node name, for section and chart ids. */
function slug(node: string): string {
  return node.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'node';
}

/**
 * One member's own report under its name: section and chart ids prefixed with the member (so
 * they stay unique in the document and name distinct SVG files), finding ids and links with
 * `node/` (the same finding on two members is two findings here).
 */
function memberSection(m: ClusterReportMember, index: number): ReportSection {
  const prefix = `m${index + 1}-${slug(m.node)}`;
  if (!m.report) {
    return section(prefix, `Node ${m.node}`, [paragraph([code(m.node), text(` did not answer (${m.status}): ${m.error ?? 'no reason given'}. Its own report is missing from this cluster report; \`beam-lens report --node ${m.node}\` asks it alone.`)])]);
  }
  const doc = m.report;
  const findingId = (id: string): string => `${m.node}/${id}`;
  const rich = (r: RichText): RichText => r.map((s) => (s.kind === 'findingLink' ? { ...s, findingId: findingId(s.findingId) } : s));
  const block = (b: ReportBlock): ReportBlock => {
    switch (b.kind) {
      case 'finding':
        return { kind: 'finding', finding: { ...b.finding, id: findingId(b.finding.id) } };
      case 'list':
        return { ...b, items: b.items.map(rich) };
      case 'paragraph':
        return { kind: 'paragraph', text: rich(b.text) };
      case 'chart':
        return { kind: 'chart', chart: { ...b.chart, ...(b.chart.id !== undefined ? { id: `${prefix}-${b.chart.id}`.slice(0, 64).replace(/-+$/, '') } : {}) } };
      default:
        return b;
    }
  };
  const nest = (s: ReportSection): ReportSection => ({ id: `${prefix}-${s.id}`, title: s.title, blocks: s.blocks.map(block), sections: s.sections.map(nest) });
  const c = doc.findingCounts;
  return section(
    prefix,
    `Node ${m.node}`,
    [
      paragraph([
        code(m.node),
        text(`: ${count(c.total)} finding${c.total === 1 ? '' : 's'} (${c.critical} critical, ${c.warning} warning${c.warning === 1 ? '' : 's'}, ${c.info} info)`),
        ...(m.memoryTotal !== undefined ? [text(` · ${mib(m.memoryTotal)} total`)] : []),
      ]),
    ],
    doc.sections.map(nest),
  );
}
