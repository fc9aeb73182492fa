// The report's charts of what was sampled besides mailboxes (appendix.ts has those): memory by
// type at both ends of the window, scheduler utilization, and the microstate accounting states
// per thread type when the diagnosis measured them. Each carries its table as the fallback.
import { numberCell, type ReportChart, type ReportTable, type TableCell } from './document';
import type { NodeSamples } from '../findings/sampler';
import type { SchedulingSample } from '../findings/scheduling';

const plain = (t: string): TableCell => ({ kind: 'text', text: t });

const MEMORY_TYPES = ['processes', 'binary', 'ets', 'atom', 'code', 'system'] as const;

export function memoryChart(s: NodeSamples): ReportChart {
  const start = s.overviewStart.memory;
  const end = s.overviewEnd.memory;
  const fallback: ReportTable = {
    columns: [
      { label: 'Type', type: 'text' },
      { label: 'Start', type: 'number' },
      { label: 'End', type: 'number' },
      { label: 'Change', type: 'number' },
    ],
    rows: MEMORY_TYPES.map((t) => [plain(t), numberCell(start[t], 'bytes'), numberCell(end[t], 'bytes'), numberCell(end[t] - start[t], 'bytes')]),
  };
  return {
    id: 'memory',
    shape: 'bars',
    title: 'Memory by type, start and end of the window',
    x: { label: 'memory type (erlang:memory/0)', unit: 'category', categories: [...MEMORY_TYPES] },
    y: { label: 'bytes', unit: 'bytes' },
    series: [
      { label: 'start of the window', points: MEMORY_TYPES.map((t, k) => [k, start[t]]) },
      { label: 'end of the window', points: MEMORY_TYPES.map((t, k) => [k, end[t]]) },
    ],
    fallback,
  };
}

/** Utilization per normal scheduler (and dirty CPU) from scheduler_wall_time; null when the node did not report it. */
export function schedulerChart(s: NodeSamples): ReportChart | null {
  const ends = [
    { label: 'start of the window', u: s.overviewStart.schedulerUtilization },
    { label: 'end of the window', u: s.overviewEnd.schedulerUtilization },
  ].filter((e): e is { label: string; u: NonNullable<typeof e.u> } => e.u !== null);
  if (ends.length === 0) return null;
  const n = Math.max(...ends.map((e) => e.u.perScheduler.length));
  const dirty = ends.some((e) => e.u.dirtyCpu !== null);
  const categories = [...Array.from({ length: n }, (_, i) => `scheduler ${i + 1}`), ...(dirty ? ['dirty CPU'] : [])];
  const valueOf = (u: NonNullable<NodeSamples['overviewEnd']['schedulerUtilization']>, k: number): number | undefined => (k < n ? u.perScheduler[k] : (u.dirtyCpu ?? undefined));
  return {
    id: 'schedulers',
    shape: 'bars',
    title: 'Scheduler utilization (scheduler_wall_time, 0.5 s at each end)',
    x: { label: 'scheduler', unit: 'category', categories },
    y: { label: 'busy share', unit: 'percent' },
    series: ends.map((e) => ({
      label: e.label,
      points: categories.flatMap((_, k): Array<[number, number]> => {
        const v = valueOf(e.u, k);
        return v === undefined ? [] : [[k, v * 100]];
      }),
    })),
    fallback: {
      columns: [{ label: 'Scheduler', type: 'text' }, ...ends.map((e) => ({ label: e.label, type: 'number' as const }))],
      rows: categories.map((c, k) => [plain(c), ...ends.map((e) => {
        const v = valueOf(e.u, k);
        return v === undefined ? plain('') : numberCell(v * 100, 'percent');
      })]),
    },
  };
}

/** Microstate accounting: each thread type's time split by state over the window (stacked to 100%). */
export function microstateChart(sched: SchedulingSample | undefined): ReportChart | null {
  if (!sched || sched.threads.length === 0) return null;
  const threads = sched.threads;
  // States in order of their total share, so the large ones sit at the bottom of every bar.
  const totals = new Map<string, number>();
  for (const t of threads) for (const [state, share] of Object.entries(t.states)) totals.set(state, (totals.get(state) ?? 0) + share);
  const states = [...totals.entries()]
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k]) => k);
  if (states.length === 0) return null;
  const categories = threads.map((t) => `${t.type} ×${t.threads}`);
  return {
    id: 'microstates',
    shape: 'stacked',
    title: `Microstate accounting over ${(sched.windowMs / 1000).toFixed(1)} s: time per state and thread type`,
    x: { label: 'thread type × threads', unit: 'category', categories },
    y: { label: 'share of the time', unit: 'percent' },
    series: states.map((state) => ({ label: state, points: threads.map((t, k): [number, number] => [k, (t.states[state] ?? 0) * 100]) })),
    fallback: {
      columns: [{ label: 'Thread type', type: 'text' }, { label: 'Threads', type: 'number' }, ...states.map((st) => ({ label: st, type: 'number' as const }))],
      rows: threads.map((t) => [plain(t.type), numberCell(t.threads, 'count'), ...states.map((st) => numberCell((t.states[st] ?? 0) * 100, 'percent'))]),
    },
  };
}
