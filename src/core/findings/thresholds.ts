// The one threshold table and the shared rules of findings. Every face gets its findings from
// here: the report and `beam-lens findings` (from a sampled window, src/core/findings.ts), the
// lenses, diagnostics and hovers (from runtime facts, src/core/runtime-facts.ts) and the
// sidebar. A rule that both paths can compute (restart storms, mailboxes) is ONE function with
// ONE id, so the same observation gets the same id and severity wherever it is shown.
import { formatModule } from '../../etf';
import type { Finding, Severity, SourceLocation } from './rules';
import { FINDING_THRESHOLDS } from './table';
import type { NodeSamples } from './sampler';

export { FINDING_THRESHOLDS } from './table';

// ---- subjects, places and ids -----------------------------------------------------------------

/** Module:function/arity in display form (Elixir.Demo.X:run/1 -> Demo.X.run/1). */
export function displayMfa(mfa: string): string {
  const [m, rest] = mfa.split(':');
  return `${formatModule(m ?? '')}${rest !== undefined ? (m?.startsWith('Elixir.') ? '.' : ':') + rest : ''}`;
}

/** Where a finding points in the source: the module, a function/arity, and the file the node compiled it from. */
export function location(s: Pick<NodeSamples, 'sources'>, module: string | null, fn?: string): SourceLocation | undefined {
  if (module === null) return undefined;
  const loc: SourceLocation = { module };
  if (fn) {
    const [name, arity] = fn.split('/');
    if (name) loc.function = name;
    if (arity !== undefined) loc.arity = Number(arity);
  }
  const file = s.sources[module];
  if (file) loc.file = file;
  return loc;
}

/** The display form of a module or registered name (Elixir.Demo.Sink -> Demo.Sink; Erlang atoms unchanged). */
export function displayName(atomName: string): string {
  return formatModule(atomName);
}

/**
 * The id of a finding: `rule:subject`, stable across runs for the same subject so sessions can
 * be compared and every face addresses one finding the same way. Subjects are display names.
 */
export function findingId(rule: Finding['rule'], subject: string): string {
  return `${rule}:${subject}`;
}

// ---- restart storms ---------------------------------------------------------------------------

/** What is known of one supervisor's restarts (from a tree walk or from runtime facts). */
export interface RestartObservation {
  pid: string;
  /** Registered name and callback module, display form, null when unknown. */
  name: string | null;
  module: string | null;
  app: string;
  strategy?: string;
  /** max_restarts and max_seconds. */
  intensity?: number;
  period?: number;
  /** Restarts the supervisor remembers in its current period. */
  restarts: number;
  /** Children whose pid changed during a sampled window (ids), when the window is known. */
  replaced?: string[];
  /** The window the replacement was seen in (ms). */
  windowMs?: number;
  /** Where the supervisor's init/1 is (file known when the node told us). */
  location?: SourceLocation;
  /** Extra evidence (e.g. "observed on node"). */
  evidence?: string[];
  /** How to check the fix, for the face that shows it. */
  validation?: string;
}

/** The severity of a restart observation, or null when it is no finding (no restart at all). */
export function rateRestarts(o: Pick<RestartObservation, 'restarts' | 'intensity' | 'replaced'>): Severity | null {
  const replaced = o.replaced?.length ?? 0;
  if (o.restarts === 0 && replaced === 0) return null;
  const t = FINDING_THRESHOLDS.restartStorm;
  if (o.intensity === undefined || o.intensity <= 0) return 'warning';
  const ratio = o.restarts / o.intensity;
  if (ratio >= t.criticalRatio || o.restarts >= o.intensity) return 'critical';
  if (ratio >= t.warningRatio || replaced > 0) return 'warning';
  return 'info';
}

/** The restart-storm finding for one supervisor, or null. */
export function restartStormFinding(o: RestartObservation): Finding | null {
  const severity = rateRestarts(o);
  if (severity === null) return null;
  const replaced = o.replaced ?? [];
  const label = o.name ?? o.module ?? o.pid;
  const ratio = o.intensity !== undefined && o.intensity > 0 ? o.restarts / o.intensity : 0;
  return {
    id: findingId('restart-storm', label),
    rule: 'restart-storm',
    severity,
    title:
      o.intensity !== undefined && o.period !== undefined
        ? `${label} restarted children ${o.restarts} times in its last ${o.period} s (gives up at more than ${o.intensity})`
        : `${label} restarted ${replaced.length} children during the window`,
    evidence: [
      ...(replaced.length > 0 ? [`children replaced during the ${((o.windowMs ?? 0) / 1000).toFixed(1)} s window: ${replaced.slice(0, 5).join(', ')}`] : []),
      `restart intensity: ${o.intensity ?? '?'} restarts per ${o.period ?? '?'} s, strategy ${o.strategy ?? '?'}, application ${o.app}`,
      ...(o.evidence ?? []),
    ],
    subject: { pid: o.pid, name: o.name, module: o.module },
    ...(o.location ? { location: o.location } : o.module !== null ? { location: { module: o.module, function: 'init', arity: 1 } } : {}),
    recommendation:
      `A child of ${label} keeps crashing${replaced.length ? ` (${replaced.slice(0, 3).join(', ')})` : ''}; at ` +
      `this rate the supervisor is ${Math.round(ratio * 100)}% of the way to exceeding max_restarts and taking its ` +
      'siblings (and possibly the application) down. Fix the crash first (the crash reports in the logs name it); ' +
      'do not just raise max_restarts, which hides the fault. If the failure is external (a flaky dependency), ' +
      'catch it in the worker and retry with backoff instead of crashing.',
    risk: 'Raising max_restarts/max_seconds lets a crash loop burn CPU and logs longer before escalating.',
    validation: o.validation ?? "Re-run the report: the supervisor's remembered restarts should stay at 0 and the child's pid should not change.",
  };
}

