// The diagnostic report as a typed document (document.ts): summary, findings with
// evidence, recommended changes, a risk & validation plan and an appendix. Node data goes in as
// plain text; the renderers (markdown.ts, the report webview) decide how to show it.
import { formatModule } from '../../etf';
import { displayMfa, type Finding, type Severity } from '../findings/rules';
import { reportAppendix } from './appendix';
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
  type RichText,
  type SummaryFact,
} from './document';
import type { NodeSamples } from '../findings/sampler';
import type { SchedulingSample } from '../findings/scheduling';
import type { TrendSamples } from '../findings/trends';
import { telemetrySection, type ReportTelemetry } from './telemetry-section';
import { trendSection } from './trend-charts';

const MiB = 1024 * 1024;

export interface ReportInput {
  samples: NodeSamples;
  findings: Finding[];
  env: string;
  /** Whether the probe was loaded (else zero-install). */
  probe: boolean;
  /** Why counting calls was asked for but did not run (diagnose's tracingNote). */
  tracingNote?: string;
  /** Microstate accounting over the window (diagnose's `scheduling`), charted when present. */
  scheduling?: SchedulingSample;
  /** Telemetry on the node (listed; counted over the window with consent): a section of its own. */
  telemetry?: ReportTelemetry;
  /** A leak-trend watch over the window: its findings are among `findings`; its projections get a section. */
  trends?: { samples: TrendSamples; findings: Finding[] };
  generatedAt?: Date;
}

