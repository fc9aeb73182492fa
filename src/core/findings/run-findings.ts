// Findings from tracing sessions: hot functions (call_count / call_time) and system monitor events.
import type { Finding, SourceLocation } from './rules';
import { FINDING_THRESHOLDS as T, displayMfa, findingId, location } from './thresholds';
import type { NodeSamples } from './sampler';
import type { HotResult } from '../runs/hot';

/** Findings from a hot-functions session: functions taking a large share of calls (or time). */
export function hotFunctionFindings(hot: HotResult, s?: NodeSamples): Finding[] {
  return hot.functions
    .filter((f) => f.share >= T.hotFunction.minShare || f.callsPerSec >= T.hotFunction.minPerSec)
    .slice(0, T.hotFunction.top)
    .map((f) => ({
      id: findingId('hot-function', displayMfa(f.mfa)),
      rule: 'hot-function' as const,
      severity: f.share >= T.hotFunction.warningShare ? ('warning' as const) : ('info' as const),
      title: `${displayMfa(f.mfa)} takes ${Math.round(f.share * 100)}% of calls (${Math.round(f.callsPerSec).toLocaleString('en-US')}/s)`,
      evidence: [
        `${f.calls.toLocaleString('en-US')} calls in ${(hot.durationMs / 1000).toFixed(1)} s (call_count on ${hot.modules.length} modules)`,
        ...(f.usPerCall !== undefined ? [`${f.usPerCall} µs per call (call_time)`] : []),
      ],
      subject: { module: f.module },
      location: { ...(s ? (location(s, f.module) as SourceLocation) : { module: f.module }), module: f.module, function: f.function, arity: f.arity },
      recommendation:
        `${displayMfa(f.mfa)} is called ${Math.round(f.callsPerSec).toLocaleString('en-US')} times a second. Make each call cheaper ` +
        '(precompute what does not change per call, avoid rebuilding maps or strings), call it less (cache results keyed by ' +
        'its arguments, batch the callers), or move it off the hot path.',
      risk: 'Caching trades memory for speed and can serve stale results; batching adds latency for the first caller.',
      validation: `Re-run \`beam-lens hot\` under the same load: calls/s of ${displayMfa(f.mfa)} (and its µs per call with --call-time) should drop.`,
    }));
}

/** Findings from system monitor events: processes with long GCs or large heaps. */
export function monitorFindings(events: Array<{ what: string; pid: string; detail: string }>): Finding[] {
  const byPid = new Map<string, { gc: number; heap: number; detail: string }>();
  for (const e of events) {
    const c = byPid.get(e.pid) ?? { gc: 0, heap: 0, detail: e.detail };
    if (e.what === 'long_gc') c.gc++;
    if (e.what === 'large_heap') c.heap++;
    byPid.set(e.pid, c);
  }
  return [...byPid.entries()]
    .filter(([, c]) => c.gc > 0 || c.heap > 0)
    .map(([pid, c]) => ({
      id: findingId('long-gc', pid),
      rule: 'long-gc' as const,
      severity: c.gc >= T.longGc.warningCount ? ('warning' as const) : ('info' as const),
      title: `${pid} had ${c.gc} long garbage collections${c.heap ? ` and ${c.heap} large-heap warnings` : ''}`,
      evidence: [c.detail],
      subject: { pid },
      recommendation: 'A large, long-lived heap makes every collection slow: keep less in the process state (ETS, or smaller terms), or tune with `:erlang.process_flag(:fullsweep_after, N)` / hibernation for idle processes.',
      risk: 'Moving state to ETS changes access patterns; hibernation costs a GC on every wake-up.',
      validation: 'Run `beam-lens monitor` again: long_gc events for this process should stop.',
    }));
}
