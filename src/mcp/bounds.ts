// Results sized for a model's context: every tool result (its structured content and its text
// rendering together) stays under 32 KB. Lists are cut to what fits, and the result says what
// was cut and how to ask for the next page.
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** Hard bound of one result, structured JSON plus text, in UTF-8 bytes. */
export const RESULT_BYTES = 32 * 1024;
/** Of which the text rendering may use at most this much (the rest is for structuredContent). */
export const TEXT_BYTES = 8 * 1024;
/** Any single string from the node (a term, a name) is cut to this many characters. */
export const STRING_CHARS = 1000;

export interface Truncation {
  /** Items listed in this result. */
  shown: number;
  /** Items there were (before cutting to fit). */
  total: number;
  /** What to call next to see more, for a model. */
  next: string;
}

function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Cuts every string in a JSON value to `max` characters (deep, new value). */
export function capStrings<T>(value: T, max = STRING_CHARS): T {
  if (typeof value === 'string') return (value.length > max ? `${value.slice(0, max)}…(${value.length - max} more chars)` : value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => capStrings(v, max)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = capStrings(v, max);
    return out as T;
  }
  return value;
}

/**
 * The longest prefix of `items` whose built result fits `budget` bytes of JSON. `build` gets the
 * prefix and must be monotonic in its length (more items, more bytes).
 */
export function fitItems<I, R>(items: readonly I[], build: (shown: readonly I[]) => R, budget: number): { value: R; shown: number } {
  const full = build(items);
  if (bytes(JSON.stringify(full)) <= budget) return { value: full, shown: items.length };
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (bytes(JSON.stringify(build(items.slice(0, mid)))) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return { value: build(items.slice(0, lo)), shown: lo };
}

/** Text cut to `max` bytes at a line boundary, with a note saying so. */
export function boundText(text: string, max = TEXT_BYTES, note = 'see structuredContent for the full result'): string {
  if (bytes(text) <= max) return text;
  const lines = text.split('\n');
  const out: string[] = [];
  let size = 0;
  const tail = `… (text cut at ${max} bytes; ${note})`;
  const room = max - bytes(tail) - 1;
  for (const line of lines) {
    const b = bytes(line) + 1;
    if (size + b > room) break;
    out.push(line);
    size += b;
  }
  if (out.length === 0) out.push(text.slice(0, Math.max(0, Math.floor(room / 4))));
  out.push(tail);
  return out.join('\n');
}

/**
 * A successful tool result: `structured` (already fitted by the tool when it holds a list) and a
 * short text. Throws if the structured part is still over the bound (a bug in the tool).
 */
export function toolResult(structured: Record<string, unknown>, text: string): CallToolResult {
  const capped = capStrings(structured);
  const json = JSON.stringify(capped);
  const textOut = boundText(text, Math.min(TEXT_BYTES, RESULT_BYTES - bytes(json)));
  if (bytes(json) + bytes(textOut) > RESULT_BYTES) {
    throw new Error(`result of ${bytes(json)} bytes is over the ${RESULT_BYTES}-byte bound (a BEAM Lens bug: the tool must page it)`);
  }
  return { content: [{ type: 'text', text: textOut }], structuredContent: capped };
}

/** Budget for a list-bearing structured result, leaving room for its text. */
export const STRUCTURED_BUDGET = RESULT_BYTES - TEXT_BYTES - 512;

/** A note for the model when a list was cut. */
export function truncationNote(t: Truncation | undefined): string {
  if (!t || t.shown >= t.total) return '';
  return `\n(${t.shown} of ${t.total} shown; ${t.next})`;
}
