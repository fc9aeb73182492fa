// recon's bin_leak idea, our way: with consent ('gc'), rank the processes by the refc binary bytes
// they reference (on the target; only the top N leave the node), then garbage-collect them one at
// a time and read, around each collection, the process's binaries and the node's binary memory.
// Nothing is loaded or set; the collections are the (consented) intrusion. Bounded: top N (at
// most 50), a time limit checked between processes, one rpc timeout per collection; cancellable
// between processes. What each process freed is the evidence for a "holds on to binaries" finding.
import { Atom, Pid, Tuple, type Term } from '../../etf';
import { BeamLensError } from '../../errors';
import type { Attachment } from '../attach/attachment';
import { requireConsent, type ConsentGrants } from '../attach/consent';
import type { AuditLog } from '../records/audit';
import type { StopSource } from './cancel';
import { runAudited, type RunResult } from './run';
import { IDENT_FUN, identityFrom, processWho, type ProcessIdentity } from '../inspect/identity';
import { pidText } from '../target/pids';
import { asList, asNumber, asTuple, mfaToString } from '../target/terms';

export const BIN_LEAK_LIMITS = {
  defaultTop: 10,
  maxTop: 50,
  defaultTimeLimitMs: 30_000,
  maxTimeLimitMs: 300_000,
  /** Ranking reads every process's binaries: refused above this many processes. */
  maxProcesses: 200_000,
  /** One collection (and its two reads) may take this long before the run stops waiting. */
  perProcessTimeoutMs: 15_000,
} as const;

// Read-only: the node's binary memory and the top N holders by referenced refc bytes (each binary
// counted once per process), with their identity. Our own rpc process is left out.
const RANK = `${IDENT_FUN}
Count = erlang:system_info(process_count),
case Count > MaxProcs of
  true -> {too_many, Count};
  false ->
    Me = self(),
    Sizes = [{P, lists:sum(element(2, lists:unzip3(lists:ukeysort(1, Bs)))), length(Bs)}
             || P <- erlang:processes(), P =/= Me, {binary, Bs} <- [erlang:process_info(P, binary)], Bs =/= []],
    Top = lists:sublist(lists:reverse(lists:keysort(2, Sizes)), TopN),
    Rows = [{P, B, C, case erlang:process_info(P, [registered_name, initial_call]) of
                        [{registered_name, R}, {initial_call, IC}] -> {R, IC, Ident(P)};
                        _ -> gone
                      end} || {P, B, C} <- Top],
    {ok, erlang:memory(binary), Count, [R || {_, _, _, I} = R <- Rows, I =/= gone]}
end.`;

// One collection, measured: the process's binaries (distinct by id) and the node's binary memory
// just before and just after erlang:garbage_collect/1, and the bytes of the binaries it dropped
// that no one else referenced (reference count 1), which the collection freed for the node.
const COLLECT = `
Read = fun() -> case erlang:process_info(P, binary) of {binary, Bs} -> lists:ukeysort(1, Bs); undefined -> gone end end,
Sum = fun(L) -> lists:sum(element(2, lists:unzip3(L))) end,
case Read() of
  gone -> gone;
  B0 ->
    N0 = erlang:memory(binary),
    T0 = erlang:monotonic_time(microsecond),
    Alive = erlang:garbage_collect(P),
    T1 = erlang:monotonic_time(microsecond),
    %% Binaries allocated on another scheduler are handed back to it to free: the node's count
    %% catches up within milliseconds. Read until two readings 10 ms apart agree (at most 300 ms).
    Settle = fun S(Prev, K) when K > 0 -> receive after 10 -> ok end, Nx = erlang:memory(binary), case abs(Nx - Prev) < 4096 of true -> Nx; false -> S(Nx, K - 1) end;
                 S(Prev, _) -> Prev end,
    N1 = Settle(erlang:memory(binary), 30),
    case Alive andalso Read() of
      false -> gone;
      gone -> gone;
      B1 ->
        Kept = maps:from_list([{Id, []} || {Id, _, _} <- B1]),
        Dropped = [{Sz, Rc} || {Id, Sz, Rc} <- B0, not maps:is_key(Id, Kept)],
        Sole = lists:sum([Sz || {Sz, 1} <- Dropped]),
        {ok, length(B0), Sum(B0), length(B1), Sum(B1), length(Dropped), Sole, N0, N1, T1 - T0}
    end
end.`;

