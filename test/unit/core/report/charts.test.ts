// The report's charts (issue 18 item 7): the chart data built from the samples (mailboxes, memory
// by type, schedulers, microstates), the SVG writer (valid XML, escaped hostile names, axes and
// labels, deterministic), the chart files next to the Markdown and the Markdown's image links.
import { strict as assert } from 'node:assert';
import { buildReport } from '../../../../src/core/report/build';
import { chartPicture } from '../../../../src/core/report/chart-picture';
import { chartSvg, escapeXml } from '../../../../src/core/report/chart-svg';
import { chartsOf, reportChartFiles } from '../../../../src/core/report/chart-files';
import { imageLink, renderReportMarkdown } from '../../../../src/core/report/markdown';
import type { ReportChart } from '../../../../src/core/report/document';
import { readReportDocument } from '../../../../src/core/report/validate';
import type { SchedulingSample } from '../../../../src/core/findings/scheduling';
import { HOSTILE, reportFindings, reportSamples } from './fixture';
import { parseXml, xmlElements, xmlText } from './xml';

const scheduling: SchedulingSample = {
  windowMs: 2000,
  msaccWasOn: false,
  threads: [
    { type: 'scheduler', threads: 2, states: { emulator: 0.4, gc: 0.1, sleep: 0.45, busy_wait: 0.05 } },
    { type: 'dirty_cpu_scheduler', threads: 2, states: { sleep: 0.98, emulator: 0.02 } },
    { type: 'aux', threads: 1, states: { aux: 0.01, sleep: 0.99 } },
  ],
  gcTop: null,
};

function doc() {
  const samples = reportSamples();
  // A hostile name on a watched mailbox: it becomes a series label (legend text, rect titles).
  samples.mailboxes.push({ pid: '<0.9.0>', points: [[0, 3], [1000, 7], [2000, 9]] });
  return buildReport({ samples, findings: reportFindings(), env: 'local', probe: true, scheduling, generatedAt: new Date('2026-12-01T10:00:00.000Z') });
}

function chart(id: string): ReportChart {
  const c = chartsOf(doc()).find((x) => x.id === id);
  assert.ok(c, `chart ${id}`);
  return c;
}