// ---- mailboxes --------------------------------------------------------------------------------

/**
 * One mailbox, as either path sees it. Mailbox findings are per module (the facts aggregate per
 * module: the largest queue of the module's processes), so both paths give the same id.
 */
export interface MailboxObservation {
  /** Display name of the process's module (its registered name, or its pid, when the module is unknown). */
  subject: string;
  module: string | null;
  pid?: string;
  /** Queue length at the start and the end of what was observed. */
  first: number;
  last: number;
  /** Least-squares growth per second (or the difference of two collections). */
  perSec: number;
  /** Share of rising steps over the samples (1 when only two points are known). */
  steadiness: number;
  /** How it was observed, for the evidence. */
  evidence: string[];
  location?: SourceLocation;
  /** Name the face prints for the process (registered name or pid and initial call). */
  who: string;
  validation?: string;
}

/** The rule and severity of a mailbox observation, or null when it is no finding. */
export function rateMailbox(o: Pick<MailboxObservation, 'first' | 'last' | 'perSec' | 'steadiness'>): { rule: 'mailbox-growth' | 'mailbox-backlog'; severity: Severity } | null {
  const g = FINDING_THRESHOLDS.mailboxGrowth;
  const b = FINDING_THRESHOLDS.mailboxBacklog;
  if (o.perSec >= g.minPerSec && o.steadiness >= g.minSteadiness && o.last > o.first && o.last >= g.minQueue) {
    return { rule: 'mailbox-growth', severity: o.perSec >= g.criticalPerSec || o.last >= g.criticalQueue ? 'critical' : 'warning' };
  }
  if (o.last >= b.minQueue) return { rule: 'mailbox-backlog', severity: o.last >= b.criticalQueue ? 'critical' : 'warning' };
  return null;
}

/** The mailbox finding for one observation, or null. */
export function mailboxFinding(o: MailboxObservation): Finding | null {
  const rated = rateMailbox(o);
  if (rated === null) return null;
  const modName = o.module ?? 'the process';
  const subject = { ...(o.pid !== undefined ? { pid: o.pid } : {}), module: o.module };
  if (rated.rule === 'mailbox-growth') {
    return {
      id: findingId('mailbox-growth', o.subject),
      rule: 'mailbox-growth',
      severity: rated.severity,
      title: `${o.who}'s mailbox grows by ${Math.round(o.perSec)} messages/s and is not draining (${o.last.toLocaleString('en-US')} queued)`,
      evidence: o.evidence,
      subject,
      ...(o.location ? { location: o.location } : {}),
      recommendation:
        `${modName} receives messages faster than its handle_cast/handle_info clauses finish. Add back-pressure: turn the hot ` +
        `\`cast\`/\`send\` into \`GenServer.call\` with a timeout (callers wait instead of piling up), or let ` +
        `producers check the queue and shed load; if the work per message is independent, partition it ` +
        `across N workers (PartitionSupervisor keyed by a hash of the message) or move the slow part out of ` +
        `the handler (Task.Supervisor.async_nolink). Measure the handler's cost per message first.`,
      risk:
        'Switching casts to calls makes producers block and can move the bottleneck upstream (timeouts, ' +
        'caller mailboxes); partitioning changes message ordering guarantees between keys.',
      validation:
        o.validation ??
        `Re-run \`beam-lens report\` (or \`beam-lens mailboxes\`) under the same load: the queue of ${o.who} should stay flat or drain; watch producer latency and caller timeouts.`,
    };
  }
  return {
    id: findingId('mailbox-backlog', o.subject),
    rule: 'mailbox-backlog',
    severity: rated.severity,
    title: `${o.who} has ${o.last.toLocaleString('en-US')} messages queued${o.perSec < 0 ? ` (draining at ${Math.round(-o.perSec)}/s)` : ''}`,
    evidence: o.evidence,
    subject,
    ...(o.location ? { location: o.location } : {}),
    recommendation: `A standing backlog adds latency to every message ${modName} handles; find the burst source and bound it.`,
    risk: 'Dropping or shedding messages loses work unless producers can retry.',
    validation: o.validation ?? 'Watch the queue length over a longer window; it should return to near zero between bursts.',
  };
}

/** The sidebar's health mark of a supervisor, from the same restart rule as the findings. */
export function restartHealthOf(o: Pick<RestartObservation, 'restarts' | 'intensity'>): 'ok' | 'warning' | 'error' {
  const severity = rateRestarts(o);
  return severity === 'critical' ? 'error' : severity === 'warning' ? 'warning' : 'ok';
}
