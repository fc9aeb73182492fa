// A TCP connect and a length-prefixed reader with deadlines, shared by EPMD and the handshake.
import net from 'node:net';
import { DistError, socketProblem, timeoutError } from './errors';

export function connectTcp(host: string, port: number, timeoutMs: number, what: string): Promise<net.Socket> {
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  return whenReady(
    socket,
    'connect',
    timeoutMs,
    () => timeoutError(`${what} at ${host}:${port}`, timeoutMs, 'check the host, the port and any firewall or tunnel in between'),
    (err) => new DistError('unreachable', `cannot reach ${what} at ${host}:${port} (${socketProblem(err)})`),
  );
}

/**
 * Resolves with the socket once it emits `ready` ('connect', or 'secureConnect' for TLS); on a
 * socket error or when `timeoutMs` passes first, destroys it and rejects with the error made by
 * `onError` / `onTimeout`. The socket is ours until then: nothing else listens for its errors.
 */
export function whenReady<S extends net.Socket>(socket: S, ready: 'connect' | 'secureConnect', timeoutMs: number, onTimeout: () => Error, onError: (err: NodeJS.ErrnoException) => Error): Promise<S> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(onTimeout());
    }, timeoutMs);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      reject(onError(err));
    });
  });
}

/** What a SocketReader holds beyond the read it waits for (EPMD's names list included). */
const MAX_UNREAD_BYTES = 1024 * 1024;

/** Reads exact byte counts from a socket, each with a deadline; reports a close as a typed event. */
export class SocketReader {
  private buffered: Buffer = Buffer.alloc(0);
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | null = null;
  private ended: Error | null = null;
  private readonly onData = (chunk: Buffer): void => {
    // EPMD answers and handshake messages are small: a peer that floods before we asked is cut off.
    if (this.buffered.length + chunk.length > MAX_UNREAD_BYTES + (this.waiter?.n ?? 0)) {
      this.buffered = Buffer.alloc(0);
      this.socket.destroy();
      this.fail(new DistError('protocol', `the peer sent more than ${MAX_UNREAD_BYTES} bytes nobody asked for during the handshake`));
      return;
    }
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    this.pump();
  };
  private readonly onEnd = (): void => this.fail(new DistError('nodeDown', 'connection closed'));
  private readonly onError = (err: NodeJS.ErrnoException): void => this.fail(new DistError('nodeDown', `connection failed (${socketProblem(err)})`));

  constructor(private readonly socket: net.Socket) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  read(n: number, timeoutMs: number, what: string): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(timeoutError(what, timeoutMs));
      }, timeoutMs);
      this.waiter = { n, resolve, reject, timer };
      this.pump();
    });
  }

  /** Everything until the peer closes the connection. */
  async readToEnd(timeoutMs: number, what: string): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.ended === null) {
      await new Promise<void>((resolve, reject) => {
        const remaining = deadline - Date.now();
        if (remaining <= 0) return reject(timeoutError(what, timeoutMs));
        const timer = setTimeout(() => reject(timeoutError(what, timeoutMs)), remaining);
        const done = (): void => {
          clearTimeout(timer);
          this.socket.off('data', done);
          this.socket.off('close', done);
          resolve();
        };
        this.socket.once('data', done);
        this.socket.once('close', done);
      });
    }
    if (this.ended instanceof DistError && this.ended.kind === 'protocol') throw this.ended;
    const out = this.buffered;
    this.buffered = Buffer.alloc(0);
    return out;
  }

  /** Stops listening and returns whatever arrived beyond what was read. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    const rest = this.buffered;
    this.buffered = Buffer.alloc(0);
    return rest;
  }

  private pump(): void {
    const w = this.waiter;
    if (w === null) return;
    if (this.buffered.length >= w.n) {
      this.waiter = null;
      clearTimeout(w.timer);
      const out = this.buffered.subarray(0, w.n);
      this.buffered = this.buffered.subarray(w.n);
      w.resolve(out);
    } else if (this.ended !== null) {
      this.waiter = null;
      clearTimeout(w.timer);
      w.reject(this.ended);
    }
  }

  private fail(err: Error): void {
    if (this.ended === null) this.ended = err;
    this.pump();
  }
}
