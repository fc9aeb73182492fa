// VS Code entry point: the composition root. Owns the node manager, the sidebar, the status bar,
// the webview panels, the language client and their timers; everything is disposed through the
// extension context, and deactivate() detaches from every node (undoing what we set).
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { nextFactsDelay, startFactsLoop } from '../core/facts/schedule';
import { listNodes } from '../erldist';
import { LspMethods } from '../protocol/lsp';
import type { TreeFocus } from '../protocol/webview';
import { pickNode, registerCommand, registerCommands } from './commands';
import { profileLspOf, registerProfiler } from './profile-view';
import { registerLanguageModelTools } from './lm-tools';
import { createLog } from './log';
import { NodeManager } from './nodes';
import { Sidebar } from './sidebar';
import { StatusBar } from './status-bar';
import { ReportView } from './report-view';
import { DashboardView, DetailView, TableView, TreeView, type ViewContext } from './views';

let manager: NodeManager | null = null;
let client: LanguageClient | null = null;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const workspaceDir = (): string | undefined => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('beamLens');
  const log = createLog(workspaceDir());
  const nodes = new NodeManager(log);
  manager = nodes;
  context.subscriptions.push(log, nodes);

  // ---- webviews: one per kind and node (one per process for details) ----
  const panels = new Map<string, TreeView | TableView | DetailView | DashboardView | ReportView>();
  const track = <V extends TreeView | TableView | DetailView | DashboardView | ReportView>(key: string, view: V): V => {
    panels.set(key, view);
    view.panel.onDidDispose(() => panels.delete(key));
    context.subscriptions.push(view.panel);
    return view;
  };
  const views: ViewContext = {
    extensionUri: context.extensionUri,
    nodes,
    log,
    refreshMs: () => Math.max(1, config().get<number>('refreshIntervalSeconds', 5)) * 1000,
    openDetail: (node, pid) => {
      const n = nodes.get(node);
      if (!n) return;
      const existing = panels.get(`detail:${node}:${pid}`);
      if (existing) existing.panel.reveal();
      else track(`detail:${node}:${pid}`, new DetailView(views, n, pid));
    },
    openTree: (node, focus) => {
      const n = nodes.get(node);
      if (!n) return;
      const existing = panels.get(`tree:${node}`) as TreeView | undefined;
      if (existing) {
        existing.panel.reveal();
        if (focus) existing.focus(focus);
      } else track(`tree:${node}`, new TreeView(views, n, focus));
    },
    traceMessages: async (node, pid) => {
      await vscode.commands.executeCommand('beamLens.traceMessages', { node, pid });
    },
  };
  // Panels of a node close when it is detached.
  context.subscriptions.push(
    nodes.onDidChange(() => {
      for (const [key, view] of panels) {
        const node = key.split(':')[1] ?? '';
        if (!nodes.get(node)) view.panel.dispose();
      }
    }),
  );

  const focusOf = (arg: unknown): TreeFocus | undefined => {
    if (typeof arg !== 'object' || arg === null) return undefined;
    const a = arg as { pid?: unknown; name?: unknown; module?: unknown };
    const f: TreeFocus = {};
    if (typeof a.pid === 'string') f.pid = a.pid;
    if (typeof a.name === 'string') f.name = a.name;
    if (typeof a.module === 'string') f.module = a.module;
    return Object.keys(f).length > 0 ? f : undefined;
  };
  const reportFor = (node: string, findingId?: string): ReportView | undefined => {
    const n = nodes.get(node);
    if (!n) return undefined;
    const existing = panels.get(`report:${node}`) as ReportView | undefined;
    if (existing) {
      if (findingId) existing.showFinding(findingId);
      else existing.panel.reveal();
      return existing;
    }
    const durationMs = config().get<number>('report.durationSeconds', 10) * 1000;
    return track(`report:${node}`, new ReportView(views, n, { durationMs, trace: config().get<boolean>('report.allowTrace', false) }, findingId));
  };
  const cmd = (id: string, f: (arg?: unknown) => unknown): void => {
    context.subscriptions.push(registerCommand(log, id, f));
  };
  cmd('beamLens.showSupervisionTree', async (arg) => {
    const n = await pickNode(nodes, arg);
    if (n) views.openTree(n.node, focusOf(arg));
  });
  cmd('beamLens.showProcesses', async (arg) => {
    const n = await pickNode(nodes, arg);
    if (!n) return;
    const module = typeof arg === 'object' && arg !== null && typeof (arg as { module?: unknown }).module === 'string' ? (arg as { module: string }).module : undefined;
    const sort = typeof arg === 'object' && arg !== null && typeof (arg as { sort?: unknown }).sort === 'string' ? ((arg as { sort: 'memory' }).sort) : undefined;
    const key = `table:${n.node}`;
    panels.get(key)?.panel.dispose();
    track(key, new TableView(views, n, { ...(module ? { filter: module } : {}), ...(sort ? { sort } : {}) }));
  });
  cmd('beamLens.showProcessesByMailbox', async (arg) => vscode.commands.executeCommand('beamLens.showProcesses', { ...(typeof arg === 'object' && arg ? arg : {}), sort: 'mailbox' }));
  cmd('beamLens.showProcess', async (arg) => {
    const n = await pickNode(nodes, arg);
    if (!n) return;
    const pid =
      typeof arg === 'object' && arg !== null && typeof (arg as { pid?: unknown }).pid === 'string'
        ? (arg as { pid: string }).pid
        : await vscode.window.showInputBox({ title: `Show process on ${n.node}`, prompt: 'pid (<0.123.0>) or registered name', ignoreFocusOut: true });
    if (pid) views.openDetail(n.node, pid.trim());
  });
  cmd('beamLens.showDashboard', async (arg) => {
    const n = await pickNode(nodes, arg);
    if (!n) return;
    const existing = panels.get(`dashboard:${n.node}`);
    if (existing) existing.panel.reveal();
    else track(`dashboard:${n.node}`, new DashboardView(views, n));
  });
  cmd('beamLens.generateReport', async (arg) => {
    const n = await pickNode(nodes, arg);
    if (!n) return;
    const existing = panels.get(`report:${n.node}`) as ReportView | undefined;
    if (existing) {
      existing.panel.reveal();
      await existing.generate();
    } else reportFor(n.node);
  });
  cmd('beamLens.showFinding', async (arg) => {
    const a = (arg ?? {}) as { node?: unknown; findingId?: unknown };
    const n = await pickNode(nodes, arg);
    if (n) reportFor(n.node, typeof a.findingId === 'string' ? a.findingId : undefined);
  });
  cmd('beamLens.showHotFunctions', async (arg) => {
    const n = await pickNode(nodes, arg);
    if (!n) return;
    if (!n.hot) {
      await vscode.commands.executeCommand('beamLens.startHotFunctions', { node: n.node });
      return;
    }
    const picks = n.hot.functions.map((f) => ({ label: `${f.module}:${f.function}/${f.arity}`, description: `${Math.round(f.share * 100)}% · ${Math.round(f.callsPerSec).toLocaleString('en-US')}/s` }));
    await vscode.window.showQuickPick(picks, { title: `Hot functions on ${n.node}` });
  });
  cmd('beamLens.listLocalNodes', async () => {
    const found = await listNodes('localhost', { timeoutMs: 3000 });
    if (found.length === 0) return void vscode.window.showInformationMessage('No Erlang nodes are registered in EPMD on this machine.');
    await vscode.window.showQuickPick(found.map((x) => ({ label: x.name, description: `port ${x.port}` })), { title: 'Nodes registered in EPMD on this machine' });
  });
  context.subscriptions.push(...registerCommands({ context, nodes, log, workspaceDir, config }));
  context.subscriptions.push(...registerProfiler({ context, nodes, log, workspaceDir, config }, () => profileLspOf(client)));
  // The MCP tools as language-model tools, on the nodes attached here (src/extension/lm-tools.ts).
  context.subscriptions.push(registerLanguageModelTools({ sessions: () => nodes.list().map((n) => n.session), cwd: () => workspaceDir() ?? context.globalStorageUri.fsPath }));

  // ---- sidebar, refreshed while visible ----
  const sidebar = new Sidebar(nodes, workspaceDir);
  const treeView = vscode.window.createTreeView('beamLens.nodes', { treeDataProvider: sidebar, showCollapseAll: true });
  context.subscriptions.push(sidebar, treeView);
  let sidebarTimer: NodeJS.Timeout | null = null;
  // A refresh walks the trees (one which_children per supervisor, children ranked by memory): on a
  // large node it waits 200x what the last one took (our wall time undercounts the node's parallel
  // work: measured 0.5-1.0% of a scheduler at 100x), never less than twice the setting.
  let sidebarCostMs = 0;
  const scheduleSidebar = (): void => {
    sidebarTimer = setTimeout(() => {
      void (async () => {
        if (treeView.visible) {
          const t0 = Date.now();
          await Promise.all(nodes.list().map((n) => nodes.refresh(n)));
          // Less the 200 ms utilization window nodes.refresh waits through (idle time on the node).
          sidebarCostMs = Math.max(0, Date.now() - t0 - 200);
        }
        scheduleSidebar();
      })();
    }, nextFactsDelay(sidebarCostMs, 0, { baseMs: views.refreshMs() * 2, budget: 0.005, maxAgeMs: 0 }));
  };
  scheduleSidebar();
  context.subscriptions.push({ dispose: () => sidebarTimer && clearTimeout(sidebarTimer) });
  const updateContext = (): void => void vscode.commands.executeCommand('setContext', 'beamLens.attached', nodes.list().length > 0);
  context.subscriptions.push(nodes.onDidChange(updateContext));
  updateContext();

  context.subscriptions.push(new StatusBar(nodes));

  // ---- facts for the language server, on the shared schedule (core/facts-loop.ts: ~1% of a scheduler, backoff) ----
  const factsTimers = new Map<string, { stop(): void }>();
  const factsLoop = (node: string): void => {
    const n = nodes.get(node);
    if (!n || factsTimers.has(node)) return;
    factsTimers.set(
      node,
      startFactsLoop(
        async (signal) => {
          if (nodes.get(node) !== n) return void factsTimers.get(node)?.stop();
          await nodes.collectFacts(n, signal, true);
          return n.collector.lastNodeCostMs;
        },
        { baseMs: config().get<number>('factsIntervalSeconds', 10) * 1000 },
      ),
    );
  };
  context.subscriptions.push(
    nodes.onDidChange(() => {
      for (const n of nodes.list()) factsLoop(n.node);
      for (const [node, loop] of factsTimers) {
        if (!nodes.get(node)) {
          loop.stop();
          factsTimers.delete(node);
        }
      }
    }),
    { dispose: () => factsTimers.forEach((t) => t.stop()) },
  );

  // ---- language client ----
  if (config().get<boolean>('languageServer.enabled', true)) {
    const module = vscode.Uri.joinPath(context.extensionUri, 'dist', 'server.js').fsPath;
    const serverOptions: ServerOptions = { run: { module, transport: TransportKind.ipc }, debug: { module, transport: TransportKind.ipc } };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file', language: 'elixir' }, { scheme: 'file', pattern: '**/*.{ex,exs}' }],
      outputChannelName: 'BEAM Lens Language Server',
    };
    client = new LanguageClient('beamLens', 'BEAM Lens Language Server', serverOptions, clientOptions);
    const lc = client;
    context.subscriptions.push(
      nodes.onFacts(({ node, facts }) => {
        if (lc.isRunning()) void (facts ? lc.sendNotification(LspMethods.facts, facts) : lc.sendNotification(LspMethods.clearFacts, { node }));
      }),
    );
    try {
      await lc.start();
      log.info('language server started');
    } catch (err) {
      log.error(`language server did not start: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

export async function deactivate(): Promise<void> {
  const c = client;
  client = null;
  await Promise.allSettled([c?.stop(), manager?.detachAll()]);
  manager = null;
}
