// Scheduling and GC over a window, read-only but for one system flag: microstate accounting is
// switched on only for the window and back to what it was, inside the same evaluation on the
// target (nothing stays on if we vanish mid-window: a watcher there switches it back if the
// evaluation is killed; counters are diffed, never reset, so another
// tool using msacc keeps its numbers). Also the processes that garbage-collected most in the
// window (minor GC count deltas) with their heap settings. Findings: GC share of scheduler
// time, saturated dirty schedulers, busy-waiting schedulers, GC-heavy processes.
import { Atom, ErlMap, Pid, Tuple, type Term } from '../../etf';
import { BeamLensError } from '../../errors';
import type { RemoteEvaluator } from '../target/remote-eval';
import { pidText } from '../target/pids';
import { asList, asNumber, mfaToString } from '../target/terms';
import { displayMfa, displayName, findingId } from './thresholds';
import type { Finding } from './rules';

export const SCHEDULING_THRESHOLDS = {
  /** GC's share of the normal schedulers' busy time. */
  gcShare: { warning: 0.25 },
  /** Dirty CPU schedulers busy (not sleeping) this share of the window. */
  dirtyCpuBusy: { warning: 0.9 },
  /** Busy-wait (or 'other' when the VM has no busy_wait state) share of scheduler time while not much else runs. */
  busyWait: { info: 0.3 },
  /** A process collecting this many minor GCs per second (counted from its minor_gcs, which a full sweep resets: a lower bound). */
  gcHeavy: { minPerSec: 1000, warningPerSec: 2000 },
  /** Above this many processes the per-process GC ranking is skipped (two whole-node passes). */
  maxProcessesForGcRanking: 250_000,
} as const;

// The flag is switched on by a watcher that also switches it back if this evaluation is killed
// mid-window (we stopped waiting, our connection dropped, the rpc timed out: an exit signal runs
// no 'after'); when the window ends normally the evaluation switches it back and tells the watcher.
// The watcher is never killed: it may hold the flag (switched on, not yet reported); the wait for
// its answer is bounded by our call's own deadline, which kills this evaluation and so makes the
// watcher switch the flag back.
const WINDOW = `
Self = self(),
Watch = spawn(fun() ->
  Mon = erlang:monitor(process, Self),
  Was = erlang:system_flag(microstate_accounting, true),
  Self ! {self(), msacc_was, Was},
  receive
    {'DOWN', Mon, process, _, _} -> case Was of false -> erlang:system_flag(microstate_accounting, false); _ -> ok end;
    {Self, msacc_done} -> ok
  end
end),
WMon = erlang:monitor(process, Watch),
Old = receive
  {Watch, msacc_was, W} -> erlang:demonitor(WMon, [flush]), W;
  {'DOWN', WMon, process, _, WhyDown} -> error({msacc_watcher_died, WhyDown})
end,
SnapGc = fun() -> case erlang:system_info(process_count) > MaxProcs of
  true -> skipped;
  false -> maps:from_list([{P, M} || P <- erlang:processes(), {garbage_collection, G} <- [erlang:process_info(P, garbage_collection)],
                                     {minor_gcs, M} <- [lists:keyfind(minor_gcs, 1, G)]])
  end end,
try
  M1 = erlang:statistics(microstate_accounting), G1 = SnapGc(), T1 = erlang:monotonic_time(millisecond),
  receive after Window -> ok end,
  M2 = erlang:statistics(microstate_accounting), G2 = SnapGc(), T2 = erlang:monotonic_time(millisecond),
  Top = case {G1, G2} of
    {skipped, _} -> skipped; {_, skipped} -> skipped;
    %% minor_gcs counts since the last full sweep: a smaller count means a sweep reset it.
    _ -> Delta = fun(N2, N1) when N2 >= N1 -> N2 - N1; (N2, _) -> N2 end,
         Deltas = lists:reverse(lists:keysort(2, [{P, Delta(N, maps:get(P, G1))} || {P, N} <- maps:to_list(G2), maps:is_key(P, G1)])),
         [begin
            I = erlang:process_info(P, [registered_name, initial_call, dictionary, total_heap_size, garbage_collection]),
            Info = case I of undefined -> []; _ -> I end,
            D = case lists:keyfind(dictionary, 1, Info) of {dictionary, Dict} -> proplists:get_value('$initial_call', Dict); false -> undefined end,
            {P, N, proplists:get_value(registered_name, Info), proplists:get_value(initial_call, Info), D,
             proplists:get_value(total_heap_size, Info), proplists:get_value(garbage_collection, Info)}
          end || {P, N} <- lists:sublist(Deltas, 10), N > 0]
  end,
  {Old, M1, M2, T2 - T1, Top}
after
  case Old of false -> erlang:system_flag(microstate_accounting, false); _ -> ok end,
  Watch ! {Self, msacc_done}
end.`;

