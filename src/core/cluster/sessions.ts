// Sessions over the whole cluster: the same bounded session on every member at once, each on its
// own direct attachment with the probe (its guardian cleans that member if we vanish), and one
// merged result. A member that fails or disappears mid-session is reported; the others go on.
import { BeamLensError, errorMessage } from '../../errors';
import { requireConsent } from '../attach/consent';
import type { AuditLog } from '../records/audit';
import { runHotFunctions, type HotFunction, type HotOptions, type HotResult } from '../runs/hot';
import type { StopSource } from '../runs/cancel';
import type { BreakerTrip } from '../runs/breaker';
import { printableLimits, runAudited } from '../runs/run';
import { runMonitor, type MonitorOptions, type TraceEvent, type TraceResult } from '../runs/trace';
import type { EndReason, SessionKind } from '../records/store';
import type { ClusterView } from './cluster';
import type { MemberStatus } from './members';

export interface ClusterHotResult {
  durationMs: number;
  /** 'completed' when every member that answered completed; else the first other ending. */
  endReason: EndReason;
  nodes: Array<{ node: string; status: MemberStatus; error?: string; endReason?: EndReason; totalCalls?: number; endDetail?: string }>;
  /** The top functions of all members, each naming its node, by calls per second. */
  functions: Array<HotFunction & { node: string }>;
}

/**
 * Counts calls on every member over one window (consent is checked on each member's attachment).
 * With `audit`, each member's count is a core audited run of its own (start and end on that
 * member's line in the audit log); the entry's is the caller's run, which holds the entry.
 */
export async function clusterHot(view: ClusterView, options: HotOptions & { limit: number }, audit?: { log: AuditLog | null; limits: Record<string, unknown> }): Promise<ClusterHotResult> {
  const started = Date.now();
  const answers = await view.ask(async (session, node) => {
    // (runHotFunctions loads the probe, after checking who holds the patterns it would set.)
    const count = (signal: AbortSignal | undefined): Promise<HotResult> => runHotFunctions(session, { ...options, ...(signal ? { signal } : {}) });
    // Each member's count is a core run (audited when there is a log): it claims its member
    // against other BEAM Lens instances as any intrusive run does.
    if (node === view.entry) return count(options.signal);
    const run = await runAudited<HotResult>({
      session,
      kind: 'hot',
      limits: { ...(audit?.limits ?? {}), cluster: view.entry },
      consent: ['trace', 'probe'],
      audit: audit?.log ?? null,
      ...(options.signal ? { stop: options.signal } : {}),
      save: null,
      body: async (signal) => {
        const r = await count(signal);
        return { value: r, endReason: r.endReason, durationMs: r.durationMs, ...(r.breaker ? { endDetail: tripText(r.breaker) } : {}) };
      },
    });
    return run.value;
  }, options.durationMs + 30_000);
  const functions = answers
    .flatMap((a) => (a.status === 'ok' && a.value ? a.value.functions.map((f) => ({ ...f, node: a.node })) : []))
    .sort((x, y) => y.callsPerSec - x.callsPerSec)
    .slice(0, options.limit);
  const endings = answers.flatMap((a) => (a.value ? [a.value.endReason] : []));
  return {
    durationMs: Date.now() - started,
    endReason: endings.find((e) => e !== 'completed') ?? 'completed',
    nodes: answers.map((a) => ({
      node: a.node,
      status: a.status,
      ...(a.error ? { error: a.error } : {}),
      ...(a.value
        ? {
            endReason: a.value.endReason,
            totalCalls: a.value.totalCalls,
            ...(a.value.breaker ? { endDetail: tripText(a.value.breaker) } : {}),
          }
        : {}),
    })),
    functions,
  };
}

function tripText(b: BreakerTrip): string {
  return `${b.what} ${b.value} over limit ${b.limit}`;
}

// ---- the system monitor on every member ---------------------------------------------------------

