// Reading typed values out of Erlang terms returned by rpc. Each helper names what it expected,
// so a surprising reply from a target becomes a clear protocol error instead of a crash later.
import { Atom, ErlMap, Term, Tuple, isAtom } from '../../etf';
import { BeamLensError } from '../../errors';

/** A reply from the node that is not what we asked for (kind 'protocol'). */
export class UnexpectedReplyError extends BeamLensError {
  constructor(what: string, got: Term | undefined) {
    super('protocol', `unexpected reply from the node: expected ${what}, got ${describe(got)}`);
    this.name = 'UnexpectedReplyError';
  }
}

function describe(t: Term | undefined): string {
  if (t === undefined) return 'nothing';
  if (typeof t === 'number' || typeof t === 'bigint') return `the integer ${t}`;
  if (t instanceof Atom) return `the atom ${t.name}`;
  if (Array.isArray(t)) return `a list of ${t.length}`;
  if (Buffer.isBuffer(t)) return `a binary of ${t.length} bytes`;
  return `a ${t.constructor.name}`;
}

/** A charlist ("25" arrives as [50, 53]) or a binary, as a JS string. */
export function charlistToString(t: Term | undefined): string {
  if (Buffer.isBuffer(t)) return t.toString('utf8');
  if (Array.isArray(t) && t.every((c) => typeof c === 'number')) return String.fromCodePoint(...(t as number[]));
  throw new UnexpectedReplyError('a string', t);
}

export function asNumber(t: Term | undefined, what = 'an integer'): number {
  if (typeof t === 'number') return t;
  if (typeof t === 'bigint') return Number(t);
  throw new UnexpectedReplyError(what, t);
}

export function asList(t: Term | undefined, what = 'a list'): Term[] {
  if (Array.isArray(t)) return t;
  throw new UnexpectedReplyError(what, t);
}

export function asTuple(t: Term | undefined, size?: number, what = `a tuple${size ? ` of ${size}` : ''}`): Tuple {
  if (t instanceof Tuple && (size === undefined || t.elements.length === size)) return t;
  throw new UnexpectedReplyError(what, t);
}

/** Turns a proplist into a Map keyed by atom name (later duplicates ignored, as proplists:get_value does). */
export function proplistToMap(list: Term | undefined): Map<string, Term> {
  const out = new Map<string, Term>();
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    if (item instanceof Tuple && item.elements.length === 2 && item.elements[0] instanceof Atom) {
      const k = item.elements[0].name;
      if (!out.has(k)) out.set(k, item.elements[1] as Term);
    }
  }
  return out;
}

/** {M, F, A} as "M:F/A" with raw module atom text (the CLI's JSON contract). */
export function mfaToString(t: Term | undefined): string | null {
  if (t instanceof Tuple && t.elements.length === 3) {
    const [m, f, a] = t.elements;
    if (m instanceof Atom && f instanceof Atom) {
      const arity = typeof a === 'number' ? a : Array.isArray(a) ? a.length : undefined;
      if (arity !== undefined) return `${m.name}:${f.name}/${arity}`;
    }
  }
  return null;
}