/** Time per state over the window, for one thread type (all threads of that type summed). */
export interface ThreadTypeTime {
  type: string;
  threads: number;
  /** State -> share of the type's total time in the window (0..1). */
  states: Record<string, number>;
}

export interface GcProcess {
  pid: string;
  name: string | null;
  /** proc_lib's $initial_call, else initial_call (Module:fun/arity). */
  initialCall: string | null;
  minorGcs: number;
  perSec: number;
  totalHeapWords: number;
  minHeapSize: number | null;
  fullsweepAfter: number | null;
}

export interface SchedulingSample {
  windowMs: number;
  /** Whether microstate accounting was on before the window (it is left as it was). */
  msaccWasOn: boolean;
  threads: ThreadTypeTime[];
  /** Processes by minor GCs in the window; null when the node has too many processes to rank cheaply. */
  gcTop: GcProcess[] | null;
}

/** `signal` ends the window early (the evaluation is stopped on the node and the flag switched back there). */
export async function sampleScheduling(evaluator: RemoteEvaluator, node: string, windowMs: number, signal?: AbortSignal): Promise<SchedulingSample> {
  if (!Number.isInteger(windowMs) || windowMs < 200 || windowMs > 600_000) throw new BeamLensError('usage', `the scheduling window must be from 200 ms to 10 minutes, got ${windowMs} ms`);
  const reply = await evaluator.eval(WINDOW, { Window: windowMs, MaxProcs: SCHEDULING_THRESHOLDS.maxProcessesForGcRanking }, { timeoutMs: windowMs + 60_000, ...(signal ? { signal } : {}) });
  if (!(reply instanceof Tuple) || reply.size !== 5) throw new BeamLensError('protocol', 'unexpected reply to the scheduling window');
  const [old, m1, m2, elapsed, top] = reply.elements;
  const wMs = asNumber(elapsed);
  return {
    windowMs: wMs,
    msaccWasOn: old instanceof Atom && old.name === 'true',
    threads: threadTimes(m1, m2),
    gcTop: top instanceof Atom ? null : asList(top).map((t) => gcRow(t, node, wMs)),
  };
}

function threadTimes(m1: Term | undefined, m2: Term | undefined): ThreadTypeTime[] {
  const key = (m: ErlMap): string => `${(m.getAtom('type') as Atom).name}/${String(m.getAtom('id'))}`;
  const before = new Map<string, ErlMap>();
  for (const m of Array.isArray(m1) ? m1 : []) if (m instanceof ErlMap) before.set(key(m), m);
  const byType = new Map<string, { threads: number; totals: Map<string, number> }>();
  for (const m of Array.isArray(m2) ? m2 : []) {
    if (!(m instanceof ErlMap)) continue;
    const type = (m.getAtom('type') as Atom).name;
    const prev = before.get(key(m));
    const now = m.getAtom('counters');
    const was = prev?.getAtom('counters');
    if (!(now instanceof ErlMap)) continue;
    const entry = byType.get(type) ?? { threads: 0, totals: new Map<string, number>() };
    entry.threads++;
    for (const [k, v] of now.entries) {
      const state = k instanceof Atom ? k.name : String(k);
      const prevV = was instanceof ErlMap ? was.getAtom(state) : undefined;
      const d = asNumber(v) - (prevV === undefined ? 0 : asNumber(prevV));
      entry.totals.set(state, (entry.totals.get(state) ?? 0) + Math.max(0, d));
    }
    byType.set(type, entry);
  }
  return [...byType].map(([type, { threads, totals }]) => {
    const sum = [...totals.values()].reduce((a, b) => a + b, 0) || 1;
    return { type, threads, states: Object.fromEntries([...totals].map(([s, v]) => [s, v / sum])) };
  });
}

