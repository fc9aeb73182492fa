// The report document (src/protocol) as DOM, built through a small builder interface so it can be
// unit-tested without a browser (test/unit/webview/report/render.test.ts). Every piece of text goes in
// as a text node and attributes are a closed set: node data (names, atoms, printed terms) is
// never parsed as HTML. Findings are addressed by id: the result maps each id to its element.
import {
  assertNever,
  chartPicture,
  type ChartMark,
  type ReportChart,
  type ReportBlock,
  type ReportDocument,
  type ReportFinding,
  type ReportSection,
  type ReportTable,
  type RichText,
  type TableCell,
  type TextSpan,
} from '../../src/protocol/webview';

export type ReportTag =
  | 'section'
  | 'h1'
  | 'h2'
  | 'h3'
  | 'h4'
  | 'h5'
  | 'h6'
  | 'p'
  | 'ul'
  | 'ol'
  | 'li'
  | 'div'
  | 'span'
  | 'code'
  | 'strong'
  | 'em'
  | 'button'
  | 'table'
  | 'thead'
  | 'tbody'
  | 'tr'
  | 'th'
  | 'td';

/** The only attributes the report sets (none of them can run script). */
export type ReportAttributes = Partial<Record<'class' | 'scope' | 'title' | 'type', string>>;

/** The SVG elements a chart is drawn with (created in the SVG namespace). */
export type SvgTag = 'svg' | 'title' | 'desc' | 'line' | 'path' | 'rect' | 'circle' | 'text';

/** The only SVG attributes a chart sets: geometry and paint, all from the chart model (none can run script or load anything). */
export type SvgAttributes = Partial<
  Record<
    'class' | 'role' | 'aria-label' | 'viewBox' | 'width' | 'height' | 'x' | 'y' | 'cx' | 'cy' | 'r' | 'x1' | 'y1' | 'x2' | 'y2' | 'd' | 'fill' | 'stroke' | 'stroke-width' | 'stroke-dasharray' | 'text-anchor' | 'font-size' | 'font-weight',
    string
  >
>;

/** Builds nodes: the webview's is backed by `document`, the tests' by plain objects. */
export interface DomBuilder<E extends N, N> {
  element(tag: ReportTag, attributes: ReportAttributes, children: readonly N[]): E;
  svg(tag: SvgTag, attributes: SvgAttributes, children: readonly N[]): E;
  text(text: string): N;
  onClick(element: E, handler: () => void): void;
}

export interface RenderedReport<E> {
  /** The document's top-level elements, in order. */
  elements: E[];
  /** The element of each finding, by finding id. */
  findings: Map<string, E>;
}

export interface ReportActions {
  /** A link to a finding was clicked (e.g. in "Recommended changes"). */
  focusFinding(findingId: string): void;
}

const HEADINGS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const;

