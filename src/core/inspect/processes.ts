// The process table: sorted on the target (with the probe) or by chunked rpc (without), one page
// at a time. Never ships a full row per process: only the sort key travels for the whole set.
import { Atom, Pid, Term, isAtom } from '../../etf';
import { pidText } from '../target/pids';
import type { RemoteEvaluator } from '../target/remote-eval';
import type { ProgressReporter, RpcChannel } from '../target/rpc';
import { asList, asNumber, asTuple, mfaToString, proplistToMap } from '../target/terms';
import { IDENT_FUN, SPEC_MODULE_FUN, identityFrom, processTitle } from './identity';

export type ProcessSort = 'memory' | 'reductions' | 'mailbox' | 'reduction-rate';
export const processSorts: readonly ProcessSort[] = ['memory', 'reductions', 'mailbox', 'reduction-rate'];

export interface ProcessRow {
  pid: string;
  name: string | null;
  memory: number;
  reductions: number;
  messageQueueLen: number;
  currentFunction: string | null;
  initialCall: string | null;
  /** The module it runs and its label, by the one naming rule (src/core/identity.ts). */
  module?: string | null;
  label?: string | null;
  /** Its display name by that rule (registered name, else module and label), for every view. */
  title?: string;
  /** Reductions per second over the window (only with sort reduction-rate). */
  reductionRate?: number;
}

export interface ProcessPage {
  total: number;
  sort: ProcessSort;
  offset: number;
  rows: ProcessRow[];
  /** How the page was computed: on the target by the probe, or by chunked rpc. */
  via: 'probe' | 'rpc';
  windowMs?: number;
}

export interface ProcessQuery {
  sort: ProcessSort;
  limit: number;
  offset: number;
  /** Window for reduction-rate (default 1000 ms). */
  windowMs?: number;
  onProgress?: ProgressReporter;
  signal?: AbortSignal;
}

/** At most this many pids travel in one rpc. */
export const PIDS_PER_CALL = 10_000;

const ROW_ITEMS = ['registered_name', 'memory', 'reductions', 'message_queue_len', 'current_function', 'initial_call'];

// Reads one key for a chunk of pids; dead processes give -1.
const KEY_OF_CHUNK = `[case erlang:process_info(P, Key) of {_, V} -> V; undefined -> -1 end || P <- Pids].`;

// Full rows for one page; translate_initial_call sees through proc_lib and Elixir's $initial_call;
// Ident and SpecModule give the module and label by the one naming rule.
const ROWS_OF_PAGE = `${IDENT_FUN}${SPEC_MODULE_FUN}
{Rows, _} = lists:mapfoldl(fun(P, Cache) ->
  case erlang:process_info(P, Items) of
    undefined -> {undefined, Cache};
    Info ->
      Id = Ident(P),
      {SM, Cache2} = case {Id, lists:keyfind(registered_name, 1, Info)} of
        {{undefined, _, _}, {_, []}} -> SpecModule(P, Cache);
        _ -> {undefined, Cache}
      end,
      {{P, Info, try proc_lib:translate_initial_call(P) catch _:_ -> undefined end, Id, SM}, Cache2}
  end end, #{}, Pids),
Rows.`;

/**
 * Whether loading the probe pays for one page. Sorting by memory, reductions or mailbox without it
 * is one compiled pass on the target (see SORTED_PAGE), as fast as the probe's; loading and
 * purging the probe adds a pass over every process on top. A reduction rate needs two passes
 * and the probe keeps them on the target. Null when it pays, else the reason to print.
 */
export function probeSkipReason(sort: ProcessSort): string | null {
  return sort === 'reduction-rate'
    ? null
    : `one page by ${sort} does not pay for loading the probe (purging it again scans every process); sorting on the node without it (zero-install)`;
}

export function sortKeyItem(sort: ProcessSort): string {
  return sort === 'memory' ? 'memory' : sort === 'mailbox' ? 'message_queue_len' : 'reductions';
}

