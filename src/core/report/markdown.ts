// The report document as GitHub-flavoured Markdown (what `beam-lens report --out` and "Save as
// Markdown" write). Text is escaped only where Markdown would read it as markup (so
// `gen_server:loop/7` stays readable), code spans are fenced with enough backticks for what they
// hold, and table cells escape their pipes. Node data can never become HTML, a link or emphasis.
import type { ReportBlock, ReportChart, ReportDocument, ReportFinding, ReportSection, ReportTable, RichText, TableCell, TextSpan } from './document';

/** Where a piece of inline Markdown goes: table cells also need their pipes escaped. */
type Place = 'inline' | 'table';

export interface MarkdownOptions {
  /** The image of each chart, as a path relative to the Markdown file (chart-files.ts); a chart without one shows its table only. */
  chartImages?: ReadonlyMap<ReportChart, string>;
}

export function renderReportMarkdown(doc: ReportDocument, options: MarkdownOptions = {}): string {
  const out: string[] = [`# ${heading(doc.title)}`, '', startOfLine(inline(doc.byline)), ''];
  const images = options.chartImages ?? new Map<ReportChart, string>();
  for (const s of doc.sections) renderSection(s, 2, out, images);
  // One blank line at the end, as before.
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return `${out.join('\n')}\n`;
}

function renderSection(s: ReportSection, level: number, out: string[], images: ReadonlyMap<ReportChart, string>): void {
  out.push(`${'#'.repeat(Math.min(6, level))} ${escapeHeading(escapeText(s.title, 'inline'))}`, '');
  for (const b of s.blocks) renderBlock(b, level, out, images);
  for (const sub of s.sections) renderSection(sub, level + 1, out, images);
}

function renderBlock(b: ReportBlock, level: number, out: string[], images: ReadonlyMap<ReportChart, string>): void {
  switch (b.kind) {
    case 'paragraph':
      out.push(startOfLine(inline(b.text)), '');
      return;
    case 'facts':
      out.push(...table({ columns: [{ label: '', type: 'text' }, { label: '', type: 'text' }], rows: b.facts.map((f) => [{ kind: 'text', text: f.label }, { kind: 'rich', text: f.value }]) }), '');
      return;
    case 'finding':
      out.push(...finding(b.finding, level + 1), '');
      return;
    case 'list':
      b.items.forEach((item, i) => out.push(`${b.ordered ? `${i + 1}.` : '-'} ${startOfLine(inline(item))}`));
      out.push('');
      return;
    case 'table':
      out.push(...table(b.table), '');
      return;
    case 'chart': {
      const image = images.get(b.chart);
      if (image !== undefined) out.push(imageLink(b.chart.title, image), '');
      out.push(startOfLine(escapeText(`${b.chart.title}:`, 'inline')), '', ...table(b.chart.fallback), '');
      return;
    }
    default:
      assertNever(b);
  }
}

/** `![title](path)`: the alt text escaped like any text, each path segment percent-encoded (so no name can end the link). */
export function imageLink(alt: string, relativePath: string): string {
  const target = relativePath.split('/').map(encodeURIComponent).join('/');
  return `![${escapeText(alt, 'inline')}](${target})`;
}

function finding(f: ReportFinding, level: number): string[] {
  const lines = [`${'#'.repeat(Math.min(6, level))} ${f.number}. [${f.severity.toUpperCase()}] ${heading(f.title)}`, '', `- Finding id: ${codeSpan(f.id, 'inline')}`];
  if (f.process) lines.push(`- Process: ${codeSpan(f.process.pid, 'inline')}${f.process.name ? ` (${codeSpan(f.process.name, 'inline')})` : ''}`);
  if (f.where) {
    const w = f.where;
    lines.push(`- Where: ${codeSpan(w.symbol, 'inline')}${w.file ? ` in ${codeSpan(w.file, 'inline')}${w.line ? `:${w.line}` : ''}` : ''}`);
  }
  lines.push('- Evidence:', ...f.evidence.map((e) => `  - ${startOfLine(inline(e))}`), `- Recommendation: ${inline(f.recommendation)}`);
  return lines;
}

function table(t: ReportTable): string[] {
  const row = (cells: string[]): string => `|${cells.map((c) => (c === '' ? ' ' : ` ${c} `)).join('|')}|`;
  return [
    row(t.columns.map((c) => escapeText(c.label, 'table'))),
    `|${t.columns.map((c) => (c.type === 'number' ? '---:' : '---')).join('|')}|`,
    ...t.rows.map((r) => row(t.columns.map((_, k) => cell(r[k])))),
  ];
}

