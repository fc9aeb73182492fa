// How BEAM Lens reaches the members of a cluster from one attached entry node. Two ways:
//  - through the entry node's own distribution: every call to a member is an rpc:call/5 that the
//    entry node makes (so one connection — one SSH tunnel — is enough; nothing new is opened to
//    the members, nothing is loaded anywhere);
//  - directly: a hidden connection to each member (EPMD on each host, the same cookie).
// Either way a member is an RpcChannel, so every inspection that runs on one node runs on a
// member unchanged.
import { Atom, type Term } from '../../etf';
import { RpcError, timeoutError } from '../../erldist';
import { BeamLensError, errorKindOf } from '../../errors';
import type { RpcChannel, RpcOptions } from '../target/rpc';
import type { AttachmentConnection } from '../attach/attachment';

export type Via = 'entry' | 'direct';

export type MemberStatus = 'ok' | 'timeout' | 'unreachable' | 'error';

/** Default deadline for each member's answer. */
export const DEFAULT_MEMBER_TIMEOUT_MS = 5000;

/**
 * A channel to `member` through `entry`: each rpc is `rpc:call(Member, M, F, A, Timeout)` made on
 * the entry node. A member that does not answer in time comes back as {badrpc, timeout}, one that
 * is gone as {badrpc, nodedown} (both become errors that `memberStatusOf` classifies).
 */
export function channelViaEntry(entry: RpcChannel, member: string, defaultTimeoutMs = DEFAULT_MEMBER_TIMEOUT_MS): RpcChannel {
  return {
    peer: member,
    rpc(module: string, fun: string, args: Term[], options: RpcOptions = {}): Promise<Term> {
      const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
      return entry.rpc('rpc', 'call', [Atom.of(member), Atom.of(module), Atom.of(fun), args, timeoutMs], { timeoutMs: timeoutMs + 2000 });
    },
  };
}

/**
 * A member as an attachment through the entry node: rpc and evaluation work; what needs our own
 * processes on the member's side (tracers, the probe's guardian watching us) does not, since the
 * member is not connected to BEAM Lens — those need --via direct.
 */
export function connectionViaEntry(entry: AttachmentConnection, member: string, defaultTimeoutMs = DEFAULT_MEMBER_TIMEOUT_MS): AttachmentConnection {
  const channel = channelViaEntry(entry, member, defaultTimeoutMs);
  return {
    peer: member,
    localName: entry.localName,
    rpc: (m, f, a, o) => channel.rpc(m, f, a, o),
    spawn() {
      throw new BeamLensError('capability', `${member} is reached through ${entry.peer}: tracing and the probe need a direct connection to it (use --via direct)`);
    },
    // A member reached through the entry is lost with the entry's connection.
    onClose: (listener) => entry.onClose(listener),
    // The connection is the entry's: closing a member through it closes nothing.
    close: () => Promise.resolve(),
  };
}

/** Classifies an error of a member's call: what the cluster view shows as the member's status. */
export function memberStatusOf(err: unknown): Exclude<MemberStatus, 'ok'> {
  const kind = errorKindOf(err);
  // Through the entry node, rpc:call/5 answers {badrpc, timeout} and {badrpc, nodedown}.
  const reason = err instanceof RpcError ? err.reason : '';
  if (kind === 'timeout' || reason === 'timeout') return 'timeout';
  if (reason === 'nodedown' || kind === 'unreachable' || kind === 'nodeDown' || kind === 'noSuchNode') return 'unreachable';
  return 'error';
}

export interface MemberAnswer<T> {
  node: string;
  status: MemberStatus;
  value?: T;
  error?: string;
  /** Wall time of this member's answer (or of giving up on it). */
  elapsedMs: number;
}

/**
 * Runs `work` on every member at once and waits for each at most `timeoutMs` (plus a margin for
 * the hop through the entry node): a member that does not answer is reported with its status and
 * the others are still returned. Never throws for a member's failure.
 */
export async function fanOut<T>(
  members: ReadonlyArray<{ node: string; channel: RpcChannel }>,
  timeoutMs: number,
  work: (channel: RpcChannel, node: string) => Promise<T>,
): Promise<Array<MemberAnswer<T>>> {
  return Promise.all(
    members.map(async ({ node, channel }): Promise<MemberAnswer<T>> => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(timeoutError(node, timeoutMs)), timeoutMs + 3000);
      });
      try {
        const value = await Promise.race([work(channel, node), deadline]);
        return { node, status: 'ok', value, elapsedMs: Math.round(performance.now() - started) };
      } catch (err) {
        const status = memberStatusOf(err);
        return { node, status, error: memberError(node, status, err, timeoutMs), elapsedMs: Math.round(performance.now() - started) };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}

function memberError(node: string, status: Exclude<MemberStatus, 'ok'>, err: unknown, timeoutMs: number): string {
  switch (status) {
    case 'timeout':
      return `${node} did not answer within ${timeoutMs} ms (frozen, overloaded or partitioned?)`;
    case 'unreachable':
      return `${node} cannot be reached (${err instanceof Error ? err.message : String(err)})`;
    case 'error':
      return err instanceof Error ? err.message : String(err);
  }
}
