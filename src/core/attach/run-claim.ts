// The one-intrusive-run-per-node rule across BEAM Lens instances (two OS processes: the editor and
// `beam-lens mcp`, two engineers' CLIs). Within one Attachment the rule is a field; across
// instances it is a registered name on the target, '$beam_lens_run', held for exactly as long as
// the run by a small process of ours there:
//
//   - register/2 is atomic on the node: of two instances starting at once, one gets the name and
//     the other is refused, naming the holder (its hidden node, the kind of run, until when);
//   - the process monitors the run's own mailbox on our node and ends when that goes (the run
//     ended, or our connection died: a DOWN with noconnection), and we also end it ourselves at the
//     end of the run and wait for it: nothing of it is left behind, whatever the ending;
//   - it is spawned by an evaluation (erl_eval), not by the probe: zero-install runs claim the node
//     too, and no module is loaded for it. It is not named beam_lens_* (the probe's unload kills
//     those processes, and another instance unloading its probe must not end our claim).
import { BeamLensError } from '../../errors';
import { Atom, ErlMap, Pid, Tuple, formatPid, isAtom, type Term } from '../../etf';
import type { LocalProcess } from '../../erldist';
import type { RemoteEvaluator } from '../target/remote-eval';

/** The registered name of the claim on the target. */
export const RUN_CLAIM_NAME = '$beam_lens_run';

/** What a claim says about its run (stored in the claim process's dictionary). */
export interface RunClaimInfo {
  /** The hidden node of the BEAM Lens instance that holds it. */
  node: string;
  kind: string;
  startedAt: Date;
  deadlineMs?: number;
}

// Spawns the claim process; it registers the name or reports who holds it. The claim process
// runs no code of ours beyond this fun (interpreted by erl_eval, already loaded for the eval).
const CLAIM = `
Caller = self(),
Tag = make_ref(),
{Claim, CRef} = spawn_monitor(fun() ->
  case catch register(Name, self()) of
    true ->
      case whereis(user) of undefined -> ok; U -> group_leader(U, self()) end,
      put(Name, Info),
      OMon = erlang:monitor(process, Owner),
      Caller ! {Tag, claimed},
      receive {'DOWN', OMon, process, _, _} -> ok end;
    _ ->
      Caller ! {Tag, held}
  end
end),
receive
  {Tag, claimed} -> erlang:demonitor(CRef, [flush]), {claimed, Claim};
  {Tag, held} ->
    erlang:demonitor(CRef, [flush]),
    H = whereis(Name),
    {held, H, case is_pid(H) andalso erlang:process_info(H, dictionary) of
                {dictionary, D} -> case lists:keyfind(Name, 1, D) of {_, I} -> I; false -> undefined end;
                _ -> undefined
              end};
  {'DOWN', CRef, process, _, Why} -> {error, Why}
after 10000 -> exit(Claim, kill), {error, timeout}
end.`;

// Ends the claim process and waits until it is gone (so the next run, ours or another
// instance's, finds the name free at once).
const RELEASE = `
R = erlang:monitor(process, Claim),
exit(Claim, kill),
receive {'DOWN', R, process, _, _} -> ok after 5000 -> timeout end.`;

/** A held claim: release() ends it (safe to call twice; never throws). */
export interface RunClaim {
  release(): Promise<void>;
}

export interface ClaimChannel {
  readonly peer: string;
  readonly localName: string;
  spawn(): LocalProcess;
  readonly isOpen?: boolean;
}

/** The refusal of a run because another BEAM Lens instance holds the node (kind targetBusy). */
export function describeClaim(node: string, info: RunClaimInfo | null, holder: string): string {
  const who = info ? `another BEAM Lens (${info.node})` : `another BEAM Lens (its claim process ${holder})`;
  const what = info ? `a ${info.kind} session` : 'an intrusive session';
  const since = info ? ` (started ${info.startedAt.toISOString()}${info.deadlineMs !== undefined ? `, ends by ${new Date(info.startedAt.getTime() + info.deadlineMs).toISOString()} at the latest` : ''})` : '';
  return `${who} is running ${what} on ${node}${since}: one intrusive session per node at a time, across every BEAM Lens attached to it; nothing was set. Wait for it to end, or stop it in that BEAM Lens, then try again`;
}

