// VS Code entry point: the composition root. One owner, BeamLens, holds the node manager, the
// sidebar, the status bar, the report panels and the language client. Each attached node has its
// scope (node-scope.ts) owning that node's panels, refresh timers, facts feed and sessions.
// deactivate() awaits BeamLens.shutdown(): every node detached (target cleaned up) first, then
// everything disposed in order.
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { attach } from '../core/attach';
import { LspMethods } from '../protocol/lsp';
import { startFactsLoop } from '../core/facts/schedule';
import { registerCommands, type CommandContext } from './commands';
import { Disposable } from './lifecycle';
import { reopenPlan } from './model/attach-advice';
import { registerLanguageModelTools } from './lm-tools';
import { profileLspOf } from './flame-view';
import { registerProfiler } from './profile-view';
import { createLog, type Log } from './log';
import { NodePanels, type AnyView } from './node-panels';
import { NodeManager, type AttachedNode } from './nodes';
import { TelemetryView } from './telemetry-view';
import { ReportView } from './report-view';
import { Sidebar } from './sidebar';
import { StatusBar } from './status-bar';
import type { ViewContext, ViewSpec } from './views';
import type { ClusterNodeView } from '../protocol/webview';

const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('beamLens');
const workspaceDir = (): string | undefined => vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
const refreshMs = (): number => Math.max(1, config().get<number>('refreshIntervalSeconds', 5)) * 1000;

/** The language server shows runtime facts in Elixir/Erlang sources: worth collecting only while one is visible. */
function factsWanted(): boolean {
  if (!config().get<boolean>('languageServer.enabled', true)) return false;
  return vscode.window.visibleTextEditors.some((e) => ['elixir', 'erlang'].includes(e.document.languageId) || /\.(ex|exs|erl|hrl)$/.test(e.document.fileName));
}

export class BeamLens extends Disposable {
  readonly log: Log;
  readonly nodes: NodeManager;
  private readonly panels = new WeakMap<AttachedNode, NodePanels>();
  private readonly reports = new Map<AttachedNode, ReportView>();
  /** Cluster reports, one per entry node (beside its own report). */
  private readonly clusterReports = new Map<AttachedNode, ReportView>();
  /** Open views of lost nodes (they say the node is gone), to reopen on reattach. */
  private readonly stale = new Map<string, { at: number; views: Array<{ view: AnyView; spec: ViewSpec }> }>();
  private readonly views: ViewContext;
  private readonly sidebar: Sidebar;
  private client: LanguageClient | null = null;
  private shuttingDown: Promise<void> | null = null;

  constructor(private readonly context: vscode.ExtensionContext) {
    super();
    this.log = this._register(createLog(workspaceDir()));
    this.nodes = new NodeManager({
      attach: (t) =>
        attach({
          node: t.node,
          cookie: t.cookie,
          env: t.env,
          ...(t.host ? { host: t.host } : {}),
          ...(t.port ? { port: t.port } : {}),
          ...(t.tls ? { tls: t.tls } : {}),
          // Risks that do not stop the attach (TLS not checked, a key or cookie file others can read): shown, not only logged.
          warn: (m) => {
            this.log.warn(m);
            void vscode.window.showWarningMessage(`BEAM Lens (${t.node}): ${m}`);
          },
        }),
      info: (m) => this.log.info(m),
      warn: (m) => this.log.warn(m),
      lost: (node, reason) => this.onLost(node, reason),
    });
    // Views of lost nodes stay open (saying so) until reattached or forgotten.
    this._register(this.nodes.onDidChange((c) => c === undefined && this.dropStaleViews()));
    this._register({ dispose: () => this.dropStaleViews(true) });
    this.views = {
      extensionUri: context.extensionUri,
      nodes: this.nodes,
      log: this.log,
      refreshMs,
      openDetail: (n, pid) => this.panelsOf(n).openDetail(pid),
      openTree: (n, focus) => this.panelsOf(n).openTree(focus),
      traceMessages: async (n, pid) => {
        await vscode.commands.executeCommand('beamLens.traceMessages', { node: n.node, pid });
      },
      openMember: (entry, member, view) => this.openMember(entry, member, view),
    };
    // A report outlives its node (it is evidence): marked, kept, still savable.
    this._register(
      this.nodes.onDidDetach((o) => {
        for (const reports of [this.reports, this.clusterReports]) {
          for (const [n, report] of reports) {
            if (n.node !== o.node || !n.isClosed) continue;
            report.markNodeGone();
            reports.delete(n);
          }
        }
      }),
    );

    this.sidebar = this._register(new Sidebar(this.nodes, workspaceDir, refreshMs));
    const treeView = this._register(vscode.window.createTreeView('beamLens.nodes', { treeDataProvider: this.sidebar, showCollapseAll: true }));
    this.sidebar.attachView(treeView);
    const updateContext = (): void => void vscode.commands.executeCommand('setContext', 'beamLens.attached', this.nodes.list().length > 0);
    this._register(this.nodes.onDidChange((c) => c === undefined && updateContext()));
    updateContext();
    this._register(new StatusBar(this.nodes));

    // The profiler's commands and flame-graph panels (profile-view.ts); saved profiles open there too.
    const profiler = registerProfiler({ context, nodes: this.nodes, log: this.log, workspaceDir, config }, () => profileLspOf(this.client));
    for (const d of profiler.disposables) this._register(d);
    const commands: CommandContext = {
      context,
      nodes: this.nodes,
      log: this.log,
      config,
      workspaceDir,
      attached: (n) => this.onAttached(n),
      refreshSidebar: () => this.sidebar.refreshAll(),
      panels: {
        tree: (n, focus, app) => this.panelsOf(n).openTree(focus, app),
        table: (n, initial) => this.panelsOf(n).openTable(initial),
        detail: (n, pid) => this.panelsOf(n).openDetail(pid),
        dashboard: (n) => this.panelsOf(n).openDashboard(),
        cluster: (n) => this.panelsOf(n).openCluster(),
        member: (entry, member, view) => this.openMember(entry, member, view),
        report: (n, o) => this.report(n, o),
        telemetry: (n) => new TelemetryView(this.views, { log: this.log, config, workspaceDir }, n).show(),
        savedProfile: (saved) => profiler.openSaved(saved),
      },
    };
    for (const d of registerCommands(commands)) this._register(d);
    // The MCP tools as language-model tools.
    this._register(registerLanguageModelTools({ sessions: () => this.nodes.list().map((n) => n.session), cwd: () => workspaceDir() ?? context.globalStorageUri.fsPath }));
  }

