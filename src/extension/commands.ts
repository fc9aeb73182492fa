// The palette commands. Each resolves its node (argument, the only attached node, or a pick),
// asks consent where the action changes the target, shows progress, and logs what it did.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { envTags, type EnvTag } from '../core/attach/consent';
import { runHotFunctions, type HotResult } from '../core/runs/hot';
import { watchMailboxes } from '../core/runs/mailbox-watch';
import { newSessionId, saveSession, type SessionKind } from '../core/records/store';
import { renderTraceLog, traceLine } from '../core/records/trace-log';
import { parseRate, runTrace, type TraceResult } from '../core/runs/trace';
import { Cookie, listNodes, resolveCookie, shortHostname } from '../erldist';
import { formatModule } from '../etf';
import { askConsent } from './consent';
import type { Log } from './log';
import { attachItems, fullNodeName, nodeNameError, parseHostPort, rememberConnection, type SavedConnection } from './model/connections';
import type { AttachedNode, NodeManager } from './nodes';

const SAVED_KEY = 'beamLens.savedConnections';
const secretKey = (node: string): string => `beamLens.cookie.${node}`;

export interface CommandDeps {
  context: vscode.ExtensionContext;
  nodes: NodeManager;
  log: Log;
  workspaceDir(): string | undefined;
  config(): vscode.WorkspaceConfiguration;
}

