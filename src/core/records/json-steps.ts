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
 * Containers larger than a slice nested in one another (a profile has 6): more is refused (each
 * is a frame of the walk; their look-aheads go on from one another's, see Ahead).
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
  const ahead = newAhead();
  if ((c0 !== LBRACKET && c0 !== LBRACE) || valueEnd(text, i, slice, ahead) >= 0) return JSON.parse(utf8(text, 0, text.length)) as unknown;
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
    const end = top.kind === 'array' ? arrayRun(text, i, top.value, slice, ahead) : objectRun(text, i, top.value, slice, ahead);
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
      const e = valueEnd(text, v, Infinity, ahead);
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
function arrayRun(text: Uint8Array, i: number, into: unknown[], slice: number, ahead: Ahead): number {
  let end = -1;
  let j = i;
  for (;;) {
    const e = valueEnd(text, j, slice, ahead);
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
function objectRun(text: Uint8Array, i: number, into: Obj, slice: number, ahead: Ahead): number {
  let end = -1;
  let j = i;
  for (;;) {
    if (at(text, j) !== QUOTE) break;
    const ke = stringEnd(text, j, j + slice);
    if (ke < 0) break;
    const colon = skipWs(text, ke);
    if (at(text, colon) !== COLON) break;
    const e = valueEnd(text, skipWs(text, colon + 1), slice, ahead);
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
 * containers nested around one long string are not each scanned to its end. `from`: where to
 * search on (the quotes before it are escaped ones).
 */
function stringEnd(text: Uint8Array, i: number, stop: number, from = i + 1): number {
  const view = stop < text.length ? text.subarray(0, Math.max(stop, 0)) : text;
  let j = from;
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
 * Where the last look-ahead into a container stopped without finding its end: the containers still
 * open there (their starts, outermost first, from `base` on) and the string it stopped in (-1:
 * none). The parser then enters those containers one by one; each one's look-ahead goes on from
 * `stop` instead of scanning again what the outer ones scanned (a slice each: containers nested
 * a thousand deep cost a thousand slices, again and again in a file of many such).
 */
interface Ahead {
  stop: number;
  open: number[];
  base: number;
  inString: number;
}

function newAhead(): Ahead {
  return { stop: -1, open: [], base: 0, inString: -1 };
}

/**
 * The end of the value starting at `i` when it ends within `limit` characters, else -1 (also
 * when it does not end at all). Only the structure is followed; JSON.parse checks the content.
 */
function valueEnd(text: Uint8Array, i: number, limit: number, ahead: Ahead): number {
  const c = at(text, i);
  if (c === QUOTE) return stringEnd(text, i, i + limit);
  if (c === LBRACKET || c === LBRACE) return containerEnd(text, i, limit, ahead);
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

/** valueEnd of a container, going on from where an earlier look-ahead stopped inside it (see Ahead). */
function containerEnd(text: Uint8Array, i: number, limit: number, ahead: Ahead): number {
  const stop = Math.min(text.length, i + limit);
  const k = i < ahead.stop && stop >= ahead.stop ? openIndex(ahead, i) : -1;
  let open: number[];
  let from: number;
  let j: number;
  if (k >= 0) {
    // Open at ahead.stop (so not closed before it): go on from there.
    open = ahead.open;
    from = k;
    j = ahead.stop;
    if (ahead.inString >= 0) {
      const e = stringEnd(text, ahead.inString, stop, ahead.stop);
      if (e < 0) return stopped(ahead, stop, open, from, ahead.inString);
      j = e;
    }
  } else {
    open = [];
    from = 0;
    j = i;
  }
  for (; j < stop; j++) {
    const ch = at(text, j);
    if (ch === QUOTE) {
      const e = stringEnd(text, j, stop);
      if (e < 0) return stopped(ahead, stop, open, from, j);
      j = e - 1;
    } else if (ch === LBRACKET || ch === LBRACE) open.push(j);
    else if (ch === RBRACKET || ch === RBRACE) {
      open.pop();
      if (open.length <= from) {
        // Gone on from an earlier look-ahead: the containers around this one are still open here.
        if (k >= 0) {
          ahead.stop = j + 1;
          ahead.inString = -1;
        }
        return j + 1;
      }
    }
  }
  return stopped(ahead, stop, open, from, -1);
}

function stopped(ahead: Ahead, stop: number, open: number[], from: number, inString: number): number {
  ahead.stop = stop;
  ahead.open = open;
  ahead.base = from;
  ahead.inString = inString;
  return -1;
}

/** The index in ahead.open (from its base on, ascending) of the container starting at `i`, or -1. */
function openIndex(ahead: Ahead, i: number): number {
  let lo = ahead.base;
  let hi = ahead.open.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const p = ahead.open[mid] ?? -1;
    if (p === i) return mid;
    if (p < i) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
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