  /** The node's panels, owned by its scope. */
  private panelsOf(n: AttachedNode): NodePanels {
    let p = this.panels.get(n);
    if (!p || p.isDisposed) {
      p = n.own(new NodePanels(this.views, n));
      this.panels.set(n, p);
    }
    return p;
  }

  /**
   * A view of one member of `entry`'s cluster: the entry itself, a node attached by itself, or a
   * member reached through the entry (opened as a node of its own, owned by the entry's scope).
   */
  private async openMember(entry: AttachedNode, member: string, view: ClusterNodeView | { pid: string }): Promise<void> {
    let n = entry;
    if (member !== entry.node) {
      const opened = this.nodes.openMember(entry, member);
      n = opened.node;
      if (opened.opened) await this.onAttached(n, false);
    }
    const panels = this.panelsOf(n);
    if (typeof view !== 'string') return panels.openDetail(view.pid);
    switch (view) {
      case 'overview':
        return panels.openDashboard();
      case 'processes':
        return panels.openTable({ sort: 'memory' });
      case 'tree':
        return panels.openTree();
    }
  }

  private async report(n: AttachedNode, o: { findingId?: string; regenerate?: boolean; cluster?: boolean }): Promise<void> {
    const reports = o.cluster === true ? this.clusterReports : this.reports;
    const existing = reports.get(n);
    if (existing) {
      if (o.findingId) existing.showFinding(o.findingId);
      else existing.panel.reveal();
      if (o.regenerate) await existing.generate();
      return;
    }
    const durationMs = config().get<number>('report.durationSeconds', 10) * 1000;
    const options = o.cluster === true ? { durationMs, trace: false, cluster: true } : { durationMs, trace: config().get<boolean>('report.allowTrace', false), trends: config().get<boolean>('report.trends', false) };
    const view = new ReportView(this.views, n, options, o.findingId);
    reports.set(n, view);
    // Owned by BeamLens, not by the node: it stays when the node goes.
    this._register(view.panel);
    view.panel.onDidDispose(() => {
      if (reports.get(n) === view) reports.delete(n);
    });
  }

  /**
   * The connection to a node was lost (it went down, the network failed): its open views stay,
   * saying the node is gone; the sidebar lists it with Reattach; the notification offers it too.
   */
  private onLost(node: string, reason: string): void {
    const n = this.nodes.get(node);
    const p = n ? this.panels.get(n) : undefined;
    const released = p && !p.isDisposed ? p.release(`${node} is gone: ${reason}. Nothing here is live any more; Reattach from the BEAM sidebar reopens this view.`) : [];
    this.disposeStale(node);
    if (released.length > 0) this.stale.set(node, { at: Date.now(), views: released });
    void vscode.window.showWarningMessage(`BEAM Lens: lost the connection to ${node} (${reason}).`, 'Reattach').then((pick) => {
      if (pick) void vscode.commands.executeCommand('beamLens.reattach', { node });
    });
  }