export function localHost(): string {
  return shortHostname();
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The node a command acts on: the argument, the only attached node, or the user's pick. */
export async function pickNode(nodes: NodeManager, arg?: unknown): Promise<AttachedNode | undefined> {
  const wanted = typeof arg === 'string' ? arg : typeof arg === 'object' && arg !== null && typeof (arg as { node?: unknown }).node === 'string' ? (arg as { node: string }).node : undefined;
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

async function chooseEnv(deps: CommandDeps, node: string): Promise<EnvTag | undefined> {
  const def = deps.config().get<EnvTag>('defaultEnvironment', 'local');
  const pick = await vscode.window.showQuickPick(
    envTags.map((e) => ({ label: e, description: e === def ? 'default' : e === 'production' ? 'asks you to type the node name before any change' : '' })),
    { title: `Environment of ${node}`, placeHolder: 'local, staging or production' },
  );
  return pick?.label as EnvTag | undefined;
}

/** Where the cookie comes from. Cookies go to SecretStorage or stay in the file the user names. */
async function chooseCookie(deps: CommandDeps, node: string): Promise<{ source: SavedConnection['cookie']; cookie: Cookie } | undefined> {
  const pick = await vscode.window.showQuickPick(
    [
      { label: 'Default cookie file', description: '~/.erlang.cookie', source: 'default' as const },
      { label: 'Cookie file…', description: 'a file you name; BEAM Lens reads it on each attach', source: 'file' as const },
      { label: 'Enter the cookie…', description: 'kept in VS Code secret storage', source: 'secret' as const },
    ],
    { title: `Cookie for ${node}` },
  );
  if (!pick) return undefined;
  if (pick.source === 'default') return { source: { kind: 'default' }, cookie: await resolveCookie({}) };
  if (pick.source === 'file') {
    const file = await vscode.window.showInputBox({ title: 'Cookie file', prompt: 'Path of the file holding the cookie', ignoreFocusOut: true, validateInput: (v) => (v.trim() ? null : 'Enter a path') });
    if (!file) return undefined;
    return { source: { kind: 'file', path: file.trim() }, cookie: await resolveCookie({ cookieFile: file.trim() }) };
  }
  const text = await vscode.window.showInputBox({ title: `Cookie for ${node}`, password: true, ignoreFocusOut: true, validateInput: (v) => (v ? null : 'The cookie cannot be empty') });
  if (!text) return undefined;
  await deps.context.secrets.store(secretKey(node), text);
  return { source: { kind: 'secret' }, cookie: new Cookie(text) };
}

async function cookieOf(deps: CommandDeps, c: SavedConnection): Promise<Cookie> {
  switch (c.cookie.kind) {
    case 'default':
      return resolveCookie({});
    case 'file':
      return resolveCookie({ cookieFile: c.cookie.path });
    case 'secret': {
      const text = await deps.context.secrets.get(secretKey(c.node));
      if (!text) throw new Error(`no cookie for ${c.node} in secret storage; attach again with "Enter the cookie…"`);
      return new Cookie(text);
    }
  }
}

async function attachWith(deps: CommandDeps, c: SavedConnection, cookie: Cookie): Promise<void> {
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BEAM Lens: attaching to ${c.node}…` }, async () => {
    try {
      const n = await deps.nodes.attach({ node: c.node, env: c.env, cookie, ...(c.host ? { host: c.host } : {}), ...(c.port ? { port: c.port } : {}) });
      const saved = deps.context.globalState.get<SavedConnection[]>(SAVED_KEY, []);
      await deps.context.globalState.update(SAVED_KEY, rememberConnection(saved, c));
      await deps.nodes.refresh(n);
      void deps.nodes.collectFacts(n);
      void vscode.commands.executeCommand('beamLens.nodes.focus');
    } catch (err) {
      deps.log.error(`attach to ${c.node} failed: ${errorText(err)}`);
      void vscode.window.showErrorMessage(`BEAM Lens: cannot attach to ${c.node}: ${errorText(err)}`);
    }
  });
}

/** Registers a command whose failures are logged and shown as an error message. */
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

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { nodes, log } = deps;
  const reg = (id: string, f: (arg?: unknown) => unknown): vscode.Disposable => registerCommand(log, id, f);

  return [
    reg('beamLens.attach', async () => {
      let local: Array<{ name: string; port: number }> = [];
      try {
        local = await listNodes('localhost', { timeoutMs: 2000 });
      } catch (err) {
        log.warn(`EPMD on this machine did not answer: ${errorText(err)}`);
      }
      const saved = deps.context.globalState.get<SavedConnection[]>(SAVED_KEY, []);
      const items = attachItems(local, localHost(), saved, new Set(nodes.list().map((n) => n.node)));
      const pick = await vscode.window.showQuickPick(items, { title: 'Attach to a node', placeHolder: local.length ? 'Nodes registered in EPMD on this machine, and saved connections' : 'No node in EPMD here; pick a saved or remote node' });
      if (!pick) return;
      const action = pick.action;
      if (action.kind === 'remote') return vscode.commands.executeCommand('beamLens.attachRemote');
      if (action.kind === 'saved') return attachWith(deps, action.connection, await cookieOf(deps, action.connection));
      const env = await chooseEnv(deps, action.node);
      if (!env) return;
      const cookie = await chooseCookie(deps, action.node);
      if (!cookie) return;
      return attachWith(deps, { node: action.node, env, cookie: cookie.source }, cookie.cookie);
    }),
    reg('beamLens.attachRemote', async () => {
      const hostText = await vscode.window.showInputBox({
        title: 'Attach to a remote node (1/4): host',
        prompt: 'host, or host:port of the node itself when EPMD is not reachable (e.g. localhost:9100 through an SSH tunnel)',
        ignoreFocusOut: true,
        validateInput: (v) => {
          const r = parseHostPort(v);
          return 'error' in r ? r.error : null;
        },
      });
      if (hostText === undefined) return;
      const hp = parseHostPort(hostText);
      if ('error' in hp) return;
      const nameText = await vscode.window.showInputBox({ title: 'Attach to a remote node (2/4): node name', prompt: 'name@host as the node calls itself', ignoreFocusOut: true, validateInput: nodeNameError });
      if (!nameText) return;
      const node = fullNodeName(nameText, hp.host);
      const cookie = await chooseCookie(deps, node);
      if (!cookie) return;
      const env = await chooseEnv(deps, node);
      if (!env) return;
      return attachWith(deps, { node, host: hp.host, ...(hp.port ? { port: hp.port } : {}), env, cookie: cookie.source }, cookie.cookie);
    }),
    reg('beamLens.detach', async (arg) => {
      const n = await pickNode(nodes, arg);
      if (!n) return;
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BEAM Lens: detaching from ${n.node}` }, () => nodes.detach(n.node));
      log.audit({ node: n.node, env: n.env, action: 'detach', outcome: 'completed', detail: 'sessions stopped, probe unloaded, connection closed' });
      void vscode.window.showInformationMessage(`BEAM Lens: detached from ${n.node}; nothing of ours is left on it.`);
    }),
    reg('beamLens.setEnvironment', async (arg) => {
      const n = await pickNode(nodes, arg);
      if (!n) return;
      const env = await chooseEnv(deps, n.node);
      if (!env) return;
      n.session.options.env = env;
      n.target.env = env;
      log.info(`${n.node} tagged ${env}`);
      nodes.refreshViews(n);
    }),
    reg('beamLens.refresh', async () => {
      await Promise.all(nodes.list().map((n) => nodes.refresh(n)));
    }),
    reg('beamLens.startHotFunctions', async (arg) => {
      const n = await pickNode(nodes, arg);
      if (!n) return;
      const seconds = deps.config().get<number>('hotFunctions.durationSeconds', 10);
      if (!(await askConsent(n, ['probe', 'trace'], `count calls per function of the node's own applications for ${seconds} s (call_count)`, log))) return;
      const { value: result } = await runAudited<HotResult>(deps, n, 'hot', { durationMs: seconds * 1000 }, `hot functions on ${n.node} · ${seconds} s`, async (signal) => {
        const r = await runHotFunctions(n.session, { durationMs: seconds * 1000, limit: 30, signal });
        return { value: r, endReason: r.endReason };
      });
      nodes.setHot(n, result);
      const top = result.functions.slice(0, 5).map((f) => `${formatModule(f.module)}.${f.function}/${f.arity} ${Math.round(f.share * 100)}%`);
      void vscode.window.showInformationMessage(`BEAM Lens: hot functions on ${n.node} (${result.endReason}): ${top.join(', ') || 'no calls counted'}`);
    }),
    reg('beamLens.watchMailboxes', async (arg) => {
      const n = await pickNode(nodes, arg);
      if (!n) return;
      const seconds = 5;
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BEAM Lens: watching mailboxes on ${n.node} for ${seconds} s`, cancellable: true }, (_p, token) =>
        nodes.runTask(n.node, 'mailbox watch', (signal) => {
          const c = new AbortController();
          token.onCancellationRequested(() => c.abort());
          signal.addEventListener('abort', () => c.abort());
          return watchMailboxes(n.session, { durationMs: seconds * 1000, signal: c.signal });
        }),
      );
      const pick = await vscode.window.showQuickPick(
        r.rows.map((row) => ({
          label: row.name ? formatModule(row.name) : row.pid,
          description: `${row.messageQueueLen.toLocaleString('en-US')} queued · ${row.growthPerSec >= 0 ? '+' : ''}${Math.round(row.growthPerSec)}/s · ${row.trend}`,
          pid: row.pid,
        })),
        { title: `Mailboxes on ${n.node} over ${seconds} s (largest growth first)` },
      );
      if (pick) await vscode.commands.executeCommand('beamLens.showProcess', { node: n.node, pid: pick.pid });
    }),
    reg('beamLens.traceMessages', async (arg) => {
      const n = await pickNode(nodes, arg);
      if (!n) return;
      const pid =
        typeof arg === 'object' && arg !== null && typeof (arg as { pid?: unknown }).pid === 'string'
          ? (arg as { pid: string }).pid
          : await vscode.window.showInputBox({ title: 'Trace messages of which process?', prompt: 'pid (<0.123.0>) or registered name', ignoreFocusOut: true });
      if (!pid) return;
      await traceMessages(deps, n, pid);
    }),
    reg('beamLens.stopSession', async () => {
      const tasks = nodes.runningTasks();
      if (tasks.length === 0) return void vscode.window.showInformationMessage('BEAM Lens: no session is running.');
      const pick = tasks.length === 1 ? { t: tasks[0] } : await vscode.window.showQuickPick(tasks.map((t) => ({ label: t.label, description: t.node, t })), { title: 'Stop which session?' });
      if (pick?.t) {
        nodes.stopTask(pick.t.id);
        log.info(`stop requested: ${pick.t.label} on ${pick.t.node}`);
      }
    }),
  ];
}

/** A bounded session, cancellable from the status bar and the progress toast, audited and saved. */
export async function runAudited<T>(
  deps: CommandDeps,
  n: AttachedNode,
  kind: SessionKind,
  limits: Record<string, unknown>,
  label: string,
  body: (signal: AbortSignal) => Promise<{ value: T; endReason: string }>,
): Promise<{ value: T; file: string | null }> {
  const { nodes, log } = deps;
  const started = new Date();
  log.audit({ node: n.node, env: n.env, action: `${kind} start`, limits, outcome: 'requested' });
  try {
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BEAM Lens: ${label}`, cancellable: true }, (_p, token) =>
      nodes.runTask(n.node, label, (signal) => {
        const c = new AbortController();
        token.onCancellationRequested(() => c.abort());
        signal.addEventListener('abort', () => c.abort());
        return body(c.signal);
      }),
    );
    log.audit({ node: n.node, env: n.env, action: `${kind} end`, limits, outcome: r.endReason });
    const dir = deps.workspaceDir();
    let file: string | null = null;
    if (dir) {
      file = saveSession(
        { format: 1, id: newSessionId(kind, started), kind, node: n.node, env: n.env, startedAt: started.toISOString(), endedAt: new Date().toISOString(), durationMs: Date.now() - started.getTime(), limits, endReason: r.endReason as never, result: r.value },
        { cwd: dir },
      );
      log.info(`session saved: ${file}`);
    }
    return { value: r.value, file };
  } catch (err) {
    const refused = (err as { kind?: unknown }).kind === 'consentRequired';
    log.audit({ node: n.node, env: n.env, action: `${kind} end`, limits, outcome: refused ? 'refused' : 'error', detail: errorText(err) });
    throw err;
  }
}

