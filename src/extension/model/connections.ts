// Pure parts of attaching (no 'vscode' here, unit-tested): saved connections, node-name and
// host:port validation, the attach picker's items.
import { nodeNameProblem, parseHostPort as coreParseHostPort } from '../../core/attach';
import type { EnvTag } from '../../core/attach/consent';
import { shortHostname } from '../../erldist';
import { describeTls, type SavedTls } from './attach-advice';

/** This machine's short host name (what a bare node name gets as its host). */
export function localHostName(): string {
  return shortHostname();
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '::1']);

/** True when the connection goes through this machine's EPMD (so EPMD's list says if the node runs). */
export function isLocalViaEpmd(c: Pick<SavedConnection, 'node' | 'host' | 'port'>, localHost: string): boolean {
  if (c.port !== undefined) return false;
  const host = c.host ?? c.node.split('@')[1] ?? '';
  return LOCAL_HOSTS.has(host) || host === localHost;
}

export interface SavedConnection {
  node: string;
  host?: string;
  port?: number;
  env: EnvTag;
  /** Where the cookie comes from: SecretStorage (keyed by node), a file the user named, or ~/.erlang.cookie. */
  cookie: { kind: 'secret' } | { kind: 'file'; path: string } | { kind: 'default' };
  /** TLS distribution (paths of the files only); absent: plain TCP. */
  tls?: SavedTls;
}

export interface PickItem {
  label: string;
  description: string;
  detail?: string;
  action: { kind: 'local'; node: string; port: number } | { kind: 'saved'; connection: SavedConnection } | { kind: 'remote'; tls?: boolean };
}

/** Checks a node name for an input box (core's rules and texts); an error message or null. */
export function nodeNameError(text: string): string | null {
  return nodeNameProblem(text);
}

/** The full node name as core parses it: a bare name gets `@host` (the host the user typed, else this machine's). */
export function fullNodeName(text: string, host: string): string {
  const t = text.trim();
  return t.includes('@') ? t : `${t}@${host}`;
}

/** "host" or "host:port" (the port of the node's distribution listener, e.g. an SSH tunnel), by core's parser. */
export function parseHostPort(text: string): { host: string; port?: number } | { error: string } {
  try {
    return coreParseHostPort(text);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

export function connectionKey(c: Pick<SavedConnection, 'node' | 'host' | 'port'>): string {
  return `${c.node}|${c.host ?? ''}|${c.port ?? ''}`;
}

/**
 * Saved connections first (most recent first, one per node), then EPMD's nodes not already
 * saved, then "remote…". A saved node on this machine that EPMD does not list is not running: it
 * is left out (unless EPMD did not answer). EPMD knows names only, so `rabbit` in EPMD matches a
 * saved `rabbit@localhost` as well as `rabbit@<this host>`.
 */
export function attachItems(local: Array<{ name: string; port: number }>, localHost: string, saved: SavedConnection[], attached: Set<string>, epmdAnswered = true): PickItem[] {
  const items: PickItem[] = [];
  const running = new Set(local.map((n) => n.name));
  const savedLocalNames = new Set<string>();
  const seen = new Set<string>();
  for (const c of saved) {
    if (seen.has(c.node)) continue;
    seen.add(c.node);
    const viaEpmd = isLocalViaEpmd(c, localHost);
    const name = c.node.split('@')[0] ?? c.node;
    if (viaEpmd && epmdAnswered && !running.has(name)) continue;
    if (viaEpmd) savedLocalNames.add(name);
    items.push({
      label: c.node,
      description: `saved · ${c.env}${c.port ? ` · port ${c.port}` : ''}${attached.has(c.node) ? ' · attached' : ''}`,
      detail: `${c.cookie.kind === 'file' ? `cookie from ${c.cookie.path}` : c.cookie.kind === 'secret' ? 'cookie in secret storage' : 'cookie from ~/.erlang.cookie'}${c.tls ? ` · ${describeTls(c.tls)}` : ''}`,
      action: { kind: 'saved', connection: c },
    });
  }
  for (const n of local) {
    if (savedLocalNames.has(n.name)) continue;
    const node = `${n.name}@${localHost}`;
    items.push({ label: node, description: `EPMD · port ${n.port}${attached.has(node) ? ' · attached' : ''}`, action: { kind: 'local', node, port: n.port } });
  }
  items.push({ label: 'Remote node…', description: 'another host, or a port through an SSH tunnel', action: { kind: 'remote' } });
  items.push({ label: 'Remote node with TLS…', description: 'a node running -proto_dist inet_tls: client certificate, key and CA files', action: { kind: 'remote', tls: true } });
  return items;
}

/** Keeps at most `max` saved connections, the newest first, one per node/host/port. */
export function rememberConnection(saved: SavedConnection[], c: SavedConnection, max = 20): SavedConnection[] {
  return [c, ...saved.filter((s) => connectionKey(s) !== connectionKey(c))].slice(0, max);
}
