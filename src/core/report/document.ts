// The diagnostic report as a typed document: what `report` found, as data rather than Markdown.
// Core builds it once (build.ts); the CLI and "Save as Markdown" render it to Markdown
// (markdown.ts), the report webview renders it to DOM with text nodes only, and a saved
// report session carries it. Plain JSON only: it crosses to the webview and into session files.
// Every string is plain text (node data comes from strangers): markup exists only as span kinds.
import type { Severity } from '../findings/rules';

/** A run of text with one meaning; `text` is shown as it is, never read as markup. */
export type TextSpan =
  | { kind: 'text'; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'strong'; text: string }
  | { kind: 'emphasis'; text: string }
  /** A reference to a finding of the same document (the webview focuses it; Markdown shows the text in bold). */
  | { kind: 'findingLink'; findingId: string; text: string };

/** A line of text made of spans (a paragraph, a table cell, an evidence line). */
export type RichText = TextSpan[];

export const REPORT_DOCUMENT_VERSION = 1;

export interface ReportDocument {
  /** Format of this document; a reader refuses versions it does not know. */
  version: typeof REPORT_DOCUMENT_VERSION;
  node: string;
  env: string;
  /** ISO time the document was built. */
  generatedAt: string;
  title: RichText;
  /** The line under the title: when, how long, how (read-only, probe or not). */
  byline: RichText;
  findingCounts: Record<Severity, number> & { total: number };
  sections: ReportSection[];
}

export interface ReportSection {
  /** Unique within the document and stable across runs ("summary", "findings", "supervisors"). */
  id: string;
  title: string;
  blocks: ReportBlock[];
  /** Sections one level down (the appendix's tables). */
  sections: ReportSection[];
}

export type ReportBlock =
  | { kind: 'paragraph'; text: RichText }
  | { kind: 'facts'; facts: SummaryFact[] }
  | { kind: 'finding'; finding: ReportFinding }
  | { kind: 'list'; ordered: boolean; items: RichText[] }
  | { kind: 'table'; table: ReportTable }
  | { kind: 'chart'; chart: ReportChart };

/** One line of the diagnostic summary: "Uptime: 3 d 4 h". */
export interface SummaryFact {
  label: string;
  value: RichText;
}

export interface ReportFinding {
  /** The finding's id (rule + subject), the same as in the sidebar, the lens and the JSON. */
  id: string;
  /** Its position in the report, from 1. */
  number: number;
  severity: Severity;
  /** The rule that found it: a RuleId when built by this version, kept as any name when read back from a file. */
  rule: string;
  title: RichText;
  process?: { pid: string; name?: string };
  /** The function or module it points at, as the user would write it (`Demo.Sink.handle_cast/2`, `gen_server:loop/7`), and its source file when known. */
  where?: { symbol: string; file?: string; line?: number };
  evidence: RichText[];
  recommendation: RichText;
  risk: RichText;
  validation: RichText;
}

export type ColumnType = 'text' | 'number';

export interface TableColumn {
  label: string;
  /** Numbers are right-aligned; their cells carry the value as well as how it is shown. */
  type: ColumnType;
}

/** `percent` values are 0..100; `microseconds` are durations (telemetry percentiles). */
export type NumberUnit = 'count' | 'bytes' | 'per-second' | 'percent' | 'microseconds';

export type TableCell =
  | { kind: 'text'; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'number'; value: number; unit: NumberUnit; display: string }
  | { kind: 'rich'; text: RichText };

export interface ReportTable {
  columns: TableColumn[];
  /** Each row has one cell per column. */
  rows: TableCell[][];
}

/** How a chart is drawn: lines over time, bars per category (one per series), stacked bars, or a trend's projection. */
export type ChartShape = 'lines' | 'bars' | 'stacked' | 'projection';

/**
 * A trend fitted over a watch and projected forward (shape 'projection'): the measured points are
 * the chart's first series; the line is value = intercept + perMs × ms (ms since the watch started).
 */
export interface ChartProjection {
  intercept: number;
  perMs: number;
  /** Where the projection ends (ms since the start): where the line meets the limit, or a horizon. */
  untilMs: number;
  /** The limit the line runs into (the atom limit, +P), when there is one. */
  limit?: { value: number; label: string };
  /** Said at the end of the projection: "atom table full in 11.1 h". */
  endLabel: string;
}

