%% Tests of probe/beam_lens_probe.erl on a real node, without eunit or common_test.
%%
%% The probe is compiled from source exactly as the client does it (erl_scan, erl_parse
%% form by form, compile:forms, code:load_binary) and checked against naive full sorts over
%% 100,000 processes, supervisors with 10,000 children, a busy process and the guardian's
%% cleanup paths (owner node down, owner process down, release, unload). Then hot functions,
%% the tracer and the system monitor (with 100,000 processes still alive), each followed by
%% a check that no process carries a trace flag, the touched functions carry no pattern of
%% any kind, no tracer, sink or monitor is left and the system monitor is free.
%%
%% Run with test/probe/run.sh (it compiles this file and starts a distributed node).
-module(probe_test).

-export([main/1, run/0, run/1, start_child_proc/1, init/1, load_probe/1, wait_for/3,
         relay/1, cache_holder/1]).

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
     {"memory cache: a pass on unchanged processes asks none of them, and matches a full sort", fun t_cache_hits/1},
     {"memory cache: growth, new messages and a new current function are seen", fun t_cache_follows/1},
     {"memory cache: a pass stops when its caller dies", fun t_cache_caller_dies/1},
     {"memory cache: a background warm-up makes the first memory pass ask nobody", fun t_cache_warm/1},
     {"memory cache: a request during the warm-up takes over where it stopped", fun t_cache_warm_interrupted/1},
     {"children_page on a supervisor with 10,000 children", fun t_children_page/1},
     {"children_page on an Elixir DynamicSupervisor", fun t_children_dynamic/1},
     {"children_page and sup_info refuse non-supervisors", fun t_not_a_supervisor/1},
     {"sup_info reads strategy, intensity and recent restarts", fun t_sup_info/1},
     {"reduction_window ranks the busy process first", fun t_reduction_window/1}]
    ++ probe_profile_test:tests() ++ probe_telemetry_test:tests() ++
    [     {"owner node down: guardian undoes, kills and unloads", fun t_nodedown_cleanup/1},
     {"owner processes: unload only when the last one goes", fun t_owner_pids/1},
     {"release by the last owner unloads", fun t_release/1},
     {"unload/0 from a long-lived caller unloads", fun t_unload/1},
     {"release by a non-owner: nothing changes, unless nobody owns the probe", fun t_release_stranger/1},
     {"unreachable owner node unloads at once", fun t_unreachable_owner/1},
     {"two owners: release by one undoes its own settings only, the probe stays for the other", fun t_shared_release/1},
     {"two owners: one dies, its settings are undone, the probe stays for the other", fun t_shared_owner_down/1},
     {"memory cache: a warm-up stops when the BEAM Lens that asked goes or releases; the cache stays for the other", fun t_cache_warm_requester_gone/1},
     {"hot_start/hot_read/hot_stop count calls and leave no pattern", fun t_hot_counts/1},
     {"hot_start refuses [], '_', too many and OTP/Elixir core modules", fun t_hot_refusals/1},
     {"a module in the code path but not loaded stays unloaded: hot skips it, a call trace refuses it", fun t_never_loads/1},
     {"hot_call_time measures and leaves no flag, pattern or sink", fun t_hot_call_time/1},
     {"hot_call_time caller killed mid-window: the guardian undoes", fun t_hot_call_time_killed/1},
     {"trace call: events, returns, cap", fun t_trace_call_cap/1},
     {"trace call: rate limit and deadline", fun t_trace_rate_deadline/1},
     {"trace call: custom match spec, exceptions", fun t_trace_exceptions/1},
     {"trace: stop_trace", fun t_trace_stop/1},
     {"trace: busy, refusals and bad specs change nothing", fun t_trace_refusals/1},
     {"trace messages: send/receive, a 100 MB binary is not copied", fun t_trace_messages/1},
     {"trace messages: traced process exits", fun t_trace_process_down/1},
     {"trace messages at 100k msgs/s: rate held, memory bounded", fun t_trace_flood_smooth/1},
     {"trace messages floods: breaker trips on tracer_queue", fun t_trace_flood_breaker/1},
     {"trace: breaker trips on run_queue and memory", fun t_trace_breaker_other/1},
     {"trace: killed tracer, the guardian undoes its group", fun t_trace_killed/1},
     {"trace: owner process down", fun t_trace_owner_down/1},
     {"trace: remote owner's node down (noconnection)", fun t_trace_owner_node_down/1},
     {"system monitor: busy when held by another process", fun t_monitor_busy/1},
     {"system monitor: events, cap, stop, deadline", fun t_monitor_events/1},
     {"system monitor: owner down, killed, taken over", fun t_monitor_ends/1},
     {"owner node down with everything running: all undone", fun t_nodedown_everything/1},
     {"unload/0 with everything running: all undone", fun t_unload_everything/1},
     {"module_summary groups by $initial_call and matches a full count", fun t_module_summary/1}].

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
    7 = ?PROBE:version(),
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
    Total = length(erlang:processes()),
    %% Total div 2: a page deeper than 20,000 rows (every value sorted once).
    [compare_top(memory, Offset, Limit) || {Offset, Limit} <- [{0, 10}, {0, 40}, {20, 30}, {Total div 2, 50}]],
    ok.

%% Two memory passes in a row over the idle population: the second answers from the cache
%% (no idle process is asked: its reductions do not move), and both equal a full sort taken
%% after them. Deep pages too.
t_cache_hits(_) ->
    Total = length(erlang:processes()),
    [cache_hits(Offset, Limit, 5) || {Offset, Limit} <- [{0, 50}, {Total div 2, 50}]],
    ok.

cache_hits(Offset, Limit, 0) -> error({unstable_population, Offset, Limit});
cache_hits(Offset, Limit, Attempts) ->
    Sample = lists:sublist(erlang:processes(), 1000, 2000),
    Reds = fun() -> [R || P <- Sample, {reductions, R} <- [erlang:process_info(P, reductions)]] end,
    {First, Second, Naive, R1, R2} =
        in_fresh(fun() ->
                         {T1, Rows1} = ?PROBE:top_processes(memory, Offset, Limit, []),
                         Before = Reds(),
                         {T2, Rows2} = ?PROBE:top_processes(memory, Offset, Limit, []),
                         After = Reds(),
                         N = naive_top(memory, Offset, Limit, self()),
                         {{T1, [{P, V} || {P, V, []} <- Rows1]}, {T2, [{P, V} || {P, V, []} <- Rows2]}, N, Before, After}
                 end),
    case First =:= Naive andalso Second =:= Naive of
        true ->
            %% Not one of 2,000 idle processes was asked by the second pass.
            {same_reductions, R1} = {same_reductions, R2},
            ok;
        false ->
            cache_hits(Offset, Limit, Attempts - 1)
    end.

%% A process of ours changes under the cache: its memory grows (it ran), messages wait in its
%% queue (it did not take them), it moves to another function. Each shows in the next pass.
t_cache_follows(_) ->
    %% Spawned through a fun: its initial call does not name cache_holder (only its current function does).
    H = spawn(fun() -> ?MODULE:cache_holder([]) end),
    Top = fun() -> {_, [{P, V, _} | _]} = ?PROBE:top_processes(memory, 0, 1, []), {P, V} end,
    Mem = fun() -> {memory, M} = erlang:process_info(H, memory), M end,
    Found = fun(Needle) ->
                    {_, _, Rows} = ?PROBE:filter_processes(Needle, memory, 0, 10, []),
                    lists:keymember(H, 1, Rows)
            end,
    %% Fill the cache, then grow: H becomes the largest process.
    _ = ?PROBE:top_processes(memory, 0, 1, []),
    true = Found(<<"probe_test:cache_holder">>),
    H ! {grow, self()},
    receive {grown, H} -> ok end,
    {H, V1} = Top(),
    V1 = Mem(),
    %% Messages it does not receive: its queue (and memory) grows while it waits.
    H ! {wait_elsewhere, self()},
    receive {waiting, H} -> ok end,
    false = Found(<<"probe_test:cache_holder">>),
    true = Found(<<"probe_test:cache_elsewhere">>),
    [H ! {junk, lists:seq(1, 1000)} || _ <- lists:seq(1, 200)],
    {H, V2} = Top(),
    true = V2 > V1,
    V2 = Mem(),
    exit(H, kill),
    ok.

