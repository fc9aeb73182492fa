// The audited run: the one path every face (CLI, extension, language server, MCP) takes to run a
// bounded session on an attached node:
//
//   consent -> the node's claim (intrusive runs: one per node across BEAM Lens instances)
//           -> audit "KIND start" -> body(signal) with limits, deadline, cancellation
//           -> save the JSON record (and the `.beamtrace` log of trace sessions)
//           -> audit "KIND end" with how it ended, whatever the ending
//
// Outcomes in the audit log: 'refused' (consent missing, or another instance's run holds the
// node: one "KIND start" line, the body never runs), the session's end reason ('completed',
// 'deadline', 'cap', 'breaker', 'stopped', 'owner_down', 'process_down', 'taken_over'), or
// 'error' (with the message as detail).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { BeamLensError, errorMessage } from '../../errors';
import { linkSignals, type StopSource } from './cancel';
import { requireConsent, type ConsentGrants, type IntrusiveAction } from '../attach/consent';
import type { Attachment } from '../attach/attachment';
import type { RunClaim } from '../attach/run-claim';
import type { AuditLog } from '../records/audit';
import { newSessionId, saveSession, type EndReason, type SessionKind, type SessionRecord } from '../records/store';
import { renderTraceLog } from '../records/trace-log';
import type { TraceResult } from './trace';

/** What a session body returns. */
export interface RunOutcome<T> {
  value: T;
  endReason: EndReason;
  /** Why it ended, for a person (e.g. which breaker threshold). */
  endDetail?: string;
  /** Measured by the body; default: wall time of the body. */
  durationMs?: number;
}

/** One audited run. */
export interface RunRequest<T> {
  session: Attachment;
  kind: SessionKind;
  /** The bounds as recorded in the audit log and the saved record (rate, cap, deadline, …). */
  limits: Record<string, unknown>;
  /** Checked before anything is audited or run (the face asked the user first, or took flags). */
  consent: readonly IntrusiveAction[];
  /**
   * Consent for this run only (a face that asks per action, e.g. an MCP elicitation form),
   * added to the session's own grants while the run lasts. Default: the session's grants.
   */
  grants?: ConsentGrants;
  /** Where to audit; null when the run changes nothing on the target and needs no audit (a read-only report). */
  audit: AuditLog | null;
  /** Ctrl-C, a Stop button, a cancelled request: the body's signal aborts; the body ends with 'stopped'. */
  stop?: StopSource | StopSource[];
  /**
   * Overall deadline: the body's signal aborts at this time and a 'stopped' ending is recorded as
   * 'deadline'. Trace sessions also enforce their own deadline on the target.
   */
  deadlineMs?: number;
  /** Where to save the JSON record; null: not saved (e.g. an editor without a workspace folder). */
  save: { cwd: string; file?: string } | null;
  /** For trace sessions: what the `.beamtrace` log saved next to the record shows. */
  traceLog?: (value: T) => { target: string; limits: Record<string, string | number>; result: TraceResult };
  body: (signal: AbortSignal) => Promise<RunOutcome<T>>;
}

/** How a run ended and where it was saved. */
export interface RunResult<T> extends Required<Pick<RunOutcome<T>, 'value' | 'endReason' | 'durationMs'>> {
  endDetail?: string;
  id: string;
  /** The JSON record written, or null when not saved. */
  file: string | null;
  /** The `.beamtrace` text of trace sessions (also when not saved), else null. */
  traceLog: string | null;
  /** The `.beamtrace` file written, or null. */
  traceLogFile: string | null;
}

/** Record limits in a printable form for a `.beamtrace` header (rates as N/Mms). */
export function printableLimits(limits: Record<string, unknown>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(limits)) {
    if (typeof v === 'number' || typeof v === 'string') out[k] = v;
    else if (v !== null && typeof v === 'object' && 'count' in v && 'perMs' in v) out[k] = `${String(v.count)}/${String(v.perMs)}ms`;
  }
  return out;
}

/**
 * Runs one bounded session, audited and saved. Throws what the body throws (after auditing it as
 * 'error'), a ConsentRequiredError (audited as 'refused'), or a BeamLensError 'io' when the record
 * cannot be saved (audited as 'error').
 */
