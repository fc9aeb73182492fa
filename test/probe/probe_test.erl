%% Tests of probe/beam_lens_probe.erl on a real node, without eunit or common_test.
%%
%% The probe is compiled from source exactly as the client does it (erl_scan, erl_parse
%% form by form, compile:forms, code:load_binary) and checked against naive full sorts over
%% 100,000 processes, supervisors with 10,000 children, a busy process and the guardian's
%% cleanup paths (owner node down, owner process down, release, unload).
%%
%% Run with test/probe/run.sh (it compiles this file and starts a distributed node).
-module(probe_test).

-export([main/1, run/0, run/1, start_child_proc/1, init/1, load_probe/1, wait_for/3]).

-define(PROBE, beam_lens_probe).
-define(POPULATION, 100000).
-define(CHILDREN, 10000).

%% @doc Entry point of run.sh: runs everything and halts with 0 (all passed) or 1.
main([Src]) ->
    halt(case run(Src) of ok -> 0; failed -> 1 end).

run() ->
    {source, Self} = lists:keyfind(source, 1, ?MODULE:module_info(compile)),
    run(filename:join([filename:dirname(Self), "..", "..", "probe", "beam_lens_probe.erl"])).

run(Src) ->
    %% The tests kill supervised children on purpose: keep their reports off the output.
    logger:add_primary_filter(quiet_sasl, {fun logger_filters:domain/2, {stop, sub, [otp, sasl]}}),
    #{all := Population, burnt := Burnt} = spawn_population(?POPULATION),
    Ctx = #{src => Src, burnt => Burnt},
    Results = [run_test(Name, Fun, Ctx) || {Name, Fun} <- tests()],
    stop_population(Population),
    Passed = length([ok || ok <- Results]),
    Failed = length(Results) - Passed,
    io:format("~b passed, ~b failed~n", [Passed, Failed]),
    case Failed of 0 -> ok; _ -> failed end.

tests() ->
    [{"compiles and loads from source like the client", fun t_load_from_source/1},
     {"top_processes by message_queue_len matches a full sort", fun t_top_queue/1},
     {"top_processes by memory matches a full sort", fun t_top_memory/1},
     {"top_processes by reductions matches a full sort", fun t_top_reductions/1},
     {"top_processes rows carry the supported items only", fun t_top_items/1},
     {"top_processes edge cases (limit 0, past the end, bad key)", fun t_top_edges/1},
     {"children_page on a supervisor with 10,000 children", fun t_children_page/1},
     {"children_page on an Elixir DynamicSupervisor", fun t_children_dynamic/1},
     {"children_page and sup_info refuse non-supervisors", fun t_not_a_supervisor/1},
     {"sup_info reads strategy, intensity and recent restarts", fun t_sup_info/1},
     {"reduction_window ranks the busy process first", fun t_reduction_window/1},
     {"owner node down: guardian undoes, kills and unloads", fun t_nodedown_cleanup/1},
     {"owner processes: unload only when the last one goes", fun t_owner_pids/1},
     {"release by the last owner unloads", fun t_release/1},
     {"unload/0 from a long-lived caller unloads", fun t_unload/1},
     {"unreachable owner node unloads at once", fun t_unreachable_owner/1}].

run_test(Name, Fun, Ctx) ->
    T0 = erlang:monotonic_time(millisecond),
    Result = try Fun(Ctx) of
                 _ -> ok
             catch
                 Class:Reason:Stack -> {Class, Reason, Stack}
             end,
    Ms = erlang:monotonic_time(millisecond) - T0,
    case Result of
        ok ->
            io:format("ok    ~s (~b ms)~n", [Name, Ms]),
            ok;
        {C, R, S} ->
            io:format("FAIL  ~s (~b ms)~n      ~p:~p~n      ~p~n", [Name, Ms, C, R, S]),
            failed
    end.

%%% Loading ---------------------------------------------------------------------------

