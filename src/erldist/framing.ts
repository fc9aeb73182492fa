// After the handshake every frame has a 4-byte length; a zero-length frame is a tick.
// FrameReader reassembles frames from arbitrary chunks (split or merged by TCP). The length
// prefix is checked against a cap before anything is buffered for the frame, and a frame that
// arrives too slowly (a trickle that would hold a buffer and an rpc forever) can be detected.
import { DistError } from './errors';

export interface FrameLimits {
  /** Largest frame accepted, from its length prefix (default 64 MiB). */
  maxFrameBytes: number;
  /** A frame still incomplete after this long... (default 5000 ms) */
  stallMs: number;
  /** ...while arriving slower than this many bytes per second is refused (default 32 KiB/s). */
  minBytesPerSecond: number;
}

export const DEFAULT_FRAME_LIMITS: FrameLimits = { maxFrameBytes: 64 * 1024 * 1024, stallMs: 5000, minBytesPerSecond: 32 * 1024 };

export class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;
  /** A large frame being copied into its own buffer (allocated once half of it has arrived). */
  private body: { buf: Buffer; filled: number } | null = null;
  /** When the frame now being assembled started to arrive (null: none pending). */
  private partialSince: number | null = null;
  private readonly limits: FrameLimits;

  constructor(limits: Partial<FrameLimits> = {}) {
    this.limits = { ...DEFAULT_FRAME_LIMITS, ...limits };
  }

  /** Bytes held for frames not yet complete. */
  get buffered(): number {
    return this.size + (this.body?.filled ?? 0);
  }

  /** Feeds bytes in; calls onFrame for each complete frame (an empty Buffer for a tick). */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void, now = Date.now()): void {
    const body = this.body;
    if (body !== null) {
      const n = Math.min(chunk.length, body.buf.length - body.filled);
      chunk.copy(body.buf, body.filled, 0, n);
      body.filled += n;
      chunk = chunk.subarray(n);
      if (body.filled < body.buf.length) return;
      this.body = null;
      this.partialSince = null;
      onFrame(body.buf);
    }
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    for (;;) {
      if (this.size < 4) break;
      const head = this.peek(4);
      const len = head.readUInt32BE(0);
      if (len > this.limits.maxFrameBytes) {
        this.chunks = [];
        this.size = 0;
        throw new DistError('protocol', `a frame of ${len} bytes; the limit is ${this.limits.maxFrameBytes} bytes`);
      }
      if (this.size >= 4 + len) {
        const all = this.take(4 + len);
        this.partialSince = null;
        onFrame(all.subarray(4));
        continue;
      }
      // A large frame gets its own buffer once half of it is here: the copy then costs half a
      // frame instead of a whole one, and nothing is allocated on the peer's word alone.
      if (len >= 1 << 20 && this.size - 4 >= len / 2) {
        const buf = Buffer.allocUnsafe(len);
        let filled = 0;
        let skip = 4;
        for (const c of this.chunks) {
          const from = Math.min(skip, c.length);
          skip -= from;
          filled += c.copy(buf, filled, from);
        }
        this.chunks = [];
        this.size = 0;
        this.body = { buf, filled };
        this.partialSince ??= now;
        return;
      }
      break;
    }
    if (this.size === 0) this.partialSince = null;
    else if (this.partialSince === null) this.partialSince = now;
  }

  /** A reason when the pending frame has been trickling in for too long, else null. */
  stalled(now = Date.now()): string | null {
    if (this.partialSince === null) return null;
    const elapsed = now - this.partialSince;
    if (elapsed < this.limits.stallMs) return null;
    const have = this.buffered;
    const rate = (have * 1000) / elapsed;
    if (rate >= this.limits.minBytesPerSecond) return null;
    const declared = this.body !== null ? ` of ${this.body.buf.length} bytes` : this.size >= 4 ? ` of ${this.peek(4).readUInt32BE(0)} bytes` : '';
    return `a frame${declared} too slowly: ${have} bytes in ${(elapsed / 1000).toFixed(1)} s (under ${this.limits.minBytesPerSecond} bytes/s)`;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    const all = Buffer.concat(this.chunks);
    this.chunks = [all];
    return all.subarray(0, n);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.size -= n;
    return out;
  }
}

export function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

export const TICK = Buffer.alloc(4);
