// The attached nodes: one core Attachment each, with the last data the views show (overview,
// application trees, top processes, findings) refreshed on an interval while a view is visible.
// Detach undoes everything on the target (Attachment.detach) and tells every view.
import * as vscode from 'vscode';
import type { EnvTag } from '../core/attach/consent';
import type { Diagnosis } from '../core/findings/diagnose';
import type { Overview } from '../core/inspect/overview';
import type { ProcessPage, ProcessSort } from '../core/inspect/processes';
import { factsCollector, type FactsCollector } from '../core/facts/runtime-facts';
import { Attachment } from '../core/attach/attachment';
import type { HotResult } from '../core/runs/hot';
import { factsFromDiagnosis } from '../core/facts/saved-facts';
import type { ApplicationTree } from '../core/inspect/tree';
import { connect, type Cookie, type NodeConnection } from '../erldist';
import type { RuntimeFacts } from '../protocol/lsp';
import type { Log } from './log';

export interface AttachTarget {
  node: string;
  host?: string;
  port?: number;
  env: EnvTag;
  cookie: Cookie;
}

/** A bounded, cancellable piece of work on the target (hot functions, trace, report). */
export interface RunningTask {
  id: number;
  node: string;
  label: string;
  controller: AbortController;
}

export class AttachedNode {
  overview: Overview | null = null;
  trees: ApplicationTree[] | null = null;
  processes = new Map<ProcessSort, ProcessPage>();
  diagnosis: Diagnosis | null = null;
  hot: HotResult | null = null;
  facts: RuntimeFacts | null = null;
  lastError: string | null = null;
  readonly collector: FactsCollector;

  constructor(
    readonly session: Attachment,
    readonly connection: NodeConnection,
    readonly target: AttachTarget,
  ) {
    this.collector = factsCollector(session, { hot: () => this.hot ?? undefined, extraFindings: () => this.diagnosis?.findings ?? [] });
  }

  get node(): string {
    return this.session.node;
  }

  get env(): EnvTag {
    return this.target.env;
  }
}

export class NodeManager implements vscode.Disposable {
  private readonly nodes = new Map<string, AttachedNode>();
  private readonly changed = new vscode.EventEmitter<AttachedNode | undefined>();
  private readonly tasksChanged = new vscode.EventEmitter<void>();
  private readonly tasks = new Map<number, RunningTask>();
  private nextTask = 1;
  /** Fires when a node is attached, detached or its data refreshed (undefined: the list changed). */
  readonly onDidChange = this.changed.event;
  readonly onDidChangeTasks = this.tasksChanged.event;
  /** Facts for the language server, whenever they are recomputed; null = node detached. */
  private readonly factsEmitter = new vscode.EventEmitter<{ node: string; facts: RuntimeFacts | null }>();
  readonly onFacts = this.factsEmitter.event;

  constructor(private readonly log: Log) {}

  list(): AttachedNode[] {
    return [...this.nodes.values()];
  }

  get(node: string): AttachedNode | undefined {
    return this.nodes.get(node);
  }

  async attach(target: AttachTarget): Promise<AttachedNode> {
    const existing = this.nodes.get(target.node);
    if (existing) return existing;
    const connection = await connect({
      node: target.node,
      cookie: target.cookie,
      ...(target.host ? { host: target.host } : {}),
      ...(target.port ? { port: target.port } : {}),
      timeoutMs: 5000,
    });
    const session = new Attachment(connection, { env: target.env, grants: {} });
    const attached = new AttachedNode(session, connection, target);
    this.nodes.set(target.node, attached);
    connection.onClose((reason) => {
      if (this.nodes.get(target.node) !== attached) return;
      this.nodes.delete(target.node);
      this.cancelTasks(target.node);
      this.log.warn(`connection to ${target.node} closed: ${reason}`);
      void vscode.window.showWarningMessage(`BEAM Lens: lost the connection to ${target.node} (${reason}).`);
      this.factsEmitter.fire({ node: target.node, facts: null });
      this.changed.fire(undefined);
    });
    this.log.info(`attached to ${target.node} (${target.env})`);
    this.changed.fire(undefined);
    return attached;
  }