%% @doc Loads the probe the way the TypeScript client will; unloads a previous copy first.
load_probe(Src) ->
    ensure_unloaded(),
    {ok, Bytes} = file:read_file(Src),
    {ok, Tokens, _} = erl_scan:string(unicode:characters_to_list(Bytes)),
    Forms = [begin {ok, Form} = erl_parse:parse_form(FormTokens), Form end
             || FormTokens <- split_forms(Tokens, [], [])],
    {ok, ?PROBE, Bin} = compile:forms(Forms, [binary, return_errors]),
    {module, ?PROBE} = code:load_binary(?PROBE, "beam_lens_probe.erl", Bin),
    ok.

split_forms([{dot, _} = Dot | Rest], Current, Forms) ->
    split_forms(Rest, [], [lists:reverse([Dot | Current]) | Forms]);
split_forms([Token | Rest], Current, Forms) ->
    split_forms(Rest, [Token | Current], Forms);
split_forms([], [], Forms) ->
    lists:reverse(Forms).

ensure_unloaded() ->
    case code:is_loaded(?PROBE) of
        false -> ok;
        _ -> ?PROBE:unload()
    end,
    wait_for("probe unloaded", fun probe_gone/0, 10000).

probe_gone() ->
    code:is_loaded(?PROBE) =:= false andalso not erlang:check_old_code(?PROBE)
        andalso whereis(beam_lens_guardian) =:= undefined
        andalso [N || N <- registered(), lists:prefix("beam_lens_", atom_to_list(N))] =:= [].

