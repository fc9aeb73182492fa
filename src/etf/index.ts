// The public surface of the ETF layer: terms, codec, errors, formatting.
export * from './terms';
export { decode, decodeAt, TRUSTED_LIMITS } from './decode';
export type { DecodeLimits, DecodeOptions, TermBudget } from './decode';
export { encode, Writer } from './encode';
export type { EncodeOptions } from './encode';
export { EtfDecodeError, EtfEncodeError, EtfLimitError } from './errors';
export { formatTerm, formatPid, formatAtom, formatModule } from './format';
export { Tag } from './tags';