async function traceMessages(deps: CommandDeps, n: AttachedNode, pid: string): Promise<void> {
  const cfg = deps.config();
  const rate = parseRate(cfg.get<string>('trace.rate', '10/1s'));
  const cap = cfg.get<number>('trace.limit', 100);
  const seconds = cfg.get<number>('trace.durationSeconds', 30);
  if (!(await askConsent(n, ['probe', 'trace'], `trace the messages ${pid} sends and receives (at most ${cap} events, ${seconds} s)`, deps.log))) return;
  const doc = await vscode.workspace.openTextDocument({ language: 'beamtrace', content: `# tracing messages of ${pid} on ${n.node}…\n` });
  await vscode.window.showTextDocument(doc, { preview: false });
  const lines: string[] = [];
  const limits = { rate: `${rate.count}/${rate.perMs}ms`, limit: cap, duration: `${seconds}s`, pid };
  const { value: result, file } = await runAudited<TraceResult>(deps, n, 'trace-messages', limits, `tracing messages of ${pid}`, async (signal) => {
    const r = await runTrace(n.session, { kind: 'messages', pid }, { rate, cap, deadlineMs: seconds * 1000, maxChars: 300 }, (e) => lines.push(traceLine(e)), signal);
    return { value: r, endReason: r.endReason };
  });
  const log = renderTraceLog(n.node, path.basename(file ?? 'unsaved', '.json'), `messages of ${pid}`, { rate: limits.rate, limit: cap, duration: limits.duration }, result);
  if (file) writeFileSync(file.replace(/\.json$/, '.beamtrace'), log);
  const editor = vscode.window.visibleTextEditors.find((e) => e.document === doc);
  if (editor) await editor.edit((b) => b.replace(new vscode.Range(0, 0, doc.lineCount, 0), log));
}
