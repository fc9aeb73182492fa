// The "BEAM" sidebar: node -> Overview, Applications (lazy supervision trees), Processes (top by
// memory / mailbox / reductions), Findings, Sessions. What to show and when to ask the node is in
// model/sidebar-data.ts; this maps items to VS Code tree items. Each node's periodic refresh (while
// the view is visible) is a timer owned by that node's scope.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { formatModule } from '../etf';
import { sessionsDir } from '../core/records/store';
import { budgetDelay } from '../core/facts/schedule';
import { RepeatingTimer } from './lifecycle';
import { SidebarData } from './model/sidebar-data';
import {
  SORT_LABELS,
  clusterDescription,
  overviewStats,
  processDescription,
  processLabel,
  restartHealth,
  treeChildren,
  treeDescription,
  treeLabel,
  type SidebarItem,
} from './model/sidebar';
import { SIDEBAR_UTILIZATION_MS, type AttachedNode, type NodeManager } from './nodes';

export class Sidebar implements vscode.TreeDataProvider<SidebarItem>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<SidebarItem | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [];
  readonly data: SidebarData;
  private view: vscode.TreeView<SidebarItem> | undefined;

  constructor(
    private readonly nodes: NodeManager,
    private readonly workspaceDir: () => string | undefined,
    private readonly refreshMs: () => number,
  ) {
    this.data = new SidebarData(nodes, refreshMs, (node) => this.sessions(node));
    this.disposables.push(this.data, this.data.onDidChange((item) => this.emitter.fire(item)));
  }

  /** The tree view showing this provider: expansion is tracked so only open sections are kept fresh. */
  attachView(view: vscode.TreeView<SidebarItem>): void {
    this.view = view;
    this.disposables.push(
      view.onDidExpandElement((e) => this.data.setExpanded(e.element, true)),
      view.onDidCollapseElement((e) => this.data.setExpanded(e.element, false)),
    );
  }

  /** Starts the node's periodic refresh, owned by its scope (detach stops it). */
  watch(n: AttachedNode): void {
    // Every 2 x the refresh interval while visible, or 200x what the last refresh cost beyond its
    // utilization window (core's 0.5% budget): on a large node the trees' ranking is not free.
    let cost = 0;
    const tick = async (): Promise<void> => {
      if (!this.view?.visible) return;
      const t0 = Date.now();
      await this.data.refreshNode(n);
      cost = Date.now() - t0 - SIDEBAR_UTILIZATION_MS;
    };
    n.own(new RepeatingTimer(tick, () => budgetDelay(cost, this.refreshMs() * 2)));
  }

  /** Refreshes every node now (the view's Refresh button). */
  async refreshAll(): Promise<void> {
    await Promise.all(this.nodes.list().map((n) => this.data.refreshNode(n)));
  }

  getTreeItem(item: SidebarItem): vscode.TreeItem {
    const collapsed = vscode.TreeItemCollapsibleState.Collapsed;
    const none = vscode.TreeItemCollapsibleState.None;
    switch (item.kind) {
      case 'node': {
        const t = new vscode.TreeItem(item.node, vscode.TreeItemCollapsibleState.Expanded);
        t.description = item.env + (item.through !== undefined ? ` · through ${item.through}` : '') + (item.error ? ` · ${item.error}` : '');
        const via = item.through !== undefined ? `, a member of ${item.through}'s cluster reached through it (read-only; attach to it directly to trace it)` : '';
        t.tooltip = item.error ? `${item.node}: ${item.error}` : `${item.node} (${item.env}${via})`;
        t.iconPath = new vscode.ThemeIcon('server-environment', item.env === 'production' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined);
        t.contextValue = 'beamNode';
        // A member reached through an entry and the same node attached by itself are different items.
        t.id = item.through !== undefined ? `node:${item.node}:through:${item.through}` : `node:${item.node}`;
        return t;
      }
      case 'lostNode': {
        const t = new vscode.TreeItem(item.node, vscode.TreeItemCollapsibleState.None);
        t.description = `lost · ${item.reason}`;
        t.tooltip = `${item.node} (${item.env}): the connection was lost at ${new Date(item.at).toLocaleTimeString()} (${item.reason}). Reattach uses its saved connection (cookie, TLS) and reopens its views.`;
        t.iconPath = new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('errorForeground'));
        t.contextValue = 'beamLostNode';
        t.id = `lost:${item.node}`;
        t.command = { command: 'beamLens.reattach', title: 'Reattach', arguments: [{ node: item.node }] };
        return t;
      }
      case 'section': {
        const labels = { overview: 'Overview', cluster: 'Cluster', applications: 'Applications', processes: 'Processes', findings: 'Findings', sessions: 'Sessions' } as const;
        const icons = { overview: 'dashboard', cluster: 'server', applications: 'type-hierarchy', processes: 'list-ordered', findings: 'lightbulb', sessions: 'history' } as const;
        const t = new vscode.TreeItem(labels[item.section], item.section === 'applications' || item.section === 'overview' ? vscode.TreeItemCollapsibleState.Expanded : collapsed);
        t.iconPath = new vscode.ThemeIcon(icons[item.section]);
        t.id = `${item.node}:${item.section}`;
        if (item.section === 'overview') t.command = { command: 'beamLens.showDashboard', title: 'Dashboard', arguments: [{ node: item.node }] };
        if (item.section === 'cluster') {
          const n = this.nodes.get(item.node);
          t.description = clusterDescription(n?.cluster?.overview ?? null, n?.members ?? []);
          t.tooltip = 'The cluster of this node, read through its own distribution (nothing is opened to the members). Click for the cluster view.';
          t.contextValue = 'beamCluster';
          t.command = { command: 'beamLens.showCluster', title: 'Show Cluster', arguments: [{ node: item.node }] };
        }
        return t;
      }
      case 'stat': {
        const t = new vscode.TreeItem(item.label, none);
        t.description = item.value;
        if (item.warn) t.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('editorWarning.foreground'));
        return t;
      }
      case 'app': {
        const t = new vscode.TreeItem(item.app.name, item.app.supervisor ? collapsed : none);
        t.description = item.app.version;
        t.tooltip = item.app.description;
        t.iconPath = new vscode.ThemeIcon('package');
        t.id = `${item.node}:app:${item.app.name}`;
        if (item.app.supervisor) t.contextValue = 'beamApp';
        return t;
      }
      case 'tree': {
        const tree = item.tree;
        const isSup = tree.type === 'supervisor';
        const t = new vscode.TreeItem(treeLabel(tree), isSup && tree.children.length > 0 ? collapsed : none);
        t.description = treeDescription(tree);
        const health = restartHealth(tree);
        t.iconPath = new vscode.ThemeIcon(
          isSup ? 'organization' : 'symbol-event',
          health === 'error' ? new vscode.ThemeColor('errorForeground') : health === 'warning' ? new vscode.ThemeColor('editorWarning.foreground') : undefined,
        );
        t.contextValue = tree.pid ? (isSup ? 'beamSupervisor' : 'beamProcess') : undefined;
        t.tooltip = [treeLabel(tree), tree.pid ?? '', tree.module ? `module ${formatModule(tree.module)}` : '', tree.id ? `id ${tree.id}` : ''].filter(Boolean).join('\n');
        if (tree.pid) t.command = { command: 'beamLens.showProcess', title: 'Show process', arguments: [{ node: item.node, pid: tree.pid }] };
        return t;
      }
      case 'more':
      case 'message': {
        const t = new vscode.TreeItem(item.label, none);
        t.iconPath = new vscode.ThemeIcon(item.kind === 'more' ? 'ellipsis' : 'info');
        return t;
      }
      case 'processSort': {
        const t = new vscode.TreeItem(SORT_LABELS[item.sort], collapsed);
        t.id = `${item.node}:sort:${item.sort}`;
        return t;
      }
      case 'process': {
        const t = new vscode.TreeItem(processLabel(item.row, item.module), none);
        t.description = processDescription(item.row, item.sort);
        t.tooltip = `${item.row.pid}\ninitial call ${item.row.initialCall ?? '?'}\ncurrent ${item.row.currentFunction ?? '?'}`;
        t.contextValue = 'beamProcess';
        t.iconPath = new vscode.ThemeIcon('symbol-event');
        t.command = { command: 'beamLens.showProcess', title: 'Show process', arguments: [{ node: item.node, pid: item.row.pid }] };
        return t;
      }
      case 'finding': {
        const f = item.finding;
        const t = new vscode.TreeItem(f.title, none);
        t.description = f.rule;
        t.tooltip = `${f.evidence.join('\n')}\n\n${f.recommendation}`;
        t.iconPath = new vscode.ThemeIcon(f.severity === 'info' ? 'info' : 'warning', f.severity === 'critical' ? new vscode.ThemeColor('errorForeground') : undefined);
        t.command = { command: 'beamLens.showFinding', title: 'Show finding', arguments: [{ node: item.node, findingId: f.id }] };
        return t;
      }
      case 'member': {
        const t = new vscode.TreeItem(item.member, none);
        t.description = item.description;
        t.tooltip = item.tooltip;
        const color = item.health === 'down' ? new vscode.ThemeColor('disabledForeground') : item.health === 'warning' ? new vscode.ThemeColor('editorWarning.foreground') : new vscode.ThemeColor('testing.iconPassed');
        t.iconPath = new vscode.ThemeIcon(item.health === 'down' ? 'debug-disconnect' : 'vm', color);
        t.id = `${item.node}:member:${item.member}`;
        t.contextValue = 'beamClusterMember';
        if (item.health !== 'down') t.command = { command: 'beamLens.openClusterMember', title: 'Open member', arguments: [{ node: item.node, member: item.member }] };
        return t;
      }
      case 'clusterFinding': {
        const f = item.finding;
        const t = new vscode.TreeItem(f.title, none);
        const inFindings = item.in === 'findings';
        // In the Findings section it is marked as the cluster's (not this node's own) and opens the cluster report at it.
        t.description = inFindings ? `cluster · ${f.nodes.join(', ')}` : f.nodes.join(', ');
        t.tooltip = `${inFindings ? `A cluster finding (${f.rule}), seen across the members of ${item.node}'s cluster. Click for the cluster report.\n\n` : ''}${f.evidence.join('\n')}\n\n${f.recommendation}`;
        t.iconPath = new vscode.ThemeIcon(inFindings ? 'server' : f.severity === 'info' ? 'info' : 'warning', f.severity === 'critical' ? new vscode.ThemeColor('errorForeground') : new vscode.ThemeColor('editorWarning.foreground'));
        t.id = `${item.node}:${inFindings ? 'findings:' : ''}clusterFinding:${f.id}`;
        t.contextValue = 'beamClusterFinding';
        t.command = inFindings
          ? { command: 'beamLens.clusterReport', title: 'Cluster Report', arguments: [{ node: item.node, findingId: f.id }] }
          : { command: 'beamLens.showCluster', title: 'Show Cluster', arguments: [{ node: item.node }] };
        return t;
      }
      case 'session': {
        const t = new vscode.TreeItem(item.label, none);
        t.description = item.description;
        t.iconPath = new vscode.ThemeIcon('file');
        t.command = { command: 'vscode.open', title: 'Open', arguments: [vscode.Uri.file(item.file)] };
        // A profile session also opens as a flame graph (inline action, BEAM: Open Saved Profile…).
        if (/-profile-[0-9a-f]+\.json$/.test(item.file)) t.contextValue = 'beamProfileSession';
        return t;
      }
    }
  }

  getChildren(item?: SidebarItem): Promise<SidebarItem[]> {
    return this.data.children(item);
  }

  private sessions(node: string): SidebarItem[] {
    const dir = this.workspaceDir();
    if (!dir) return [{ kind: 'message', node, label: 'Open a folder to keep sessions' }];
    let names: string[] = [];
    try {
      names = readdirSync(sessionsDir(dir)).filter((f) => f.endsWith('.json') || f.endsWith('.beamtrace'));
    } catch {
      // no sessions yet
    }
    if (names.length === 0) return [{ kind: 'message', node, label: 'No saved sessions yet' }];
    return names
      .sort()
      .reverse()
      .slice(0, 30)
      .map((name) => {
        const m = /^(\d{8}T\d{6}Z)-([a-z-]+)-/.exec(name);
        return { kind: 'session', node, file: path.join(sessionsDir(dir), name), label: m ? `${m[2]}` : name, description: m ? `${m[1]}${name.endsWith('.beamtrace') ? ' · trace log' : ''}` : '' };
      });
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    this.emitter.dispose();
  }
}
