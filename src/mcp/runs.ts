// How an MCP tool call runs a bounded session: ask consent (form or pre-approval), then the core
// audited run (consent check, audit with face 'mcp' and the client, one intrusive session per
// node, limits, deadline, cancellation, saved record) with MCP progress while it runs. The probe
// is released afterwards unless the server was started with --allow-probe, so the node is left
// exactly as it was (unloaded, or left loaded with our part undone while another BEAM Lens uses it).
import { ConsentRequiredError, requireConsent, type IntrusiveAction } from '../core/attach/consent';
import type { Attachment } from '../core/attach/attachment';
import { fileAuditLog } from '../core/records/audit';
import { runAudited, type RunOutcome, type RunResult } from '../core/runs/run';
import type { SessionKind } from '../core/records/store';
import type { TraceResult } from '../core/runs/trace';
import { errorMessage } from '../errors';
import { obtainConsent, type Consent, type LimitField } from './consent';
import { progressFor, type Extra, type McpContext } from './context';

export interface McpRun<T> {
  tool: string;
  session: Attachment;
  kind: SessionKind;
  /** Intrusive actions (empty: a read-only run, saved but neither asked nor audited). */
  actions: readonly IntrusiveAction[];
  sets: string;
  undo: string;
  fields: readonly LimitField[];
  /** The limits as recorded, from the consented values. */
  limits: (values: Record<string, number>) => Record<string, unknown>;
  /** Expected duration, for progress (ms). */
  durationMs: (values: Record<string, number>) => number;
  traceLog?: (value: T) => { target: string; limits: Record<string, string | number>; result: TraceResult };
  body: (values: Record<string, number>, signal: AbortSignal, progress: (message: string) => void) => Promise<RunOutcome<T>>;
}

/** A signal that aborts when the request is cancelled or the server shuts down. */
export function callSignal(ctx: McpContext, extra: Extra): AbortSignal {
  return AbortSignal.any([extra.signal, ctx.stopping]);
}

export async function runForTool<T>(ctx: McpContext, extra: Extra, run: McpRun<T>): Promise<{ result: RunResult<T>; consent: Consent | null; values: Record<string, number> }> {
  const { session } = run;
  const signal = callSignal(ctx, extra);
  const intrusive = run.actions.length > 0;
  let consent: Consent | null = null;
  let values = Object.fromEntries(run.fields.map((f) => [f.key, f.requested]));
  const client = ctx.client();
  const audit = intrusive ? fileAuditLog({ cwd: ctx.options.cwd, actor: { face: ctx.options.face ?? 'mcp', client }, ...(ctx.options.auditFile !== undefined ? { file: ctx.options.auditFile } : {}) }) : null;
  if (intrusive) {
    try {
      // Refused before the user is asked anything when another session already runs there.
      session.assertIdle();
      consent = await obtainConsent(ctx, { session, tool: run.tool, actions: run.actions, sets: run.sets, undo: run.undo, limits: run.fields }, signal);
      if (consent.how === 'elicitation') {
        // Core decides what the answer allows; the form's wording for a wrong typed name.
        try {
          for (const a of run.actions) requireConsent(a, session.node, session.env, consent.grants);
        } catch (err) {
          throw new ConsentRequiredError(`the node name typed in the consent form ("${consent.grants.confirmNode ?? ''}") is not ${session.node}: nothing was set on the node (${errorMessage(err)})`, run.actions.includes('trace') ? 'trace' : (run.actions[0] ?? 'probe'));
        }
      }
    } catch (err) {
      // Busy, declined, cancelled or refused before the run: audited as refused, nothing was set.
      audit?.append({ node: session.node, env: session.env, action: `${run.kind} start`, limits: run.limits(values), outcome: 'refused', detail: errorMessage(err) });
      throw err;
    }
    values = consent.limits;
  }
  const progress = progressFor(extra);
  const total = run.durationMs(values);
  const t0 = Date.now();
  let note = '';
  const tick = setInterval(() => progress(Math.min(Date.now() - t0, total), total, `${run.tool} on ${session.node}${note ? `: ${note}` : ''}`), 1000);
  try {
    const result = await runAudited<T>({
      session,
      kind: run.kind,
      limits: run.limits(values),
      consent: run.actions,
      ...(consent ? { grants: consent.grants } : {}),
      audit,
      stop: signal,
      save: { cwd: ctx.options.cwd },
      ...(run.traceLog ? { traceLog: run.traceLog } : {}),
      body: (s) => run.body(values, s, (m) => (note = m)),
    });
    progress(total, total, `${run.tool} done (${result.endReason})`);
    return { result, consent, values };
  } finally {
    clearInterval(tick);
    if (intrusive && ctx.options.preapproved.allowProbe !== true) await session.releaseProbe().catch(() => undefined);
  }
}