%% A cold pass (a fresh cache process) over the population costs that process R reductions. A
%% second fresh one gets the same request from a caller killed once the pass is under way: it
%% stops there, far short of R (it checks for its caller every 4,096 processes).
t_cache_caller_dies(_) ->
    Reds = fun(P) -> {reductions, R} = erlang:process_info(P, reductions), R end,
    Fresh = fun() ->
                    _ = ?PROBE:top_processes(memory, 0, 1, []),
                    Old = whereis(beam_lens_cache),
                    exit(Old, kill),
                    wait_for("cache process gone", fun() -> whereis(beam_lens_cache) =/= Old end, 5000)
            end,
    Idle = fun(P) -> wait_for("cache process idle", fun() -> R1 = Reds(P), receive after 20 -> ok end, R1 =:= Reds(P) end, 60000) end,
    Fresh(),
    {_, [_ | _]} = ?PROBE:top_processes(memory, 0, 5, []),
    Full = Reds(whereis(beam_lens_cache)),
    Fresh(),
    Caller = spawn(fun() -> ?PROBE:top_processes(memory, 0, 10, []) end),
    wait_for("cache process started", fun() -> is_pid(whereis(beam_lens_cache)) end, 5000),
    Cache = whereis(beam_lens_cache),
    wait_for("the pass under way", fun() -> Reds(Cache) > 5000 end, 10000),
    exit(Caller, kill),
    Idle(Cache),
    Spent = Reds(Cache),
    {stopped_early, true, Spent, Full} = {stopped_early, Spent < Full div 2, Spent, Full},
    %% And it still answers.
    {_, [_ | _]} = ?PROBE:top_processes(memory, 0, 5, []),
    ok.

%% warm_cache/0 starts a background pass (once: a second call says already, and does not stop
%% the first), at low priority; once it is done, a memory pass asks none of 2,000 idle processes
%% and equals a full sort, and the cache process is back at normal priority.
t_cache_warm(_) ->
    %% Chosen before the warm-up: reading a process's current function costs it a reduction.
    Idle = population_idle(),
    Reds = fun(P) -> {reductions, R} = erlang:process_info(P, reductions), R end,
    drop_cache(),
    started = ?PROBE:warm_cache(),
    already = ?PROBE:warm_cache(),
    Cache = whereis(beam_lens_cache),
    {priority, low} = erlang:process_info(Cache, priority),
    wait_for("warm-up done", fun() -> R1 = Reds(Cache), receive after 50 -> ok end,
                                     R1 =:= Reds(Cache) andalso erlang:process_info(Cache, priority) =:= {priority, normal} end, 120000),
    %% Not cut short by the second call: the first memory pass finds every idle process in the
    %% cache (not one of 2,000 sampled is asked) and equals a full sort.
    Sample = lists:nthtail(length(Idle) - 2000, Idle),
    SReds = fun() -> [R || P <- Sample, {reductions, R} <- [erlang:process_info(P, reductions)]] end,
    {W, {Rows, Before, After, Naive}} =
        timer:tc(fun() -> in_fresh(fun() ->
                                           B = SReds(),
                                           {_, Rs} = ?PROBE:top_processes(memory, 0, 50, []),
                                           A = SReds(),
                                           {[{P, V} || {P, V, []} <- Rs], B, A, naive_top(memory, 0, 50, self())}
                                   end) end),
    {_, Rows} = Naive,
    Asked = length([x || {A, B} <- lists:zip(Before, After), B =/= A]),
    {asked_after_warm_up, true, Asked} = {asked_after_warm_up, Asked < 100, Asked},
    already = ?PROBE:warm_cache(),
    Cache = whereis(beam_lens_cache),
    io:format("    (first memory pass after the warm-up: ~b ms)~n", [W div 1000]),
    ok.

%% A request that arrives during the warm-up stops it where it is and finishes the pass: its
%% answer equals a full sort, the processes the warm-up had read are not asked again (their
%% reductions do not move: each read costs the process one), and those it had not reached are.
t_cache_warm_interrupted(_) ->
    Idle = population_idle(),
    Head = lists:sublist(Idle, 1000, 2000),
    Tail = lists:nthtail(length(Idle) - 2000, Idle),
    Reds = fun(Ps) -> [R || P <- Ps, {reductions, R} <- [erlang:process_info(P, reductions)]] end,
    drop_cache(),
    H0 = Reds(Head),
    T0 = Reds(Tail),
    started = ?PROBE:warm_cache(),
    Read = fun(Before, Ps) -> lists:all(fun({A, B}) -> B > A end, lists:zip(Before, Reds(Ps))) end,
    wait_for("the warm-up past the head sample", fun() -> Read(H0, Head) end, 60000),
    case Reds(Tail) =:= T0 of
        true ->
            {Rows, HeadAfter, Naive} =
                in_fresh(fun() ->
                                 {_, Rs} = ?PROBE:top_processes(memory, 0, 50, []),
                                 HA = Reds(Head),
                                 {[{P, V} || {P, V, []} <- Rs], HA, naive_top(memory, 0, 50, self())}
                         end),
            {_, Rows} = Naive,
            %% Read by the warm-up, not again by the request; the tail read by the request.
            %% (A read the VM could not do directly, the process being busy for a moment, costs it a
            %% reduction too: a handful may move; without the prefix kept all 2,000 would.)
            Again = length([x || {A, B} <- lists:zip(H0, HeadAfter), B =/= A + 1]),
            io:format("    (~b of 2,000 head processes moved after the request)~n", [Again]),
            {head_asked_again, true, Again} = {head_asked_again, Again < 100, Again},
            true = Read(T0, Tail),
            {priority, normal} = erlang:process_info(whereis(beam_lens_cache), priority),
            ok;
        false ->
            %% The warm-up reached the end before we could ask (a fast machine): nothing to show.
            io:format("    (warm-up finished before the request could interrupt it)~n"),
            ok
    end.

%% The population's idle processes (waiting in idle/0 or hold/1), in erlang:processes() order:
%% nothing of another test that may still run.
population_idle() ->
    [P || P <- erlang:processes(),
          lists:member(erlang:process_info(P, current_function),
                       [{current_function, {?MODULE, idle, 0}}, {current_function, {?MODULE, hold, 1}}])].

drop_cache() ->
    case whereis(beam_lens_cache) of
        undefined -> ok;
        Old ->
            exit(Old, kill),
            wait_for("cache process gone", fun() -> whereis(beam_lens_cache) =/= Old end, 5000)
    end.

%% @doc A process whose size and current function the cache tests change.
cache_holder(Data) ->
    receive
        {grow, From} ->
            Big = lists:seq(1, 2000000),
            From ! {grown, self()},
            cache_holder([Big | Data]);
        {wait_elsewhere, From} ->
            From ! {waiting, self()},
            cache_elsewhere(Data)
    end.

