// The report webview's DOM (webview/report/render.ts) from the typed report document, built with
// a fake DOM builder: structure, findings addressed by id, links that focus a finding, typed
// table cells, and a hostile process name that stays text (never markup, never an attribute).
import { strict as assert } from 'node:assert';
import { buildReport } from '../../../../src/core/report/build';
import { chartPicture, type ReportDocument } from '../../../../src/protocol/webview';
import { renderReportDocument, reportMeta, type DomBuilder, type ReportAttributes, type ReportTag, type SvgAttributes, type SvgTag } from '../../../../webview/report/render';
import { HOSTILE, reportFindings, reportSamples } from '../../core/report/fixture';
import { projectionChart } from '../../../../src/core/report/trend-charts';

interface FakeText {
  kind: 'text';
  text: string;
}
interface FakeElement {
  kind: 'element';
  tag: ReportTag | SvgTag;
  attributes: Partial<Record<keyof ReportAttributes | keyof SvgAttributes, string>>;
  svg?: true;
  children: FakeNode[];
  click?: () => void;
}
type FakeNode = FakeText | FakeElement;

const SVG_ATTRIBUTES = ['class', 'role', 'aria-label', 'viewBox', 'width', 'height', 'x', 'y', 'cx', 'cy', 'r', 'x1', 'y1', 'x2', 'y2', 'd', 'fill', 'stroke', 'stroke-width', 'stroke-dasharray', 'text-anchor', 'font-size', 'font-weight'];

const fake: DomBuilder<FakeElement, FakeNode> = {
  element: (tag, attributes, children) => ({ kind: 'element', tag, attributes: { ...attributes }, children: [...children] }),
  svg: (tag, attributes, children) => ({ kind: 'element', tag, attributes: { ...attributes }, children: [...children], svg: true }),
  text: (text) => ({ kind: 'text', text }),
  onClick(element, handler) {
    assert.equal(element.click, undefined, 'one click handler per element');
    element.click = handler;
  },
};

function textOf(n: FakeNode): string {
  return n.kind === 'text' ? n.text : n.children.map(textOf).join('');
}

function all(nodes: FakeNode[]): FakeNode[] {
  return nodes.flatMap((n) => [n, ...(n.kind === 'element' ? all(n.children) : [])]);
}

function elements(nodes: FakeNode[], tag?: ReportTag | SvgTag): FakeElement[] {
  return all(nodes).filter((n): n is FakeElement => n.kind === 'element' && (tag === undefined || n.tag === tag));
}

const doc = (): ReportDocument => buildReport({ samples: reportSamples(), findings: reportFindings(), env: 'prod', probe: true, generatedAt: new Date('2026-12-01T10:00:00Z') });

function render(d = doc()): { nodes: FakeElement[]; findings: Map<string, FakeElement>; focused: string[] } {
  const focused: string[] = [];
  const r = renderReportDocument(d, fake, { focusFinding: (id) => focused.push(id) });
  return { nodes: r.elements, findings: r.findings, focused };
}

