// Real systems from Debian for tests: RabbitMQ and ejabberd started with their own commands,
// isolated (unique node name, temp dirs, free ports, their own cookie file), loaded by real
// clients from npm (amqplib, @xmpp/client), and stopped with their own stop commands.
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isAtom, type Term } from '../../../src/etf';
import { Cookie, connect, listNodes, type NodeConnection } from '../../../src/erldist';
import { RemoteEvaluator } from '../../../src/core/target/remote-eval';
import { Attachment } from '../../../src/core/attach/attachment';
import { ensureEpmd, waitFor } from '../harness';

const RABBIT_BIN = '/usr/lib/rabbitmq/bin';
const EJABBERDCTL = '/usr/sbin/ejabberdctl';

export function rabbitInstalled(): string | null {
  return existsSync(path.join(RABBIT_BIN, 'rabbitmq-server')) ? null : `RabbitMQ is not installed (${RABBIT_BIN}/rabbitmq-server missing): run bash scripts/setup.sh`;
}

export function ejabberdInstalled(): string | null {
  if (!existsSync(EJABBERDCTL)) return `ejabberd is not installed (${EJABBERDCTL} missing): run bash scripts/setup.sh`;
  if (process.getuid?.() !== 0) return 'ejabberd tests need root (ejabberdctl runs the server as the ejabberd user)';
  return null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, cwd: env.HOME ?? tmpdir() }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

export interface RealServer {
  node: string;
  cookieFile: string;
  /** The cookie, for attaching in-process (never on a command line). */
  cookie: string;
  dir: string;
  eval(source: string, bindings?: Record<string, Term>): Promise<Term>;
  stop(): Promise<void>;
}

async function adminFor(node: string, cookie: string): Promise<{ eval: RealServer['eval']; close(): Promise<void> }> {
  let conn: NodeConnection | null = null;
  let ev: RemoteEvaluator | null = null;
  return {
    async eval(source, bindings = {}) {
      if (conn === null || !conn.isOpen) {
        conn = await connect({ node, cookie: new Cookie(cookie), host: 'localhost', timeoutMs: 5000 });
        ev = new RemoteEvaluator(conn);
      }
      return (ev as RemoteEvaluator).eval(source, bindings, 30_000);
    },
    async close() {
      await conn?.close();
    },
  };
}

async function goneFromEpmd(name: string, timeoutMs: number): Promise<void> {
  await waitFor(async () => !(await listNodes('localhost', { timeoutMs: 1000 })).some((n) => n.name === name), timeoutMs, `${name} to leave EPMD`, 250);
}

export interface RabbitServer extends RealServer {
  amqpPort: number;
}