// One page sorted on the target without loading code: erl_eval only runs these few top-level
// calls, and every per-process step is compiled OTP code (process_info/2 as an external fun
// applied by lists:zipwith/3, a stable keysort), so the pass costs about what the probe's compiled
// one-pass does. Memory on the target is transient and proportional to the process count (a few
// list cells and a 2-tuple per process); only the page crosses the wire. Ties keep the order of
// erlang:processes(); processes that die during the pass sort last and are dropped. Total counts
// the processes enumerated (the calling rpc worker left out).
const SORTED_PAGE = `
Ps = lists:delete(self(), erlang:processes()),
Vals = lists:zipwith(fun erlang:process_info/2, Ps, lists:duplicate(length(Ps), Key)),
Sorted = lists:reverse(lists:keysort(1, lists:reverse(lists:zip(Vals, Ps)))),
{length(Ps), [{P, V} || {{_, V}, P} <- lists:sublist(lists:nthtail(min(Offset, length(Sorted)), Sorted), Limit)]}.`;

/** Top processes by memory, reductions or mailbox without the probe: sorted on the target, one rpc, then rows for the page. */
export async function sortedPageViaRpc(channel: RpcChannel, evaluator: RemoteEvaluator, query: ProcessQuery): Promise<ProcessPage> {
  const reply = await evaluator.eval(
    SORTED_PAGE,
    { Key: Atom.of(sortKeyItem(query.sort)), Offset: query.offset, Limit: query.limit },
    { timeoutMs: 120_000, ...(query.signal ? { signal: query.signal } : {}) },
  );
  const [total, page] = asTuple(reply, 2).elements;
  const ranked = asList(page).map((t) => asTuple(t, 2).elements);
  const rows = await processRows(channel, evaluator, ranked.map(([p]) => p as Pid));
  // The sorted column shows the values the order was computed from (a row re-read later could
  // have moved), so it is monotonic.
  const field = query.sort === 'memory' ? 'memory' : query.sort === 'mailbox' ? 'messageQueueLen' : 'reductions';
  rows.forEach((row, i) => {
    const v = ranked[i]?.[1];
    if (row && typeof v === 'number') row[field] = v;
  });
  return { total: asNumber(total), sort: query.sort, offset: query.offset, rows: rows.filter((r): r is ProcessRow => r !== null), via: 'rpc' };
}

/** Top processes without the probe. Reduction rates: all pids, then reductions in chunks twice, then rows for the page. */
export async function topProcessesViaRpc(
  channel: RpcChannel,
  evaluator: RemoteEvaluator,
  query: ProcessQuery,
): Promise<ProcessPage> {
  if (query.sort !== 'reduction-rate') return sortedPageViaRpc(channel, evaluator, query);
  const pids = asList(await channel.rpc('erlang', 'processes', [], { timeoutMs: 60_000 })) as Pid[];
  const key = Atom.of(sortKeyItem(query.sort));
  const readKeys = async (phase: string): Promise<number[]> => {
    const values: number[] = new Array<number>(pids.length);
    for (let start = 0; start < pids.length; start += PIDS_PER_CALL) {
      query.signal?.throwIfAborted();
      const chunk = pids.slice(start, start + PIDS_PER_CALL);
      const reply = asList(await evaluator.eval(KEY_OF_CHUNK, { Pids: chunk, Key: key }, 60_000));
      for (let i = 0; i < reply.length; i++) values[start + i] = asNumber(reply[i]);
      query.onProgress?.(Math.min(start + PIDS_PER_CALL, pids.length), pids.length, phase);
    }
    return values;
  };
  let score: number[];
  let windowMs: number | undefined;
  if (query.sort === 'reduction-rate') {
    windowMs = query.windowMs ?? 1000;
    const t0 = Date.now();
    const before = await readKeys('reductions (first sample)');
    const elapsedFirst = Date.now() - t0;
    await delay(Math.max(0, windowMs - elapsedFirst), query.signal);
    const after = await readKeys('reductions (second sample)');
    const seconds = Math.max(windowMs, Date.now() - t0) / 1000;
    score = after.map((v, i) => (v < 0 || (before[i] as number) < 0 ? -1 : (v - (before[i] as number)) / seconds));
  } else {
    score = await readKeys(`reading ${key.name}`);
  }
  const order = topIndices(score, query.offset + query.limit).slice(query.offset);
  const pagePids = order.map((i) => pids[i] as Pid);
  const rows = await processRows(channel, evaluator, pagePids);
  if (query.sort === 'reduction-rate') {
    const rateByPid = new Map(order.map((i) => [(pids[i] as Pid).key, score[i] as number]));
    for (const [i, row] of rows.entries()) {
      const pid = pagePids[i];
      if (pid && row) row.reductionRate = Math.round(rateByPid.get(pid.key) ?? 0);
    }
  }
  const alive = score.filter((v) => v >= 0).length;
  return {
    total: alive,
    sort: query.sort,
    offset: query.offset,
    rows: rows.filter((r): r is ProcessRow => r !== null),
    via: 'rpc',
    ...(windowMs !== undefined ? { windowMs } : {}),
  };
}

