// Starting the language server: over stdio, node IPC or a socket (vscode-languageserver picks the
// transport from --stdio / --node-ipc / --socket=N), optionally attaching itself to a node with
// --node when no client sends facts (any LSP editor can use it this way).
import { hostname } from 'node:os';
import { createConnection, ProposedFeatures, type Connection } from 'vscode-languageserver/node';
import type { EnvTag } from '../core/consent';
import { factsCollector } from '../core/runtime-facts';
import { Session } from '../core/session';
import { latestSavedFacts } from '../core/sessions/saved-facts';
import { connect, resolveCookie, tlsFromFlags, type TlsFlagValues } from '../dist';
import { LspMethods, type AttachStateParams } from '../protocol/lsp';
import { elixirParser } from './index/parser';
import { BeamLensServer } from './server';
import { RefreshBackoff } from './refresh-backoff';

export interface StandaloneOptions {
  /** Attach to this node and collect facts every refreshMs. */
  node?: string;
  host?: string;
  port?: number;
  cookieFile?: string;
  /** TLS distribution flags (file paths; never key contents). */
  tls?: TlsFlagValues;
  env?: EnvTag;
  refreshMs?: number;
  /** Show lenses from the newest saved session under the workspace when no node is attached (default true). */
  savedSessions?: boolean;
  wasmDir?: string;
}

export class ServerArgsError extends Error {
  readonly kind = 'usage' as const;
}

/** Parses the server's own flags (transport flags are left to vscode-languageserver). */
export function parseServerArgs(argv: readonly string[]): StandaloneOptions {
  const opts: StandaloneOptions = {};
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new ServerArgsError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const take = (): string => {
      if (inline !== undefined) return inline;
      const v = value(i, flag);
      i++;
      return v;
    };
    switch (flag) {
      case '--node': {
        const n = take();
        opts.node = n.includes('@') ? n : `${n}@${hostname().split('.')[0]}`;
        break;
      }
      case '--host':
        opts.host = take();
        break;
      case '--port':
        opts.port = Number(take());
        if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw new ServerArgsError('--port must be a TCP port (1-65535)');
        break;
      case '--cookie-file':
        opts.cookieFile = take();
        break;
      case '--tls-cert':
      case '--tls-key':
      case '--tls-ca':
      case '--ssl-dist-optfile': {
        const v = take();
        const tls = (opts.tls ??= {});
        if (flag === '--tls-cert') tls.tlsCert = v;
        else if (flag === '--tls-key') tls.tlsKey = v;
        else if (flag === '--tls-ca') tls.tlsCa = v;
        else tls.sslDistOptfile = v;
        break;
      }
      case '--tls-insecure':
        (opts.tls ??= {}).tlsInsecure = true;
        break;
      case '--env': {
        const env = take();
        if (env !== 'local' && env !== 'staging' && env !== 'production') throw new ServerArgsError(`--env must be local, staging or production, got "${env}"`);
        opts.env = env;
        break;
      }
      case '--refresh': {
        const s = Number(take());
        if (!(s >= 1 && s <= 3600)) throw new ServerArgsError('--refresh must be 1 to 3600 seconds');
        opts.refreshMs = s * 1000;
        break;
      }
      case '--no-saved-sessions':
        opts.savedSessions = false;
        break;
      case '--stdio':
      case '--node-ipc':
      case '--socket':
      case '--pipe':
      case '--clientProcessId':
        if (flag === '--clientProcessId' && inline === undefined) i++;
        break;
      default:
        throw new ServerArgsError(`unknown option ${a} (options: --stdio | --node-ipc | --socket=PORT, --node NAME, --host H, --port P, --cookie-file F, --tls-cert F, --tls-key F, --tls-ca F, --tls-insecure, --ssl-dist-optfile F, --env E, --refresh S, --no-saved-sessions)`);
    }
  }
  return opts;
}

/** Runs until the client exits. Owns the connection, the parser and the standalone session. */
export async function startLanguageServer(options: StandaloneOptions, connection: Connection = createConnection(ProposedFeatures.all)): Promise<void> {
  const parser = await elixirParser(options.wasmDir);
  let timer: NodeJS.Timeout | null = null;
  let cleaned = false;
  let session: Session | null = null;
  const server = new BeamLensServer(connection, {
    parser,
    onIndexed: () => {
      if (options.node !== undefined) void attach();
      else if (options.savedSessions !== false) loadSaved();
    },
  });
  const state = (p: AttachStateParams): void => void connection.sendNotification(LspMethods.attachState, p);

  const loadSaved = (): void => {
    for (const root of server.workspaceRoots) {
      const facts = latestSavedFacts(root);
      if (facts) {
        server.setFacts(facts);
        return;
      }
    }
  };

  const attach = async (): Promise<void> => {
    const node = options.node as string;
    try {
      const warn = (m: string): void => connection.console.warn(`beam-lens: ${m}`);
      const tls = options.tls ? await tlsFromFlags(options.tls, warn) : undefined;
      const cookie = await resolveCookie({ ...(options.cookieFile !== undefined ? { cookieFile: options.cookieFile } : {}), warn });
      const conn = await connect({
        node,
        cookie,
        ...(options.host ? { host: options.host } : {}),
        ...(options.port ? { port: options.port } : {}),
        ...(tls ? { tls } : {}),
        timeoutMs: 5000,
      });
      session = new Session(conn, { env: options.env ?? 'local' });
      conn.onClose((reason) => {
        if (timer) clearTimeout(timer);
        timer = null;
        session = null;
        server.clearFacts(node);
        connection.console.warn(`beam-lens: ${reason}`);
        state({ node, state: 'detached', message: reason });
      });
      const collector = factsCollector(session);
      // One collection scans every process on the target (4.5 s of one scheduler at 100,000
      // processes without the probe): wait at least 5x its duration before the next, so the
      // load we add stays under ~20% of one scheduler however large the node.
      const backoff = new RefreshBackoff(options.refreshMs ?? 10_000);
      const tick = async (): Promise<void> => {
        if (session === null) return;
        const started = Date.now();
        let failure: unknown;
        try {
          server.setFacts(await collector.collect());
        } catch (err) {
          failure = err;
          connection.console.warn(`beam-lens: collecting facts from ${node} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
        if (session === null || cleaned) return;
        const wait = backoff.next(Date.now() - started, failure);
        if (backoff.overloaded) connection.console.warn(`beam-lens: ${node} is overloaded; next refresh in ${Math.round(wait / 1000)} s`);
        timer = setTimeout(() => void tick(), wait);
      };
      await tick();
      state({ node, state: 'attached' });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      connection.console.error(`beam-lens: cannot attach to ${node}: ${message}`);
      state({ node, state: 'error', message });
      if (options.savedSessions !== false) loadSaved();
    }
  };

  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    if (timer) clearTimeout(timer);
    timer = null;
    const s = session;
    session = null;
    if (s) await s.detach().catch(() => undefined);
    parser.delete();
  };
  connection.onShutdown(cleanup);
  connection.onExit(() => {
    void cleanup().finally(() => process.exit(0));
  });
  connection.listen();
}
