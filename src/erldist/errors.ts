// Errors of the distribution layer: BeamLensErrors (one closed kind union for every layer, see
// src/errors.ts) whose messages say what to do. A closed connection is 'nodeDown'.
import { BeamLensError, type ErrorKind } from '../errors';

/** A BeamLensError raised by the distribution layer (kept as a subclass so callers can tell where). */
export class DistError extends BeamLensError {
  constructor(kind: ErrorKind, message: string) {
    super(kind, message);
    this.name = 'DistError';
  }
}

/** An rpc that reached the node but failed there ({badrpc, Reason}). */
export class RpcError extends DistError {
  constructor(
    message: string,
    /** The reason as Erlang would print it (truncated). */
    readonly reason: string,
  ) {
    super('rpc', message);
    this.name = 'RpcError';
  }
}

export function timeoutError(what: string, ms: number, hint = ''): DistError {
  return new DistError('timeout', `${what} did not answer within ${ms} ms${hint ? `; ${hint}` : ''}`);
}

/** Describes a socket error code for a person. */
export function socketProblem(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host';
    case 'ECONNRESET':
      return 'connection reset';
    default:
      return err.code ?? err.message;
  }
}
