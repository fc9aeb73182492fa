// JSON.parse of a large UTF-8 text in slices (see steps.ts): the same result as JSON.parse of its
// text, and a SyntaxError where that would throw one, but the work pauses between slices. The
// containers larger than a slice are walked here, over the bytes (their brackets, commas, colons
// and keys checked: JSON's structure is ASCII, and a multi-byte character's bytes are all
// ≥ 0x80); every run of small members is decoded and handed to JSON.parse at once (one call for
// ~64 KB of members), so most of the text is still parsed natively, and the file is never one
// string (no 100 MB decode or copy in one go).
import type { Steps } from './steps';

/** Bytes of members handed to one JSON.parse call. */
const SLICE = 64 * 1024;
/**
 * Containers larger than a slice nested in one another (a profile has 6). Each costs a look of up
 * to a slice ahead: a hostile file of nothing but brackets is refused instead of scanned for long.
 */
const MAX_LARGE_DEPTH = 1000;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;

type Obj = Record<string, unknown>;
type Frame = { kind: 'array'; value: unknown[] } | { kind: 'object'; value: Obj; key: string };

/**
 * The parsed value of `text` (JSON in UTF-8), pausing between slices; a SyntaxError where
 * JSON.parse throws one. `slice`: bytes per JSON.parse call (smaller in tests, to walk small texts).
 */
export function* parseJsonSteps(text: Uint8Array, slice = SLICE): Steps<unknown> {
  let i = skipWs(text, 0);
  const c0 = at(text, i);
  if ((c0 !== LBRACKET && c0 !== LBRACE) || valueEnd(text, i, slice) >= 0) return JSON.parse(utf8(text, 0, text.length)) as unknown;
  const stack: Frame[] = [frameOf(c0)];
  i = skipWs(text, i + 1);
  /** Expecting a member (else: a comma or the container's end). */
  let member = true;
  /** A member may be absent (right after the opening bracket, not after a comma). */
  let mayClose = true;
  for (;;) {
    const top = stack[stack.length - 1];
    if (!top) break;
    const close = top.kind === 'array' ? RBRACKET : RBRACE;
    if (!member) {
      i = skipWs(text, i);
      const ch = at(text, i);
      if (ch === COMMA) {
        i = skipWs(text, i + 1);
        member = true;
        mayClose = false;
        continue;
      }
      if (ch !== close) throw syntaxError(text, i);
      stack.pop();
      i++;
      const parent = stack[stack.length - 1];
      if (!parent) {
        if (skipWs(text, i) !== text.length) throw syntaxError(text, skipWs(text, i));
        return top.value;
      }
      attach(parent, top.value);
      continue;
    }
    if (at(text, i) === close) {
      if (!mayClose) throw syntaxError(text, i);
      member = false;
      continue;
    }
    const end = top.kind === 'array' ? arrayRun(text, i, top.value, slice) : objectRun(text, i, top.value, slice);
    member = false;
    if (end >= 0) {
      i = end;
      yield;
      continue;
    }
    // A member larger than a slice: its key, then the value walked into (a container) or parsed whole.
    let v = i;
    if (top.kind === 'object') {
      const ke = at(text, i) === QUOTE ? stringEnd(text, i, Infinity) : -1;
      if (ke < 0) throw syntaxError(text, i);
      top.key = JSON.parse(utf8(text, i, ke)) as string;
      const colon = skipWs(text, ke);
      if (at(text, colon) !== COLON) throw syntaxError(text, colon);
      v = skipWs(text, colon + 1);
    }
    const cv = at(text, v);
    if (cv === LBRACKET || cv === LBRACE) {
      if (stack.length >= MAX_LARGE_DEPTH) throw new SyntaxError(`more than ${MAX_LARGE_DEPTH} large containers nested at position ${v}`);
      stack.push(frameOf(cv));
      i = skipWs(text, v + 1);
      member = true;
      mayClose = true;
    } else {
      const e = valueEnd(text, v, Infinity);
      if (e <= v) throw syntaxError(text, v);
      attach(top, JSON.parse(utf8(text, v, e)) as unknown);
      i = e;
    }
    yield;
  }
  throw syntaxError(text, i);
}

function frameOf(c: number): Frame {
  return c === LBRACKET ? { kind: 'array', value: [] } : { kind: 'object', value: {}, key: '' };
}

function attach(f: Frame, v: unknown): void {
  if (f.kind === 'array') f.value.push(v);
  else put(f.value, f.key, v);
}

