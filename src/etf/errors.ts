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

/** Raised when a JavaScript value has no Erlang term encoding (kind 'protocol'). */
export class EtfEncodeError extends BeamLensError {
  constructor(reason: string) {
    super('protocol', `cannot encode as an Erlang term: ${reason}`);
    this.name = 'EtfEncodeError';
  }
}
