// The one error type of BEAM Lens. Every layer (etf, dist, core, every face) throws
// `BeamLensError` (or a subclass) with a `kind` from the closed union `ErrorKind`; faces branch
// on the kind (CLI exit code, editor reaction, MCP tool error), never on message text. This file
// is a leaf: it imports nothing, so every layer may import it.

/**
 * What went wrong, as a face needs to know it. Closed: add a kind here (and to `describeKind`,
 * which the compiler then forces) rather than inventing one at a throw site.
 */
export type ErrorKind =
  /** The request itself is wrong: a flag, a node name, a pid or MFA text, a missing cookie file. Fix the input. */
  | 'usage'
  /** The node rejected our cookie (or we rejected its digest). Give the right cookie. */
  | 'auth'
  /** EPMD on the host answered but has no node of that name. Check the name (`beam-lens nodes`). */
  | 'noSuchNode'
  /** The host, its EPMD or the given port cannot be reached (refused, unknown host, no route). */
  | 'unreachable'
  /** Something did not answer within its deadline (EPMD, the handshake, an rpc). */
  | 'timeout'
  /** The peer broke the distribution protocol or sent bytes we cannot decode. */
  | 'protocol'
  /** The target lacks something BEAM Lens needs (protocol version, OTP release, the probe could not load). */
  | 'capability'
  /** An intrusive action (probe, tracing) was not allowed: consent (and on production the node name) is needed. */
  | 'consentRequired'
  /** Another tool already holds what we need on the target (the system monitor, a tracer). */
  | 'targetBusy'
  /** A thing on the node (a process, an application, a module) does not exist. */
  | 'notFound'
  /** The connection to the node is gone (the node stopped, the network split, we detached). */
  | 'nodeDown'
  /** An rpc reached the node and failed there ({badrpc, Reason}). */
  | 'rpc'
  /** The user stopped the work (Ctrl-C, a Stop button, a cancelled request) before it gave a result. */
  | 'cancelled'
  /** A local file could not be read or written (saving a session, a report, the audit log). */
  | 'io'
  /** Anything else: a bug in BEAM Lens. The message says what; BEAM_LENS_DEBUG=1 shows the stack in the CLI. */
  | 'internal';

/** Every kind, in a stable order (for tests and docs). */
export const errorKinds: readonly ErrorKind[] = [
  'usage', 'auth', 'noSuchNode', 'unreachable', 'timeout', 'protocol', 'capability', 'consentRequired',
  'targetBusy', 'notFound', 'nodeDown', 'rpc', 'cancelled', 'io', 'internal',
];

/**
 * When an error happened, relative to attaching: 'attach' while connecting/authenticating
 * (the CLI exits 3 for connection kinds then), 'run' once attached. Set by the attach service.
 */
export type ErrorPhase = 'attach' | 'run';

/** The error every layer throws. `message` says what went wrong and what to do; never a secret. */
export class BeamLensError extends Error {
  /** Set by the attach service on errors raised while attaching; undefined means 'run'. */
  phase: ErrorPhase | undefined;

  constructor(
    readonly kind: ErrorKind,
    message: string,
    options?: { cause?: unknown; phase?: ErrorPhase },
  ) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'BeamLensError';
    this.phase = options?.phase;
  }
}

/** Type guard for a kind coming from untrusted data (e.g. a message from the language server). */
export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === 'string' && (errorKinds as readonly string[]).includes(value);
}

/** The kind of any thrown value: a BeamLensError's own kind, 'internal' for anything else. */
export function errorKindOf(err: unknown): ErrorKind {
  if (err instanceof BeamLensError) return err.kind;
  return 'internal';
}

/** The phase of any thrown value ('run' unless the attach service marked it). */
export function errorPhaseOf(err: unknown): ErrorPhase {
  return err instanceof BeamLensError && err.phase === 'attach' ? 'attach' : 'run';
}

/** Any thrown value as a BeamLensError (non-BeamLens errors become 'internal', with the original as cause). */
export function toBeamLensError(err: unknown): BeamLensError {
  if (err instanceof BeamLensError) return err;
  if (err instanceof Error && err.name === 'AbortError') return new BeamLensError('cancelled', 'stopped', { cause: err });
  return new BeamLensError('internal', err instanceof Error ? err.message : String(err), { cause: err });
}

/** The message of any thrown value, for a person. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One line a face can show next to the message: what kind of failure this is and what helps. */
export function describeKind(kind: ErrorKind): string {
  switch (kind) {
    case 'usage':
      return 'the request is not valid; fix the input';
    case 'auth':
      return 'the node rejected the cookie; give the cookie the node uses';
    case 'noSuchNode':
      return 'no node of that name is registered on that host';
    case 'unreachable':
      return 'the host or port cannot be reached; check the host, or give host:port of the node itself when EPMD is not reachable';
    case 'timeout':
      return 'no answer in time; the node or the network may be overloaded';
    case 'protocol':
      return 'the peer broke the Erlang distribution protocol';
    case 'capability':
      return 'the target lacks something BEAM Lens needs';
    case 'consentRequired':
      return 'this action changes the target and needs consent';
    case 'targetBusy':
      return 'another tool holds what this action needs on the target';
    case 'notFound':
      return 'that does not exist on the node';
    case 'nodeDown':
      return 'the connection to the node is gone';
    case 'rpc':
      return 'the call failed on the node';
    case 'cancelled':
      return 'stopped before it finished';
    case 'io':
      return 'a local file could not be read or written';
    case 'internal':
      return 'an internal error in BEAM Lens';
    default:
      return assertNever(kind);
  }
}

/** For exhaustive switches: the compiler errors when a case is missing; at run time it throws. */
export function assertNever(value: never): never {
  throw new BeamLensError('internal', `unexpected value ${JSON.stringify(value)}`);
}