export interface BinaryCollection extends ProcessIdentity {
  pid: string;
  /** Distinct refc binaries it referenced, and their bytes, just before its collection. */
  before: { count: number; bytes: number };
  /** The same just after. */
  after: { count: number; bytes: number };
  /** Bytes it stopped referencing (before - after). */
  droppedBytes: number;
  droppedCount: number;
  /** Of those, the bytes only it referenced (reference count 1): freed for the node by its collection. */
  soleFreedBytes: number;
  /** erlang:memory(binary) just before and after its collection (other processes allocate meanwhile). */
  node: { before: number; after: number };
  /** How long its collection took on the target, in microseconds. */
  gcMicros: number;
}

export interface BinLeakResult {
  node: string;
  top: number;
  timeLimitMs: number;
  processCount: number;
  /** erlang:memory(binary) when ranked and after the last collection. */
  binaryBefore: number;
  binaryAfter: number;
  /** Ranked holders, most bytes first (not all collected when the run stopped early). */
  collected: BinaryCollection[];
  /** Ranked holders that exited before their turn. */
  gone: string[];
  /** Ranked but not collected: the time limit passed or the run was stopped. */
  skipped: Array<{ pid: string; who: string; bytes: number }>;
  endReason: 'completed' | 'deadline' | 'stopped';
  durationMs: number;
}

export interface BinLeakOptions {
  top?: number;
  timeLimitMs?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, what: string) => void;
}

/** Checks the bounds a face passed (a clear usage error, before anything runs). */
export function binLeakBounds(top: number | undefined, timeLimitMs: number | undefined): { top: number; timeLimitMs: number } {
  const L = BIN_LEAK_LIMITS;
  const t = top ?? L.defaultTop;
  const ms = timeLimitMs ?? L.defaultTimeLimitMs;
  if (!Number.isInteger(t) || t < 1 || t > L.maxTop) throw new BeamLensError('usage', `the number of binary holders to collect must be a whole number from 1 to ${L.maxTop}, got ${t}`);
  if (!(ms >= 1000 && ms <= L.maxTimeLimitMs)) throw new BeamLensError('usage', `the time limit must be from 1 to ${L.maxTimeLimitMs / 1000} seconds, got ${ms / 1000}`);
  return { top: t, timeLimitMs: ms };
}

function counted(a: Term | undefined, b: Term | undefined): { count: number; bytes: number } {
  return { count: asNumber(a), bytes: asNumber(b) };
}

/**
 * Collects the top binary holders and measures what each freed. Needs the 'gc' consent (checked
 * here too: core decides). The caller audits the run (runAudited, kind 'bin-leak').
 */