/** Full rows for the given pids (null for those that died meanwhile), in order. */
export async function processRows(channel: RpcChannel, evaluator: RemoteEvaluator, pids: Pid[]): Promise<Array<ProcessRow | null>> {
  if (pids.length === 0) return [];
  const reply = asList(
    await evaluator.eval(ROWS_OF_PAGE, { Pids: pids, Items: ROW_ITEMS.map((i) => Atom.of(i)) }, 30_000),
  );
  return reply.map((r) => (isAtom(r, 'undefined') ? null : rowFrom(r, channel.peer)));
}

/** A row from {Pid, InfoProplist, TranslatedInitialCall, Ident, SpecModule}. */
export function rowFrom(t: Term, peer: string): ProcessRow {
  const [pid, info, translated, ident, specModule] = asTuple(t).elements;
  const m = proplistToMap(info);
  const name = m.get('registered_name');
  // translate_initial_call answers proc_lib:init_p/5 when a process has no $initial_call: then
  // the plain initial_call is the better name.
  const translatedText = mfaToString(translated);
  const initial = translatedText !== null && translatedText !== 'proc_lib:init_p/5' ? translatedText : mfaToString(m.get('initial_call'));
  const registered = name instanceof Atom && name.name !== '' ? name.name : null;
  const id = identityFrom(ident, specModule, registered, initial, peer);
  return {
    pid: pidText(pid as Pid, peer),
    name: registered,
    module: id.module,
    label: id.label,
    title: processTitle({ ...id, pid: pidText(pid as Pid, peer) }),
    memory: asNumber(m.get('memory') ?? 0),
    reductions: asNumber(m.get('reductions') ?? 0),
    messageQueueLen: asNumber(m.get('message_queue_len') ?? 0),
    currentFunction: mfaToString(m.get('current_function')),
    initialCall: initial,
  };
}

/** Indices of the `n` largest scores (descending; ties by index), skipping negatives (dead). O(len log n). */
export function topIndices(score: number[], n: number): number[] {
  if (n <= 0) return [];
  // A small binary min-heap of indices keyed by score.
  const heap: number[] = [];
  const less = (a: number, b: number): boolean => {
    const sa = score[a] as number;
    const sb = score[b] as number;
    return sa < sb || (sa === sb && a > b);
  };
  const up = (i: number): void => {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(heap[i] as number, heap[p] as number)) break;
      [heap[i], heap[p]] = [heap[p] as number, heap[i] as number];
      i = p;
    }
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l] as number, heap[m] as number)) m = l;
      if (r < heap.length && less(heap[r] as number, heap[m] as number)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m] as number, heap[i] as number];
      i = m;
    }
  };
  for (let i = 0; i < score.length; i++) {
    if ((score[i] as number) < 0) continue;
    if (heap.length < n) {
      heap.push(i);
      up(heap.length - 1);
    } else if (less(heap[0] as number, i)) {
      heap[0] = i;
      down(0);
    }
  }
  return heap.sort((a, b) => (less(a, b) ? 1 : less(b, a) ? -1 : 0));
}

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
