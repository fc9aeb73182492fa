// The public surface of the ETF layer: terms, codec, errors, formatting.
export * from './terms';
export { decode, decodeAt } from './decode';
export type { DecodeOptions } from './decode';
export { encode, Writer } from './encode';
export type { EncodeOptions } from './encode';
export { EtfDecodeError, EtfEncodeError } from './errors';
export { formatTerm, formatPid, formatAtom, formatModule } from './format';
export { Tag } from './tags';
