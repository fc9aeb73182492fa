// A hostile fake node for tests: registers in EPMD, speaks the distribution handshake (as the
// accepting side) with the test's cookie, then, on the first frame it gets, runs an attack: a
// compressed bomb, an oversized frame, huge declared sizes, deep nesting, an atom flood, a
// trickle, garbage. It never trusts the client and never decodes more than the client's first frame.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { deflateSync } from 'node:zlib';
import { Atom, Pid, Tuple, encode, type Term } from '../../src/etf';
import { DOP, decodeFrame } from '../../src/erldist/control';
import { OUR_FLAGS } from '../../src/erldist/flags';
import { ensureEpmd, shortHost, uniqueName } from './harness';

/** What an attack may use: the socket, and the pid that made the first rpc (to aim replies at it). */
export interface AttackContext {
  socket: net.Socket;
  caller: Pid | null;
  /** The fake node's own name atom, for pids it makes up. */
  self: Atom;
  /** Resolves when the client has closed the connection. */
  closed: Promise<void>;
}

export type Attack = (ctx: AttackContext) => Promise<void>;

export interface FakeNode {
  node: string;
  name: string;
  port: number;
  /** When the attack began (ms since epoch), per connection in order. */
  attackStarts: number[];
  stop(): Promise<void>;
}

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** A frame: 4-byte length, 'p', the control term, then raw payload bytes (a whole term with its 131). */
export function rawFrame(control: Term[], payload: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from([112]), encode(new Tuple(control)), payload]);
  return Buffer.concat([u32(body.length), body]);
}

function sendTo(ctx: AttackContext, payload: Buffer): Buffer {
  const to = ctx.caller ?? new Pid(ctx.self, 1, 0, 1);
  return rawFrame([DOP.SEND_SENDER, new Pid(ctx.self, 42, 0, 1), to], payload);
}