export function renderReportDocument<E extends N, N>(doc: ReportDocument, dom: DomBuilder<E, N>, actions: ReportActions): RenderedReport<E> {
  const findings = new Map<string, E>();
  const el = (tag: ReportTag, attributes: ReportAttributes, ...children: N[]): E => dom.element(tag, attributes, children);
  const heading = (level: number, children: N[], attributes: ReportAttributes = {}): E => dom.element(HEADINGS[Math.min(6, Math.max(1, level)) - 1] ?? 'h6', attributes, children);

  const span = (s: TextSpan): N => {
    switch (s.kind) {
      case 'text':
        return dom.text(s.text);
      case 'code':
        return el('code', {}, dom.text(s.text));
      case 'strong':
        return el('strong', {}, dom.text(s.text));
      case 'emphasis':
        return el('em', {}, dom.text(s.text));
      case 'findingLink': {
        const link = el('button', { class: 'finding-link', type: 'button', title: 'Show this finding' }, dom.text(s.text));
        const id = s.findingId;
        dom.onClick(link, () => actions.focusFinding(id));
        return link;
      }
      default:
        return assertNever(s);
    }
  };
  const rich = (t: RichText): N[] => t.map(span);

  const cell = (c: TableCell | undefined): N[] => {
    if (c === undefined) return [];
    switch (c.kind) {
      case 'text':
        return [dom.text(c.text)];
      case 'code':
        return [el('code', {}, dom.text(c.text))];
      case 'number':
        return [dom.text(c.display)];
      case 'rich':
        return rich(c.text);
      default:
        return assertNever(c);
    }
  };

  const table = (t: ReportTable, className = ''): E => {
    const align = (k: number): ReportAttributes => (t.columns[k]?.type === 'number' ? { class: 'number' } : {});
    return el(
      'div',
      { class: 'table-wrap' },
      el(
        'table',
        className ? { class: className } : {},
        el('thead', {}, el('tr', {}, ...t.columns.map((c, k) => el('th', { scope: 'col', ...align(k) }, dom.text(c.label))))),
        el('tbody', {}, ...t.rows.map((r) => el('tr', {}, ...t.columns.map((_, k) => dom.element('td', align(k), cell(r[k])))))),
      ),
    );
  };

  // The chart as SVG elements from the shared picture model (the same marks as the Markdown's SVG files).
  const chart = (c: ReportChart): E => {
    const p = chartPicture(c);
    const n = (v: number): string => String(v);
    const mark = (m: ChartMark): E => {
      switch (m.kind) {
        case 'line':
          return dom.svg('line', { x1: n(m.x1), y1: n(m.y1), x2: n(m.x2), y2: n(m.y2), stroke: m.stroke, 'stroke-width': n(m.width), ...(m.dash ? { 'stroke-dasharray': m.dash } : {}) }, []);
        case 'path':
          return dom.svg('path', { d: m.d, fill: 'none', stroke: m.stroke, 'stroke-width': n(m.width) }, []);
        case 'rect':
          return dom.svg('rect', { x: n(m.x), y: n(m.y), width: n(m.width), height: n(m.height), fill: m.fill }, [dom.svg('title', {}, [dom.text(m.title)])]);
        case 'circle':
          return dom.svg('circle', { cx: n(m.cx), cy: n(m.cy), r: n(m.r), fill: m.fill }, [dom.svg('title', {}, [dom.text(m.title)])]);
        case 'text':
          return dom.svg('text', { x: n(m.x), y: n(m.y), 'text-anchor': m.anchor, 'font-size': n(m.size), fill: m.fill, ...(m.bold ? { 'font-weight': 'bold' } : {}) }, [dom.text(m.text)]);
        default:
          return assertNever(m);
      }
    };
    return dom.svg('svg', { class: 'chart-picture', role: 'img', 'aria-label': p.title, viewBox: `0 0 ${p.width} ${p.height}`, width: n(p.width), height: n(p.height) }, [
      dom.svg('title', {}, [dom.text(p.title)]),
      dom.svg('desc', {}, [dom.text(p.description)]),
      ...p.marks.map(mark),
    ]);
  };

  const finding = (f: ReportFinding, level: number): E => {
    const items: E[] = [el('li', {}, dom.text('Finding id: '), el('code', {}, dom.text(f.id)))];
    if (f.process) {
      items.push(el('li', {}, dom.text('Process: '), el('code', {}, dom.text(f.process.pid)), ...(f.process.name ? [dom.text(' ('), el('code', {}, dom.text(f.process.name)), dom.text(')')] : [])));
    }
    if (f.where) {
      const w = f.where;
      const file = w.file ? [dom.text(' in '), el('code', {}, dom.text(w.file)), ...(w.line ? [dom.text(`:${w.line}`)] : [])] : [];
      items.push(el('li', {}, dom.text('Where: '), el('code', {}, dom.text(w.symbol)), ...file));
    }
    items.push(el('li', {}, dom.text('Evidence:'), el('ul', {}, ...f.evidence.map((e) => dom.element('li', {}, rich(e))))));
    items.push(el('li', {}, dom.text('Recommendation: '), ...rich(f.recommendation)));
    const element = el(
      'section',
      { class: `finding ${f.severity}` },
      heading(level, [dom.text(`${f.number}. `), el('span', { class: `severity ${f.severity}` }, dom.text(f.severity.toUpperCase())), dom.text(' '), ...rich(f.title)]),
      el('ul', {}, ...items),
    );
    findings.set(f.id, element);
    return element;
  };

  const block = (b: ReportBlock, level: number): E => {
    switch (b.kind) {
      case 'paragraph':
        return dom.element('p', {}, rich(b.text));
      case 'facts':
        return el(
          'div',
          { class: 'table-wrap' },
          el('table', { class: 'facts' }, el('tbody', {}, ...b.facts.map((f) => el('tr', {}, el('th', { scope: 'row' }, dom.text(f.label)), dom.element('td', {}, rich(f.value)))))),
        );
      case 'finding':
        return finding(b.finding, level + 1);
      case 'list':
        return dom.element(b.ordered ? 'ol' : 'ul', {}, b.items.map((item) => dom.element('li', {}, rich(item))));
      case 'table':
        return table(b.table);
      case 'chart':
        return el('div', { class: 'chart' }, el('p', {}, dom.text(`${b.chart.title}:`)), chart(b.chart), table(b.chart.fallback, 'chart-data'));
      default:
        return assertNever(b);
    }
  };

  const section = (s: ReportSection, level: number): E =>
    el('section', {}, heading(level, [dom.text(s.title)]), ...s.blocks.map((b) => block(b, level)), ...s.sections.map((sub) => section(sub, level + 1)));

  const elements = [heading(1, rich(doc.title)), el('p', { class: 'byline' }, ...rich(doc.byline)), ...doc.sections.map((s) => section(s, 2))];
  return { elements, findings };
}

/** The line above the report: node, when it was built, how many findings. */
export function reportMeta(doc: ReportDocument, formatTime: (iso: string) => string): string {
  const n = doc.findingCounts.total;
  // A document without a findings section (the editor's telemetry view) does not count findings.
  const counted = doc.sections.some((s) => s.id === 'findings') ? ` · ${n} ${n === 1 ? 'finding' : 'findings'}` : '';
  return `${doc.node} · generated ${formatTime(doc.generatedAt)}${counted}`;
}
