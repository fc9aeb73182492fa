// Attaching from the editor: the picker (EPMD's nodes, saved connections, remote…), the
// environment, cookie and TLS questions, Reattach of a lost node, and what to do when attaching
// fails — by the error's kind and TLS issue (model/attach-advice.ts): a wrong cookie offers to
// enter it again, an unreachable EPMD offers host:port, a TLS problem offers the TLS files.
import * as vscode from 'vscode';
import type { CookieInput } from '../core/attach';
import { envTags, type EnvTag } from '../core/attach/consent';
import { listNodes, tlsIssueOf } from '../erldist';
import { errorKindOf } from '../errors';
import type { Log } from './log';
import { attachItems, fullNodeName, localHostName, nodeNameError, parseHostPort, rememberConnection, type SavedConnection } from './model/connections';
import type { AttachedNode, NodeManager } from './nodes';
import { ACTION_LABELS, attachAdvice, savedTlsOf, stillDown, tlsFlagsOf, type SavedTls } from './model/attach-advice';
import { chooseCa, chooseTls } from './tls-dialog';

const SAVED_KEY = 'beamLens.savedConnections';
const secretKey = (node: string): string => `beamLens.cookie.${node}`;

export interface AttachDeps {
  context: vscode.ExtensionContext;
  nodes: NodeManager;
  log: Log;
  config(): vscode.WorkspaceConfiguration;
  /** Called once a node is attached (first refresh, facts feed, sidebar focus). */
  attached(n: AttachedNode): Promise<void>;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The error's kind from the closed union (core's BeamLensError; anything else is 'internal'). */
export const kindOf = errorKindOf;

async function chooseEnv(deps: AttachDeps, node: string): Promise<EnvTag | undefined> {
  const def = deps.config().get<string>('defaultEnvironment', 'local');
  const pick = await vscode.window.showQuickPick(
    envTags.map((e) => ({ label: e, env: e, description: e === def ? 'default' : e === 'production' ? 'asks you to type the node name before any change' : '' })),
    { title: `Environment of ${node}`, placeHolder: 'local, staging or production' },
  );
  return pick?.env;
}

/** The cookie for core's attach service, where it came from, and the text to keep in secret storage once attached. */
type CookieChoice = { source: SavedConnection['cookie']; cookie: CookieInput; secret?: string };

/** Where the cookie comes from. Cookies go to SecretStorage or stay in the file the user names. */
async function chooseCookie(deps: AttachDeps, node: string, onlyEnter = false): Promise<CookieChoice | undefined> {
  const source = onlyEnter
    ? 'secret'
    : (
        await vscode.window.showQuickPick(
          [
            { label: 'Default cookie file', description: '~/.erlang.cookie', source: 'default' as const },
            { label: 'Cookie file…', description: 'a file you name; BEAM Lens reads it on each attach', source: 'file' as const },
            { label: 'Enter the cookie…', description: 'kept in VS Code secret storage', source: 'secret' as const },
          ],
          { title: `Cookie for ${node}` },
        )
      )?.source;
  if (!source) return undefined;
  if (source === 'default') return { source: { kind: 'default' }, cookie: { kind: 'default' } };
  if (source === 'file') {
    const file = await vscode.window.showInputBox({ title: 'Cookie file', prompt: 'Path of the file holding the cookie', ignoreFocusOut: true, validateInput: (v) => (v.trim() ? null : 'Enter a path') });
    if (!file) return undefined;
    return { source: { kind: 'file', path: file.trim() }, cookie: { kind: 'file', path: file.trim() } };
  }
  const text = await vscode.window.showInputBox({ title: `Cookie for ${node}`, prompt: 'The Erlang cookie of the node (kept in VS Code secret storage)', password: true, ignoreFocusOut: true, validateInput: (v) => (v ? null : 'The cookie cannot be empty') });
  if (!text) return undefined;
  return { source: { kind: 'secret' }, cookie: { kind: 'value', value: text }, secret: text };
}

/** The cookie of a saved connection; undefined when its secret is no longer in secret storage. */
async function cookieOf(deps: AttachDeps, c: SavedConnection): Promise<CookieInput | undefined> {
  switch (c.cookie.kind) {
    case 'default':
      return { kind: 'default' };
    case 'file':
      return { kind: 'file', path: c.cookie.path };
    case 'secret': {
      const text = await deps.context.secrets.get(secretKey(c.node));
      return text ? { kind: 'value', value: text } : undefined;
    }
  }
}