cache_elsewhere(Data) ->
    receive stop -> length(Data) end.

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
                     %% Memory sorts run in the probe's cache process, which leaves itself out.
                     Cache = case Key of memory -> whereis(beam_lens_cache); _ -> none end,
                     Entries = [{V, -Seq, P} || {Seq, P} <- enumerate(erlang:processes()),
                                                P =/= Self, P =/= Caller, P =/= Cache,
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
    {ok, []} = ?PROBE:release(Owner),
    wait_for("probe unloaded after release", fun probe_gone/0, 10000),
    true = is_process_alive(Owner),
    exit(Owner, kill),
    ok.

t_release_stranger(#{src := Src}) ->
    load_probe(Src),
    Owner = spawn(fun idle/0),
    Stranger = spawn(fun idle/0),
    {ok, G} = ?PROBE:start(Owner),
    {ok, [Owner]} = ?PROBE:release(Stranger),
    true = is_process_alive(G),
    {ok, []} = ?PROBE:release(Owner),
    wait_for("probe unloaded after release", fun probe_gone/0, 10000),
    %% A guardian nobody owns (started by a request without start/1) goes at the first release.
    load_probe(Src),
    ok = ?PROBE:add_undo({erlang, trace_pattern, [{lists, seq, 2}, false, [call_count]]}),
    #{owners := [], guardian := G2} = ?PROBE:status(),
    true = is_pid(G2),
    {ok, []} = ?PROBE:release(Stranger),
    wait_for("ownerless probe unloaded", fun probe_gone/0, 10000),
    [exit(P, kill) || P <- [Owner, Stranger]],
    ok.

t_unload(#{src := Src}) ->
    load_probe(Src),
    {ok, _} = ?PROBE:start(self()),
    %% A memory sort starts the cache process: unload stops it.
    _ = ?PROBE:top_processes(memory, 0, 5, []),
    true = is_pid(whereis(beam_lens_cache)),
    ok = ?PROBE:unload(),
    %% This process called into the probe and lives on: the final purge must spare it.
    wait_for("probe unloaded by unload/0", fun probe_gone/0, 10000),
    no_process_in_probe_code(),
    undefined = whereis(beam_lens_cache),
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

%% Owner A counts probe_hot and probe_hot2, traces probe_hot:step/1 and holds the system
%% monitor; owner B counts probe_hot2 only.
shared_setup(Src) ->
    load_probe(Src),
    load_hot(),
    load_hot2(),
    A = spawn(fun idle/0),
    B = spawn(fun idle/0),
    {ok, G} = ?PROBE:start(A),
    {ok, G} = ?PROBE:start(B),
    {ok, _} = ?PROBE:hot_start([probe_hot, probe_hot2], A),
    {ok, _} = ?PROBE:hot_start([probe_hot2], B),
    {ok, T} = ?PROBE:trace_start(#{owner => A, kind => call, mfa => {probe_hot, step, 1},
                                   rate => {10, 1000}, cap => 1000000, deadline_ms => 600000}),
    {ok, M} = ?PROBE:monitor_start(A, #{deadline_ms => 600000}),
    {G, A, B, T, M}.

%% Everything of A is gone, B's count and the probe stay.
shared_after_a(G, B, T, M) ->
    wait_dead(T),
    wait_dead(M),
    undefined = erlang:system_monitor(),
    true = no_trace_flags(),
    {traced, false} = erlang:trace_info({probe_hot, step, 1}, traced),
    {call_count, false} = erlang:trace_info({probe_hot, step, 1}, call_count),
    %% Both owners counted probe_hot2: A's leaving keeps it for B.
    {call_count, N} = erlang:trace_info({probe_hot2, f, 0}, call_count),
    true = is_integer(N),
    {file, _} = code:is_loaded(?PROBE),
    true = is_process_alive(G),
    #{owners := [B], undo := [{erlang, trace_pattern, [{probe_hot2, '_', '_'}, false, [call_count]]}],
      groups := []} = ?PROBE:status(),
    %% B's probe still works: its own trace runs and ends.
    {ok, T2} = ?PROBE:trace_start(#{owner => self(), kind => call, mfa => {probe_hot, step, 1}, cap => 3}),
    {Events, #{reason := cap}} = collect(T2, 5000),
    3 = length(Events),
    ok.

t_shared_release(#{src := Src}) ->
    {G, A, B, T, M} = shared_setup(Src),
    Ticker = spawn(probe_hot, ticker, [0]),
    try
        {ok, [B]} = ?PROBE:release(A),
        shared_after_a(G, B, T, M),
        %% Releasing again, or by a stranger, changes nothing.
        {ok, [B]} = ?PROBE:release(A),
        {ok, []} = ?PROBE:release(B),
        wait_for("probe unloaded after the last owner", fun probe_gone/0, 10000),
        {call_count, false} = erlang:trace_info({probe_hot2, f, 0}, call_count),
        true = is_process_alive(A) andalso is_process_alive(B),
        assert_clean([{probe_hot, step, 1}, {probe_hot2, f, 0}])
    after
        stop_proc(Ticker),
        [exit(P, kill) || P <- [A, B]]
    end.

t_shared_owner_down(#{src := Src}) ->
    {G, A, B, T, M} = shared_setup(Src),
    Ticker = spawn(probe_hot, ticker, [0]),
    try
        exit(A, kill),
        wait_for("A dropped", fun() -> maps:get(owners, ?PROBE:status()) =:= [B] end, 5000),
        shared_after_a(G, B, T, M),
        exit(B, kill),
        wait_for("probe unloaded after the last owner", fun probe_gone/0, 10000),
        {call_count, false} = erlang:trace_info({probe_hot2, f, 0}, call_count),
        assert_clean([{probe_hot, step, 1}, {probe_hot2, f, 0}])
    after
        stop_proc(Ticker)
    end.

%% A warm-up is for whoever asked: it stops, keeping what it read, once every requester is gone
%% (its process, for a client its connection, goes down; or the guardian drops it as an owner);
%% the cache then answers exactly and a later warm-up reads on (started, not already). Asked by
%% two, it runs to its end when one goes. The last release takes the cache process with the probe.
t_cache_warm_requester_gone(#{src := Src}) ->
    load_probe(Src),
    Reds = fun(P) -> {reductions, R} = erlang:process_info(P, reductions), R end,
    Idle = fun(P) -> wait_for("cache process idle", fun() -> R1 = Reds(P), receive after 50 -> ok end,
                                                        R1 =:= Reds(P) andalso erlang:process_info(P, priority) =:= {priority, normal} end, 120000) end,
    %% A requester asks from its own process (a local caller is its own owner) and then waits.
    Asker = fun() ->
                    Self = self(),
                    P = spawn(fun() -> Self ! {asked, self(), ?PROBE:warm_cache()}, idle() end),
                    receive {asked, P, Reply} -> {P, Reply} end
            end,
    UnderWay = fun(C) -> wait_for("the warm-up under way", fun() -> Reds(C) > 5000 end, 10000) end,
    Exact = fun() -> in_fresh(fun() ->
                                      {_, Rs} = ?PROBE:top_processes(memory, 0, 50, []),
                                      {[{P, V} || {P, V, []} <- Rs], naive_top(memory, 0, 50, self())}
                              end) end,
    %% What a whole warm-up costs the cache process.
    drop_cache(),
    {A0, started} = Asker(),
    C0 = whereis(beam_lens_cache),
    Idle(C0),
    Full = Reds(C0),
    exit(A0, kill),
    %% 1. The requester dies once the pass is under way: the pass stops there.
    drop_cache(),
    {A1, started} = Asker(),
    C1 = whereis(beam_lens_cache),
    UnderWay(C1),
    exit(A1, kill),
    Idle(C1),
    Spent1 = Reds(C1),
    {stopped_when_requester_died, true, Spent1, Full} = {stopped_when_requester_died, Spent1 < Full div 2, Spent1, Full},
    %% Usable: a new warm-up reads on from the prefix (its requester stays this time), then a
    %% memory pass equals a full sort.
    {A2, started} = Asker(),
    Idle(C1),
    {A3, already} = Asker(),
    {Rows1, {_, Rows1}} = Exact(),
    C1 = whereis(beam_lens_cache),
    [exit(P, kill) || P <- [A2, A3]],
    %% 2. Asked by two: one going does not stop it (the second was told already).
    drop_cache(),
    {B1, started} = Asker(),
    {B2, already} = Asker(),
    C2 = whereis(beam_lens_cache),
    UnderWay(C2),
    exit(B1, kill),
    Idle(C2),
    Spent2 = Reds(C2),
    {ran_on_for_the_other, true, Spent2, Full} = {ran_on_for_the_other, Spent2 > Full div 2, Spent2, Full},
    {B3, already} = Asker(),
    [exit(P, kill) || P <- [B2, B3]],
    %% 3. Two owners share the probe; the one that asked releases it (its process lives on): the
    %% guardian's word stops the pass, the cache stays for the other owner.
    drop_cache(),
    Other = spawn(fun idle/0),
    {ok, G} = ?PROBE:start(Other),
    Self = self(),
    Owner = spawn(fun() -> {ok, G} = ?PROBE:start(self()), Self ! {asked, self(), ?PROBE:warm_cache()}, idle() end),
    receive {asked, Owner, started} -> ok after 10000 -> error(no_warm_up) end,
    C3 = whereis(beam_lens_cache),
    UnderWay(C3),
    {ok, [Other]} = ?PROBE:release(Owner),
    Idle(C3),
    Spent3 = Reds(C3),
    {stopped_at_release, true, Spent3, Full} = {stopped_at_release, Spent3 < Full div 2, Spent3, Full},
    true = is_process_alive(Owner),
    {Rows3, {_, Rows3}} = Exact(),
    C3 = whereis(beam_lens_cache),
    io:format("    (cache process reductions: whole warm-up ~b, requester died ~b, one of two died ~b, released ~b)~n", [Full, Spent1, Spent2, Spent3]),
    %% The last release: the cache process (and what it holds) goes with the probe.
    {ok, []} = ?PROBE:release(Other),
    wait_for("probe unloaded after the last owner", fun probe_gone/0, 10000),
    false = is_process_alive(C3),
    [exit(P, kill) || P <- [Owner, Other]],
    ok.

load_hot2() ->
    case code:is_loaded(probe_hot2) of
        {file, _} -> ok;
        false ->
            {ok, Tokens, _} = erl_scan:string("-module(probe_hot2).\n-export([f/0]).\nf() -> ok.\n"),
            Forms = [element(2, erl_parse:parse_form(F)) || F <- split_forms(Tokens, [], [])],
            {ok, probe_hot2, Bin} = compile:forms(Forms, [binary, return_errors]),
            {module, probe_hot2} = code:load_binary(probe_hot2, "probe_hot2.erl", Bin),
            ok
    end.

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

%%% Hot functions, tracing, system monitor ---------------------------------------------

%% A module to count, time and trace, compiled from source at run time (so it is loaded
%% from memory like an application module that belongs to no OTP application).
hot_source() ->
    "-module(probe_hot).\n"
    "-export([spin/0, work/1, step/1, idle/0, fail/1, ticker/1, failer/1, calls/1]).\n"
    "spin() -> work(100), probe_hot:step(1), spin().\n"
    "work(0) -> ok;\n"
    "work(N) -> work(N - 1).\n"
    "step(X) -> X + 1.\n"
    "idle() -> ok.\n"
    "fail(X) -> erlang:error({boom, X}).\n"
    "ticker(I) -> probe_hot:step(I), receive stop -> ok after 1 -> ticker(I + 1) end.\n"
    "failer(I) -> catch probe_hot:fail(I), receive stop -> ok after 1 -> failer(I + 1) end.\n"
    "calls(0) -> ok;\n"
    "calls(N) -> step(N), calls(N - 1).\n".

load_hot() ->
    case code:is_loaded(probe_hot) of
        {file, _} -> ok;
        false ->
            {ok, Tokens, _} = erl_scan:string(hot_source()),
            Forms = [element(2, erl_parse:parse_form(F)) || F <- split_forms(Tokens, [], [])],
            {ok, probe_hot, Bin} = compile:forms(Forms, [binary, return_errors]),
            {module, probe_hot} = code:load_binary(probe_hot, "probe_hot.erl", Bin),
            ok
    end.

hot_mfas() ->
    [{probe_hot, F, A} || {F, A} <- erlang:get_module_info(probe_hot, functions)].

%% Probe loaded fresh, owned by this (long-lived) test process; probe_hot loaded.
fresh_probe(Src) ->
    load_probe(Src),
    load_hot(),
    {ok, _} = ?PROBE:start(self()),
    ok.

%% After every path: no process carries a trace flag (default flags for new processes
%% included), the MFAs have no pattern of any kind, no tracer/sink/monitor is registered,
%% the guardian holds no undo group, and the system monitor is free.
assert_clean(MFAs) ->
    wait_for("no beam_lens tracer, sink or monitor registered",
             fun() -> [whereis(N) || N <- [beam_lens_tracer, beam_lens_sink, beam_lens_monitor]]
                          =:= [undefined, undefined, undefined] end, 5000),
    wait_for("no trace flags on any process", fun no_trace_flags/0, 5000),
    [{MFA, {all, false}} = {MFA, erlang:trace_info(MFA, all)} || MFA <- MFAs],
    case code:is_loaded(?PROBE) of
        {file, _} ->
            wait_for("no undo group left", fun() -> maps:get(groups, ?PROBE:status()) =:= [] end, 5000);
        false ->
            ok
    end,
    undefined = erlang:system_monitor(),
    ok.

no_trace_flags() ->
    erlang:trace_info(new, flags) =:= {flags, []} andalso
        [] =:= [P || P <- erlang:processes(),
                     {flags, F} <- [erlang:trace_info(P, flags)], F =/= []].

wait_dead(Pid) ->
    wait_for("process gone", fun() -> not is_process_alive(Pid) end, 5000).

%% Events of tracer or monitor T until its done message (or a timeout).
collect(T, TimeoutMs) ->
    collect(T, erlang:monotonic_time(millisecond) + TimeoutMs, []).

collect(T, Deadline, Acc) ->
    Left = max(0, Deadline - erlang:monotonic_time(millisecond)),
    receive
        {beam_lens_trace, T, Event} -> collect(T, Deadline, [Event | Acc]);
        {beam_lens_monitor, T, Event} -> collect(T, Deadline, [Event | Acc]);
        {beam_lens_trace_done, T, Done} -> {lists:reverse(Acc), Done};
        {beam_lens_monitor_done, T, Done} -> {lists:reverse(Acc), Done}
    after Left ->
            error({no_done_message, T, length(Acc)})
    end.

first_event(T, TimeoutMs) ->
    receive
        {beam_lens_trace, T, Event} -> Event;
        {beam_lens_monitor, T, Event} -> Event
    after TimeoutMs -> error({no_event, T})
    end.

flush_from(T) ->
    receive
        {_, T, _} -> flush_from(T)
    after 0 -> ok
    end.

stop_proc(Pid) ->
    Ref = erlang:monitor(process, Pid),
    exit(Pid, kill),
    receive {'DOWN', Ref, process, Pid, _} -> ok end.

now_us() -> erlang:system_time(microsecond).

recent(Ts) -> is_integer(Ts) andalso abs(now_us() - Ts) < 60000000.

t_hot_counts(#{src := Src}) ->
    fresh_probe(Src),
    %% Overhead of call_count on a tight loop of local calls (1M calls of step/1).
    Plain = best_of(3, fun() -> probe_hot:calls(1000000) end),
    {ok, _} = ?PROBE:hot_start([probe_hot], self()),
    Counted = best_of(3, fun() -> probe_hot:calls(1000000) end),
    ok = ?PROBE:hot_stop([probe_hot]),
    io:format("      1M iterations of calls/1 -> step/1 (2M counted calls): ~b us plain, "
              "~b us with call_count (+~.1f ns per counted call)~n",
              [Plain, Counted, (Counted - Plain) / 2000]),
    Spinner = spawn(probe_hot, spin, []),
    try
        {ok, N} = ?PROBE:hot_start([probe_hot, probe_no_such_module], self()),
        N = length(hot_mfas()),
        #{undo := Undo} = ?PROBE:status(),
        [{erlang, trace_pattern, [{probe_hot, '_', '_'}, false, [call_count]]}] = Undo,
        wait_for("work/1 counted",
                 fun() -> case ?PROBE:hot_read([probe_hot]) of
                              [{probe_hot, work, 1, C} | _] -> C > 10000;
                              _ -> false
                          end
                 end, 5000),
        Rows = ?PROBE:hot_read([probe_hot, probe_no_such_module]),
        Counts = [C || {_, _, _, C} <- Rows],
        Counts = lists:reverse(lists:sort(Counts)),
        true = lists:all(fun(C) -> C > 0 end, Counts),
        true = length(Rows) =< 500,
        true = lists:keymember(step, 2, Rows) andalso lists:keymember(spin, 2, Rows),
        false = lists:keymember(idle, 2, Rows),
        ok = ?PROBE:hot_stop([probe_hot]),
        [{MFA, {call_count, false}} = {MFA, erlang:trace_info(MFA, call_count)} || MFA <- hot_mfas()],
        [] = ?PROBE:hot_read([probe_hot]),
        #{undo := []} = ?PROBE:status(),
        assert_clean(hot_mfas())
    after
        stop_proc(Spinner)
    end.

best_of(N, Fun) ->
    lists:min([element(1, timer:tc(Fun)) || _ <- lists:seq(1, N)]).

t_hot_refusals(#{src := Src}) ->
    fresh_probe(Src),
    {error, {refused, <<"no modules given">>}} = ?PROBE:hot_start([], self()),
    Core = [{lists, <<"stdlib">>}, {gen_server, <<"stdlib">>}, {application, <<"kernel">>},
            {code, <<"kernel">>}, {erlang, <<"erts">>}, {prim_file, <<"erts">>},
            {compile, <<"compiler">>}, {dbg, <<"runtime_tools">>}],
    [begin
         {error, {refused, Why}} = ?PROBE:hot_start([M], self()),
         {M, true} = {M, binary:match(Why, App) =/= nomatch}
     end || {M, App} <- Core],
    case code:which('Elixir.Enum') of
        Path when is_list(Path) ->
            {error, {refused, W}} = ?PROBE:hot_start(['Elixir.Enum'], self()),
            true = binary:match(W, <<"elixir">>) =/= nomatch;
        _ ->
            ok
    end,
    {error, {refused, _}} = ?PROBE:hot_start(['_'], self()),
    {error, {refused, _}} = ?PROBE:hot_start([?PROBE], self()),
    {error, {refused, _}} = ?PROBE:hot_start(["probe_hot"], self()),
    TooMany = [list_to_atom("probe_nomod_" ++ integer_to_list(I)) || I <- lists:seq(1, 201)],
    {error, {refused, <<"201 modules given; at most 200 per call">>}} = ?PROBE:hot_start(TooMany, self()),
    %% One refused module refuses the whole call: nothing is set for the others.
    {error, {refused, _}} = ?PROBE:hot_start([probe_hot, lists], self()),
    {ok, 0} = ?PROBE:hot_start([probe_no_such_module], self()),
    {error, {refused, _}} = ?PROBE:hot_call_time([{lists, seq, 2}], 10),
    {error, {refused, _}} = ?PROBE:hot_call_time([{'_', '_', '_'}], 10),
    {error, {refused, _}} = ?PROBE:hot_call_time([], 10),
    {error, {refused, _}} = ?PROBE:hot_call_time([{probe_hot, '_', 1}], 10),
    {error, {bad_spec, mfa}} = ?PROBE:trace_start(#{owner => self(), kind => call,
                                                    mfa => {probe_hot, '_', 1}}),
    {error, {refused, _}} = ?PROBE:hot_call_time([{probe_hot, step, I} || I <- lists:seq(1, 11)], 10),
    {'EXIT', {function_clause, _}} = (catch ?PROBE:hot_call_time([{probe_hot, step, 1}], 10001)),
    ok = ?PROBE:hot_stop(['_', lists, 42]),
    #{undo := [], groups := []} = ?PROBE:status(),
    assert_clean(hot_mfas()).

t_never_loads(#{src := Src}) ->
    fresh_probe(Src),
    Dir = filename:join(["/tmp", "bl_probe_unloaded_" ++ os:getpid()]),
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    File = filename:join(Dir, "probe_unloaded.erl"),
    ok = file:write_file(File, <<"-module(probe_unloaded).\n-export([f/0]).\nf() -> ok.\n">>),
    {ok, probe_unloaded} = compile:file(File, [{outdir, Dir}]),
    true = code:add_patha(Dir),
    try
        false = erlang:module_loaded(probe_unloaded),
        true = code:which(probe_unloaded) =/= non_existing,
        {ok, 0} = ?PROBE:hot_start([probe_unloaded], self()),
        false = erlang:module_loaded(probe_unloaded),
        {error, {refused, Why}} = ?PROBE:trace_start(#{owner => self(), kind => call,
                                                       mfa => {probe_unloaded, f, 0}}),
        {match, _} = re:run(Why, "not loaded on this node"),
        false = erlang:module_loaded(probe_unloaded),
        [{probe_unloaded, f, 0, 0, 0}] = ?PROBE:hot_call_time([{probe_unloaded, f, 0}], 10),
        false = erlang:module_loaded(probe_unloaded),
        #{undo := []} = ?PROBE:status()
    after
        code:del_path(Dir),
        file:del_dir_r(Dir)
    end.

t_hot_call_time(#{src := Src}) ->
    fresh_probe(Src),
    Spinner = spawn(probe_hot, spin, []),
    try
        Window = 300,
        T0 = erlang:monotonic_time(microsecond),
        Rows = ?PROBE:hot_call_time([{probe_hot, work, 1}, {probe_hot, idle, 0},
                                     {probe_hot, step, '_'}], Window),
        Elapsed = erlang:monotonic_time(microsecond) - T0,
        io:format("      ~w (call returned after ~b ms)~n", [Rows, Elapsed div 1000]),
        [{probe_hot, work, 1, Calls, Us} | _] = Rows,
        true = Elapsed >= Window * 1000,
        true = Calls > 1000,
        %% The spinner spends nearly all its time in work/1 and runs on one scheduler.
        true = Us >= Window * 1000 div 5,
        true = Us =< Elapsed * erlang:system_info(schedulers_online),
        true = lists:member({probe_hot, idle, 0, 0, 0}, Rows),
        [{probe_hot, step, 1, StepCalls, _}] = [R || {_, step, _, _, _} = R <- Rows],
        true = StepCalls > 0,
        assert_clean(hot_mfas())
    after
        stop_proc(Spinner)
    end.

t_hot_call_time_killed(#{src := Src}) ->
    fresh_probe(Src),
    Spinner = spawn(probe_hot, spin, []),
    try
        Caller = spawn(fun() -> ?PROBE:hot_call_time([{probe_hot, work, 1}], 10000) end),
        wait_for("call_time pattern and sink in place",
                 fun() -> is_pid(whereis(beam_lens_sink)) andalso
                              element(2, erlang:trace_info({probe_hot, work, 1}, call_time)) =/= false
                 end, 5000),
        #{groups := [{Caller, [_, _]}]} = ?PROBE:status(),
        false = no_trace_flags(),
        exit(Caller, kill),
        assert_clean(hot_mfas())
    after
        stop_proc(Spinner)
    end.

t_trace_call_cap(#{src := Src}) ->
    fresh_probe(Src),
    Ticker = spawn(probe_hot, ticker, [0]),
    MFA = {probe_hot, step, 1},
    try
        {ok, T} = ?PROBE:trace_start(#{owner => self(), kind => call, mfa => MFA, return => true,
                                        rate => {1000, 1000}, cap => 20}),
        T = whereis(beam_lens_tracer),
        #{groups := [{T, [_, _]}]} = ?PROBE:status(),
        {Events, Done} = collect(T, 5000),
        #{reason := cap, events := 20, breaker := undefined, dropped := _} = Done,
        20 = length(Events),
        [{call, Ticker, <<"probe_hot:step(", _/binary>>, Ts1},
         {return, Ticker, <<"probe_hot:step/1">>, Value, Ts2} | _] = Events,
        true = recent(Ts1) andalso Ts2 >= Ts1,
        _ = binary_to_integer(Value),
        10 = length([E || E <- Events, element(1, E) =:= call]),
        wait_dead(T),
        assert_clean([MFA])
    after
        stop_proc(Ticker)
    end.

t_trace_rate_deadline(#{src := Src}) ->
    fresh_probe(Src),
    Ticker = spawn(probe_hot, ticker, [0]),
    MFA = {probe_hot, step, 1},
    try
        T0 = erlang:monotonic_time(millisecond),
        {ok, T} = ?PROBE:trace_start(#{owner => self(), kind => call, mfa => MFA,
                                        rate => {5, 1000}, cap => 1000, deadline_ms => 1500}),
        {Events, Done} = collect(T, 10000),
        Ms = erlang:monotonic_time(millisecond) - T0,
        io:format("      ~b events in ~b ms: ~w~n", [length(Events), Ms, Done]),
        #{reason := deadline, events := N, dropped := Dropped} = Done,
        N = length(Events),
        %% Two windows of 5 (0-1000 ms and 1000-1500 ms).
        true = N >= 5 andalso N =< 10,
        true = Dropped >= 1,
        true = Ms >= 1450 andalso Ms < 5000,
        [] = [E || E <- Events, element(1, E) =/= call],
        wait_dead(T),
        assert_clean([MFA])
    after
        stop_proc(Ticker)
    end.

t_trace_exceptions(#{src := Src}) ->
    fresh_probe(Src),
    Failer = spawn(probe_hot, failer, [0]),
    MFA = {probe_hot, fail, 1},
    try
        %% Only even arguments, with exception_trace.
        Match = [{['$1'], [{'=:=', {'rem', '$1', 2}, 0}], [{exception_trace}]}],
        {ok, T} = ?PROBE:trace_start(#{owner => self(), kind => call, mfa => MFA,
                                        match => Match, cap => 6}),
        {Events, #{reason := cap}} = collect(T, 5000),
        Calls = [A || {call, _, A, _} <- Events],
        Exceptions = [R || {exception, _, <<"probe_hot:fail/1">>, R, _} <- Events],
        3 = length(Calls),
        3 = length(Exceptions),
        [<<"error:{boom,", _/binary>> | _] = Exceptions,
        [0 = binary_to_integer(binary:part(C, 15, byte_size(C) - 16)) rem 2 || C <- Calls],
        wait_dead(T),
        assert_clean([MFA])
    after
        stop_proc(Failer)
    end.

t_trace_stop(#{src := Src}) ->
    fresh_probe(Src),
    Ticker = spawn(probe_hot, ticker, [0]),
    MFA = {probe_hot, step, 1},
    try
        {ok, T} = ?PROBE:trace_start(#{owner => self(), kind => call, mfa => MFA,
                                        rate => {1, 1000}}),
        {call, Ticker, _, _} = first_event(T, 5000),
        ok = ?PROBE:stop_trace(T),
        {_, #{reason := stopped, events := 1}} = collect(T, 5000),
        wait_dead(T),
        assert_clean([MFA])
    after
        stop_proc(Ticker)
    end.

t_trace_refusals(#{src := Src}) ->
    fresh_probe(Src),
    MFA = {probe_hot, step, 1},
    Base = #{owner => self(), kind => call, mfa => MFA},
    {ok, T} = ?PROBE:trace_start(Base),
    {error, {busy, T}} = ?PROBE:trace_start(Base),
    {error, {busy, T}} = ?PROBE:trace_start(#{owner => self(), kind => messages, pid => self()}),
    {error, {busy, T}} = ?PROBE:hot_call_time([MFA], 10),
    ok = ?PROBE:stop_trace(T),
    {_, #{reason := stopped}} = collect(T, 5000),
    wait_dead(T),
    {error, {refused, _}} = ?PROBE:trace_start(Base#{mfa => {'_', '_', '_'}}),
    {error, {refused, _}} = ?PROBE:trace_start(Base#{mfa => {'_', step, 1}}),
    {error, {refused, _}} = ?PROBE:trace_start(Base#{mfa => {?PROBE, version, 0}}),
    {error, {refused, _}} = ?PROBE:trace_start(Base#{match => [{'_', [], [{trace, [], [send]}]}]}),
    {error, {bad_match_spec, _}} = ?PROBE:trace_start(Base#{match => [{foo}]}),
    {error, {no_such_function, _}} = ?PROBE:trace_start(Base#{mfa => {probe_hot, nope, 3}}),
    {error, {bad_spec, owner}} = ?PROBE:trace_start(maps:remove(owner, Base)),
    {error, {bad_spec, kind}} = ?PROBE:trace_start(Base#{kind => ports}),
    {error, {bad_spec, mfa}} = ?PROBE:trace_start(maps:remove(mfa, Base)),
    {error, {bad_spec, rate}} = ?PROBE:trace_start(Base#{rate => {0, 1000}}),
    {error, {bad_spec, cap}} = ?PROBE:trace_start(Base#{cap => 0}),
    {error, {bad_spec, tracer_queue}} = ?PROBE:trace_start(Base#{breaker => #{tracer_queue => -1}}),
    Dead = spawn(fun() -> ok end),
    wait_dead(Dead),
    {error, {no_process, Dead}} = ?PROBE:trace_start(#{owner => self(), kind => messages, pid => Dead}),
    %% Another tool's tracing is left alone.
    Other = spawn(fun idle/0),
    Traced = spawn(fun idle/0),
    1 = erlang:trace(Traced, true, [send, {tracer, Other}]),
    {error, {already_traced, Traced, Other}} =
        ?PROBE:trace_start(#{owner => self(), kind => messages, pid => Traced}),
    {flags, [send]} = erlang:trace_info(Traced, flags),
    1 = erlang:trace(Traced, false, [send]),
    _ = erlang:trace(new, true, [call, {tracer, Other}]),
    {error, {busy, {new_processes_traced_by, Other}}} = ?PROBE:trace_start(Base),
    {error, {busy, {new_processes_traced_by, Other}}} = ?PROBE:hot_call_time([MFA], 10),
    {flags, [call]} = erlang:trace_info(new, flags),
    _ = erlang:trace(new, false, [call]),
    stop_proc(Other),
    stop_proc(Traced),
    assert_clean([MFA]).

%% Receives and counts messages; {to, Name, Msg} makes it send Msg to Name.
counter(N) ->
    receive
        {count, From} -> From ! {count, self(), N}, counter(N);
        {to, Name, Msg} -> Name ! Msg, counter(N + 1);
        stop -> ok;
        _ -> counter(N + 1)
    end.

t_trace_messages(#{src := Src}) ->
    fresh_probe(Src),
    Target = spawn(fun() -> counter(0) end),
    true = register(probe_test_listener, spawn(fun idle/0)),
    try
        {ok, T} = ?PROBE:trace_start(#{owner => self(), kind => messages, pid => Target,
                                        max_chars => 50, rate => {1000, 1000}, cap => 3}),
        Big = binary:copy(<<"x">>, 100 * 1024 * 1024),
        T0 = erlang:monotonic_time(microsecond),
        Target ! Big,
        {'receive', Target, BigText, Ts} = first_event(T, 5000),
        Us = erlang:monotonic_time(microsecond) - T0,
        io:format("      100 MB binary: event of ~b bytes after ~b us; tracer memory ~b bytes~n",
                  [byte_size(BigText), Us, element(2, erlang:process_info(T, memory))]),
        true = recent(Ts),
        true = byte_size(BigText) =< 53,
        <<"<<\"xxx", _/binary>> = BigText,
        <<"...">> = binary:part(BigText, byte_size(BigText), -3),
        Target ! {to, probe_test_listener, {hello, "world"}},
        {Events, #{reason := cap, events := 3}} = collect(T, 5000),
        [{'receive', Target, <<"{to,probe_test_listener,{hello,\"world\"}}">>, _},
         {send, Target, probe_test_listener, <<"{hello,\"world\"}">>, _}] = Events,
        wait_dead(T),
        assert_clean([])
    after
        stop_proc(Target),
        stop_proc(whereis(probe_test_listener))
    end.

t_trace_process_down(#{src := Src}) ->
    fresh_probe(Src),
    Target = spawn(fun() -> counter(0) end),
    {ok, T} = ?PROBE:trace_start(#{owner => self(), kind => messages, pid => Target}),
    Target ! hello,
    {'receive', Target, <<"hello">>, _} = first_event(T, 5000),
    Target ! stop,
    {_, #{reason := process_down}} = collect(T, 5000),
    wait_dead(T),
    assert_clean([]).

%% Sends PerMs messages to Target every millisecond, catching up if late.
paced_sender(Target, PerMs) ->
    paced_sender(Target, PerMs, erlang:monotonic_time(millisecond)).

paced_sender(Target, PerMs, Next) ->
    send_n(Target, PerMs),
    Next1 = Next + 1,
    receive
        stop -> ok
    after max(0, Next1 - erlang:monotonic_time(millisecond)) ->
            paced_sender(Target, PerMs, Next1)
    end.

%% Sends Burst messages every 10 ms.
burst_sender(Target, Burst) ->
    send_n(Target, Burst),
    receive stop -> ok after 10 -> burst_sender(Target, Burst) end.

%% As fast as it can, waiting only while the target's queue is long.
blast_sender(Target) ->
    send_n(Target, 1000),
    case erlang:process_info(Target, message_queue_len) of
        {message_queue_len, Q} when Q > 5000 -> receive stop -> ok after 1 -> blast_sender(Target) end;
        _ -> receive stop -> ok after 0 -> blast_sender(Target) end
    end.

send_n(_Target, 0) -> ok;
send_n(Target, N) -> Target ! {msg, N}, send_n(Target, N - 1).

count_of(Target) ->
    Target ! {count, self()},
    receive {count, Target, N} -> N after 5000 -> error(counter_timeout) end.

%% Polls the tracer's memory and queue length every millisecond until it dies.
peak_poller(T, Parent) ->
    spawn(fun() -> peak_poll(T, Parent, 0, 0) end).

peak_poll(T, Parent, Mem, Q) ->
    case erlang:process_info(T, [memory, message_queue_len]) of
        [{memory, M}, {message_queue_len, L}] ->
            receive after 1 -> peak_poll(T, Parent, max(Mem, M), max(Q, L)) end;
        undefined ->
            Parent ! {peak, T, Mem, Q}
    end.

peak_of(T) ->
    receive {peak, T, Mem, Q} -> {Mem, Q} after 10000 -> error(no_peak) end.

%% A flood of Senders, traced with rate {100, 1000}; returns the receive rate, the done
%% summary and the tracer's peak memory and queue.
flood(StartSenders, Breaker, DeadlineMs) ->
    Target = spawn(fun() -> counter(0) end),
    Senders = StartSenders(Target),
    try
        wait_for("flood running", fun() -> count_of(Target) > 10000 end, 5000),
        C0 = count_of(Target),
        T0 = erlang:monotonic_time(millisecond),
        {ok, T} = ?PROBE:trace_start(#{owner => self(), kind => messages, pid => Target,
                                        rate => {100, 1000}, cap => 100000,
                                        deadline_ms => DeadlineMs, breaker => Breaker}),
        peak_poller(T, self()),
        {Events, Done} = collect(T, DeadlineMs + 10000),
        Ms = max(1, erlang:monotonic_time(millisecond) - T0),
        Rate = (count_of(Target) - C0) * 1000 div Ms,
        {Mem, Q} = peak_of(T),
        wait_dead(T),
        #{events := N} = Done,
        N = length(Events),
        #{rate => Rate, ms => Ms, done => Done, peak_memory => Mem, peak_queue => Q}
    after
        [S ! stop || S <- Senders],
        stop_proc(Target)
    end.

t_trace_flood_smooth(#{src := Src}) ->
    fresh_probe(Src),
    R = flood(fun(Target) -> [spawn(fun() -> paced_sender(Target, 50) end) || _ <- [1, 2]] end,
              #{run_queue => 1000}, 2000),
    io:format("      smooth: ~w~n", [R]),
    #{rate := Rate, done := #{reason := deadline, events := N}, peak_memory := Mem} = R,
    true = Rate >= 70000,
    true = N >= 100 andalso N =< 300,
    true = Mem < 10 * 1024 * 1024,
    assert_clean([]).

t_trace_flood_breaker(#{src := Src}) ->
    fresh_probe(Src),
    %% 100k msgs/s in bursts of 1,000 every 10 ms. With the default bound (1,000) the
    %% tracer's queue peaks just under or over it depending on scheduling, so whether the
    %% breaker trips is up to chance: only memory is asserted.
    Bursts = flood(fun(Target) -> [spawn(fun() -> burst_sender(Target, 500) end) || _ <- [1, 2]] end,
                   #{run_queue => 1000}, 3000),
    io:format("      1,000-message bursts every 10 ms, default bound: ~w~n", [Bursts]),
    #{done := #{reason := Reason1}, peak_memory := Mem1} = Bursts,
    true = Reason1 =:= breaker orelse Reason1 =:= deadline,
    true = Mem1 < 10 * 1024 * 1024,
    assert_clean([]),
    %% The same flood with a bound of 200 always trips it.
    Tight = flood(fun(Target) -> [spawn(fun() -> burst_sender(Target, 500) end) || _ <- [1, 2]] end,
                  #{run_queue => 1000, tracer_queue => 200}, 5000),
    io:format("      1,000-message bursts every 10 ms, tracer_queue 200: ~w~n", [Tight]),
    #{done := #{reason := breaker, breaker := #{what := tracer_queue, limit := 200}},
      peak_memory := Mem3} = Tight,
    true = Mem3 < 10 * 1024 * 1024,
    assert_clean([]),
    Blast = flood(fun(Target) -> [spawn(fun() -> blast_sender(Target) end) || _ <- [1, 2]] end,
                  #{run_queue => 1000}, 5000),
    io:format("      unpaced blast: ~w~n", [Blast]),
    %% Whether the tracer falls behind far enough to trip the default bound depends on how
    %% the two schedulers are shared at that moment (on a loaded machine it kept up and the
    %% session ran to its deadline): either ending is right, memory is what is asserted.
    #{done := #{reason := Reason2}, peak_memory := Mem2} = Blast,
    true = Reason2 =:= breaker orelse Reason2 =:= deadline,
    %% Millions of messages a second, far beyond the 100k/s requirement: the traced process
    %% pulls its own backlog in within one time slice and emits a trace message (~160
    %% bytes) for each, up to ~70,000 seen here (11 MB) before the tracer runs again. Only
    %% a sanity bound is asserted.
    true = Mem2 < 64 * 1024 * 1024,
    assert_clean([]).

t_trace_breaker_other(#{src := Src}) ->
    fresh_probe(Src),
    %% A function nobody calls: only the breaker can end these traces.
    MFA = {probe_hot, idle, 0},
    %% More spinners than schedulers keep the run queue above 1 (3 checks in a row).
    Spinners = [spawn(probe_hot, spin, []) || _ <- lists:seq(1, erlang:system_info(schedulers_online) + 2)],
    try
        {ok, T1} = ?PROBE:trace_start(#{owner => self(), kind => call, mfa => MFA, rate => {1, 1000},
                                         breaker => #{run_queue => 1, check_ms => 20}}),
        {_, #{reason := breaker, breaker := #{what := run_queue, limit := 1, value := V}}} = collect(T1, 10000),
        true = V > 1,
        wait_dead(T1),
        assert_clean([MFA])
    after
        [stop_proc(S) || S <- Spinners]
    end,
    {ok, T2} = ?PROBE:trace_start(#{owner => self(), kind => call, mfa => MFA,
                                     breaker => #{memory_growth => 50 * 1024 * 1024, check_ms => 20}}),
    Hog = spawn(fun() -> Data = binary:copy(<<"m">>, 100 * 1024 * 1024), receive stop -> Data end end),
    {_, #{reason := breaker, breaker := #{what := memory, value := Growth}}} = collect(T2, 10000),
    true = Growth > 50 * 1024 * 1024,
    stop_proc(Hog),
    wait_dead(T2),
    assert_clean([MFA]).

t_trace_killed(#{src := Src}) ->
    fresh_probe(Src),
    Ticker = spawn(probe_hot, ticker, [0]),
    MFA = {probe_hot, step, 1},
    try
        {ok, T} = ?PROBE:trace_start(#{owner => self(), kind => call, mfa => MFA, return => true}),
        {call, _, _, _} = first_event(T, 5000),
        #{groups := [{T, [_, _]}]} = ?PROBE:status(),
        exit(T, kill),
        assert_clean([MFA]),
        flush_from(T),
        %% The same for a message trace.
        {ok, T2} = ?PROBE:trace_start(#{owner => self(), kind => messages, pid => Ticker}),
        {'receive', Ticker, <<"timeout">>, _} = first_event(T2, 5000),
        false = no_trace_flags(),
        exit(T2, kill),
        assert_clean([MFA]),
        flush_from(T2),
        %% The probe and its guardian carry on.
        #{guardian := G} = ?PROBE:status(),
        true = is_pid(G)
    after
        stop_proc(Ticker)
    end.

t_trace_owner_down(#{src := Src}) ->
    fresh_probe(Src),
    Ticker = spawn(probe_hot, ticker, [0]),
    MFA = {probe_hot, step, 1},
    try
        Owner = spawn(fun idle/0),
        {ok, T} = ?PROBE:trace_start(#{owner => Owner, kind => call, mfa => MFA}),
        wait_for("events flowing", fun() -> element(2, erlang:trace_info(MFA, traced)) =:= local end, 5000),
        exit(Owner, kill),
        wait_dead(T),
        assert_clean([MFA])
    after
        stop_proc(Ticker)
    end.

%% @doc Runs on the peer node: forwards everything it receives to Parent.
relay(Parent) ->
    receive
        Msg -> Parent ! {relay, Msg}, relay(Parent)
    end.

t_trace_owner_node_down(#{src := Src}) ->
    fresh_probe(Src),
    Ticker = spawn(probe_hot, ticker, [0]),
    MFA = {probe_hot, step, 1},
    Cookie = atom_to_list(erlang:get_cookie()),
    Ebin = filename:dirname(code:which(?MODULE)),
    {ok, Peer, Node} = peer:start_link(#{name => peer:random_name(probe_client),
                                         args => ["-hidden", "-setcookie", Cookie, "-pa", Ebin]}),
    unlink(Peer),
    try
        Relay = spawn(Node, ?MODULE, relay, [self()]),
        {ok, T} = ?PROBE:trace_start(#{owner => Relay, kind => call, mfa => MFA, rate => {5, 1000}}),
        receive
            {relay, {beam_lens_trace, T, {call, Ticker, <<"probe_hot:step(", _/binary>>, _}}} -> ok
        after 5000 -> error(no_remote_event)
        end,
        peer:stop(Peer),
        wait_dead(T),
        assert_clean([MFA]),
        %% The probe was owned by this process, not by the peer: still loaded.
        {file, _} = code:is_loaded(?PROBE)
    after
        catch peer:stop(Peer),
        stop_proc(Ticker)
    end.

t_monitor_busy(#{src := Src}) ->
    fresh_probe(Src),
    Holder = spawn(fun idle/0),
    undefined = erlang:system_monitor(Holder, [{long_gc, 500}]),
    try
        {error, {busy, Holder}} = ?PROBE:monitor_start(self(), #{}),
        {Holder, [{long_gc, 500}]} = erlang:system_monitor(),
        undefined = whereis(beam_lens_monitor),
        #{groups := []} = ?PROBE:status()
    after
        erlang:system_monitor(undefined),
        stop_proc(Holder)
    end,
    assert_clean([]).

%% Builds a list of ~1.5 M words on its heap: large_heap reports with a small threshold.
grower() ->
    spawn(fun() -> L = lists:seq(1, 500000), receive stop -> length(L) end end).

t_monitor_events(#{src := Src}) ->
    fresh_probe(Src),
    Quiet = #{long_gc => false, long_schedule => false, busy_port => false, busy_dist_port => false},
    {ok, M} = ?PROBE:monitor_start(self(), Quiet#{large_heap => 100000, cap => 3}),
    {M, Settings} = erlang:system_monitor(),
    [{large_heap, 100000}] = Settings,
    G = grower(),
    {Events, #{reason := cap, events := 3}} = collect(M, 10000),
    %% Any process with a large heap may be reported; the grower guarantees some.
    [true = is_pid(P) andalso recent(Ts) || {large_heap, P, <<"[", _/binary>>, Ts} <- Events],
    3 = length([E || {large_heap, _, _, _} = E <- Events]),
    stop_proc(G),
    wait_dead(M),
    assert_clean([]),
    %% Defaults: long_gc, long_schedule, 8 MB heaps, busy ports.
    {ok, M2} = ?PROBE:monitor_start(self(), #{}),
    Words = 8 * 1024 * 1024 div erlang:system_info(wordsize),
    {M2, Defaults} = erlang:system_monitor(),
    [busy_dist_port, busy_port, {large_heap, Words}, {long_gc, 100}, {long_schedule, 100}] =
        lists:sort(Defaults),
    {error, {busy, M2}} = ?PROBE:monitor_start(self(), #{}),
    ok = ?PROBE:monitor_stop(M2),
    {_, #{reason := stopped}} = collect(M2, 5000),
    wait_dead(M2),
    assert_clean([]),
    {ok, M3} = ?PROBE:monitor_start(self(), #{deadline_ms => 200}),
    {_, #{reason := deadline}} = collect(M3, 5000),
    wait_dead(M3),
    assert_clean([]),
    {error, {bad_spec, nothing_to_monitor}} =
        ?PROBE:monitor_start(self(), Quiet#{large_heap => false}),
    {error, {bad_spec, long_gc}} = ?PROBE:monitor_start(self(), #{long_gc => -1}),
    assert_clean([]).

t_monitor_ends(#{src := Src}) ->
    fresh_probe(Src),
    Owner = spawn(fun idle/0),
    {ok, M} = ?PROBE:monitor_start(Owner, #{}),
    exit(Owner, kill),
    wait_dead(M),
    assert_clean([]),
    {ok, M2} = ?PROBE:monitor_start(self(), #{}),
    #{groups := [{M2, [{erlang, system_monitor, [undefined]}]}]} = ?PROBE:status(),
    exit(M2, kill),
    wait_dead(M2),
    assert_clean([]),
    %% Another tool takes the system monitor over: ours ends and leaves it alone.
    {ok, M3} = ?PROBE:monitor_start(self(), #{}),
    Other = spawn(fun idle/0),
    {M3, _} = erlang:system_monitor(Other, [{long_gc, 300}]),
    {_, #{reason := taken_over}} = collect(M3, 5000),
    wait_dead(M3),
    {Other, [{long_gc, 300}]} = erlang:system_monitor(),
    erlang:system_monitor(undefined),
    stop_proc(Other),
    assert_clean([]).

%% Everything at once, then the probe's owner node goes: the guardian undoes it all.
everything_running() ->
    Ticker = spawn(probe_hot, ticker, [0]),
    Target = spawn(fun() -> counter(0) end),
    {ok, _} = ?PROBE:hot_start([probe_hot], self()),
    {ok, T} = ?PROBE:trace_start(#{owner => self(), kind => call, mfa => {probe_hot, step, 1},
                                    return => true, rate => {1, 1000}}),
    {ok, M} = ?PROBE:monitor_start(self(), #{}),
    %% hot_call_time and a second tracer are refused while a tracer runs.
    {error, {busy, T}} = ?PROBE:hot_call_time([{probe_hot, work, 1}], 10),
    {error, {busy, M}} = ?PROBE:monitor_start(self(), #{}),
    {call, Ticker, _, _} = first_event(T, 5000),
    {call_count, C} = erlang:trace_info({probe_hot, step, 1}, call_count),
    true = is_integer(C),
    #{groups := Groups, undo := [_]} = ?PROBE:status(),
    2 = length(Groups),
    {Ticker, Target, T, M}.

t_nodedown_everything(#{src := Src}) ->
    load_probe(Src),
    load_hot(),
    Cookie = atom_to_list(erlang:get_cookie()),
    {ok, Peer, Owner} = peer:start_link(#{name => peer:random_name(probe_owner),
                                          args => ["-hidden", "-setcookie", Cookie]}),
    unlink(Peer),
    {ok, _} = ?PROBE:start(Owner),
    {Ticker, Target, T, M} = everything_running(),
    try
        {file, _} = code:is_loaded(?PROBE),
        peer:stop(Peer),
        wait_for("probe unloaded after nodedown", fun probe_gone/0, 10000),
        [wait_dead(P) || P <- [T, M]],
        assert_clean(hot_mfas())
    after
        catch peer:stop(Peer),
        flush_from(T),
        flush_from(M),
        [stop_proc(P) || P <- [Ticker, Target]]
    end.

t_unload_everything(#{src := Src}) ->
    fresh_probe(Src),
    {Ticker, Target, T, M} = everything_running(),
    try
        ok = ?PROBE:unload(),
        wait_for("probe unloaded by unload/0", fun probe_gone/0, 10000),
        [wait_dead(P) || P <- [T, M]],
        assert_clean(hot_mfas())
    after
        flush_from(T),
        flush_from(M),
        [stop_proc(P) || P <- [Ticker, Target]]
    end.

%%% Module summary ----------------------------------------------------------------------

t_module_summary(#{src := Src}) ->
    ok = load_probe(Src),
    Before = case lists:keyfind(?MODULE, 1, ?PROBE:module_summary(100000)) of
                 false -> 0;
                 {_, N0, _, _, _, _} -> N0
             end,
    %% 50 proc_lib processes of this module ('$initial_call' is a fun of probe_test), one with
    %% 500 messages queued.
    Pids = [proc_lib:spawn(fun() -> receive stop -> ok end end) || _ <- lists:seq(1, 50)],
    [Busy | _] = Pids,
    [Busy ! {hello, N} || N <- lists:seq(1, 500)],
    try
        Rows = ?PROBE:module_summary(100000),
        {?MODULE, After, Mem, Msgs, MaxQ, MaxP} = lists:keyfind(?MODULE, 1, Rows),
        50 = After - Before,
        true = MaxQ >= 500,
        true = MaxQ > 500 orelse MaxP =:= Busy,
        true = Mem > 0,
        true = Msgs >= 500,
        %% Against a naive count on the same node: every process is counted once.
        Total = lists:sum([N || {_, N, _, _, _, _} <- Rows]),
        Naive = length(erlang:processes()) - 1,
        true = abs(Total - Naive) =< 5,
        %% Sorted by count, and the limit holds.
        Counts = [N || {_, N, _, _, _, _} <- Rows],
        Counts = lists:reverse(lists:sort(Counts)),
        [_] = ?PROBE:module_summary(1)
    after
        [exit(P, kill) || P <- Pids]
    end,
    ok.
