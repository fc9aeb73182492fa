import { deflateSync } from 'node:zlib';
import { EtfEncodeError } from './errors';
import { Tag, VERSION } from './tags';
import {
  Atom,
  BitBinary,
  Closure,
  ErlFloat,
  ErlMap,
  ExportFun,
  ImproperList,
  Pid,
  Port,
  Ref,
  Term,
  Tuple,
} from './terms';

export interface EncodeOptions {
  /**
   * 'utf8' (default) writes SMALL_ATOM_UTF8_EXT/ATOM_UTF8_EXT as nodes do on the wire.
   * 'latin1' writes ATOM_EXT for atoms whose characters all fit in Latin-1, as
   * `term_to_binary/1` does on OTP 25 and older.
   */
  atoms?: 'utf8' | 'latin1';
  /** zlib level 1..9 (as `term_to_binary(T, [{compressed, L}])`); 0 or absent means uncompressed. */
  compressed?: number;
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** Encodes a term with the leading version byte 131. */
export function encode(term: Term, options: EncodeOptions = {}): Buffer {
  const writer = new Writer(options.atoms === 'latin1');
  writer.u8(VERSION);
  writer.term(term);
  const out = writer.result();
  const level = options.compressed ?? 0;
  if (level > 0) {
    const body = out.subarray(1);
    const deflated = deflateSync(body, { level });
    // Like erts: compress only when it actually saves space.
    if (deflated.length + 5 < body.length) {
      const header = Buffer.allocUnsafe(6);
      header[0] = VERSION;
      header[1] = Tag.COMPRESSED;
      header.writeUInt32BE(body.length, 2);
      return Buffer.concat([header, deflated]);
    }
  }
  return out;
}

/** Appends encoded terms (each with its version byte) into one growing buffer; used for dist frames. */
export class Writer {
  private buf: Buffer;
  private pos = 0;

  constructor(
    private readonly latin1Atoms = false,
    initialSize = 256,
  ) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Writes the version byte and one term. */
  versioned(term: Term): void {
    this.u8(VERSION);
    this.term(term);
  }

  term(t: Term): void {
    if (typeof t === 'number') return this.number(t);
    if (typeof t === 'bigint') return this.bigint(t);
    if (t instanceof Atom) return this.atom(t);
    if (Array.isArray(t)) return this.list(t);
    if (t instanceof Tuple) return this.tuple(t);
    if (Buffer.isBuffer(t)) {
      this.u8(Tag.BINARY);
      this.u32(t.length);
      this.bytes(t);
      return;
    }
    if (t instanceof Pid) {
      this.u8(Tag.NEW_PID);
      this.atom(t.node);
      this.u32(t.id);
      this.u32(t.serial);
      this.u32(t.creation);
      return;
    }
    if (t instanceof Ref) {
      this.u8(Tag.NEWER_REFERENCE);
      this.u16(t.ids.length);
      this.atom(t.node);
      this.u32(t.creation);
      for (const id of t.ids) this.u32(id);
      return;
    }
    if (t instanceof ErlMap) {
      this.u8(Tag.MAP);
      this.u32(t.entries.length);
      for (const [k, v] of t.entries) {
        this.term(k);
        this.term(v);
      }
      return;
    }
    if (t instanceof ErlFloat) {
      if (!Number.isFinite(t.value)) throw new EtfEncodeError(`Erlang has no float ${t.value}`);
      this.ensure(9);
      this.buf[this.pos++] = Tag.NEW_FLOAT;
      this.buf.writeDoubleBE(t.value, this.pos);
      this.pos += 8;
      return;
    }
    if (t instanceof ImproperList) {
      this.u8(Tag.LIST);
      this.u32(t.elements.length);
      for (const e of t.elements) this.term(e);
      this.term(t.tail);
      return;
    }
    if (t instanceof BitBinary) {
      if (t.bytes.length > 0 && t.bits === 8) {
        this.u8(Tag.BINARY);
        this.u32(t.bytes.length);
      } else {
        this.u8(Tag.BIT_BINARY);
        this.u32(t.bytes.length);
        this.u8(t.bytes.length === 0 ? 0 : t.bits);
      }
      this.bytes(t.bytes);
      return;
    }
    if (t instanceof Port) {
      if (t.id > 0xffffffffn) {
        this.u8(Tag.V4_PORT);
        this.atom(t.node);
        this.ensure(8);
        this.buf.writeBigUInt64BE(t.id, this.pos);
        this.pos += 8;
      } else {
        this.u8(Tag.NEW_PORT);
        this.atom(t.node);
        this.u32(Number(t.id));
      }
      this.u32(t.creation);
      return;
    }
    if (t instanceof ExportFun) {
      this.u8(Tag.EXPORT);
      this.atom(t.module);
      this.atom(t.fun);
      this.u8(Tag.SMALL_INTEGER);
      this.u8(t.arity);
      return;
    }
    if (t instanceof Closure) return this.bytes(t.raw);
    throw new EtfEncodeError(`unsupported value ${describe(t)}`);
  }