/**
 * Attaches; on failure reacts to the error's kind and TLS issue (cookie again, host:port, TLS
 * files, CA file, plain TCP) and tries once more if the user says so. `reattach`: a failure that
 * means the node is not back yet offers "Reattach" again instead.
 */
export async function attachWith(deps: AttachDeps, c: SavedConnection, choice: CookieChoice, reattach = false): Promise<AttachedNode | undefined> {
  let n: AttachedNode;
  const tls = tlsFlagsOf(c.tls);
  try {
    n = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BEAM Lens: ${reattach ? 'reattaching' : 'attaching'} to ${c.node}…` }, () =>
      deps.nodes.attach({ node: c.node, env: c.env, cookie: choice.cookie, ...(c.host ? { host: c.host } : {}), ...(c.port ? { port: c.port } : {}), ...(tls ? { tls } : {}) }),
    );
  } catch (err) {
    deps.log.error(`attach to ${c.node} failed (${kindOf(err) ?? 'error'}${tlsIssueOf(err) ? `, ${tlsIssueOf(err)}` : ''}): ${errorText(err)}`);
    if (reattach && stillDown(kindOf(err)) && tlsIssueOf(err) === undefined) {
      const again = await vscode.window.showErrorMessage(`BEAM Lens: ${c.node} is not back yet: ${errorText(err)}. Reattach once it runs again.`, 'Reattach');
      return again ? attachWith(deps, c, choice, true) : undefined;
    }
    return recover(deps, c, choice, err);
  }
  // Saved under the node's own name (the handshake's), so the list never offers it twice.
  const saved: SavedConnection = { ...c, node: n.node, ...(c.host === undefined && n.node !== c.node ? { host: c.node.split('@')[1] ?? 'localhost' } : {}) };
  if (choice.secret !== undefined) await deps.context.secrets.store(secretKey(n.node), choice.secret);
  await deps.context.globalState.update(SAVED_KEY, rememberConnection(deps.context.globalState.get<SavedConnection[]>(SAVED_KEY, []), saved));
  await deps.attached(n);
  return n;
}

async function recover(deps: AttachDeps, c: SavedConnection, choice: CookieChoice, err: unknown): Promise<AttachedNode | undefined> {
  const advice = attachAdvice(c.node, { kind: kindOf(err), tlsIssue: tlsIssueOf(err), message: errorText(err) }, c);
  const labels = advice.actions.map((a) => ACTION_LABELS[a]);
  const picked = await vscode.window.showErrorMessage(advice.text, ...labels);
  const action = advice.actions.find((a) => ACTION_LABELS[a] === picked);
  if (!action) return undefined;
  switch (action) {
    case 'cookieAgain': {
      const again = await chooseCookie(deps, c.node, true);
      return again ? attachWith(deps, { ...c, cookie: again.source }, again) : undefined;
    }
    case 'hostPort': {
      const hp = await askHostPort(`Attach to ${c.node} through host:port`, `${c.host ?? c.node.split('@')[1] ?? 'localhost'}:`);
      if (!hp || hp.port === undefined) return undefined;
      return attachWith(deps, { ...c, host: hp.host, port: hp.port }, choice);
    }
    case 'setUpTls': {
      const tls = await chooseTls(c.node, { offerPlain: false, ...(c.tls ? { current: c.tls } : {}) });
      return tls ? attachWith(deps, { ...c, tls }, choice) : undefined;
    }
    case 'chooseCa': {
      const tls = await chooseCa(c.node, c.tls);
      return tls ? attachWith(deps, { ...c, tls }, choice) : undefined;
    }
    case 'withoutTls': {
      const { tls: _tls, ...plain } = c;
      return attachWith(deps, plain, choice);
    }
  }
}

async function askHostPort(title: string, value = ''): Promise<{ host: string; port?: number } | undefined> {
  const hostText = await vscode.window.showInputBox({
    title,
    value,
    prompt: 'host, or host:port of the node itself when EPMD is not reachable (e.g. localhost:9100 through an SSH tunnel)',
    ignoreFocusOut: true,
    validateInput: (v) => {
      const r = parseHostPort(v);
      return 'error' in r ? r.error : null;
    },
  });
  if (hostText === undefined) return undefined;
  const hp = parseHostPort(hostText);
  return 'error' in hp ? undefined : hp;
}

/** "BEAM: Attach to Node…": EPMD's nodes on this machine, saved connections (live ones), remote. */
export async function attachFromList(deps: AttachDeps): Promise<void> {
  let local: Array<{ name: string; port: number }> = [];
  let epmdAnswered = true;
  try {
    local = await listNodes('localhost', { timeoutMs: 2000 });
  } catch (err) {
    epmdAnswered = false;
    deps.log.warn(`EPMD on this machine did not answer: ${errorText(err)}`);
  }
  const saved = deps.context.globalState.get<SavedConnection[]>(SAVED_KEY, []);
  const items = attachItems(local, localHostName(), saved, new Set(deps.nodes.list().map((n) => n.node)), epmdAnswered);
  const pick = await vscode.window.showQuickPick(items, { title: 'Attach to a node', placeHolder: local.length ? 'Nodes registered in EPMD on this machine, and saved connections' : 'No node in EPMD here; pick a saved or remote node' });
  if (!pick) return;
  const action = pick.action;
  if (action.kind === 'remote') return attachRemote(deps, action.tls === true);
  if (action.kind === 'saved') {
    const cookie = await cookieOf(deps, action.connection);
    // Its secret is gone from secret storage (another machine, cleared): ask for it again.
    const choice = cookie ? { source: action.connection.cookie, cookie } : await chooseCookie(deps, action.connection.node, true);
    if (choice) await attachWith(deps, action.connection, choice);
    return;
  }
  const env = await chooseEnv(deps, action.node);
  if (!env) return;
  const cookie = await chooseCookie(deps, action.node);
  if (!cookie) return;
  // EPMD knows the port; the host part is this machine whatever the node calls itself.
  await attachWith(deps, { node: action.node, host: 'localhost', env, cookie: cookie.source }, cookie);
}

/** "BEAM: Attach to Remote Node…": host (or host:port), name, cookie, environment; with `tls`, the TLS files too. */
export async function attachRemote(deps: AttachDeps, withTls = false): Promise<void> {
  const steps = withTls ? 5 : 4;
  const hp = await askHostPort(`Attach to a remote node (1/${steps}): host`);
  if (!hp) return;
  const nameText = await vscode.window.showInputBox({ title: `Attach to a remote node (2/${steps}): node name`, prompt: 'name@host as the node calls itself', ignoreFocusOut: true, validateInput: nodeNameError });
  if (!nameText) return;
  const node = fullNodeName(nameText, hp.host);
  let tls: SavedTls | undefined;
  if (withTls) {
    const t = await chooseTls(node, { offerPlain: false, step: `(3/${steps})` });
    if (!t) return;
    tls = t;
  }
  const cookie = await chooseCookie(deps, node);
  if (!cookie) return;
  const env = await chooseEnv(deps, node);
  if (!env) return;
  await attachWith(deps, { node, host: hp.host, ...(hp.port ? { port: hp.port } : {}), env, cookie: cookie.source, ...(tls ? { tls } : {}) }, cookie);
}

/** The cookie input for a lost node's saved connection (the secret as it is in secret storage now). */
function cookieSourceOf(input: CookieInput): SavedConnection['cookie'] {
  return input.kind === 'file' ? { kind: 'file', path: input.path } : input.kind === 'default' ? { kind: 'default' } : { kind: 'secret' };
}

/**
 * "Reattach" on a lost node: its saved connection (cookie from where it was, TLS files, host and
 * port), else how it was attached. The views it had are reopened once attached (extension.ts).
 */
export async function reattach(deps: AttachDeps, node: string): Promise<AttachedNode | undefined> {
  const attached = deps.nodes.get(node);
  if (attached) return attached;
  const lost = deps.nodes.getLost(node);
  const saved = deps.context.globalState.get<SavedConnection[]>(SAVED_KEY, []).find((s) => s.node === node);
  if (saved) {
    const cookie = await cookieOf(deps, saved);
    const choice = cookie ? { source: saved.cookie, cookie } : await chooseCookie(deps, node, true);
    return choice ? attachWith(deps, saved, choice, true) : undefined;
  }
  if (!lost) {
    void vscode.window.showErrorMessage(`BEAM Lens: nothing is saved about ${node}. Attach to it with "BEAM: Attach to Node…".`);
    return undefined;
  }
  const t = lost.target;
  const c: SavedConnection = { node, env: lost.env, cookie: cookieSourceOf(t.cookie), ...(t.host ? { host: t.host } : {}), ...(t.port ? { port: t.port } : {}), ...(t.tls ? { tls: savedTlsOf(t.tls) } : {}) };
  return attachWith(deps, c, { source: c.cookie, cookie: t.cookie }, true);
}

export async function chooseEnvironment(deps: AttachDeps, n: AttachedNode): Promise<EnvTag | undefined> {
  return chooseEnv(deps, n.node);
}
