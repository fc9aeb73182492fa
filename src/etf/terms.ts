// Erlang terms as TypeScript values.
//
// Mapping (chosen so that decode(term_to_binary(T)) re-encodes to the same bytes):
//   integer            -> number when it fits in a JS safe integer, else bigint
//   float              -> ErlFloat (a JS number alone cannot tell 1.0 from 1)
//   atom               -> Atom (interned: Atom.of('ok') === Atom.of('ok'))
//   tuple              -> Tuple
//   proper list        -> Term[] (a charlist sent as STRING_EXT is a number[] too)
//   improper list      -> ImproperList
//   binary             -> Buffer
//   bitstring          -> BitBinary
//   map                -> ErlMap (entries in wire order)
//   pid / port / ref   -> Pid / Port / Ref
//   fun M:F/A          -> ExportFun
//   closure            -> Closure (opaque, kept as its original bytes)

export type Term =
  | number
  | bigint
  | ErlFloat
  | Atom
  | Tuple
  | Term[]
  | ImproperList
  | Buffer
  | BitBinary
  | ErlMap
  | Pid
  | Port
  | Ref
  | ExportFun
  | Closure;

export class Atom {
  // Interned weakly: an atom nobody holds any more is collected, so a node that sends millions of
  // distinct atoms (an atom flood) cannot grow this table beyond what is still in use.
  private static readonly table = new Map<string, WeakRef<Atom>>();
  private static readonly reaper = new FinalizationRegistry<string>((name) => {
    const ref = Atom.table.get(name);
    if (ref !== undefined && ref.deref() === undefined) Atom.table.delete(name);
  });
  /** Atoms made so far (a new name, or one collected and seen again): a connection's atom flood shows here. */
  static made = 0;
  private constructor(readonly name: string) {}

  static of(name: string): Atom {
    let atom = Atom.table.get(name)?.deref();
    if (atom === undefined) {
      atom = new Atom(name);
      Atom.made++;
      Atom.table.set(name, new WeakRef(atom));
      Atom.reaper.register(atom, name);
    }
    return atom;
  }

  /** Atoms interned now (live or not yet collected), for tests and diagnostics. */
  static get internedCount(): number {
    return Atom.table.size;
  }

  toString(): string {
    return this.name;
  }
}

export const atoms = {
  ok: Atom.of('ok'),
  error: Atom.of('error'),
  true: Atom.of('true'),
  false: Atom.of('false'),
  undefined: Atom.of('undefined'),
  nil: Atom.of('nil'),
} as const;

export class ErlFloat {
  constructor(readonly value: number) {}
}

/**
 * A tuple. Tuples of up to four elements keep them in fields of this one object (no array):
 * large process lists are mostly small tuples, and every object the decoder allocates is work for
 * the garbage collector. `elements` gives an array view, made on first use.
 */
export class Tuple {
  readonly size: number;
  private e0: Term | undefined;
  private e1: Term | undefined;
  private e2: Term | undefined;
  private e3: Term | undefined;
  private array: Term[] | undefined;

  constructor(elements: Term[]) {
    this.size = elements.length;
    this.e0 = elements[0];
    this.e1 = elements[1];
    this.e2 = elements[2];
    this.e3 = elements[3];
    this.array = elements.length > 4 ? elements : undefined;
  }

  /** A tuple of up to four elements without an intermediate array (the decoder's fast path). */
  static small(size: number, e0?: Term, e1?: Term, e2?: Term, e3?: Term): Tuple {
    const t = new Tuple(EMPTY);
    (t as { size: number }).size = size;
    t.e0 = e0;
    t.e1 = e1;
    t.e2 = e2;
    t.e3 = e3;
    return t;
  }

  get elements(): Term[] {
    if (this.array === undefined) {
      const all = [this.e0, this.e1, this.e2, this.e3] as Term[];
      all.length = this.size;
      this.array = all;
    }
    return this.array;
  }

  at(index: number): Term | undefined {
    if (this.array !== undefined) return this.array[index];
    switch (index) {
      case 0:
        return this.size > 0 ? this.e0 : undefined;
      case 1:
        return this.size > 1 ? this.e1 : undefined;
      case 2:
        return this.size > 2 ? this.e2 : undefined;
      case 3:
        return this.size > 3 ? this.e3 : undefined;
      default:
        return undefined;
    }
  }
}

const EMPTY: Term[] = [];

