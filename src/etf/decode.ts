import { EtfDecodeError, EtfLimitError } from './errors';
import { cachedAtom } from './atom-cache';
import { Tag, VERSION, tagNames } from './tags';
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
import { ARRAY, BUFFER_VIEW, MAP_ENTRY, MAX_DEPTH, OBJECT, SLOT, TRUSTED_LIMITS, inflateBounded, type DecodeLimits, type DecodeOptions, type TermBudget } from './limits';

export { TRUSTED_LIMITS } from './limits';
export type { DecodeLimits, DecodeOptions, TermBudget } from './limits';

/** Decodes one complete term (with its leading version byte 131) that must span the whole buffer. */
export function decode(buf: Buffer, options: DecodeOptions = {}): Term {
  const { term, end } = decodeAt(buf, 0, options);
  if (end !== buf.length) throw new EtfDecodeError(`${buf.length - end} unexpected byte(s) after the term`, end);
  return term;
}

/** Decodes one term (with version byte) starting at `offset`; returns the term and where it ended. */
export function decodeAt(buf: Buffer, offset: number, options: DecodeOptions = {}): { term: Term; end: number } {
  const limits = { ...TRUSTED_LIMITS, ...options.limits };
  const decoder = new Decoder(buf, offset, options.copyBinaries === true, limits, options.budget ?? { left: limits.maxDecodedBytes });
  const term = decoder.versioned();
  return { term, end: decoder.pos };
}

class Decoder {
  private depth = 0;

  constructor(
    private buf: Buffer,
    public pos: number,
    private readonly copyBinaries: boolean,
    private readonly limits: DecodeLimits,
    private readonly budget: TermBudget,
  ) {}

  versioned(): Term {
    const start = this.pos;
    this.need(1);
    const version = this.buf[this.pos++];
    if (version !== VERSION) throw new EtfDecodeError(`expected version byte 131, got ${version}`, start);
    this.need(1);
    if (this.buf[this.pos] === Tag.COMPRESSED) return this.compressed();
    return this.guarded();
  }

  private guarded(): Term {
    try {
      return this.term();
    } catch (err) {
      if (err instanceof RangeError) throw new EtfDecodeError('term nested too deeply', this.pos);
      throw err;
    }
  }

  private compressed(): Term {
    const tagAt = this.pos;
    this.pos++;
    this.need(4);
    const size = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    if (size > this.limits.maxInflatedBytes) {
      throw new EtfLimitError(`a compressed term claiming ${size} bytes; the limit is ${this.limits.maxInflatedBytes} bytes`, tagAt);
    }
    const { inflated, consumed } = inflateBounded(this.buf.subarray(this.pos), size, tagAt, this.pos);
    const inner = new Decoder(inflated, 0, true, this.limits, this.budget);
    const term = inner.guarded();
    if (inner.pos !== inflated.length) throw new EtfDecodeError('trailing bytes inside compressed term', tagAt);
    this.pos += consumed;
    return term;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new EtfDecodeError(`truncated input: need ${n} more byte(s), ${this.buf.length - this.pos} left`, this.pos);
    }
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  private u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  private u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /**
   * A count of items, each taking at least `minBytes`: refuse counts the rest of the input cannot
   * hold, or that the term budget cannot pay for, before anything is allocated for them.
   */
  private count(n: number, minBytes: number, what: string, at: number, costEach = SLOT): number {
    if (n * minBytes > this.buf.length - this.pos) {
      throw new EtfDecodeError(`${what} claims ${n} elements but only ${this.buf.length - this.pos} bytes remain`, at);
    }
    this.charge(n * costEach, `a ${what} of ${n} elements`, at);
    return n;
  }

  /** Takes `bytes` of estimated memory from the budget, or refuses the term. */
  private charge(bytes: number, what: string, at: number): void {
    this.budget.left -= bytes;
    if (this.budget.left < 0) {
      throw new EtfLimitError(`${what} that would take more than the ${this.limits.maxDecodedBytes} bytes of memory one message may decode to`, at);
    }
  }

