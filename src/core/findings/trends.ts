// Leak trends over a longer watch (src/core/runs/trend-watch.ts samples them): least-squares
// fits of the atom count, process and port counts, per-process memory, binary memory and ETS
// tables, their steadiness, the projection to the node's limit, and the findings. Pure: the
// window plan, the fitting and the rules are unit-tested without a node.
import { BeamLensError } from '../../errors';
import { displayMfa, displayName, findingId } from './thresholds';
import type { Finding, Severity } from './rules';

/** Every threshold of the trend rules and the bounds of a watch. Rates per second, sizes in bytes. */
export const TREND_THRESHOLDS = {
  /** The window: at least this many samples and this long (a trend needs points); at most this many samples. */
  window: { minSamples: 5, minDurationMs: 10_000, maxDurationMs: 6 * 3600_000, maxSamples: 400, targetSamples: 30, minIntervalMs: 1000, maxIntervalMs: 60_000 },
  /** What one sample reads on the target: the top processes by memory, how many are followed, ETS tables. */
  sampling: { topProcesses: 20, maxFollowed: 60, topEts: 20, maxFollowedEts: 40, maxProcessesForRanking: 250_000 },
  /** Atoms are never collected: a steady rise is a leak; severity by the projected time to the atom limit. */
  atoms: { minPerSec: 0.2, minIncrease: 10, minRisingShare: 0.6, criticalHours: 24, warningDays: 30 },
  /** Process and port counts against their limits. */
  counts: { minPerSec: 0.2, minIncrease: 10, minSteadiness: 0.8, criticalHours: 1, warningHours: 24 },
  /** One process's memory: slope, net growth, share of non-falling steps and fit quality; warning from warningBytesPerSec. */
  processMemory: { minBytesPerSec: 8 * 1024, minIncrease: 512 * 1024, minSteadiness: 0.7, minR2: 0.6, warningBytesPerSec: 64 * 1024, top: 5 },
  /** The node's binary memory. */
  binary: { minBytesPerSec: 64 * 1024, minIncrease: 4 * 1024 * 1024, minSteadiness: 0.7, minR2: 0.6, warningBytesPerSec: 1024 * 1024 },
  /** An ETS table whose row count and memory never fell during the watch. */
  etsGrowth: { minBytesPerSec: 4 * 1024, minIncrease: 256 * 1024, minRows: 100 },
} as const;

export type Point = [ms: number, value: number];

export interface LineFit {
  /** Least-squares slope, per second. */
  perSec: number;
  /** Coefficient of determination (1: on a line; 0: no linear trend; 1 for a flat series). */
  r2: number;
  /** Share of steps that did not fall. */
  steadiness: number;
  /** Share of steps that rose. */
  rising: number;
  first: number;
  last: number;
}

export function fitLine(points: readonly Point[]): LineFit {
  const n = points.length;
  const first = points[0]?.[1] ?? 0;
  const last = points[n - 1]?.[1] ?? 0;
  if (n < 2) return { perSec: 0, r2: 0, steadiness: 0, rising: 0, first, last };
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) * (x - mx);
    syy += (y - my) * (y - my);
  }
  let up = 0;
  let notDown = 0;
  for (let i = 1; i < n; i++) {
    const d = (points[i] as Point)[1] - (points[i - 1] as Point)[1];
    if (d > 0) up++;
    if (d >= 0) notDown++;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return { perSec: slope * 1000, r2: syy === 0 ? 1 : sxx > 0 ? (sxy * sxy) / (sxx * syy) : 0, steadiness: notDown / (n - 1), rising: up / (n - 1), first, last };
}

/** Seconds until `last` reaches `limit` at `perSec`, or null when it does not rise. */
export function secondsToLimit(last: number, perSec: number, limit: number): number | null {
  if (!(perSec > 0) || !(limit > 0)) return null;
  return Math.max(0, (limit - last) / perSec);
}

// ---- the window -------------------------------------------------------------------------------

/** "90", "90s", "2m", "1.5h" -> milliseconds (a bare number is seconds); null when not a duration. */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'h' ? 3600_000 : 60_000;
  return Math.round(n * factor);
}

