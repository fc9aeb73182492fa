// Who already holds the trace state an intrusive run is about to set: the one check every run
// (hot functions, call and message traces, the call-time stage, the system monitor) makes on the
// target before it sets anything, the probe included. Read with BIFs only (erlang:trace_info/2,
// erlang:system_monitor/0), through an evaluation: it works in zero-install mode too, before the
// probe is loaded, and changes nothing.
//
// What counts as held:
//   - a trace pattern of any kind (global or local trace, call_count, call_time, meta) on a
//     function the run would set a pattern on: setting ours would replace it (and reset its
//     counts), removing ours at the end would remove it (cprof, eprof, dbg:tpl, recon_trace);
//   - for runs that set the call flag on every process (call traces, the call-time stage): any
//     process with a tracer, or default flags for new processes (dbg:p(all, ...), recon_trace):
//     a process has one tracer, and clearing our flags at the end would clear that tool's too;
//   - for a message trace: a tracer on that process;
//   - for the system monitor: whoever holds erlang:system_monitor.
// Another BEAM Lens instance's run is refused earlier, by the node's claim (attach/run-claim.ts),
// which names it; what is found here is named by the tracer process when the VM knows it.
import { BeamLensError } from '../../errors';
import { Atom, Pid, Tuple, formatModule, formatPid, formatTerm, isAtom, type Term } from '../../etf';
import type { Attachment } from '../attach/attachment';
import { describePid } from '../inspect/identity';
import { asList, asNumber } from '../target/terms';

export interface TraceNeeds {
  /** call_count patterns on every function of these modules (hot functions). */
  countModules?: readonly string[];
  /** Trace or call_time patterns on these functions (arity '_': every arity). */
  patterns?: ReadonlyArray<{ module: string; function: string; arity: number | '_' }>;
  /** The call flag on every process (a call trace, the call-time stage). */
  allProcesses?: boolean;
  /** send/receive flags on this process (a message trace). */
  messagesOf?: Pid;
  /** erlang:system_monitor. */
  systemMonitor?: boolean;
}

// Bound: Mods (module atoms, every function), MFAs ({M, F, A | '_'}), All (true: look at every
// process's tracer), Pid (a pid or undefined), SysMon (boolean). Answers
// {PatternCount, [{M, F, A, [Kind]} (the first 5)], [{Tracer, Count}] (first 5), NewFlags,
// NewTracer, PidTracer, SysMonHolder}.
const HOLDERS = `
Funs = fun(M) -> case erlang:module_loaded(M) of
                   true -> try erlang:get_module_info(M, functions) catch _:_ -> [] end;
                   false -> [] end end,
Wanted = [{M, F, A} || M <- Mods, {F, A} <- Funs(M)]
      ++ [{M, F1, A1} || {M, F, A} <- MFAs, {F1, A1} <- Funs(M), F1 =:= F, A =:= '_' orelse A1 =:= A],
Kinds = fun(MFA) ->
  case erlang:trace_info(MFA, all) of
    {all, L} when is_list(L) ->
      [K || {K, V} <- L, lists:member(K, [traced, call_count, call_time, call_memory, meta]),
            V =/= false, V =/= undefined, V =/= []];
    _ -> []
  end end,
Set = [{M, F, A, Ks} || {M, F, A} <- lists:usort(Wanted), Ks <- [Kinds({M, F, A})], Ks =/= []],
Tracers = case All of
  true ->
    maps:to_list(lists:foldl(fun(P, Acc) ->
      case erlang:trace_info(P, tracer) of
        {tracer, []} -> Acc;
        {tracer, T} -> maps:put(T, maps:get(T, Acc, 0) + 1, Acc);
        _ -> Acc
      end end, #{}, erlang:processes()));
  false -> []
end,
{NewFlags, NewTracer} = case All of
  true -> {case erlang:trace_info(new, flags) of {flags, NF} -> NF; _ -> [] end,
           case erlang:trace_info(new, tracer) of {tracer, NT} -> NT; _ -> [] end};
  false -> {[], []}
end,
PidTracer = case is_pid(Pid) andalso erlang:trace_info(Pid, tracer) of
  {tracer, PT} -> PT;
  _ -> []
end,
SysMonHolder = case SysMon andalso erlang:system_monitor() of
  {SH, _} -> SH;
  _ -> undefined
end,
%% What the probe's guardian knows (another BEAM Lens of a release without the node's claim):
%% whose undo action or probe process each pattern and tracer is, as [{Undo | Holder, OwnerPid}].
%% Asked of the guardian process itself, not through probe code: a read must neither start a
%% guardian (ensure_guardian does when another instance's last release just unregistered it) nor
%% have a frame of the probe on the stack while that release purges it.
Belongs = case whereis(beam_lens_guardian) of
  undefined -> [];
  G -> GRef = erlang:monitor(process, G),
       G ! {beam_lens_request, self(), GRef, status},
       receive
         {GRef, {ok, #{belongs := B}}} when is_list(B) -> erlang:demonitor(GRef, [flush]), B;
         {GRef, _} -> erlang:demonitor(GRef, [flush]), [];
         {'DOWN', GRef, process, _, _} -> []
       after 2000 -> erlang:demonitor(GRef, [flush]), []
       end
end,
Owner = fun(Key) -> case lists:keyfind(Key, 1, Belongs) of {_, OP} when is_pid(OP) -> node(OP); _ -> undefined end end,
PatternOwner = case Set of
  [{SM, _, _, _} | _] -> Owner({erlang, trace_pattern, [{SM, '_', '_'}, false, [call_count]]});
  [] -> undefined
end,
Top = lists:sublist(lists:reverse(lists:keysort(2, Tracers)), 5),
TracerOwner = case {Top, PidTracer, SysMonHolder} of
  {[{TP, _} | _], _, _} when is_pid(TP) -> Owner(TP);
  {_, PT2, _} when is_pid(PT2) -> Owner(PT2);
  {_, _, SH2} when is_pid(SH2) -> Owner(SH2);
  _ -> undefined
end,
{length(Set), lists:sublist(Set, 5), Top, NewFlags, NewTracer, PidTracer, SysMonHolder, PatternOwner, TracerOwner}.`;

