// Our side of the distribution: a node with processes (mailboxes with selective receive and
// deadlines), links and monitors in both directions, and the connections to target nodes.
import { randomBytes } from 'node:crypto';
import { Atom, Pid, Ref, Term, Tuple, atom, isAtom } from '../etf';
import { DOP, type Incoming } from './control';
import { DistError, timeoutError } from './errors';
import type { NodeConnection } from './connection';

type Matcher<T> = (message: Term) => T | undefined;

interface Waiter {
  matcher: Matcher<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export type RemoteTarget = Pid | { name: string; node: string };

/** What the messages a connection delivered and nobody has read yet weigh (frame bytes). */
export interface QueueAccount {
  bytes: number;
  messages: number;
}

interface Queued {
  message: Term;
  bytes: number;
  account: QueueAccount | undefined;
}

export class LocalProcess {
  private readonly queue: Queued[] = [];
  private readonly waiters: Waiter[] = [];
  /** Remote pids we are linked to. */
  readonly links = new Map<string, Pid>();
  /** Monitors we hold: ref key -> what we monitor. */
  readonly monitors = new Map<string, { ref: Ref; target: Pid | Atom; node: string }>();
  /** Monitors remote processes hold on us: ref key -> the monitoring pid. */
  readonly monitoredBy = new Map<string, { ref: Ref; from: Pid }>();
  private alive = true;

  constructor(
    readonly node: LocalNode,
    readonly pid: Pid,
  ) {}

  get isAlive(): boolean {
    return this.alive;
  }

  /** Messages waiting, oldest first (for tests and diagnostics). */
  get pending(): readonly Term[] {
    return this.queue.map((q) => q.message);
  }

  /** Delivers a message; when it is queued unread, its weight is charged to `account` until it is read. */
  deliver(message: Term, bytes = 0, account?: QueueAccount): void {
    if (!this.alive) return;
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i] as Waiter;
      const v = w.matcher(message);
      if (v !== undefined) {
        this.waiters.splice(i, 1);
        if (w.timer) clearTimeout(w.timer);
        w.resolve(v);
        return;
      }
    }
    this.queue.push({ message, bytes, account });
    if (account) {
      account.bytes += bytes;
      account.messages++;
    }
  }

  private dequeue(i: number): Term {
    const [q] = this.queue.splice(i, 1) as [Queued];
    if (q.account) {
      q.account.bytes -= q.bytes;
      q.account.messages--;
    }
    return q.message;
  }

  /**
   * Selective receive: resolves with the first message (oldest first) the matcher accepts,
   * leaving the others queued; rejects with a timeout error after timeoutMs.
   */
  receive<T>(matcher: Matcher<T>, timeoutMs = Infinity): Promise<T> {
    if (!this.alive) return Promise.reject(new DistError('nodeDown', 'the receiving process has exited'));
    for (let i = 0; i < this.queue.length; i++) {
      const v = matcher((this.queue[i] as Queued).message);
      if (v !== undefined) {
        this.dequeue(i);
        return Promise.resolve(v);
      }
    }
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = { matcher, resolve: resolve as (v: unknown) => void, reject, timer: undefined };
      if (Number.isFinite(timeoutMs)) {
        waiter.timer = setTimeout(() => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(timeoutError('receive', timeoutMs));
        }, timeoutMs);
      }
      this.waiters.push(waiter);
    });
  }

  send(to: RemoteTarget, message: Term): void {
    this.node.send(this, to, message);
  }

  link(remote: Pid): void {
    this.links.set(remote.key, remote);
    this.node.connectionOf(remote.node.name).sendControl([DOP.LINK, this.pid, remote]);
  }

  unlink(remote: Pid): void {
    if (!this.links.delete(remote.key)) return;
    const conn = this.node.connectionOf(remote.node.name);
    conn.sendControl([DOP.UNLINK_ID, conn.nextUnlinkId(), this.pid, remote]);
  }

  monitor(target: RemoteTarget): Ref {
    const ref = this.node.makeRef();
    const nodeName = target instanceof Pid ? target.node.name : target.node;
    const to = target instanceof Pid ? target : Atom.of(target.name);
    this.monitors.set(ref.key, { ref, target: to, node: nodeName });
    this.node.connectionOf(nodeName).sendControl([DOP.MONITOR_P, this.pid, to, ref]);
    return ref;
  }

  demonitor(ref: Ref): void {
    const m = this.monitors.get(ref.key);
    if (!m) return;
    this.monitors.delete(ref.key);
    this.node.connectionIfAny(m.node)?.sendControl([DOP.DEMONITOR_P, this.pid, m.target, ref]);
  }

  /**
   * Rejects every receive still waiting (after EXIT/DOWN messages were offered to them): used when
   * the node this process was linked to or monitored went away, so nothing waits for its deadline.
   */
  failWaiters(error: Error): void {
    for (const w of this.waiters.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(error);
    }
  }

  /** Ends the process: linked remote processes get an exit signal, remote monitors a DOWN. */
  exit(reason: Term = atom('normal')): void {
    if (!this.alive) return;
    this.alive = false;
    for (const remote of this.links.values()) {
      this.node.connectionIfAny(remote.node.name)?.sendExit(this.pid, remote, reason);
    }
    for (const { ref, from } of this.monitoredBy.values()) {
      this.node.connectionIfAny(from.node.name)?.sendMonitorExit(this.pid, from, ref, reason);
    }
    for (const { ref, target, node } of this.monitors.values()) {
      this.node.connectionIfAny(node)?.sendControl([DOP.DEMONITOR_P, this.pid, target, ref]);
    }
    this.links.clear();
    this.monitors.clear();
    this.monitoredBy.clear();
    while (this.queue.length > 0) this.dequeue(this.queue.length - 1);
    for (const w of this.waiters.splice(0)) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(new DistError('nodeDown', 'the receiving process has exited'));
    }
    this.node.forget(this);
  }
}

