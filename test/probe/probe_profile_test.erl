%% Tests of the probe's sampling profiler (profile_start/3, profile_stop/1), run from
%% probe_test's list: samples of a busy loop, bounds (cap, duration), a process that exits,
%% stop, refusals, owner down and back-off under a long run queue. Each ends by checking
%% that no sampler is left and that no process carries a trace flag.
-module(probe_profile_test).

-export([tests/0, busy/1]).

-define(PROBE, beam_lens_probe).

tests() ->
    [{"profile: samples a busy loop with frames, lines and files; no trace flag", fun t_samples/1},
     {"profile: max_samples caps, duration ends, stop stops", fun t_bounds/1},
     {"profile: a sampled process exits: process_down with its reason and the samples so far", fun t_process_down/1},
     {"profile: busy, bad specs and remote pids are refused", fun t_refusals/1},
     {"profile: owner down ends the sampler", fun t_owner_down/1},
     {"profile: the interval backs off while the run queue is long", fun t_backoff/1}].

%% A loop whose stack is known: busy/1 -> lists:foldl/3 -> the fun.
busy(N) ->
    busy(lists:foldl(fun(X, A) -> (X * A + 1) rem 1000003 end, N, lists:seq(1, 200))).

load(#{src := Src}) ->
    probe_test:load_probe(Src),
    {ok, _} = ?PROBE:start(self()),
    ok.

%% Samples with their stacks resolved: each stack id must have been defined (once) in this
%% or an earlier batch.
collect(Sampler, Timeout) ->
    collect(Sampler, Timeout, [], #{}, []).

collect(Sampler, Timeout, Samples, Stacks, Files) ->
    receive
        {beam_lens_profile, Sampler, {samples, Batch, NewStacks, NewFiles}} ->
            [false = maps:is_key(Id, Stacks) || {Id, _} <- NewStacks],
            Stacks1 = maps:merge(Stacks, maps:from_list(NewStacks)),
            Resolved = [{T, P, St, maps:get(Id, Stacks1)} || {T, P, St, Id} <- Batch],
            collect(Sampler, Timeout, Samples ++ Resolved, Stacks1, Files ++ NewFiles);
        {beam_lens_profile, Sampler, {done, Reason, Stats}} ->
            {Reason, Stats, Samples, Files}
    after Timeout ->
            error({no_done_message, length(Samples)})
    end.

clean(Pids) ->
    probe_test:wait_for("sampler gone", fun() -> whereis(beam_lens_sampler) =:= undefined end, 5000),
    [{flags, []} = erlang:trace_info(P, flags) || P <- Pids, is_process_alive(P)],
    ok.

t_samples(Ctx) ->
    load(Ctx),
    Busy = spawn(fun() -> busy(1) end),
    Idle = spawn(fun() -> receive never -> ok end end),
    try
        {ok, S} = ?PROBE:profile_start([Busy, Idle], self(), #{interval_us => 5000, duration_ms => 600}),
        {completed, Stats, Samples, Files} = collect(S, 5000),
        #{samples := N, ticks := Ticks, cost_us := Cost, cost_max_us := Max, reductions := Reds} = Stats,
        N = length(Samples),
        true = Ticks >= 20 andalso Ticks =< 125,
        true = N =:= 2 * Ticks,
        true = Cost >= 0 andalso Max >= 0 andalso Reds > 0,
        BusySamples = [St || {_, P, _, St} <- Samples, P =:= Busy],
        IdleStatus = lists:usort([Status || {_, P, Status, _} <- Samples, P =:= Idle]),
        [waiting] = IdleStatus,
        %% Every busy stack ends (outermost) in busy/1 at its line; most are under foldl.
        true = lists:all(fun(St) -> {?MODULE, busy, 1, L} = lists:last(St), L > 0 end, BusySamples),
        InFold = [St || St <- BusySamples, lists:keymember(foldl_1, 2, St) orelse lists:keymember(foldl, 2, St)],
        true = length(InFold) * 2 > length(BusySamples),
        %% Times are increasing microseconds from the start.
        Ts = [T || {T, P, _, _} <- Samples, P =:= Busy],
        Ts = lists:sort(Ts),
        {?MODULE, File} = lists:keyfind(?MODULE, 1, Files),
        true = is_binary(File) andalso binary:match(File, <<"probe_profile_test.erl">>) =/= nomatch,
        %% Each module is reported once.
        Mods = [M || {M, _} <- Files],
        true = length(Mods) =:= length(lists:usort(Mods)),
        clean([Busy, Idle])
    after
        exit(Busy, kill), exit(Idle, kill)
    end.

t_bounds(Ctx) ->
    load(Ctx),
    Busy = spawn(fun() -> busy(1) end),
    try
        {ok, S1} = ?PROBE:profile_start([Busy], self(), #{interval_us => 2000, max_samples => 7, duration_ms => 10000}),
        {cap, #{samples := 7}, Samples1, _} = collect(S1, 5000),
        7 = length(Samples1),
        clean([Busy]),
        T0 = erlang:monotonic_time(millisecond),
        {ok, S2} = ?PROBE:profile_start([Busy], self(), #{interval_us => 10000, duration_ms => 300}),
        {completed, #{duration_us := D}, _, _} = collect(S2, 5000),
        true = D >= 300000 andalso erlang:monotonic_time(millisecond) - T0 < 3000,
        clean([Busy]),
        {ok, S3} = ?PROBE:profile_start([Busy], self(), #{interval_us => 10000, duration_ms => 60000}),
        receive after 100 -> ok end,
        ok = ?PROBE:profile_stop(S3),
        {stopped, #{samples := N3}, Samples3, _} = collect(S3, 5000),
        N3 = length(Samples3),
        clean([Busy])
    after
        exit(Busy, kill)
    end.

t_process_down(Ctx) ->
    load(Ctx),
    Doomed = spawn(fun() -> receive go -> busy_for(150), exit({shutdown, tired}) end end),
    {ok, S} = ?PROBE:profile_start([Doomed], self(), #{interval_us => 5000, duration_ms => 10000}),
    Doomed ! go,
    {process_down, #{down := [{Doomed, Why}], samples := N}, Samples, _} = collect(S, 5000),
    true = N > 5 andalso N =:= length(Samples),
    true = binary:match(Why, <<"tired">>) =/= nomatch,
    clean([]).

busy_for(Ms) ->
    End = erlang:monotonic_time(millisecond) + Ms,
    busy_until(End, 1).

busy_until(End, N) ->
    case erlang:monotonic_time(millisecond) >= End of
        true -> N;
        false -> busy_until(End, lists:foldl(fun(X, A) -> X + A end, N, lists:seq(1, 50)))
    end.

t_refusals(Ctx) ->
    load(Ctx),
    Idle = spawn(fun() -> receive never -> ok end end),
    try
        {error, {bad_profile_spec, _, _}} = ?PROBE:profile_start([], self(), #{}),
        {error, {bad_profile_spec, _, _}} = ?PROBE:profile_start([Idle], self(), #{interval_us => 10}),
        {error, {bad_profile_spec, _, _}} = ?PROBE:profile_start([Idle], self(), #{duration_ms => 700000}),
        {error, {bad_profile_spec, _, _}} = ?PROBE:profile_start([Idle], self(), #{max_samples => 0}),
        {error, {bad_profile_spec, _, _}} = ?PROBE:profile_start([not_a_pid], self(), #{}),
        {error, {bad_profile_spec, _, _}} = ?PROBE:profile_start(lists:duplicate(101, Idle), self(), #{}),
        Remote = binary_to_term(<<131, 88, 119, 7, "other@x", 5:32, 0:32, 1:32>>),
        {error, {bad_profile_spec, _, _}} = ?PROBE:profile_start([Remote], self(), #{}),
        {ok, S} = ?PROBE:profile_start([Idle], self(), #{duration_ms => 5000}),
        {error, {busy, S}} = ?PROBE:profile_start([Idle], self(), #{}),
        ok = ?PROBE:profile_stop(S),
        {stopped, _, _, _} = collect(S, 5000),
        clean([Idle])
    after
        exit(Idle, kill)
    end.

t_owner_down(Ctx) ->
    load(Ctx),
    Idle = spawn(fun() -> receive never -> ok end end),
    Parent = self(),
    Owner = spawn(fun() -> {ok, S} = ?PROBE:profile_start([Idle], self(), #{duration_ms => 60000}),
                           Parent ! {sampler, S}, receive stop -> ok end end),
    S = receive {sampler, X} -> X after 5000 -> error(no_sampler) end,
    true = is_process_alive(S),
    exit(Owner, kill),
    clean([Idle]),
    exit(Idle, kill).

t_backoff(Ctx) ->
    load(Ctx),
    Spinners = [spawn(fun() -> busy(1) end) || _ <- lists:seq(1, 3 * erlang:system_info(schedulers_online))],
    Target = hd(Spinners),
    try
        {ok, S} = ?PROBE:profile_start([Target], self(), #{interval_us => 2000, duration_ms => 1500,
                                                            batch_ms => 50, run_queue_limit => 0}),
        {completed, #{backoffs := B, interval_us := I, base_interval_us := 2000, ticks := Ticks}, _, _} = collect(S, 10000),
        true = B >= 1 andalso I > 2000 andalso I =< 16000,
        %% Without the back-off 1.5 s at 2 ms would be about 750 ticks.
        true = Ticks < 500,
        clean(Spinners)
    after
        [exit(P, kill) || P <- Spinners]
    end.