describe('report webview: DOM from the report document', () => {
  it('builds the title, byline and one section per document section with its heading', () => {
    const { nodes } = render();
    assert.deepEqual(nodes.map((n) => n.tag), ['h1', 'p', 'section', 'section', 'section', 'section', 'section']);
    assert.equal(textOf(nodes[0] as FakeNode), 'BEAM Lens report: demo@host');
    assert.deepEqual((nodes[0] as FakeElement).children.map((c) => (c.kind === 'element' ? c.tag : 'text')), ['text', 'code']);
    assert.match(textOf(nodes[1] as FakeNode), /^Generated 2026-12-01T10:00:00\.000Z · environment prod · sampled read-only for 5\.0 s .* · probe loaded$/);
    assert.deepEqual(elements(nodes, 'h2').map(textOf), ['Diagnostic summary', 'Findings', 'Recommended changes', 'Risk & validation plan', 'Appendix']);
    assert.deepEqual(elements(nodes, 'h3').map(textOf).slice(2), ['Busiest processes in the window', 'Largest ETS tables', 'Supervisors', 'Mailbox lengths over the window', 'Memory by type', 'Scheduler utilization', 'Method']);
  });

  it('addresses each finding by id, with its severity, process, where, evidence and recommendation', () => {
    const { findings } = render();
    assert.deepEqual([...findings.keys()], ['mailbox-growth:Elixir.Demo.EventSink', `binary-holder:${HOSTILE}`]);
    const first = findings.get('mailbox-growth:Elixir.Demo.EventSink') as FakeElement;
    assert.equal(first.tag, 'section');
    assert.equal(first.attributes.class, 'finding critical');
    assert.equal(textOf(elements([first], 'h3')[0] as FakeNode), "1. CRITICAL Demo.EventSink's mailbox grows by 98 messages/s");
    const items = (elements([first], 'ul')[0] as FakeElement).children.map(textOf);
    assert.deepEqual(items.slice(0, 3), ['Finding id: mailbox-growth:Elixir.Demo.EventSink', 'Process: <0.170.0> (Demo.EventSink)', 'Where: Demo.EventSink.handle_cast/2 in lib/demo/event_sink.ex:12']);
    assert.deepEqual(elements([first], 'ul')[1]?.children.map(textOf), ['queue 10 → 500 messages over 5.0 s', 'process <0.170.0>, memory 2.0 MiB']);
    assert.equal(items[4], 'Recommendation: Add back-pressure: turn the hot cast into GenServer.call with a timeout. Measure first.');
    assert.deepEqual(elements([first], 'code').map(textOf).slice(-2), ['cast', 'GenServer.call'], 'code marks of the advice are code elements, without backticks');
  });

  it('makes recommended changes links that focus their finding by id', () => {
    const { nodes, focused } = render();
    const links = elements(nodes, 'button');
    assert.deepEqual(links.map(textOf), ["Demo.EventSink's mailbox grows by 98 messages/s", `${HOSTILE} holds 40.0 MiB of off-heap binaries`]);
    assert.ok(links.every((l) => l.attributes.type === 'button' && l.attributes.class === 'finding-link'));
    links[1]?.click?.();
    links[0]?.click?.();
    assert.deepEqual(focused, [`binary-holder:${HOSTILE}`, 'mailbox-growth:Elixir.Demo.EventSink']);
  });

  it('builds tables from typed columns and cells: headers, right-aligned numbers, code, pipes as they are', () => {
    const { nodes } = render();
    const tables = elements(nodes, 'table');
    assert.deepEqual(tables.map((t) => t.attributes.class ?? ''), ['facts', '', '', '', '', 'chart-data', 'chart-data', 'chart-data']);
    for (const t of tables.slice(1)) {
      const width = elements([t], 'th').length;
      for (const tr of elements([t], 'tr').slice(1)) assert.equal(elements([tr], 'td').length, width, textOf(tr));
    }
    const facts = tables[0] as FakeElement;
    assert.deepEqual(elements([facts], 'th').map((th) => [textOf(th), th.attributes.scope]).slice(0, 2), [['Node', 'row'], ['Uptime', 'row']]);
    const ets = tables[3] as FakeElement;
    assert.deepEqual(elements([ets], 'th').map((th) => th.attributes.class ?? ''), ['', 'number', 'number', '', '']);
    assert.deepEqual(elements([ets], 'td').map(textOf), ['cache|table', '200,000', '23.0 MiB', 'set, public', HOSTILE]);
    const busiest = tables[2] as FakeElement;
    assert.deepEqual(elements([busiest], 'td').slice(0, 3).map((td) => [textOf(td), td.children[0]?.kind === 'element' ? td.children[0].tag : 'text']), [['<0.170.0>', 'code'], ['Demo.EventSink', 'text'], ['1,234', 'text']]);
    const risk = tables[1] as FakeElement;
    assert.ok(elements([risk], 'code').some((c) => textOf(c) === ':binary.copy/1'));
    assert.ok(elements([risk], 'td').some((td) => textOf(td) === ':binary.copy/1 costs a copy | per slice.'));
  });

  it('keeps a hostile process name as text: in text nodes only, never in an attribute or a tag', () => {
    const { nodes } = render();
    const texts = all(nodes).filter((n): n is FakeText => n.kind === 'text').map((n) => n.text);
    assert.ok(texts.filter((t) => t.includes(HOSTILE)).length >= 5, 'title, process, evidence, link, ETS owner');
    assert.ok(texts.some((t) => t === `${HOSTILE} holds 40.0 MiB of off-heap binaries`), 'the title is one text node, its backticks and marks kept');
    for (const el of elements(nodes)) {
      for (const [name, value] of Object.entries(el.attributes)) {
        assert.ok((el.svg ? SVG_ATTRIBUTES : ['class', 'scope', 'title', 'type']).includes(name), `${el.tag} ${name}`);
        assert.ok(!String(value).includes('<') && !String(value).includes('onerror'), `${name}=${String(value)}`);
      }
    }
    assert.ok(!elements(nodes).some((el) => (el.tag as string) === 'img' || (el.tag as string) === 'a'));
  });

  it('draws each chart as SVG elements from the shared picture model, hostile series names as text nodes, the table kept', () => {
    const samples = reportSamples();
    samples.mailboxes.push({ pid: '<0.9.0>', points: [[0, 3], [1000, 7]] });
    const d = buildReport({ samples, findings: reportFindings(), env: 'local', probe: true });
    const { nodes } = render(d);
    const charts = all(nodes).filter((n): n is FakeElement => n.kind === 'element' && n.attributes.class === 'chart');
    assert.equal(charts.length, 3, 'mailbox, memory, schedulers');
    for (const c of charts) {
      const svg = elements([c], 'svg')[0];
      assert.ok(svg?.svg, 'an svg element made by the SVG builder');
      assert.equal(svg.attributes.role, 'img');
      assert.ok(elements([c], 'table').length === 1, 'the data table stays as the fallback');
      // Every element under the svg is an SVG one (no HTML inside), every text is a text node.
      assert.ok(elements([svg]).every((e) => e.svg));
    }
    const mailbox = charts[0] as FakeElement;
    const picture = chartPicture(d.sections[4]?.sections[3]?.blocks[0]?.kind === 'chart' ? d.sections[4].sections[3].blocks[0].chart : assert.fail('mailbox chart'));
    // The same marks as the SVG file: one element per mark (plus title and desc).
    assert.equal(elements([mailbox], 'svg')[0]?.children.length, picture.marks.length + 2);
    assert.equal(elements([mailbox], 'path').length, 2);
    const svgTexts = all(elements([mailbox], 'svg')).filter((n): n is FakeText => n.kind === 'text').map((n) => n.text);
    assert.ok(svgTexts.includes(`<0.9.0> ${HOSTILE}`.slice(0, 47) + '…'), 'legend: the hostile name cut, as text');
    assert.ok(svgTexts.includes('messages queued') && svgTexts.includes('0 s'));
  });

  it('draws a trend projection with the same marks: measured points as circles, the limit dashed, the crossing labelled', () => {
    const chart = projectionChart({ id: 'trend-atoms', title: 'Atom count, projected to the atom limit', what: 'atoms', unit: 'count', points: [[0, 1000], [1000, 1020], [2000, 1041], [3000, 1060]], limit: { value: 1_048_576, label: `atom limit ${HOSTILE}`, reached: 'atom table full' } });
    const d: ReportDocument = { ...doc(), sections: [{ id: 'trends', title: 'Leak trends', blocks: [{ kind: 'chart', chart }], sections: [] }] };
    const { nodes } = render(JSON.parse(JSON.stringify(d)) as ReportDocument);
    const svg = elements(nodes, 'svg')[0];
    assert.ok(svg);
    const picture = chartPicture(chart);
    assert.equal(svg.children.length, picture.marks.length + 2);
    const circles = elements([svg], 'circle');
    assert.equal(circles.length, 4 + 1, 'four samples and the crossing');
    assert.ok(circles.every((c) => c.attributes.cx !== undefined && c.attributes.r !== undefined && elements([c], 'title').length === 1));
    assert.equal(elements([svg], 'line').filter((l) => l.attributes['stroke-dasharray'] === '6 4').length, 1);
    const texts = all([svg]).filter((n): n is FakeText => n.kind === 'text').map((n) => n.text);
    assert.ok(texts.some((t) => /^atom table full in [\d.]+ (h|days)$/.test(t)), texts.join(' | '));
    assert.ok(texts.some((t) => t.startsWith('atom limit <img')), 'the hostile label as a text node');
    for (const el of elements([svg])) for (const name of Object.keys(el.attributes)) assert.ok(SVG_ATTRIBUTES.includes(name), `${el.tag} ${name}`);
  });

  it('renders an empty report and a document that went through JSON the same way', () => {
    const empty = buildReport({ samples: { ...reportSamples(), mailboxes: [] }, findings: [], env: 'local', probe: false });
    const { nodes, findings } = render(JSON.parse(JSON.stringify(empty)) as ReportDocument);
    assert.equal(findings.size, 0);
    assert.ok(elements(nodes, 'p').map(textOf).includes('Nothing stood out in this window. Sample longer or under load to be sure.'));
    assert.ok(elements(nodes, 'p').map(textOf).includes('None from this window.'));
    assert.equal(elements(nodes, 'button').length, 0);
    assert.equal(JSON.stringify(render(JSON.parse(JSON.stringify(doc())) as ReportDocument).nodes), JSON.stringify(render().nodes));
  });

  it('says what the report is in the toolbar line', () => {
    assert.equal(reportMeta(doc(), (iso) => iso.slice(11, 16)), 'demo@host · generated 10:00 · 2 findings');
    const one = { ...doc(), findingCounts: { critical: 0, warning: 0, info: 1, total: 1 } };
    assert.equal(reportMeta(one, () => 'now'), 'demo@host · generated now · 1 finding');
    // The telemetry view's document has no findings section: no count.
    assert.equal(reportMeta({ ...one, sections: one.sections.filter((x) => x.id !== 'findings') }, () => 'now'), 'demo@host · generated now');
  });
});
