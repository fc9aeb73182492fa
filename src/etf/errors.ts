/** Raised for truncated, malformed or unsupported External Term Format input. */
export class EtfDecodeError extends Error {
  readonly kind = 'protocol' as const;
  constructor(
    readonly reason: string,
    /** Byte offset in the input where decoding failed. */
    readonly offset: number,
  ) {
    super(`cannot decode Erlang term at byte ${offset}: ${reason}`);
    this.name = 'EtfDecodeError';
  }
}

/** Raised when a JavaScript value has no Erlang term encoding. */
export class EtfEncodeError extends Error {
  readonly kind = 'protocol' as const;
  constructor(reason: string) {
    super(`cannot encode as an Erlang term: ${reason}`);
    this.name = 'EtfEncodeError';
  }
}