  term(): Term {
    const at = this.pos;
    this.charge(SLOT, 'terms', at);
    this.need(1);
    const tag = this.buf[this.pos++] as number;
    switch (tag) {
      case Tag.SMALL_INTEGER:
        return this.u8();
      case Tag.INTEGER: {
        this.need(4);
        const v = this.buf.readInt32BE(this.pos);
        this.pos += 4;
        return v;
      }
      case Tag.ATOM:
      case Tag.ATOM_UTF8:
        return this.atomBody(this.u16(), tag === Tag.ATOM_UTF8);
      case Tag.SMALL_ATOM:
      case Tag.SMALL_ATOM_UTF8:
        return this.atomBody(this.u8(), tag === Tag.SMALL_ATOM_UTF8);
      case Tag.SMALL_TUPLE:
        return this.tupleBody(this.u8(), at);
      case Tag.LARGE_TUPLE:
        return this.tupleBody(this.u32(), at);
      case Tag.NIL:
        this.charge(ARRAY, 'empty lists', at);
        return [];
      case Tag.STRING: {
        const len = this.u16();
        this.need(len);
        this.count(len, 1, 'string', at);
        this.charge(ARRAY, 'a string', at);
        const out = new Array<number>(len);
        for (let i = 0; i < len; i++) out[i] = this.buf[this.pos + i] as number;
        this.pos += len;
        return out;
      }
      case Tag.LIST:
        return this.listBody(at);
      case Tag.BINARY: {
        const len = this.u32();
        this.need(len);
        this.charge(BUFFER_VIEW + (this.copyBinaries ? len : 0), 'binaries', at);
        return this.bytes(len);
      }
      case Tag.BIT_BINARY: {
        const len = this.u32();
        const bits = this.u8();
        if (len === 0 ? bits !== 0 : bits < 1 || bits > 8) {
          throw new EtfDecodeError(`bit binary with ${bits} bits in its last byte`, at);
        }
        this.need(len);
        this.charge(BUFFER_VIEW + OBJECT + (this.copyBinaries ? len : 0), 'bitstrings', at);
        return new BitBinary(this.bytes(len), bits);
      }
      case Tag.NEW_FLOAT: {
        this.need(8);
        this.charge(OBJECT, 'floats', at);
        const v = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return new ErlFloat(v);
      }
      case Tag.FLOAT: {
        this.need(31);
        const text = this.buf.toString('latin1', this.pos, this.pos + 31).replace(/\0+$/, '');
        const v = Number(text);
        if (text.length === 0 || !Number.isFinite(v)) throw new EtfDecodeError(`bad float text "${text}"`, at);
        this.pos += 31;
        return new ErlFloat(v);
      }
      case Tag.SMALL_BIG:
        return this.bigBody(this.u8(), at);
      case Tag.LARGE_BIG:
        return this.bigBody(this.u32(), at);
      case Tag.MAP:
        return this.mapBody(at);
      case Tag.NEW_PID:
      case Tag.PID: {
        this.charge(OBJECT, 'pids', at);
        const node = this.nodeAtom();
        const id = this.u32();
        const serial = this.u32();
        const creation = tag === Tag.NEW_PID ? this.u32() : this.u8();
        return new Pid(node, id, serial, creation);
      }
      case Tag.PORT:
      case Tag.NEW_PORT:
      case Tag.V4_PORT: {
        this.charge(OBJECT + 16, 'ports', at);
        const node = this.nodeAtom();
        let id: bigint;
        if (tag === Tag.V4_PORT) {
          this.need(8);
          id = this.buf.readBigUInt64BE(this.pos);
          this.pos += 8;
        } else {
          id = BigInt(this.u32());
        }
        const creation = tag === Tag.PORT ? this.u8() : this.u32();
        return new Port(node, id, creation);
      }
      case Tag.REFERENCE: {
        this.charge(OBJECT + ARRAY, 'references', at);
        const node = this.nodeAtom();
        const id = this.u32();
        const creation = this.u8();
        return new Ref(node, creation, [id]);
      }
      case Tag.NEW_REFERENCE:
      case Tag.NEWER_REFERENCE: {
        const len = this.u16();
        if (len > 5) throw new EtfDecodeError(`reference with ${len} id words`, at);
        this.charge(OBJECT + ARRAY + len * SLOT, 'references', at);
        const node = this.nodeAtom();
        const creation = tag === Tag.NEWER_REFERENCE ? this.u32() : this.u8();
        const ids: number[] = [];
        for (let i = 0; i < len; i++) ids.push(this.u32());
        return new Ref(node, creation, ids);
      }
      case Tag.EXPORT: {
        const module = this.atomTerm('module of an export fun');
        const fun = this.atomTerm('function of an export fun');
        const arity = this.term();
        if (typeof arity !== 'number' || arity < 0 || arity > 255) {
          throw new EtfDecodeError('export fun arity is not a small integer', at);
        }
        return new ExportFun(module, fun, arity);
      }
      case Tag.NEW_FUN:
        return this.newFunBody(at);
      case Tag.FUN:
        return this.oldFunBody(at);
      case Tag.ATOM_CACHE_REF:
        throw new EtfDecodeError('atom cache reference outside a distribution header (we never negotiate DIST_HDR_ATOM_CACHE)', at);
      case Tag.LOCAL:
        throw new EtfDecodeError('LOCAL_EXT term: it can only be decoded by the node that encoded it', at);
      case Tag.COMPRESSED:
        throw new EtfDecodeError('compressed term nested inside another term', at);
      default:
        throw new EtfDecodeError(`unknown tag ${tag}${tagNames[tag] ? ` (${tagNames[tag]})` : ''}`, at);
    }
  }

  private enter(at: number): void {
    if (++this.depth > MAX_DEPTH) throw new EtfDecodeError(`term nested deeper than ${MAX_DEPTH} levels`, at);
  }

