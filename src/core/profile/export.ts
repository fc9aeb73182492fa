// Files other tools open: speedscope's file format (shared frames, one sampled profile per
// process, weights in milliseconds) and Brendan Gregg's folded stacks (`a;b;c N` per line, for
// flamegraph.pl, inferno and speedscope's own importer).
import { stackCounts, type FoldOptions } from './fold';
import { functionName } from './names';
import { processLabel, type Profile } from './profile';

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

export interface SpeedscopeFrame {
  name: string;
  file?: string;
  line?: number;
}

export interface SpeedscopeSampledProfile {
  type: 'sampled';
  name: string;
  unit: 'milliseconds';
  startValue: number;
  endValue: number;
  samples: number[][];
  weights: number[];
}

export interface SpeedscopeFile {
  $schema: typeof SPEEDSCOPE_SCHEMA;
  shared: { frames: SpeedscopeFrame[] };
  profiles: SpeedscopeSampledProfile[];
  name: string;
  activeProfileIndex: number;
  exporter: string;
}

export function toSpeedscope(profile: Profile, title: string, options: FoldOptions = {}): SpeedscopeFile {
  const frames = profile.frames.map((f) => ({
    name: functionName(f),
    ...(f.file ? { file: f.file } : {}),
    ...(f.line > 0 ? { line: f.line } : {}),
  }));
  const nominalMs = profile.stats.intervalUs / 1000;
  const profiles: SpeedscopeSampledProfile[] = [];
  for (const p of profile.processes) {
    if (options.pids && !options.pids.includes(p.pid)) continue;
    const samples: number[][] = [];
    const weights: number[] = [];
    let prev: number | null = null;
    for (const [t, stack, busy] of p.samples) {
      const weight = prev === null ? nominalMs : Math.max(0, (t - prev) / 1000);
      prev = t;
      if (busy === 0 && !options.includeIdle) continue;
      samples.push(profile.stacks[stack] ?? []);
      weights.push(Math.round(weight * 1000) / 1000);
    }
    const end = weights.reduce((a, b) => a + b, 0);
    profiles.push({ type: 'sampled', name: processLabel(p), unit: 'milliseconds', startValue: 0, endValue: Math.round(end * 1000) / 1000, samples, weights });
  }
  return { $schema: SPEEDSCOPE_SCHEMA, shared: { frames }, profiles, name: title, activeProfileIndex: 0, exporter: 'beam-lens' };
}

/** One line per distinct stack: the process, then its frames root first, then the count. */
export function toCollapsed(profile: Profile, options: FoldOptions = {}): string {
  const clean = (s: string): string => s.replace(/[;\r\n]/g, '_');
  const lines = new Map<string, number>();
  for (const p of profile.processes) {
    if (options.pids && !options.pids.includes(p.pid)) continue;
    const { counts } = stackCounts(profile, { ...options, pids: [p.pid] });
    const label = clean(processLabel(p));
    for (const [s, n] of counts) {
      const names = (profile.stacks[s] ?? []).map((f) => {
        const fr = profile.frames[f];
        return fr ? clean(functionName(fr)) : '?';
      });
      const key = [label, ...names].join(';');
      lines.set(key, (lines.get(key) ?? 0) + n);
    }
  }
  return [...lines].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([k, n]) => `${k} ${n}`).join('\n') + (lines.size > 0 ? '\n' : '');
}