export class ImproperList {
  constructor(
    readonly elements: Term[],
    readonly tail: Term,
  ) {}
}

export class BitBinary {
  /** `bits` is how many bits of the last byte are used (1..8). */
  constructor(
    readonly bytes: Buffer,
    readonly bits: number,
  ) {}
  get bitLength(): number {
    return this.bytes.length === 0 ? 0 : (this.bytes.length - 1) * 8 + this.bits;
  }
}

export class ErlMap {
  constructor(readonly entries: Array<[Term, Term]>) {}
  get size(): number {
    return this.entries.length;
  }
  /** Value stored under the atom key `name` (the usual case for Elixir structs and option maps). */
  getAtom(name: string): Term | undefined {
    const key = Atom.of(name);
    for (const [k, v] of this.entries) if (k === key) return v;
    return undefined;
  }
  get(key: Term): Term | undefined {
    for (const [k, v] of this.entries) if (termEquals(k, key)) return v;
    return undefined;
  }
}

export class Pid {
  constructor(
    readonly node: Atom,
    readonly id: number,
    readonly serial: number,
    readonly creation: number,
  ) {}
  /** Key usable in a JS Map. */
  get key(): string {
    return `${this.node.name}/${this.id}.${this.serial}.${this.creation}`;
  }
}

export class Port {
  constructor(
    readonly node: Atom,
    readonly id: bigint,
    readonly creation: number,
  ) {}
}

export class Ref {
  constructor(
    readonly node: Atom,
    readonly creation: number,
    readonly ids: readonly number[],
  ) {}
  get key(): string {
    return `${this.node.name}/${this.creation}/${this.ids.join('.')}`;
  }
}

export class ExportFun {
  constructor(
    readonly module: Atom,
    readonly fun: Atom,
    readonly arity: number,
  ) {}
}

/** A closure (NEW_FUN_EXT or FUN_EXT). We never execute it; it is kept as bytes so it can be sent back. */
export class Closure {
  constructor(
    readonly module: Atom,
    readonly arity: number,
    /** The encoded term without the version byte, starting with the tag. */
    readonly raw: Buffer,
  ) {}
}

export function tuple(...elements: Term[]): Tuple {
  return new Tuple(elements);
}

export function atom(name: string): Atom {
  return Atom.of(name);
}

export function isAtom(term: Term | undefined, name?: string): term is Atom {
  return term instanceof Atom && (name === undefined || term.name === name);
}

/** Structural equality with Erlang's `=:=` semantics (1 and 1.0 differ). */
export function termEquals(a: Term, b: Term): boolean {
  if (a === b) return true;
  if (typeof a === 'number' || typeof a === 'bigint') {
    return (typeof b === 'number' || typeof b === 'bigint') && BigInt(a) === BigInt(b);
  }
  if (typeof b === 'number' || typeof b === 'bigint') return false;
  if (Buffer.isBuffer(a)) return Buffer.isBuffer(b) && a.equals(b);
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => termEquals(x, b[i] as Term));
  }
  if (a instanceof ErlFloat) return b instanceof ErlFloat && Object.is(a.value, b.value);
  if (a instanceof Tuple) {
    return b instanceof Tuple && termEquals(a.elements, b.elements);
  }
  if (a instanceof ImproperList) {
    return b instanceof ImproperList && termEquals(a.elements, b.elements) && termEquals(a.tail, b.tail);
  }
  if (a instanceof BitBinary) return b instanceof BitBinary && a.bits === b.bits && a.bytes.equals(b.bytes);
  if (a instanceof ErlMap) {
    if (!(b instanceof ErlMap) || a.size !== b.size) return false;
    return a.entries.every(([k, v]) => {
      const other = b.get(k);
      return other !== undefined && termEquals(v, other);
    });
  }
  if (a instanceof Pid) {
    return b instanceof Pid && a.node === b.node && a.id === b.id && a.serial === b.serial && a.creation === b.creation;
  }
  if (a instanceof Port) return b instanceof Port && a.node === b.node && a.id === b.id && a.creation === b.creation;
  if (a instanceof Ref) {
    return b instanceof Ref && a.node === b.node && a.creation === b.creation && termEquals([...a.ids], [...b.ids]);
  }
  if (a instanceof ExportFun) {
    return b instanceof ExportFun && a.module === b.module && a.fun === b.fun && a.arity === b.arity;
  }
  if (a instanceof Closure) return b instanceof Closure && a.raw.equals(b.raw);
  return false;
}
