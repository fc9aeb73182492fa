// One connection to one target node, after the handshake: frames, ticks, control messages, rpc.
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Atom, EtfDecodeError, EtfLimitError, Pid, Ref, Term, Tuple, atom, formatTerm, isAtom, type DecodeLimits } from '../etf';
import { DOP, NETWORK_DECODE_LIMITS, decodeFrame, encodeControl } from './control';
import { DistError, RpcError, socketProblem } from './errors';
import { DFLAG, has } from './flags';
import { DEFAULT_FRAME_LIMITS, FrameReader, TICK, type FrameLimits } from './framing';
import type { LocalNode, LocalProcess, QueueAccount } from './local-node';

/** Every bound one connection enforces on what the peer sends; breaking one ends the connection with a `protocol` error. */
export interface ConnectionLimits extends FrameLimits, DecodeLimits {
  /** Bytes of delivered messages nobody has read yet (default 64 MiB). */
  maxQueuedBytes: number;
  /** Count of delivered messages nobody has read yet (default 100,000). */
  maxQueuedMessages: number;
  /** New atoms per minute (default 250,000; a node's whole default atom table is 1,048,576). */
  maxNewAtomsPerMinute: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  ...DEFAULT_FRAME_LIMITS,
  ...NETWORK_DECODE_LIMITS,
  maxQueuedBytes: 16 * 1024 * 1024,
  maxQueuedMessages: 100_000,
  maxNewAtomsPerMinute: 250_000,
};

/**
 * The caps for messages of up to `mb` MiB: the frame cap, and 1.5x it for what one frame may
 * decode to (64 MiB gives the defaults). For nodes whose replies are larger (e.g. erlang:processes()
 * on a node with millions of processes); every cap breaks with a message that names it.
 */
export function limitsForMessageMb(mb: number): Partial<ConnectionLimits> {
  if (!Number.isFinite(mb) || mb < 1 || mb > 4095) throw new DistError('usage', `the message size limit must be from 1 to 4095 MiB, got ${mb}`);
  return { maxFrameBytes: Math.floor(mb * 1024 * 1024), maxDecodedBytes: Math.floor(mb * 1.5 * 1024 * 1024) };
}

export interface ConnectionOptions {
  /** How often we tick when we have sent nothing else (default 15 s: net_ticktime 60 / 4). */
  tickIntervalMs?: number;
  /** Drop the connection after this long without hearing from the peer (default 5 tick intervals, as net_ticktime x 1.25). */
  silenceTimeoutMs?: number;
  limits?: Partial<ConnectionLimits>;
}

export interface RpcCallOptions {
  timeoutMs?: number;
}

export interface Disposable {
  dispose(): void;
}

export class NodeConnection {
  private readonly frames: FrameReader;
  private readonly limits: ConnectionLimits;
  private readonly queued: QueueAccount = { bytes: 0, messages: 0 };
  private atomWindow = { since: Date.now(), made: 0 };
  private lastSent = Date.now();
  private lastReceived = Date.now();
  private ticker: NodeJS.Timeout;
  private tickMs: number;
  private silenceMs: number;
  private unlinkId = 0n;
  private closeListeners = new Set<(reason: string) => void>();
  /** Bytes received and sent on this connection (frames, ticks and headers included). */
  readonly traffic = { bytesIn: 0, bytesOut: 0 };
  private closedReason: string | null = null;
  private closedError: DistError | null = null;
  /** Resolves when the connection has ended, with why. */
  readonly closed: Promise<string>;
  private resolveClosed!: (reason: string) => void;

