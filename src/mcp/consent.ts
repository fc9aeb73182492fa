// Consent for intrusive tools, the MCP way: the face ASKS (an elicitation form naming the node, its
// environment tag, what will be set and how it is undone, with limits that can only be lowered
// and, on production, the node name typed), or takes the server's pre-approval flags. What the
// answer allows is decided by core (requireConsent, inside the audited run), as for every face.
import type { ElicitRequestFormParams } from '@modelcontextprotocol/sdk/types.js';
import { ConsentRequiredError, type ConsentGrants, type IntrusiveAction } from '../core/attach/consent';
import type { Attachment } from '../core/attach/attachment';
import { BeamLensError, errorMessage } from '../errors';
import type { McpContext } from './context';

/** One limit the user may lower in the form. */
export interface LimitField {
  key: string;
  title: string;
  /** What the tool asked for: the form's default and its maximum. */
  requested: number;
  min: number;
  unit: string;
}

export interface IntrusivePlan {
  session: Attachment;
  tool: string;
  actions: readonly IntrusiveAction[];
  /** What will be set on the node, for a person. */
  sets: string;
  /** How it is undone. */
  undo: string;
  limits: readonly LimitField[];
}

export interface Consent {
  grants: ConsentGrants;
  /** The limits to run with (the requested ones, or lower ones the user chose). */
  limits: Record<string, number>;
  how: 'elicitation' | 'preapproved';
}

const UNDO_COMMON = 'If BEAM Lens disappears mid-run, the probe on the node removes everything by itself within seconds.';

function requested(plan: IntrusivePlan): Record<string, number> {
  return Object.fromEntries(plan.limits.map((l) => [l.key, l.requested]));
}

function flagsFor(plan: IntrusivePlan): string {
  const flags = [...new Set(plan.actions.flatMap((a) => (a === 'trace' ? ['--allow-probe', '--allow-trace'] : a === 'gc' ? ['--allow-gc'] : ['--allow-probe'])))];
  if (plan.session.env === 'production') flags.push(`--confirm-node ${plan.session.node}`);
  return flags.join(' ');
}

function preapproved(grants: ConsentGrants, actions: readonly IntrusiveAction[]): boolean {
  return actions.every((a) => (a === 'probe' ? grants.allowProbe === true : a === 'gc' ? grants.allowGc === true : grants.allowTrace === true && grants.allowProbe === true));
}

/** The elicitation form for a plan (exported for tests and the VS Code face's wording). */
export function consentForm(plan: IntrusivePlan): ElicitRequestFormParams {
  const { session } = plan;
  const production = session.env === 'production';
  const properties: ElicitRequestFormParams['requestedSchema']['properties'] = {};
  for (const l of plan.limits) {
    properties[l.key] = { type: 'integer', title: `${l.title} (${l.unit}, at most ${l.requested})`, description: `can only be lowered: ${l.min}-${l.requested}`, minimum: l.min, maximum: l.requested, default: l.requested };
  }
  if (production) {
    properties.confirmNode = { type: 'string', title: `Type the node name (${session.node}) to confirm`, description: `${session.node} is tagged production`, minLength: 1 };
  }
  const message = [
    `BEAM Lens (${plan.tool}) asks to change ${session.node} [${session.env}] for a bounded time.`,
    `It will: ${plan.sets}.`,
    `Undone: ${plan.undo}${plan.actions.some((a) => a !== 'gc') ? ` ${UNDO_COMMON}` : ''}`,
    `Limits: ${plan.limits.map((l) => `${l.title} ${l.requested} ${l.unit}`).join(', ')} (you may lower them).`,
    ...(production ? [`This node is tagged production: type its name to allow this.`] : []),
  ].join('\n');
  return { mode: 'form', message, requestedSchema: { type: 'object', properties, required: production ? ['confirmNode'] : [] } };
}

/**
 * Asks for (or takes pre-approved) consent for a plan. Throws ConsentRequiredError, saying that
 * nothing was set, when the user declines or cancels, when the answer is not acceptable (a limit
 * raised, a wrong node name), or when the client cannot ask and the server has no pre-approval.
 */
export async function obtainConsent(ctx: McpContext, plan: IntrusivePlan, signal: AbortSignal): Promise<Consent> {
  const pre = ctx.options.preapproved;
  const node = plan.session.node;
  if (preapproved(pre, plan.actions)) return { grants: pre, limits: requested(plan), how: 'preapproved' };
  const action = plan.actions.includes('trace') ? 'trace' : plan.actions.includes('probe') ? 'probe' : (plan.actions[0] ?? 'probe');
  if (!ctx.canElicit()) {
    const client = ctx.client();
    throw new ConsentRequiredError(
      `${plan.tool} needs the user's consent to change ${node}, and this MCP client (${client.name} ${client.version}) cannot show a consent form (no elicitation support). Nothing was set on ${node}. To pre-approve, restart the server with ${flagsFor(plan)} in its MCP configuration (see the README), or use a client with elicitation.`,
      action,
    );
  }
  let answer: Awaited<ReturnType<typeof ctx.server.server.elicitInput>>;
  try {
    answer = await ctx.server.server.elicitInput(consentForm(plan), { signal });
  } catch (err) {
    if (signal.aborted) throw new BeamLensError('cancelled', `${plan.tool} was cancelled while asking for consent: nothing was set on ${node}`, { cause: err });
    // The SDK checks the answer against the form (limits can only be lowered).
    throw new ConsentRequiredError(`the consent form's answer was not accepted (${errorMessage(err)}): limits can only be lowered. Nothing was set on ${node}.`, action);
  }
  if (answer.action !== 'accept') {
    throw new ConsentRequiredError(`the user ${answer.action === 'decline' ? 'declined' : 'cancelled'} ${plan.tool} on ${node}: nothing was set on the node. Continue with read-only tools, or ask again with lower limits.`, action);
  }
  const content = answer.content ?? {};
  const limits: Record<string, number> = {};
  for (const l of plan.limits) {
    const v = content[l.key];
    if (v === undefined) {
      limits[l.key] = l.requested;
      continue;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < l.min || v > l.requested) {
      throw new ConsentRequiredError(`${l.title} in the consent form must be a whole number from ${l.min} to ${l.requested} (limits can only be lowered); got ${JSON.stringify(v)}. Nothing was set on ${node}.`, action);
    }
    limits[l.key] = v;
  }
  const typed = content.confirmNode;
  const grants: ConsentGrants = { allowProbe: plan.actions.some((a) => a !== 'gc'), allowTrace: plan.actions.includes('trace'), allowGc: plan.actions.includes('gc'), ...(typeof typed === 'string' ? { confirmNode: typed.trim() } : {}) };
  return { grants, limits, how: 'elicitation' };
}