/** RabbitMQ with its own scripts: `rabbitmq-server -detached`, its cookie in $HOME, `rabbitmqctl stop`. */
export async function startRabbit(): Promise<RabbitServer> {
  ensureEpmd();
  const dir = mkdtempSync(path.join(tmpdir(), 'bl-rabbit-'));
  const name = `blrmq_${process.pid}_${randomBytes(3).toString('hex')}`;
  const node = `${name}@localhost`;
  const cookie = randomBytes(16).toString('hex');
  const cookieFile = path.join(dir, '.erlang.cookie');
  writeFileSync(cookieFile, cookie, { mode: 0o600 });
  const amqpPort = await freePort();
  const distPort = await freePort();
  writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(path.join(dir, 'rabbitmq-env.conf'), '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_PID_FILE: path.join(dir, 'rabbit.pid'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
  };
  const started = await run(path.join(RABBIT_BIN, 'rabbitmq-server'), ['-detached'], env);
  if (started.code !== 0) throw new Error(`rabbitmq-server -detached failed (${started.code}): ${started.out}`);
  // -detached returns at once; await_startup needs the node registered first.
  await waitFor(async () => (await listNodes('localhost', { timeoutMs: 1000 })).some((n) => n.name === name), 60_000, `${node} to register in EPMD`, 250);
  const ready = await run(path.join(RABBIT_BIN, 'rabbitmqctl'), ['await_startup', '--timeout', '90'], env, 120_000);
  if (ready.code !== 0) {
    await run(path.join(RABBIT_BIN, 'rabbitmqctl'), ['stop'], env).catch(() => undefined);
    await goneFromEpmd(name, 30_000).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`RabbitMQ did not start: ${ready.out}`);
  }
  const admin = await adminFor(node, cookie);
  return {
    node,
    cookieFile,
    cookie,
    dir,
    amqpPort,
    eval: admin.eval,
    async stop() {
      await admin.close();
      await run(path.join(RABBIT_BIN, 'rabbitmqctl'), ['stop'], env, 60_000);
      await goneFromEpmd(name, 30_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface EjabberdServer extends RealServer {
  c2sPort: number;
}

/** ejabberd with `ejabberdctl start` on its own config, spool, logs and node name; `ejabberdctl stop`. */
export async function startEjabberd(): Promise<EjabberdServer> {
  ensureEpmd();
  const dir = mkdtempSync(path.join(tmpdir(), 'bl-ejabberd-'));
  chmodSync(dir, 0o755);
  const name = `blej_${process.pid}_${randomBytes(3).toString('hex')}`;
  const node = `${name}@localhost`;
  const cookie = randomBytes(16).toString('hex');
  const c2sPort = await freePort();
  for (const d of ['spool', 'logs']) mkdirSync(path.join(dir, d));
  writeFileSync(
    path.join(dir, 'ejabberd.yml'),
    [
      'loglevel: warning',
      'hosts:',
      '  - localhost',
      'listen:',
      '  -',
      `    port: ${c2sPort}`,
      '    ip: "127.0.0.1"',
      '    module: ejabberd_c2s',
      '    max_stanza_size: 262144',
      '    access: c2s',
      '    starttls_required: false',
      'auth_method: anonymous',
      'anonymous_protocol: sasl_anon',
      'allow_multiple_connections: true',
      'acl:',
      '  local:',
      '    user_regexp: ""',
      'access_rules:',
      '  c2s:',
      '    allow: all',
      'shaper_rules:',
      '  max_user_sessions: 100',
      'modules:',
      '  mod_disco: {}',
      '  mod_ping: {}',
      '',
    ].join('\n'),
  );
  // The cookie goes to the server and to ejabberdctl's own client nodes through its config file.
  const ctlCfg = path.join(dir, 'ejabberdctl.cfg');
  writeFileSync(ctlCfg, `ERLANG_NODE=${node}\nERL_OPTIONS="-setcookie ${cookie}"\nEJABBERD_PID_PATH=${path.join(dir, 'ejabberd.pid')}\n`, { mode: 0o600 });
  const cookieFile = path.join(dir, 'cookie');
  writeFileSync(cookieFile, cookie, { mode: 0o600 });
  if (existsSync('/etc/ejabberd/inetrc')) copyFileSync('/etc/ejabberd/inetrc', path.join(dir, 'inetrc'));
  spawnSync('chown', ['-R', 'ejabberd', dir]);
  const args = ['--config-dir', dir, '--config', path.join(dir, 'ejabberd.yml'), '--ctl-config', ctlCfg, '--spool', path.join(dir, 'spool'), '--logs', path.join(dir, 'logs')];
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir };
  const started = await run(EJABBERDCTL, [...args, 'start'], env);
  if (started.code !== 0) throw new Error(`ejabberdctl start failed (${started.code}): ${started.out}`);
  const admin = await adminFor(node, cookie);
  try {
    await waitFor(
      async () => {
        const r = await admin.eval(`case lists:keyfind(ejabberd, 1, application:which_applications()) of false -> false; _ -> ejabberd_listener =/= undefined andalso whereis(ejabberd_c2s_sup) =/= undefined end.`);
        return isAtom(r, 'true');
      },
      90_000,
      'ejabberd to start',
      500,
    );
  } catch (err) {
    await run(EJABBERDCTL, [...args, 'stop'], env);
    await goneFromEpmd(name, 30_000).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    node,
    cookieFile,
    cookie,
    dir,
    c2sPort,
    eval: admin.eval,
    async stop() {
      await admin.close();
      await run(EJABBERDCTL, [...args, 'stop'], env, 60_000);
      await goneFromEpmd(name, 30_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** BEAM Lens attached in-process (what the editor's language server and extension use); detach when done. */
export async function attachTo(server: RealServer): Promise<Attachment> {
  const conn = await connect({ node: server.node, cookie: new Cookie(server.cookie), host: 'localhost', timeoutMs: 5000 });
  return new Attachment(conn, { env: 'local', grants: {} });
}

export interface Load {
  /** Counters of what the clients did. */
  stats(): Record<string, number>;
  stop(): Promise<void>;
}

/**
 * RabbitMQ under load, as the issue saw it: publishers into a queue nobody consumes, and a consumer
 * that stops reading its socket (behind a local proxy that stops reading from the broker), so
 * the channel's writer blocks in port_command; when RabbitMQ closes it on its send timeout the
 * consumer comes back.
 */
export async function rabbitLoad(amqpPort: number, options: { publishers?: number; ratePerPublisher?: number } = {}): Promise<Load> {
  const amqp = await import('amqplib');
  const url = `amqp://guest:guest@127.0.0.1:${amqpPort}`;
  const body = Buffer.alloc(512, 'o');
  const big = Buffer.alloc(4096, 'e');
  const publishers = await Promise.all(
    Array.from({ length: options.publishers ?? 3 }, async () => {
      const c = await amqp.connect(url);
      c.on('error', () => undefined);
      const ch = await c.createChannel();
      await ch.assertQueue('backlog.orders', { durable: false });
      await ch.assertQueue('stalled.events', { durable: false });
      return { c, ch };
    }),
  );
  let stopped = false;
  let published = 0;
  let reconnects = 0;
  let upstream: net.Socket | null = null;
  const sockets = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const up = net.connect(amqpPort, '127.0.0.1');
    upstream = up;
    sockets.add(client).add(up);
    client.on('data', (d) => up.write(d));
    up.on('data', (d) => client.write(d));
    const close = (): void => {
      client.destroy();
      up.destroy();
    };
    client.on('error', close).on('close', close);
    up.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyPort = (proxy.address() as net.AddressInfo).port;
  let consumer: Awaited<ReturnType<typeof amqp.connect>> | null = null;
  const startConsumer = async (): Promise<void> => {
    if (stopped) return;
    const c = await amqp.connect(`amqp://guest:guest@127.0.0.1:${proxyPort}`);
    consumer = c;
    c.on('error', () => undefined);
    c.on('close', () => {
      if (stopped) return;
      reconnects++;
      setTimeout(() => void startConsumer().catch(() => undefined), 200);
    });
    const ch = await c.createChannel();
    ch.on('error', () => undefined);
    await ch.consume('stalled.events', () => undefined, { noAck: true });
    const mine = upstream;
    setTimeout(() => mine?.pause(), 300);
  };
  await startConsumer();
  const perTick = Math.max(1, Math.round((options.ratePerPublisher ?? 600) / 20));
  const timer = setInterval(() => {
    for (const { ch } of publishers) {
      for (let k = 0; k < perTick; k++) {
        ch.sendToQueue('backlog.orders', body);
        ch.sendToQueue('stalled.events', big);
        published += 2;
      }
    }
  }, 50);
  return {
    stats: () => ({ published, reconnects }),
    async stop() {
      stopped = true;
      clearInterval(timer);
      // The stalled consumer cannot complete a close handshake through a proxy that stopped
      // reading: cut its sockets; publishers close normally (bounded in time).
      for (const s of sockets) s.destroy();
      void consumer;
      const bounded = (p: Promise<unknown>): Promise<unknown> => Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, 3000))]);
      await Promise.all(publishers.map((p) => bounded(p.c.close())));
      await bounded(new Promise<void>((resolve) => proxy.close(() => resolve())));
    },
  };
}

/**
 * AMQP clients that reconnect in a loop without any error: each connects, opens a channel, stays
 * `lifeMs`, closes cleanly and connects again. Counts what they opened and closed.
 */
export async function rabbitReconnects(amqpPort: number, clients: number, lifeMs: number): Promise<Load> {
  const amqp = await import('amqplib');
  const url = `amqp://guest:guest@127.0.0.1:${amqpPort}`;
  let stopped = false;
  let opened = 0;
  let closed = 0;
  const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        const c = await amqp.connect(url);
        opened++;
        c.on('error', () => undefined);
        await c.createChannel();
        await pause(lifeMs);
        await c.close();
        closed++;
      } catch {
        await pause(100);
      }
    }
  };
  const loops = Array.from({ length: clients }, () => loop());
  return {
    stats: () => ({ opened, closed }),
    async stop() {
      stopped = true;
      await Promise.race([Promise.all(loops), pause(lifeMs + 5000)]);
    },
  };
}