/**
 * Throws 'targetBusy' naming who holds what `needs` would set on the node (and what to do), or
 * returns when nothing is held. `what` names the run for the message ("counting calls").
 */
export async function assertTraceFree(session: Attachment, needs: TraceNeeds, what: string): Promise<void> {
  const reply = await session.evaluator.eval(
    HOLDERS,
    {
      Mods: (needs.countModules ?? []).map((m) => Atom.of(m)),
      MFAs: (needs.patterns ?? []).map((p) => new Tuple([Atom.of(p.module), Atom.of(p.function), p.arity === '_' ? Atom.of('_') : p.arity])),
      All: Atom.of(needs.allProcesses === true ? 'true' : 'false'),
      Pid: needs.messagesOf ?? Atom.of('undefined'),
      SysMon: Atom.of(needs.systemMonitor === true ? 'true' : 'false'),
    },
    60_000,
  );
  if (!(reply instanceof Tuple) || reply.size !== 9) return;
  const [count, set, tracers, newFlags, newTracer, pidTracer, sysMon, patternOwner, tracerOwner] = reply.elements as Term[];
  const node = session.node;
  const lens = (owner: Term | undefined): string | null => (owner instanceof Atom && owner.name !== 'undefined' ? `another BEAM Lens (${owner.name}, a release that does not claim the node: detach it or wait for its session to end)` : null);
  const tracerLens = lens(tracerOwner);
  const who = async (t: Term | undefined): Promise<string> => {
    const text = t instanceof Pid ? await describeTracer(session, t) : formatTerm(t ?? [], { localNode: Atom.of(node), maxLength: 120 });
    return tracerLens !== null && t instanceof Pid ? `${text}, the probe process of ${tracerLens}` : text;
  };
  const problems: string[] = [];
  const patterns = asList(set);
  const first = patterns[0];
  if (first !== undefined) {
    // The node's answer is read, not trusted: a term of another shape names what it can.
    const [m, f, a, ks] = first instanceof Tuple ? first.elements : [];
    const names = asList(ks ?? []).map((k) => (k instanceof Atom ? k.name : formatTerm(k)));
    const fn = `${m instanceof Atom ? m.name : formatTerm(m ?? [])}:${f instanceof Atom ? f.name : formatTerm(f ?? [])}/${formatTerm(a ?? [])}`;
    const kinds = names.map((k) => (k === 'traced' ? 'trace' : k)).join(' and ');
    const counts = names.some((k) => k !== 'traced' && k !== 'meta');
    const n = asNumber(count);
    problems.push(
      `${fn} already has a ${kinds} pattern${n > 1 ? ` (and ${n - 1} more of the functions it would set)` : ''}, set by ${lens(patternOwner) ?? 'another tool (cprof, eprof, dbg, recon_trace or a profiler)'}; ${what} would replace it${counts ? ' and reset its counts' : ''}, and ending would remove it`,
    );
  }
  const traced = asList(tracers);
  const top = traced[0];
  if (top !== undefined) {
    const [t, c] = top instanceof Tuple ? top.elements : [];
    problems.push(`a tracer process ${await who(t)} is tracing ${asNumber(c)} process${asNumber(c) === 1 ? '' : 'es'}${traced.length > 1 ? ` (and ${traced.length - 1} more tracer${traced.length > 2 ? 's' : ''})` : ''}; a process has one tracer, and ${what} would set the call flag on every process and clear it at the end`);
  }
  if (Array.isArray(newFlags) && newFlags.length > 0) {
    problems.push(`new processes are traced by default (${newFlags.map((x) => formatTerm(x)).join(', ')}) by ${await who(newTracer)} (dbg:p(all, ...) or recon_trace)`);
  }
  if (!(Array.isArray(pidTracer) && pidTracer.length === 0)) {
    problems.push(`${formatTerm(needs.messagesOf ?? [], { localNode: Atom.of(node) })} is already traced by ${await who(pidTracer)}; a process has one tracer`);
  }
  if (!isAtom(sysMon, 'undefined')) {
    const holder = await who(sysMon);
    problems.push(
      /sysmon_handler/.test(holder)
        ? `erlang:system_monitor is held by ${holder}, the node's own sysmon_handler, which keeps it for as long as the node runs: long GC and busy port events are not available from BEAM Lens there`
        : `erlang:system_monitor is already held by ${holder}; BEAM Lens will not take it from another tool`,
    );
  }
  if (problems.length === 0) return;
  throw new BeamLensError(
    'targetBusy',
    `${problems.join('; ')}. Nothing was set on ${node}. Stop that tool first (e.g. dbg:stop(), recon_trace:clear(), cprof:stop(), or erlang:trace_pattern({Module, '_', '_'}, false, [call_count, call_time]) for patterns left behind), then try again`,
  );
}

