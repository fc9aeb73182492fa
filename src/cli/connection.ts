import { hostname } from 'node:os';
import { connect, resolveCookie, tlsFlagValues, tlsFromFlags, type NodeConnection } from '../dist';
import { UsageError, numberFlag, stringFlag, type FlagValues } from './args';

export type EnvTag = 'local' | 'staging' | 'production';

export interface ConnectionTarget {
  node: string;
  host: string;
  port?: number;
  env: EnvTag;
}

/** Reads --node/--host/--port/--env and checks them before anything touches the network. */
export function targetFromFlags(flags: FlagValues): ConnectionTarget {
  const raw = stringFlag(flags, 'node');
  if (raw === undefined || raw.trim() === '') throw new UsageError('--node NAME is required (e.g. --node demo@localhost; `beam-lens nodes` lists local nodes)');
  const node = raw.includes('@') ? raw : `${raw}@${hostname().split('.')[0]}`;
  const [name, nodeHost] = node.split('@');
  if (!name || !nodeHost || node.split('@').length !== 2 || !/^[A-Za-z0-9_\-.]+$/.test(name)) {
    throw new UsageError(`--node "${raw}" is not a node name; expected name@host, e.g. demo@localhost`);
  }
  const env = stringFlag(flags, 'env') ?? 'local';
  if (env !== 'local' && env !== 'staging' && env !== 'production') {
    throw new UsageError(`--env must be local, staging or production, got "${env}"`);
  }
  const port = numberFlag(flags, 'port');
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new UsageError(`--port must be a TCP port (1-65535), got ${port}`);
  }
  const host = stringFlag(flags, 'host') ?? nodeHost;
  return { node, host, env, ...(port !== undefined ? { port } : {}) };
}

export async function connectFromFlags(
  flags: FlagValues,
  warn: (message: string) => void = (m) => process.stderr.write(`beam-lens: ${m}\n`),
): Promise<{ target: ConnectionTarget; connection: NodeConnection }> {
  const target = targetFromFlags(flags);
  const cookieText = stringFlag(flags, 'cookie');
  const cookieFile = stringFlag(flags, 'cookie-file');
  if (cookieText !== undefined && cookieFile !== undefined) throw new UsageError('give either --cookie or --cookie-file, not both');
  const tls = await tlsFromFlags(tlsFlagValues((n) => flags[n]), warn);
  const cookie = await resolveCookie({
    ...(cookieText !== undefined ? { cookie: cookieText } : {}),
    ...(cookieFile !== undefined ? { cookieFile } : {}),
    warn,
  });
  const timeoutMs = numberFlag(flags, 'timeout') ?? 5000;
  const connection = await connect({
    node: target.node,
    cookie,
    host: target.host,
    ...(target.port !== undefined ? { port: target.port } : {}),
    ...(tls ? { tls } : {}),
    timeoutMs,
  });
  return { target, connection };
}
