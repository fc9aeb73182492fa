// A trend's projection as a picture (shape 'projection', document.ts): two panels side by side.
// Left, the watch itself: the measured points and the least-squares line through them, on a value
// axis fitted to them (a slow rise stays visible). Right, the same line extended from the start of
// the watch to where it meets the node's limit (or to a horizon): the limit as a dashed line, the
// measured stretch drawn thick at its start, and the crossing marked with its time. Pure and
// deterministic like chart-picture.ts; the same marks go to SVG text and to the webview.
import { max, min } from 'd3-array';
import { scaleLinear } from 'd3-scale';
import { line } from 'd3-shape';
import { GRID, INK, LEGEND_ROW, MARGIN, PLOT_HEIGHT, WIDTH, colourOf, formatValue, round, shortLabel, type ChartMark, type ChartPicture } from './chart-marks';
import type { ChartProjection, ReportChart } from './document';

const LIMIT_COLOUR = colourOf(2);
/** The two panels' horizontal extents. */
const LEFT_PANEL = { from: MARGIN.left, to: 300 };
const RIGHT_PANEL = { from: 392, to: WIDTH - MARGIN.right };

/** A time unit for an axis of `spanMs`, so ticks are round numbers of it. */
export function timeUnit(spanMs: number): { ms: number; name: string } {
  if (spanMs >= 3 * 86_400_000) return { ms: 86_400_000, name: 'days' };
  if (spanMs >= 2 * 3_600_000) return { ms: 3_600_000, name: 'h' };
  if (spanMs >= 2 * 60_000) return { ms: 60_000, name: 'min' };
  return { ms: 1000, name: 's' };
}

/** A span in its own unit, as the labels say it ("11.1 h", "3.5 days", "24 s"). */
export function formatSpan(ms: number): string {
  const u = timeUnit(ms);
  return `${round(Math.round((ms / u.ms) * 10) / 10)} ${u.name}`;
}

function fitAt(p: ChartProjection, ms: number): number {
  return p.intercept + p.perMs * ms;
}