export interface LocalNodeOptions {
  /** Full node name, e.g. beam_lens_ab12@myhost. */
  name: string;
}

export class LocalNode {
  readonly atom: Atom;
  readonly creation: number;
  private nextId = 1;
  private refCounter = 0;
  private readonly refSeed = randomBytes(8);
  private readonly processes = new Map<number, LocalProcess>();
  private readonly registered = new Map<string, LocalProcess>();
  private readonly connections = new Map<string, NodeConnection>();
  readonly groupLeader: LocalProcess;

  constructor(readonly options: LocalNodeOptions) {
    this.atom = Atom.of(options.name);
    // Creation identifies this incarnation; 0 to 3 are avoided (they mean "old style" to some nodes).
    this.creation = 4 + (randomBytes(4).readUInt32BE(0) % 0xfffffff0);
    this.groupLeader = this.spawn();
    this.groupLeader.deliver = (message: Term) => this.answerIoRequest(message);
  }

  get name(): string {
    return this.options.name;
  }

  spawn(): LocalProcess {
    const pid = new Pid(this.atom, this.nextId++, 0, this.creation);
    const p = new LocalProcess(this, pid);
    this.processes.set(pid.id, p);
    return p;
  }

  register(name: string, p: LocalProcess): void {
    this.registered.set(name, p);
  }

  makeRef(): Ref {
    const n = ++this.refCounter;
    return new Ref(this.atom, this.creation, [n & 0x3ffff, this.refSeed.readUInt32BE(0), (this.refSeed.readUInt32BE(4) + Math.floor(n / 0x40000)) >>> 0]);
  }

  forget(p: LocalProcess): void {
    this.processes.delete(p.pid.id);
    for (const [name, q] of this.registered) if (q === p) this.registered.delete(name);
  }

  process(pid: Pid): LocalProcess | undefined {
    if (pid.node !== this.atom || pid.creation !== this.creation) return undefined;
    return this.processes.get(pid.id);
  }

  addConnection(conn: NodeConnection): void {
    this.connections.set(conn.peer, conn);
  }

  connectionIfAny(peer: string): NodeConnection | undefined {
    return this.connections.get(peer);
  }

  connectionOf(peer: string): NodeConnection {
    const c = this.connections.get(peer);
    if (!c) throw new DistError('nodeDown', `not connected to ${peer}`);
    return c;
  }

  get connectedNodes(): string[] {
    return [...this.connections.keys()];
  }

  send(from: LocalProcess, to: RemoteTarget, message: Term): void {
    if (to instanceof Pid) {
      if (to.node === this.atom) {
        this.process(to)?.deliver(message);
        return;
      }
      this.connectionOf(to.node.name).sendControl([DOP.SEND_SENDER, from.pid, to], message);
    } else {
      this.connectionOf(to.node).sendControl([DOP.REG_SEND, from.pid, atom(''), Atom.of(to.name)], message);
    }
  }