  private disposeStale(node: string): void {
    const s = this.stale.get(node);
    this.stale.delete(node);
    for (const { view } of s?.views ?? []) view.dispose();
  }

  /** Stale views of nodes neither lost nor attached any more (forgotten), or all of them (shutdown). */
  private dropStaleViews(all = false): void {
    for (const node of [...this.stale.keys()]) if (all || (!this.nodes.getLost(node) && !this.nodes.get(node))) this.disposeStale(node);
  }

  /**
   * Reopens on a reattached node the views it had when it was lost. A process view is reopened
   * only when the node did not restart meanwhile (a pid of its previous run would name another process).
   */
  private restoreViews(n: AttachedNode): void {
    const s = this.stale.get(n.node);
    if (!s) return;
    this.stale.delete(n.node);
    // A stale view the user closed stays closed.
    const open = s.views.filter(({ view }) => !view.panel.isDisposed);
    const plan = reopenPlan(open.map(({ spec }) => spec), s.at, Date.now(), n.overview?.uptimeMs ?? null);
    const keep: typeof open = [];
    for (const { view, spec } of open) {
      if (plan.keepStale.includes(spec)) {
        if (spec.kind === 'detail') view.markGone(`${n.node} restarted since this view was open: ${spec.pid} was a process of its previous run. Close this view.`);
        keep.push({ view, spec });
        continue;
      }
      view.dispose();
      this.panelsOf(n).open(spec);
    }
    if (keep.length > 0) n.own({ dispose: () => keep.forEach(({ view }) => view.dispose()) });
    this.log.info(`reattached ${n.node}: reopened ${plan.reopen.length} view(s)${plan.restarted ? ' (the node restarted: process views of its previous run left closed)' : ''}`);
  }

  /** A node was attached: first data, the sidebar's refresh and the facts feed (both owned by its scope). */
  private async onAttached(n: AttachedNode, focusSidebar = true): Promise<void> {
    await this.nodes.refresh(n);
    this.restoreViews(n);
    this.sidebar.watch(n);
    // Facts for the language server on core's shared schedule (a budget of the node's time,
    // backoff, a pass that runs too long is stopped on the node), owned by the node's scope; only
    // while a source file is on screen (nothing shows the facts otherwise: idle costs nothing).
    const loop = startFactsLoop(
      async (signal) => {
        if (!factsWanted() || n.isClosed) return 0;
        await this.nodes.collectFacts(n, signal);
        return n.collector.lastNodeCostMs;
      },
      { baseMs: config().get<number>('factsIntervalSeconds', 10) * 1000 },
    );
    n.own({ dispose: () => loop.stop() });
    if (focusSidebar) void vscode.commands.executeCommand('beamLens.nodes.focus');
  }

  async startLanguageClient(): Promise<void> {
    if (!config().get<boolean>('languageServer.enabled', true)) return;
    const module = vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'server.js').fsPath;
    const serverOptions: ServerOptions = { run: { module, transport: TransportKind.ipc }, debug: { module, transport: TransportKind.ipc } };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file', language: 'elixir' }, { scheme: 'file', pattern: '**/*.{ex,exs}' }],
      outputChannelName: 'BEAM Lens Language Server',
    };
    const lc = new LanguageClient('beamLens', 'BEAM Lens Language Server', serverOptions, clientOptions);
    this.client = lc;
    this._register(
      this.nodes.onFacts(({ node, facts }) => {
        if (lc.isRunning()) void (facts ? lc.sendNotification(LspMethods.facts, facts) : lc.sendNotification(LspMethods.clearFacts, { node }));
      }),
    );
    try {
      await lc.start();
      this.log.info('language server started');
    } catch (err) {
      this.log.error(`language server did not start: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Detaches every node (awaited: the targets are cleaned up), stops the client, then disposes all. */
  shutdown(): Promise<void> {
    this.shuttingDown ??= (async () => {
      const outcomes = await this.nodes.shutdown();
      for (const o of outcomes) if (o.problems.length > 0) this.log.warn(`detach of ${o.node} at shutdown: ${o.problems.join('; ')}`);
      await this.client?.stop().catch(() => undefined);
      this.client = null;
      this.dispose();
    })();
    return this.shuttingDown;
  }

  override dispose(): void {
    if (this.isDisposed) return;
    // Disposal without shutdown (the host is going away): the probe removes itself when our connection drops.
    if (!this.shuttingDown) void this.nodes.shutdown();
    super.dispose();
  }
}

/** The one running instance, for deactivate (VS Code gives deactivate no context). */
let running: BeamLens | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<BeamLens> {
  const lens = new BeamLens(context);
  running = lens;
  context.subscriptions.push(lens);
  await lens.startLanguageClient();
  return lens;
}

export async function deactivate(): Promise<void> {
  const lens = running;
  running = undefined;
  await lens?.shutdown();
}