/** XMPP clients chatting in a ring (anonymous logins), each sending a message every `everyMs`. */
export async function xmppLoad(c2sPort: number, clients = 15, everyMs = 100): Promise<Load> {
  const { client, xml } = await import('@xmpp/client');
  const online: Array<{ x: ReturnType<typeof client>; jid: string }> = [];
  let sent = 0;
  let received = 0;
  for (let i = 0; i < clients; i++) {
    const x = client({ service: `xmpp://127.0.0.1:${c2sPort}`, domain: 'localhost' });
    x.on('error', () => undefined);
    x.on('stanza', (st: { is(n: string): boolean }) => {
      if (st.is('message')) received++;
    });
    const addr = await x.start();
    await x.send(xml('presence', {}));
    online.push({ x, jid: addr.toString() });
  }
  const timer = setInterval(() => {
    online.forEach((c, i) => {
      const to = online[(i + 1) % online.length]?.jid as string;
      c.x.send(xml('message', { to, type: 'chat' }, xml('body', {}, `hello ${sent++}`))).catch(() => undefined);
    });
  }, everyMs);
  return {
    stats: () => ({ sent, received, clients: online.length }),
    async stop() {
      clearInterval(timer);
      await Promise.all(online.map((c) => c.x.stop().catch(() => undefined)));
    },
  };
}