export interface ClusterMonitorRequest {
  options: MonitorOptions;
  audit: AuditLog | null;
  stop?: StopSource;
  /** Where each member's record is saved (null: not saved). */
  save: ((node: string) => { cwd: string; file?: string }) | null;
  /** Each event as it comes, with the member it happened on. */
  onEvent?: (node: string, e: TraceEvent) => void;
}

export interface ClusterMonitorMember {
  node: string;
  status: MemberStatus;
  error?: string;
  endReason?: TraceResult['endReason'];
  forwarded?: number;
  dropped?: number;
  /** This member's saved record and `.beamtrace` log. */
  session?: string | null;
  log?: string | null;
}

export interface ClusterMonitorResult {
  durationMs: number;
  nodes: ClusterMonitorMember[];
  /** Every member's events, each naming its node, in time order. */
  events: Array<TraceEvent & { node: string }>;
}

/**
 * The system monitor on every member at once: one bounded, audited, saved session per member (the
 * core run: consent, audit start, run, save, audit end, whatever the ending), each on that member's
 * own direct attachment with the probe, whose guardian clears the monitor if BEAM Lens vanishes.
 * Consent is checked on every member before anything starts (one consent for the cluster: a
 * refusal anywhere starts nothing). A member that goes down mid-run ends its own session with an
 * error; the others go on to their own ending.
 */
export async function clusterMonitor(view: ClusterView, req: ClusterMonitorRequest): Promise<ClusterMonitorResult> {
  const limits = { ...req.options, cluster: view.entry };
  requireClusterConsent(view, 'monitor', limits, req.audit);
  if (view.via !== 'direct') {
    throw new BeamLensError('capability', `the system monitor runs in the probe on each member, whose guardian watches BEAM Lens: that needs a direct connection to every member, and ${view.entry} only relays rpc calls to them. Use --via direct (or leave --via out with --allow-probe); members not reachable directly are then listed with what to do`);
  }
  const started = Date.now();
  const events: Array<TraceEvent & { node: string }> = [];
  const answers = await view.ask(
    (session, node) =>
      runAudited<TraceResult>({
        session,
        kind: 'monitor',
        limits,
        consent: ['trace', 'probe'],
        audit: req.audit,
        ...(req.stop ? { stop: req.stop } : {}),
        save: req.save ? req.save(node) : null,
        traceLog: (r) => ({ target: 'system_monitor', limits: printableLimits({ ...req.options }), result: r }),
        body: async (signal) => {
          const r = await runMonitor(
            session,
            req.options,
            (e) => {
              events.push({ ...e, node });
              req.onEvent?.(node, e);
            },
            signal,
          );
          return { value: r, endReason: r.endReason, durationMs: r.durationMs };
        },
      }),
    req.options.deadlineMs + 30_000,
  );
  return {
    durationMs: Date.now() - started,
    nodes: answers.map((a) => ({
      node: a.node,
      status: a.status,
      ...(a.error ? { error: a.error } : {}),
      ...(a.value
        ? { endReason: a.value.value.endReason, forwarded: a.value.value.forwarded, dropped: a.value.value.dropped, session: a.value.file, log: a.value.traceLogFile }
        : {}),
    })),
    events: events.sort((x, y) => x.timestampUs - y.timestampUs),
  };
}

/**
 * One consent for the cluster, checked on every member the view reaches before anything starts
 * there (each member's grants come from the entry's: on production the entry's typed name stands
 * for every member). A refusal is audited on the member that refused and thrown.
 */
export function requireClusterConsent(view: ClusterView, kind: SessionKind, limits: Record<string, unknown>, audit: AuditLog | null): void {
  for (const { node, session } of view.reachable) {
    try {
      for (const action of ['trace', 'probe'] as const) requireConsent(action, node, session.env, session.options.grants ?? {});
    } catch (err) {
      audit?.append({ node, env: session.env, action: `${kind} start`, limits, outcome: 'refused', detail: errorMessage(err) });
      throw err;
    }
  }
}
