// Trend projection charts (issue 18 items 3 and 7): the charts built from a trend watch's findings
// (the measured points, the least-squares line, the limit and when it is reached), their layout
// (two panels, the crossing marked with its time), valid escaped SVG, determinism, the JSON round
// trip, and the "Leak trends" section of the report.
import { strict as assert } from 'node:assert';
import { buildReport } from '../../../../src/core/report/build';
import { chartPicture } from '../../../../src/core/report/chart-picture';
import { formatSpan, timeUnit } from '../../../../src/core/report/chart-projection';
import { chartSvg } from '../../../../src/core/report/chart-svg';
import { chartsOf } from '../../../../src/core/report/chart-files';
import { renderReportMarkdown } from '../../../../src/core/report/markdown';
import { readReportDocument } from '../../../../src/core/report/validate';
import { projectionChart, trendCharts } from '../../../../src/core/report/trend-charts';
import { trendFindings, type Point, type TrendSamples } from '../../../../src/core/findings/trends';
import { HOSTILE, reportSamples } from './fixture';
import { parseXml, xmlElements, xmlText } from './xml';

const line = (n: number, every: number, from: number, perSec: number): Point[] => Array.from({ length: n }, (_, i): Point => [i * every, Math.round(from + perSec * ((i * every) / 1000))]);

/** A 24 s watch (13 samples every 2 s): atoms +25/s, a process +240 KiB/s, nothing else moving. */
function samples(): TrendSamples {
  const flat = (v: number): Point[] => line(13, 2000, v, 0);
  return {
    node: 'demo@host',
    startedAt: '2026-12-01T10:00:00.000Z',
    durationMs: 24_000,
    intervalMs: 2000,
    samples: 13,
    atoms: line(13, 2000, 20_000, 25),
    processes: flat(300),
    ports: flat(20),
    binary: flat(4 * 1024 * 1024),
    total: flat(80 * 1024 * 1024),
    limits: { atoms: 1_048_576, processes: 262_144, ports: 65_536 },
    processMemory: [{ pid: '<0.300.0>', name: HOSTILE, initialCall: null, points: line(13, 2000, 100_000, 240 * 1024), messageQueueLen: 0 }],
    processRanking: true,
    ets: [],
  };
}

