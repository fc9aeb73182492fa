// The cluster webview's controller: the entry node's cluster overview (a tile per member) and the
// cluster-wide top processes with their node, both read through core (NodeCluster over core's
// ClusterView). A tile opens that member's views; a process row opens that process on its node.
// Owned by the entry node's panels (its scope): detach closes it; its live refresh runs only while
// it is visible and backs off to a multiple of the last overview's cost.
import { assertNever, type ClusterNodeView, type ClusterToHost, type ProcessSort } from '../protocol/webview';
import type { AttachedNode } from './nodes';
import { View, errorText, type ViewContext, type ViewSpec } from './views';

export class ClusterPanel extends View<'cluster'> {
  private sort: ProcessSort = 'memory';

  constructor(ctx: ViewContext, n: AttachedNode) {
    super(ctx, n, 'cluster', `Cluster · ${n.node}`);
    this.liveRefresh(() => this.loadAll());
  }

  spec(): ViewSpec {
    return { kind: 'cluster' };
  }

  protected override refreshDelay(): number {
    return Math.max(2 * this.ctx.refreshMs(), 5 * (this.n.cluster?.lastCostMs ?? 0));
  }

  protected async onMessage(m: ClusterToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        // A panel shown again reloads its page: show what is known at once, then ask again.
        if (this.n.cluster?.overview) this.panel.post({ type: 'cluster', overview: this.n.cluster.overview, at: this.n.cluster.overviewAt });
        await this.loadAll();
        return;
      case 'refresh':
        await this.loadAll();
        return;
      case 'openNode':
        await this.open(m.node, m.view);
        return;
      case 'processes':
        this.sort = m.sort;
        await this.loadProcesses();
        return;
      case 'openProcess':
        await this.ctx.openMember(this.n, m.node, { pid: m.pid });
        return;
      default:
        assertNever(m);
    }
  }

  private async open(node: string, view: ClusterNodeView): Promise<void> {
    const known = this.n.cluster?.overview?.nodes.some((r) => r.node === node) ?? false;
    if (!known) throw new Error(`${node} is not a member of ${this.n.node}'s cluster (as last read); refresh the cluster view`);
    await this.ctx.openMember(this.n, node, view);
  }

  private async loadAll(): Promise<void> {
    await this.loadOverview();
    await this.loadProcesses();
  }

  private async loadOverview(): Promise<void> {
    if (!this.n.cluster?.overview) this.panel.post({ type: 'progress', message: `Asking every member of ${this.n.node}'s cluster…` });
    try {
      const overview = await this.ctx.nodes.clusterOf(this.n).refreshOverview();
      this.ctx.nodes.refreshViews(this.n, 'cluster');
      this.panel.post({ type: 'cluster', overview, at: Date.now() });
    } catch (err) {
      this.panel.postError(`could not read the cluster of ${this.n.node}: ${errorText(err)}`);
    }
  }

  private async loadProcesses(): Promise<void> {
    const sort = this.sort;
    try {
      const page = await this.ctx.nodes.clusterOf(this.n).topProcesses(sort);
      if (sort === this.sort) this.panel.post({ type: 'processes', page, at: Date.now() });
    } catch (err) {
      this.panel.postError(`could not read the cluster's processes through ${this.n.node}: ${errorText(err)}`);
    }
  }
}
