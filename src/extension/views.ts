// Controllers of the webviews: each reads from the node's core Attachment (nothing is computed twice)
// and talks to its view through the typed messages of src/protocol/webview.ts. Every view is a
// Disposable that owns its panel and its live-refresh timer (which runs only while the panel is
// visible); the node's scope owns the views (NodePanels), so detach closes them all.
import * as vscode from 'vscode';
import { walkTree, type ApplicationTree, type TreeNode } from '../core/inspect/tree';
import type { ProcessSort } from '../core/inspect/processes';
import {
  assertNever,
  type ClusterNodeView,
  type DashboardSample,
  type DashboardToHost,
  type DetailToHost,
  type ProcessHealth,
  type TreeFocus,
  type TreeToHost,
  type WebviewMessages,
  type WebviewName,
} from '../protocol/webview';
import { Disposable, RepeatingTimer } from './lifecycle';
import type { Log } from './log';
import type { AttachedNode, NodeManager } from './nodes';
import { Panel } from './panel';

export interface ViewContext {
  extensionUri: vscode.Uri;
  nodes: NodeManager;
  log: Log;
  refreshMs(): number;
  openDetail(n: AttachedNode, pid: string): void;
  openTree(n: AttachedNode, focus?: TreeFocus): void;
  traceMessages(n: AttachedNode, pid: string): Promise<void>;
  /** Opens a view of a member of `entry`'s cluster (the entry itself, or a member reached through it). */
  openMember(entry: AttachedNode, member: string, view: ClusterNodeView | { pid: string }): Promise<void>;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What a view shows, to open it again on a reattached node. */
export type ViewSpec =
  | { kind: 'tree'; app?: string }
  | { kind: 'table'; filter?: string; sort?: ProcessSort }
  | { kind: 'dashboard' }
  | { kind: 'detail'; pid: string }
  | { kind: 'cluster' };

/** A webview controller: owns its panel and timers; disposed when the panel closes or the node goes. */
export abstract class View<N extends WebviewName> extends Disposable {
  readonly panel: Panel<N>;
  private readonly timers: RepeatingTimer[] = [];
  /** Set when the node is gone: the view stays open, says so, and asks the node nothing. */
  private goneText: string | null = null;

  constructor(
    protected readonly ctx: ViewContext,
    protected readonly n: AttachedNode,
    name: N,
    private readonly title: string,
  ) {
    super();
    this.panel = this._register(
      new Panel(name, title, ctx.extensionUri, (m) => (this.goneText !== null ? this.whileGone(m) : this.onMessage(m)), vscode.ViewColumn.Active, (text) => ctx.log.warn(text)),
    );
    this.panel.onDidDispose(() => this.dispose());
  }

  protected abstract onMessage(m: WebviewMessages[N]['toHost']): Promise<void>;

  /** What this view shows (to reopen it on the node once reattached). */
  abstract spec(): ViewSpec;

  /** Calls `tick` every refreshDelay() ms while the panel is visible; stops when the view is disposed. */
  protected liveRefresh(tick: () => Promise<void>): void {
    const timer = new RepeatingTimer(() => (this.panel.visible ? tick() : Promise.resolve()), () => this.refreshDelay(), undefined, (err) => this.ctx.log.warn(`${this.n.node}: refresh failed: ${errorText(err)}`));
    this.timers.push(timer);
    this._register(timer);
  }

  get isGone(): boolean {
    return this.goneText !== null;
  }

  /** The node is gone: stop refreshing, mark the tab, and say so in the view (again whenever its page reloads). */
  markGone(text: string): void {
    this.goneText = text;
    for (const t of this.timers.splice(0)) t.dispose();
    this.panel.panel.title = `${this.title} (node gone)`;
    this.panel.postError(text);
  }

  private async whileGone(m: WebviewMessages[N]['toHost']): Promise<void> {
    // A hidden page reloads when shown again ('ready'): it gets the same words; any click too.
    void m;
    this.panel.postError(this.goneText ?? '');
  }

  /** The live refresh interval (a view whose query is costly on the node backs off). */
  protected refreshDelay(): number {
    return this.ctx.refreshMs();
  }