export interface WindowPlan {
  durationMs: number;
  intervalMs: number;
  /** Samples taken, the first at 0 and the last at durationMs. */
  samples: number;
}

/**
 * The sampling plan of a watch: the interval adapted to the duration (about targetSamples
 * points, 1 s to 60 s apart) unless given, within the bounds. Too short a window for a trend,
 * or too many samples, is a usage error that says what would work.
 */
export function planWindow(durationMs: number, intervalMs?: number): WindowPlan {
  const w = TREND_THRESHOLDS.window;
  const s = (ms: number): string => fmtDuration(ms);
  if (!Number.isFinite(durationMs) || durationMs < w.minDurationMs) {
    throw new BeamLensError('usage', `a trend needs a window of at least ${s(w.minDurationMs)} and ${w.minSamples} samples; got ${s(durationMs)}. Use e.g. --duration 2m`);
  }
  if (durationMs > w.maxDurationMs) throw new BeamLensError('usage', `the trend window is at most ${s(w.maxDurationMs)}; got ${s(durationMs)}`);
  if (intervalMs !== undefined && !(Number.isFinite(intervalMs) && intervalMs >= w.minIntervalMs && intervalMs <= w.maxIntervalMs)) {
    throw new BeamLensError('usage', `the sampling interval must be from ${s(w.minIntervalMs)} to ${s(w.maxIntervalMs)}; got ${s(intervalMs)}`);
  }
  const interval = intervalMs ?? Math.min(w.maxIntervalMs, Math.max(w.minIntervalMs, Math.round(durationMs / w.targetSamples / 1000) * 1000));
  // (An adapted interval stays within maxSamples: maxDurationMs / maxIntervalMs < maxSamples.)
  const samples = Math.floor(durationMs / interval) + 1;
  if (samples < w.minSamples) {
    throw new BeamLensError(
      'usage',
      `a trend needs at least ${w.minSamples} samples: ${s(durationMs)} at one sample every ${s(interval)} gives ${samples}. ` +
        `Use a longer --duration or an --interval of at most ${s(Math.floor(durationMs / (w.minSamples - 1)))}`,
    );
  }
  if (samples > w.maxSamples) {
    throw new BeamLensError('usage', `at most ${w.maxSamples} samples per watch: ${s(durationMs)} every ${s(interval)} gives ${samples}. Use an --interval of at least ${s(Math.ceil(durationMs / (w.maxSamples - 1) / 1000) * 1000)}`);
  }
  return { durationMs, intervalMs: interval, samples };
}

export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const sec = ms / 1000;
  if (sec < 120) return `${Math.round(sec * 10) / 10} s`;
  if (sec < 7200) return `${Math.round(sec / 6) / 10} min`;
  if (sec < 3 * 86400) return `${Math.round(sec / 360) / 10} h`;
  return `${Math.round(sec / 8640) / 10} days`;
}

// ---- what a watch saw -------------------------------------------------------------------------

export interface ProcessTrend {
  pid: string;
  name: string | null;
  /** proc_lib's $initial_call, else initial_call (Module:fun/arity, raw atoms). */
  initialCall: string | null;
  /** Memory in bytes over the watch (ms since its start). */
  points: Point[];
  messageQueueLen: number;
}

export interface EtsTrend {
  id: string;
  name: string;
  owner: string | null;
  size: Point[];
  memory: Point[];
}

export interface TrendSamples {
  node: string;
  startedAt: string;
  durationMs: number;
  intervalMs: number;
  samples: number;
  atoms: Point[];
  processes: Point[];
  ports: Point[];
  binary: Point[];
  total: Point[];
  limits: { atoms: number; processes: number; ports: number };
  /** Processes that were among the top by memory in some sample. */
  processMemory: ProcessTrend[];
  /** False when the node had too many processes to rank by memory each interval. */
  processRanking: boolean;
  ets: EtsTrend[];
  /** The processes holding the most refc binary bytes at the end of the watch (a lower bound: shared binaries count for each holder). */
  binaryHolders?: Array<{ pid: string; name: string | null; initialCall: string | null; bytes: number }>;
}

