// Errors of the distribution layer. `kind` is what UIs branch on; messages say what to do.
export type DistErrorKind = 'auth' | 'unreachable' | 'timeout' | 'protocol' | 'notFound' | 'capability' | 'closed' | 'rpc' | 'usage';

export class DistError extends Error {
  constructor(
    readonly kind: DistErrorKind,
    message: string,
  ) {
    super(message);
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
