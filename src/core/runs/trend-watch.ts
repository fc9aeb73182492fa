// A trend watch: one bounded, read-only evaluation per interval on the target (nothing loaded,
// no flags set) reading the atom, process and port counts with their limits, binary and total
// memory, the top processes by memory (plus those already followed) and the largest ETS tables
// (plus those already followed). The series go to src/core/findings/trends.ts for the fits.
import { Atom, Pid, Ref, type Term } from '../../etf';
import { BeamLensError } from '../../errors';
import type { Attachment } from '../attach/attachment';
import { delay } from '../inspect/processes';
import { pidText } from '../target/pids';
import type { ProgressReporter } from '../target/rpc';
import { asList, asNumber, asTuple, mfaToString } from '../target/terms';
import { TREND_THRESHOLDS, planWindow, trendFindings, type EtsTrend, type Point, type ProcessTrend, type TrendSamples } from '../findings/trends';
import type { Finding } from '../findings/rules';

const SAMPLE = `
T = erlang:monotonic_time(millisecond),
Counts = {erlang:system_info(atom_count), erlang:system_info(atom_limit), erlang:system_info(process_count),
          erlang:system_info(process_limit), erlang:system_info(port_count), erlang:system_info(port_limit)},
Mem = {erlang:memory(binary), erlang:memory(total)},
Ranked = case erlang:system_info(process_count) > MaxProcs of
  true -> skipped;
  false -> [P || {P, _} <- lists:sublist(lists:reverse(lists:keysort(2,
             [{P, M} || P <- erlang:processes(), {memory, M} <- [erlang:process_info(P, memory)]])), TopN)]
end,
New = case Ranked of skipped -> []; _ -> [P || P <- Ranked, not lists:member(P, Followed)] end,
Procs = [{P, M, Q} || P <- Followed ++ New, [{memory, M}, {message_queue_len, Q}] <- [erlang:process_info(P, [memory, message_queue_len])]],
Meta = [begin
          I = case erlang:process_info(P, [registered_name, initial_call, dictionary]) of undefined -> []; L -> L end,
          D = case lists:keyfind(dictionary, 1, I) of {dictionary, Dict} -> proplists:get_value('$initial_call', Dict); false -> undefined end,
          {P, proplists:get_value(registered_name, I), proplists:get_value(initial_call, I), D}
        end || P <- New],
W = erlang:system_info(wordsize),
EtsInfo = fun(Tb) -> case {ets:info(Tb, size), ets:info(Tb, memory), ets:info(Tb, name), ets:info(Tb, owner)} of
    {Sz, Mw, Nm, Ow} when is_integer(Sz), is_integer(Mw) -> [{Tb, Nm, Sz, Mw * W, Ow}]; _ -> [] end end,
AllTabs = ets:all(),
TopTabs = case length(AllTabs) > MaxTabs of
  true -> [];
  false -> [X || {X, _} <- lists:sublist(lists:reverse(lists:keysort(2, [{Y, Wy} || Y <- AllTabs, Wy <- [ets:info(Y, memory)], is_integer(Wy)])), TopTabs0)]
end,
Tabs = lists:append([EtsInfo(Z) || Z <- lists:usort(FollowedTabs ++ TopTabs)]),
Holders = case Last andalso Ranked =/= skipped of
  false -> [];
  true -> lists:sublist(lists:reverse(lists:keysort(2, [{P, lists:sum([Sz || {_, Sz, _} <- Bs])} || P <- erlang:processes(), {binary, Bs} <- [erlang:process_info(P, binary)]])), 5)
end,
HolderInfo = [{P, B, case erlang:process_info(P, registered_name) of {registered_name, R} -> R; _ -> undefined end} || {P, B} <- Holders, B > 0],
{T, Counts, Mem, Ranked =/= skipped, Procs, Meta, Tabs, HolderInfo}.`;

export interface TrendWatchOptions {
  durationMs: number;
  /** Default: adapted to the duration (planWindow). */
  intervalMs?: number;
  onProgress?: ProgressReporter;
  signal?: AbortSignal;
}

export interface TrendWatchResult {
  samples: TrendSamples;
  findings: Finding[];
}

interface Followed {
  pid: Pid;
  trend: ProcessTrend;
}

