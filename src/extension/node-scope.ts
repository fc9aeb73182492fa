// One attached node = one scope. It owns everything that exists because of that node: its panels,
// refresh timers, the facts feed and the running sessions (hot functions, traces, reports).
// close() stops the sessions and waits for their cleanup on the target, disposes what it owns,
// then undoes what we set (probe) and closes the connection — and says what really happened.
// No 'vscode' import: unit-tested with fakes.
import type { EnvTag } from '../core/attach/consent';
import type { Diagnosis } from '../core/findings/diagnose';
import type { Overview } from '../core/inspect/overview';
import type { ProcessPage, ProcessSort } from '../core/inspect/processes';
import { factsCollector, type FactsCollector } from '../core/facts/runtime-facts';
import type { Attachment } from '../core/attach/attachment';
import { describeProbeStays, type ProbeRelease } from '../core/probe/loader';
import type { HotResult } from '../core/runs/hot';
import type { ApplicationTree } from '../core/inspect/tree';
import type { CookieInput } from '../core/attach';
import type { TlsFlagValues } from '../erldist';
import type { RuntimeFacts } from '../protocol/lsp';
import { Disposable, Emitter, type Event, type IDisposable } from './lifecycle';
import type { NodeCluster } from './cluster';

export type { IDisposable };

export interface AttachTarget {
  /** The name the user picked or typed (EPMD may list `rabbit@vm` for a node called `rabbit@localhost`). */
  node: string;
  host?: string;
  port?: number;
  env: EnvTag;
  /** Passed to core's attach service, which reads the file or ~/.erlang.cookie itself. */
  cookie: CookieInput;
  /** TLS distribution: paths of the files (core reads them on each attach); absent: plain TCP. */
  tls?: TlsFlagValues;
}

/** A bounded, cancellable piece of work on the target (hot functions, trace, report). */
export interface RunningTask {
  id: number;
  node: string;
  label: string;
  controller: AbortController;
}

/** What close() found: every field is checked, not assumed. */
export interface DetachOutcome {
  node: string;
  /** The probe was loaded and is now unloaded (false when it was never loaded, or stays for another BEAM Lens). */
  probeUnloaded: boolean;
  /** The probe stays loaded because other BEAM Lens instances (these nodes) still use it; ours was released. */
  probeSharedWith?: string[];
  /** Sessions that were running and were stopped (their cleanup on the target awaited). */
  sessionsStopped: number;
  /** Sessions whose cleanup did not finish within the bound. */
  sessionsUnfinished: number;
  /** Our connection is closed (the target sees nodedown; our hidden node leaves its nodes(hidden)). */
  connectionClosed: boolean;
  /** A cluster member reached through this entry node: there was no connection of ours to it. */
  through?: string;
  /** Panels, timers and feeds this scope owned, all disposed. */
  resourcesDisposed: number;
  /** What went wrong, if anything (the text says what is left on the target). */
  problems: string[];
}

let nextTaskId = 1;

export class AttachedNode extends Disposable {
  overview: Overview | null = null;
  trees: ApplicationTree[] | null = null;
  processes = new Map<ProcessSort, ProcessPage>();
  diagnosis: Diagnosis | null = null;
  hot: HotResult | null = null;
  facts: RuntimeFacts | null = null;
  lastError: string | null = null;
  /** The other nodes of its cluster as it lists them (nodes()); null before the first refresh or for a member reached through an entry. */
  members: string[] | null = null;
  /** Its cluster (sidebar section, cluster webview), opened on first use and closed with the scope. */
  cluster: NodeCluster | null = null;
  /** The probe was offered for this attachment (a slow table query); asked once. */
  probeOffered = false;
  readonly collector: FactsCollector;
  private readonly tasks = new Map<number, { task: RunningTask; done: Promise<unknown> }>();
  private readonly tasksChanged = this._register(new Emitter<void>());
  readonly onDidChangeTasks: Event<void> = this.tasksChanged.event;
  private readonly closedEmitter = new Emitter<DetachOutcome>();
  /** Fires once, after close() (or a lost connection) has finished. */
  readonly onDidClose: Event<DetachOutcome> = this.closedEmitter.event;
  private closing: Promise<DetachOutcome> | null = null;
  /** Set when the connection has really closed (its close event), whoever closed it. */
  private connectionGone: string | null = null;
  /** Async cleanups of what this scope opened through its connection (cluster members), last first. */
  private readonly closers: Array<() => Promise<void>> = [];

  /**
   * @param through for a cluster member reached through an entry node: that entry's name (the
   *   connection is the entry's; detaching the member closes nothing).
   */
  constructor(
    readonly session: Attachment,
    readonly target: AttachTarget,
    private readonly taskCleanupMs = 10_000,
    readonly through?: string,
  ) {
    super();
    // Not owned by the scope: it must outlive the scope's disposal to see the close. A member
    // reached through an entry has no connection of its own to watch (the entry's outlives it).
    if (through === undefined) session.connection.onClose((reason) => (this.connectionGone = reason));
    this.collector = factsCollector(session, { hot: () => this.hot ?? undefined, extraFindings: () => this.diagnosis?.findings ?? [] });
  }

