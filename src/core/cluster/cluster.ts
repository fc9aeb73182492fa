// One entry node gives the whole cluster: its members are discovered from the entry's nodes()
// and reached through the entry's own distribution (default) or by direct hidden connections.
// Every question is asked of all members at once with a per-member deadline; a member that does
// not answer is reported with its status while the others are shown.
import { BeamLensError } from '../../errors';
import { Atom, type Term } from '../../etf';
import { diagnose, type Diagnosis } from '../findings/diagnose';
import type { Finding } from '../findings/rules';
import type { Overview } from '../inspect/overview';
import type { ProcessRow, ProcessSort } from '../inspect/processes';
import { Attachment, type AttachmentConnection } from '../attach/attachment';
import type { ModulesRestored } from '../target/loaded-modules';
import { asList } from '../target/terms';
import type { ProbeStatus } from '../probe/loader';
import { memberFacts, type MemberFacts } from './facts';
import { DEFAULT_MEMBER_TIMEOUT_MS, connectionViaEntry, fanOut, type MemberAnswer, type MemberStatus, type Via } from './members';
import { clusterFindings, type ClusterFinding } from './rules';

/** Attaches directly to a member (the core attach with the entry's cookie and flags). */
export type ConnectMember = (node: string) => Promise<Attachment>;

export interface ClusterOptions {
  /** How members are reached; 'entry' unless told otherwise. */
  via?: Via;
  /** Deadline for each member's answer, ms. */
  timeoutMs?: number;
  /** Also hidden nodes connected to the entry node (other than BEAM Lens itself). */
  includeHidden?: boolean;
  /** Opens a direct connection to a member; needed for via 'direct'. */
  connectDirect?: ConnectMember;
}

interface Member {
  node: string;
  /** The member as an attachment: over its own connection (direct) or through the entry node. */
  session: Attachment;
  /** Set when the member could not even be connected to (direct). */
  failure?: { status: Exclude<MemberStatus, 'ok'>; error: string };
}

export class ClusterView {
  private constructor(
    readonly entry: string,
    readonly via: Via,
    readonly timeoutMs: number,
    private readonly members: Member[],
  ) {}

