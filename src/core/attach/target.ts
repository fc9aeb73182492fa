// Target parsing for every face: node names (`name@host`, a bare name meaning this machine),
// `host` / `host:port` (the node's own distribution port, e.g. through an SSH tunnel), the
// environment tag. One set of error texts; every error is a BeamLensError of kind 'usage'.
import { shortHostname } from '../../erldist';
import { BeamLensError } from '../../errors';
import { envTags, type EnvTag } from './consent';

/** Where to attach, after parsing: the node's full name, the host to reach, and a port when EPMD is skipped. */
export interface AttachTarget {
  /** Full node name, name@host, as the node calls itself. */
  node: string;
  /** Host to reach (the host part of `node` unless given). */
  host: string;
  /** The node's distribution port: EPMD is not asked. */
  port?: number;
}

/** What a face gives to name a target; only `node` is required. */
export interface TargetInput {
  /** name@host, or a bare name (this machine's short host name is added). */
  node: string;
  /** Host to reach, or host:port (then `port` must be absent). Default: the host part of the node name. */
  host?: string;
  /** The node's distribution port (skips EPMD). */
  port?: number;
}

const NAME = /^[A-Za-z0-9_\-.]+$/;
const HOST = /^[A-Za-z0-9_\-.]+$|^[0-9A-Fa-f:.]+$/;

/** Why `text` is not a node name (null when it is one). A bare name is fine: the host is added. */
export function nodeNameProblem(text: string): string | null {
  const t = text.trim();
  if (t === '') return 'a node name is required, e.g. demo@localhost (`beam-lens nodes` lists the nodes on this machine)';
  const parts = t.split('@');
  if (parts.length > 2) return `"${t}" is not a node name: it has more than one @; expected name@host, e.g. demo@localhost`;
  const [name, host] = parts as [string, string | undefined];
  if (!NAME.test(name)) return `"${t}" is not a node name; expected name@host, e.g. demo@localhost (letters, digits, _ - . before the @)`;
  if (host !== undefined && !HOST.test(host)) return `"${t}" is not a node name: "${host}" is not a host name; expected name@host, e.g. demo@localhost`;
  return null;
}

/** The full node name: `name@host` as given, or a bare name with this machine's short host name. Throws 'usage'. */
export function parseNodeName(text: string): string {
  const problem = nodeNameProblem(text);
  if (problem !== null) throw new BeamLensError('usage', problem);
  const t = text.trim();
  return t.includes('@') ? t : `${t}@${shortHostname()}`;
}

/** Why `port` is not a TCP port (null when it is). */
export function portProblem(port: number): string | null {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? null : `the port must be a TCP port (1-65535), got ${port}`;
}

/** "host", "host:port" or "[v6]:port". Throws 'usage' with what is wrong. */
export function parseHostPort(text: string): { host: string; port?: number } {
  const t = text.trim();
  if (t === '') throw new BeamLensError('usage', 'a host is required, or host:port when EPMD is not reachable (e.g. localhost:9100 through an SSH tunnel)');
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(t);
  if (!m) throw new BeamLensError('usage', `"${t}" is not host or host:port`);
  const host = (m[1] as string).replace(/^\[|\]$/g, '');
  if (m[2] === undefined) return { host };
  const port = Number(m[2]);
  const problem = portProblem(port);
  if (problem !== null) throw new BeamLensError('usage', `"${t}": ${problem}`);
  return { host, port };
}

/** Node name, host (or host:port) and port checked together, before anything touches the network. */
export function parseTarget(input: TargetInput): AttachTarget {
  const node = parseNodeName(input.node);
  const nodeHost = node.slice(node.indexOf('@') + 1);
  const hp = input.host !== undefined ? parseHostPort(input.host) : { host: nodeHost };
  if (hp.port !== undefined && input.port !== undefined && hp.port !== input.port) {
    throw new BeamLensError('usage', `two ports given (${input.host} and ${input.port}); give the port once`);
  }
  const port = input.port ?? hp.port;
  if (port !== undefined) {
    const problem = portProblem(port);
    if (problem !== null) throw new BeamLensError('usage', problem);
  }
  return { node, host: hp.host, ...(port !== undefined ? { port } : {}) };
}

/** An environment tag from text (a flag, a setting, a tool argument). Throws 'usage'. */
export function parseEnvTag(text: string): EnvTag {
  const found = envTags.find((e) => e === text);
  if (found === undefined) throw new BeamLensError('usage', `the environment must be local, staging or production, got "${text}"`);
  return found;
}
