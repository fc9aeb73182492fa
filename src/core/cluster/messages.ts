// What one process sends across the cluster: its message trace on its own node, and for each send
// to a process on another member that BEAM Lens reaches directly, the receiving side traced on
// that member and matched to the send (same printed message, pids and references compared
// without their node part, first sent first received). One audited session on the traced
// process's node; each receiving side is an audited session of its own on its member.
//
// Honest limits: the receiving side is traced from the first send seen to it (messages delivered
// before its tracer started are counted as unmatched sends); the probe runs one tracer per node,
// so one receiver per member; timestamps come from each node's clock.
import { errorMessage } from '../../errors';
import type { Attachment } from '../attach/attachment';
import type { AuditLog } from '../records/audit';
import type { StopSource } from '../runs/cancel';
import { linkSignals } from '../runs/cancel';
import { runAudited, type RunResult } from '../runs/run';
import { runTrace, type TraceEvent, type TraceLimits, type TraceResult } from '../runs/trace';
import type { ClusterView } from './cluster';
import { requireClusterConsent } from './sessions';
import { pidText, resolveProcess } from '../target/pids';

/** Sends remembered per receiver while waiting for their receive, at most. */
const MAX_PENDING = 1000;

export interface RemoteReceiver {
  node: string;
  /** The receiver as the traced side prints it (`<node.N.M>` or `{name,node}`). */
  process: string;
  /** traced: its receives were traced on its node; not-traced: see `note`. */
  status: 'traced' | 'not-traced';
  /** Sends of the traced process to it. */
  sent: number;
  /** Of those, received there (matched). */
  matched: number;
  note?: string;
}

export interface ClusterMessageTrace extends TraceResult {
  receivers: RemoteReceiver[];
}

export interface ClusterMessageTraceRequest {
  pid: string;
  limits: TraceLimits;
  audit: AuditLog | null;
  stop?: StopSource;
  save: { cwd: string; file?: string } | null;
  /** Each event as it comes: the traced process's own, and matched receives on other members (with `node`). */
  onEvent?: (e: TraceEvent) => void;
}

/** A printed term with pids, ports and references stripped of their node part (it differs per node). */
export function comparableText(printed: string): string {
  return printed.replace(/<\d+\.(\d+)\.(\d+)>/g, '<_.$1.$2>').replace(/#(Ref|Port)<\d+\./g, '#$1<_.');
}

/** `<node@host.85.0>` (how the traced side prints a remote pid) as its own node prints it: `<0.85.0>`. */
function localPidText(remote: string): string | undefined {
  const m = /^<.+\.(\d+)\.(\d+)>$/.exec(remote);
  return m ? `<0.${m[1] ?? ''}.${m[2] ?? ''}>` : undefined;
}

/** `{name,'node@host'}` → `name` (quotes removed). */
function registeredName(remote: string): string | undefined {
  const m = /^\{'?([^,']+)'?,.+\}$/.exec(remote);
  return m?.[1];
}

export async function runClusterMessageTrace(view: ClusterView, req: ClusterMessageTraceRequest): Promise<RunResult<ClusterMessageTrace>> {
  const entry = view.entrySession;
  const limits = { ...req.limits, pid: req.pid, cluster: true };
  // One consent for the cluster, before anything is traced anywhere.
  requireClusterConsent(view, 'trace-messages', limits, req.audit);
  // The probe on every member first, so a receiving side's tracer starts at once when a send to it is seen.
  if (view.via === 'direct') await view.loadProbes();
  return runAudited<ClusterMessageTrace>({
    session: entry,
    kind: 'trace-messages',
    limits,
    consent: ['trace', 'probe'],
    audit: req.audit,
    ...(req.stop ? { stop: req.stop } : {}),
    save: req.save,
    traceLog: (r) => ({ target: `messages of ${req.pid}`, limits: { rate: `${req.limits.rate.count}/${req.limits.rate.perMs}ms`, limit: req.limits.cap, duration: `${req.limits.deadlineMs / 1000}s` }, result: r }),
    body: async (signal) => {
      const r = await traceAcross(view, entry, req, signal);
      return { value: r, endReason: r.endReason, durationMs: r.durationMs };
    },
  });
}

interface ReceiverState {
  info: RemoteReceiver;
  pending: Array<{ text: string; sentUs: number }>;
}