  /** The node's own name from the handshake: the one identity used everywhere. */
  get node(): string {
    return this.session.node;
  }

  get env(): EnvTag {
    return this.session.env;
  }

  get isClosed(): boolean {
    return this.closing !== null;
  }

  /**
   * Adopts a resource of this node (panel, timer, feed). When it is disposed by someone else first
   * (the user closes a panel), pass its dispose event so the scope forgets it.
   */
  own<T extends IDisposable>(resource: T, onDisposed?: Event<void>): T {
    this._register(resource);
    if (onDisposed) {
      const sub = onDisposed(() => {
        this._unregister(resource);
        this._unregister(sub);
        sub.dispose();
      });
      if (!this.isDisposed) this._register(sub);
    }
    return resource;
  }

  /**
   * Adopts an async cleanup that needs this node's connection (a cluster member reached through
   * it, the cluster view): close() awaits them, last registered first, before the connection goes.
   */
  ownClose(close: () => Promise<void>): void {
    if (this.isClosed) {
      void close().catch(() => undefined);
      return;
    }
    this.closers.push(close);
  }

  /** How many resources the scope holds right now (panels, timers, feeds, subscriptions). */
  get resourceCount(): number {
    return this.ownedCount;
  }

  // ---- running sessions ----

  /** Runs `body` as a cancellable task of this node; close() aborts it and waits for its cleanup. */
  async runTask<T>(label: string, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.isClosed) throw new Error(`${this.node} is being detached`);
    const task: RunningTask = { id: nextTaskId++, node: this.node, label, controller: new AbortController() };
    const run = body(task.controller.signal);
    this.tasks.set(task.id, { task, done: run.catch(() => undefined) });
    this.tasksChanged.fire();
    try {
      return await run;
    } finally {
      this.tasks.delete(task.id);
      this.tasksChanged.fire();
    }
  }

  runningTasks(): RunningTask[] {
    return [...this.tasks.values()].map((t) => t.task);
  }

  stopTask(id: number): void {
    this.tasks.get(id)?.task.controller.abort();
  }

  // ---- the end ----

  /** Stops everything of this node, undoes what we set on the target, closes the connection. */
  close(): Promise<DetachOutcome> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<DetachOutcome> {
    const problems: string[] = [];
    const running = [...this.tasks.values()];
    for (const t of running) t.task.controller.abort();
    // Cancelled sessions clean up inside the probe (trace flags, patterns): wait before unloading it.
    let unfinished = running.length;
    if (running.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const settled = Promise.allSettled(running.map((t) => t.done)).then(() => (unfinished = 0));
      await Promise.race([settled, new Promise((r) => (timer = setTimeout(r, this.taskCleanupMs)))]);
      clearTimeout(timer);
      if (unfinished > 0) problems.push(`${unfinished} session(s) did not finish their cleanup within ${this.taskCleanupMs / 1000} s`);
    }
    for (const close of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        problems.push(`closing what was opened through ${this.node} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const resources = this.ownedCount;
    try {
      this.dispose();
    } catch (err) {
      problems.push(`disposing the node's views failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const hadProbe = this.session.hasProbe;
    let release: ProbeRelease | null = null;
    try {
      release = (await this.session.detach()).probe;
    } catch (err) {
      problems.push(`undoing our changes failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const connectionClosed = this.connectionGone !== null;
    // A member reached through an entry node has no connection of ours: nothing to close.
    if (!connectionClosed && this.through === undefined) problems.push('the connection is still open');
    const outcome: DetachOutcome = {
      node: this.node,
      probeUnloaded: hadProbe && !this.session.hasProbe && release?.state !== 'shared' && problems.every((p) => !p.startsWith('undoing')),
      ...(release?.state === 'shared' ? { probeSharedWith: release.others } : {}),
      sessionsStopped: running.length,
      sessionsUnfinished: unfinished,
      connectionClosed,
      ...(this.through !== undefined ? { through: this.through } : {}),
      resourcesDisposed: resources,
      problems,
    };
    this.closedEmitter.fire(outcome);
    this.closedEmitter.dispose();
    return outcome;
  }
}

/** One sentence that says what detach really did. */
export function describeDetach(o: DetachOutcome): string {
  const done: string[] = [];
  if (o.sessionsStopped > 0) done.push(`${o.sessionsStopped} running session(s) stopped`);
  if (o.probeUnloaded) done.push('probe unloaded');
  if (o.connectionClosed) done.push('connection closed');
  else if (o.through !== undefined) done.push(`reached through ${o.through}, so no connection of ours to close`);
  if (o.probeSharedWith !== undefined) done.push(describeProbeStays(o.node, o.probeSharedWith));
  if (o.problems.length === 0) return `detached from ${o.node}: ${done.join(', ')}; nothing ${o.probeSharedWith !== undefined ? 'else ' : ''}of ours is left on it.`;
  return `detached from ${o.node} with problems: ${o.problems.join('; ')}${done.length ? ` (done: ${done.join(', ')})` : ''}. Check the node; the probe removes itself when our connection is gone.`;
}