export interface RankedProcess extends ProcessTrend {
  fit: LineFit;
}

/** Processes by memory slope, steepest first. */
export function rankByGrowth(s: Pick<TrendSamples, 'processMemory'>): RankedProcess[] {
  return s.processMemory
    .filter((p) => p.points.length >= 2)
    .map((p) => ({ ...p, fit: fitLine(p.points) }))
    .sort((a, b) => b.fit.perSec - a.fit.perSec);
}

// ---- findings ---------------------------------------------------------------------------------

const KiB = 1024;
const MiB = 1024 * 1024;

export function bytes(n: number): string {
  const a = Math.abs(n);
  if (a >= 1024 * MiB) return `${(n / 1024 / MiB).toFixed(1)} GiB`;
  if (a >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (a >= KiB) return `${(n / KiB).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

function fitLine2(f: LineFit, unit: (n: number) => string, window: string): string {
  return `${unit(f.first)} → ${unit(f.last)} over ${window}: ${unit(f.perSec)}/s by least squares (R² ${f.r2.toFixed(2)}), ${Math.round(f.steadiness * 100)}% of steps not falling`;
}

export function trendFindings(s: TrendSamples, sources: Record<string, string> = {}): Finding[] {
  const out: Finding[] = [];
  const window = fmtDuration(s.durationMs);
  const every = `${s.samples} samples every ${fmtDuration(s.intervalMs)}`;
  const num = (n: number): string => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : String(Math.round(n * 10) / 10));

  // Atoms.
  const A = TREND_THRESHOLDS.atoms;
  const af = fitLine(s.atoms);
  if (af.perSec >= A.minPerSec && af.last - af.first >= A.minIncrease && af.rising >= A.minRisingShare) {
    const left = secondsToLimit(af.last, af.perSec, s.limits.atoms);
    const severity: Severity = left !== null && left <= A.criticalHours * 3600 ? 'critical' : left !== null && left <= A.warningDays * 86400 ? 'warning' : 'info';
    out.push({
      id: findingId('atom-leak', 'atoms'),
      rule: 'atom-leak',
      severity,
      title: `Atoms grow by ${num(af.perSec)}/s: the atom table is full in ${left === null ? '?' : fmtDuration(left * 1000)} (atoms are never collected)`,
      evidence: [
        `atom count ${fitLine2(af, num, window)} (${every})`,
        `limit ${s.limits.atoms.toLocaleString('en-US')} atoms (+t); ${Math.round((af.last / s.limits.atoms) * 1000) / 10}% used; ${Math.round(af.rising * 100)}% of steps rose`,
        ...(left !== null ? [`projection: ${(s.limits.atoms - af.last).toLocaleString('en-US')} atoms left → the node crashes with "no more index entries in atom_tab" in about ${fmtDuration(left * 1000)}`] : []),
      ],
      subject: { name: 'atoms' },
      recommendation:
        'Code turns unbounded data into atoms: String.to_atom/1, :erlang.binary_to_atom/2, list_to_atom/1 on user input, ' +
        'dynamic module or registered names, or decoding JSON/terms with keys as atoms. Use String.to_existing_atom/1 ' +
        '(or keep strings/binaries as keys), `Jason.decode(..., keys: :strings)`, and binary_to_term(B, [safe]). ' +
        'Find the caller with `beam-lens hot --allow-trace --allow-probe` on erlang:binary_to_atom/2 or by searching the code for to_atom.',
      risk: 'String.to_existing_atom/1 raises for unknown names: handle the ArgumentError where input may be new.',
      validation: 'Re-run `beam-lens trends` over the same load: the atom count stays flat after warm-up.',
    });
  }

  // Process and port counts.
  for (const [what, points, limit, flag] of [
    ['processes', s.processes, s.limits.processes, '+P'],
    ['ports', s.ports, s.limits.ports, '+Q'],
  ] as const) {
    const C = TREND_THRESHOLDS.counts;
    const f = fitLine(points);
    if (!(f.perSec >= C.minPerSec && f.last - f.first >= C.minIncrease && f.steadiness >= C.minSteadiness)) continue;
    const left = secondsToLimit(f.last, f.perSec, limit);
    const severity: Severity = left !== null && left <= C.criticalHours * 3600 ? 'critical' : left !== null && left <= C.warningHours * 3600 ? 'warning' : 'info';
    const rule = what === 'processes' ? 'process-count-growth' : 'port-count-growth';
    out.push({
      id: findingId(rule, what),
      rule,
      severity,
      title: `The ${what === 'processes' ? 'process' : 'port'} count grows by ${num(f.perSec)}/s: the ${what} limit is reached in ${left === null ? '?' : fmtDuration(left * 1000)}`,
      evidence: [
        `${what} ${fitLine2(f, num, window)} (${every})`,
        `limit ${limit.toLocaleString('en-US')} (${flag}); ${Math.round((f.last / limit) * 1000) / 10}% used`,
      ],
      subject: { name: what },
      recommendation:
        what === 'processes'
          ? 'Processes are started faster than they end: spawned tasks that never finish (a receive without timeout), a DynamicSupervisor without max_children, or a process per request that is never stopped. Compare `beam-lens processes --sort memory` by initial call across two runs to see which kind accumulates, and bound it (max_children, timeouts, Task.Supervisor with async_nolink and a deadline).'
          : 'Ports (sockets, files, external programs) are opened and not closed: a socket per request without close on every path, files opened without File.close, or os:cmd/open_port without cleanup. `beam-lens ports` shows which kind accumulates and its owner; close in an after/ensure block or link the port to a process that ends.',
      risk: `Raising the limit (${flag}) only delays the failure and costs memory per ${what === 'processes' ? 'process' : 'port'} slot.`,
      validation: `Re-run \`beam-lens trends\` under the same load: the ${what} count levels off.`,
    });
  }

  // Per-process memory, ranked by slope.
  const P = TREND_THRESHOLDS.processMemory;
  const ranked = rankByGrowth(s).filter(
    (p) => p.fit.perSec >= P.minBytesPerSec && p.fit.last - p.fit.first >= P.minIncrease && p.fit.steadiness >= P.minSteadiness && p.fit.r2 >= P.minR2,
  );
  ranked.slice(0, P.top).forEach((p, rank) => {
    const module = moduleOf(p);
    const label = p.name ? displayName(p.name) : p.initialCall ? displayMfa(p.initialCall) : p.pid;
    const who = p.name ? displayName(p.name) : p.initialCall ? `${p.pid} (${displayMfa(p.initialCall)})` : p.pid;
    out.push({
      id: findingId('memory-growth', label),
      rule: 'memory-growth',
      severity: p.fit.perSec >= P.warningBytesPerSec ? 'warning' : 'info',
      title: `${who}'s memory grows by ${bytes(p.fit.perSec)}/s (${bytes(p.fit.last)} now): leak candidate #${rank + 1}`,
      evidence: [
        `memory ${fitLine2(p.fit, bytes, window)} (${every})`,
        `projection: +${bytes(p.fit.perSec * 3600)} per hour; ${bytes(p.fit.last + p.fit.perSec * 86400)} in a day at this rate`,
        `module ${module ? displayName(module) : '?'}; mailbox ${p.messageQueueLen.toLocaleString('en-US')} messages`,
      ],
      subject: { pid: p.pid, name: p.name, module },
      ...(module ? { location: { module, ...(sources[module] ? { file: sources[module] } : {}) } } : {}),
      recommendation:
        p.messageQueueLen > 1000
          ? `${who} grows because its mailbox does (${p.messageQueueLen.toLocaleString('en-US')} queued): it cannot keep up; add back-pressure or partition the work.`
          : `${who} keeps data in its state (or process dictionary) and never drops it: a list or map that only gets new entries, a cache without eviction, history kept for debugging. ` +
            'Bound it (evict by age or size, keep only a window), move large shared data to ETS with a cleanup, or `:hibernate` idle long-lived processes if the growth is garbage that is never collected.',
      risk: 'Evicting state changes behaviour for callers that relied on old entries; hibernation adds CPU on every wake-up.',
      validation: `Re-run \`beam-lens trends\`: ${who}'s memory levels off (the slope falls under ${bytes(P.minBytesPerSec)}/s).`,
    });
  });

  // Binary memory.
  const B = TREND_THRESHOLDS.binary;
  const bf = fitLine(s.binary);
  if (bf.perSec >= B.minBytesPerSec && bf.last - bf.first >= B.minIncrease && bf.steadiness >= B.minSteadiness && bf.r2 >= B.minR2) {
    const total = s.total[s.total.length - 1]?.[1] ?? 0;
    out.push({
      id: findingId('binary-growth', 'binary'),
      rule: 'binary-growth',
      severity: bf.perSec >= B.warningBytesPerSec ? 'warning' : 'info',
      title: `Binary memory grows by ${bytes(bf.perSec)}/s (${bytes(bf.last)} now)`,
      evidence: [
        `binary memory ${fitLine2(bf, bytes, window)} (${every})`,
        `${total > 0 ? Math.round((bf.last / total) * 100) : '?'}% of the node's ${bytes(total)}; +${bytes(bf.perSec * 3600)} per hour at this rate`,
        ...((s.binaryHolders ?? []).length > 0
          ? [`largest holders at the end: ${(s.binaryHolders ?? []).slice(0, 3).map((h) => `${h.name ? displayName(h.name) : h.initialCall ? `${h.pid} (${displayMfa(h.initialCall)})` : h.pid} ${bytes(h.bytes)}`).join(', ')}`]
          : []),
      ],
      subject: { name: 'binary' },
      recommendation:
        'Refc binaries stay alive while any process holds a reference: a long-lived process that only touches binaries in passing (a router, a logger, a parser keeping sub-binaries) may not garbage-collect for a long time. ' +
        'Look at the top binary holders (`beam-lens processes --sort binary`); copy sub-binaries you keep (:binary.copy/1), hibernate or collect idle routers, and keep large payloads out of long-lived state.',
      risk: 'Forcing collections or copying costs CPU; hibernation adds latency on wake-up.',
      validation: 'Re-run `beam-lens trends`: binary memory levels off under the same load.',
    });
  }

  // ETS tables that only grow.
  const E = TREND_THRESHOLDS.etsGrowth;
  for (const t of s.ets) {
    const sf = fitLine(t.size);
    const mf = fitLine(t.memory);
    if (t.size.length < 2 || sf.steadiness < 1 || mf.steadiness < 1) continue;
    if (!(sf.last - sf.first >= E.minRows && mf.last - mf.first >= E.minIncrease && mf.perSec >= E.minBytesPerSec)) continue;
    const label = t.name;
    out.push({
      id: findingId('ets-growth', label),
      rule: 'ets-growth',
      severity: 'warning',
      title: `ETS table ${label} only grows: +${num(sf.perSec)} rows/s, ${bytes(mf.perSec)}/s (${bytes(mf.last)} now)`,
      evidence: [
        `rows ${fitLine2(sf, num, window)} (${every}); never fell`,
        `memory ${fitLine2(mf, bytes, window)}`,
        `owner ${t.owner ?? '?'}; projection: +${bytes(mf.perSec * 3600)} per hour`,
      ],
      subject: { name: label, ...(t.owner ? { pid: t.owner } : {}) },
      recommendation:
        `Rows are inserted into ${label} and never deleted: a cache without expiry, a session or request table without cleanup. Delete on the path that ends the entry's life, ` +
        'or sweep periodically (:ets.select_delete/2 on a timestamp column), or bound the table (evict the oldest).',
      risk: 'Expiring entries that other code still reads turns into cache misses or lost state: find every reader first.',
      validation: `Re-run \`beam-lens trends\`: ${label}'s row count levels off.`,
    });
  }
  const order: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
  return out.sort((a, b) => order[a.severity] - order[b.severity]);
}

function moduleOf(p: Pick<ProcessTrend, 'initialCall'>): string | null {
  const m = p.initialCall?.split(':')[0];
  return m ? m : null;
}
