// Connecting to a target: EPMD lookup (or a given port), TCP, handshake as a hidden node.
import { randomBytes } from 'node:crypto';
import { Tuple } from '../etf';
import { hostname } from 'node:os';
import { NodeConnection, type ConnectionOptions } from './connection';
import type { Cookie } from './cookie';
import { listNodes, lookupNodePort } from './epmd';
import { DistError } from './errors';
import { OUR_FLAGS } from './flags';
import { clientHandshake } from './handshake';
import { LocalNode } from './local-node';
import { connectTcp } from './socket-util';
import { connectTls, tlsProblem, type TlsOptions } from './tls';

export interface ConnectOptions extends ConnectionOptions {
  /** Target node, name@host. */
  node: string;
  cookie: Cookie;
  /** Where to connect (default: the host part of `node`). */
  host?: string;
  /** The target's distribution port: skips EPMD (e.g. through an SSH tunnel). */
  port?: number;
  /** Bound on each step (EPMD, TCP connect, each handshake message). Default 5000 ms. */
  timeoutMs?: number;
  /** Our node; one is made (and owned by the connection) when absent. */
  localNode?: LocalNode;
  /** TLS distribution (the node runs -proto_dist inet_tls); absent: plain TCP. */
  tls?: TlsOptions;
  /** Ask the node its net_ticktime and tick and time out as it does (default true). */
  adoptTickTime?: boolean;
  /** For tests only: the flags we offer. */
  flags?: bigint;
}

export function splitNodeName(node: string): { name: string; host: string } {
  const at = node.indexOf('@');
  if (at <= 0 || at === node.length - 1 || node.indexOf('@', at + 1) !== -1) {
    throw new DistError('usage', `"${node}" is not a node name; expected name@host, e.g. demo@localhost`);
  }
  return { name: node.slice(0, at), host: node.slice(at + 1) };
}

/**
 * This machine's short host name, as Erlang's `-sname` uses it (`hostname` up to the first dot).
 * The one place BEAM Lens defaults a host: bare node names, EPMD listings of this machine, our
 * own hidden node's name.
 */
export function shortHostname(): string {
  return hostname().split('.')[0] || 'localhost';
}

/** A hidden local node whose host part matches the target's naming (short or long names). */
export function makeLocalNode(targetHost: string): LocalNode {
  const longNames = targetHost.includes('.') || targetHost.includes(':');
  const host = longNames ? targetHost : shortHostname();
  return new LocalNode({ name: `beam_lens_${randomBytes(4).toString('hex')}@${host}` });
}

export async function connect(options: ConnectOptions): Promise<NodeConnection> {
  const { name, host: nodeHost } = splitNodeName(options.node);
  const host = options.host ?? nodeHost;
  const timeoutMs = options.timeoutMs ?? 5000;
  let port = options.port;
  if (port === undefined) {
    const found = await lookupNodePort(host, name, { timeoutMs });
    if (found === null) {
      const there = await listNodes(host, { timeoutMs }).catch(() => []);
      throw new DistError(
        'noSuchNode',
        `no node named ${name} on ${host}; ` + (there.length > 0 ? `nodes there: ${there.map((n) => n.name).join(', ')}` : 'no nodes are registered there'),
      );
    }
    if (found.highestVersion < 6) {
      throw new DistError('capability', `${options.node} only speaks distribution protocol version ${found.highestVersion}; BEAM Lens needs version 6 (OTP 23 or newer)`);
    }
    port = found.port;
  }
  const tlsOptions = options.tls;
  const socket = tlsOptions ? await connectTls(host, port, options.node, nodeHost, tlsOptions, timeoutMs) : await connectTcp(host, port, timeoutMs, `node ${options.node}`);
  // With TLS 1.3 the node judges our certificate after our side of the TLS handshake is done: its
  // alert arrives during the distribution handshake, and says more than "the connection closed".
  let tlsError: NodeJS.ErrnoException | null = null;
  const onTlsError = (err: NodeJS.ErrnoException): void => {
    tlsError ??= err;
  };
  if (tlsOptions) socket.on('error', onTlsError);
  const localNode = options.localNode ?? makeLocalNode(nodeHost);
  try {
    const result = await clientHandshake({
      socket,
      ourName: localNode.name,
      ourFlags: options.flags ?? OUR_FLAGS,
      ourCreation: localNode.creation,
      cookie: options.cookie,
      peerName: options.node,
      timeoutMs,
      lengthBytes: tlsOptions ? 4 : 2,
    });
    socket.off('error', onTlsError);
    const conn = new NodeConnection(localNode, socket, result.peerName, result.peerFlags, result.peerCreation, result.rest, options);
    if (options.adoptTickTime !== false) adoptTickTime(conn, timeoutMs);
    return conn;
  } catch (err) {
    socket.destroy();
    if (tlsOptions && tlsError !== null) throw tlsProblem(tlsError, options.node, `${host}:${port}`, tlsOptions) ?? err;
    throw err;
  }
}

/** In the background: a failure leaves the defaults (a node's 60 s), a lost connection reports itself. */
function adoptTickTime(conn: NodeConnection, timeoutMs: number): void {
  conn
    .rpc('net_kernel', 'get_net_ticktime', [], { timeoutMs: Math.max(timeoutMs, 5000) })
    .then((t) => {
      // An integer, or {ongoing_change_to, N} while the node changes it.
      const seconds = typeof t === 'number' ? t : t instanceof Tuple && typeof t.elements[1] === 'number' ? t.elements[1] : undefined;
      if (seconds !== undefined) conn.adoptTickTime(seconds);
    })
    .catch(() => undefined);
}
