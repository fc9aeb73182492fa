%% Tests of the probe's telemetry window (telemetry_start/3, telemetry_stop/1 and the handler
%% telemetry_event/4) against the real telemetry library, run from probe_test's list when
%% run.sh put telemetry on the code path (skipped with a line saying why otherwise): known
%% durations give known percentiles, the table stays bounded, the guardian detaches when the
%% watcher dies, the watcher ends when its owner goes, and bad specs are refused. Each ends
%% with telemetry's handlers as they were before and no watcher left.
-module(probe_telemetry_test).

-export([tests/0, noop/4]).

-define(PROBE, beam_lens_probe).

tests() ->
    case code:which(telemetry) of
        non_existing ->
            io:format("skip  telemetry tests: the telemetry library is not on the code path "
                      "(run.sh compiles it from ../shared/testdeps/telemetry when that folder exists)~n"),
            [];
        _ ->
            [{"telemetry: counts and p50/p95/p99 of known durations; detached at the end", fun t_percentiles/1},
             {"telemetry: the table is bounded (dropped counted); stop ends the window", fun t_bounded/1},
             {"telemetry: the guardian detaches when the watcher dies; owner down ends it", fun t_guardian/1},
             {"telemetry: bad specs and a second watcher are refused", fun t_refusals/1}]
    end.

load(#{src := Src}) ->
    {ok, _} = application:ensure_all_started(telemetry),
    _ = telemetry:attach(probe_test_own, [t, own], fun probe_telemetry_test:noop/4, #{}),
    probe_test:load_probe(Src),
    {ok, _} = ?PROBE:start(self()),
    handlers().

noop(_Event, _Measurements, _Metadata, _Config) -> ok.

handlers() ->
    lists:sort([{Id, E} || #{id := Id, event_name := E} <- telemetry:list_handlers([])]).

clean(Before) ->
    probe_test:wait_for("watcher gone", fun() -> whereis(beam_lens_telemetry) =:= undefined end, 5000),
    probe_test:wait_for("handlers as before", fun() -> handlers() =:= Before end, 5000),
    ok.

ms(N) -> erlang:convert_time_unit(N, millisecond, native).

done(W) ->
    receive {beam_lens_telemetry, W, {done, Reason, Summary}} -> {Reason, Summary}
    after 10000 -> error(no_done_message)
    end.

near(Want, Got) -> true = abs(Got - Want) =< Want * 0.03.

t_percentiles(Ctx) ->
    Before = load(Ctx),
    {ok, W, Id} = ?PROBE:telemetry_start([[t, a], [t, b]], self(), #{duration_ms => 60000}),
    [#{id := Id}] = [H || #{id := {beam_lens_probe, _}} = H <- telemetry:list_handlers([t, a])],
    [telemetry:execute([t, a], #{duration => ms(K), rows => 2}, #{}) || K <- lists:seq(1, 100)],
    ok = ?PROBE:telemetry_stop(W),
    {stopped, #{events := [A, B], dropped := 0, native := Native}} = done(W),
    Native = erlang:convert_time_unit(1, second, native),
    #{event := [t, a], count := 100, measurements := Ms} = A,
    #{event := [t, b], count := 0, measurements := []} = B,
    {value, D} = lists:search(fun(#{key := K}) -> K =:= duration end, Ms),
    #{n := 100, duration := true, p50_us := P50, p95_us := P95, p99_us := P99, max_us := Max} = D,
    near(50000, P50), near(95000, P95), near(99000, P99), near(100000, Max),
    {value, R} = lists:search(fun(#{key := K}) -> K =:= rows end, Ms),
    #{n := 100, duration := false, sum := 200} = R,
    false = maps:is_key(p50_us, R),
    clean(Before).

t_bounded(Ctx) ->
    Before = load(Ctx),
    {ok, W, _} = ?PROBE:telemetry_start([[t, a]], self(), #{duration_ms => 60000, max_entries => 10}),
    %% Each event brings a new measurement key: the table fills, the rest is counted as dropped.
    [telemetry:execute([t, a], #{list_to_atom("k" ++ integer_to_list(K rem 50)) => K}, #{})
     || K <- lists:seq(1, 200)],
    ?PROBE:telemetry_stop(W),
    {stopped, #{dropped := Dropped, events := [#{count := 200}]}} = done(W),
    true = Dropped > 0,
    clean(Before).

t_guardian(Ctx) ->
    Before = load(Ctx),
    {ok, W, _} = ?PROBE:telemetry_start([[t, a]], self(), #{duration_ms => 60000}),
    true = handlers() =/= Before,
    exit(W, kill),
    clean(Before),
    %% Emitting after the watcher's table is gone never crashes the emitter.
    ok = telemetry:execute([t, a], #{duration => 1}, #{}),
    Owner = spawn(fun() -> receive stop -> ok end end),
    {ok, W2, _} = ?PROBE:telemetry_start([[t, a]], Owner, #{duration_ms => 60000}),
    true = is_process_alive(W2),
    Owner ! stop,
    clean(Before).

t_refusals(Ctx) ->
    Before = load(Ctx),
    {error, {bad_telemetry_spec, _, _}} = ?PROBE:telemetry_start([], self(), #{}),
    {error, {bad_telemetry_spec, _, _}} = ?PROBE:telemetry_start([[]], self(), #{}),
    {error, {bad_telemetry_spec, _, _}} = ?PROBE:telemetry_start([["a"]], self(), #{}),
    {error, {bad_telemetry_spec, _, _}} = ?PROBE:telemetry_start([[t, a]], self(), #{duration_ms => 0}),
    {ok, W, _} = ?PROBE:telemetry_start([[t, a]], self(), #{duration_ms => 200}),
    {error, {busy, W}} = ?PROBE:telemetry_start([[t, b]], self(), #{}),
    {completed, _} = done(W),
    clean(Before).