/**
 * Claims `channel`'s node for one intrusive run, or throws 'targetBusy' naming the instance that
 * holds it. A node reached through another one (a cluster member relayed by its entry) is not
 * claimed: intrusive runs there are refused anyway (they need the probe, which needs a direct
 * connection), and a claim process there could not watch our node.
 */
export async function claimNode(channel: ClaimChannel, evaluator: RemoteEvaluator, kind: string, deadlineMs: number | undefined, relayed: boolean): Promise<RunClaim> {
  if (relayed) return { release: async () => undefined };
  // A holder that ended between our register and our whereis left the name free: try once more.
  for (let tries = 1; ; tries++) {
    const claim = await claimOnce(channel, evaluator, kind, deadlineMs, tries >= 3);
    if (claim !== 'retry') return claim;
  }
}

async function claimOnce(channel: ClaimChannel, evaluator: RemoteEvaluator, kind: string, deadlineMs: number | undefined, lastTry: boolean): Promise<RunClaim | 'retry'> {
  const owner = channel.spawn();
  const startedAt = Date.now();
  const info = new ErlMap([
    [Atom.of('node'), Atom.of(channel.localName)],
    [Atom.of('kind'), Buffer.from(kind, 'utf8')],
    [Atom.of('started_ms'), startedAt],
    [Atom.of('deadline_ms'), deadlineMs ?? Atom.of('undefined')],
  ]);
  let reply: Term;
  try {
    reply = await evaluator.eval(CLAIM, { Name: Atom.of(RUN_CLAIM_NAME), Info: info, Owner: owner.pid }, 20_000);
  } catch (err) {
    owner.exit();
    throw err;
  }
  if (reply instanceof Tuple && isAtom(reply.at(0), 'claimed') && reply.at(1) instanceof Pid) {
    const claim = reply.at(1) as Pid;
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        if (channel.isOpen !== false) await evaluator.eval(RELEASE, { Claim: claim }, 10_000).catch(() => undefined);
        // Also ends it if the release could not reach the node (its monitor of this mailbox fires).
        owner.exit();
      },
    };
  }
  owner.exit();
  if (reply instanceof Tuple && isAtom(reply.at(0), 'held')) {
    const holder = reply.at(1);
    if (!(holder instanceof Pid) && !lastTry) return 'retry';
    const holderText = holder instanceof Pid ? formatPid(holder, Atom.of(channel.peer)) : 'that just ended';
    throw new BeamLensError('targetBusy', describeClaim(channel.peer, claimInfo(reply.at(2)), holderText));
  }
  throw new BeamLensError('internal', `could not claim ${channel.peer} for a ${kind} session: ${String(reply)}`);
}

/** The claim's dictionary entry as RunClaimInfo (null when unreadable: it ended meanwhile). */
export function claimInfo(t: Term | undefined): RunClaimInfo | null {
  if (!(t instanceof ErlMap)) return null;
  const node = t.getAtom('node');
  const kind = t.getAtom('kind');
  const started = t.getAtom('started_ms');
  const deadline = t.getAtom('deadline_ms');
  if (!(node instanceof Atom) || !Buffer.isBuffer(kind) || (typeof started !== 'number' && typeof started !== 'bigint')) return null;
  const deadlineMs = typeof deadline === 'number' || typeof deadline === 'bigint' ? Number(deadline) : undefined;
  return { node: node.name, kind: kind.toString('utf8'), startedAt: new Date(Number(started)), ...(deadlineMs !== undefined ? { deadlineMs } : {}) };
}
