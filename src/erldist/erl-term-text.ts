// A small reader for Erlang term text as `file:consult/1` reads it (what an -ssl_dist_optfile
// holds): lists, tuples, atoms (bare and quoted), strings, binaries of a string, integers,
// comments. No Erlang is needed on the user's machine. Bounded: the file is a few KiB, so larger
// or deeper input is refused instead of being read.

export type ErlText =
  | { t: 'atom'; v: string }
  | { t: 'string'; v: string }
  | { t: 'binary'; v: string }
  | { t: 'int'; v: number }
  | { t: 'list'; items: ErlText[] }
  | { t: 'tuple'; items: ErlText[] };

export class ErlTextError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${reason}`);
    this.name = 'ErlTextError';
  }
}

export const MAX_TEXT_BYTES = 256 * 1024;
const MAX_DEPTH = 32;
const MAX_ITEMS = 10_000;

/** Every term of the text, each ended by a dot (as file:consult/1). */
export function readTerms(text: string): ErlText[] {
  if (text.length > MAX_TEXT_BYTES) throw new ErlTextError(`the file is over ${MAX_TEXT_BYTES} bytes; an options file is a few KiB`, 1);
  const r = new Reader(text);
  const out: ErlText[] = [];
  for (;;) {
    r.skip();
    if (r.atEnd()) return out;
    out.push(r.term(0));
    r.skip();
    r.expect('.');
    if (out.length > MAX_ITEMS) throw new ErlTextError('too many terms', r.line());
  }
}

class Reader {
  private pos = 0;
  private items = 0;
  constructor(private readonly s: string) {}

  atEnd(): boolean {
    return this.pos >= this.s.length;
  }

  line(): number {
    let n = 1;
    for (let i = 0; i < this.pos && i < this.s.length; i++) if (this.s[i] === '\n') n++;
    return n;
  }

  skip(): void {
    while (this.pos < this.s.length) {
      const c = this.s[this.pos] as string;
      if (c === '%') {
        while (this.pos < this.s.length && this.s[this.pos] !== '\n') this.pos++;
      } else if (/\s/.test(c)) this.pos++;
      else return;
    }
  }

  expect(c: string): void {
    this.skip();
    if (this.s[this.pos] !== c) throw this.fail(`expected "${c}"`);
    this.pos++;
  }

  private fail(what: string): ErlTextError {
    const got = this.atEnd() ? 'the end of the file' : `"${this.s.slice(this.pos, this.pos + 12)}"`;
    return new ErlTextError(`${what}, found ${got}`, this.line());
  }

  term(depth: number): ErlText {
    if (depth > MAX_DEPTH) throw new ErlTextError(`terms nested deeper than ${MAX_DEPTH} levels`, this.line());
    if (++this.items > MAX_ITEMS) throw new ErlTextError(`more than ${MAX_ITEMS} terms`, this.line());
    this.skip();
    const c = this.s[this.pos];
    if (c === '[') return { t: 'list', items: this.seq(']', depth) };
    if (c === '{') return { t: 'tuple', items: this.seq('}', depth) };
    if (c === '"') return { t: 'string', v: this.quoted('"') };
    if (c === "'") return { t: 'atom', v: this.quoted("'") };
    if (c === '<' && this.s[this.pos + 1] === '<') {
      this.pos += 2;
      this.skip();
      const v = this.s[this.pos] === '"' ? this.quoted('"') : '';
      this.skip();
      if (this.s.slice(this.pos, this.pos + 2) !== '>>') throw this.fail('expected ">>" (only <<"text">> binaries are read)');
      this.pos += 2;
      return { t: 'binary', v };
    }
    const num = /^-?\d+/.exec(this.s.slice(this.pos, this.pos + 24));
    if (num) {
      this.pos += num[0].length;
      return { t: 'int', v: Number(num[0]) };
    }
    const word = /^[a-z][A-Za-z0-9_@]*/.exec(this.s.slice(this.pos, this.pos + 256));
    if (word) {
      this.pos += word[0].length;
      return { t: 'atom', v: word[0] };
    }
    throw this.fail('expected a term');
  }

  private seq(close: string, depth: number): ErlText[] {
    this.pos++;
    const items: ErlText[] = [];
    this.skip();
    if (this.s[this.pos] === close) {
      this.pos++;
      return items;
    }
    for (;;) {
      items.push(this.term(depth + 1));
      this.skip();
      const c = this.s[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === close) {
        this.pos++;
        return items;
      }
      throw this.fail(`expected "," or "${close}"`);
    }
  }

  private quoted(q: string): string {
    this.pos++;
    let out = '';
    for (;;) {
      if (this.atEnd()) throw new ErlTextError(`unterminated ${q === '"' ? 'string' : 'quoted atom'}`, this.line());
      const c = this.s[this.pos++] as string;
      if (c === q) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.pos++];
      const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', s: ' ', e: '\x1b', '\\': '\\', '"': '"', "'": "'" };
      if (e === undefined) throw new ErlTextError('unterminated escape', this.line());
      out += escapes[e] ?? e;
    }
  }
}

/** The text of a string, binary or atom term, else undefined. */
export function textOf(t: ErlText | undefined): string | undefined {
  if (t === undefined) return undefined;
  return t.t === 'string' || t.t === 'binary' || t.t === 'atom' ? t.v : undefined;
}

/** The {Key, Value} pairs of a property list (other elements are skipped). */
export function proplist(t: ErlText | undefined): Map<string, ErlText> {
  const out = new Map<string, ErlText>();
  if (t?.t !== 'list') return out;
  for (const item of t.items) {
    if (item.t !== 'tuple' || item.items.length !== 2) continue;
    const [k, v] = item.items as [ErlText, ErlText];
    if (k.t === 'atom' && !out.has(k.v)) out.set(k.v, v);
  }
  return out;
}