  /**
   * Discovers the members from the entry node and reaches each (direct connections in parallel,
   * each within the deadline). Members share the entry attachment's environment tag and consent.
   */
  static async open(entry: Attachment, options: ClusterOptions = {}): Promise<ClusterView> {
    const via = options.via ?? 'entry';
    const timeoutMs = options.timeoutMs ?? DEFAULT_MEMBER_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 120_000) {
      throw new BeamLensError('usage', `the member timeout must be between 100 and 120000 ms, got ${timeoutMs}`);
    }
    const names = await discoverMembers(entry.connection, options.includeHidden ?? false);
    const members: Member[] = [{ node: entry.node, session: entry }];
    if (via === 'entry') {
      for (const node of names) members.push({ node, session: memberThroughEntry(entry, node, timeoutMs) });
    } else {
      const connect = options.connectDirect;
      if (!connect) throw new BeamLensError('internal', 'via direct needs a way to connect to each member');
      const opened = await fanOut(
        names.map((node) => ({ node, channel: entry.connection })),
        timeoutMs,
        (_, node) => connect(node),
      );
      for (const a of opened) {
        if (a.status === 'ok' && a.value) {
          a.value.grant(memberGrants(entry, a.node));
          members.push({ node: a.node, session: a.value });
        }
        else members.push({ node: a.node, session: entry, failure: { status: a.status === 'ok' ? 'error' : a.status, error: notDirect(a.node, entry.node, a.error ?? 'not connected') } });
      }
    }
    return new ClusterView(entry.node, via, timeoutMs, members);
  }

  get nodes(): string[] {
    return this.members.map((m) => m.node);
  }

  /** The entry node's attachment (owned by whoever opened the view). */
  get entrySession(): Attachment {
    return (this.members[0] as Member).session;
  }

  /**
   * The members this view reaches, each with its attachment (the entry's own for the entry), and
   * those it could not connect to with their failure.
   */
  /** Why a member could not be connected to (direct), or undefined. */
  failureOf(node: string): string | undefined {
    return this.members.find((m) => m.node === node)?.failure?.error;
  }

  get reachable(): Array<{ node: string; session: Attachment }> {
    return this.members.filter((m) => !m.failure).map((m) => ({ node: m.node, session: m.session }));
  }

  /**
   * Runs `work` on every member within the deadline (`extraMs` more for work that takes a window,
   * such as sampling); members that failed to connect answer with their failure.
   */
  async ask<T>(work: (session: Attachment, node: string) => Promise<T>, extraMs = 0): Promise<Array<MemberAnswer<T>>> {
    const reachable = this.members.filter((m) => !m.failure);
    const sessions = new Map(reachable.map((m) => [m.node, m.session]));
    const answers = await fanOut(
      reachable.map((m) => ({ node: m.node, channel: m.session.connection })),
      this.timeoutMs + extraMs,
      (_, node) => work(sessions.get(node) as Attachment, node),
    );
    const byNode = new Map(answers.map((a) => [a.node, a]));
    return this.members.map((m) => (m.failure ? { node: m.node, status: m.failure.status, error: m.failure.error, elapsedMs: 0 } : (byNode.get(m.node) as MemberAnswer<T>)));
  }

  /**
   * Loads the probe on every member that answers (with the consent the entry attachment holds);
   * members that cannot take it stay zero-install. Needs direct connections.
   */
  async loadProbes(): Promise<Array<MemberAnswer<ProbeStatus>>> {
    if (this.via !== 'direct') throw new BeamLensError('capability', 'the probe is loaded on each member over a direct connection: open the cluster with via direct');
    return this.ask((session) => session.loadProbe());
  }

  /**
   * Detaches from every member this view attached (undoing what was set there, e.g. the probe) and
   * closes their connections; the entry attachment belongs to its owner and stays. Says per member
   * what became of the modules our work loaded there.
   */
  async close(): Promise<Array<{ node: string; restored: ModulesRestored | null }>> {
    const mine = this.members.filter((m) => m.session !== this.members[0]?.session && !m.failure);
    await Promise.allSettled(mine.map((m) => m.session.detach()));
    // Per member: the OTP modules our work had loaded there, removed again or kept (null: another
    // view or attachment through the entry still reads it and restores it when it ends).
    return mine.map((m) => ({ node: m.node, restored: m.session.modulesRestored }));
  }
}

/**
 * One consent for the cluster: production anywhere needs the entry node's name typed, and that
 * name then stands for every member.
 */
function memberGrants(entry: Attachment, node: string) {
  const grants = entry.options.grants ?? {};
  const clusterConsent = grants.confirmNode !== undefined && grants.confirmNode === entry.node;
  return { ...grants, ...(clusterConsent ? { confirmNode: node } : {}) };
}

/**
 * A member as an attachment of its own, reached through the entry node's distribution (nothing
 * opened to the member); it shares the entry's environment tag and consent. Its detach() undoes
 * what our evaluations loaded on the member and closes nothing (the connection is the entry's).
 * The member's loaded modules are recorded once per entry (at the first view or attachment that
 * reaches it through the entry) and restored when the last of them is detached, or with the entry.
 */
export function memberThroughEntry(entry: Attachment, node: string, timeoutMs = DEFAULT_MEMBER_TIMEOUT_MS): Attachment {
  const { target: _entryTarget, ...options } = entry.options;
  const relayed = connectionViaEntry(entry.connection, node, timeoutMs);
  let baseline: Promise<unknown> | null = null;
  const connection: AttachmentConnection = {
    ...relayed,
    // Every call waits for the record of the member's loaded modules (the first call takes it).
    rpc: async (m, f, a, o) => {
      if (baseline !== null) await baseline;
      return relayed.rpc(m, f, a, o);
    },
    // Evaluations on the member are relayed by the entry's evaluator (linked: they stop when we stop waiting).
    relay: { via: entry.evaluator },
  };
  const member = new Attachment(connection, { ...options, grants: memberGrants(entry, node), sharedModules: entry.relayedModules });
  baseline = member.modulesBaseline;
  return member;
}

