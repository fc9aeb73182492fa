// Starts real Erlang and Elixir nodes for tests: unique -sname, random cookie, waits for them
// through EPMD (polling with a deadline), and stops them by rpc init:stop or by their own PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { Atom, type Term } from '../../src/etf';
import { Cookie, LocalNode, connect, listNodes, type NodeConnection, type TlsOptions } from '../../src/erldist';

let counter = 0;

export function uniqueName(prefix = 'bl'): string {
  return `${prefix}_${process.pid}_${++counter}_${randomBytes(3).toString('hex')}`;
}

export function shortHost(): string {
  return hostname().split('.')[0] as string;
}

/** Polls `condition` until it returns a value other than undefined/false, or throws after the deadline. */
export async function waitFor<T>(condition: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number, what: string, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await condition();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface TestNode {
  /** Full node name, name@host. */
  node: string;
  name: string;
  cookie: Cookie;
  cookieText: string;
  /** A file holding the cookie (mode 0600), for CLI tests. */
  cookieFile: string;
  process: ChildProcess;
  port: number;
  /** Output of the node so far (for failure messages). */
  output(): string;
  /** A connection for assertions, opened on first use and closed by stop(). */
  admin(): Promise<NodeConnection>;
  /** Evaluates an Erlang expression on the node (through our own rpc + erl_eval), with variable bindings. */
  eval(source: string, bindings?: Record<string, Term>): Promise<Term>;
  /** Compiles an Erlang module from source on the node and loads it (test and benchmark fixtures only). */
  loadModule(source: string): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  kind?: 'erlang' | 'elixir';
  /** Extra emulator arguments, e.g. ['-kernel', 'net_ticktime', '4'] or ['+P', '2000000']. */
  args?: string[];
  /** Use long names (-name x@127.0.0.1). */
  longNames?: boolean;
  /** For Elixir: code to run (-e); the node stays up with --no-halt. */
  elixirEval?: string;
  /** For Erlang: an expression to run at start (-eval). */
  erlangEval?: string;
  /** Command line to start instead (e.g. the demo's start.sh); gets NAME and COOKIE appended. */
  command?: { file: string; args: (name: string, cookie: string) => string[] };
  startTimeoutMs?: number;
  name?: string;
  /** For a node started with -proto_dist inet_tls: how the harness's own connection does TLS. */
  tls?: TlsOptions;
  /** The cookie to use (nodes of one test cluster share one); default: a random one per node. */
  cookieText?: string;
  /** Extra environment variables for the node (e.g. the demo's DEMO_* knobs). */
  env?: Record<string, string>;
}

const started = new Set<TestNode>();

const LOAD_MODULE = `
{ok, Toks, _} = erl_scan:string(Src),
Forms = (fun S([], [], Out) -> lists:reverse(Out);
             S([{dot, _} = D | R], Acc, Out) -> {ok, F} = erl_parse:parse_form(lists:reverse([D | Acc])), S(R, [], [F | Out]);
             S([T | R], Acc, Out) -> S(R, [T | Acc], Out) end)(Toks, [], []),
{ok, M, B} = compile:forms(Forms, [binary]),
{module, _} = code:load_binary(M, atom_to_list(M) ++ ".erl", B),
ok.`;

export async function startNode(options: StartOptions = {}): Promise<TestNode> {
  ensureEpmd();
  const name = options.name ?? uniqueName();
  const cookieText = options.cookieText ?? randomBytes(16).toString('hex');
  const dir = mkdtempSync(path.join(tmpdir(), 'beam-lens-test-'));
  const cookieFile = path.join(dir, 'cookie');
  writeFileSync(cookieFile, cookieText, { mode: 0o600 });
  const host = options.longNames ? '127.0.0.1' : shortHost();
  const node = `${name}@${host}`;
  let child: ChildProcess;
  if (options.command) {
    child = spawn(options.command.file, options.command.args(name, cookieText), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(options.env ?? {}) } });
  } else if (options.kind === 'elixir') {
    const nameFlag = options.longNames ? ['--name', node] : ['--sname', name];
    const erlArgs = options.args?.length ? ['--erl', options.args.join(' ')] : [];
    child = spawn('elixir', [...nameFlag, '--cookie', cookieText, ...erlArgs, '--no-halt', '-e', options.elixirEval ?? ':ok'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } else {
    const nameFlag = options.longNames ? ['-name', node] : ['-sname', name];
    child = spawn(
      'erl',
      [...nameFlag, '-setcookie', cookieText, '-noshell', '-noinput', ...(options.erlangEval ? ['-eval', options.erlangEval] : []), ...(options.args ?? [])],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  }
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  const epmdHost = options.longNames ? '127.0.0.1' : 'localhost';
  let port: number;
  try {
    port = await waitFor(
      async () => {
        if (exited) throw new Error(`node ${node} exited during start:\n${out}`);
        const nodes = await listNodes(epmdHost, { timeoutMs: 1000 });
        return nodes.find((n) => n.name === name)?.port;
      },
      options.startTimeoutMs ?? 60_000,
      `${node} to register in EPMD`,
    );
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\nnode output:\n${out}`);
  }
  const cookie = new Cookie(cookieText);
  let adminConn: NodeConnection | undefined;
  const { RemoteEvaluator } = await import('../../src/core/target/remote-eval');
  let evaluator: InstanceType<typeof RemoteEvaluator> | undefined;
  const t: TestNode = {
    node,
    name,
    cookie,
    cookieText,
    cookieFile,
    process: child,
    port,
    output: () => out,
    async admin() {
      // Named bl_admin_*, not beam_lens_*: the test's own connection is not a BEAM Lens instance (an
      // attaching instance asks every beam_lens_* node for its record of loaded modules).
      const localNode = new LocalNode({ name: `bl_admin_${randomBytes(4).toString('hex')}@${host}` });
      if (!adminConn || !adminConn.isOpen) adminConn = await connect({ node, cookie, localNode, host: epmdHost === 'localhost' ? shortHost() : host, timeoutMs: 5000, ...(options.tls ? { tls: options.tls } : {}) });
      return adminConn;
    },
    async eval(source: string, bindings: Record<string, Term> = {}) {
      const conn = await t.admin();
      if (!evaluator || !adminConn || adminConn !== conn) evaluator = new RemoteEvaluator(conn);
      return evaluator.eval(source, bindings, 30_000);
    },
    async loadModule(source: string) {
      await t.eval(LOAD_MODULE, { Src: [...source].map((c) => c.charCodeAt(0)) });
    },
    async stop() {
      started.delete(t);
      if (!exited) {
        try {
          const conn = await t.admin();
          await conn.rpc('init', 'stop', [], { timeoutMs: 3000 });
        } catch {
          child.kill('SIGTERM');
        }
        try {
          await waitFor(() => exited, 15_000, `${node} to exit`);
        } catch {
          child.kill('SIGKILL');
          await waitFor(() => exited, 5000, `${node} to die`);
        }
      }
      await adminConn?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  started.add(t);
  return t;
}

/** Stops every node a test started and did not stop itself (mocha root hook). */
export async function stopAllNodes(): Promise<void> {
  await Promise.all([...started].map((n) => n.stop().catch(() => undefined)));
}

let epmdChecked = false;
export function ensureEpmd(): void {
  if (epmdChecked) return;
  // Idempotent: does nothing when EPMD already runs.
  const r = spawnSync('epmd', ['-daemon']);
  if (r.error) throw new Error(`cannot start epmd (${r.error.message}); install Erlang: bash scripts/setup.sh`);
  epmdChecked = true;
}

export function charlist(t: Term): string {
  if (!Array.isArray(t)) throw new Error(`not a charlist: ${String(t)}`);
  return String.fromCharCode(...(t as number[]));
}

export const a = (name: string): Atom => Atom.of(name);