async function traceAcross(view: ClusterView, entry: Attachment, req: ClusterMessageTraceRequest, signal: AbortSignal): Promise<ClusterMessageTrace> {
  const members = new Map(view.reachable.filter((m) => m.node !== entry.node).map((m) => [m.node, m.session]));
  const receivers = new Map<string, ReceiverState>();
  /** The receiver traced on each member (the probe runs one tracer per node). */
  const tracedOn = new Map<string, string>();
  const remoteRuns: Array<Promise<unknown>> = [];
  const remoteEvents: TraceEvent[] = [];
  const stopRemote = linkSignals(signal);
  const started = Date.now();

  const startReceiver = (state: ReceiverState, node: string): void => {
    const why = (note: string): void => {
      state.info.status = 'not-traced';
      state.info.note = note;
    };
    const session = members.get(node);
    if (view.via !== 'direct') return why(`${node} is reached through ${entry.node}: tracing its side needs a direct connection (use --via direct)`);
    if (!session) {
      const failure = view.failureOf(node);
      return why(failure !== undefined ? `${node} is ${failure}` : `${node} is not a member of the cluster of ${entry.node} (a hidden node? add --hidden)`);
    }
    const busy = tracedOn.get(node);
    if (busy !== undefined) return why(`the receiving side of ${busy} is already traced on ${node} (one tracer per node)`);
    const local = localPidText(state.info.process);
    const name = registeredName(state.info.process);
    const target = local ?? name;
    if (target === undefined) return why(`${state.info.process} is neither a pid nor a registered name`);
    tracedOn.set(node, state.info.process);
    state.info.status = 'traced';
    const remaining = Math.max(1000, req.limits.deadlineMs - (Date.now() - started));
    remoteRuns.push(
      (async () => {
        const pid = local ?? pidText(await resolveProcess(session.connection, session.evaluator, target), node);
        return runAudited<TraceResult>({
          session,
          kind: 'trace-messages',
          limits: { ...req.limits, deadlineMs: remaining, pid, receiverOf: `${req.pid} on ${entry.node}` },
          consent: ['trace', 'probe'],
          audit: req.audit,
          stop: stopRemote.signal,
          save: null,
          body: async (s) => {
            const r = await runTrace(session, { kind: 'messages', pid }, { ...req.limits, deadlineMs: remaining }, (e) => onRemote(state, node, e), s);
            return { value: r, endReason: r.endReason, durationMs: r.durationMs };
          },
        });
      })().catch((err: unknown) => why(`its side could not be traced on ${node}: ${errorMessage(err)}`)),
    );
  };

  const onRemote = (state: ReceiverState, node: string, e: TraceEvent): void => {
    if (e.type !== 'receive') return;
    const text = comparableText(e.detail);
    const i = state.pending.findIndex((p) => p.text === text);
    if (i < 0) return; // from another sender, or sent before we looked
    // Sends before it that were not received (sent before we looked, or dropped by a rate limit) are given up.
    const sent = state.pending[i];
    state.pending.splice(0, i + 1);
    state.info.matched++;
    const matched: TraceEvent = { type: 'receive', pid: state.info.process, what: '', detail: e.detail, timestampUs: e.timestampUs, node, ...(sent ? { sentUs: sent.sentUs } : {}) };
    remoteEvents.push(matched);
    req.onEvent?.(matched);
  };

  const onLocal = (e: TraceEvent): void => {
    req.onEvent?.(e);
    if (e.type !== 'send' || e.toNode === undefined) return;
    const key = `${e.toNode} ${e.what}`;
    let state = receivers.get(key);
    if (!state) {
      state = { info: { node: e.toNode, process: e.what, status: 'not-traced', sent: 0, matched: 0 }, pending: [] };
      receivers.set(key, state);
      if (!stopRemote.signal.aborted) startReceiver(state, e.toNode);
    }
    state.info.sent++;
    if (state.info.status === 'traced') {
      state.pending.push({ text: comparableText(e.detail), sentUs: e.timestampUs });
      if (state.pending.length > MAX_PENDING) state.pending.shift();
    }
  };

  try {
    const r = await runTrace(entry, { kind: 'messages', pid: req.pid }, req.limits, onLocal, signal);
    // Events and counts are taken at one moment: a receive matched while the receiving sides stop
    // (below) is in neither, so a receiver's count is the events listed for it.
    return { ...r, events: [...r.events, ...remoteEvents].sort((x, y) => x.timestampUs - y.timestampUs), receivers: [...receivers.values()].map((s) => ({ ...s.info })) };
  } finally {
    // The receiving sides end with the traced process's session (each removes its flags).
    stopRemote.abort();
    await Promise.allSettled(remoteRuns);
    stopRemote.dispose();
  }
}
