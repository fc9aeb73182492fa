// The webviews of one node: at most one tree, table, dashboard and cluster view, and one detail per process.
// Owned by the node's scope (detach disposes them all); a view the user closes is forgotten.
import type { ProcessSort } from '../core/inspect/processes';
import type { TreeFocus } from '../protocol/webview';
import { Disposable } from './lifecycle';
import type { AttachedNode } from './node-scope';
import { ClusterPanel } from './cluster-view';
import { TableView } from './table-view';
import { DashboardView, DetailView, TreeView, type ViewContext, type ViewSpec } from './views';

export type AnyView = TreeView | TableView | DashboardView | DetailView | ClusterPanel;

export class NodePanels extends Disposable {
  private tree: TreeView | undefined;
  private table: TableView | undefined;
  private dashboard: DashboardView | undefined;
  private cluster: ClusterPanel | undefined;
  private readonly details = new Map<string, DetailView>();

  constructor(
    private readonly ctx: ViewContext,
    private readonly n: AttachedNode,
  ) {
    super();
  }

  /** Registers a view and forgets it when its panel is closed. */
  private adopt<V extends AnyView>(view: V, forget: () => void): V {
    this._register(view);
    view.panel.onDidDispose(() => {
      this._unregister(view);
      forget();
    });
    return view;
  }

  get count(): number {
    return [this.tree, this.table, this.dashboard, this.cluster].filter((v) => v !== undefined).length + this.details.size;
  }

  /**
   * The node is gone: hands over its open views (they stay open, say `text` and ask nothing) and
   * what each showed; this scope no longer owns them, so they outlive the node's scope.
   */
  release(text: string): Array<{ view: AnyView; spec: ViewSpec }> {
    const views: AnyView[] = [...(this.tree ? [this.tree] : []), ...(this.table ? [this.table] : []), ...(this.dashboard ? [this.dashboard] : []), ...(this.cluster ? [this.cluster] : []), ...this.details.values()];
    this.tree = this.table = this.dashboard = this.cluster = undefined;
    this.details.clear();
    return views.map((view) => {
      this._unregister(view);
      view.markGone(text);
      return { view, spec: view.spec() };
    });
  }

  /** Opens a view like one the node had before it was lost. */
  open(spec: ViewSpec): void {
    switch (spec.kind) {
      case 'tree':
        return this.openTree(undefined, spec.app);
      case 'table':
        return this.openTable({ ...(spec.filter !== undefined ? { filter: spec.filter } : {}), ...(spec.sort !== undefined ? { sort: spec.sort } : {}) });
      case 'dashboard':
        return this.openDashboard();
      case 'detail':
        return this.openDetail(spec.pid);
      case 'cluster':
        return this.openCluster();
    }
  }

  openTree(focus?: TreeFocus, app?: string): void {
    if (this.tree) {
      this.tree.reveal();
      if (app !== undefined) this.tree.showApp(app);
      if (focus) this.tree.focus(focus);
      return;
    }
    const view = new TreeView(this.ctx, this.n, focus, app);
    this.tree = this.adopt(view, () => (this.tree = undefined));
  }

  openTable(initial: { filter?: string; sort?: ProcessSort }): void {
    if (this.table) {
      this.table.reveal();
      this.table.requery(initial);
      return;
    }
    const view = new TableView(this.ctx, this.n, initial);
    this.table = this.adopt(view, () => (this.table = undefined));
  }

  openDetail(pid: string): void {
    const existing = this.details.get(pid);
    if (existing) return existing.reveal();
    const view = new DetailView(this.ctx, this.n, pid);
    this.details.set(pid, this.adopt(view, () => this.details.delete(pid)));
  }

  openCluster(): void {
    if (this.cluster) return this.cluster.reveal();
    const view = new ClusterPanel(this.ctx, this.n);
    this.cluster = this.adopt(view, () => (this.cluster = undefined));
  }

  openDashboard(): void {
    if (this.dashboard) return this.dashboard.reveal();
    const view = new DashboardView(this.ctx, this.n);
    this.dashboard = this.adopt(view, () => (this.dashboard = undefined));
  }
}
