// The "BEAM" sidebar: node -> Overview, Applications (lazy supervision trees), Processes (top by
// memory / mailbox / reductions), Findings, Sessions. Refreshed on an interval while visible.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { formatModule } from '../etf';
import { sessionsDir } from '../core/records/store';
import {
  SORT_LABELS,
  findingItems,
  overviewStats,
  processDescription,
  processLabel,
  restartHealth,
  treeChildren,
  treeDescription,
  treeLabel,
  type SidebarItem,
} from './model/sidebar';
import type { NodeManager } from './nodes';

export class Sidebar implements vscode.TreeDataProvider<SidebarItem>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<SidebarItem | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly nodes: NodeManager,
    private readonly workspaceDir: () => string | undefined,
  ) {
    this.disposables.push(nodes.onDidChange(() => this.emitter.fire(undefined)));
  }

  refresh(): void {
    this.emitter.fire(undefined);
  }

  getTreeItem(item: SidebarItem): vscode.TreeItem {
    const collapsed = vscode.TreeItemCollapsibleState.Collapsed;
    const none = vscode.TreeItemCollapsibleState.None;
    switch (item.kind) {
      case 'node': {
        const t = new vscode.TreeItem(item.node, vscode.TreeItemCollapsibleState.Expanded);
        t.description = item.env + (item.error ? ` · ${item.error}` : '');
        t.iconPath = new vscode.ThemeIcon('server-environment', item.env === 'production' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined);
        t.contextValue = 'beamNode';
        t.id = `node:${item.node}`;
        return t;
      }
      case 'section': {
        const labels = { overview: 'Overview', applications: 'Applications', processes: 'Processes', findings: 'Findings', sessions: 'Sessions' } as const;
        const icons = { overview: 'dashboard', applications: 'type-hierarchy', processes: 'list-ordered', findings: 'lightbulb', sessions: 'history' } as const;
        const t = new vscode.TreeItem(labels[item.section], item.section === 'applications' || item.section === 'overview' ? vscode.TreeItemCollapsibleState.Expanded : collapsed);
        t.iconPath = new vscode.ThemeIcon(icons[item.section]);
        t.id = `${item.node}:${item.section}`;
        if (item.section === 'overview') t.command = { command: 'beamLens.showDashboard', title: 'Dashboard', arguments: [{ node: item.node }] };
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
        const t = new vscode.TreeItem(processLabel(item.row), none);
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
      case 'session': {
        const t = new vscode.TreeItem(item.label, none);
        t.description = item.description;
        t.iconPath = new vscode.ThemeIcon('file');
        t.command = { command: 'vscode.open', title: 'Open', arguments: [vscode.Uri.file(item.file)] };
        return t;
      }
    }
  }

  async getChildren(item?: SidebarItem): Promise<SidebarItem[]> {
    if (!item) return this.nodes.list().map((n) => ({ kind: 'node', node: n.node, env: n.env, ...(n.lastError ? { error: n.lastError } : {}) }));
    const n = this.nodes.get(item.node);
    if (!n) return [];
    switch (item.kind) {
      case 'node':
        if (n.overview === null) await this.nodes.refresh(n);
        return (['overview', 'applications', 'processes', 'findings', 'sessions'] as const).map((section) => ({ kind: 'section', node: n.node, section }));
      case 'section':
        switch (item.section) {
          case 'overview':
            return n.overview ? overviewStats(n.node, n.overview) : [{ kind: 'message', node: n.node, label: n.lastError ?? 'loading…' }];
          case 'applications':
            return (n.trees ?? []).map((app) => ({ kind: 'app', node: n.node, app }));
          case 'processes':
            return (['memory', 'mailbox', 'reductions'] as const).map((sort) => ({ kind: 'processSort', node: n.node, sort }));
          case 'findings':
            return findingItems(n.node, n.diagnosis?.findings ?? null, n.facts?.findings ?? null);
          case 'sessions':
            return this.sessions(n.node);
        }
        return [];
      case 'app':
        return item.app.supervisor ? [{ kind: 'tree', node: n.node, app: item.app.name, tree: item.app.supervisor }] : [];
      case 'tree':
        return treeChildren(n.node, item.app, item.tree);
      case 'processSort': {
        await this.nodes.refresh(n, { sorts: [item.sort] });
        const page = n.processes.get(item.sort);
        return (page?.rows ?? []).map((row) => ({ kind: 'process', node: n.node, row, sort: item.sort }));
      }
      default:
        return [];
    }
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