/** Writes with backpressure until done or the client hangs up. */
async function writeAll(socket: net.Socket, chunks: Iterable<Buffer>): Promise<void> {
  for (const chunk of chunks) {
    if (socket.destroyed) return;
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        socket.once('drain', resolve);
        socket.once('close', resolve);
      });
    }
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const attacks: Record<string, Attack> = {
  /** A compressed term whose header claims 1 GiB. */
  'compressed term claiming 1 GiB': async (ctx) => {
    const z = deflateSync(Buffer.alloc(1 << 20));
    await writeAll(ctx.socket, [sendTo(ctx, Buffer.concat([Buffer.from([131, 80]), u32(1 << 30), z]))]);
  },
  /** A header that claims 1 MiB, with zlib data that inflates to 64 MiB (a classic bomb). */
  'zlib bomb under a small header': async (ctx) => {
    const z = deflateSync(Buffer.alloc(64 << 20), { level: 9 });
    await writeAll(ctx.socket, [sendTo(ctx, Buffer.concat([Buffer.from([131, 80]), u32(1 << 20), z]))]);
  },
  /** A length prefix of 1.5 GiB, then 700 MB of it. */
  'frame claiming 1.5 GiB, then 700 MB': async (ctx) => {
    const chunk = Buffer.alloc(1 << 20, 0x61);
    await writeAll(ctx.socket, [u32(1.5 * 2 ** 30), Buffer.from([112])]);
    await writeAll(ctx.socket, (function* () {
      for (let i = 0; i < 700; i++) yield chunk;
    })());
  },
  'list claiming 2^31 elements': async (ctx) => {
    await writeAll(ctx.socket, [sendTo(ctx, Buffer.concat([Buffer.from([131, 108]), u32(2 ** 31), Buffer.alloc(64, 97)]))]);
  },
  'map claiming 2^32-1 pairs': async (ctx) => {
    await writeAll(ctx.socket, [sendTo(ctx, Buffer.concat([Buffer.from([131, 116]), u32(2 ** 32 - 1), Buffer.alloc(64, 97)]))]);
  },
  'tuple claiming 2^32-1 elements': async (ctx) => {
    await writeAll(ctx.socket, [sendTo(ctx, Buffer.concat([Buffer.from([131, 105]), u32(2 ** 32 - 1), Buffer.alloc(64, 97)]))]);
  },
  'binary claiming 4 GiB': async (ctx) => {
    await writeAll(ctx.socket, [sendTo(ctx, Buffer.concat([Buffer.from([131, 109]), u32(2 ** 32 - 1), Buffer.alloc(64, 97)]))]);
  },
  /** 60 MB of one-byte empty lists inside lists of 10,000: each costs ~30 bytes once decoded. */
  'amplification: 60 MB of empty lists': async (ctx) => {
    const inner = Buffer.concat([Buffer.from([108]), u32(10_000), Buffer.alloc(10_000, 106), Buffer.from([106])]);
    const n = Math.floor((60 << 20) / inner.length);
    const head = Buffer.concat([Buffer.from([131, 108]), u32(n)]);
    const payload = Buffer.concat([head, ...new Array<Buffer>(n).fill(inner), Buffer.from([106])]);
    await writeAll(ctx.socket, [sendTo(ctx, payload)]);
  },
  /** A million nested one-element lists. */
  'nesting a million levels deep': async (ctx) => {
    const depth = 1_000_000;
    const open = Buffer.concat([Buffer.from([108]), u32(1)]);
    const parts: Buffer[] = [Buffer.from([131])];
    for (let i = 0; i < depth; i++) parts.push(open);
    parts.push(Buffer.from([106]));
    for (let i = 0; i < depth; i++) parts.push(Buffer.from([106]));
    await writeAll(ctx.socket, [sendTo(ctx, Buffer.concat(parts))]);
  },
  /** Frames of 20,000 never-seen atoms each, to a process that does not exist, until hung up on. */
  'atom flood to nowhere': async (ctx) => {
    let done = false;
    void ctx.closed.then(() => (done = true));
    for (let f = 0; f < 400 && !done; f++) {
      const prefix = randomBytes(4).toString('hex');
      const parts: Buffer[] = [Buffer.from([131, 108]), u32(20_000)];
      for (let i = 0; i < 20_000; i++) {
        const name = Buffer.from(`${prefix}_${i}`);
        parts.push(Buffer.from([119, name.length]), name);
      }
      parts.push(Buffer.from([106]));
      const to = ctx.caller ? new Pid(ctx.caller.node, 0x7ffffff, 0, ctx.caller.creation) : new Pid(ctx.self, 9, 0, 1);
      await writeAll(ctx.socket, [rawFrame([DOP.SEND_SENDER, new Pid(ctx.self, 42, 0, 1), to], Buffer.concat(parts))]);
    }
  },
  /** 200,000 small messages the caller never asked for. */
  'mailbox flood': async (ctx) => {
    const one = sendTo(ctx, encode(new Tuple([Atom.of('junk'), 1])));
    await writeAll(ctx.socket, (function* () {
      for (let i = 0; i < 200; i++) yield Buffer.concat(new Array<Buffer>(1000).fill(one));
    })());
  },
  /** A frame claiming 1 MiB that arrives 16 bytes every 100 ms, forever. */
  'trickle of a frame': async (ctx) => {
    await writeAll(ctx.socket, [u32(1 << 20), Buffer.from([112])]);
    let done = false;
    void ctx.closed.then(() => (done = true));
    for (let i = 0; i < 600 && !done; i++) {
      await writeAll(ctx.socket, [Buffer.alloc(16, 0x61)]);
      await sleep(100);
    }
  },
  /** A well-formed frame whose control tuple has the wrong types (a number where a name goes). */
  'control message with wrong types': async (ctx) => {
    await writeAll(ctx.socket, [rawFrame([DOP.REG_SEND, new Pid(ctx.self, 42, 0, 1), Atom.of(''), 42], encode(Atom.of('hello')))]);
  },
  /** Random bytes where a frame should be. */
  'garbage after the handshake': async (ctx) => {
    await writeAll(ctx.socket, [u32(4096), randomBytes(4096)]);
  },
};

export interface FakeNodeOptions {
  cookie: string;
  attack: Attack;
}