export async function collectBinaryHolders(session: Attachment, options: BinLeakOptions = {}): Promise<BinLeakResult> {
  requireConsent('gc', session.node, session.env, session.options.grants ?? {});
  const { top, timeLimitMs } = binLeakBounds(options.top, options.timeLimitMs);
  const started = Date.now();
  const node = session.node;
  const ranked = await session.evaluator.eval(RANK, { MaxProcs: BIN_LEAK_LIMITS.maxProcesses, TopN: top }, 60_000);
  if (ranked instanceof Tuple && ranked.elements[0] instanceof Atom && ranked.elements[0].name === 'too_many') {
    throw new BeamLensError('usage', `${node} runs ${asNumber(ranked.elements[1])} processes: ranking every process's binaries is refused above ${BIN_LEAK_LIMITS.maxProcesses}. Collect one process instead (erlang:garbage_collect/1 on the holder \`beam-lens processes --sort binary\` shows).`);
  }
  const [, binBefore, procCount, rows] = asTuple(ranked, 4, 'the ranked binary holders').elements;
  const holders = asList(rows).map((r) => {
    const [pid, bytes, , info] = asTuple(r, 4).elements;
    const [reg, ic, ident] = asTuple(info, 3).elements;
    if (!(pid instanceof Pid)) throw new BeamLensError('protocol', 'a ranked binary holder is not a pid');
    const id = identityFrom(ident, undefined, reg instanceof Atom ? reg.name : null, mfaToString(ic), node);
    return { pid, text: pidText(pid, node), id, bytes: asNumber(bytes) };
  });
  const collected: BinaryCollection[] = [];
  const gone: string[] = [];
  const skipped: BinLeakResult['skipped'] = [];
  let endReason: BinLeakResult['endReason'] = 'completed';
  for (const [i, h] of holders.entries()) {
    if (endReason === 'completed' && options.signal?.aborted) endReason = 'stopped';
    if (endReason === 'completed' && Date.now() - started >= timeLimitMs) endReason = 'deadline';
    if (endReason !== 'completed') {
      skipped.push({ pid: h.text, who: processWho({ ...h.id, pid: h.text }), bytes: h.bytes });
      continue;
    }
    options.onProgress?.(i, holders.length, 'collecting binary holders');
    const left = Math.max(1000, Math.min(BIN_LEAK_LIMITS.perProcessTimeoutMs, timeLimitMs - (Date.now() - started) + 1000));
    const reply = await session.evaluator.eval(COLLECT, { P: h.pid }, left);
    if (!(reply instanceof Tuple)) {
      gone.push(h.text);
      continue;
    }
    const [, c0, b0, c1, b1, dc, sole, n0, n1, us] = asTuple(reply, 10, 'a binary collection').elements;
    const before = counted(c0, b0);
    const after = counted(c1, b1);
    collected.push({
      pid: h.text,
      ...h.id,
      before,
      after,
      droppedBytes: Math.max(0, before.bytes - after.bytes),
      droppedCount: asNumber(dc),
      soleFreedBytes: asNumber(sole),
      node: { before: asNumber(n0), after: asNumber(n1) },
      gcMicros: asNumber(us),
    });
  }
  options.onProgress?.(holders.length, holders.length, 'collecting binary holders');
  const binAfter = asNumber(await session.evaluator.eval('receive after 20 -> ok end, erlang:memory(binary).', {}, 10_000));
  return {
    node,
    top,
    timeLimitMs,
    processCount: asNumber(procCount),
    binaryBefore: asNumber(binBefore),
    binaryAfter: binAfter,
    collected,
    gone,
    skipped,
    endReason,
    durationMs: Date.now() - started,
  };
}

/** The one audited path every face takes (consent 'gc' → audit → collect → save → audit end). */
export function runBinLeak(
  session: Attachment,
  req: { top?: number; timeLimitMs?: number; audit: AuditLog | null; stop?: StopSource | StopSource[]; save: { cwd: string; file?: string } | null; grants?: ConsentGrants; onProgress?: BinLeakOptions['onProgress'] },
): Promise<RunResult<BinLeakResult>> {
  const { top, timeLimitMs } = binLeakBounds(req.top, req.timeLimitMs);
  return runAudited<BinLeakResult>({
    session,
    kind: 'bin-leak',
    limits: { top, timeLimitMs },
    consent: ['gc'],
    audit: req.audit,
    ...(req.stop ? { stop: req.stop } : {}),
    ...(req.grants ? { grants: req.grants } : {}),
    save: req.save,
    body: async (signal) => {
      const value = await collectBinaryHolders(session, { top, timeLimitMs, signal, ...(req.onProgress ? { onProgress: req.onProgress } : {}) });
      return { value, endReason: value.endReason, durationMs: value.durationMs };
    },
  });
}
