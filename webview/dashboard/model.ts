// Pure series extraction for the dashboard charts (no DOM; unit-tested).
import type { DashboardSample } from '../../src/protocol/webview';

export const MAX_SAMPLES = 600;

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

export function pushSample(samples: DashboardSample[], s: DashboardSample, max = MAX_SAMPLES): DashboardSample[] {
  const out = samples.length >= max ? samples.slice(samples.length - max + 1) : samples.slice();
  out.push(s);
  return out;
}

const MEMORY_KEYS = [
  ['total', 'var(--vscode-charts-foreground)'],
  ['processes', 'var(--vscode-charts-blue)'],
  ['binary', 'var(--vscode-charts-red)'],
  ['ets', 'var(--vscode-charts-green)'],
  ['code', 'var(--vscode-charts-yellow)'],
  ['atom', 'var(--vscode-charts-orange)'],
  ['system', 'var(--vscode-charts-purple)'],
] as const;

export function memorySeries(samples: DashboardSample[]): Series[] {
  return MEMORY_KEYS.map(([k, color]) => ({ name: k, color, points: samples.map((s) => [s.at, s.memory[k]] as [number, number]) }));
}

export function utilizationSeries(samples: DashboardSample[]): Series[] {
  const measured = samples.filter((s) => s.schedulerUtilization !== null);
  const n = Math.max(0, ...measured.map((s) => s.schedulerUtilization?.perScheduler.length ?? 0));
  const colors = ['var(--vscode-charts-blue)', 'var(--vscode-charts-green)', 'var(--vscode-charts-yellow)', 'var(--vscode-charts-orange)', 'var(--vscode-charts-purple)', 'var(--vscode-charts-red)'];
  const out: Series[] = [{ name: 'total', color: 'var(--vscode-charts-foreground)', points: measured.map((s) => [s.at, (s.schedulerUtilization?.total ?? 0) * 100]) }];
  for (let i = 0; i < n && i < 16; i++) {
    out.push({ name: `scheduler ${i + 1}`, color: colors[i % colors.length] as string, points: measured.map((s) => [s.at, (s.schedulerUtilization?.perScheduler[i] ?? 0) * 100]) });
  }
  return out;
}

export function single(samples: DashboardSample[], name: string, color: string, f: (s: DashboardSample) => number): Series[] {
  return [{ name, color, points: samples.map((s) => [s.at, f(s)]) }];
}

export function ioSeries(samples: DashboardSample[]): Series[] {
  return [
    { name: 'in', color: 'var(--vscode-charts-blue)', points: samples.slice(1).map((s) => [s.at, s.ioInPerSec]) },
    { name: 'out', color: 'var(--vscode-charts-orange)', points: samples.slice(1).map((s) => [s.at, s.ioOutPerSec]) },
  ];
}

/** [min, max] of x and y over all series; y starts at 0 and is never empty. */
export function domains(series: Series[], yMaxAtLeast = 1): { x: [number, number]; y: [number, number] } {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y1 = yMaxAtLeast;
  for (const s of series) {
    for (const [x, y] of s.points) {
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y > y1) y1 = y;
    }
  }
  if (!Number.isFinite(x0)) return { x: [0, 1], y: [0, y1] };
  if (x0 === x1) x1 = x0 + 1;
  return { x: [x0, x1], y: [0, y1] };
}
