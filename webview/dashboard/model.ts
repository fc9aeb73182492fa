// Pure parts of the dashboard (no DOM, no d3; unit-tested in Node): the sample ring, series per
// chart, text readouts of the latest sample, axis domains and number formats.
import type { DashboardSample } from '../../src/protocol/webview';

export const MAX_SAMPLES = 600;
/** Per-scheduler lines drawn at most (the total is always drawn). */
export const MAX_SCHEDULER_LINES = 16;

export interface Series {
  name: string;
  color: string;
  /** [time ms, value]; a NaN value breaks the line (see breakGaps). */
  points: Array<[number, number]>;
}

/** Fixed-capacity ring of samples: pushing beyond the capacity drops the oldest. */
export class SampleRing {
  private buf: Array<DashboardSample | undefined>;
  private start = 0;
  private count = 0;

  constructor(readonly capacity = MAX_SAMPLES) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, not ${capacity}`);
    this.buf = new Array<DashboardSample | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(s: DashboardSample): void {
    if (this.count < this.capacity) {
      this.buf[(this.start + this.count) % this.capacity] = s;
      this.count++;
    } else {
      this.buf[this.start] = s;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** Replaces the contents with (the newest `capacity` of) these samples. */
  reset(samples: readonly DashboardSample[]): void {
    this.buf = new Array<DashboardSample | undefined>(this.capacity);
    this.start = 0;
    this.count = 0;
    for (const s of samples.slice(-this.capacity)) this.push(s);
  }

  /** Oldest first. */
  toArray(): DashboardSample[] {
    const out: DashboardSample[] = [];
    for (let i = 0; i < this.count; i++) {
      const s = this.buf[(this.start + i) % this.capacity];
      if (s) out.push(s);
    }
    return out;
  }

  last(): DashboardSample | undefined {
    return this.count === 0 ? undefined : this.buf[(this.start + this.count - 1) % this.capacity];
  }

  /** The sample before the last one. */
  previous(): DashboardSample | undefined {
    return this.count < 2 ? undefined : this.buf[(this.start + this.count - 2) % this.capacity];
  }
}

/** Array form of the ring (kept for callers that hold a plain array). */
export function pushSample(samples: DashboardSample[], s: DashboardSample, max = MAX_SAMPLES): DashboardSample[] {
  const out = samples.length >= max ? samples.slice(samples.length - max + 1) : samples.slice();
  out.push(s);
  return out;
}

// Theme colors, with fallbacks for pages outside VS Code.
export const COLORS = {
  foreground: 'var(--vscode-charts-foreground, #cccccc)',
  blue: 'var(--vscode-charts-blue, #3794ff)',
  red: 'var(--vscode-charts-red, #f14c4c)',
  green: 'var(--vscode-charts-green, #89d185)',
  yellow: 'var(--vscode-charts-yellow, #cca700)',
  orange: 'var(--vscode-charts-orange, #d18616)',
  purple: 'var(--vscode-charts-purple, #b180d7)',
} as const;

export const MEMORY_KEYS = [
  ['total', COLORS.foreground],
  ['processes', COLORS.blue],
  ['binary', COLORS.red],
  ['ets', COLORS.green],
  ['atom', COLORS.orange],
  ['code', COLORS.yellow],
  ['other system', COLORS.purple],
] as const;

/**
 * erlang:memory(system) contains atom, binary, code and ets: plotted beside them it would count
 * them twice. The chart shows the rest of it, "other system" (the runtime's own allocations).
 */
function memoryValue(m: DashboardSample['memory'], k: (typeof MEMORY_KEYS)[number][0]): number {
  if (k !== 'other system') return m[k];
  return Math.max(0, m.system - m.atom - m.binary - m.code - m.ets);
}

export function memorySeries(samples: readonly DashboardSample[]): Series[] {
  return MEMORY_KEYS.map(([k, color]) => ({ name: k, color, points: samples.map((s): [number, number] => [s.at, memoryValue(s.memory, k)]) }));
}

const SCHEDULER_COLORS = [COLORS.blue, COLORS.green, COLORS.yellow, COLORS.orange, COLORS.purple, COLORS.red];

/** Total and per-scheduler busy percentage (0–100); samples without a measurement are left out. */
export function utilizationSeries(samples: readonly DashboardSample[]): Series[] {
  const measured = samples.flatMap((s) => (s.schedulerUtilization ? [{ at: s.at, u: s.schedulerUtilization }] : []));
  const n = Math.min(MAX_SCHEDULER_LINES, measured.reduce((m, s) => Math.max(m, s.u.perScheduler.length), 0));
  const pct = (v: number | undefined): number => (v === undefined || !Number.isFinite(v) ? NaN : Math.max(0, Math.min(100, v * 100)));
  const out: Series[] = [{ name: 'total', color: COLORS.foreground, points: measured.map((s): [number, number] => [s.at, pct(s.u.total)]) }];
  for (let i = 0; i < n; i++) {
    out.push({ name: `scheduler ${i + 1}`, color: SCHEDULER_COLORS[i % SCHEDULER_COLORS.length] ?? COLORS.blue, points: measured.map((s): [number, number] => [s.at, pct(s.u.perScheduler[i])]) });
  }
  return out;
}

export function single(samples: readonly DashboardSample[], name: string, color: string, f: (s: DashboardSample) => number): Series[] {
  return [{ name, color, points: samples.map((s): [number, number] => [s.at, f(s)]) }];
}

/** IO rates; the first sample carries no rate (there was nothing to diff against) and is left out. */
export function ioSeries(samples: readonly DashboardSample[]): Series[] {
  const rated = samples.slice(1);
  return [
    { name: 'in', color: COLORS.blue, points: rated.map((s): [number, number] => [s.at, s.ioInPerSec]) },
    { name: 'out', color: COLORS.orange, points: rated.map((s): [number, number] => [s.at, s.ioOutPerSec]) },
  ];
}

/**
 * Points with a NaN inserted where consecutive samples are further apart than `factor` times the
 * usual (median) interval, so a pause or a missing measurement is not drawn as a straight line.
 */
export function breakGaps(points: ReadonlyArray<[number, number]>, factor = 3): Array<[number, number]> {
  if (points.length < 3) return points.slice();
  const steps = points
    .slice(1)
    .map((p, i) => p[0] - (points[i]?.[0] ?? p[0]))
    .sort((a, b) => a - b);
  const median = steps[Math.floor(steps.length / 2)] ?? 0;
  if (median <= 0) return points.slice();
  const out: Array<[number, number]> = [];
  points.forEach((p, i) => {
    const prev = points[i - 1];
    if (prev && p[0] - prev[0] > median * factor) out.push([(prev[0] + p[0]) / 2, NaN]);
    out.push(p);
  });
  return out;
}

/**
 * [min, max] of x and y over all series (NaN values ignored): y starts at 0 and reaches at least
 * `yMaxAtLeast`; no data gives [0, 1]; a single instant gives the minute before it.
 */
export function domains(series: readonly Series[], yMaxAtLeast = 1): { x: [number, number]; y: [number, number] } {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y1 = yMaxAtLeast;
  for (const s of series) {
    for (const [x, y] of s.points) {
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (Number.isFinite(y) && y > y1) y1 = y;
    }
  }
  if (!Number.isFinite(x0)) return { x: [0, 1], y: [0, y1] };
  if (x0 === x1) x0 = x1 - 60_000;
  return { x: [x0, x1], y: [0, y1] };
}

/**
 * Y ticks for a byte axis: steps of 1, 2, 2.5 or 5 times a power of ten in the binary unit of the
 * maximum (KiB, MiB, …), from 0 up to the first tick at or above `max`. The last tick is the top.
 */
export function byteTicks(max: number, count = 4): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  let unit = 1;
  while (max / unit >= 1024 && unit < 1024 ** 4) unit *= 1024;
  const raw = max / unit / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((x) => x >= raw * (1 - 1e-9)) ?? 10 * mag;
  const n = Math.max(1, Math.ceil(max / unit / step - 1e-9));
  return Array.from({ length: n + 1 }, (_, i) => Math.round(i * step * unit * 1e6) / 1e6);
}

// ---- formats (local: webview/common/dom.ts needs the DOM, this module must not) ------------

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  if (Math.round(v) < 1024) return `${sign}${Math.round(v)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  v /= 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${sign}${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i] ?? 'TiB'}`;
}

export function formatRate(bytesPerSec: number): string {
  return `${formatBytes(bytesPerSec)}/s`;
}

export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)}k`;
  return String(Math.round(n * 100) / 100);
}

