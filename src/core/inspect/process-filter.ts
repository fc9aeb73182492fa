// The process table filtered by name or module, done on the target: the processes whose
// registered name, pid, initial call (seen through proc_lib) or current function contains the
// text are ranked by the sort key there, and only one page of rows comes back. With the probe
// the pass is compiled code with one match per distinct name/MFA (seconds at a million
// processes); without it, erl_eval interprets the pass (a minute or more at a million).
import { RpcError } from '../../erldist';
import { Atom, Pid, Term } from '../../etf';
import { PROBE_MODULE } from '../probe/loader';
import { processRows, sortKeyItem, type ProcessPage, type ProcessQuery } from './processes';
import type { Attachment } from '../attach/attachment';
import { asList, asNumber, asTuple } from '../target/terms';

/** Above this many processes a filter without the probe takes long (interpreted pass): offer the probe. */
export const SLOW_FILTER_PROCESSES = 100_000;

/**
 * Above this many processes the first memory sort or filter with the probe reads every process
 * (~2 µs each: seconds at a million), so a table warms the probe's cache when it opens.
 */
export const WARM_CACHE_PROCESSES = 100_000;

async function probeFiltered(session: Attachment, query: ProcessQuery, filter: string): Promise<(ProcessPage & { matched: number }) | null> {
  const sort = query.sort === 'reduction-rate' ? 'reductions' : query.sort;
  let reply: Term;
  try {
    reply = await session.connection.rpc(PROBE_MODULE, 'filter_processes', [Buffer.from(filter.toLowerCase(), 'utf8'), Atom.of(sortKeyItem(sort)), query.offset, query.limit, []], { timeoutMs: 120_000 });
  } catch (err) {
    // A probe loaded by an older BEAM Lens has no filter_processes: do it the interpreted way.
    if (err instanceof RpcError && /undef/.test(err.reason)) return null;
    throw err;
  }
  const [total, matched, ranked] = asTuple(reply, 3).elements as [Term, Term, Term];
  const pids = asList(ranked).map((r) => asTuple(r, 3).elements[0] as Pid);
  const rows = await processRows(session.connection, session.evaluator, pids);
  return {
    total: asNumber(total),
    matched: asNumber(matched),
    sort: query.sort,
    offset: query.offset,
    rows: rows.filter((r): r is NonNullable<typeof r> => r !== null),
    via: 'probe',
  };
}

const FILTERED = `
Lower = string:lowercase(Needle),
Text = fun({M, F, A}) when is_atom(M), is_atom(F), is_integer(A) -> atom_to_list(M) ++ ":" ++ atom_to_list(F) ++ "/" ++ integer_to_list(A);
          (Other) -> io_lib:format("~p", [Other]) end,
Matches = fun(P) ->
  Texts = [pid_to_list(P)]
    ++ [atom_to_list(N) || {registered_name, N} <- [erlang:process_info(P, registered_name)], is_atom(N)]
    ++ [Text(MFA) || MFA <- [try proc_lib:translate_initial_call(P) catch _:_ -> undefined end], MFA =/= undefined]
    ++ [Text(IC) || {initial_call, IC} <- [erlang:process_info(P, initial_call)]]
    ++ [Text(CF) || {current_function, CF} <- [erlang:process_info(P, current_function)]],
  lists:any(fun(T) -> string:find(string:lowercase(lists:flatten(T)), Lower) =/= nomatch end, Texts)
end,
Scored = [{V, P} || P <- erlang:processes(), Matches(P), {_, V} <- [erlang:process_info(P, Key)]],
Sorted = lists:reverse(lists:keysort(1, Scored)),
{length(Sorted), [P || {_, P} <- lists:sublist(Sorted, Offset + 1, Limit)]}.`;

/** One page of the processes matching `filter` (case-insensitive substring), sorted on the target. */
export async function filteredProcesses(session: Attachment, query: ProcessQuery, filter: string): Promise<ProcessPage & { matched: number }> {
  if (session.hasProbe) {
    const viaProbe = await probeFiltered(session, query, filter);
    if (viaProbe) return viaProbe;
  }
  const sort = query.sort === 'reduction-rate' ? 'reductions' : query.sort;
  const reply = asTuple(
    await session.evaluator.eval(
      FILTERED,
      { Needle: [...filter].map((c) => c.codePointAt(0) as number), Key: Atom.of(sortKeyItem(sort)), Offset: query.offset, Limit: query.limit },
      120_000,
    ),
    2,
  );
  const [matched, pids] = reply.elements as [Term, Term];
  const rows = await processRows(session.connection, session.evaluator, asList(pids) as Pid[]);
  return {
    total: asNumber(matched),
    matched: asNumber(matched),
    sort: query.sort,
    offset: query.offset,
    rows: rows.filter((r): r is NonNullable<typeof r> => r !== null),
    via: 'rpc',
  };
}