describe('report charts: data, SVG, files and Markdown images', () => {
  it('charts the mailboxes, memory by type, scheduler utilization and microstates, each with its table', () => {
    const charts = chartsOf(doc());
    assert.deepEqual(charts.map((c) => [c.id, c.shape]), [['mailbox', 'lines'], ['memory', 'bars'], ['schedulers', 'bars'], ['microstates', 'stacked']]);
    const mailbox = chart('mailbox');
    assert.deepEqual(mailbox.series.map((s) => s.label), ['<0.170.0> Demo.EventSink', `<0.9.0> ${HOSTILE}`]);
    const memory = chart('memory');
    assert.deepEqual(memory.x.categories, ['processes', 'binary', 'ets', 'atom', 'code', 'system']);
    assert.equal(memory.fallback.rows.length, 6);
    const sched = chart('schedulers');
    assert.deepEqual(sched.x.categories, ['scheduler 1', 'scheduler 2', 'dirty CPU']);
    assert.deepEqual(sched.series[1]?.points, [[0, 90], [1, 10], [2, 0]]);
    const ms = chart('microstates');
    assert.deepEqual(ms.x.categories, ['scheduler ×2', 'dirty_cpu_scheduler ×2', 'aux ×1']);
    // States by total share, largest first; each bar sums to 100%.
    assert.equal(ms.series[0]?.label, 'sleep');
    for (let k = 0; k < 3; k++) assert.ok(Math.abs(ms.series.reduce((a, s) => a + (s.points.find((p) => p[0] === k)?.[1] ?? 0), 0) - 100) < 1e-9);
    // Without microstates (no scheduling sample) that chart is left out, not drawn empty.
    const plain = buildReport({ samples: reportSamples(), findings: [], env: 'local', probe: false });
    assert.deepEqual(chartsOf(plain).map((c) => c.id), ['mailbox', 'memory', 'schedulers']);
  });

  it('writes each chart as valid SVG with a title, description, axes, tick labels and a legend', () => {
    for (const c of chartsOf(doc())) {
      const svg = chartSvg(c);
      const root = parseXml(svg);
      assert.equal(root.name, 'svg');
      assert.equal(root.attributes.xmlns, 'http://www.w3.org/2000/svg');
      assert.match(root.attributes.viewBox ?? '', /^0 0 \d+ \d+$/);
      assert.equal(xmlText(xmlElements(root, 'title')[0] ?? ''), c.title);
      assert.ok(xmlText(xmlElements(root, 'desc')[0] ?? '').includes(c.y.label));
      const texts = xmlElements(root, 'text').map(xmlText);
      assert.ok(texts.includes(c.y.label) && texts.includes(c.x.label), `${c.id}: axis labels`);
      for (const s of c.series.slice(0, 10)) assert.ok(texts.some((t) => s.label.startsWith(t.replace(/…$/, ''))), `${c.id}: legend ${s.label}`);
      assert.ok(xmlElements(root, 'line').length >= 4, `${c.id}: axes and grid`);
      // No background fill, no currentColor: the same picture on light and dark themes.
      assert.ok(!svg.includes('currentColor') && !/<rect[^>]*width="720"/.test(svg));
      assert.ok(!/<(script|foreignObject|image|a)\b/.test(svg) && !/href=/.test(svg));
      assert.ok(xmlElements(root).every((e) => Object.keys(e.attributes).every((k) => !k.startsWith('on'))), 'no event handler attributes');
    }
    const mailbox = parseXml(chartSvg(chart('mailbox')));
    assert.equal(xmlElements(mailbox, 'path').length, 2, 'one line per series');
    assert.ok(xmlElements(mailbox, 'text').map(xmlText).includes('0 s'), 'time ticks in seconds');
    const memory = parseXml(chartSvg(chart('memory')));
    assert.ok(xmlElements(memory, 'text').map(xmlText).some((t) => /MiB$/.test(t)), 'byte ticks');
    assert.equal(xmlElements(memory, 'rect').length, 12 + 2, 'two bars per memory type, two legend swatches');
  });

  it('escapes a hostile series name: it reads back as the same text and never becomes markup', () => {
    const svg = chartSvg(chart('mailbox'));
    const root = parseXml(svg);
    assert.ok(!svg.includes('<img') && svg.includes('&lt;img src=x onerror=alert(1)&gt;'));
    const texts = [...xmlElements(root, 'text'), ...xmlElements(root, 'title')].map(xmlText);
    assert.ok(texts.some((t) => t.startsWith('<0.9.0> <img src=x onerror')), 'legend shows the name as text');
    assert.ok(xmlElements(root).every((e) => ['svg', 'title', 'desc', 'line', 'path', 'rect', 'text'].includes(e.name)));
    assert.equal(escapeXml(`a"b'c<d>&\u0001\ud800`), 'a&quot;b&apos;c&lt;d&gt;&amp;\ufffd');
    // A title full of quotes and brackets stays a valid document too.
    const odd: ReportChart = { ...chart('memory'), title: `"><script>alert(1)</script>`, series: [{ label: ']]><!--', points: [[0, 1]] }] };
    const back = parseXml(chartSvg(odd));
    assert.equal(xmlText(xmlElements(back, 'title')[0] ?? ''), odd.title);
    assert.equal(xmlElements(back, 'script').length, 0);
  });

  it('is deterministic: the same chart gives the same bytes, and a JSON round trip changes nothing', () => {
    const a = chartSvg(chart('microstates'));
    assert.equal(chartSvg(chart('microstates')), a);
    const back = readReportDocument(JSON.parse(JSON.stringify(doc())));
    assert.deepEqual(chartsOf(back).map(chartSvg), chartsOf(doc()).map(chartSvg));
  });

  it('draws degenerate series: empty, a single point, all zeros', () => {
    const base = chart('mailbox');
    for (const series of [[], [{ label: 'one', points: [[0, 5]] as Array<[number, number]> }], [{ label: 'zeros', points: [[0, 0], [1000, 0]] as Array<[number, number]> }]]) {
      const p = chartPicture({ ...base, series });
      assert.ok(p.marks.every((m) => Object.values(m).every((v) => typeof v !== 'number' || Number.isFinite(v))), JSON.stringify(series));
      parseXml(chartSvg({ ...base, series }));
    }
  });

  it('puts the files next to the Markdown and links them as images, keeping the tables', () => {
    const d = doc();
    const files = reportChartFiles(d, '/tmp/out/my report.md');
    assert.deepEqual(files.map((f) => f.relative), ['my report.charts/mailbox.svg', 'my report.charts/memory.svg', 'my report.charts/schedulers.svg', 'my report.charts/microstates.svg']);
    assert.equal(files[0]?.file, '/tmp/out/my report.charts/mailbox.svg');
    const md = renderReportMarkdown(d, { chartImages: new Map(files.map((f) => [f.chart, f.relative])) });
    assert.ok(md.includes('![Messages queued, sampled every second](my%20report.charts/mailbox.svg)'), md);
    assert.ok(md.includes('![Memory by type, start and end of the window](my%20report.charts/memory.svg)'));
    // The data table stays under each picture.
    assert.match(md, /memory\.svg\)\n\nMemory by type, start and end of the window:\n\n\| Type \| Start \| End \| Change \|/);
    // Without image paths (e.g. `session show`), the tables only.
    assert.ok(!renderReportMarkdown(d).includes('!['));
    // Chart ids that are not file names, or repeat, get safe unique names.
    const bad = { ...d, sections: [{ id: 'x', title: 'x', sections: [], blocks: [{ kind: 'chart' as const, chart: { ...chart('memory'), id: '../../etc' } }, { kind: 'chart' as const, chart: chart('memory') }, { kind: 'chart' as const, chart: chart('memory') }] }] };
    assert.deepEqual(reportChartFiles(bad, 'r.md').map((f) => f.relative), ['r.charts/chart-1.svg', 'r.charts/memory.svg', 'r.charts/memory-2.svg']);
    assert.equal(imageLink('a ](x) [b', 'd(1)/c.svg'), '![a \\](x) \\[b](d(1)/c.svg)');
  });

  it('refuses a saved chart with a bad id or shape', () => {
    const d = JSON.parse(JSON.stringify(doc())) as { sections: Array<{ sections: Array<{ blocks: Array<{ chart?: { id?: string; shape?: string } }> }> }> };
    const block = d.sections[4]?.sections.find((s) => s.blocks[0]?.chart)?.blocks[0];
    assert.ok(block?.chart);
    block.chart.id = '../x';
    assert.throws(() => readReportDocument(d), /chart id/);
    block.chart.id = 'ok';
    block.chart.shape = 'pie';
    assert.throws(() => readReportDocument(d), /shape/);
  });
});
