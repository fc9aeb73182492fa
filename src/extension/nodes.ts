// The attached nodes, one scope each (node-scope.ts), keyed by the name the node gave in the
// handshake — never by the name the user picked (EPMD lists `rabbit@vm` for `rabbit@localhost`).
// Holds the last data the views show and tells them when it changes. No 'vscode' import: the
// attach itself and the warnings are injected, so this is unit-tested with fakes.
import type { Diagnosis } from '../core/findings/diagnose';
import type { ProcessSort } from '../core/inspect/processes';
import type { Attachment } from '../core/attach/attachment';
import type { HotResult } from '../core/runs/hot';
import { factsFromDiagnosis } from '../core/facts/saved-facts';
import type { RuntimeFacts } from '../protocol/lsp';
import type { EnvTag } from '../core/attach/consent';
import { Disposable, Emitter, type Event } from './lifecycle';
import { AttachedNode, type AttachTarget, type DetachOutcome, type RunningTask } from './node-scope';
import { memberThroughEntry } from '../core/cluster/cluster';
import { NodeCluster, memberNames } from './cluster';

/** The window of the sidebar's scheduler-utilization sample (the sidebar says so). */
export const SIDEBAR_UTILIZATION_MS = 500;

export type { AttachTarget, DetachOutcome, RunningTask } from './node-scope';
export { AttachedNode } from './node-scope';

export interface NodeManagerDeps {
  /** Connects (core's attach service) and hands back the Attachment, whose `node` is the handshake's name. */
  attach(target: AttachTarget): Promise<Attachment>;
  info(message: string): void;
  warn(message: string): void;
  /** Tells the user the connection was lost (an editor notification). */
  lost(node: string, reason: string): void;
}

/** A node whose connection was lost (not detached by the user): shown with "Reattach" until reattached or forgotten. */
export interface LostNode {
  node: string;
  env: EnvTag;
  /** How it was attached (Reattach uses the saved connection first, this when there is none). */
  target: AttachTarget;
  /** Why the connection closed (the node went down, the network failed). */
  reason: string;
  /** When (ms since the epoch). */
  at: number;
}

/** What changed: a node's data (refresh) or the list of nodes (undefined). */
export type NodeChange = { node: AttachedNode; what: 'data' | 'sorts' | 'findings' | 'cluster' } | undefined;

export class NodeManager extends Disposable {
  private readonly nodes = new Map<string, AttachedNode>();
  private readonly changed = this._register(new Emitter<NodeChange>());
  private readonly tasksChanged = this._register(new Emitter<void>());
  private readonly factsEmitter = this._register(new Emitter<{ node: string; facts: RuntimeFacts | null }>());
  private readonly detachedEmitter = this._register(new Emitter<DetachOutcome>());
  private readonly attaching = new Map<string, Promise<AttachedNode>>();
  private readonly lostNodes = new Map<string, LostNode>();
  readonly onDidChange: Event<NodeChange> = this.changed.event;
  readonly onDidChangeTasks: Event<void> = this.tasksChanged.event;
  /** Facts for the language server, whenever they are recomputed; null = node detached. */
  readonly onFacts: Event<{ node: string; facts: RuntimeFacts | null }> = this.factsEmitter.event;
  /** A node's scope has closed (detach or lost connection). */
  readonly onDidDetach: Event<DetachOutcome> = this.detachedEmitter.event;

  constructor(private readonly deps: NodeManagerDeps) {
    super();
  }

  list(): AttachedNode[] {
    return [...this.nodes.values()];
  }

  get(node: string): AttachedNode | undefined {
    return this.nodes.get(node);
  }

  /** Nodes whose connection was lost, oldest first. */
  lost(): LostNode[] {
    return [...this.lostNodes.values()];
  }

  getLost(node: string): LostNode | undefined {
    return this.lostNodes.get(node);
  }

  /** Stops showing a lost node (the user dismissed it); true when it was there. */
  forgetLost(node: string): boolean {
    const had = this.lostNodes.delete(node);
    if (had) this.changed.fire(undefined);
    return had;
  }

  async attach(target: AttachTarget): Promise<AttachedNode> {
    const key = `${target.node}|${target.host ?? ''}|${target.port ?? ''}`;
    const pending = this.attaching.get(key);
    if (pending) return pending;
    const p = this.doAttach(target).finally(() => this.attaching.delete(key));
    this.attaching.set(key, p);
    return p;
  }

