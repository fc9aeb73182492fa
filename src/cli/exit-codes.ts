// Exit codes are part of the CLI contract; scripts branch on them. They follow the error's kind
// (src/errors.ts) and its phase: a failure while attaching (connect, EPMD, handshake) is 3, the
// same kind once attached (a timeout in the middle of a run) is 1. A node that goes down, or a
// link that goes silent, is 3 whenever it happens (issue 14: scripts retry on 3).
//
//   0  ok
//   1  failure after attaching (timeout, protocol, rpc failed, target busy, not found, io, internal)
//   2  usage: bad flags or arguments, a missing cookie file, an unreadable session file
//   3  cannot connect or authenticate: auth, no such node, unreachable, node down (any time),
//      and any timeout, protocol or capability error while attaching
//   4  refused for safety: consent needed (--allow-probe / --allow-trace / --confirm-node)
import { errorKindOf, errorPhaseOf, assertNever, type ErrorKind, type ErrorPhase } from '../errors';

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  cannotConnect: 3,
  refusedForSafety: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit-code table of `beam-lens --help`. */
export const exitCodeHelp = [
  'Exit codes: 0 ok; 1 failure after attaching (e.g. a timeout mid-run);',
  '2 usage (bad flags, missing cookie file); 3 cannot connect or authenticate (while attaching),',
  'or the node went down / the link to it was lost at any time;',
  '4 refused for safety (consent needed).',
].join('\n');

/** The exit code for an error kind in a phase. Exhaustive over ErrorKind. */
export function exitCodeForKind(kind: ErrorKind, phase: ErrorPhase): ExitCode {
  switch (kind) {
    case 'usage':
      return ExitCode.usage;
    case 'consentRequired':
      return ExitCode.refusedForSafety;
    case 'auth':
    case 'noSuchNode':
    case 'unreachable':
    // The node went down or the network to it failed, mid-command too: scripts retry on 3.
    case 'nodeDown':
      return ExitCode.cannotConnect;
    case 'timeout':
    case 'protocol':
    case 'capability':
      return phase === 'attach' ? ExitCode.cannotConnect : ExitCode.failure;
    case 'targetBusy':
    case 'notFound':
    case 'rpc':
    case 'cancelled':
    case 'io':
    case 'internal':
      return ExitCode.failure;
    default:
      return assertNever(kind);
  }
}

/** The exit code for any thrown value: by its kind and the phase the attach service marked. */
export function exitCodeFor(err: unknown): ExitCode {
  return exitCodeForKind(errorKindOf(err), errorPhaseOf(err));
}