function cell(c: TableCell | undefined): string {
  if (c === undefined) return '';
  switch (c.kind) {
    case 'text':
      return escapeText(c.text, 'table');
    case 'code':
      return codeSpan(c.text, 'table');
    case 'number':
      return escapeText(c.display, 'table');
    case 'rich':
      return inline(c.text, 'table');
    default:
      return assertNever(c);
  }
}

function heading(spans: RichText): string {
  return escapeHeading(inline(spans));
}

function inline(spans: RichText, place: Place = 'inline'): string {
  return spans.map((s) => span(s, place)).join('');
}

function span(s: TextSpan, place: Place): string {
  switch (s.kind) {
    case 'text':
      return escapeText(s.text, place);
    case 'code':
      return codeSpan(s.text, place);
    case 'strong':
    case 'findingLink':
      return marked(s.text, '**', place);
    case 'emphasis':
      return marked(s.text, '*', place);
    default:
      return assertNever(s);
  }
}

/** Text between emphasis marks; surrounding spaces stay outside (else the marks would not count). */
function marked(t: string, mark: string, place: Place): string {
  const m = /^(\s*)([\s\S]*?)(\s*)$/.exec(t);
  const inner = m?.[2] ?? '';
  if (inner === '') return escapeText(t, place);
  return `${escapeText(m?.[1] ?? '', place)}${mark}${escapeText(inner, place)}${mark}${escapeText(m?.[3] ?? '', place)}`;
}

const WORD = /[\p{L}\p{N}]/u;

/**
 * Escapes plain text for use inside a Markdown line: backslashes, backticks, stars, brackets,
 * tildes; underscores except inside a word (they cannot emphasise there); `<` where it could
 * open HTML or an autolink; `&` where it could start an entity; pipes in table cells. Line breaks
 * become spaces (a line of node data cannot end a table row or start a block).
 */
export function escapeText(t: string, place: Place): string {
  const flat = t.replace(/\r\n?|\n/g, ' ');
  let out = '';
  for (let i = 0; i < flat.length; i++) {
    const c = flat[i] as string;
    const next = flat[i + 1] ?? '';
    const prev = flat[i - 1] ?? '';
    let escape: boolean;
    switch (c) {
      case '\\':
      case '`':
      case '*':
      case '[':
      case ']':
      case '~':
        escape = true;
        break;
      case '_':
        escape = !(WORD.test(prev) && WORD.test(next));
        break;
      case '<':
        escape = /[A-Za-z/!?]/.test(next);
        break;
      case '&':
        escape = /^&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);/.test(flat.slice(i, i + 34));
        break;
      case '|':
        escape = place === 'table';
        break;
      default:
        escape = false;
    }
    out += escape ? `\\${c}` : c;
  }
  return out;
}

/** Escapes what would make the start of a line a block (heading, quote, list item, rule) or indented code. */
function startOfLine(line: string): string {
  const t = line.replace(/^[ \t]+/, '');
  const ordered = /^(\d{1,9})([.)])(?=[ \t]|$)/.exec(t);
  if (ordered) return `${ordered[1] ?? ''}\\${ordered[2] ?? ''}${t.slice(ordered[0].length)}`;
  return /^[#>+=-]/.test(t) ? `\\${t}` : t;
}

/** A closing run of `#` at the end of a heading would be dropped: keep it as text. */
function escapeHeading(h: string): string {
  return h.replace(/(^|[ \t])(#+)[ \t]*$/, (_m, space: string, hashes: string) => `${space}\\${hashes}`);
}

/** A code span that shows `t` exactly: fenced by a backtick run longer than any inside, padded when needed. */
export function codeSpan(t: string, place: Place): string {
  let content = t.replace(/\r\n?|\n/g, ' ');
  if (content === '') return '';
  if (place === 'table') content = content.replace(/\|/g, '\\|');
  let longest = 0;
  for (const run of content.match(/`+/g) ?? []) longest = Math.max(longest, run.length);
  const fence = '`'.repeat(longest + 1);
  const pad = content.startsWith('`') || content.endsWith('`') || (content.startsWith(' ') && content.endsWith(' ') && content.trim() !== '') ? ' ' : '';
  return `${fence}${pad}${content}${pad}${fence}`;
}

function assertNever(x: never): never {
  throw new Error(`unhandled report part ${JSON.stringify(x)}`);
}
