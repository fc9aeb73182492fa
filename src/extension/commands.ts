// Every command of the extension, in one table. Each handler gets its argument as `unknown`
// (menus pass the sidebar item, code lenses pass {node, …}, the palette nothing) and reads it with
// the guards of model/args.ts; its node is the argument's, the only attached one, or a pick.
import path from 'node:path';
import * as vscode from 'vscode';
import type { IntrusiveAction } from '../core/attach/consent';
import type { ProcessSort } from '../core/inspect/processes';
import type { ClusterNodeView, TreeFocus } from '../protocol/webview';
import { runHotFunctions, type HotResult } from '../core/runs/hot';
import { watchMailboxes } from '../core/runs/mailbox-watch';
import { listNodes } from '../erldist';
import { formatModule } from '../etf';
import { attachFromList, attachRemote, chooseEnvironment, errorText, kindOf, reattach, type AttachDeps } from './attach-flow';
import { askConsent } from './consent';
import type { Log } from './log';
import { appOf, clusterViewOf, findingOf, focusOf, memberOf, moduleOf, nodeOf, pidOf, profileFileOf, sortOf } from './model/args';
import { describeDetach } from './node-scope';
import type { AttachedNode, NodeManager } from './nodes';
import { runSession, traceMessages, withCancellableProgress, type SessionDeps } from './sessions';
import { sessionsDir, type EndReason, type SessionKind } from '../core/records/store';
import { listSavedProfiles, readSavedProfile, type SavedProfile } from '../core/profile/saved';
import { withLinkedSignal } from '../core/runs/cancel';

export interface CommandContext extends AttachDeps, SessionDeps {
  nodes: NodeManager;
  log: Log;
  panels: {
    tree(n: AttachedNode, focus?: TreeFocus, app?: string): void;
    table(n: AttachedNode, initial: { filter?: string; sort?: ProcessSort }): void;
    detail(n: AttachedNode, pid: string): void;
    dashboard(n: AttachedNode): void;
    cluster(n: AttachedNode): void;
    member(entry: AttachedNode, member: string, view: ClusterNodeView): Promise<void>;
    report(n: AttachedNode, options: { findingId?: string; regenerate?: boolean; cluster?: boolean }): Promise<void>;
    /** Telemetry handlers and events (read-only), then a watch of picked events with consent. */
    telemetry(n: AttachedNode): Promise<void>;
    /** A saved profile as a flame graph (no node needed). */
    savedProfile(saved: SavedProfile): void;
  };
  refreshSidebar(): Promise<void>;
}

/** The node a command acts on: the argument's, the only attached node, or the user's pick. */
export async function pickNode(nodes: NodeManager, arg?: unknown): Promise<AttachedNode | undefined> {
  const wanted = nodeOf(arg);
  if (wanted !== undefined) {
    const n = nodes.get(wanted);
    if (!n) void vscode.window.showErrorMessage(`BEAM Lens: ${wanted} is not attached. Run "BEAM: Attach to Node…" first.`);
    return n;
  }
  const list = nodes.list();
  if (list.length === 0) {
    const choice = await vscode.window.showInformationMessage('BEAM Lens: no node is attached.', 'Attach to Node…');
    if (choice) await vscode.commands.executeCommand('beamLens.attach');
    return undefined;
  }
  if (list.length === 1) return list[0];
  const pick = await vscode.window.showQuickPick(list.map((n) => ({ label: n.node, description: n.env, n })), { title: 'Which node?' });
  return pick?.n;
}

type Handler = (c: CommandContext, arg: unknown) => Promise<unknown>;

/** With the command's node, or nothing when there is none (pickNode has told the user). */
const onNode =
  (f: (c: CommandContext, n: AttachedNode, arg: unknown) => Promise<unknown>): Handler =>
  async (c, arg) => {
    const n = await pickNode(c.nodes, arg);
    return n ? f(c, n, arg) : undefined;
  };

async function askPid(n: AttachedNode, title: string): Promise<string | undefined> {
  const text = await vscode.window.showInputBox({ title, prompt: 'pid (<0.123.0>) or registered name', ignoreFocusOut: true });
  return text?.trim() || undefined;
}

/**
 * A cluster member reached through its entry node has no connection of ours: what needs our own
 * processes on its side (tracing, the probe's guardian) needs it attached directly. Offers that
 * (the entry's cookie and environment tag); the node to run on, or undefined when declined.
 */