  private async doAttach(target: AttachTarget): Promise<AttachedNode> {
    // A cluster member opened through its entry, now attached by itself (to trace it): the direct
    // attachment takes its place. Detached first, so what its views loaded on the node is undone
    // before the new attachment takes the node's list of loaded modules.
    if (this.nodes.get(target.node)?.through !== undefined) await this.detach(target.node);
    const session = await this.deps.attach(target);
    const name = session.node;
    // The same, reached under another name or address.
    if (this.nodes.get(name)?.through !== undefined) await this.detach(name);
    const existing = this.nodes.get(name);
    if (existing) {
      // The same node reached under another name or address: keep the first attachment.
      await session.detach().catch(() => undefined);
      return existing;
    }
    if (this.isDisposed) {
      await session.detach().catch(() => undefined);
      throw new Error('BEAM Lens is shutting down');
    }
    const n = new AttachedNode(session, target);
    this.adopt(n);
    this.deps.info(`attached to ${name}${name !== target.node ? ` (picked as ${target.node})` : ''} (${target.env})`);
    this.changed.fire(undefined);
    return n;
  }

  /** Registers a node's scope and detaches it when its connection closes. */
  private adopt(n: AttachedNode): void {
    const name = n.node;
    const session = n.session;
    this.nodes.set(name, n);
    this.lostNodes.delete(name);
    n.own(n.onDidChangeTasks(() => this.tasksChanged.fire()));
    n.own(
      session.connection.onClose((reason) => {
        if (this.nodes.get(name) !== n || n.isClosed) return;
        // A member reached through its entry goes with the entry (whose Reattach reopens the cluster view).
        if (n.through !== undefined) return void this.detach(name);
        this.deps.warn(`connection to ${name} closed: ${reason}`);
        this.lostNodes.set(name, { node: name, env: n.env, target: { ...n.target, env: n.env }, reason, at: Date.now() });
        this.deps.lost(name, reason);
        void this.detach(name);
      }),
    );
  }

  /**
   * A member of `entry`'s cluster as a node of its own, reached through the entry's distribution
   * (nothing opened to it): its views work as any node's (read-only; tracing and the probe need a
   * direct attach). Owned by the entry: detaching the entry detaches it first. A member attached
   * by itself already is returned as it is.
   */
  openMember(entry: AttachedNode, member: string): { node: AttachedNode; opened: boolean } {
    const existing = this.nodes.get(member);
    if (existing) return { node: existing, opened: false };
    if (entry.isClosed || this.nodes.get(entry.node) !== entry) throw new Error(`${entry.node} is not attached any more`);
    if (entry.through !== undefined) throw new Error(`${entry.node} is itself reached through ${entry.through}: open its members from ${entry.through}'s cluster`);
    // Only a node the entry lists (or its last cluster overview does): a name from a webview or a
    // command argument never becomes a call (and an atom) on the entry node.
    const known = (entry.members ?? []).includes(member) || (entry.cluster?.overview?.nodes.some((r) => r.node === member) ?? false);
    if (!known) throw new Error(`${member} is not a member of ${entry.node}'s cluster (as last read); refresh the cluster view`);
    const session = memberThroughEntry(entry.session, member);
    const n = new AttachedNode(session, { node: member, env: entry.env, cookie: entry.target.cookie }, undefined, entry.node);
    this.adopt(n);
    entry.ownClose(async () => {
      // This member only: one attached by itself under the same name since then stays.
      if (this.nodes.get(member) === n) await this.detach(member);
    });
    this.deps.info(`opened ${member} through ${entry.node} (${entry.env})`);
    this.changed.fire(undefined);
    return { node: n, opened: true };
  }

  /** The cluster of an attached node, opened on first use and owned by its scope. */
  clusterOf(n: AttachedNode): NodeCluster {
    if (n.cluster && !n.cluster.isClosed) return n.cluster;
    if (n.through !== undefined) throw new Error(`${n.node} is reached through ${n.through}: its cluster is ${n.through}'s`);
    if (n.isClosed) throw new Error(`${n.node} is being detached`);
    const cluster = new NodeCluster(n.session);
    n.cluster = cluster;
    n.ownClose(() => cluster.close());
    return cluster;
  }

  /** Asks every member of the node's cluster for its state; fires a 'cluster' change. Errors stay on the cluster. */
  async refreshCluster(n: AttachedNode): Promise<void> {
    try {
      await this.clusterOf(n).refreshOverview();
    } catch {
      // kept in cluster.lastError, shown by the sidebar and the cluster view
    }
    if (this.nodes.get(n.node) === n) this.changed.fire({ node: n, what: 'cluster' });
  }