/** Starts the fake node; it serves any number of connections, each attacked after its first frame. */
export async function startFakeNode(options: FakeNodeOptions): Promise<FakeNode> {
  ensureEpmd();
  const name = uniqueName('bl_fake');
  const node = `${name}@${shortHost()}`;
  const self = Atom.of(node);
  const attackStarts: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    void serve(socket, options, self, attackStarts).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const port = (server.address() as net.AddressInfo).port;
  const epmd = await registerInEpmd(name, port);
  return {
    node,
    name,
    port,
    attackStarts,
    async stop() {
      epmd.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** ALIVE2_REQ; EPMD keeps the name while this socket stays open. */
async function registerInEpmd(name: string, port: number): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port: Number(process.env.ERL_EPMD_PORT) || 4369 });
  const nameBytes = Buffer.from(name);
  const body = Buffer.alloc(1 + 2 + 1 + 1 + 2 + 2 + 2 + nameBytes.length + 2);
  let o = 0;
  body[o++] = 120;
  body.writeUInt16BE(port, o);
  o += 2;
  body[o++] = 77; // a normal node
  body[o++] = 0; // tcp/ip v4
  body.writeUInt16BE(6, o);
  o += 2;
  body.writeUInt16BE(6, o);
  o += 2;
  body.writeUInt16BE(nameBytes.length, o);
  o += 2;
  nameBytes.copy(body, o);
  const head = Buffer.alloc(2);
  head.writeUInt16BE(body.length);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.write(Buffer.concat([head, body]));
  const reply = await new Promise<Buffer>((resolve, reject) => {
    socket.once('data', resolve);
    socket.once('error', reject);
  });
  if ((reply[0] !== 121 && reply[0] !== 118) || reply[1] !== 0) throw new Error(`EPMD refused the fake node (${reply.toString('hex')})`);
  return socket;
}

async function serve(socket: net.Socket, options: FakeNodeOptions, self: Atom, attackStarts: number[]): Promise<void> {
  let buf = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  let closed = false;
  const closedPromise = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void closedPromise.then(() => {
    closed = true;
    wake?.();
  });
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    wake?.();
  });
  const need = async (n: number): Promise<Buffer> => {
    while (buf.length < n) {
      if (closed) throw new Error('closed');
      await new Promise<void>((r) => (wake = r));
      wake = null;
    }
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    return out;
  };
  const msg = async (): Promise<Buffer> => need((await need(2)).readUInt16BE(0));
  const send = (body: Buffer): void => {
    const head = Buffer.alloc(2);
    head.writeUInt16BE(body.length);
    socket.write(Buffer.concat([head, body]));
  };
  const digest = (challenge: number): Buffer => createHash('md5').update(options.cookie).update(String(challenge >>> 0)).digest();

  const sendName = await msg();
  if (sendName[0] !== 78) throw new Error('expected send_name');
  send(Buffer.from('sok'));
  const challenge = randomBytes(4).readUInt32BE(0);
  const nameBytes = Buffer.from(self.name);
  const ch = Buffer.alloc(1 + 8 + 4 + 4 + 2 + nameBytes.length);
  ch[0] = 78;
  ch.writeBigUInt64BE(OUR_FLAGS | 1n, 1);
  ch.writeUInt32BE(challenge, 9);
  ch.writeUInt32BE(7, 13);
  ch.writeUInt16BE(nameBytes.length, 17);
  nameBytes.copy(ch, 19);
  send(ch);
  const reply = await msg();
  if (reply[0] !== 114 || !reply.subarray(5, 21).equals(digest(challenge))) {
    socket.destroy();
    return;
  }
  const a = Buffer.alloc(17);
  a[0] = 97;
  digest(reply.readUInt32BE(1)).copy(a, 1);
  send(a);
  // Frames: answer ticks, and net_kernel:get_net_ticktime() (which a client asks in the
  // background, as 60); the first other frame (an rpc to rex) starts the attack, aimed at its caller.
  let caller: Pid | null = null;
  for (;;) {
    const len = (await need(4)).readUInt32BE(0);
    if (len === 0) {
      socket.write(Buffer.alloc(4));
      continue;
    }
    const body = await need(len);
    const m = decodeFrame(body);
    const call = m.op === 'reg_send' && m.message instanceof Tuple ? m.message : null;
    const from = call?.elements[0];
    const req = call?.elements[1];
    if (from instanceof Pid && req instanceof Tuple && req.elements[1] instanceof Atom && req.elements[1].name === 'net_kernel') {
      socket.write(rawFrame([DOP.SEND_SENDER, new Pid(self, 42, 0, 1), from], encode(new Tuple([Atom.of('rex'), 60]))));
      continue;
    }
    if (from instanceof Pid) caller = from;
    break;
  }
  attackStarts.push(Date.now());
  await options.attack({ socket, caller, self, closed: closedPromise });
  // Keep answering nothing; the client is expected to hang up.
  socket.on('data', () => undefined);
}