describe('trend projection charts', () => {
  it('charts each trend finding: atoms to the atom limit with the time it is reached, memory a day ahead', () => {
    const s = samples();
    const findings = trendFindings(s);
    assert.deepEqual(findings.map((f) => f.rule).sort(), ['atom-leak', 'memory-growth']);
    const charts = trendCharts(s, findings);
    const atoms = charts.find((c) => c.id === 'trend-atoms');
    assert.ok(atoms?.projection, JSON.stringify(charts.map((c) => c.id)));
    assert.equal(atoms.shape, 'projection');
    assert.equal(atoms.series[0]?.points.length, 13);
    // 25 atoms/s from 20,000: the limit 1,048,576 is 1,028,276 atoms past the last sample (20,600) → 41,131 s ≈ 11.4 h.
    assert.ok(Math.abs(atoms.projection.perMs - 0.025) < 1e-9);
    assert.ok(Math.abs(atoms.projection.intercept - 20_000) < 1e-6);
    assert.equal(atoms.projection.limit?.value, 1_048_576);
    assert.ok(Math.abs(atoms.projection.untilMs - (24_000 + ((1_048_576 - 20_600) / 25) * 1000)) < 1);
    assert.equal(atoms.projection.endLabel, 'atom table full in 11.4 h');
    // The finding and its chart say the same time.
    assert.match(findings.find((f) => f.rule === 'atom-leak')?.title ?? '', /full in 11\.4 h/);
    const mem = charts.find((c) => c.id?.startsWith('trend-memory-'));
    assert.ok(mem?.projection && mem.projection.limit === undefined);
    assert.equal(mem.projection.untilMs, 24_000 + 86_400_000);
    assert.match(mem.projection.endLabel, /^[\d.]+ GiB in a day at this rate$/);
    assert.ok(mem.title.includes(HOSTILE.slice(0, 10)), mem.title);
  });

  it('lays out the watch and the projection: points, the fitted line, the dashed limit, the crossing and its time', () => {
    const atoms = trendCharts(samples(), trendFindings(samples())).find((c) => c.id === 'trend-atoms');
    assert.ok(atoms);
    const p = chartPicture(atoms);
    const circles = p.marks.filter((m) => m.kind === 'circle');
    assert.equal(circles.length, 13 + 1, 'each sample and the crossing');
    const dashedRed = p.marks.filter((m) => m.kind === 'line' && m.dash === '6 4');
    assert.equal(dashedRed.length, 1, 'the limit');
    const texts = p.marks.filter((m) => m.kind === 'text').map((m) => (m.kind === 'text' ? m.text : ''));
    assert.ok(texts.includes('atom table full in 11.4 h'), texts.join(' | '));
    assert.ok(texts.includes('measured: 13 samples over 24 s'));
    assert.ok(texts.some((t) => /^\d+ h$/.test(t)), 'projection ticks in hours');
    assert.ok(texts.some((t) => /^\d+ s$/.test(t)), 'watch ticks in seconds');
    // The crossing sits on the limit line, at the right end of the projection.
    const crossing = circles[circles.length - 1];
    const limit = dashedRed[0];
    assert.ok(crossing?.kind === 'circle' && limit?.kind === 'line');
    assert.ok(Math.abs(crossing.cy - limit.y1) < 0.02, `${crossing.cy} vs ${limit.y1}`);
    assert.ok(p.marks.every((m) => Object.values(m).every((v) => typeof v !== 'number' || Number.isFinite(v))));
    assert.match(p.description, /13 samples over 24 s .* extended to 11\.4 h where it meets the atom limit 1,048,576 \(\+t\): atom table full in 11\.4 h\./);
  });

  it('writes valid, escaped and deterministic SVG; a JSON round trip changes nothing', () => {
    const s = samples();
    const findings = trendFindings(s);
    const doc = buildReport({ samples: reportSamples(), findings, env: 'local', probe: false, trends: { samples: s, findings }, generatedAt: new Date('2026-12-01T10:00:00.000Z') });
    const charts = chartsOf(doc).filter((c) => c.shape === 'projection');
    assert.equal(charts.length, 2);
    for (const c of charts) {
      const svg = chartSvg(c);
      const root = parseXml(svg);
      assert.ok(xmlElements(root).every((e) => ['svg', 'title', 'desc', 'line', 'path', 'rect', 'circle', 'text'].includes(e.name)));
      assert.ok(!svg.includes('<img') && !/href=|<script/.test(svg));
      assert.equal(chartSvg(c), svg);
    }
    const memSvg = chartSvg(charts.find((c) => c.id?.startsWith('trend-memory-')) ?? charts[0]!);
    assert.ok(memSvg.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(xmlElements(parseXml(memSvg), 'text').map(xmlText).some((t) => t.includes('<img src=x')), 'the hostile name reads back as text');
    const back = readReportDocument(JSON.parse(JSON.stringify(doc)));
    assert.deepEqual(chartsOf(back).map(chartSvg), chartsOf(doc).map(chartSvg));
    // The section sits after the findings, and the Markdown keeps the numbers as a table.
    assert.deepEqual(doc.sections.map((x) => x.id), ['summary', 'findings', 'trends', 'recommended-changes', 'risk-and-validation', 'appendix']);
    const md = renderReportMarkdown(doc);
    assert.match(md, /## Leak trends\n\nWatched for 24 s \(13 samples every 2 s, read-only\)/);
    assert.match(md, /\| projection \| atom table full in 11\.4 h \|/);
  });

  it('degenerate trends: a flat or falling series never reaches the limit; a single point still draws', () => {
    const flat = projectionChart({ id: 'trend-atoms', title: 't', what: 'atoms', unit: 'count', points: [[0, 5], [1000, 5]], limit: { value: 100, label: 'limit 100', reached: 'full' } });
    assert.equal(flat.projection?.endLabel, 'full: not at this rate');
    const falling = projectionChart({ id: 'trend-x', title: 't', what: 'x', unit: 'bytes', points: [[0, 500], [1000, 100]] });
    for (const c of [flat, falling, { ...flat, series: [{ label: 'one', points: [[0, 5]] as Array<[number, number]> }] }, { ...flat, series: [] }]) {
      const p = chartPicture(c);
      assert.ok(p.marks.every((m) => Object.values(m).every((v) => typeof v !== 'number' || Number.isFinite(v))), JSON.stringify(c.series));
      parseXml(chartSvg(c));
    }
    assert.deepEqual([timeUnit(30_000).name, timeUnit(600_000).name, timeUnit(40_000_000).name, timeUnit(4 * 86_400_000).name], ['s', 'min', 'h', 'days']);
    assert.equal(formatSpan(41_155_040), '11.4 h');
  });
});