  private tupleBody(arity: number, at: number): Tuple {
    this.count(arity, 1, 'tuple', at);
    this.charge(OBJECT + ARRAY, 'tuples', at);
    this.enter(at);
    let t: Tuple;
    if (arity <= 4) {
      const e0 = arity > 0 ? this.term() : undefined;
      const e1 = arity > 1 ? this.term() : undefined;
      const e2 = arity > 2 ? this.term() : undefined;
      const e3 = arity > 3 ? this.term() : undefined;
      t = Tuple.small(arity, e0, e1, e2, e3);
    } else {
      const elements = new Array<Term>(arity);
      for (let i = 0; i < arity; i++) elements[i] = this.term();
      t = new Tuple(elements);
    }
    this.depth--;
    return t;
  }

  private listBody(at: number): Term[] | ImproperList {
    const len = this.count(this.u32(), 1, 'list', at);
    this.charge(ARRAY, 'lists', at);
    this.enter(at);
    const elements = new Array<Term>(len);
    for (let i = 0; i < len; i++) elements[i] = this.term();
    const tailAt = this.pos;
    this.need(1);
    let result: Term[] | ImproperList;
    if (this.buf[tailAt] === Tag.NIL) {
      this.pos++;
      result = elements;
    } else {
      const tail = this.term();
      // A list with zero elements and a tail is not something any encoder produces; keep it faithful anyway.
      result = new ImproperList(elements, tail);
    }
    this.depth--;
    return result;
  }

  private mapBody(at: number): ErlMap {
    const arity = this.count(this.u32(), 2, 'map', at, MAP_ENTRY);
    this.charge(OBJECT + ARRAY, 'maps', at);
    this.enter(at);
    const entries = new Array<[Term, Term]>(arity);
    for (let i = 0; i < arity; i++) {
      const k = this.term();
      const v = this.term();
      entries[i] = [k, v];
    }
    this.depth--;
    return new ErlMap(entries);
  }

  private bigBody(n: number, at: number): number | bigint {
    if (n > this.limits.maxBigBytes) throw new EtfLimitError(`an integer of ${n} bytes; the limit is ${this.limits.maxBigBytes} bytes`, at);
    const sign = this.u8();
    if (sign > 1) throw new EtfDecodeError(`bignum sign byte ${sign}`, at);
    this.need(n);
    this.charge(OBJECT + 3 * n, 'integers', at);
    let value: number | bigint;
    if (n <= 6) {
      // Fits in 48 bits: stay in doubles.
      let v = 0;
      for (let i = n - 1; i >= 0; i--) v = v * 256 + (this.buf[this.pos + i] as number);
      value = sign ? -v : v;
    } else {
      let hex = '';
      for (let i = n - 1; i >= 0; i--) hex += (this.buf[this.pos + i] as number).toString(16).padStart(2, '0');
      let big = BigInt('0x' + hex);
      if (sign) big = -big;
      value = big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    this.pos += n;
    return value;
  }

  private bytes(len: number): Buffer {
    this.need(len);
    const view = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return this.copyBinaries ? Buffer.from(view) : view;
  }

  private atomBody(len: number, utf8: boolean): Atom {
    this.need(len);
    const start = this.pos;
    this.pos += len;
    const before = Atom.made;
    const atom = cachedAtom(this.buf, start, len, utf8);
    // A new atom also holds its name, a weak table entry and a cache slot.
    if (Atom.made !== before) this.charge(4 * OBJECT + 2 * len, 'atoms', start);
    return atom;
  }

  private atomTerm(what: string): Atom {
    const at = this.pos;
    const t = this.term();
    if (!(t instanceof Atom)) throw new EtfDecodeError(`${what} is not an atom`, at);
    return t;
  }

  private nodeAtom(): Atom {
    return this.atomTerm('node name');
  }

  private newFunBody(at: number): Closure {
    const size = this.u32();
    const end = at + 1 + size;
    if (size < 4 + 1 + 16 + 4 + 4 || end > this.buf.length) {
      throw new EtfDecodeError(`closure of ${size} bytes does not fit the input`, at);
    }
    this.charge(OBJECT + BUFFER_VIEW + size, 'closures', at);
    const arity = this.u8();
    this.pos += 16 + 4; // uniq, index
    const numFree = this.u32();
    const module = this.atomTerm('module of a closure');
    this.term(); // old index
    this.term(); // old uniq
    this.term(); // pid
    for (let i = 0; i < numFree; i++) this.term();
    if (this.pos !== end) throw new EtfDecodeError(`closure size says ${size} bytes, its fields take ${this.pos - at - 1}`, at);
    return new Closure(module, arity, Buffer.from(this.buf.subarray(at, end)));
  }

  private oldFunBody(at: number): Closure {
    const numFree = this.u32();
    this.charge(OBJECT + BUFFER_VIEW, 'closures', at);
    this.term(); // pid
    const module = this.atomTerm('module of a closure');
    this.term(); // index
    this.term(); // uniq
    for (let i = 0; i < numFree; i++) this.term();
    return new Closure(module, -1, Buffer.from(this.buf.subarray(at, this.pos)));
  }
}
