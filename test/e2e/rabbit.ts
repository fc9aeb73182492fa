// A RabbitMQ broker from Debian for the e2e tests, isolated from any system one: its own temp
// HOME (so its own ~/.erlang.cookie), data, log and config dirs, a unique node name
// (bl_rmq_…@localhost — EPMD lists it as bl_rmq_…@<this host>, the case that broke attach),
// its own AMQP and distribution ports, no plugins. Stopped by rpc init:stop, then by its PID.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { RemoteEvaluator } from '../../src/core/target/remote-eval';
import { Cookie, connect, listNodes, type NodeConnection } from '../../src/erldist';
import type { Term } from '../../src/etf';
import { until } from './driver';

export const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

export interface Rabbit {
  /** The node's own name: name@localhost. */
  node: string;
  name: string;
  cookieFile: string;
  cookieText: string;
  amqpUrl: string;
  /** Our own admin connection (a hidden node of its own; its name is `adminName`). */
  adminName(): Promise<string>;
  eval(source: string, bindings?: Record<string, Term>): Promise<Term>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function startRabbit(): Promise<Rabbit> {
  if (!existsSync(RABBITMQ_SERVER)) throw new Error(`${RABBITMQ_SERVER} is missing: apt-get install rabbitmq-server`);
  const base = mkdtempSync(path.join(tmpdir(), 'beam-lens-rmq-'));
  const home = path.join(base, 'home');
  for (const d of [home, path.join(base, 'mnesia'), path.join(base, 'log')]) mkdirSync(d, { recursive: true });
  const cookieText = randomBytes(16).toString('hex');
  const cookieFile = path.join(home, '.erlang.cookie');
  writeFileSync(cookieFile, cookieText, { mode: 0o600 });
  const amqpPort = await freePort();
  const distPort = await freePort();
  writeFileSync(path.join(base, 'rabbitmq.conf'), `listeners.tcp.default = 127.0.0.1:${amqpPort}\nloopback_users = none\n`);
  writeFileSync(path.join(base, 'enabled_plugins'), '[].\n');
  const name = `bl_rmq_${randomBytes(3).toString('hex')}`;
  const node = `${name}@localhost`;
  const env = {
    ...process.env,
    HOME: home,
    RABBITMQ_NODENAME: node,
    RABBITMQ_USE_LONGNAME: 'false',
    RABBITMQ_MNESIA_BASE: path.join(base, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(base, 'log'),
    RABBITMQ_CONFIG_FILE: path.join(base, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(base, 'enabled_plugins'),
    RABBITMQ_PID_FILE: path.join(base, 'pid'),
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
  };
  const starter = spawn(RABBITMQ_SERVER, ['-detached'], { env, stdio: 'ignore' });
  await new Promise((r) => starter.once('exit', r));
  const cookie = new Cookie(cookieText);
  let conn: NodeConnection | undefined;
  let evaluator: RemoteEvaluator | undefined;
  const admin = async (): Promise<RemoteEvaluator> => {
    if (!conn || !conn.isOpen) {
      conn = await connect({ node, host: 'localhost', cookie, timeoutMs: 5000 });
      evaluator = new RemoteEvaluator(conn);
    }
    return evaluator as RemoteEvaluator;
  };
  const pidOf = (): number | null => {
    try {
      return Number(readFileSync(path.join(base, 'pid'), 'utf8').trim()) || null;
    } catch {
      return null;
    }
  };
  const alive = (pid: number | null): boolean => {
    if (pid === null) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const r: Rabbit = {
    node,
    name,
    cookieFile,
    cookieText,
    amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
    adminName: async () => {
      await admin();
      return conn?.localName ?? '';
    },
    eval: async (source, bindings = {}) => (await admin()).eval(source, bindings, 30_000),
    stop: async () => {
      const pid = pidOf();
      try {
        await (await admin()).eval('init:stop().', {}, 5000);
      } catch {
        if (alive(pid) && pid !== null) process.kill(pid, 'SIGTERM');
      }
      await conn?.close();
      await until(`${node} to stop`, () => !alive(pid), 30_000, 200).catch(() => {
        if (alive(pid) && pid !== null) process.kill(pid, 'SIGKILL');
      });
      await until(`${name} to leave EPMD`, async () => !(await listNodes('localhost', { timeoutMs: 1000 })).some((n) => n.name === name), 15_000, 200).catch(() => undefined);
      rmSync(base, { recursive: true, force: true });
    },
  };
  try {
    await until(`RabbitMQ ${node} to boot`, async () => String(await r.eval('rabbit:is_running().')) === 'true', 180_000, 1000);
  } catch (err) {
    let log = '';
    try {
      log = readFileSync(path.join(base, 'log', `${node}.log`), 'utf8').slice(-3000);
    } catch {
      // no log yet
    }
    await r.stop().catch(() => undefined);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${log}`);
  }
  return r;
}

/** Declares `count` queues q000… and publishes `messages(i)` messages to each (amqplib, a real client). */
export async function makeQueues(url: string, count: number, messages: (i: number) => number): Promise<void> {
  const amqp = await import('amqplib');
  const c = await amqp.connect(url);
  try {
    const ch = await c.createConfirmChannel();
    for (let i = 0; i < count; i++) {
      const q = `q${String(i).padStart(3, '0')}`;
      await ch.assertQueue(q, { durable: false });
      for (let m = 0; m < messages(i); m++) ch.sendToQueue(q, Buffer.from(`message ${m} of ${q}`));
    }
    await ch.waitForConfirms();
    await ch.close();
  } finally {
    await c.close();
  }
}