t_load_from_source(#{src := Src}) ->
    load_probe(Src),
    1 = ?PROBE:version(),
    %% Loaded from memory only: code:which/1 answers the name given to load_binary.
    "beam_lens_probe.erl" = code:which(?PROBE),
    %% And it compiles without warnings, so no OTP release should choke on it.
    {ok, Bytes} = file:read_file(Src),
    {ok, Tokens, _} = erl_scan:string(unicode:characters_to_list(Bytes)),
    Forms = [element(2, erl_parse:parse_form(F)) || F <- split_forms(Tokens, [], [])],
    {ok, ?PROBE, _, []} = compile:forms(Forms, [binary, return_errors, return_warnings]),
    ok.

%%% Population ------------------------------------------------------------------------

%% 100,000 idle processes, engineered so that the top of each ranking is stable and
%% well above anything that changes while we measure (the measuring processes):
%%   300 with distinct queues of 11..310 messages,
%%    60 with heaps of ~8-20 MB (min_heap_size; untouched pages cost no RSS),
%%   100 that burned 3,000,000 + 20,000*J reductions before going idle,
%%   the rest holding lists of 0..49 elements.
spawn_population(N) ->
    Queued = [spawn(fun idle/0) || _ <- lists:seq(1, 300)],
    [[P ! {filler, I} || I <- lists:seq(1, 10 + J)] || {J, P} <- enumerate(Queued)],
    Heavy = [spawn_opt(fun idle/0, [{min_heap_size, 1000000 + J * 25000}])
             || J <- lists:seq(1, 60)],
    Parent = self(),
    Busy = [spawn(fun() -> burn(3000000 + J * 20000), Parent ! {burnt, self()}, idle() end)
            || J <- lists:seq(1, 100)],
    [receive {burnt, P} -> ok end || P <- Busy],
    Rest = [spawn(fun() -> hold(lists:seq(1, I rem 50)) end)
            || I <- lists:seq(1, N - length(Queued) - length(Heavy) - length(Busy))],
    #{all => Queued ++ Heavy ++ Busy ++ Rest, burnt => Busy}.

stop_population(Pids) ->
    [exit(P, kill) || P <- Pids],
    ok.

idle() -> receive stop -> ok end.

hold(Data) -> receive stop -> Data end.

burn(0) -> ok;
burn(N) -> burn(N - 1).

enumerate(List) -> lists:zip(lists:seq(1, length(List)), List).

%%% top_processes ---------------------------------------------------------------------

t_top_queue(_) ->
    Total = length(erlang:processes()),
    [compare_top(message_queue_len, Offset, Limit)
     || {Offset, Limit} <- [{0, 10}, {0, 50}, {25, 50}, {290, 20}, {5000, 25},
                            {Total - 10, 50}, {Total + 5, 10}]],
    ok.

t_top_memory(_) ->
    [compare_top(memory, Offset, Limit) || {Offset, Limit} <- [{0, 10}, {0, 40}, {20, 30}]],
    ok.

t_top_reductions(_) ->
    [compare_top(reductions, Offset, Limit) || {Offset, Limit} <- [{0, 10}, {0, 50}, {30, 40}]],
    ok.

%% A coordinator process takes a naive snapshot, runs the probe, and takes a second naive
%% snapshot. The probe leaves out its caller (the coordinator); the naive sorts run in
%% helper processes that leave out themselves and the coordinator, so the three see the
%% same population. If the two snapshots differ something moved under us: try again.
%% Otherwise the probe must return exactly that page.
compare_top(Key, Offset, Limit) ->
    compare_top(Key, Offset, Limit, 5).

compare_top(Key, Offset, Limit, 0) ->
    error({unstable_population, Key, Offset, Limit});
compare_top(Key, Offset, Limit, Attempts) ->
    {S1, Probe, S2} =
        in_fresh(fun() ->
                         Before = naive_top(Key, Offset, Limit, self()),
                         {Total, Rows} = ?PROBE:top_processes(Key, Offset, Limit, []),
                         After = naive_top(Key, Offset, Limit, self()),
                         {Before, {Total, [{P, V} || {P, V, []} <- Rows]}, After}
                 end),
    case S1 =:= S2 of
        true when Probe =:= S1 ->
            {_, Page} = S1,
            Expected = max(0, min(Limit, element(1, S1) - Offset)),
            {Expected, Key, Offset} = {length(Page), Key, Offset},
            ok;
        true ->
            error({mismatch, Key, Offset, Limit, {expected, S1}, {probe, Probe}});
        false ->
            compare_top(Key, Offset, Limit, Attempts - 1)
    end.

%% Full sort of every process but itself and Caller: value descending, ties in
%% processes() order.
naive_top(Key, Offset, Limit, Caller) ->
    in_fresh(fun() ->
                     Self = self(),
                     Entries = [{V, -Seq, P} || {Seq, P} <- enumerate(erlang:processes()),
                                                P =/= Self, P =/= Caller,
                                                {_, V} <- [erlang:process_info(P, Key)]],
                     Sorted = lists:reverse(lists:sort(Entries)),
                     Page = lists:sublist(safe_drop(Offset, Sorted), Limit),
                     {length(Entries), [{P, V} || {V, _, P} <- Page]}
             end).

t_top_items(_) ->
    Items = [message_queue_len, registered_name, no_such_item, current_function],
    {_, Rows} = ?PROBE:top_processes(message_queue_len, 0, 5, Items),
    5 = length(Rows),
    [begin
         [message_queue_len, registered_name, current_function] = [K || {K, _} <- Info],
         {message_queue_len, V} = lists:keyfind(message_queue_len, 1, Info),
         true = is_pid(P)
     end || {P, V, Info} <- Rows],
    ok.

t_top_edges(_) ->
    {Total, []} = ?PROBE:top_processes(memory, 0, 0, [memory]),
    true = abs(Total - length(erlang:processes())) < 10,
    {_, []} = ?PROBE:top_processes(reductions, 10000000, 5, []),
    %% Every process is on some page, except the caller itself.
    {All, Rows} = ?PROBE:top_processes(message_queue_len, 0, 10000000, []),
    All = length(Rows),
    false = lists:keymember(self(), 1, Rows),
    {'EXIT', {{bad_sort_key, heap_size}, _}} = (catch ?PROBE:top_processes(heap_size, 0, 5, [])),
    {'EXIT', {function_clause, _}} = (catch ?PROBE:top_processes(memory, -1, 5, [])),
    ok.

%%% Supervisors -----------------------------------------------------------------------

%% @doc Supervisor callback for the test supervisors.
init({Flags, Specs}) -> {ok, {Flags, Specs}}.

%% @doc Start function of supervised test children: N rem 100 list elements of state.
start_child_proc(N) ->
    {ok, spawn_link(fun() -> hold(lists:seq(1, N rem 100)) end)}.

t_children_page(_) ->
    {ok, Sup} = supervisor:start_link(?MODULE, {#{strategy => simple_one_for_one},
                                                [#{id => child,
                                                   start => {?MODULE, start_child_proc, []},
                                                   restart => temporary}]}),
    unlink(Sup),
    try
        Pids = [begin {ok, P} = supervisor:start_child(Sup, [N]), P end
                || N <- lists:seq(1, ?CHILDREN)],
        [[P ! {filler, I} || I <- lists:seq(1, 100 + J)] || {J, P} <- enumerate(lists:sublist(Pids, 50))],
        wait_for("queues filled", fun() -> queue(lists:nth(50, Pids)) =:= 150 end, 5000),
        check_children(Sup, ?CHILDREN, [{message_queue_len, 0, 20}, {message_queue_len, 40, 30},
                                        {message_queue_len, 9990, 20}, {memory, 0, 25},
                                        {memory, 100, 25}])
    after
        stop_sup(Sup)
    end.

