// The marks a chart picture is made of, and what every layout shares: the colours (fixed
// mid-contrast ones on a transparent background, readable on light and dark themes alike), the
// value formats and the label cut. chart-picture.ts (lines, bars) and chart-projection.ts (trend
// projections) lay charts out with them.
import type { NumberUnit } from './document';

export type ChartMark =
  | { kind: 'line'; x1: number; y1: number; x2: number; y2: number; stroke: string; width: number; dash?: string }
  | { kind: 'path'; d: string; stroke: string; width: number }
  | { kind: 'rect'; x: number; y: number; width: number; height: number; fill: string; title: string }
  /** A point (a measured sample, a projected crossing); `title` is its tooltip. */
  | { kind: 'circle'; cx: number; cy: number; r: number; fill: string; title: string }
  | { kind: 'text'; x: number; y: number; text: string; anchor: 'start' | 'middle' | 'end'; size: number; fill: string; bold?: boolean };

export interface ChartPicture {
  width: number;
  height: number;
  /** The chart's title (the picture's accessible name). */
  title: string;
  /** One sentence on what is drawn (the picture's description). */
  description: string;
  marks: ChartMark[];
}

/** Series colours (Tableau 10): mid-contrast, legible on white and on a dark editor. */
export const SERIES_COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'] as const;
/** Text, axes and grid: a grey readable on both backgrounds. */
export const INK = '#888888';
export const GRID = '#88888855';

export const WIDTH = 720;
export const MARGIN = { top: 48, right: 16, bottom: 46, left: 72 };
export const PLOT_HEIGHT = 220;
export const LEGEND_ROW = 18;
const MAX_LABEL = 48;

export const round = (n: number): number => Math.round(n * 100) / 100;

export function colourOf(i: number): string {
  return SERIES_COLOURS[i % SERIES_COLOURS.length] ?? INK;
}

/** A label cut to `n` characters (with an ellipsis), so a long name cannot push the picture apart. */
export function shortLabel(s: string, n = MAX_LABEL): string {
  const chars = [...s];
  return chars.length <= n ? s : `${chars.slice(0, n - 1).join('')}…`;
}

/** A value as the axis shows it. */
export function formatValue(v: number, unit: NumberUnit): string {
  switch (unit) {
    case 'bytes':
      return v >= 1024 * 1024 * 1024 ? `${round(v / 1024 ** 3)} GiB` : v >= 1024 * 1024 ? `${round(v / 1024 ** 2)} MiB` : v >= 1024 ? `${round(v / 1024)} KiB` : `${Math.round(v)} B`;
    case 'percent':
      return `${round(v)}%`;
    case 'microseconds':
      return v >= 1_000_000 ? `${round(v / 1_000_000)} s` : v >= 1000 ? `${round(v / 1000)} ms` : `${round(v)} µs`;
    case 'count':
    case 'per-second':
      return Math.abs(v) >= 1e6 ? `${round(v / 1e6)}M` : Math.abs(v) >= 1e4 ? `${round(v / 1e3)}k` : `${round(v)}`;
  }
}

export function formatSeconds(ms: number): string {
  return `${round(ms / 1000)} s`;
}