// A tracer is rarely registered (dbg's and recon_trace's are not): named by its registered name,
// else what it runs and the registered processes it is linked to (dbg's tracer is linked to dbg).
const TRACER = `
case erlang:process_info(P, [registered_name, current_function, links]) of
  [{registered_name, R}, {current_function, CF}, {links, Ls}] ->
    {R, CF, [N || L <- Ls, is_pid(L), {registered_name, N} <- [erlang:process_info(L, registered_name)]]};
  _ -> gone
end.`;

async function describeTracer(session: Attachment, pid: Pid): Promise<string> {
  const text = formatPid(pid, Atom.of(session.node));
  const named = await describePid(session.evaluator, session.node, pid);
  if (named !== text) return named;
  try {
    const t = await session.evaluator.eval(TRACER, { P: pid });
    if (!(t instanceof Tuple)) return text;
    const [reg, cf, links] = t.elements;
    if (reg instanceof Atom) return `${formatModule(reg.name)} (${text})`;
    const parts: string[] = [];
    if (cf instanceof Tuple && cf.size === 3) parts.push(`running ${formatTerm(cf.at(0) as Term)}:${formatTerm(cf.at(1) as Term)}/${formatTerm(cf.at(2) as Term)}`);
    const linked = asList(links).filter((l): l is Atom => l instanceof Atom).map((l) => formatModule(l.name));
    if (linked.length > 0) parts.push(`linked to ${linked.slice(0, 3).join(', ')}`);
    return parts.length > 0 ? `${text} (${parts.join(', ')})` : text;
  } catch {
    return text;
  }
}
