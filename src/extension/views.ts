// Controllers of the webviews: each reads from the node's core Attachment (nothing is computed twice)
// and talks to its view through the typed messages of src/protocol/webview.ts. Live refresh runs
// only while the panel is visible; every timer belongs to its panel and dies with it.
import * as vscode from 'vscode';
import { filteredProcesses } from '../core/inspect/process-filter';
import { walkTree, type ApplicationTree, type TreeNode } from '../core/inspect/tree';
import {
  assertNever,
  type DashboardSample,
  type DashboardToHost,
  type DetailToHost,
  type ProcessHealth,
  type TableQuery,
  type TableToHost,
  type TreeFocus,
  type TreeToHost,
} from '../protocol/webview';
import type { Log } from './log';
import type { AttachedNode, NodeManager } from './nodes';
import { sanitizeQuery } from './model/messages';
import { Panel } from './panel';

export interface ViewContext {
  extensionUri: vscode.Uri;
  nodes: NodeManager;
  log: Log;
  refreshMs(): number;
  openDetail(node: string, pid: string): void;
  openTree(node: string, focus?: TreeFocus): void;
  traceMessages(node: string, pid: string): Promise<void>;
}

/** Calls `tick` every refreshMs while the panel is visible; stops when it is disposed. */
function liveRefresh(panel: { readonly visible: boolean; onDidDispose: vscode.Event<void> }, ctx: ViewContext, tick: () => Promise<void>): void {
  let timer: NodeJS.Timeout | null = null;
  let running = false;
  const schedule = (): void => {
    timer = setTimeout(() => {
      void (async () => {
        if (panel.visible && !running) {
          running = true;
          await tick().catch(() => undefined);
          running = false;
        }
        schedule();
      })();
    }, ctx.refreshMs());
  };
  schedule();
  panel.onDidDispose(() => {
    if (timer) clearTimeout(timer);
    timer = null;
  });
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ---- Supervision tree ----------------------------------------------------------------------

export class TreeView {
  readonly panel: Panel<'supervision-tree'>;
  private apps: ApplicationTree[] = [];
  private previousQueues = new Map<string, { at: number; len: number }>();
  /** Supervisors the user paged through, and how many of their children to keep listing. */
  private readonly paged = new Map<string, number>();
  private pendingFocus: TreeFocus | undefined;

  constructor(
    private readonly ctx: ViewContext,
    private readonly n: AttachedNode,
    focus?: TreeFocus,
  ) {
    this.pendingFocus = focus;
    this.panel = new Panel('supervision-tree', `Supervision tree · ${n.node}`, ctx.extensionUri, (m) => this.onMessage(m));
    liveRefresh(this.panel, ctx, () => this.load());
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

  private async onMessage(m: TreeToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
      case 'refresh':
        await this.load();
        if (this.pendingFocus) this.panel.post({ type: 'focus', focus: this.pendingFocus });
        this.pendingFocus = undefined;
        return;
      case 'openProcess':
        this.ctx.openDetail(this.n.node, m.pid);
        return;
      case 'page': {
        const page = await this.n.session.supervisorPage(m.supervisorPid, m.offset, 100);
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
        const page = await this.n.session.supervisorPage(pid, 0, Math.min(count, 5000));
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

// ---- Process table -------------------------------------------------------------------------

export class TableView {
  readonly panel: Panel<'process-table'>;
  private query: TableQuery = { sort: 'mailbox', offset: 0, limit: 200, filter: '' };

  constructor(
    private readonly ctx: ViewContext,
    private readonly n: AttachedNode,
    initial?: Partial<TableQuery>,
  ) {
    this.query = { ...this.query, ...initial };
    this.panel = new Panel('process-table', `Processes · ${n.node}`, ctx.extensionUri, (m) => this.onMessage(m));
    liveRefresh(this.panel, ctx, () => this.run(this.query));
  }

  private async onMessage(m: TableToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        await this.run(this.query);
        return;
      case 'query':
        await this.run(sanitizeQuery(m.query));
        return;
      case 'openProcess':
        this.ctx.openDetail(this.n.node, m.pid);
        return;
      case 'profile':
        await vscode.commands.executeCommand('beamLens.profileProcess', { node: this.n.node, pid: m.pid });
        return;
      default:
        assertNever(m);
    }
  }

  private async run(q: TableQuery): Promise<void> {
    this.query = q;
    try {
      const page =
        q.filter.trim() !== ''
          ? await filteredProcesses(this.n.session, { sort: q.sort, offset: q.offset, limit: q.limit }, q.filter.trim())
          : { ...(await this.n.session.processes({ sort: q.sort, offset: q.offset, limit: q.limit, windowMs: 500 })), matched: undefined };
      this.panel.post({
        type: 'page',
        node: this.n.node,
        page: { query: q, total: page.total, matched: page.matched ?? page.total, rows: page.rows, via: page.via, refreshedAt: Date.now() },
      });
    } catch (err) {
      this.panel.post({ type: 'error', message: `could not read processes of ${this.n.node}: ${errorText(err)}` });
    }
  }
}

// ---- Process detail ------------------------------------------------------------------------

export class DetailView {
  readonly panel: Panel<'process-detail'>;

  constructor(
    private readonly ctx: ViewContext,
    private readonly n: AttachedNode,
    readonly pid: string,
  ) {
    this.panel = new Panel('process-detail', `${pid} · ${n.node}`, ctx.extensionUri, (m) => this.onMessage(m));
    liveRefresh(this.panel, ctx, () => this.load());
  }

  private async onMessage(m: DetailToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
      case 'refresh':
        await this.load();
        return;
      case 'openProcess':
        this.ctx.openDetail(this.n.node, m.pid);
        return;
      case 'showInTree':
        this.ctx.openTree(this.n.node, { pid: m.pid });
        return;
      case 'traceMessages':
        await this.ctx.traceMessages(this.n.node, m.pid);
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

export class DashboardView {
  readonly panel: Panel<'dashboard'>;
  private readonly samples: DashboardSample[] = [];
  private previousIo: { at: number; input: number; output: number } | null = null;
  private paused = false;

  constructor(
    private readonly ctx: ViewContext,
    private readonly n: AttachedNode,
  ) {
    this.panel = new Panel('dashboard', `Dashboard · ${n.node}`, ctx.extensionUri, (m) => this.onMessage(m));
    liveRefresh(this.panel, ctx, () => (this.paused ? Promise.resolve() : this.sample()));
  }

  private async onMessage(m: DashboardToHost): Promise<void> {
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
        schedulerUtilization: o.schedulerUtilization ? { total: o.schedulerUtilization.total, perScheduler: o.schedulerUtilization.perScheduler } : null,
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
