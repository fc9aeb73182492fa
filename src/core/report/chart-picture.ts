// A report chart (document.ts) laid out as a picture: a closed set of marks (lines, paths,
// rectangles, text) in pixel coordinates, computed with d3's pure modules (d3-scale, d3-shape,
// d3-array; no DOM). One model, two writers: chart-svg.ts writes it as SVG text for the Markdown
// report, the report webview builds SVG elements from it with text nodes only. Colours are fixed
// mid-contrast ones on a transparent background, readable on light and dark themes alike.
import { max } from 'd3-array';
import { scaleBand, scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import type { ReportChart } from './document';
import { projectionPicture } from './chart-projection';
import { GRID, INK, LEGEND_ROW, MARGIN, PLOT_HEIGHT, WIDTH, colourOf, formatSeconds, formatValue, round, shortLabel, type ChartMark, type ChartPicture } from './chart-marks';

export { SERIES_COLOURS, INK, colourOf, shortLabel, formatValue, type ChartMark, type ChartPicture } from './chart-marks';

export function chartPicture(chart: ReportChart): ChartPicture {
  const shape = chart.shape ?? 'lines';
  if (shape === 'projection') return projectionPicture(chart);
  const categories = chart.x.categories ?? [];
  // Stacked bars need one legend entry per series; lines and grouped bars too.
  const legend = chart.series.map((s, i) => ({ label: shortLabel(s.label), colour: colourOf(i) }));
  const legendRows = Math.ceil(legend.length / 2);
  const height = MARGIN.top + PLOT_HEIGHT + MARGIN.bottom + legendRows * LEGEND_ROW;
  const left = MARGIN.left;
  const right = WIDTH - MARGIN.right;
  const top = MARGIN.top;
  const bottom = MARGIN.top + PLOT_HEIGHT;
  const marks: ChartMark[] = [{ kind: 'text', x: left, y: 20, text: shortLabel(chart.title, 90), anchor: 'start', size: 14, fill: INK, bold: true }];

  // The value axis: from 0 (queues, bytes and shares all start there) to a nice maximum.
  let top0: number;
  if (shape === 'stacked') {
    top0 = max(categories.map((_, k) => chart.series.reduce((sum, s) => sum + Math.max(0, s.points.find((p) => p[0] === k)?.[1] ?? 0), 0))) ?? 0;
  } else {
    top0 = max(chart.series.flatMap((s) => s.points.map((p) => p[1]))) ?? 0;
  }
  // Bytes get round ticks in binary units (0, 20, 40 MiB rather than 19.07 MiB steps).
  const factor = chart.y.unit !== 'bytes' ? 1 : top0 >= 1024 ** 3 ? 1024 ** 3 : top0 >= 1024 ** 2 ? 1024 ** 2 : top0 >= 1024 ? 1024 : 1;
  const ys = scaleLinear()
    .domain([0, top0 > 0 ? top0 / factor : 1])
    .range([bottom, top])
    .nice(5);
  const y = (v: number): number => ys(v / factor);
  for (const t of ys.ticks(5).map((k) => k * factor)) {
    const py = round(y(t));
    marks.push({ kind: 'line', x1: left, y1: py, x2: right, y2: py, stroke: GRID, width: 1 });
    marks.push({ kind: 'text', x: left - 6, y: round(py + 4), text: formatValue(t, chart.y.unit), anchor: 'end', size: 11, fill: INK });
  }
  marks.push({ kind: 'line', x1: left, y1: bottom, x2: right, y2: bottom, stroke: INK, width: 1 });
  marks.push({ kind: 'line', x1: left, y1: top, x2: left, y2: bottom, stroke: INK, width: 1 });
  // The value axis' label above it (no rotated text: it reads the same in every renderer).
  marks.push({ kind: 'text', x: 8, y: top - 14, text: shortLabel(chart.y.label, 60), anchor: 'start', size: 11, fill: INK });
  marks.push({ kind: 'text', x: round((left + right) / 2), y: bottom + 34, text: shortLabel(chart.x.label, 80), anchor: 'middle', size: 11, fill: INK });

  if (shape === 'lines') {
    const xMax = max(chart.series.flatMap((s) => s.points.map((p) => p[0]))) ?? 0;
    const x = scaleLinear()
      .domain([0, xMax > 0 ? xMax : 1])
      .range([left, right]);
    for (const t of x.ticks(6)) {
      const px = round(x(t));
      marks.push({ kind: 'line', x1: px, y1: bottom, x2: px, y2: bottom + 4, stroke: INK, width: 1 });
      marks.push({ kind: 'text', x: px, y: bottom + 17, text: chart.x.unit === 'ms' ? formatSeconds(t) : `${t}`, anchor: 'middle', size: 11, fill: INK });
    }
    const path = line<[number, number]>()
      .x((p) => round(x(p[0])))
      .y((p) => round(y(p[1])));
    chart.series.forEach((s, i) => {
      const pts = [...s.points].sort((a, b) => a[0] - b[0]);
      if (pts.length === 0) return;
      // A single sample is drawn as a short flat stroke so it stays visible.
      const d = pts.length === 1 ? `M${round(x(pts[0]![0]) - 3)},${round(y(pts[0]![1]))}h6` : (path(pts) ?? '');
      if (d) marks.push({ kind: 'path', d, stroke: colourOf(i), width: 2 });
    });
  } else {
    const x = scaleBand<number>()
      .domain(categories.map((_, k) => k))
      .range([left, right])
      .paddingInner(0.25)
      .paddingOuter(0.15);
    const band = x.bandwidth();
    categories.forEach((c, k) => {
      const cx = round((x(k) ?? left) + band / 2);
      marks.push({ kind: 'text', x: cx, y: bottom + 17, text: shortLabel(c, Math.max(4, Math.floor(band / 6))), anchor: 'middle', size: 11, fill: INK });
    });
    if (shape === 'bars') {
      const inner = scaleBand<number>()
        .domain(chart.series.map((_, i) => i))
        .range([0, band])
        .padding(0.08);
      chart.series.forEach((s, i) => {
        for (const [k, v] of s.points) {
          const x0 = x(k);
          if (x0 === undefined) continue;
          const yv = y(Math.max(0, v));
          marks.push({ kind: 'rect', x: round(x0 + (inner(i) ?? 0)), y: round(yv), width: round(inner.bandwidth()), height: round(bottom - yv), fill: colourOf(i), title: `${categories[k] ?? k} · ${s.label}: ${formatValue(v, chart.y.unit)}` });
        }
      });
    } else {
      categories.forEach((c, k) => {
        const x0 = x(k);
        if (x0 === undefined) return;
        let acc = 0;
        chart.series.forEach((s, i) => {
          const v = Math.max(0, s.points.find((p) => p[0] === k)?.[1] ?? 0);
          if (v === 0) return;
          const y1 = y(acc);
          const y2 = y(acc + v);
          acc += v;
          marks.push({ kind: 'rect', x: round(x0), y: round(y2), width: round(band), height: round(y1 - y2), fill: colourOf(i), title: `${c} · ${s.label}: ${formatValue(v, chart.y.unit)}` });
        });
      });
    }
  }

  // Legend under the plot: two columns of swatch + label.
  legend.forEach((l, i) => {
    const lx = left + (i % 2) * ((right - left) / 2);
    const ly = bottom + MARGIN.bottom + Math.floor(i / 2) * LEGEND_ROW;
    marks.push({ kind: 'rect', x: lx, y: ly - 9, width: 12, height: 10, fill: l.colour, title: l.label });
    marks.push({ kind: 'text', x: lx + 18, y: ly, text: l.label, anchor: 'start', size: 11, fill: INK });
  });

  const what = shape === 'lines' ? 'Line chart' : shape === 'bars' ? 'Bar chart' : 'Stacked bar chart';
  return {
    width: WIDTH,
    height,
    title: chart.title,
    description: `${what} of ${chart.y.label} against ${chart.x.label}; series: ${chart.series.map((s) => s.label).join(', ')}.`,
    marks,
  };
}
