// The process table filtered by name or module, done on the target: the processes whose
// registered name, pid, initial call (seen through proc_lib) or current function contains the
// text are ranked by the sort key there, and only one page of rows comes back.
import { Atom, Pid, Term } from '../../etf';
import { processRows, sortKeyItem, type ProcessPage, type ProcessQuery } from './processes';
import type { Attachment } from '../attach/attachment';
import { asList, asNumber, asTuple } from '../target/terms';

const FILTERED = `
Lower = string:lowercase(Needle),
Matches = fun(P) ->
  Texts = [pid_to_list(P)]
    ++ [atom_to_list(N) || {registered_name, N} <- [erlang:process_info(P, registered_name)], is_atom(N)]
    ++ [io_lib:format("~p", [MFA]) || MFA <- [try proc_lib:translate_initial_call(P) catch _:_ -> undefined end], MFA =/= undefined]
    ++ [io_lib:format("~p", [CF]) || {current_function, CF} <- [erlang:process_info(P, current_function)]],
  lists:any(fun(T) -> string:find(string:lowercase(lists:flatten(T)), Lower) =/= nomatch end, Texts)
end,
Scored = [{V, P} || P <- erlang:processes(), Matches(P), {_, V} <- [erlang:process_info(P, Key)]],
Sorted = lists:reverse(lists:keysort(1, Scored)),
{length(Sorted), [P || {_, P} <- lists:sublist(Sorted, Offset + 1, Limit)]}.`;

/** One page of the processes matching `filter` (case-insensitive substring), sorted on the target. */
export async function filteredProcesses(session: Attachment, query: ProcessQuery, filter: string): Promise<ProcessPage & { matched: number }> {
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