function gcRow(t: Term, node: string, windowMs: number): GcProcess {
  if (!(t instanceof Tuple) || t.size !== 7) throw new BeamLensError('protocol', 'unexpected GC ranking row');
  const [pid, n, name, ic, dictIc, heap, gc] = t.elements;
  const settings = new Map<string, Term>();
  for (const e of Array.isArray(gc) ? gc : []) if (e instanceof Tuple && e.elements[0] instanceof Atom) settings.set(e.elements[0].name, e.elements[1] as Term);
  const num = (x: Term | undefined): number | null => (typeof x === 'number' ? x : null);
  const minor = asNumber(n);
  return {
    pid: pid instanceof Pid ? pidText(pid, node) : String(pid),
    name: name instanceof Atom && name.name !== 'undefined' && name.name !== '' ? name.name : null,
    initialCall: mfaToString(dictIc) ?? mfaToString(ic),
    minorGcs: minor,
    perSec: windowMs > 0 ? (minor * 1000) / windowMs : 0,
    totalHeapWords: typeof heap === 'number' ? heap : 0,
    minHeapSize: num(settings.get('min_heap_size')),
    fullsweepAfter: num(settings.get('fullsweep_after')),
  };
}

/** Busy share of a thread type (everything but sleep). */
function busy(t: ThreadTypeTime): number {
  return 1 - (t.states.sleep ?? 0);
}