  constructor(
    readonly node: LocalNode,
    private readonly socket: net.Socket,
    readonly peer: string,
    readonly peerFlags: bigint,
    readonly peerCreation: number,
    firstBytes: Buffer,
    options: ConnectionOptions = {},
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
    this.frames = new FrameReader(this.limits);
    this.tickMs = options.tickIntervalMs ?? 15_000;
    this.silenceMs = options.silenceTimeoutMs ?? this.tickMs * 5;
    node.addConnection(this);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.shutdown(new DistError('nodeDown', `node ${peer} went down (the connection closed)`)));
    socket.on('error', (err: NodeJS.ErrnoException) => this.shutdown(new DistError('nodeDown', `node ${peer} went down (connection failed: ${socketProblem(err)})`)));
    this.ticker = this.startTicker();
    if (firstBytes.length > 0) this.onData(firstBytes);
  }

  private startTicker(): NodeJS.Timeout {
    const ticker = setInterval(() => {
      const now = Date.now();
      if (now - this.lastReceived > this.silenceMs) {
        const silent = Math.round((now - this.lastReceived) / 1000);
        this.fail(new DistError('nodeDown', `lost the connection to node ${this.peer}: nothing received (not even a tick) for ${silent} s; the network or the node is down`));
        return;
      }
      const stall = this.frames.stalled(now);
      if (stall !== null) {
        this.fail(new DistError('protocol', `node ${this.peer} sent ${stall}; BEAM Lens closed the connection`));
        return;
      }
      if (now - this.lastSent >= this.tickMs) this.write(TICK);
    }, Math.min(this.tickMs, 1000));
    ticker.unref();
    return ticker;
  }

  /**
   * Adopts the peer's net_ticktime (seconds): we tick every quarter of it and give up after 1.25
   * times it without a byte, as a node does, so a black-holed link is reported as soon as the
   * node itself would notice.
   */
  adoptTickTime(seconds: number): void {
    if (!this.isOpen || !Number.isFinite(seconds) || seconds < 1) return;
    this.tickMs = (seconds * 1000) / 4;
    this.silenceMs = seconds * 1250;
    clearInterval(this.ticker);
    this.ticker = this.startTicker();
  }

  /** The silence after which the connection is given up (ms). */
  get silenceTimeoutMs(): number {
    return this.silenceMs;
  }

  /** Why the connection ended, as a typed error (null while open). */
  get closeError(): DistError | null {
    return this.closedError;
  }
  /** Our own node name, as the peer knows us. */
  get localName(): string {
    return this.node.name;
  }

  get isOpen(): boolean {
    return this.closedReason === null;
  }

  onClose(listener: (reason: string) => void): Disposable {
    this.closeListeners.add(listener);
    return { dispose: () => this.closeListeners.delete(listener) };
  }

  spawn(): LocalProcess {
    return this.node.spawn();
  }

  /** Calls M:F(A...) on the peer through `rex` and returns the result; {badrpc, R} becomes an RpcError. */
  async rpc(module: string, fun: string, args: Term[], options: RpcCallOptions = {}): Promise<Term> {
    const timeoutMs = options.timeoutMs ?? 15_000;
    if (!this.isOpen) throw this.notConnected();
    // One process per call: rex replies carry no reference, so the mailbox is the correlation.
    const caller = this.node.spawn();
    const down = this.onClose((reason) => caller.deliver(new Tuple([atom('$connection_down'), Buffer.from(reason)])));
    const sentAt = Date.now();
    try {
      this.sendControl(
        [DOP.REG_SEND, caller.pid, atom(''), atom('rex')],
        new Tuple([caller.pid, new Tuple([atom('call'), Atom.of(module), Atom.of(fun), args, this.node.groupLeader.pid])]),
      );
      const reply = await caller
        .receive((m) => (m instanceof Tuple && m.elements.length === 2 && (isAtom(m.elements[0], 'rex') || isAtom(m.elements[0], '$connection_down')) ? m : undefined), timeoutMs)
        .catch((err: unknown) => {
          if (err instanceof DistError && err.kind === 'timeout') {
            const what = `rpc ${module}:${fun}/${args.length} on ${this.peer} did not answer within ${timeoutMs} ms`;
            // Ticks or other frames since the call went out: the link and the node are alive, the node is just not getting to us.
            throw new DistError(
              'timeout',
              this.lastReceived > sentAt
                ? `${what}, although the node is alive (it kept sending ticks): node ${this.peer} is overloaded (busy schedulers or a long queue); try again when it is less busy`
                : `${what} and sent nothing else meanwhile: node ${this.peer} is overloaded or the network is slow`,
            );
          }
          throw err;
        });
      if (isAtom(reply.elements[0], '$connection_down')) {
        const cause = this.closedError ?? new DistError('nodeDown', `node ${this.peer} went down`);
        throw new DistError(cause.kind, `${cause.message} (during rpc ${module}:${fun}/${args.length})`);
      }
      const value = reply.elements[1] as Term;
      if (value instanceof Tuple && value.elements.length === 2 && isAtom(value.elements[0], 'badrpc')) {
        const reason = formatTerm(value.elements[1] as Term, { localNode: Atom.of(this.peer), maxLength: 500 });
        throw new RpcError(`rpc ${module}:${fun}/${args.length} failed on ${this.peer}: ${reason}`, reason);
      }
      return value;
    } finally {
      down.dispose();
      caller.exit();
    }
  }

  /** Median-free single round trip time of a trivial rpc, in milliseconds. */
  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.rpc('erlang', 'node', []);
    return performance.now() - t0;
  }

  sendControl(control: Term[], payload?: Term): void {
    if (!this.isOpen) throw this.notConnected();
    this.write(encodeControl(control, payload));
  }

  sendExit(from: Pid, to: Pid, reason: Term): void {
    if (has(this.peerFlags, DFLAG.EXIT_PAYLOAD)) this.sendControl([DOP.PAYLOAD_EXIT, from, to], reason);
    else this.sendControl([DOP.EXIT, from, to, reason]);
  }

  sendMonitorExit(from: Pid | Atom, to: Pid, ref: Ref, reason: Term): void {
    if (has(this.peerFlags, DFLAG.EXIT_PAYLOAD)) this.sendControl([DOP.PAYLOAD_MONITOR_P_EXIT, from, to, ref], reason);
    else this.sendControl([DOP.MONITOR_P_EXIT, from, to, ref, reason]);
  }

  nextUnlinkId(): bigint {
    this.unlinkId += 1n;
    return this.unlinkId;
  }

  /** Closes the connection; the peer sees nodedown. */
  async close(): Promise<void> {
    if (this.isOpen) {
      this.shutdown(new DistError('nodeDown', `detached from ${this.peer}`));
      await new Promise<void>((resolve) => {
        this.socket.once('close', () => resolve());
        this.socket.end();
        setTimeout(() => {
          this.socket.destroy();
          resolve();
        }, 1000).unref();
      });
    }
  }

  private write(bytes: Buffer): void {
    this.lastSent = Date.now();
    this.traffic.bytesOut += bytes.length;
    this.socket.write(bytes);
  }

  private notConnected(): DistError {
    // Why the connection went (the node went down, a protocol violation) says more than "not connected".
    const cause = this.closedError;
    if (cause) return new DistError(cause.kind === 'protocol' ? 'protocol' : 'nodeDown', cause.message);
    return new DistError('nodeDown', `not connected to ${this.peer} (${this.closedReason ?? 'closed'})`);
  }

  private onData(chunk: Buffer): void {
    if (!this.isOpen) return;
    this.lastReceived = Date.now();
    this.traffic.bytesIn += chunk.length;
    try {
      this.frames.push(chunk, (f) => {
        if (f.length === 0) {
          this.write(TICK);
          return;
        }
        const atomsBefore = Atom.made;
        const incoming = decodeFrame(f, this.limits);
        this.countNewAtoms(Atom.made - atomsBefore);
        this.node.handle(this, incoming, f.length, this.queued);
        if (this.queued.bytes > this.limits.maxQueuedBytes || this.queued.messages > this.limits.maxQueuedMessages) {
          throw new DistError(
            'protocol',
            `${this.queued.messages} messages (${this.queued.bytes} bytes) nobody asked for; the limit is ${this.limits.maxQueuedMessages} messages or ${this.limits.maxQueuedBytes} bytes unread`,
          );
        }
      });
    } catch (err) {
      this.fail(new DistError('protocol', `node ${this.peer} sent ${describeBadInput(err)}; BEAM Lens closed the connection`));
    }
  }

  private countNewAtoms(n: number): void {
    const now = Date.now();
    if (now - this.atomWindow.since > 60_000) this.atomWindow = { since: now, made: 0 };
    this.atomWindow.made += n;
    if (this.atomWindow.made > this.limits.maxNewAtomsPerMinute) {
      throw new DistError('protocol', `an atom flood: ${this.atomWindow.made} new atoms within a minute; the limit is ${this.limits.maxNewAtomsPerMinute}`);
    }
  }

  /** Ends the connection because of what the peer did (or did not do): drops the socket at once. */
  private fail(error: DistError): void {
    this.shutdown(error);
    this.socket.destroy();
  }

  private shutdown(error: DistError): void {
    if (this.closedReason !== null) return;
    const reason = error.message;
    this.closedError = error;
    this.closedReason = reason;
    clearInterval(this.ticker);
    this.node.connectionDown(this);
    for (const l of [...this.closeListeners]) l(reason);
    this.closeListeners.clear();
    this.resolveClosed(reason);
  }
}

function describeBadInput(err: unknown): string {
  if (err instanceof EtfLimitError) return err.reason;
  if (err instanceof EtfDecodeError) return `a term BEAM Lens cannot decode (${err.reason}, at byte ${err.offset})`;
  if (err instanceof DistError) return err.message;
  return `something BEAM Lens could not handle (${err instanceof Error ? err.message : String(err)})`;
}