export function buildReport(input: ReportInput): ReportDocument {
  const { samples: s, findings } = input;
  const generatedAt = (input.generatedAt ?? new Date()).toISOString();
  const counts = { critical: 0, warning: 0, info: 0, total: findings.length } satisfies Record<Severity, number> & { total: number };
  for (const f of findings) counts[f.severity]++;
  return {
    version: REPORT_DOCUMENT_VERSION,
    node: s.node,
    env: input.env,
    generatedAt,
    title: [text('BEAM Lens report: '), code(s.node)],
    byline: [
      text(`Generated ${generatedAt} · environment `),
      strong(input.env),
      text(
        ` · sampled read-only for ${(s.windowMs / 1000).toFixed(1)} s from ${s.startedAt} · ` +
          (input.probe ? 'probe loaded' : 'zero-install (no code loaded on the node)'),
      ),
    ],
    findingCounts: counts,
    sections: [
      section('summary', 'Diagnostic summary', [
        {
          kind: 'paragraph',
          text: [
            strong(`${counts.total} finding${counts.total === 1 ? '' : 's'}`),
            text(` (${counts.critical} critical, ${counts.warning} warning${counts.warning === 1 ? '' : 's'}, ${counts.info} info).`),
          ],
        },
        { kind: 'facts', facts: summaryFacts(s) },
      ]),
      section('findings', 'Findings', findings.length === 0 ? [paragraph('Nothing stood out in this window. Sample longer or under load to be sure.')] : findings.map((f, i) => ({ kind: 'finding', finding: reportFinding(f, i + 1) }))),
      ...(input.trends ? [trendSection(input.trends.samples, input.trends.findings)] : []),
      section('recommended-changes', 'Recommended changes', findings.length === 0 ? [paragraph('None from this window.')] : [recommendedChanges(findings)]),
      section('risk-and-validation', 'Risk & validation plan', [
        ...(findings.length > 0 ? [riskTable(findings)] : []),
        paragraph(
          'Roll changes out one at a time, on staging first, and re-run this report under comparable load after each: ' +
            'every finding above should disappear or shrink, and no new one should appear. Keep the previous release ready to roll back.',
        ),
      ]),
      // Only where telemetry runs: a node without it gets no empty section.
      ...(input.telemetry?.listing.running ? [telemetrySection(input.telemetry)] : []),
      section('appendix', 'Appendix', [], reportAppendix(s, input.tracingNote, input.scheduling)),
    ],
  };
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

function summaryFacts(s: NodeSamples): SummaryFact[] {
  const o = s.overviewEnd;
  const util = o.schedulerUtilization;
  const fact = (label: string, value: string | RichText): SummaryFact => ({ label, value: typeof value === 'string' ? [text(value)] : value });
  return [
    fact('Node', [code(s.node), text(` · OTP ${o.otpRelease} · ERTS ${o.ertsVersion}`)]),
    fact('Uptime', formatUptime(o.uptimeMs)),
    fact('Schedulers', `${o.schedulers.online}/${o.schedulers.total} online` + (util ? ` · utilization ${pct(util.total)} (${util.perScheduler.map(pct).join(', ')})` : '')),
    fact(
      'Run queue',
      `${o.runQueue.total} (per scheduler: ${o.runQueue.perScheduler.join(', ')}` +
        (o.runQueue.dirtyCpu !== undefined ? `; dirty CPU ${o.runQueue.dirtyCpu}, dirty IO ${o.runQueue.dirtyIo ?? 0}` : '') +
        ')',
    ),
    fact('Reductions', `${count(s.totalReductionsPerSec)}/s over the window`),
    fact(
      'Memory',
      `${mib(o.memory.total)} total · processes ${mib(o.memory.processes)} · binary ${mib(o.memory.binary)} · ETS ${mib(o.memory.ets)} · ` +
        `atom ${mib(o.memory.atom)} · code ${mib(o.memory.code)} · system ${mib(o.memory.system)}`,
    ),
    fact('Memory change', `${signed((o.memory.total - s.overviewStart.memory.total) / MiB)} MiB over the window`),
    fact(
      'Counts / limits',
      Object.entries(o.limits)
        .map(([k, v]) => `${k === 'etsTables' ? 'ETS tables' : k} ${v.count.toLocaleString('en-US')}${v.limit ? ` / ${v.limit.toLocaleString('en-US')}` : ''}`)
        .join(' · '),
    ),
    fact('IO', `in ${mib(o.io.inputBytes)} · out ${mib(o.io.outputBytes)} since start`),
  ];
}

function reportFinding(f: Finding, number: number): ReportFinding {
  const out: ReportFinding = {
    id: f.id,
    number,
    severity: f.severity,
    rule: f.rule,
    // Titles and evidence are plain text (node data); advice marks code with backticks.
    title: [text(f.title)],
    evidence: f.evidence.map((e) => [text(e)]),
    recommendation: spansOfMarkedText(f.recommendation),
    risk: spansOfMarkedText(f.risk),
    validation: spansOfMarkedText(f.validation),
  };
  if (f.subject.pid) out.process = { pid: f.subject.pid, ...(f.subject.name ? { name: formatModule(f.subject.name) } : {}) };
  if (f.location) {
    const l = f.location;
    const where = l.function ? displayMfa(`${l.module}:${l.function}${l.arity !== undefined ? `/${l.arity}` : ''}`) : formatModule(l.module);
    out.where = { symbol: where, ...(l.file ? { file: l.file } : {}), ...(l.file && l.line ? { line: l.line } : {}) };
  }
  return out;
}

function recommendedChanges(findings: Finding[]): ReportBlock {
  return {
    kind: 'list',
    ordered: true,
    items: findings.map((f) => [{ kind: 'findingLink', findingId: f.id, text: f.title }, text(': '), ...spansOfMarkedText(f.recommendation)]),
  };
}

function riskTable(findings: Finding[]): ReportBlock {
  return {
    kind: 'table',
    table: {
      columns: [
        { label: '#', type: 'number' },
        { label: 'Change', type: 'text' },
        { label: 'What could go wrong', type: 'text' },
        { label: 'How to validate', type: 'text' },
      ],
      rows: findings.map((f, i) => [
        numberCell(i + 1, 'count'),
        { kind: 'rich', text: spansOfMarkedText(shortTitle(f)) },
        { kind: 'rich', text: spansOfMarkedText(f.risk) },
        { kind: 'rich', text: spansOfMarkedText(f.validation) },
      ]),
    },
  };
}

function shortTitle(f: Finding): string {
  const first = f.recommendation.split(/(?<=\.)\s/)[0] ?? f.recommendation;
  return `${f.rule} (${f.subject.name ? formatModule(f.subject.name) : f.subject.module ? formatModule(f.subject.module) : f.subject.pid ?? 'node'}): ${first}`;
}

function signed(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
}

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}