  /** Closes the node's scope (awaiting the target's cleanup) and says what happened; null if not attached. */
  async detach(node: string): Promise<DetachOutcome | null> {
    const n = this.nodes.get(node);
    if (!n) return null;
    const outcome = await n.close();
    if (this.nodes.get(node) === n) {
      this.nodes.delete(node);
      this.deps.info(`detached from ${node}: ${JSON.stringify({ ...outcome, node: undefined })}`);
      this.factsEmitter.fire({ node, facts: null });
      this.detachedEmitter.fire(outcome);
      this.changed.fire(undefined);
      this.tasksChanged.fire();
    }
    return outcome;
  }

  async detachAll(): Promise<DetachOutcome[]> {
    const all = await Promise.allSettled(this.list().map((n) => this.detach(n.node)));
    return all.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
  }

  /** Overview and trees (what the sidebar shows); errors are kept on the node, not thrown. */
  async refresh(n: AttachedNode, what: { overview?: boolean; trees?: boolean } = { overview: true, trees: true }): Promise<void> {
    try {
      // One after the other: the utilization sample must not measure our own tree walk.
      if (what.overview) n.overview = await n.session.overview({ utilizationWindowMs: SIDEBAR_UTILIZATION_MS });
      if (what.trees) n.trees = await n.session.tree({ pageSize: 50 });
      n.lastError = null;
    } catch (err) {
      n.lastError = err instanceof Error ? err.message : String(err);
    }
    if (n.lastError === null) await this.refreshMembers(n, false);
    if (this.nodes.get(n.node) === n) this.changed.fire({ node: n, what: 'data' });
  }

  /** The other nodes of its cluster (its nodes()); a member reached through an entry belongs to the entry's cluster. */
  async refreshMembers(n: AttachedNode, fire = true): Promise<string[]> {
    if (n.through !== undefined) return [];
    const before = (n.members ?? []).join('\n');
    n.members = await memberNames(n.session).catch(() => n.members);
    if (fire && (n.members ?? []).join('\n') !== before && this.nodes.get(n.node) === n) this.changed.fire({ node: n, what: 'data' });
    return n.members ?? [];
  }

  /** The top 10 by one sort, for the sidebar section; fires a 'sorts' change (that section only). */
  async refreshSort(n: AttachedNode, sort: ProcessSort): Promise<void> {
    try {
      n.processes.set(sort, await n.session.processes({ sort, limit: 10, offset: 0, windowMs: 500 }));
    } catch (err) {
      n.lastError = err instanceof Error ? err.message : String(err);
    }
    if (this.nodes.get(n.node) === n) this.changed.fire({ node: n, what: 'sorts' });
  }

  /** Recomputes the language server's facts for a node (module summaries, supervisors, findings). */
  async collectFacts(n: AttachedNode, signal?: AbortSignal): Promise<void> {
    const facts = await n.collector.collect(signal);
    if (this.nodes.get(n.node) !== n || n.isClosed) return;
    n.facts = facts;
    this.factsEmitter.fire({ node: n.node, facts });
    this.changed.fire({ node: n, what: 'findings' });
  }

  setDiagnosis(n: AttachedNode, d: Diagnosis): void {
    n.diagnosis = d;
    if (d.samples.hot) n.hot = d.samples.hot;
    n.facts = factsFromDiagnosis(d, n.env);
    if (this.nodes.get(n.node) !== n) return;
    this.factsEmitter.fire({ node: n.node, facts: n.facts });
    this.changed.fire({ node: n, what: 'findings' });
  }

  /** Tells the views a node's data changed ('cluster': its cluster overview, read by someone else). */
  refreshViews(n: AttachedNode, what: 'data' | 'cluster' = 'data'): void {
    if (this.nodes.get(n.node) === n) this.changed.fire({ node: n, what });
  }

  setHot(n: AttachedNode, hot: HotResult): void {
    n.hot = hot;
    this.changed.fire({ node: n, what: 'findings' });
    void this.collectFacts(n).catch((err: unknown) => this.deps.warn(`collecting facts from ${n.node} failed: ${err instanceof Error ? err.message : String(err)}`));
  }

  runningTasks(): RunningTask[] {
    return this.list().flatMap((n) => n.runningTasks());
  }

  stopTask(id: number): void {
    for (const n of this.list()) n.stopTask(id);
  }

  /** Detaches every node (awaited), then disposes the emitters: the order deactivate needs. */
  async shutdown(): Promise<DetachOutcome[]> {
    const outcomes = await this.detachAll();
    this.dispose();
    return outcomes;
  }
}