t_children_dynamic(_) ->
    case code:ensure_loaded('Elixir.DynamicSupervisor') of
        {module, _} -> dynamic_children();
        _ -> io:format("      (Elixir not on the code path: skipped)~n")
    end.

dynamic_children() ->
    {ok, Sup} = 'Elixir.DynamicSupervisor':start_link([{strategy, one_for_one},
                                                        {max_restarts, 7}, {max_seconds, 9}]),
    unlink(Sup),
    try
        Pids = [begin
                    Spec = #{id => undefined, start => {?MODULE, start_child_proc, [N]},
                             restart => temporary},
                    {ok, P} = 'Elixir.DynamicSupervisor':start_child(Sup, Spec),
                    P
                end || N <- lists:seq(1, ?CHILDREN)],
        [[P ! {filler, I} || I <- lists:seq(1, 100 + J)] || {J, P} <- enumerate(lists:sublist(Pids, 30))],
        wait_for("queues filled", fun() -> queue(lists:nth(30, Pids)) =:= 130 end, 5000),
        check_children(Sup, ?CHILDREN, [{message_queue_len, 0, 40}, {memory, 0, 25}]),
        {ok, #{kind := dynamic_supervisor, strategy := one_for_one, intensity := 7,
               period := 9, restarts := 0, children := ?CHILDREN}} = ?PROBE:sup_info(Sup, 5000),
        ok
    after
        stop_sup(Sup)
    end.

check_children(Sup, Count, Slices) ->
    [begin
         Expected = naive_children(Sup, Key, Offset, Limit),
         {Count, Expected} = ?PROBE:children_page(Sup, Key, Offset, Limit)
     end || {Key, Offset, Limit} <- Slices],
    ok.

naive_children(Sup, Key, Offset, Limit) ->
    Entries = [{child_value(C, Key), -Seq, {Id, C, T, M}}
               || {Seq, {Id, C, T, M}} <- enumerate(supervisor:which_children(Sup))],
    Page = lists:sublist(safe_drop(Offset, lists:reverse(lists:sort(Entries))), Limit),
    [{Id, C, T, M, V} || {V, _, {Id, C, T, M}} <- Page].

child_value(Pid, Key) when is_pid(Pid) ->
    case erlang:process_info(Pid, Key) of
        {_, V} -> V;
        undefined -> 0
    end;
child_value(_, _) -> 0.

stop_sup(Sup) ->
    Ref = erlang:monitor(process, Sup),
    exit(Sup, shutdown),
    receive {'DOWN', Ref, process, Sup, _} -> ok end.

queue(Pid) ->
    {message_queue_len, N} = erlang:process_info(Pid, message_queue_len),
    N.

