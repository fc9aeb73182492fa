// Errors of the distribution layer: BeamLensErrors (one closed kind union for every layer, see
// src/errors.ts) whose messages say what to do. A closed connection is 'nodeDown'.
import { BeamLensError, type ErrorKind } from '../errors';

/**
 * What a TLS-related attach failure was, for faces that react to it (the editor offers the right
 * dialog) without reading message text. Set only on errors about TLS distribution.
 */
export type TlsIssue =
  /** We spoke plain TCP and the node answered with TLS (it runs -proto_dist inet_tls). */
  | 'tlsRequired'
  /** We spoke plain TCP and the node closed before the handshake: TLS is one likely cause. */
  | 'maybeTls'
  /** We spoke TLS and the node did not (plain TCP distribution). */
  | 'notTls'
  /** The node's certificate is not signed by a CA we trust. */
  | 'untrustedServer'
  /** The node's certificate is expired, not yet valid, or not for the node's host. */
  | 'badServerCert'
  /** The node requires a client certificate and we sent none. */
  | 'clientCertMissing'
  /** The node rejected the client certificate we sent. */
  | 'clientCertRejected'
  /** Any other TLS failure (an alert, a local TLS error). */
  | 'tlsFailed';

/** A BeamLensError raised by the distribution layer (kept as a subclass so callers can tell where). */
export class DistError extends BeamLensError {
  constructor(
    kind: ErrorKind,
    message: string,
    /** Set on TLS-related failures (see TlsIssue). */
    readonly tlsIssue?: TlsIssue,
  ) {
    super(kind, message);
    this.name = 'DistError';
  }
}

/** The TLS issue of any thrown value (undefined when it is not about TLS). */
export function tlsIssueOf(err: unknown): TlsIssue | undefined {
  return err instanceof DistError ? err.tlsIssue : undefined;
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