export function projectionPicture(chart: ReportChart): ChartPicture {
  const p: ChartProjection = chart.projection ?? { intercept: 0, perMs: 0, untilMs: 0, endLabel: '' };
  const points = [...(chart.series[0]?.points ?? [])].filter((q) => Number.isFinite(q[0]) && Number.isFinite(q[1])).sort((a, b) => a[0] - b[0]);
  const unit = chart.y.unit;
  const top = MARGIN.top;
  const bottom = MARGIN.top + PLOT_HEIGHT;
  const legend = [
    { label: shortLabel(chart.series[0]?.label ?? 'measured'), colour: colourOf(0) },
    { label: 'least-squares line, extended', colour: colourOf(1) },
    ...(p.limit ? [{ label: shortLabel(p.limit.label), colour: LIMIT_COLOUR }] : []),
  ];
  const height = bottom + MARGIN.bottom + Math.ceil(legend.length / 2) * LEGEND_ROW;
  const marks: ChartMark[] = [{ kind: 'text', x: MARGIN.left, y: 20, text: shortLabel(chart.title, 90), anchor: 'start', size: 14, fill: INK, bold: true }];
  const watchMs = Math.max(max(points, (q) => q[0]) ?? 0, 1);

  // A value scale over [lo, hi] with round ticks (bytes in binary units: 0, 2, 4 MiB rather than 1.91 MiB steps).
  const valueScale = (lo: number, hi: number, ticks: number): { y: (v: number) => number; ticks: number[] } => {
    const big = Math.max(Math.abs(lo), Math.abs(hi));
    const factor = unit !== 'bytes' ? 1 : big >= 1024 ** 3 ? 1024 ** 3 : big >= 1024 ** 2 ? 1024 ** 2 : big >= 1024 ? 1024 : 1;
    const ys = scaleLinear().domain([lo / factor, hi / factor]).range([bottom, top]).nice(ticks);
    return { y: (v) => ys(v / factor), ticks: ys.ticks(ticks).map((t) => t * factor) };
  };
  const axes = (from: number, to: number, ys: (v: number) => number, yTicks: number[], xs: (v: number) => number, xTicks: number[], xText: (t: number) => string): void => {
    for (const t of yTicks) {
      const py = round(ys(t));
      marks.push({ kind: 'line', x1: from, y1: py, x2: to, y2: py, stroke: GRID, width: 1 });
      marks.push({ kind: 'text', x: from - 6, y: round(py + 4), text: formatValue(t, unit), anchor: 'end', size: 11, fill: INK });
    }
    for (const t of xTicks) {
      const px = round(xs(t));
      marks.push({ kind: 'line', x1: px, y1: bottom, x2: px, y2: bottom + 4, stroke: INK, width: 1 });
      marks.push({ kind: 'text', x: px, y: bottom + 17, text: xText(t), anchor: 'middle', size: 11, fill: INK });
    }
    marks.push({ kind: 'line', x1: from, y1: bottom, x2: to, y2: bottom, stroke: INK, width: 1 });
    marks.push({ kind: 'line', x1: from, y1: top, x2: from, y2: bottom, stroke: INK, width: 1 });
  };

  // Left: the watch, the value axis fitted to what was measured.
  {
    const values = [...points.map((q) => q[1]), fitAt(p, 0), fitAt(p, watchMs)];
    let lo = min(values) ?? 0;
    let hi = max(values) ?? 1;
    if (hi - lo < 1e-9) {
      lo -= 1;
      hi += 1;
    }
    const { y: ys, ticks } = valueScale(lo, hi, 4);
    const u = timeUnit(watchMs);
    const xs = scaleLinear().domain([0, watchMs / u.ms]).range([LEFT_PANEL.from, LEFT_PANEL.to]);
    const x = (ms: number): number => xs(ms / u.ms);
    axes(LEFT_PANEL.from, LEFT_PANEL.to, ys, ticks, xs, xs.ticks(4), (t) => `${round(t)} ${u.name}`);
    marks.push({ kind: 'text', x: LEFT_PANEL.from, y: top - 14, text: `measured: ${points.length} samples over ${formatSpan(watchMs)}`, anchor: 'start', size: 11, fill: INK });
    marks.push({ kind: 'line', x1: round(x(0)), y1: round(ys(fitAt(p, 0))), x2: round(x(watchMs)), y2: round(ys(fitAt(p, watchMs))), stroke: colourOf(1), width: 2 });
    for (const [ms, v] of points) {
      marks.push({ kind: 'circle', cx: round(x(ms)), cy: round(ys(v)), r: 2.5, fill: colourOf(0), title: `${formatSpan(ms)}: ${formatValue(v, unit)}` });
    }
  }

  // Right: from the start of the watch to the crossing (or the horizon), with a little room after it.
  {
    const until = Math.max(p.untilMs, watchMs);
    const endValue = fitAt(p, until);
    const hi = Math.max(p.limit?.value ?? 0, endValue, max(points, (q) => q[1]) ?? 0, 1);
    const lo = Math.min(0, fitAt(p, 0), min(points, (q) => q[1]) ?? 0);
    const { y: ys, ticks } = valueScale(lo, hi * 1.05, 5);
    const u = timeUnit(until);
    const xs = scaleLinear().domain([0, (until * 1.08) / u.ms]).range([RIGHT_PANEL.from, RIGHT_PANEL.to]);
    const x = (ms: number): number => xs(ms / u.ms);
    axes(RIGHT_PANEL.from, RIGHT_PANEL.to, ys, ticks, xs, xs.ticks(5), (t) => `${round(t)} ${u.name}`);
    marks.push({ kind: 'text', x: RIGHT_PANEL.from, y: top - 14, text: shortLabel(`projected: ${p.endLabel}`, 56), anchor: 'start', size: 11, fill: INK });
    if (p.limit) {
      const ly = round(ys(p.limit.value));
      marks.push({ kind: 'line', x1: RIGHT_PANEL.from, y1: ly, x2: RIGHT_PANEL.to, y2: ly, stroke: LIMIT_COLOUR, width: 1.5, dash: '6 4' });
    }
    marks.push({ kind: 'line', x1: round(x(0)), y1: round(ys(fitAt(p, 0))), x2: round(x(until)), y2: round(ys(endValue)), stroke: colourOf(1), width: 2 });
    const measured = line<[number, number]>()
      .x((q) => round(x(q[0])))
      .y((q) => round(ys(q[1])));
    const d = points.length >= 2 ? (measured(points) ?? '') : '';
    if (d) marks.push({ kind: 'path', d, stroke: colourOf(0), width: 4 });
    const cx = round(x(until));
    const cy = round(ys(endValue));
    marks.push({ kind: 'line', x1: cx, y1: cy, x2: cx, y2: bottom, stroke: INK, width: 1, dash: '3 3' });
    marks.push({ kind: 'circle', cx, cy, r: 4, fill: p.limit ? LIMIT_COLOUR : colourOf(1), title: `${p.endLabel}: ${formatValue(endValue, unit)} at ${formatSpan(until)}` });
    // The label left of the point, under it when the point is at the top of the plot.
    const labelY = cy - 10 < top + 12 ? round(cy + 18) : round(cy - 10);
    marks.push({ kind: 'text', x: round(cx - 6), y: labelY, text: shortLabel(p.endLabel, 48), anchor: 'end', size: 12, fill: INK, bold: true });
  }

  marks.push({ kind: 'text', x: round(WIDTH / 2), y: bottom + 34, text: shortLabel(chart.x.label, 80), anchor: 'middle', size: 11, fill: INK });
  legend.forEach((l, i) => {
    const lx = MARGIN.left + (i % 2) * ((WIDTH - MARGIN.right - MARGIN.left) / 2);
    const ly = bottom + MARGIN.bottom + Math.floor(i / 2) * LEGEND_ROW;
    marks.push({ kind: 'rect', x: lx, y: ly - 9, width: 12, height: 10, fill: l.colour, title: l.label });
    marks.push({ kind: 'text', x: lx + 18, y: ly, text: l.label, anchor: 'start', size: 11, fill: INK });
  });
  return {
    width: WIDTH,
    height,
    title: chart.title,
    description:
      `Trend projection of ${chart.y.label}: ${points.length} samples over ${formatSpan(watchMs)} with their least-squares line, ` +
      `extended to ${formatSpan(Math.max(p.untilMs, watchMs))}${p.limit ? ` where it meets the ${p.limit.label}` : ''}: ${p.endLabel}.`,
    marks,
  };
}