t_not_a_supervisor(_) ->
    Plain = spawn(fun idle/0),
    {error, not_a_supervisor} = ?PROBE:children_page(Plain, memory, 0, 10),
    {error, not_a_supervisor} = ?PROBE:sup_info(Plain, 1000),
    {error, not_a_supervisor} = ?PROBE:children_page(code_server, memory, 0, 10),
    {error, noproc} = ?PROBE:children_page(no_such_registered_name, memory, 0, 10),
    {error, noproc} = ?PROBE:sup_info(no_such_registered_name, 1000),
    exit(Plain, kill),
    ok.

t_sup_info(_) ->
    {ok, Sup} = supervisor:start_link(?MODULE, {#{strategy => rest_for_one, intensity => 3,
                                                  period => 5},
                                                [#{id => worker,
                                                   start => {?MODULE, start_child_proc, [7]}}]}),
    unlink(Sup),
    try
        {ok, #{kind := supervisor, strategy := rest_for_one, intensity := 3, period := 5,
               restarts := 0, restart_ages := [], module := ?MODULE}} = ?PROBE:sup_info(Sup, 5000),
        kill_child_and_wait(Sup),
        kill_child_and_wait(Sup),
        {ok, #{restarts := 2, restart_ages := Ages}} = ?PROBE:sup_info(Sup, 5000),
        true = lists:all(fun(A) -> A >= 0 andalso A =< 5 end, Ages),
        ok
    after
        stop_sup(Sup)
    end.

kill_child_and_wait(Sup) ->
    [{worker, Old, worker, _}] = supervisor:which_children(Sup),
    exit(Old, kill),
    wait_for("child restarted",
             fun() ->
                     case supervisor:which_children(Sup) of
                         [{worker, New, worker, _}] -> is_pid(New) andalso New =/= Old;
                         _ -> false
                     end
             end, 5000).

%%% reduction_window ------------------------------------------------------------------

t_reduction_window(#{burnt := Burnt}) ->
    Busy = spawn(fun spin/0),
    try
        {Total, Rows} = ?PROBE:reduction_window(0, 5, 300, [current_function]),
        true = Total > ?POPULATION,
        %% At most 5: a ranked process that exits before its row is read is left out.
        true = length(Rows) =< 5,
        [{Busy, Delta, [{current_function, _}]} | _] = Rows,
        true = Delta > 100000,
        %% The population's heavy processes burnt their reductions before the window.
        [] = [P || {P, _, _} <- Rows, lists:member(P, Burnt)],
        ok
    after
        exit(Busy, kill)
    end.

spin() -> spin(0).
spin(N) -> spin(N + 1).

%%% Guardian --------------------------------------------------------------------------

t_nodedown_cleanup(#{src := Src}) ->
    load_probe(Src),
    Cookie = atom_to_list(erlang:get_cookie()),
    {ok, Peer, Owner} = peer:start_link(#{name => peer:random_name(probe_owner),
                                          args => ["-hidden", "-setcookie", Cookie]}),
    unlink(Peer),
    true = lists:member(Owner, nodes(hidden)),
    {ok, Guardian} = ?PROBE:start(Owner),
    Guardian = whereis(beam_lens_guardian),
    %% Something the client set up and asked the guardian to undo...
    MFA = {lists, seq, 2},
    1 = erlang:trace_pattern(MFA, true, [call_count]),
    ok = ?PROBE:add_undo({erlang, trace_pattern, [MFA, false, [call_count]]}),
    %% ...a probe process of the future, by naming convention...
    Sampler = spawn(fun idle/0),
    true = register(beam_lens_sampler, Sampler),
    %% ...and an rpc worker still inside the probe when the owner goes.
    Stuck = spawn(fun() -> ?PROBE:reduction_window(0, 1, 60000, []) end),
    wait_for("worker inside the probe",
             fun() -> {current_function, {?PROBE, reduction_window, 4}} =:=
                          erlang:process_info(Stuck, current_function) end,
             5000),
    #{owners := [Owner], undo := [_]} = ?PROBE:status(),
    peer:stop(Peer),
    wait_for("probe unloaded after nodedown", fun probe_gone/0, 10000),
    false = is_process_alive(Guardian),
    false = is_process_alive(Sampler),
    false = is_process_alive(Stuck),
    {call_count, false} = erlang:trace_info(MFA, call_count),
    no_process_in_probe_code(),
    ok.

no_process_in_probe_code() ->
    [] = [P || P <- erlang:processes(),
               {current_function, {?PROBE, _, _}} <- [erlang:process_info(P, current_function)]],
    ok.

t_owner_pids(#{src := Src}) ->
    load_probe(Src),
    First = spawn(fun idle/0),
    Second = spawn(fun idle/0),
    {ok, Guardian} = ?PROBE:start(First),
    {ok, Guardian} = ?PROBE:start(Second),
    {ok, Guardian} = ?PROBE:start(Second),
    #{owners := Owners} = ?PROBE:status(),
    [First, Second] = lists:sort(Owners),
    exit(First, kill),
    wait_for("first owner dropped", fun() -> maps:get(owners, ?PROBE:status()) =:= [Second] end, 5000),
    {file, _} = code:is_loaded(?PROBE),
    exit(Second, kill),
    wait_for("probe unloaded after the last owner", fun probe_gone/0, 10000),
    no_process_in_probe_code(),
    ok.

t_release(#{src := Src}) ->
    load_probe(Src),
    Owner = spawn(fun idle/0),
    {ok, _} = ?PROBE:start(Owner),
    ok = ?PROBE:release(Owner),
    wait_for("probe unloaded after release", fun probe_gone/0, 10000),
    true = is_process_alive(Owner),
    exit(Owner, kill),
    ok.

t_unload(#{src := Src}) ->
    load_probe(Src),
    {ok, _} = ?PROBE:start(self()),
    ok = ?PROBE:unload(),
    %% This process called into the probe and lives on: the final purge must spare it.
    wait_for("probe unloaded by unload/0", fun probe_gone/0, 10000),
    no_process_in_probe_code(),
    %% Unloading when nothing is loaded is harmless for the caller (undef, like any module).
    {'EXIT', {undef, _}} = (catch ?PROBE:unload()),
    ok.

t_unreachable_owner(#{src := Src}) ->
    load_probe(Src),
    [_, Host] = string:split(atom_to_list(node()), "@"),
    Nobody = list_to_atom("beam_lens_nobody@" ++ Host),
    _ = ?PROBE:start(Nobody),
    wait_for("probe unloaded (owner never reachable)", fun probe_gone/0, 10000),
    ok.

%%% Helpers ---------------------------------------------------------------------------

%% Runs Fun in a new process and returns its result (or raises its error here).
in_fresh(Fun) ->
    {Pid, Ref} = spawn_monitor(fun() -> exit({done, catch_result(Fun)}) end),
    receive
        {'DOWN', Ref, process, Pid, {done, {ok, Result}}} -> Result;
        {'DOWN', Ref, process, Pid, {done, {error, C, R, S}}} -> erlang:raise(C, R, S);
        {'DOWN', Ref, process, Pid, Other} -> error({fresh_process_died, Other})
    end.

catch_result(Fun) ->
    try {ok, Fun()} catch C:R:S -> {error, C, R, S} end.

safe_drop(0, List) -> List;
safe_drop(_, []) -> [];
safe_drop(N, [_ | T]) -> safe_drop(N - 1, T).

%% @doc Polls Fun every 10 ms until it returns true; fails after TimeoutMs.
wait_for(What, Fun, TimeoutMs) ->
    wait_until(What, Fun, erlang:monotonic_time(millisecond) + TimeoutMs).

wait_until(What, Fun, Deadline) ->
    case catch Fun() of
        true -> ok;
        _ ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> error({timeout, What});
                false -> receive after 10 -> wait_until(What, Fun, Deadline) end
            end
    end.