  private number(n: number): void {
    if (!Number.isInteger(n)) {
      if (!Number.isFinite(n)) throw new EtfEncodeError(`Erlang has no number ${n}`);
      this.term(new ErlFloat(n));
      return;
    }
    if (n >= 0 && n <= 255) {
      this.ensure(2);
      this.buf[this.pos++] = Tag.SMALL_INTEGER;
      this.buf[this.pos++] = n;
    } else if (n >= INT32_MIN && n <= INT32_MAX) {
      this.ensure(5);
      this.buf[this.pos++] = Tag.INTEGER;
      this.buf.writeInt32BE(n, this.pos);
      this.pos += 4;
    } else if (Number.isSafeInteger(n)) {
      let abs = Math.abs(n);
      const digits: number[] = [];
      while (abs > 0) {
        digits.push(abs % 256);
        abs = Math.floor(abs / 256);
      }
      this.u8(Tag.SMALL_BIG);
      this.u8(digits.length);
      this.u8(n < 0 ? 1 : 0);
      for (const d of digits) this.u8(d);
    } else {
      this.bigint(BigInt(n));
    }
  }

  private bigint(n: bigint): void {
    if (n >= BigInt(INT32_MIN) && n <= BigInt(INT32_MAX)) return this.number(Number(n));
    const negative = n < 0n;
    let abs = negative ? -n : n;
    const digits: number[] = [];
    while (abs > 0n) {
      digits.push(Number(abs & 0xffn));
      abs >>= 8n;
    }
    if (digits.length < 256) {
      this.u8(Tag.SMALL_BIG);
      this.u8(digits.length);
    } else {
      this.u8(Tag.LARGE_BIG);
      this.u32(digits.length);
    }
    this.u8(negative ? 1 : 0);
    this.bytes(Uint8Array.from(digits));
  }

  private atom(a: Atom): void {
    const name = a.name;
    if (this.latin1Atoms && isLatin1(name)) {
      if (name.length > 255) throw new EtfEncodeError(`atom longer than 255 characters`);
      this.u8(Tag.ATOM);
      this.u16(name.length);
      this.ensure(name.length);
      this.pos += this.buf.write(name, this.pos, 'latin1');
      return;
    }
    const len = Buffer.byteLength(name, 'utf8');
    if ([...name].length > 255) throw new EtfEncodeError(`atom longer than 255 characters`);
    if (len < 256) {
      this.u8(Tag.SMALL_ATOM_UTF8);
      this.u8(len);
    } else {
      this.u8(Tag.ATOM_UTF8);
      this.u16(len);
    }
    this.ensure(len);
    this.pos += this.buf.write(name, this.pos, 'utf8');
  }

  private tuple(t: Tuple): void {
    const n = t.size;
    if (n < 256) {
      this.u8(Tag.SMALL_TUPLE);
      this.u8(n);
    } else {
      this.u8(Tag.LARGE_TUPLE);
      this.u32(n);
    }
    for (let i = 0; i < n; i++) this.term(t.at(i) as Term);
  }

  private list(items: Term[]): void {
    if (items.length === 0) {
      this.u8(Tag.NIL);
      return;
    }
    if (items.length <= 0xffff && isByteList(items)) {
      this.u8(Tag.STRING);
      this.u16(items.length);
      this.ensure(items.length);
      for (const b of items) this.buf[this.pos++] = b;
      return;
    }
    this.u8(Tag.LIST);
    this.u32(items.length);
    for (const e of items) this.term(e);
    this.u8(Tag.NIL);
  }
}

function isByteList(items: Term[]): items is number[] {
  for (const x of items) if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 255) return false;
  return true;
}

function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 255) return false;
  return true;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
