// A whole-node snapshot of a few per-process numbers, read in chunks so no rpc carries more than
// PIDS_PER_CALL pids. Only numbers travel back: no names, no rows.
import { Atom, Pid } from '../../etf';
import { PIDS_PER_CALL } from './processes';
import type { RemoteEvaluator } from '../target/remote-eval';
import type { ProgressReporter, RpcChannel } from '../target/rpc';
import { asList, asNumber, asTuple, mfaToString } from '../target/terms';

export interface ProcessNumbers {
  reductions: number;
  messageQueueLen: number;
  memory: number;
  /** Bytes of off-heap (refc) binaries the process refers to, each binary counted once. */
  binary: number;
  /** Set when the process is suspended (e.g. blocked on a busy port or distribution channel): where. */
  suspendedIn?: string;
  /** When blocked in a gen call (gen:do_call/4): the processes it monitors, i.e. whom it waits on. */
  waitingOn?: Pid[];
}

export interface NodeSnapshot {
  at: number;
  pids: Pid[];
  /** Aligned with pids; null for a process that died before it was read. */
  values: Array<ProcessNumbers | null>;
}

// Only numbers travel back, plus, for a process blocked in a gen call, whom it monitors (the
// callee: gen:do_call monitors it for the duration of the call), and for a suspended process
// (blocked on a busy port or distribution channel) where it is. process_info(P, binary) lists
// one entry per reference: a binary referenced many times (a queue holding the same message
// body in several places) is counted once, by its address.
const NUMBERS_OF_CHUNK = `
[case erlang:process_info(P, [reductions, message_queue_len, memory, binary, current_function, status]) of
   [{_, R}, {_, Q}, {_, M}, {_, B}, {_, CF}, {_, St}] ->
     W = case CF of
           {gen, do_call, 4} -> case erlang:process_info(P, monitors) of {monitors, Ms} -> [T || {process, T} <- Ms, is_pid(T)]; _ -> [] end;
           _ -> []
         end,
     Bin = lists:sum([S || {_, S} <- lists:ukeysort(1, [{A, S} || {A, S, _} <- B])]),
     {R, Q, M, Bin, W, case St of suspended -> CF; _ -> undefined end};
   _ -> undefined
 end || P <- Pids].`;

export async function snapshotProcesses(
  channel: RpcChannel,
  evaluator: RemoteEvaluator,
  options: { pids?: Pid[]; onProgress?: ProgressReporter; signal?: AbortSignal } = {},
): Promise<NodeSnapshot> {
  const pids = options.pids ?? (asList(await channel.rpc('erlang', 'processes', [], { timeoutMs: 60_000 })) as Pid[]);
  const values: Array<ProcessNumbers | null> = new Array<ProcessNumbers | null>(pids.length);
  for (let start = 0; start < pids.length; start += PIDS_PER_CALL) {
    options.signal?.throwIfAborted();
    const chunk = pids.slice(start, start + PIDS_PER_CALL);
    const reply = asList(await evaluator.eval(NUMBERS_OF_CHUNK, { Pids: chunk }, 60_000));
    reply.forEach((r, i) => {
      if (r instanceof Atom) {
        values[start + i] = null;
        return;
      }
      const t = asTuple(r, 6);
      const waiting = asList(t.at(4)).filter((p): p is Pid => p instanceof Pid);
      const suspendedIn = mfaToString(t.at(5));
      values[start + i] = {
        reductions: asNumber(t.at(0)),
        messageQueueLen: asNumber(t.at(1)),
        memory: asNumber(t.at(2)),
        binary: asNumber(t.at(3)),
        ...(waiting.length > 0 ? { waitingOn: waiting } : {}),
        ...(suspendedIn !== null ? { suspendedIn } : {}),
      };
    });
    options.onProgress?.(Math.min(start + PIDS_PER_CALL, pids.length), pids.length, 'reading processes');
  }
  return { at: Date.now(), pids, values };
}

/** Queue lengths of a few pids (null when dead), for mailbox series between snapshots. */
export async function queueLengths(evaluator: RemoteEvaluator, pids: Pid[]): Promise<Array<number | null>> {
  if (pids.length === 0) return [];
  const reply = asList(
    await evaluator.eval(`[case erlang:process_info(P, message_queue_len) of {_, Q} -> Q; _ -> undefined end || P <- Pids].`, { Pids: pids }),
  );
  return reply.map((r) => (typeof r === 'number' ? r : null));
}