async function directNode(c: CommandContext, n: AttachedNode, what: string): Promise<AttachedNode | undefined> {
  if (n.through === undefined) return n;
  const attach = 'Attach Directly';
  const choice = await vscode.window.showWarningMessage(
    `BEAM Lens: ${n.node} is reached through ${n.through}, so BEAM Lens cannot ${what} there (tracing and the probe need a connection of ours to the node). Attach to ${n.node} directly, with ${n.through}'s cookie?`,
    attach,
  );
  if (choice !== attach) return undefined;
  const d = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BEAM Lens: attaching to ${n.node}…` }, () => c.nodes.attach({ node: n.node, env: n.env, cookie: n.target.cookie }));
  await c.attached(d);
  return d;
}

/** A saved profile session of the workspace (newest first), or any file through the open dialog. */
async function pickSavedProfile(c: CommandContext): Promise<string | undefined> {
  const dir = c.workspaceDir();
  const items: Array<vscode.QuickPickItem & { file?: string }> = (dir ? listSavedProfiles(dir) : []).map((e) => ({
    label: e.node ?? e.id,
    description: `${e.startedAt ? `${e.startedAt.slice(0, 10)} ${e.startedAt.slice(11, 19)} UTC` : e.id}${e.env ? ` · ${e.env}` : ''}`,
    detail: path.basename(e.file),
    file: e.file,
  }));
  const other: vscode.QuickPickItem & { file?: string } = { label: '$(folder-opened) Open a file…', description: 'a profile session (.json) or a speedscope file (.speedscope.json)' };
  const pick = await vscode.window.showQuickPick([...items, other], {
    title: 'Open a saved profile as a flame graph',
    placeHolder: items.length > 0 ? 'Profile sessions saved in this workspace, newest first' : 'No profile sessions saved in this workspace yet: open a file',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (!pick) return undefined;
  if (pick.file !== undefined) return pick.file;
  const picked = await vscode.window.showOpenDialog({
    title: 'Open a saved profile',
    canSelectMany: false,
    filters: { 'Profiles (session or speedscope)': ['json'] },
    ...(dir ? { defaultUri: vscode.Uri.file(sessionsDir(dir)) } : {}),
  });
  return picked?.[0]?.fsPath;
}

export const COMMANDS = {
  'beamLens.attach': (c) => attachFromList(c),
  'beamLens.attachRemote': (c) => attachRemote(c),
  'beamLens.attachRemoteTls': (c) => attachRemote(c, true),
  'beamLens.reattach': async (c, arg) => {
    const lost = c.nodes.lost();
    const node = nodeOf(arg) ?? (lost.length === 1 ? lost[0]?.node : (await vscode.window.showQuickPick(lost.map((l) => ({ label: l.node, description: l.reason })), { title: 'Reattach which node?' }))?.label);
    if (node === undefined) {
      if (lost.length === 0) void vscode.window.showInformationMessage('BEAM Lens: no node was lost. Attach with "BEAM: Attach to Node…".');
      return;
    }
    await reattach(c, node);
  },
  'beamLens.forgetLostNode': async (c, arg) => {
    const node = nodeOf(arg);
    if (node !== undefined) c.nodes.forgetLost(node);
  },
  'beamLens.detach': onNode(async (c, n) => {
    const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BEAM Lens: detaching from ${n.node}` }, () => c.nodes.detach(n.node));
    if (!outcome) return void vscode.window.showErrorMessage(`BEAM Lens: ${n.node} was not attached any more.`);
    const text = describeDetach(outcome);
    c.log.audit({ node: n.node, env: n.env, action: 'detach', outcome: outcome.problems.length === 0 ? 'completed' : 'error', detail: text });
    if (outcome.problems.length === 0) void vscode.window.showInformationMessage(`BEAM Lens: ${text}`);
    else void vscode.window.showWarningMessage(`BEAM Lens: ${text}`);
  }),
  'beamLens.setEnvironment': onNode(async (c, n) => {
    const env = await chooseEnvironment(c, n);
    if (!env) return;
    n.session.options.env = env;
    n.target.env = env;
    c.log.info(`${n.node} tagged ${env}`);
    c.nodes.refreshViews(n);
  }),
  'beamLens.refresh': (c) => c.refreshSidebar(),
  'beamLens.showSupervisionTree': onNode(async (c, n, arg) => c.panels.tree(n, focusOf(arg), appOf(arg))),
  'beamLens.showProcesses': onNode(async (c, n, arg) => {
    const module = moduleOf(arg);
    const sort = sortOf(arg) ?? 'memory';
    c.panels.table(n, { ...(module ? { filter: module } : {}), sort });
  }),
  'beamLens.showProcessesByMailbox': onNode(async (c, n, arg) => {
    const module = moduleOf(arg);
    c.panels.table(n, { ...(module ? { filter: module } : {}), sort: 'mailbox' });
  }),
  'beamLens.showProcess': onNode(async (c, n, arg) => {
    const pid = pidOf(arg) ?? (await askPid(n, `Show process on ${n.node}`));
    if (pid) c.panels.detail(n, pid);
  }),
  'beamLens.showDashboard': onNode(async (c, n) => c.panels.dashboard(n)),
  'beamLens.showCluster': onNode(async (c, n) => {
    if (n.through !== undefined) return c.panels.cluster(c.nodes.get(n.through) ?? n);
    if ((await c.nodes.refreshMembers(n)).length === 0) {
      return void vscode.window.showInformationMessage(`BEAM Lens: ${n.node} is not connected to other nodes (its nodes() is empty): there is no cluster to show.`);
    }
    c.panels.cluster(n);
  }),
  'beamLens.openClusterMember': onNode(async (c, n, arg) => {
    const member = memberOf(arg);
    if (!member) throw new Error('which member? (the command takes {node: ENTRY, member: NODE})');
    await c.panels.member(n, member, clusterViewOf(arg) ?? 'overview');
  }),
  'beamLens.generateReport': onNode((c, n) => c.panels.report(n, { regenerate: true })),
  // The cluster report of an entry node (or of the entry a member is reached through); with a
  // finding (a cluster finding of the sidebar's Findings section), the report opens at it.
  'beamLens.clusterReport': onNode(async (c, member, arg) => {
    const n = member.through !== undefined ? (c.nodes.get(member.through) ?? member) : member;
    if (n.through !== undefined || (await c.nodes.refreshMembers(n)).length === 0) {
      return void vscode.window.showInformationMessage(`BEAM Lens: ${n.node} is not connected to other nodes (its nodes() is empty): there is no cluster to report on; "BEAM: Generate Report" reports on the node alone.`);
    }
    const findingId = findingOf(arg);
    return c.panels.report(n, findingId ? { cluster: true, findingId } : { cluster: true, regenerate: true });
  }),
  'beamLens.showFinding': onNode((c, n, arg) => {
    const findingId = findingOf(arg);
    return c.panels.report(n, findingId ? { findingId } : {});
  }),
  'beamLens.startHotFunctions': onNode(async (c, member) => {
    const n = await directNode(c, member, 'count hot functions');
    if (!n) return;
    const seconds = c.config().get<number>('hotFunctions.durationSeconds', 10);
    if (!(await askConsent(n, ['probe', 'trace'], `count calls per function of the node's own applications for ${seconds} s (call_count)`, c.log))) return;
    const { value: result } = await runSession<HotResult>(c, n, 'hot', ['probe', 'trace'], { durationMs: seconds * 1000 }, `hot functions on ${n.node} · ${seconds} s`, async (signal) => {
      const r = await runHotFunctions(n.session, { durationMs: seconds * 1000, limit: 30, signal });
      return { value: r, endReason: r.endReason };
    });
    c.nodes.setHot(n, result);
    const top = result.functions.slice(0, 5).map((f) => `${formatModule(f.module)}.${f.function}/${f.arity} ${Math.round(f.share * 100)}%`);
    void vscode.window.showInformationMessage(`BEAM Lens: hot functions on ${n.node} (${result.endReason}): ${top.join(', ') || 'no calls counted'}`);
  }),
  'beamLens.showHotFunctions': onNode(async (c, n) => {
    if (!n.hot) return vscode.commands.executeCommand('beamLens.startHotFunctions', { node: n.node });
    const picks = n.hot.functions.map((f) => ({ label: `${f.module}:${f.function}/${f.arity}`, description: `${Math.round(f.share * 100)}% · ${Math.round(f.callsPerSec).toLocaleString('en-US')}/s` }));
    return vscode.window.showQuickPick(picks, { title: `Hot functions on ${n.node}` });
  }),
  'beamLens.telemetry': onNode((c, n) => c.panels.telemetry(n)),
  'beamLens.watchMailboxes': onNode(async (c, n) => {
    const seconds = 5;
    const r = await withCancellableProgress(n, `BEAM Lens: watching mailboxes on ${n.node} for ${seconds} s`, 'mailbox watch', (signal) => watchMailboxes(n.session, { durationMs: seconds * 1000, signal }));
    const pick = await vscode.window.showQuickPick(
      r.rows.map((row) => ({
        label: row.name ? formatModule(row.name) : row.pid,
        description: `${row.messageQueueLen.toLocaleString('en-US')} queued · ${row.growthPerSec >= 0 ? '+' : ''}${Math.round(row.growthPerSec)}/s · ${row.trend}`,
        pid: row.pid,
      })),
      { title: `Mailboxes on ${n.node} over ${seconds} s (largest growth first)` },
    );
    if (pick) c.panels.detail(n, pick.pid);
  }),
  'beamLens.traceMessages': onNode(async (c, member, arg) => {
    const n = await directNode(c, member, 'trace messages');
    if (!n) return;
    const pid = pidOf(arg) ?? (await askPid(n, 'Trace messages of which process?'));
    if (pid) await traceMessages(c, n, pid);
  }),
  'beamLens.stopSession': async (c) => {
    const tasks = c.nodes.runningTasks();
    if (tasks.length === 0) return void vscode.window.showInformationMessage('BEAM Lens: no session is running.');
    const pick = tasks.length === 1 ? { t: tasks[0] } : await vscode.window.showQuickPick(tasks.map((t) => ({ label: t.label, description: t.node, t })), { title: 'Stop which session?' });
    if (pick?.t) {
      c.nodes.stopTask(pick.t.id);
      c.log.info(`stop requested: ${pick.t.label} on ${pick.t.node}`);
    }
  },
  // A saved profile session or speedscope file as a flame graph, with no node attached: picked
  // among the workspace's saved profiles or as a file; read (and checked) by core's one reader.
  'beamLens.openSavedProfile': async (c, arg) => {
    const file = profileFileOf(arg) ?? (await pickSavedProfile(c));
    if (file === undefined) return;
    // Read off the extension host's critical path: a maximum-size file (~85 MB) takes a second or two, in slices.
    // Cancellable: the read stops at its next slice and nothing is opened.
    const saved = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BEAM Lens: reading ${path.basename(file)}`, cancellable: true }, (_p, token) =>
      withLinkedSignal([token], (signal) => readSavedProfile(file, { signal })).catch((err: unknown) => {
        if (kindOf(err) === 'cancelled') return undefined;
        throw err;
      }),
    );
    if (!saved) return void vscode.window.showInformationMessage(`BEAM Lens: reading ${path.basename(file)} was cancelled; nothing was opened.`);
    c.panels.savedProfile(saved);
  },
  'beamLens.listLocalNodes': async () => {
    const found = await listNodes('localhost', { timeoutMs: 3000 });
    if (found.length === 0) return void vscode.window.showInformationMessage('No Erlang nodes are registered in EPMD on this machine.');
    return vscode.window.showQuickPick(found.map((x) => ({ label: x.name, description: `port ${x.port}` })), { title: 'Nodes registered in EPMD on this machine' });
  },
} satisfies Record<string, Handler>;

export type CommandId = keyof typeof COMMANDS;

function consentAction(err: unknown): IntrusiveAction | undefined {
  if (kindOf(err) !== 'consentRequired' || typeof err !== 'object' || err === null || !('action' in err)) return undefined;
  return err.action === 'probe' || err.action === 'trace' ? err.action : undefined;
}

/** Runs a handler; on `consentRequired` asks for that consent and runs it once more. */
export async function runCommand(c: CommandContext, id: string, handler: Handler, arg: unknown): Promise<void> {
  try {
    await handler(c, arg);
  } catch (err) {
    const action = consentAction(err);
    const n = action ? c.nodes.get(nodeOf(arg) ?? '') ?? (c.nodes.list().length === 1 ? c.nodes.list()[0] : undefined) : undefined;
    if (action && n) {
      if (await askConsent(n, action === 'trace' ? ['probe', 'trace'] : ['probe'], errorText(err), c.log)) return runCommand(c, id, handler, arg);
      return;
    }
    c.log.error(`${id}: ${errorText(err)}`);
    void vscode.window.showErrorMessage(`BEAM Lens: ${errorText(err)}`);
  }
}

/** What the profiler's commands (profile-view.ts, registered next to this table) get. */
export interface CommandDeps extends SessionDeps {
  context: vscode.ExtensionContext;
  nodes: NodeManager;
}

/** Registers one command outside the table (the profiler's two); failures are logged and shown. */
export function registerCommand(log: Log, id: string, f: (arg?: unknown) => unknown): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (arg?: unknown) => {
    try {
      await f(arg);
    } catch (err) {
      log.error(`${id}: ${errorText(err)}`);
      void vscode.window.showErrorMessage(`BEAM Lens: ${errorText(err)}`);
    }
  });
}

/** A bounded run through core's audited run service (the profiler's consent is asked before). */
export async function runAudited<T>(
  deps: SessionDeps,
  n: AttachedNode,
  kind: SessionKind,
  limits: Record<string, unknown>,
  label: string,
  body: (signal: AbortSignal) => Promise<{ value: T; endReason: EndReason }>,
  /** The consent the run stands on (asked before): an intrusive run also takes the node's one-run claim. */
  consent: readonly IntrusiveAction[] = [],
): Promise<{ value: T; file: string | null }> {
  const r = await runSession<T>(deps, n, kind, consent, limits, label, body);
  return { value: r.value, file: r.file };
}

/** Registers every command of the table; failures are logged and shown with what to do. */
export function registerCommands(c: CommandContext): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, handler]: [string, Handler]) => vscode.commands.registerCommand(id, (arg?: unknown) => runCommand(c, id, handler, arg)));
}
