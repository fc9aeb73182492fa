// Bounds on one decode (bytes from a node are untrusted) and the bounded inflate of a
// compressed term: what a decode may build, checked before it allocates.
import { inflateSync } from 'node:zlib';
import { EtfDecodeError, EtfLimitError } from './errors';

/** Nesting deeper than this is refused rather than risking the JS stack. */
export const MAX_DEPTH = 4000;

/** Bounds on what one decode may build; bytes from a node are untrusted. */
export interface DecodeLimits {
  /** A compressed term may not claim (or inflate) to more than this many bytes. */
  maxInflatedBytes: number;
  /**
   * Memory the decoded terms may take, as estimated per term (a slot, an array, an object, a
   * Buffer view, a new atom). An empty list is one byte on the wire and ~40 bytes decoded, an
   * empty binary 5 bytes and ~200: this bounds the growth, not only the input.
   */
  maxDecodedBytes: number;
  /** Bytes of one bignum (Erlang has no practical use for more). */
  maxBigBytes: number;
}

/** Defaults for trusted local data (files, benchmarks): large but finite. */
export const TRUSTED_LIMITS: DecodeLimits = { maxInflatedBytes: 1 << 30, maxDecodedBytes: Number.MAX_SAFE_INTEGER, maxBigBytes: 1 << 24 };

// Rough V8 costs (64-bit, compressed pointers off), enough to bound memory within a small factor.
export const SLOT = 8;
export const ARRAY = 32;
export const OBJECT = 48;
export const BUFFER_VIEW = 200;
export const MAP_ENTRY = ARRAY + 2 * SLOT;

/** A shared budget, so several terms of one frame (control + payload) draw on one allowance. */
export interface TermBudget {
  left: number;
}

export interface DecodeOptions {
  /** Return binaries as copies instead of views into the input buffer (default false: views). */
  copyBinaries?: boolean;
  limits?: Partial<DecodeLimits>;
  /** Draws from this budget (estimated bytes) instead of a fresh one of limits.maxDecodedBytes. */
  budget?: TermBudget;
}

/**
 * Inflates the zlib data of a compressed term whose header claims `size` bytes (already checked
 * against the limit): never more than `size` bytes are produced. Returns the inflated bytes and
 * how many input bytes the zlib stream used. `tagAt`/`dataAt` locate errors in the input.
 */
export function inflateBounded(data: Buffer, size: number, tagAt: number, dataAt: number): { inflated: Buffer; consumed: number } {
  let inflated: Buffer;
  let consumed: number;
  try {
    const result = inflateSync(data, { info: true, maxOutputLength: Math.max(size, 1) }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    inflated = result.buffer;
    consumed = result.engine.bytesWritten;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new EtfLimitError(`a compressed term that inflates past the ${size} bytes its header claims`, tagAt);
    }
    throw new EtfDecodeError(`bad zlib data in compressed term (${(err as Error).message})`, dataAt);
  }
  if (inflated.length !== size) {
    throw new EtfDecodeError(`compressed term inflated to ${inflated.length} bytes, header said ${size}`, tagAt);
  }
  return { inflated, consumed };
}
