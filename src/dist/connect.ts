// Connecting to a target: EPMD lookup (or a given port), TCP, handshake as a hidden node.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { NodeConnection, type ConnectionOptions } from './connection';
import type { Cookie } from './cookie';
import { listNodes, lookupNodePort } from './epmd';
import { DistError } from './errors';
import { OUR_FLAGS } from './flags';
import { clientHandshake } from './handshake';
import { LocalNode } from './local-node';
import { connectTcp } from './socket-util';

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
  const socket = await connectTcp(host, port, timeoutMs, `node ${options.node}`);
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
    });
    return new NodeConnection(localNode, socket, result.peerName, result.peerFlags, result.peerCreation, result.rest, options);
  } catch (err) {
    socket.destroy();
    throw err;
  }
}