  reveal(): void {
    this.panel.reveal();
  }
}

// ---- Supervision tree ----------------------------------------------------------------------

/** Levels read below a paged supervisor: its children and theirs (a queue supervisor and its queue). */
const PAGE_DEPTH = 3;

export class TreeView extends View<'supervision-tree'> {
  private apps: ApplicationTree[] = [];
  private previousQueues = new Map<string, { at: number; len: number }>();
  /** Supervisors the user paged through, and how many of their children to keep listing. */
  private readonly paged = new Map<string, number>();
  private pendingFocus: TreeFocus | undefined;

  /** Show one application's tree only (null: every application). */
  private app: string | null;

  constructor(ctx: ViewContext, n: AttachedNode, focus?: TreeFocus, app?: string) {
    super(ctx, n, 'supervision-tree', `Supervision tree · ${n.node}`);
    this.pendingFocus = focus;
    this.app = app ?? null;
    this.liveRefresh(() => this.load());
  }

  spec(): ViewSpec {
    return this.app !== null ? { kind: 'tree', app: this.app } : { kind: 'tree' };
  }

  /** Switches to one application's tree (or all). */
  showApp(app: string | null): void {
    this.app = app;
    // A hidden panel reloads its page when revealed: the new page's 'ready' gets it.
    if (this.panel.visible) this.panel.post({ type: 'showApp', app });
  }

  focus(focus: TreeFocus): void {
    // A hidden panel reloads its page when revealed (no retained context): a message posted now
    // would reach the page being torn down. Keep it for the new page's 'ready' instead.
    const wasVisible = this.panel.visible;
    this.pendingFocus = focus;
    this.panel.reveal();
    if (wasVisible) {
      this.panel.post({ type: 'focus', focus });
      this.pendingFocus = undefined;
    }
  }

  protected async onMessage(m: TreeToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
      case 'refresh':
        // The application first, so the new page shapes its first tree by it: posted after the
        // tree, it re-placed the view and undid what the user did meanwhile (a search, a focus).
        if (m.type === 'ready' && this.app !== null) this.panel.post({ type: 'showApp', app: this.app });
        await this.load();
        if (this.pendingFocus) this.panel.post({ type: 'focus', focus: this.pendingFocus });
        this.pendingFocus = undefined;
        return;
      case 'openProcess':
        this.ctx.openDetail(this.n, m.pid);
        return;
      case 'page': {
        const page = await this.n.session.supervisorPage(m.supervisorPid, m.offset, 100, PAGE_DEPTH);
        const node = findTreeNode(this.apps, m.supervisorPid);
        if (node) {
          const seen = new Set(node.children.map((c) => c.pid));
          node.children.push(...page.children.filter((c) => !seen.has(c.pid)));
          node.childCount = page.childCount;
          node.truncated = node.children.length < node.childCount;
          // Later refreshes keep this many children of it (they would otherwise drop back to one page).
          this.paged.set(m.supervisorPid, node.children.length);
        }
        this.post();
        return;
      }
      default:
        assertNever(m);
    }
  }

  private async load(): Promise<void> {
    try {
      const [apps, mailboxes] = await Promise.all([this.n.session.tree({ pageSize: 100 }), this.n.session.processes({ sort: 'mailbox', limit: 50, offset: 0 })]);
      for (const [pid, count] of this.paged) {
        const node = findTreeNode(apps, pid);
        if (!node) {
          this.paged.delete(pid);
          continue;
        }
        const page = await this.n.session.supervisorPage(pid, 0, Math.min(count, 5000), PAGE_DEPTH);
        node.children = page.children;
        node.childCount = page.childCount;
        node.truncated = node.children.length < node.childCount;
      }
      this.apps = apps;
      this.n.trees = apps;
      const now = Date.now();
      const health: Record<string, ProcessHealth> = {};
      const queues = new Map<string, { at: number; len: number }>();
      for (const r of mailboxes.rows) {
        const prev = this.previousQueues.get(r.pid);
        health[r.pid] = {
          messageQueueLen: r.messageQueueLen,
          memory: r.memory,
          ...(prev && now > prev.at ? { mailboxGrowth: ((r.messageQueueLen - prev.len) * 1000) / (now - prev.at) } : {}),
        };
        queues.set(r.pid, { at: now, len: r.messageQueueLen });
      }
      this.previousQueues = queues;
      this.health = health;
      this.post();
    } catch (err) {
      this.panel.post({ type: 'error', message: `could not read the supervision tree of ${this.n.node}: ${errorText(err)}` });
    }
  }