/** Why a member could not be attached directly, and what to do about it. */
function notDirect(node: string, entry: string, why: string): string {
  return (
    `not reachable directly: ${why}. A direct connection needs EPMD (port 4369) and the node's distribution port on ${node.split('@')[1] ?? 'its host'}, ` +
    `reachable from here with the entry's cookie: open them (or a tunnel to each member), or ask ${node} alone with --node. ` +
    `Read-only commands (cluster, processes, findings, report, tree) reach it through ${entry} with --via entry; tracing, the system monitor and the probe need the direct connection`
  );
}

async function discoverMembers(entry: AttachmentConnection, includeHidden: boolean): Promise<string[]> {
  const names = (t: Term): string[] => asList(t).map((n) => (n instanceof Atom ? n.name : String(n)));
  const visible = names(await entry.rpc('erlang', 'nodes', []));
  const hidden = includeHidden ? names(await entry.rpc('erlang', 'nodes', [Atom.of('hidden')])).filter((n) => n !== entry.localName) : [];
  return [...new Set([...visible, ...hidden])].sort();
}

// ---- the cluster overview ---------------------------------------------------------------------

export interface ClusterNodeRow {
  node: string;
  status: MemberStatus;
  error?: string;
  otpRelease?: string;
  uptimeMs?: number;
  processCount?: number;
  memoryTotal?: number;
  runQueue?: number;
  schedulerUtilization?: number;
  connectedNodes?: string[];
  /** Cluster findings that concern this node. */
  findings?: number;
  elapsedMs: number;
}

/** One unordered pair of members and what each says of the other (null: it did not answer). */
export interface TopologyEdge {
  a: string;
  b: string;
  aSeesB: boolean | null;
  bSeesA: boolean | null;
}

export interface ClusterOverview {
  entry: string;
  via: Via;
  nodes: ClusterNodeRow[];
  topology: TopologyEdge[];
  findings: ClusterFinding[];
}

export async function clusterOverview(view: ClusterView): Promise<ClusterOverview> {
  const answers = await view.ask(async (session) => {
    const [overview, facts] = await Promise.all([session.overview({ utilizationWindowMs: 500 }), memberFacts(session.evaluator, view.timeoutMs)]);
    return { overview, facts };
  });
  const ok = answers.filter((a): a is MemberAnswer<{ overview: Overview; facts: MemberFacts }> & { value: { overview: Overview; facts: MemberFacts } } => a.status === 'ok' && a.value !== undefined);
  const facts = ok.map((a) => a.value.facts);
  const loads = Object.fromEntries(ok.map((a) => [a.node, { runQueue: normalRunQueue(a.value.overview) }]));
  const findings = clusterFindings(facts, loads);
  const rows: ClusterNodeRow[] = answers.map((a) => {
    if (a.status !== 'ok' || !a.value) return { node: a.node, status: a.status, ...(a.error ? { error: a.error } : {}), elapsedMs: a.elapsedMs };
    const { overview: o, facts: f } = a.value;
    return {
      node: a.node,
      status: 'ok',
      otpRelease: o.otpRelease,
      uptimeMs: o.uptimeMs,
      processCount: o.limits.processes.count,
      memoryTotal: o.memory.total,
      runQueue: normalRunQueue(o),
      ...(o.schedulerUtilization ? { schedulerUtilization: o.schedulerUtilization.total } : {}),
      connectedNodes: f.connected,
      findings: findings.filter((x) => x.nodes.includes(a.node)).length,
      elapsedMs: a.elapsedMs,
    };
  });
  // Nodes that members see but the entry does not reach (a partition): listed, not silently dropped.
  const known = new Set(rows.map((r) => r.node));
  for (const f of facts) {
    for (const n of f.connected) {
      if (known.has(n)) continue;
      known.add(n);
      const seenBy = facts.filter((x) => x.connected.includes(n)).map((x) => x.node);
      rows.push({ node: n, status: 'unreachable', error: `${view.entry} is not connected to ${n}; seen by ${seenBy.join(', ')}`, elapsedMs: 0 });
    }
  }
  return { entry: view.entry, via: view.via, nodes: rows, topology: topology(rows.map((r) => r.node), facts), findings };
}

/** The normal schedulers' run queues (the dirty CPU and IO queues are not schedulers of their own). */
function normalRunQueue(o: Overview): number {
  return o.runQueue.perScheduler.slice(0, o.schedulers.total).reduce((s, q) => s + q, 0);
}