  /** Acts on a control message that arrived on `conn`. */
  handle(conn: NodeConnection, m: Incoming, frameBytes = 0, account?: QueueAccount): void {
    switch (m.op) {
      case 'send':
        this.process(m.to)?.deliver(m.message, frameBytes, account);
        return;
      case 'reg_send':
        this.registered.get(m.toName)?.deliver(m.message, frameBytes, account);
        return;
      case 'alias_send':
        return;
      case 'link': {
        const p = this.process(m.to);
        if (p) p.links.set(m.from.key, m.from);
        else conn.sendExit(m.to, m.from, atom('noproc'));
        return;
      }
      case 'unlink': {
        this.process(m.to)?.links.delete(m.from.key);
        if (m.id !== undefined) conn.sendControl([DOP.UNLINK_ID_ACK, m.id, m.to, m.from]);
        return;
      }
      case 'unlink_ack':
        return;
      case 'exit': {
        const p = this.process(m.to);
        if (!p) return;
        if (m.kind === 'link' && !p.links.delete(m.from.key)) return;
        // Our processes trap exits: the signal becomes a message.
        p.deliver(new Tuple([atom('EXIT'), m.from, m.reason]));
        return;
      }
      case 'monitor': {
        const p = m.to instanceof Pid ? this.process(m.to) : this.registered.get(m.to.name);
        if (p) p.monitoredBy.set(m.ref.key, { ref: m.ref, from: m.from });
        else conn.sendMonitorExit(m.to, m.from, m.ref, atom('noproc'));
        return;
      }
      case 'demonitor': {
        const p = m.to instanceof Pid ? this.process(m.to) : this.registered.get(m.to.name);
        p?.monitoredBy.delete(m.ref.key);
        return;
      }
      case 'monitor_exit': {
        const p = this.process(m.to);
        if (!p || !p.monitors.delete(m.ref.key)) return;
        p.deliver(new Tuple([atom('DOWN'), m.ref, atom('process'), m.from, m.reason]));
        return;
      }
      case 'ignored':
        return;
    }
  }

  /** The connection to `peer` is gone: links and monitors across it fire with noconnection. */
  connectionDown(conn: NodeConnection): void {
    if (this.connections.get(conn.peer) !== conn) return;
    this.connections.delete(conn.peer);
    const peerAtom = Atom.of(conn.peer);
    const error = conn.closeError ?? new DistError('nodeDown', `node ${conn.peer} went down`);
    for (const p of [...this.processes.values()]) {
      let tied = false;
      for (const [key, remote] of p.links) {
        if (remote.node !== peerAtom) continue;
        tied = true;
        p.links.delete(key);
        p.deliver(new Tuple([atom('EXIT'), remote, atom('noconnection')]));
      }
      for (const [key, mon] of p.monitors) {
        if (mon.node !== conn.peer) continue;
        tied = true;
        p.monitors.delete(key);
        const who = mon.target instanceof Pid ? mon.target : new Tuple([mon.target, peerAtom]);
        p.deliver(new Tuple([atom('DOWN'), mon.ref, atom('process'), who, atom('noconnection')]));
      }
      for (const [key, mon] of p.monitoredBy) {
        if (mon.from.node !== peerAtom) continue;
        tied = true;
        p.monitoredBy.delete(key);
      }
      if (tied) p.failWaiters(new DistError(error.kind, error.message));
    }
  }

  /** A minimal group leader: output from rpc'd code is accepted and dropped; input is refused. */
  private answerIoRequest(message: Term): void {
    if (!(message instanceof Tuple) || message.elements.length !== 4 || !isAtom(message.elements[0], 'io_request')) return;
    const [, from, replyAs, request] = message.elements;
    if (!(from instanceof Pid)) return;
    const isOutput = request instanceof Tuple && (isAtom(request.elements[0], 'put_chars') || isAtom(request.elements[0], 'requests'));
    const reply = isOutput ? atom('ok') : new Tuple([atom('error'), atom('enotsup')]);
    this.connectionIfAny(from.node.name)?.sendControl([DOP.SEND_SENDER, this.groupLeader.pid, from], new Tuple([atom('io_reply'), replyAs as Term, reply]));
  }
}
