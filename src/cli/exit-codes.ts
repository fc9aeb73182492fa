// Exit codes are part of the CLI contract; scripts branch on them.
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  cannotConnect: 3,
  refusedForSafety: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const connectKinds = new Set(['auth', 'unreachable', 'timeout', 'notFound', 'capability', 'handshake']);


/** The exit code for an error, by its `kind`. Connection-phase timeouts map to 3; the caller decides others. */
export function exitCodeFor(err: unknown, phase: 'connect' | 'run'): ExitCode {
  const kind = errorKind(err);
  if (kind === 'usage') return ExitCode.usage;
  if (kind === 'consentRequired') return ExitCode.refusedForSafety;
  if (phase === 'connect' && kind !== undefined && connectKinds.has(kind)) return ExitCode.cannotConnect;
  // 'closed': the node went down or the network to it failed mid-command.
  if (kind === 'auth' || kind === 'notFound' || kind === 'capability' || kind === 'closed') return ExitCode.cannotConnect;
  return ExitCode.failure;
}

export function errorKind(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'kind' in err) {
    const kind = (err as { kind: unknown }).kind;
    return typeof kind === 'string' ? kind : undefined;
  }
  return undefined;
}