/** XMPP clients that log in, stay `lifeMs` and log out, in a loop (anonymous logins). Counts what they did. */
export async function xmppReconnects(c2sPort: number, clients: number, lifeMs: number): Promise<Load> {
  const { client, xml } = await import('@xmpp/client');
  let stopped = false;
  let opened = 0;
  let closed = 0;
  const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const x = client({ service: `xmpp://127.0.0.1:${c2sPort}`, domain: 'localhost' });
      x.on('error', () => undefined);
      try {
        await x.start();
        opened++;
        await x.send(xml('presence', {}));
        await pause(lifeMs);
        await x.stop();
        closed++;
      } catch {
        await x.stop().catch(() => undefined);
        await pause(100);
      }
    }
  };
  const loops = Array.from({ length: clients }, () => loop());
  return {
    stats: () => ({ opened, closed }),
    async stop() {
      stopped = true;
      await Promise.race([Promise.all(loops), pause(lifeMs + 5000)]);
    },
  };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (bin/beam-lens) in `cwd`. */
export function runCli(args: string[], cwd: string, timeoutMs = 120_000): Promise<CliRun> {
  const bin = path.join(__dirname, '../../../bin/beam-lens');
  return new Promise((resolve) => {
    execFile(bin, args, { cwd, env: { ...process.env, NO_COLOR: '1' }, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
