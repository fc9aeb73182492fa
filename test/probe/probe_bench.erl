%% Times beam_lens_probe:top_processes/4 against a hand-written direct one-pass top-N
%% evaluated on the same node, side by side, and prints a markdown table of the ratios.
%%
%% Run with test/probe/bench.sh N (N idle processes are spawned, then killed).
-module(probe_bench).

-export([main/1]).

-define(PROBE, beam_lens_probe).
-define(LIMIT, 50).
-define(ITEMS, [registered_name, memory, message_queue_len, reductions, current_function]).

main([Src, CountText]) ->
    Count = list_to_integer(CountText),
    ok = probe_test:load_probe(Src),
    T0 = erlang:monotonic_time(millisecond),
    Pids = spawn_idle(Count),
    io:format("spawned ~b processes in ~b ms (~b total, ~b MB total memory)~n~n",
              [Count, erlang:monotonic_time(millisecond) - T0, length(erlang:processes()),
               erlang:memory(total) div 1048576]),
    %% An untimed sweep first: the first pass after spawning pays for touching memory.
    _ = timed(fun() -> direct_top(memory, ?LIMIT, ?ITEMS) end),
    io:format("| sort key | probe top_processes, ms (min / median) | direct one-pass, compiled, ms (min / median) "
              "| ratio probe/direct (min / median) | same one-pass through erl_eval, ms (1 run) |~n"
              "|---|---|---|---|---|~n"),
    %% Cheap keys get more rounds: on a shared 2-core machine single runs are noisy.
    [row(Key, Rounds) || {Key, Rounds} <- [{message_queue_len, 9}, {memory, 3}, {reductions, 9}]],
    {Window, _} = timed(fun() -> ?PROBE:reduction_window(0, ?LIMIT, 0, ?ITEMS) end),
    io:format("~nreduction_window(0, ~b, 0, Items) (two sweeps, no wait): ~b ms~n", [?LIMIT, Window]),
    case Count =< 200000 of
        true ->
            {Full, _} = timed(fun() -> full_sort(memory) end),
            io:format("full sort by memory (process_info of all, lists:sort): ~b ms~n", [Full]);
        false ->
            ok
    end,
    [exit(P, kill) || P <- Pids],
    ?PROBE:unload(),
    probe_test:wait_for("probe unloaded", fun() -> code:is_loaded(?PROBE) =:= false end, 10000),
    halt(0).

row(Key, Rounds) ->
    Probe = fun() -> element(1, timed(fun() -> ?PROBE:top_processes(Key, 0, ?LIMIT, ?ITEMS) end)) end,
    Direct = fun() -> element(1, timed(fun() -> direct_top(Key, ?LIMIT, ?ITEMS) end)) end,
    %% Alternate which one goes first, so neither always inherits the other's garbage.
    Runs = [case Round rem 2 of
                1 -> P = Probe(), D = Direct(), {P, D};
                0 -> D = Direct(), P = Probe(), {P, D}
            end || Round <- lists:seq(1, Rounds)],
    {Ps, Ds} = lists:unzip(Runs),
    {Interpreted, _} = timed(fun() -> interpreted_top(Key, ?LIMIT) end),
    io:format("| ~s | ~b / ~b | ~b / ~b | ~.2f / ~.2f | ~b |~n",
              [Key, lists:min(Ps), median(Ps), lists:min(Ds), median(Ds),
               lists:min(Ps) / max(1, lists:min(Ds)), median(Ps) / max(1, median(Ds)),
               Interpreted]).

%% Each run in a fresh process, as an rpc worker would.
timed(Fun) ->
    Parent = self(),
    {Pid, Ref} = spawn_monitor(fun() ->
                                       {Us, Result} = timer:tc(Fun),
                                       Parent ! {self(), Us div 1000, Result}
                               end),
    receive
        {Pid, Ms, Result} ->
            receive {'DOWN', Ref, process, Pid, _} -> ok end,
            {Ms, Result}
    end.

median(List) -> lists:nth((length(List) + 1) div 2, lists:sort(List)).

%% What one would type on the target: a fold keeping an ascending list of the best Limit.
direct_top(Key, Limit, Items) ->
    {Total, Top} = direct_scan(erlang:processes(), Key, Limit, 0, 0, []),
    {Total, [{P, V, Info} || {V, P} <- lists:reverse(Top),
                             Info <- [erlang:process_info(P, Items)], Info =/= undefined]}.

direct_scan([P | Ps], Key, Limit, Total, Len, Top) ->
    case erlang:process_info(P, Key) of
        {_, V} when Len < Limit ->
            direct_scan(Ps, Key, Limit, Total + 1, Len + 1, lists:sort([{V, P} | Top]));
        {_, V} when V > element(1, hd(Top)) ->
            direct_scan(Ps, Key, Limit, Total + 1, Len, tl(lists:sort([{V, P} | Top])));
        {_, _} ->
            direct_scan(Ps, Key, Limit, Total + 1, Len, Top);
        undefined ->
            direct_scan(Ps, Key, Limit, Total, Len, Top)
    end;
direct_scan([], _Key, _Limit, Total, _Len, Top) ->
    {Total, Top}.

%% The same scan as direct_top/3 (without the page's process_info), evaluated by erl_eval
%% as a client without the probe would have to send it (e.g. an rpc to erl_eval:exprs/2).
interpreted_top(Key, Limit) ->
    Source =
        "Scan = fun Scan([P | Ps], Total, Len, Top) ->"
        "           case erlang:process_info(P, Key) of"
        "               {_, V} when Len < Limit ->"
        "                   Scan(Ps, Total + 1, Len + 1, lists:sort([{V, P} | Top]));"
        "               {_, V} when V > element(1, hd(Top)) ->"
        "                   Scan(Ps, Total + 1, Len, tl(lists:sort([{V, P} | Top])));"
        "               {_, _} -> Scan(Ps, Total + 1, Len, Top);"
        "               undefined -> Scan(Ps, Total, Len, Top)"
        "           end;"
        "          Scan([], Total, _Len, Top) -> {Total, Top}"
        "       end,"
        "Scan(erlang:processes(), 0, 0, []).",
    {ok, Tokens, _} = erl_scan:string(Source),
    {ok, Exprs} = erl_parse:parse_exprs(Tokens),
    Bindings = erl_eval:add_binding('Limit', Limit, erl_eval:add_binding('Key', Key, erl_eval:new_bindings())),
    {value, Result, _} = erl_eval:exprs(Exprs, Bindings),
    Result.

full_sort(Key) ->
    All = [{V, P} || P <- erlang:processes(), {_, V} <- [erlang:process_info(P, Key)]],
    lists:sublist(lists:reverse(lists:sort(All)), ?LIMIT).

%% Idle processes with some variety: lists of 0..49 elements, 1 in 100 with a small queue.
spawn_idle(Count) ->
    Pids = [spawn(fun() -> hold(lists:seq(1, I rem 50)) end) || I <- lists:seq(1, Count)],
    [P ! filler || {I, P} <- lists:zip(lists:seq(1, Count), Pids), I rem 100 =:= 0],
    Pids.

hold(Data) -> receive stop -> Data end.