function topology(nodes: string[], facts: MemberFacts[]): TopologyEdge[] {
  const view = new Map(facts.map((f) => [f.node, new Set(f.connected)]));
  const edges: TopologyEdge[] = [];
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) {
      const a = nodes[i] as string;
      const b = nodes[j] as string;
      edges.push({ a, b, aSeesB: view.get(a)?.has(b) ?? null, bSeesA: view.get(b)?.has(a) ?? null });
    }
  }
  return edges;
}

// ---- merged process table ---------------------------------------------------------------------

export interface ClusterProcessRow extends ProcessRow {
  node: string;
}

export interface ClusterProcessPage {
  sort: ProcessSort;
  rows: ClusterProcessRow[];
  /** Processes on the members that answered. */
  total: number;
  members: Array<{ node: string; status: MemberStatus; error?: string; total?: number }>;
}

/**
 * The cluster-wide top `limit` by `sort`: each member ranks its own processes on the target and
 * sends only its top `limit` rows; they are merged here.
 */
export async function clusterTopProcesses(view: ClusterView, sort: ProcessSort, limit: number): Promise<ClusterProcessPage> {
  const answers = await view.ask((session) => session.processes({ sort, limit, offset: 0 }));
  const key = (r: ProcessRow): number =>
    sort === 'memory' ? r.memory : sort === 'mailbox' ? r.messageQueueLen : sort === 'reduction-rate' ? (r.reductionRate ?? 0) : r.reductions;
  const rows = answers.flatMap((a) => (a.status === 'ok' && a.value ? a.value.rows.map((r) => ({ ...r, node: a.node })) : []));
  rows.sort((x, y) => key(y) - key(x));
  return {
    sort,
    rows: rows.slice(0, limit),
    total: answers.reduce((s, a) => s + (a.value?.total ?? 0), 0),
    members: answers.map((a) => ({ node: a.node, status: a.status, ...(a.error ? { error: a.error } : {}), ...(a.value ? { total: a.value.total } : {}) })),
  };
}

// ---- findings of every member, and of the cluster -------------------------------------------

export interface ClusterDiagnosis {
  entry: string;
  via: Via;
  windowMs: number;
  nodes: Array<{ node: string; status: MemberStatus; error?: string; findings?: Finding[]; tracingNote?: string }>;
  /** What only the cluster shows (mesh, drift, outliers, distribution, global names). */
  clusterFindings: ClusterFinding[];
}

/** Every member's whole diagnosis over one window, and the cluster overview at its end. */
export interface ClusterSampling {
  answers: Array<MemberAnswer<Diagnosis>>;
  overview: ClusterOverview;
}

/**
 * Samples every member over the same window (read-only, as `findings` does on one node; with
 * `trace`, also counting calls and the system monitor on each, which needs direct connections
 * and the consent the members' attachments hold) and computes the cluster findings from the
 * members' facts at the end of it.
 */
export async function sampleCluster(view: ClusterView, options: { durationMs: number; trace?: boolean; signal?: AbortSignal }): Promise<ClusterSampling> {
  const trace = options.trace ?? false;
  if (trace && view.via !== 'direct') {
    throw new BeamLensError('capability', `counting calls on the members needs a direct connection to each (their probe's guardian watches BEAM Lens): use --via direct, or leave out --allow-trace`);
  }
  const answers = await view.ask((session) => diagnose(session, { durationMs: options.durationMs, trace, ...(options.signal ? { signal: options.signal } : {}) }), options.durationMs + 30_000);
  const overview = await clusterOverview(view);
  return { answers, overview };
}

export async function diagnoseCluster(view: ClusterView, options: { durationMs: number; signal?: AbortSignal }): Promise<ClusterDiagnosis> {
  const { answers, overview } = await sampleCluster(view, options);
  return {
    entry: view.entry,
    via: view.via,
    windowMs: options.durationMs,
    nodes: answers.map((a) => ({
      node: a.node,
      status: a.status,
      ...(a.error ? { error: a.error } : {}),
      ...(a.value ? { findings: a.value.findings } : {}),
      ...(a.value?.tracingNote ? { tracingNote: a.value.tracingNote } : {}),
    })),
    clusterFindings: overview.findings,
  };
}
