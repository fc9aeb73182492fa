// Inline Markdown for the report preview (pure; unit-tested): backslash escapes, code spans,
// bold/italic (nested), links and autolinks (kept as their text and address). Raw HTML is text.
export type Inline =
  | { kind: 'text'; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'bold'; text: string; children: Inline[] }
  | { kind: 'italic'; text: string; children: Inline[] }
  | { kind: 'link'; text: string; href: string; children: Inline[] };

/** Deeper nesting (of lists, quotes, or inline marks) is read as plain text: hostile input cannot blow the stack. */
export const MAX_DEPTH = 16;

const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;
const ALNUM = /[\p{L}\p{N}]/u;
const AUTOLINK = /^<([a-zA-Z][a-zA-Z0-9+.-]{1,31}:[^\s<>]*)>/;

export function plainText(parts: readonly Inline[]): string {
  return parts.map((p) => p.text).join('');
}

interface Seq {
  nodes: Inline[];
  pos: number;
  closed: boolean;
}

class InlineReader {
  /** For each closing mark: a search for it from this position on already failed. */
  private readonly noCloser = new Map<string, number>();

  constructor(
    private readonly s: string,
    private readonly end: number,
  ) {}

  private canOpen(pos: number, mark: string): boolean {
    const next = this.s[pos + mark.length];
    if (next === undefined || pos + mark.length >= this.end || /\s/.test(next)) return false;
    return mark[0] !== '_' || pos === 0 || !ALNUM.test(this.s[pos - 1] ?? '');
  }

  private canClose(pos: number, mark: string, start: number): boolean {
    if (pos <= start || !this.s.startsWith(mark, pos) || pos + mark.length > this.end) return false;
    if (/\s/.test(this.s[pos - 1] ?? ' ')) return false;
    return mark[0] !== '_' || !ALNUM.test(this.s[pos + mark.length] ?? '');
  }

  /** Reads from `pos` up to the closing `closer` (null: to the end). */
  read(pos: number, closer: string | null, depth: number): Seq {
    const nodes: Inline[] = [];
    let text = '';
    const flush = (): void => {
      if (text !== '') nodes.push({ kind: 'text', text });
      text = '';
    };
    const start = pos;
    const s = this.s;
    while (pos < this.end) {
      if (closer !== null && this.canClose(pos, closer, start)) {
        flush();
        return { nodes, pos: pos + closer.length, closed: true };
      }
      const c = s[pos] as string;
      if (c === '\\' && pos + 1 < this.end && PUNCT.test(s[pos + 1] ?? '')) {
        text += s[pos + 1];
        pos += 2;
        continue;
      }
      if (c === '`') {
        let k = 1;
        while (s[pos + k] === '`') k++;
        const close = findRun(s, '`', k, pos + k, this.end);
        if (close < 0) {
          text += '`'.repeat(k);
          pos += k;
          continue;
        }
        flush();
        let code = s.slice(pos + k, close).replace(/\n/g, ' ');
        if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ') && code.trim() !== '') code = code.slice(1, -1);
        nodes.push({ kind: 'code', text: code });
        pos = close + k;
        continue;
      }
      if ((c === '*' || c === '_') && depth < MAX_DEPTH) {
        let k = 1;
        while (s[pos + k] === c) k++;
        const marks = k >= 2 ? [c + c, c] : [c];
        let done = false;
        for (const mark of marks) {
          if (!this.canOpen(pos, mark) || (this.noCloser.get(mark) ?? Infinity) <= pos) continue;
          const inner = this.read(pos + mark.length, mark, depth + 1);
          if (!inner.closed) {
            this.noCloser.set(mark, Math.min(this.noCloser.get(mark) ?? Infinity, pos));
            continue;
          }
          flush();
          nodes.push({ kind: mark.length === 2 ? 'bold' : 'italic', text: plainText(inner.nodes), children: inner.nodes });
          pos = inner.pos;
          done = true;
          break;
        }
        if (!done) {
          text += c.repeat(k);
          pos += k;
        }
        continue;
      }
      if ((c === '[' || (c === '!' && s[pos + 1] === '[')) && depth < MAX_DEPTH) {
        const open = c === '!' ? pos + 1 : pos;
        const link = this.link(open, depth);
        if (link) {
          flush();
          nodes.push(link.node);
          pos = link.end;
          continue;
        }
      }
      if (c === '<') {
        const m = AUTOLINK.exec(s.slice(pos, Math.min(this.end, pos + 2048)));
        if (m) {
          flush();
          const href = m[1] as string;
          nodes.push({ kind: 'link', text: href, href, children: [{ kind: 'text', text: href }] });
          pos += m[0].length;
          continue;
        }
      }
      text += c;
      pos++;
    }
    flush();
    return { nodes, pos, closed: closer === null };
  }

  /** `[label](href)` at `open`; the label is read as inline text of its own. */
  private link(open: number, depth: number): { node: Inline; end: number } | null {
    const s = this.s;
    let level = 0;
    let i = open;
    for (; i < this.end; i++) {
      const ch = s[i];
      if (ch === '\\') i++;
      else if (ch === '`') {
        let k = 1;
        while (s[i + k] === '`') k++;
        const close = findRun(s, '`', k, i + k, this.end);
        i = close < 0 ? i + k - 1 : close + k - 1;
      } else if (ch === '[') level++;
      else if (ch === ']' && --level === 0) break;
    }
    if (i >= this.end || s[i + 1] !== '(') return null;
    const paren = s.indexOf(')', i + 2);
    if (paren < 0 || paren >= this.end) return null;
    const target = s.slice(i + 2, paren).trim();
    if (/\s/.test(target.replace(/\s+"[^"]*"$/, ''))) return null;
    const href = target.replace(/\s+"[^"]*"$/, '').replace(/^<(.*)>$/, '$1');
    const children = new InlineReader(s, i).read(open + 1, null, depth + 1).nodes;
    return { node: { kind: 'link', text: plainText(children), href, children }, end: paren + 1 };
  }
}

/** Start of the next run of exactly `k` `ch` characters in [from, end), or -1. */
export function findRun(s: string, ch: string, k: number, from: number, end: number): number {
  for (let i = s.indexOf(ch, from); i >= 0 && i < end; i = s.indexOf(ch, i)) {
    let n = 0;
    while (s[i + n] === ch) n++;
    if (n === k && i + n <= end) return i;
    i += n;
  }
  return -1;
}

/** Inline Markdown of one paragraph, heading or cell. */
export function inline(text: string): Inline[] {
  return new InlineReader(text, text.length).read(0, null, 0).nodes;
}
