// One report run, shared by every face (CLI `report`, the editor's report view, the MCP `report`
// tool): the diagnosis over the window and, over the same window, telemetry (handlers listed
// read-only; with tracing consent their events counted by a temporary handler) and, when asked,
// a leak-trend watch whose findings join the report's and whose projections are charted.
import type { Attachment } from '../attach/attachment';
import { diagnose, type Diagnosis } from '../findings/diagnose';
import { uniqueIds, type Finding } from '../findings/rules';
import { planWindow, type TrendSamples } from '../findings/trends';
import { TELEMETRY_LIMITS, listTelemetry, watchTelemetry } from '../runs/telemetry';
import { watchTrends } from '../runs/trend-watch';
import type { ProgressReporter } from '../target/rpc';
import { buildReport } from './build';
import type { ReportDocument } from './document';
import type { ReportTelemetry } from './telemetry-section';

export interface ReportRunOptions {
  durationMs: number;
  /** Tracing consent given: hot functions, the system monitor, crash reasons, telemetry counts. */
  trace: boolean;
  /** Also watch leak trends over the window (at least 10 s; read-only). */
  trends?: boolean;
  /** After the window, garbage-collect the top binary holders (needs the 'gc' consent; see diagnose). */
  gcBinaries?: boolean;
  onProgress?: ProgressReporter;
  signal?: AbortSignal;
}

/** What a report adds to the diagnosis (kept by faces that rebuild the document, e.g. the editor's view). */
export interface ReportExtras {
  telemetry?: ReportTelemetry;
  trends?: { samples: TrendSamples; findings: Finding[] };
}

export interface ReportRun {
  diagnosis: Diagnosis;
  extras: ReportExtras;
  /** The diagnosis' findings and the trend findings, most severe first. */
  findings: Finding[];
  document: ReportDocument;
}

export const TELEMETRY_CONSENT_NOTE =
  'Event counts and p50/p95/p99 of durations over the window need consent for a temporary handler (with --allow-trace --allow-probe, or allowing tracing in the editor or MCP client); it is detached when the window ends.';

/** Telemetry over a report's window: listed read-only; watched (all handled events, bounded) with consent. Never fails the report. */
export async function reportTelemetry(session: Attachment, options: { durationMs: number; watch: boolean; signal?: AbortSignal }): Promise<ReportTelemetry | undefined> {
  let listing;
  try {
    listing = await listTelemetry(session);
  } catch {
    // A node that cannot answer the listing (an old or odd telemetry) gets no section.
    return undefined;
  }
  if (!listing.running) return { listing };
  if (!options.watch) return { listing, note: TELEMETRY_CONSENT_NOTE };
  if (listing.events.length === 0) return { listing, note: 'No handler is attached to any event, so there is nothing telemetry would pass to a watcher.' };
  const events = listing.events.slice(0, TELEMETRY_LIMITS.maxEvents);
  const left = listing.eventsTotal - events.length;
  const bound = left > 0 ? `Only the first ${events.length} event names (sorted) were counted; ${left} more were left out (\`beam-lens telemetry --events PREFIX\` watches chosen ones).` : undefined;
  try {
    const watch = await watchTelemetry(session, { events, prefixes: ['(every event with a handler)'], durationMs: options.durationMs, ...(options.signal ? { signal: options.signal } : {}) });
    return { listing, watch, ...(bound ? { note: bound } : {}) };
  } catch (err) {
    return { listing, note: `Events not counted: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Builds the report document of a diagnosis and its extras. */
export function reportDocumentOf(session: Pick<Attachment, 'env' | 'hasProbe'>, d: Diagnosis, extras: ReportExtras): { document: ReportDocument; findings: Finding[] } {
  const order: Record<Finding['severity'], number> = { critical: 0, warning: 1, info: 2 };
  const findings = uniqueIds([...d.findings, ...(extras.trends?.findings ?? [])].sort((a, b) => order[a.severity] - order[b.severity]));
  const document = buildReport({
    samples: d.samples,
    findings,
    env: session.env,
    probe: session.hasProbe,
    ...(d.tracingNote ? { tracingNote: d.tracingNote } : {}),
    ...(d.scheduling ? { scheduling: d.scheduling } : {}),
    ...(extras.telemetry ? { telemetry: extras.telemetry } : {}),
    ...(extras.trends ? { trends: extras.trends } : {}),
  });
  return { document, findings };
}

/** The diagnosis, telemetry and (when asked) leak trends over one window, and the report of them. */
export async function runReport(session: Attachment, options: ReportRunOptions): Promise<ReportRun> {
  // A window too short for a trend is a usage error before anything runs.
  const plan = options.trends ? planWindow(options.durationMs) : null;
  if (options.trace) await session.prepareTracing();
  const signal = options.signal ? { signal: options.signal } : {};
  const trends = plan ? watchTrends(session, { durationMs: plan.durationMs, intervalMs: plan.intervalMs, ...signal }) : Promise.resolve(undefined);
  const telemetry = reportTelemetry(session, { durationMs: options.durationMs, watch: options.trace, ...signal });
  const diagnosis = diagnose(session, { durationMs: options.durationMs, trace: options.trace, ...(options.gcBinaries ? { gcBinaries: true } : {}), ...(options.onProgress ? { onProgress: options.onProgress } : {}), ...signal });
  // Settle all three before answering (no watch is left running when the diagnosis fails).
  const [d, t, tr] = await Promise.allSettled([diagnosis, telemetry, trends]);
  if (d.status === 'rejected') throw d.reason;
  if (tr.status === 'rejected') throw tr.reason;
  const extras: ReportExtras = {
    ...(t.status === 'fulfilled' && t.value ? { telemetry: t.value } : {}),
    ...(tr.value ? { trends: { samples: tr.value.samples, findings: tr.value.findings } } : {}),
  };
  const { document, findings } = reportDocumentOf(session, d.value, extras);
  return { diagnosis: d.value, extras, findings, document };
}
