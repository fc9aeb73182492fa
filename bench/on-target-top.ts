// The floor BEAM Lens is measured against: a one-pass top-N compiled and run on the target
// itself (timer:tc there), and the items each row reads. Shared by the benchmarks.
export const ITEMS = ['registered_name', 'memory', 'reductions', 'message_queue_len', 'current_function', 'initial_call'];

export const DIRECT = `-module(bl_bench_direct). -export([top/3]).
top(Key, Limit, Items) -> Top = loop(erlang:processes(), Key, Limit, gb_sets:empty(), 0),
  [{P, erlang:process_info(P, Items)} || {_, _, P} <- lists:reverse(gb_sets:to_list(Top))].
loop([], _, _, S, _) -> S;
loop([P | T], Key, Limit, S, Seq) ->
  case erlang:process_info(P, Key) of
    {_, V} -> S1 = gb_sets:add({V, -Seq, P}, S),
              S2 = case gb_sets:size(S1) > Limit of true -> gb_sets:delete(gb_sets:smallest(S1), S1); false -> S1 end,
              loop(T, Key, Limit, S2, Seq + 1);
    undefined -> loop(T, Key, Limit, S, Seq)
  end.`;