export async function runAudited<T>(req: RunRequest<T>): Promise<RunResult<T>> {
  const { session } = req;
  if (req.consent.length === 0) return runChecked(req);
  // Intrusive runs: one per node at a time (the next is refused, naming the running one), with
  // the run's own consent, if the face gave one, for exactly as long as the run lasts.
  const run = (): Promise<RunResult<T>> => session.exclusive(req.kind, req.deadlineMs, () => runChecked(req));
  try {
    return await (req.grants ? session.withGrants(req.grants, run) : run());
  } catch (err) {
    if (err instanceof BeamLensError && err.kind === 'targetBusy' && session.running !== null) {
      // Refused by the lock (our own body's errors are audited by runChecked, and the lock is free by now).
      req.audit?.append({ node: session.node, env: session.env, action: `${req.kind} start`, limits: req.limits, outcome: 'refused', detail: err.message });
    }
    throw err;
  }
}

async function runChecked<T>(req: RunRequest<T>): Promise<RunResult<T>> {
  const { session, kind, limits, audit } = req;
  const node = session.node;
  const env = session.env;
  const grants = session.options.grants ?? {};
  try {
    for (const action of req.consent) requireConsent(action, node, env, grants);
  } catch (err) {
    audit?.append({ node, env, action: `${kind} start`, limits, outcome: 'refused', detail: errorMessage(err) });
    throw err;
  }
  // Across BEAM Lens instances too: the node's claim (refused, naming the holder, before anything is set).
  let claim: RunClaim | null = null;
  if (req.consent.length > 0) {
    try {
      claim = await session.claimNode(kind, req.deadlineMs);
    } catch (err) {
      const busy = err instanceof BeamLensError && err.kind === 'targetBusy';
      audit?.append({ node, env, action: `${kind} start`, limits, outcome: busy ? 'refused' : 'error', detail: errorMessage(err) });
      throw err;
    }
  }
  try {
    return await runClaimed(req);
  } finally {
    await claim?.release();
  }
}

async function runClaimed<T>(req: RunRequest<T>): Promise<RunResult<T>> {
  const { session, kind, limits, audit } = req;
  const node = session.node;
  const env = session.env;
  const started = new Date();
  const id = newSessionId(kind, started);
  audit?.append({ node, env, action: `${kind} start`, limits, outcome: 'requested' });
  const stops = Array.isArray(req.stop) ? req.stop : [req.stop];
  const linked = linkSignals(...stops);
  let hitDeadline = false;
  const deadline = req.deadlineMs !== undefined
    ? setTimeout(() => {
        hitDeadline = true;
        linked.abort();
      }, req.deadlineMs)
    : undefined;
  try {
    const outcome = await req.body(linked.signal);
    const endReason: EndReason = hitDeadline && outcome.endReason === 'stopped' ? 'deadline' : outcome.endReason;
    const durationMs = outcome.durationMs ?? Date.now() - started.getTime();
    const record: SessionRecord<T> = {
      format: 1,
      id,
      kind,
      node,
      env,
      startedAt: started.toISOString(),
      endedAt: new Date().toISOString(),
      durationMs,
      limits,
      endReason,
      ...(outcome.endDetail ? { endDetail: outcome.endDetail } : {}),
      result: outcome.value,
    };
    const log = req.traceLog ? req.traceLog(outcome.value) : null;
    const traceLog = log ? renderTraceLog(node, id, log.target, log.limits, log.result) : null;
    let file: string | null = null;
    let traceLogFile: string | null = null;
    if (req.save) {
      try {
        file = saveSession(record, req.save);
        if (traceLog !== null) {
          traceLogFile = file.replace(/\.json$/, '') + '.beamtrace';
          writeFileSync(traceLogFile, traceLog);
        }
      } catch (err) {
        throw new BeamLensError('io', `the ${kind} session ended (${endReason}) but could not be saved: ${errorMessage(err)}`, { cause: err });
      }
    }
    audit?.append({ node, env, action: `${kind} end`, limits, outcome: endReason, ...(outcome.endDetail ? { detail: outcome.endDetail } : {}), ...(file ? { session: path.basename(file) } : {}) });
    return { value: outcome.value, endReason, durationMs, id, file, traceLog, traceLogFile, ...(outcome.endDetail ? { endDetail: outcome.endDetail } : {}) };
  } catch (err) {
    const refused = err instanceof BeamLensError && err.kind === 'consentRequired';
    try {
      audit?.append({ node, env, action: `${kind} end`, limits, outcome: refused ? 'refused' : 'error', detail: errorMessage(err) });
    } catch {
      // The audit log itself failed; the original error says more.
    }
    throw err;
  } finally {
    if (deadline) clearTimeout(deadline);
    linked.dispose();
  }
}