/**
 * Measurements as a chart: series over the window (lines) or per category (bars, where a point's
 * x is the index into `x.categories`). Views draw it (chart-picture.ts); `fallback` is the same
 * data as a table, kept next to the picture for readers that cannot see it.
 */
export interface ReportChart {
  /** Unique within the document, [a-z0-9-]: names the chart's SVG file ("mailbox"). Absent in documents of older versions. */
  id?: string;
  /** Absent means lines (documents of older versions). */
  shape?: ChartShape;
  title: string;
  x: { label: string; unit: 'ms' | 'category'; categories?: string[] };
  y: { label: string; unit: NumberUnit };
  series: Array<{ label: string; points: Array<[number, number]> }>;
  /** With shape 'projection': the fitted line and where it leads. */
  projection?: ChartProjection;
  /** The same data as a table. */
  fallback: ReportTable;
}

// ---- Building spans --------------------------------------------------------------------------

export const text = (t: string): TextSpan => ({ kind: 'text', text: t });
export const code = (t: string): TextSpan => ({ kind: 'code', text: t });
export const strong = (t: string): TextSpan => ({ kind: 'strong', text: t });

/**
 * Spans of a finding's text, where rules mark code with backticks ("use `:binary.copy/1`"):
 * a run of N backticks opens a code span that the next run of exactly N closes (as in Markdown);
 * a run without its match stays text. Nothing else is read as markup.
 */
export function spansOfMarkedText(s: string): RichText {
  const out: RichText = [];
  const push = (span: TextSpan): void => {
    if (span.text === '') return;
    const last = out[out.length - 1];
    if (span.kind === 'text' && last?.kind === 'text') last.text += span.text;
    else out.push(span);
  };
  let i = 0;
  let plain = '';
  while (i < s.length) {
    if (s[i] !== '`') {
      plain += s[i];
      i++;
      continue;
    }
    let n = 1;
    while (s[i + n] === '`') n++;
    const close = findRun(s, n, i + n);
    if (close < 0) {
      plain += s.slice(i, i + n);
      i += n;
      continue;
    }
    push(text(plain));
    plain = '';
    let inner = s.slice(i + n, close);
    if (inner.length > 2 && inner.startsWith(' ') && inner.endsWith(' ') && inner.trim() !== '') inner = inner.slice(1, -1);
    push(inner === '' ? text(s.slice(i, close + n)) : code(inner));
    i = close + n;
  }
  push(text(plain));
  return out;
}

/** Index of the next run of exactly `n` backticks from `from`, or -1. */
function findRun(s: string, n: number, from: number): number {
  for (let i = from; i < s.length; ) {
    if (s[i] !== '`') {
      i++;
      continue;
    }
    let k = 1;
    while (s[i + k] === '`') k++;
    if (k === n) return i;
    i += k;
  }
  return -1;
}

/** The text of spans without their marks (for matching and plain-text output). */
export function plainTextOf(spans: RichText): string {
  return spans.map((s) => s.text).join('');
}

// ---- Building blocks -------------------------------------------------------------------------

export function section(id: string, title: string, blocks: ReportBlock[], sections: ReportSection[] = []): ReportSection {
  return { id, title, blocks, sections };
}

export function paragraph(t: string | RichText): ReportBlock {
  return { kind: 'paragraph', text: typeof t === 'string' ? [text(t)] : t };
}

const MiB = 1024 * 1024;

/** Bytes as the report shows them: MiB with one decimal. */
export function mib(n: number): string {
  return `${(n / MiB).toFixed(1)} MiB`;
}

/** A count or rate as the report shows it: rounded, with thousands separators. */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Microseconds as the report shows them: "850 µs", "5.1 ms", "1.2 s". */
export function micros(v: number): string {
  if (v >= 1_000_000) return `${(v / 1_000_000).toFixed(v >= 10_000_000 ? 0 : 1)} s`;
  if (v >= 1000) return `${(v / 1000).toFixed(v >= 100_000 ? 0 : 1)} ms`;
  return `${v.toFixed(v >= 10 ? 0 : 1)} µs`;
}

export function numberCell(value: number, unit: NumberUnit): TableCell {
  return { kind: 'number', value, unit, display: unit === 'bytes' ? mib(value) : unit === 'percent' ? `${value.toFixed(1)}%` : unit === 'microseconds' ? micros(value) : count(value) };
}