/** As JSON.parse does: an own property, even for "__proto__" (an assignment would set the prototype). */
function put(o: Obj, key: string, v: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value: v, writable: true, enumerable: true, configurable: true });
  else o[key] = v;
}

/**
 * Small elements of an array from `i` on, parsed together and pushed: the end of the last one,
 * or -1 when the element at `i` is larger than a slice (or not well formed: found out later).
 */
function arrayRun(text: Uint8Array, i: number, into: unknown[], slice: number): number {
  let end = -1;
  let j = i;
  for (;;) {
    const e = valueEnd(text, j, slice);
    if (e < 0) break;
    end = e;
    const k = skipWs(text, e);
    if (at(text, k) !== COMMA || end - i >= slice) break;
    j = skipWs(text, k + 1);
  }
  if (end < 0) return -1;
  const values = JSON.parse(`[${utf8(text, i, end)}]`) as unknown[];
  for (const v of values) into.push(v);
  return end;
}

/** Small members ("key": value) of an object from `i` on, as arrayRun. */
function objectRun(text: Uint8Array, i: number, into: Obj, slice: number): number {
  let end = -1;
  let j = i;
  for (;;) {
    if (at(text, j) !== QUOTE) break;
    const ke = stringEnd(text, j, j + slice);
    if (ke < 0) break;
    const colon = skipWs(text, ke);
    if (at(text, colon) !== COLON) break;
    const e = valueEnd(text, skipWs(text, colon + 1), slice);
    if (e < 0) break;
    end = e;
    const k = skipWs(text, e);
    if (at(text, k) !== COMMA || end - i >= slice) break;
    j = skipWs(text, k + 1);
  }
  if (end < 0) return -1;
  const o = JSON.parse(`{${utf8(text, i, end)}}`) as Obj;
  for (const key of Object.keys(o)) put(into, key, o[key]);
  return end;
}

function skipWs(text: Uint8Array, i: number): number {
  for (;;) {
    const c = at(text, i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/**
 * The end (after the closing quote) of the string starting at `i` when its closing quote is before
 * `stop`, else -1 (also if it does not end): a look-ahead bounded by `stop` scans no further, so
 * containers nested around one long string are not each scanned to its end.
 */
function stringEnd(text: Uint8Array, i: number, stop: number): number {
  const view = stop < text.length ? text.subarray(0, Math.max(stop, 0)) : text;
  let j = i + 1;
  for (;;) {
    const q = view.indexOf(QUOTE, j);
    if (q < 0) return -1;
    let b = 0;
    while (at(text, q - 1 - b) === BACKSLASH) b++;
    if (b % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/**
 * The end of the value starting at `i` when it ends within `limit` characters, else -1 (also
 * when it does not end at all). Only the structure is followed; JSON.parse checks the content.
 */
function valueEnd(text: Uint8Array, i: number, limit: number): number {
  const c = at(text, i);
  if (c === QUOTE) return stringEnd(text, i, i + limit);
  if (c === LBRACKET || c === LBRACE) {
    let depth = 0;
    const stop = Math.min(text.length, i + limit);
    for (let j = i; j < stop; j++) {
      const ch = at(text, j);
      if (ch === QUOTE) {
        const e = stringEnd(text, j, stop);
        if (e < 0) return -1;
        j = e - 1;
      } else if (ch === LBRACKET || ch === LBRACE) depth++;
      else if (ch === RBRACKET || ch === RBRACE) {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter.
  let j = i;
  const stop = Math.min(text.length, i + limit);
  while (j < stop) {
    const ch = at(text, j);
    if (ch === COMMA || ch === RBRACKET || ch === RBRACE || ch === COLON || ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09) break;
    j++;
  }
  if (j === i) return -1;
  return j < stop || j === text.length ? j : -1;
}

function at(text: Uint8Array, i: number): number {
  return text[i] ?? -1;
}

/** As readFileSync(file, 'utf8') decodes (a byte order mark is kept: JSON.parse refuses it, as before). */
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

function utf8(text: Uint8Array, from: number, to: number): string {
  return decoder.decode(text.subarray(from, to));
}

function syntaxError(text: Uint8Array, pos: number): SyntaxError {
  return new SyntaxError(`Unexpected ${pos < text.length ? `byte ${at(text, pos)}` : 'end of JSON input'} at position ${pos}`);
}
