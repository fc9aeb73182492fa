// One connection to one target node, after the handshake: frames, ticks, control messages, rpc.
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Atom, Pid, Ref, Term, Tuple, atom, formatTerm, isAtom } from '../etf';
import { DOP, decodeFrame, encodeControl } from './control';
import { DistError, RpcError, socketProblem } from './errors';
import { DFLAG, has } from './flags';
import { FrameReader, TICK } from './framing';
import type { LocalNode, LocalProcess } from './local-node';

export interface ConnectionOptions {
  /** How often we tick when we have sent nothing else (default 15 s: net_ticktime 60 / 4). */
  tickIntervalMs?: number;
  /** Drop the connection after this long without hearing from the peer (default 4 tick intervals + 15 s). */
  silenceTimeoutMs?: number;
}

export interface RpcCallOptions {
  timeoutMs?: number;
}

export interface Disposable {
  dispose(): void;
}

export class NodeConnection {
  private readonly frames = new FrameReader();
  private lastSent = Date.now();
  private lastReceived = Date.now();
  private readonly ticker: NodeJS.Timeout;
  private unlinkId = 0n;
  private closeListeners = new Set<(reason: string) => void>();
  /** Bytes received and sent on this connection (frames, ticks and headers included). */
  readonly traffic = { bytesIn: 0, bytesOut: 0 };
  private closedReason: string | null = null;
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
    const tickMs = options.tickIntervalMs ?? 15_000;
    const silenceMs = options.silenceTimeoutMs ?? tickMs * 4 + 15_000;
    node.addConnection(this);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.shutdown('connection closed by the peer'));
    socket.on('error', (err: NodeJS.ErrnoException) => this.shutdown(`connection failed (${socketProblem(err)})`));
    this.ticker = setInterval(() => {
      const now = Date.now();
      if (now - this.lastReceived > silenceMs) {
        this.shutdown(`${peer} has been silent for ${Math.round((now - this.lastReceived) / 1000)} s`);
        this.socket.destroy();
        return;
      }
      if (now - this.lastSent >= tickMs) this.write(TICK);
    }, Math.min(tickMs, 1000));
    this.ticker.unref();
    if (firstBytes.length > 0) this.onData(firstBytes);
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
    if (!this.isOpen) throw new DistError('nodeDown', `not connected to ${this.peer} (${this.closedReason})`);
    // One process per call: rex replies carry no reference, so the mailbox is the correlation.
    const caller = this.node.spawn();
    const down = this.onClose((reason) => caller.deliver(new Tuple([atom('$connection_down'), Buffer.from(reason)])));
    try {
      this.sendControl(
        [DOP.REG_SEND, caller.pid, atom(''), atom('rex')],
        new Tuple([caller.pid, new Tuple([atom('call'), Atom.of(module), Atom.of(fun), args, this.node.groupLeader.pid])]),
      );
      const reply = await caller
        .receive((m) => (m instanceof Tuple && m.elements.length === 2 && (isAtom(m.elements[0], 'rex') || isAtom(m.elements[0], '$connection_down')) ? m : undefined), timeoutMs)
        .catch((err: unknown) => {
          if (err instanceof DistError && err.kind === 'timeout') {
            throw new DistError('timeout', `rpc ${module}:${fun}/${args.length} on ${this.peer} did not answer within ${timeoutMs} ms`);
          }
          throw err;
        });
      if (isAtom(reply.elements[0], '$connection_down')) {
        throw new DistError('nodeDown', `the connection to ${this.peer} closed during rpc ${module}:${fun}/${args.length}`);
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
    if (!this.isOpen) throw new DistError('nodeDown', `not connected to ${this.peer} (${this.closedReason})`);
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
      this.shutdown('closed by us');
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

  private onData(chunk: Buffer): void {
    this.lastReceived = Date.now();
    this.traffic.bytesIn += chunk.length;
    try {
      this.frames.push(chunk, (f) => {
        if (f.length === 0) {
          this.write(TICK);
          return;
        }
        this.node.handle(this, decodeFrame(f));
      });
    } catch (err) {
      this.shutdown(`protocol error from ${this.peer}: ${err instanceof Error ? err.message : String(err)}`);
      this.socket.destroy();
    }
  }

  private shutdown(reason: string): void {
    if (this.closedReason !== null) return;
    this.closedReason = reason;
    clearInterval(this.ticker);
    this.node.connectionDown(this);
    for (const l of [...this.closeListeners]) l(reason);
    this.closeListeners.clear();
    this.resolveClosed(reason);
  }
}