  private health: Record<string, ProcessHealth> = {};

  private post(): void {
    this.panel.post({ type: 'tree', node: this.n.node, apps: this.apps, health: this.health, refreshedAt: Date.now() });
  }
}

// ---- Process detail ------------------------------------------------------------------------

export class DetailView extends View<'process-detail'> {
  constructor(
    ctx: ViewContext,
    n: AttachedNode,
    readonly pid: string,
  ) {
    super(ctx, n, 'process-detail', `${pid} · ${n.node}`);
    this.liveRefresh(() => this.load());
  }

  spec(): ViewSpec {
    return { kind: 'detail', pid: this.pid };
  }

  protected async onMessage(m: DetailToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
      case 'refresh':
        await this.load();
        return;
      case 'openProcess':
        this.ctx.openDetail(this.n, m.pid);
        return;
      case 'showInTree':
        this.ctx.openTree(this.n, { pid: m.pid });
        return;
      case 'traceMessages':
        await this.ctx.traceMessages(this.n, m.pid);
        return;
      case 'profile':
        await vscode.commands.executeCommand('beamLens.profileProcess', { node: this.n.node, pid: m.pid });
        return;
      default:
        assertNever(m);
    }
  }

  private async load(): Promise<void> {
    try {
      const detail = await this.n.session.processDetail(this.pid);
      this.panel.post({ type: 'detail', node: this.n.node, detail, refreshedAt: Date.now() });
    } catch (err) {
      this.panel.post({ type: 'error', message: `could not read ${this.pid} on ${this.n.node}: ${errorText(err)}` });
    }
  }
}

// ---- Dashboard -----------------------------------------------------------------------------

export const DASHBOARD_SAMPLES = 600;

export class DashboardView extends View<'dashboard'> {
  private readonly samples: DashboardSample[] = [];
  private previousIo: { at: number; input: number; output: number } | null = null;
  private paused = false;

  constructor(ctx: ViewContext, n: AttachedNode) {
    super(ctx, n, 'dashboard', `Dashboard · ${n.node}`);
    this.liveRefresh(() => (this.paused ? Promise.resolve() : this.sample()));
  }

  spec(): ViewSpec {
    return { kind: 'dashboard' };
  }

  protected async onMessage(m: DashboardToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        if (this.samples.length === 0) await this.sample(false);
        this.panel.post({ type: 'samples', node: this.n.node, samples: this.samples });
        return;
      case 'pause':
        this.paused = m.paused === true;
        return;
      default:
        assertNever(m);
    }
  }

  private async sample(post = true): Promise<void> {
    try {
      const o = await this.n.session.overview({ utilizationWindowMs: 250 });
      this.n.overview = o;
      const at = Date.now();
      const prev = this.previousIo;
      const dt = prev ? (at - prev.at) / 1000 : 0;
      const s: DashboardSample = {
        at,
        memory: o.memory,
        schedulerUtilization: o.schedulerUtilization ? { total: o.schedulerUtilization.total, perScheduler: o.schedulerUtilization.perScheduler, windowMs: o.schedulerUtilization.windowMs } : null,
        runQueue: o.runQueue.total,
        processCount: o.limits.processes.count,
        ioInPerSec: prev && dt > 0 ? Math.max(0, (o.io.inputBytes - prev.input) / dt) : 0,
        ioOutPerSec: prev && dt > 0 ? Math.max(0, (o.io.outputBytes - prev.output) / dt) : 0,
      };
      this.previousIo = { at, input: o.io.inputBytes, output: o.io.outputBytes };
      this.samples.push(s);
      if (this.samples.length > DASHBOARD_SAMPLES) this.samples.splice(0, this.samples.length - DASHBOARD_SAMPLES);
      if (post) this.panel.post({ type: 'sample', sample: s });
    } catch (err) {
      this.panel.post({ type: 'error', message: `could not sample ${this.n.node}: ${errorText(err)}` });
    }
  }
}

export function findTreeNode(apps: ApplicationTree[], pid: string): TreeNode | undefined {
  for (const app of apps) {
    if (!app.supervisor) continue;
    for (const { node } of walkTree(app.supervisor)) if (node.pid === pid) return node;
  }
  return undefined;
}