/** Watches the node for a trend window and returns the series and the trend findings. */
export async function watchTrends(session: Attachment, options: TrendWatchOptions): Promise<TrendWatchResult> {
  const plan = planWindow(options.durationMs, options.intervalMs);
  const S = TREND_THRESHOLDS.sampling;
  const node = session.node;
  const startedAt = new Date().toISOString();
  const series = { atoms: [] as Point[], processes: [] as Point[], ports: [] as Point[], binary: [] as Point[], total: [] as Point[] };
  const limits = { atoms: 0, processes: 0, ports: 0 };
  const procs = new Map<string, Followed>();
  const tabs = new Map<string, { tab: Term; trend: EtsTrend }>();
  let ranking = true;
  const binaryHolders: TrendSamples['binaryHolders'] = [];
  let t0: number | null = null;
  let lastAt = 0;
  const start = Date.now();
  for (let i = 0; i < plan.samples; i++) {
    if (i > 0) await delay(Math.max(0, start + i * plan.intervalMs - Date.now()), options.signal);
    options.signal?.throwIfAborted();
    const followed = [...procs.values()].map((f) => f.pid);
    const followedTabs = [...tabs.values()].map((t) => t.tab);
    const reply = await session.evaluator.eval(
      SAMPLE,
      { Last: Atom.of(i === plan.samples - 1 ? 'true' : 'false'), Followed: followed, FollowedTabs: followedTabs, TopN: S.topProcesses, MaxProcs: S.maxProcessesForRanking, TopTabs0: S.topEts, MaxTabs: 10_000 },
      30_000,
    );
    const [t, counts, mem, ranked, procRows, meta, tabRows, holderRows] = asTuple(reply, 8, 'a trend sample').elements;
    const now = asNumber(t);
    if (t0 === null) t0 = now;
    const at = now - t0;
    lastAt = at;
    const [ac, al, pc, pl, oc, ol] = asTuple(counts, 6).elements.map((x) => asNumber(x));
    const [bin, total] = asTuple(mem, 2).elements.map((x) => asNumber(x));
    series.atoms.push([at, ac ?? 0]);
    series.processes.push([at, pc ?? 0]);
    series.ports.push([at, oc ?? 0]);
    series.binary.push([at, bin ?? 0]);
    series.total.push([at, total ?? 0]);
    limits.atoms = al ?? 0;
    limits.processes = pl ?? 0;
    limits.ports = ol ?? 0;
    if (!(ranked instanceof Atom && ranked.name === 'true')) ranking = false;
    for (const m of asList(meta)) {
      const [pid, name, ic, dic] = asTuple(m, 4).elements;
      if (!(pid instanceof Pid) || procs.has(pid.key)) continue;
      procs.set(pid.key, {
        pid,
        trend: {
          pid: pidText(pid, node),
          name: name instanceof Atom && name.name !== '' && name.name !== 'undefined' ? name.name : null,
          initialCall: mfaToString(dic) ?? mfaToString(ic),
          points: [],
          messageQueueLen: 0,
        },
      });
    }
    for (const r of asList(procRows)) {
      const [pid, m, q] = asTuple(r, 3).elements;
      if (!(pid instanceof Pid)) continue;
      const f = procs.get(pid.key);
      if (!f) continue;
      f.trend.points.push([at, asNumber(m)]);
      f.trend.messageQueueLen = asNumber(q);
    }
    for (const r of asList(tabRows)) {
      const [tab, name, size, bytes, owner] = asTuple(r, 5).elements;
      const key = tab instanceof Ref ? `ref:${tab.key}` : tab instanceof Atom ? `atom:${tab.name}` : null;
      if (key === null || tab === undefined) continue;
      let entry = tabs.get(key);
      if (!entry) {
        entry = { tab, trend: { id: tab instanceof Atom ? tab.name : `#Ref<${key}>`, name: name instanceof Atom ? name.name : '?', owner: owner instanceof Pid ? pidText(owner, node) : null, size: [], memory: [] } };
        tabs.set(key, entry);
      }
      entry.trend.size.push([at, asNumber(size)]);
      entry.trend.memory.push([at, asNumber(bytes)]);
    }
    for (const h of asList(holderRows)) {
      const [pid, b, name] = asTuple(h, 3).elements;
      if (!(pid instanceof Pid)) continue;
      const known = procs.get(pid.key)?.trend;
      const reg = name instanceof Atom && name.name !== 'undefined' ? name.name : null;
      binaryHolders.push({ pid: pidText(pid, node), name: reg ?? known?.name ?? null, initialCall: known?.initialCall ?? null, bytes: asNumber(b) });
    }
    prune(procs, S.maxFollowed, (f) => f.trend.points[f.trend.points.length - 1]?.[1] ?? 0);
    prune(tabs, S.maxFollowedEts, (e) => e.trend.memory[e.trend.memory.length - 1]?.[1] ?? 0);
    options.onProgress?.(Math.min(Date.now() - start, plan.durationMs), plan.durationMs, 'watching trends');
  }
  if (series.atoms.length < 2) throw new BeamLensError('internal', 'the trend watch ended without samples');
  const samples: TrendSamples = {
    node,
    startedAt,
    durationMs: Math.max(1, lastAt),
    intervalMs: plan.intervalMs,
    samples: series.atoms.length,
    ...series,
    limits,
    processMemory: [...procs.values()].map((f) => f.trend).filter((p) => p.points.length > 0),
    processRanking: ranking,
    ets: [...tabs.values()].map((e) => e.trend),
    binaryHolders,
  };
  return { samples, findings: trendFindings(samples) };
}

/** Keeps the `max` entries with the largest latest value (bounded work per sample). */
function prune<T>(map: Map<string, T>, max: number, value: (t: T) => number): void {
  if (map.size <= max) return;
  const keep = new Set([...map].sort((a, b) => value(b[1]) - value(a[1])).slice(0, max).map(([k]) => k));
  for (const k of [...map.keys()]) if (!keep.has(k)) map.delete(k);
}
