// One entry node gives the whole cluster: its members are discovered from the entry's nodes()
// and reached through the entry's own distribution (default) or by direct hidden connections.
// Every question is asked of all members at once with a per-member deadline; a member that does
// not answer is reported with its status while the others are shown.
import { Atom, type Term } from '../../etf';
import { getOverview, type Overview } from '../overview';
import { topProcessesViaRpc, type ProcessRow, type ProcessSort } from '../processes';
import { RemoteEvaluator } from '../remote-eval';
import type { RpcChannel } from '../rpc';
import { asList } from '../terms';
import { memberFacts, type MemberFacts } from './facts';
import { DEFAULT_MEMBER_TIMEOUT_MS, channelViaEntry, fanOut, type MemberAnswer, type MemberStatus, type Via } from './members';
import { clusterFindings, type ClusterFinding } from './rules';

/** A direct connection to a member, opened by the face's attach (same cookie as the entry). */
export interface DirectMember {
  channel: RpcChannel;
  close(): Promise<void>;
}

export interface ClusterOptions {
  /** How members are reached; 'entry' unless told otherwise. */
  via?: Via;
  /** Deadline for each member's answer, ms. */
  timeoutMs?: number;
  /** Also hidden nodes connected to the entry node (other than BEAM Lens itself). */
  includeHidden?: boolean;
  /** Opens a direct connection to a member; needed for via 'direct'. */
  connectDirect?: (node: string) => Promise<DirectMember>;
}

interface Member {
  node: string;
  channel: RpcChannel;
  evaluator: RemoteEvaluator;
  /** Set when the member could not even be connected to (direct). */
  failure?: { status: Exclude<MemberStatus, 'ok'>; error: string };
}

export class ClusterView {
  private constructor(
    readonly entry: string,
    readonly via: Via,
    readonly timeoutMs: number,
    private readonly members: Member[],
    private readonly closers: Array<() => Promise<void>>,
  ) {}

  /** Discovers the members from the entry node and reaches each (direct connections in parallel, each within the deadline). */
  static async open(entry: RpcChannel & { readonly localName: string }, options: ClusterOptions = {}): Promise<ClusterView> {
    const via = options.via ?? 'entry';
    const timeoutMs = options.timeoutMs ?? DEFAULT_MEMBER_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 120_000) {
      throw new RangeError(`the member timeout must be between 100 and 120000 ms, got ${timeoutMs}`);
    }
    const names = await discoverMembers(entry, options.includeHidden ?? false);
    const members: Member[] = [{ node: entry.peer, channel: entry, evaluator: new RemoteEvaluator(entry) }];
    const closers: Array<() => Promise<void>> = [];
    if (via === 'entry') {
      for (const node of names) {
        const channel = channelViaEntry(entry, node, timeoutMs);
        members.push({ node, channel, evaluator: new RemoteEvaluator(channel) });
      }
    } else {
      const connect = options.connectDirect;
      if (!connect) throw new Error('via direct needs a way to connect to each member');
      const opened = await fanOut(
        names.map((node) => ({ node, channel: entry })),
        timeoutMs,
        (_, node) => connect(node),
      );
      for (const a of opened) {
        if (a.status === 'ok' && a.value) {
          closers.push(() => (a.value as DirectMember).close());
          members.push({ node: a.node, channel: a.value.channel, evaluator: new RemoteEvaluator(a.value.channel) });
        } else {
          members.push({ node: a.node, channel: entry, evaluator: new RemoteEvaluator(entry), failure: { status: a.status === 'ok' ? 'error' : a.status, error: a.error ?? 'not connected' } });
        }
      }
    }
    return new ClusterView(entry.peer, via, timeoutMs, members, closers);
  }

  get nodes(): string[] {
    return this.members.map((m) => m.node);
  }

  /** Runs `work` on every member within the deadline; members that failed to connect answer with their failure. */
  async ask<T>(work: (channel: RpcChannel, evaluator: RemoteEvaluator, node: string) => Promise<T>): Promise<Array<MemberAnswer<T>>> {
    const reachable = this.members.filter((m) => !m.failure);
    const answers = await fanOut(reachable, this.timeoutMs, (channel, node) => work(channel, (this.members.find((m) => m.node === node) as Member).evaluator, node));
    const byNode = new Map(answers.map((a) => [a.node, a]));
    return this.members.map((m) => (m.failure ? { node: m.node, status: m.failure.status, error: m.failure.error, elapsedMs: 0 } : (byNode.get(m.node) as MemberAnswer<T>)));
  }

  /** Closes the direct connections this view opened (the entry connection belongs to its attachment). */
  async close(): Promise<void> {
    await Promise.allSettled(this.closers.map((c) => c()));
    this.closers.length = 0;
  }
}

async function discoverMembers(entry: RpcChannel & { readonly localName: string }, includeHidden: boolean): Promise<string[]> {
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
  const answers = await view.ask(async (_, evaluator) => {
    const [overview, facts] = await Promise.all([getOverview(evaluator, { utilizationWindowMs: 500 }), memberFacts(evaluator, view.timeoutMs)]);
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
  const answers = await view.ask((channel, evaluator) => topProcessesViaRpc(channel, evaluator, { sort, limit, offset: 0 }));
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
