import { BeamLensError } from '../errors';

/** Raised for truncated, malformed or unsupported External Term Format input (kind 'protocol'). */
export class EtfDecodeError extends BeamLensError {
  constructor(
    readonly reason: string,
    /** Byte offset in the input where decoding failed. */
    readonly offset: number,
  ) {
    super('protocol', `cannot decode Erlang term at byte ${offset}: ${reason}`);
    this.name = 'EtfDecodeError';
  }
}

/**
 * The input broke one of the decoder's bounds (inflated size, term count, bignum size). `reason`
 * says what was sent, e.g. "a compressed term claiming 1073741824 bytes; the limit is 16777216 bytes".
 */
export class EtfLimitError extends EtfDecodeError {
  constructor(reason: string, offset: number) {
    super(reason, offset);
    this.name = 'EtfLimitError';
    this.message = `refused an Erlang term at byte ${offset}: ${reason}`;
  }
}

/** Raised when a JavaScript value has no Erlang term encoding (kind 'protocol'). */
export class EtfEncodeError extends BeamLensError {
  constructor(reason: string) {
    super('protocol', `cannot encode as an Erlang term: ${reason}`);
    this.name = 'EtfEncodeError';
  }
}