export function schedulingFindings(s: SchedulingSample, sources: Record<string, string> = {}): Finding[] {
  const T = SCHEDULING_THRESHOLDS;
  const out: Finding[] = [];
  const pct = (x: number): string => `${Math.round(x * 100)}%`;
  const normal = s.threads.find((t) => t.type === 'scheduler');
  const window = `${(s.windowMs / 1000).toFixed(1)} s`;
  const stateLine = (t: ThreadTypeTime): string =>
    `${t.type} (${t.threads}): ${Object.entries(t.states).filter(([, v]) => v >= 0.005).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${pct(v)}`).join(', ')}`;
  if (normal) {
    const b = busy(normal);
    const gcOfBusy = b > 0 ? (normal.states.gc ?? 0) / b : 0;
    if (b >= 0.1 && gcOfBusy >= T.gcShare.warning) {
      const top = s.gcTop?.[0];
      out.push({
        id: findingId('gc-share', 'schedulers'),
        rule: 'gc-share',
        severity: 'warning',
        title: `Garbage collection takes ${pct(gcOfBusy)} of the schedulers' busy time`,
        evidence: [`microstate accounting over ${window}: ${stateLine(normal)}`, ...(top ? [`most collections: ${who(top)} (${Math.round(top.perSec)} minor GCs/s)`] : [])],
        subject: { name: 'schedulers' },
        recommendation:
          'Processes allocate and drop a lot of short-lived data. Look at the top GC processes below: a process that builds large intermediate lists per message can ' +
          'stream (Stream, :lists:foldl) instead, and a long-lived process with a big steady heap can start with a larger `min_heap_size` (spawn_opt) so it stops growing and shrinking.',
        risk: 'A larger min_heap_size costs memory per process; tuning fullsweep_after trades GC time for memory held by old data.',
        validation: 'Re-run `beam-lens findings`: the gc share of scheduler time falls under the same load.',
      });
    }
    const waiting = (normal.states.busy_wait ?? 0) || 0;
    if (waiting >= T.busyWait.info && b >= 0.3 && (normal.states.emulator ?? 0) < 0.2) {
      out.push({
        id: findingId('busy-wait', 'schedulers'),
        rule: 'busy-wait',
        severity: 'info',
        title: `Schedulers spin ${pct(waiting)} of the time waiting for work`,
        evidence: [`microstate accounting over ${window}: ${stateLine(normal)}`],
        subject: { name: 'schedulers' },
        recommendation: 'The VM busy-waits before sleeping, which shows as CPU use with little work done. On shared or virtualized hosts `+sbwt none` (and `+sbwtdcpu none +sbwtdio none`) gives that CPU back.',
        risk: 'Less busy-waiting adds a little wake-up latency to bursty work.',
        validation: 'OS CPU use of the node drops while its throughput stays the same.',
      });
    }
  }
  const dirty = s.threads.find((t) => t.type === 'dirty_cpu_scheduler');
  if (dirty && busy(dirty) >= T.dirtyCpuBusy.warning) {
    out.push({
      id: findingId('dirty-saturation', 'dirty_cpu'),
      rule: 'dirty-saturation',
      severity: 'warning',
      title: `The dirty CPU schedulers are busy ${pct(busy(dirty))} of the window`,
      evidence: [`microstate accounting over ${window}: ${stateLine(dirty)}`],
      subject: { name: 'dirty_cpu_scheduler' },
      recommendation: 'Dirty NIFs or BIFs (large binary operations, crypto, regexes on big inputs, term_to_binary of large terms) keep every dirty CPU scheduler busy; further dirty work queues up. Find the callers with `beam-lens hot`, split the work into smaller pieces, or add dirty schedulers (+SDcpu).',
      risk: 'More dirty schedulers compete with the normal ones for the same cores.',
      validation: 'Dirty CPU schedulers show sleep time again under the same load.',
    });
  }
  for (const p of s.gcTop ?? []) {
    if (p.perSec < T.gcHeavy.minPerSec) continue;
    const module = (p.initialCall ?? '').split(':')[0] ?? '';
    out.push({
      id: findingId('gc-heavy', p.name ? displayName(p.name) : p.initialCall ? displayMfa(p.initialCall) : p.pid),
      rule: 'gc-heavy',
      severity: p.perSec >= T.gcHeavy.warningPerSec ? 'warning' : 'info',
      title: `${who(p)} runs ${Math.round(p.perSec)} minor garbage collections a second`,
      evidence: [
        `${p.minorGcs} minor GCs over ${window}; heap ${p.totalHeapWords} words; min_heap_size ${p.minHeapSize ?? '?'}, fullsweep_after ${p.fullsweepAfter ?? '?'}`,
      ],
      subject: { pid: p.pid, name: p.name, module: module || null },
      ...(module ? { location: { module, ...(sources[module] ? { file: sources[module] } : {}) } } : {}),
      recommendation:
        `${who(p)} fills its young heap again and again: it allocates a lot of short-lived data per unit of work. If its working set is steady, ` +
        'start it with a larger heap (`spawn_opt(…, [{min_heap_size, N}])`, or `GenServer.start_link(…, spawn_opt: [min_heap_size: N])`) so fewer collections run; if it builds big temporary lists, process the data as a stream.',
      risk: 'A larger minimum heap is memory the process keeps even when idle.',
      validation: 'Its minor GCs per second drop under the same load (`beam-lens findings`).',
    });
  }
  return out;
}

function who(p: GcProcess): string {
  return p.name ? displayName(p.name) : p.initialCall ? `${p.pid} (${displayMfa(p.initialCall)})` : p.pid;
}