export function formatPercent(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(0)}%` : '–';
}

// ---- charts --------------------------------------------------------------------------------

export type ChartId = 'memory' | 'schedulers' | 'runqueue' | 'processes' | 'io';

export interface ChartSpec {
  id: ChartId;
  title: string;
  series: (samples: readonly DashboardSample[]) => Series[];
  /** Tick and value format of the y axis. */
  format: (v: number) => string;
  /** The y axis reaches at least this (100 for percentages). */
  yMaxAtLeast: number;
  /** The y axis ends exactly here (percentages). */
  yFixedMax?: number;
  /** Whole numbers only on the y axis (counts). */
  integer?: boolean;
  /** Byte values: ticks at round KiB/MiB/GiB steps (byteTicks). */
  bytes?: boolean;
}

export const CHARTS: readonly ChartSpec[] = [
  { id: 'memory', title: 'Memory', series: memorySeries, format: formatBytes, yMaxAtLeast: 1024, bytes: true },
  { id: 'schedulers', title: 'Scheduler utilization', series: utilizationSeries, format: formatPercent, yMaxAtLeast: 100, yFixedMax: 100 },
  { id: 'runqueue', title: 'Run queue', series: (s) => single(s, 'run queue', COLORS.red, (x) => x.runQueue), format: formatCount, yMaxAtLeast: 1, integer: true },
  { id: 'processes', title: 'Processes', series: (s) => single(s, 'processes', COLORS.blue, (x) => x.processCount), format: formatCount, yMaxAtLeast: 1, integer: true },
  { id: 'io', title: 'IO', series: ioSeries, format: formatRate, yMaxAtLeast: 1024, bytes: true },
];

/** Text next to each chart title: the values of the latest sample. */
export function readouts(s: DashboardSample): Record<ChartId, string> {
  const u = s.schedulerUtilization;
  return {
    memory: `total ${formatBytes(s.memory.total)} · processes ${formatBytes(s.memory.processes)} · binary ${formatBytes(s.memory.binary)} · ets ${formatBytes(s.memory.ets)}`,
    schedulers: u ? `${formatPercent(u.total * 100)} busy${u.windowMs ? ` over ${u.windowMs / 1000} s` : ''} · ${u.perScheduler.length} ${u.perScheduler.length === 1 ? 'scheduler' : 'schedulers'}` : 'not measured',
    runqueue: `${s.runQueue.toLocaleString('en-US')} waiting`,
    processes: `${s.processCount.toLocaleString('en-US')} processes`,
    io: `in ${formatRate(s.ioInPerSec)} · out ${formatRate(s.ioOutPerSec)}`,
  };
}

/** The latest value of each series, for the legend. */
export function latest(series: Series): number | undefined {
  for (let i = series.points.length - 1; i >= 0; i--) {
    const y = series.points[i]?.[1];
    if (y !== undefined && Number.isFinite(y)) return y;
  }
  return undefined;
}
