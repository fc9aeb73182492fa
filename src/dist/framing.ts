// After the handshake every frame has a 4-byte length; a zero-length frame is a tick.
// FrameReader reassembles frames from arbitrary chunks (split or merged by TCP).

export class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;

  /** Feeds bytes in; calls onFrame for each complete frame (an empty Buffer for a tick). */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    for (;;) {
      if (this.size < 4) return;
      const head = this.peek(4);
      const len = head.readUInt32BE(0);
      if (this.size < 4 + len) return;
      const all = this.take(4 + len);
      onFrame(all.subarray(4));
    }
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.chunks).subarray(0, n);
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