  /** Stops running tasks, undoes everything we set on the target, closes the connection. */
  async detach(node: string): Promise<void> {
    const attached = this.nodes.get(node);
    if (!attached) return;
    this.nodes.delete(node);
    this.cancelTasks(node);
    // Let cancelled tasks finish their own cleanup (they run inside the probe) before unloading it.
    await this.waitTasks(node, 10_000);
    await attached.session.detach();
    this.log.info(`detached from ${node}: probe unloaded (if it was loaded), connection closed`);
    this.factsEmitter.fire({ node, facts: null });
    this.changed.fire(undefined);
  }

  async detachAll(): Promise<void> {
    await Promise.allSettled(this.list().map((n) => this.detach(n.node)));
  }

  /** Overview and trees (what the sidebar shows); errors are kept on the node, not thrown. */
  async refresh(n: AttachedNode, what: { overview?: boolean; trees?: boolean; sorts?: ProcessSort[] } = { overview: true, trees: true }): Promise<void> {
    try {
      const [overview, trees] = await Promise.all([
        what.overview ? n.session.overview({ utilizationWindowMs: 200 }) : Promise.resolve(n.overview),
        what.trees ? n.session.tree({ pageSize: 50 }) : Promise.resolve(n.trees),
      ]);
      n.overview = overview;
      n.trees = trees;
      for (const sort of what.sorts ?? []) n.processes.set(sort, await n.session.processes({ sort, limit: 10, offset: 0, windowMs: 500 }));
      n.lastError = null;
    } catch (err) {
      n.lastError = err instanceof Error ? err.message : String(err);
    }
    if (this.nodes.get(n.node) === n) this.changed.fire(n);
  }

  /** Recomputes the language server's facts for a node (module summaries, supervisors, findings). */
  /** Logs a failure; with `rethrow` (the facts loop, which backs off) it also rejects. */
  async collectFacts(n: AttachedNode, signal?: AbortSignal, rethrow = false): Promise<void> {
    try {
      n.facts = await n.collector.collect(signal);
      if (this.nodes.get(n.node) === n) this.factsEmitter.fire({ node: n.node, facts: n.facts });
    } catch (err) {
      this.log.warn(`collecting facts from ${n.node} failed: ${err instanceof Error ? err.message : String(err)}`);
      if (rethrow) throw err;
    }
  }

  setDiagnosis(n: AttachedNode, d: Diagnosis): void {
    n.diagnosis = d;
    if (d.samples.hot) n.hot = d.samples.hot;
    n.facts = factsFromDiagnosis(d, n.env);
    this.factsEmitter.fire({ node: n.node, facts: n.facts });
    this.changed.fire(n);
  }

  refreshViews(n: AttachedNode): void {
    this.changed.fire(n);
  }

  setHot(n: AttachedNode, hot: HotResult): void {
    n.hot = hot;
    this.changed.fire(n);
    void this.collectFacts(n);
  }

  // ---- running tasks ----

  private readonly taskDone = new Map<number, Promise<unknown>>();

  /** Runs `body` as a cancellable task shown in the status bar; one owner: the manager. */
  async runTask<T>(node: string, label: string, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const task: RunningTask = { id: this.nextTask++, node, label, controller: new AbortController() };
    this.tasks.set(task.id, task);
    this.tasksChanged.fire();
    const run = body(task.controller.signal);
    this.taskDone.set(task.id, run.catch(() => undefined));
    try {
      return await run;
    } finally {
      this.tasks.delete(task.id);
      this.taskDone.delete(task.id);
      this.tasksChanged.fire();
    }
  }

  runningTasks(): RunningTask[] {
    return [...this.tasks.values()];
  }

  stopTask(id: number): void {
    this.tasks.get(id)?.controller.abort();
  }

  private cancelTasks(node: string): void {
    for (const t of this.tasks.values()) if (t.node === node) t.controller.abort();
  }

  private async waitTasks(node: string, timeoutMs: number): Promise<void> {
    const pending = [...this.tasks.values()].filter((t) => t.node === node).map((t) => this.taskDone.get(t.id));
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled(pending), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  dispose(): void {
    void this.detachAll();
    this.changed.dispose();
    this.tasksChanged.dispose();
    this.factsEmitter.dispose();
  }
}
