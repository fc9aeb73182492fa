%% BEAM Lens probe: the optional on-target helper of BEAM Lens.
%%
%% Loaded diskless by the client: the source is scanned, parsed and compiled on the target
%% (erl_scan:string/1, erl_parse:parse_form/1, compile:forms/2, code:load_binary/3), so this
%% file must stay one self-contained module: no macros, no include files, nothing but
%% kernel, stdlib and erts. It must run on OTP 21 to 27; where behaviour differs between
%% releases it detects the capability instead of checking a version number.
%%
%% Every enumeration takes a limit and keeps memory proportional to it (recon style), and
%% everything the probe sets up is removed again by its guardian: when the last owner goes
%% away (nodedown or process exit), on release/1 by the last owner, or on unload/0 the
%% guardian runs the registered undo actions, stops the probe's processes and purges and
%% deletes this module.
%%
%% Several owners share one probe (two BEAM Lens instances on one node: the editor and an
%% agent's `beam-lens mcp`, two engineers). What a probe process or an undo action was set
%% up for belongs to one owner: the owner pid given to the call (the client's mailbox, whose
%% node is the owner node), or for a plain rpc the caller's group leader (the rpc's caller,
%% on the client's node). When an owner releases or goes while others remain, the guardian
%% stops that owner's probe processes (tracer, system monitor, sampler, telemetry watcher, a
%% running hot_call_time), runs their undo groups and the owner's undo actions (an action
%% another remaining owner also registered is kept for it), and the probe stays loaded. The
%% memory cache (beam_lens_cache) is shared: it holds what a pass read, no setting, serves
%% whichever owner asks, and stops with the probe or after 5 minutes unused.
-module(beam_lens_probe).

-export([version/0,
         top_processes/4,
         warm_cache/0,
         filter_processes/5,
         reduction_window/4,
         children_page/4,
         children_page/5,
         sup_info/2,
         start/1,
         release/1,
         unload/0,
         add_undo/1,
         remove_undo/1,
         status/0,
         hot_start/2,
         hot_read/1,
         hot_stop/1,
         hot_call_time/2,
         trace_start/1,
         stop_trace/1,
         monitor_start/2,
         monitor_stop/1,
         module_summary/1]).
%% Sampling profiler (its own section at the end of this file).
-export([profile_start/3, profile_stop/1]).
%% Telemetry window (its own section at the end of this file).
-export([telemetry_start/3, telemetry_stop/1, telemetry_event/4]).

-type sort_key() :: memory | reductions | message_queue_len.
-type row() :: {pid(), Value :: non_neg_integer(), Info :: [{atom(), term()}]}.
-type child_row() :: {Id :: term(), Child :: pid() | restarting | undefined,
                      Type :: worker | supervisor, Modules :: [module()] | dynamic,
                      Value :: non_neg_integer()}.
-type sup_ref() :: pid() | atom().
-type owner() :: node() | pid().
-type undo() :: {module(), atom(), [term()]}.

%% Ranked entries are {Value, -Seq, Pid}: ordered by value, ties by enumeration order (the
%% earlier process wins), so the gb_set's smallest element is always the one to evict.

%% @doc Version of this probe's API. A client meeting another version shares nothing with it:
%% with owners it stays in zero-install mode (reloading would break them), without owners (a
%% leftover) it replaces it. 7: a warm-up stops once every BEAM Lens that asked for it is gone;
%% 6: owners share the probe (release/1 returns the owners left,
%% each owner's settings are undone when it releases or goes); 5: warm_cache/0.
-spec version() -> pos_integer().
version() -> 7.

%% @doc Page of processes ranked by SortKey, descending.
%% One pass over erlang:processes() keeping only the best Offset + Limit entries, then
%% process_info(Pid, Items) for the page rows only. Ties keep the order of
%% erlang:processes(). Items the running OTP does not know are dropped. Processes that
%% died after being ranked are skipped, so a page may hold fewer than Limit rows.
%% Total is the number of processes alive during the pass. The calling process (the rpc
%% worker running this pass, which holds the whole pid list) is left out.
-spec top_processes(sort_key(), non_neg_integer(), non_neg_integer(), [atom()]) ->
          {Total :: non_neg_integer(), [row()]}.
top_processes(SortKey, Offset, Limit, Items)
  when is_integer(Offset), Offset >= 0, is_integer(Limit), Limit >= 0, is_list(Items) ->
    check_sort_key(SortKey),
    case SortKey =:= memory andalso cached({top, Offset + Limit}, Offset, Limit) of
        {ok, {Total, Page}} ->
            {Total, page_rows(Page, 0, supported_items(Items))};
        _ ->
            {Total, Ranked} = rank_all(all_processes(), self(), SortKey, Offset + Limit),
            {Total, page_rows(Ranked, Offset, supported_items(Items))}
    end.

%% @doc top_processes/4 over the processes whose registered name, initial call (through
%% proc_lib, as proc_lib:translate_initial_call/1 reports it), current function ("m:f/a") or
%% pid text contains Needle, a lower-case binary (compared with the lower-cased text). Each
%% distinct name or MFA is lower-cased and matched once (a cache), so a million processes
%% running the same code cost one comparison. {Total, Matched, Rows}: Total is every process
%% seen, Matched those that match; the calling process is left out.
-spec filter_processes(binary(), sort_key(), non_neg_integer(), non_neg_integer(), [atom()]) ->
          {Total :: non_neg_integer(), Matched :: non_neg_integer(), [row()]}.
filter_processes(Needle, SortKey, Offset, Limit, Items)
  when is_binary(Needle), byte_size(Needle) > 0, is_integer(Offset), Offset >= 0,
       is_integer(Limit), Limit >= 0, is_list(Items) ->
    check_sort_key(SortKey),
    Pattern = binary:compile_pattern(Needle),
    PidText = binary:match(Needle, [<<"<">>, <<".">>]) =/= nomatch,
    Self = self(),
    Keep = Offset + Limit,
    case cached({filter, SortKey, Pattern, PidText, Keep}, Offset, Limit) of
        {ok, {{Total, Matched}, Page}} ->
            {Total, Matched, page_rows(Page, 0, supported_items(Items))};
        _ ->
            %% One process_info call per process reads the texts and the sort key together (one
            %% signal round trip each: the cost of a pass is the number of calls, not of items).
            {Total, Matched, _, Ranked} =
                filter_pass(all_processes(), Self, SortKey, Pattern, PidText, Keep, 1, 0, 0, #{}, {0, gb_sets:empty(), infinity}, []),
            {Total, Matched, page_rows(Ranked, Offset, supported_items(Items))}
    end.

%% Keep =< 20000: a bounded set as in rank_processes/9; deeper pages: every match, sorted once.
filter_pass(Cursor, Self, Key, Pat, PidText, Keep, Seq, T, M, Cache, Best, All) ->
    case next_process(Cursor) of
        {Self, Ps} -> filter_pass(Ps, Self, Key, Pat, PidText, Keep, Seq + 1, T, M, Cache, Best, All);
        {P, Ps} -> filter_step(P, Ps, Self, Key, Pat, PidText, Keep, Seq, T, M, Cache, Best, All);
        none -> filter_done(Keep, T, M, Cache, Best, All)
    end.

filter_step(P, Ps, Self, Key, Pat, PidText, Keep, Seq, T, M, Cache, Best, All) ->
    case filter_match(P, Key, Pat, PidText, Cache) of
        {undefined, Cache1} ->
            filter_pass(Ps, Self, Key, Pat, PidText, Keep, Seq + 1, T, M, Cache1, Best, All);
        {false, Cache1} ->
            filter_pass(Ps, Self, Key, Pat, PidText, Keep, Seq + 1, T + 1, M, Cache1, Best, All);
        {{true, V}, Cache1} when Keep > 20000 ->
            filter_pass(Ps, Self, Key, Pat, PidText, Keep, Seq + 1, T + 1, M + 1, Cache1, Best, [{V, -Seq, P} | All]);
        {{true, V}, Cache1} ->
            filter_pass(Ps, Self, Key, Pat, PidText, Keep, Seq + 1, T + 1, M + 1, Cache1, keep_best({V, -Seq, P}, Keep, Best), All)
    end.

filter_done(Keep, T, M, Cache, {_, Set, _}, _All) when Keep =< 20000 ->
    {T, M, Cache, descending(Set)};
filter_done(Keep, T, M, Cache, _Best, All) ->
    {T, M, Cache, lists:sublist(lists:reverse(lists:sort(All)), Keep)}.

keep_best(_Entry, 0, Best) -> Best;
keep_best(Entry, Keep, {Size, Set, Min}) when Size < Keep ->
    insert_new(Entry, Keep, Size, Set, Min);
keep_best({V, _, _} = Entry, _Keep, {Size, Set, Min}) when V > Min ->
    {Set1, Min1} = replace_worst(Entry, Set),
    {Size, Set1, Min1};
keep_best(_Entry, _Keep, Best) -> Best.

filter_match(P, Key, Pattern, PidText, Cache) ->
    case erlang:process_info(P, [registered_name, current_function, initial_call, Key]) of
        undefined ->
            {undefined, Cache};
        [{registered_name, Name}, {current_function, CF}, {initial_call, IC}, {Key, V}] ->
            {M1, C1} = cached_match(Name, Pattern, Cache),
            {M2, C2} = if M1 -> {true, C1}; true -> cached_match(CF, Pattern, C1) end,
            {M3, C3} = if M2 -> {true, C2}; true -> cached_match(IC, Pattern, C2) end,
            {M4, C4} = if M3 -> {true, C3};
                          IC =:= {proc_lib, init_p, 5} -> cached_match(proc_lib_initial_call(P), Pattern, C3);
                          true -> {false, C3}
                       end,
            M5 = M4 orelse (PidText andalso binary:match(list_to_binary(pid_to_list(P)), Pattern) =/= nomatch),
            {case M5 of true -> {true, V}; false -> false end, C4}
    end.

proc_lib_initial_call(P) ->
    case erlang:process_info(P, dictionary) of
        {dictionary, D} ->
            case lists:keyfind('$initial_call', 1, D) of
                {_, {M, F, A}} when is_atom(M), is_atom(F), is_integer(A) -> {M, F, A};
                _ -> []
            end;
        undefined -> []
    end.

cached_match([], _Pattern, Cache) -> {false, Cache};
cached_match(Key, Pattern, Cache) ->
    case Cache of
        #{Key := M} -> {M, Cache};
        _ ->
            M = binary:match(string:lowercase(match_text(Key)), Pattern) =/= nomatch,
            {M, Cache#{Key => M}}
    end.

match_text(A) when is_atom(A) -> atom_to_binary(A, utf8);
match_text({M, F, A}) when is_atom(M), is_atom(F), is_integer(A) ->
    <<(atom_to_binary(M, utf8))/binary, ":", (atom_to_binary(F, utf8))/binary, "/", (integer_to_binary(A))/binary>>;
match_text(Other) -> iolist_to_binary(io_lib:format("~p", [Other])).

%% @doc Page of processes ranked by the reductions they did during a window of WindowMs
%% (at most 60,000) ms, descending: recon's proc_window. A process born during the window
%% counts all its reductions; the calling process is left out. Memory: one pid =>
%% reductions map for the first snapshot, then Offset + Limit entries. The caller blocks
%% for the window.
-spec reduction_window(non_neg_integer(), non_neg_integer(), non_neg_integer(), [atom()]) ->
          {Total :: non_neg_integer(), [row()]}.
reduction_window(Offset, Limit, WindowMs, Items)
  when is_integer(Offset), Offset >= 0, is_integer(Limit), Limit >= 0,
       is_integer(WindowMs), WindowMs >= 0, WindowMs =< 60000, is_list(Items) ->
    Before = maps:from_list([{P, R} || P <- erlang:processes(),
                                       {reductions, R} <- [erlang:process_info(P, reductions)]]),
    receive after WindowMs -> ok end,
    {Total, Ranked} = rank_deltas(all_processes(), self(), Before, Offset + Limit,
                                  1, 0, 0, gb_sets:empty(), infinity),
    {Total, page_rows(Ranked, Offset, supported_items(Items))}.

%% @doc children_page(SupRef, SortKey, Offset, Limit, 5000).
-spec children_page(sup_ref(), sort_key(), non_neg_integer(), non_neg_integer()) ->
          {Total :: non_neg_integer(), [child_row()]} | {error, term()}.
children_page(SupRef, SortKey, Offset, Limit) ->
    children_page(SupRef, SortKey, Offset, Limit, 5000).

%% @doc Page of a supervisor's (or Elixir DynamicSupervisor's) children ranked by SortKey
%% of the child process, descending; children without a live process rank with value 0.
%% Ties keep which_children order. Total counts all children. Refuses processes that are
%% not supervisors (which_children would crash an arbitrary gen_server).
-spec children_page(sup_ref(), sort_key(), non_neg_integer(), non_neg_integer(), timeout()) ->
          {Total :: non_neg_integer(), [child_row()]} | {error, term()}.
children_page(SupRef, SortKey, Offset, Limit, Timeout)
  when is_integer(Offset), Offset >= 0, is_integer(Limit), Limit >= 0 ->
    check_sort_key(SortKey),
    case supervisor_pid(SupRef) of
        {ok, Pid} ->
            case call(Pid, which_children, Timeout) of
                {ok, Children} when is_list(Children) ->
                    {Total, Ranked} = rank_children(Children, SortKey, Offset + Limit,
                                                    1, 0, gb_sets:empty(), infinity),
                    {Total, child_rows(Ranked, Offset)};
                {ok, Other} -> {error, {unexpected_reply, Other}};
                {error, _} = Error -> Error
            end;
        {error, _} = Error ->
            Error
    end.

%% @doc Restart settings and recent restarts of a supervisor, read with sys:get_state/2.
%% For an OTP supervisor the #state record is read by position (stable from OTP 18 to 27:
%% {state, Name, Strategy, Children, Dynamics, Intensity, Period, Restarts, ...,
%% Module, Args}) after checking each field's type, falling back to locating the strategy
%% atom; for an Elixir DynamicSupervisor the struct's keys are read. restarts counts the
%% restarts inside the current period (what the supervisor compares with intensity);
%% restart_ages lists their ages in seconds. The whole state is copied to the caller.
-spec sup_info(sup_ref(), timeout()) -> {ok, #{atom() => term()}} | {error, term()}.
sup_info(SupRef, Timeout) ->
    case supervisor_pid(SupRef) of
        {ok, Pid} ->
            try sys:get_state(Pid, Timeout) of
                State -> sup_state_info(State)
            catch
                exit:{Reason, _} -> {error, exit_reason(Reason)}
            end;
        {error, _} = Error ->
            Error
    end.

%% @doc Starts the guardian (registered as beam_lens_guardian) if needed and makes it watch
%% Owner: a node (erlang:monitor_node/2; what the BEAM Lens client passes, its own hidden
%% node) or a pid (erlang:monitor/2). When every owner is gone the guardian cleans up and
%% unloads the probe.
-spec start(owner()) -> {ok, pid()} | {error, term()}.
start(Owner) when is_atom(Owner); is_pid(Owner) ->
    guardian_request({watch, Owner}).

%% @doc Stops watching Owner and undoes what belongs to it (its probe processes stopped, their
%% undo groups and its undo actions run) before answering. Returns the owners left: when
%% none is, the guardian cleans up and unloads the probe (after the caller has left this
%% module's code); otherwise the probe stays loaded for them. This is what a client's
%% detach calls. Not an owner: nothing changes, unless no owner is left at all (then it
%% unloads, as for the last owner). No guardian: {ok, []}.
-spec release(owner()) -> {ok, Remaining :: [owner()]} | {error, term()}.
release(Owner) when is_atom(Owner); is_pid(Owner) ->
    case whereis(beam_lens_guardian) of
        undefined -> {ok, []};
        _ ->
            case guardian_request({release, Owner}) of
                {ok, {_, Remaining}} -> {ok, Remaining};
                {error, _} = Error -> Error
            end
    end.

%% @doc Cleans up and unloads the probe now, whoever the owners are (the other owners'
%% settings are undone too, and their next probe call fails): for removing the probe on
%% purpose, never a client's normal detach (release/1). Returns at once; the guardian waits
%% for the caller to leave this module's code before the final purge, so the caller (an rpc
%% worker, a shell) is not killed by it.
-spec unload() -> ok.
unload() ->
    case ensure_guardian(3) of
        {ok, Guardian} -> Guardian ! {beam_lens_unload, self()}, ok;
        {error, _} -> ok
    end.

%% @doc Registers an undo action, {M, F, A}, that the guardian applies (newest first, each
%% under catch) when it cleans up: e.g. {erlang, trace_pattern, [MFA, false, [call_count]]}
%% for a pattern the client set, so it is removed even if the client vanishes. It belongs to
%% the caller's owner (see the top of this file): run when that owner releases or goes.
-spec add_undo(undo()) -> ok | {error, term()}.
add_undo({M, F, A} = Undo) when is_atom(M), is_atom(F), is_list(A) ->
    add_undo(caller_owner(), Undo).

add_undo(OwnerPid, Undo) ->
    result_ok(guardian_request({add_undo, OwnerPid, Undo})).

%% @doc Forgets an undo action the client has already carried out itself (the caller's
%% owner's entry; another owner's entry of the same action stays).
-spec remove_undo(undo()) -> ok | {error, term()}.
remove_undo({M, F, A} = Undo) when is_atom(M), is_atom(F), is_list(A) ->
    case whereis(beam_lens_guardian) of
        undefined -> ok;
        _ -> result_ok(guardian_request({remove_undo, caller_owner(), Undo}))
    end.

%% @doc The guardian's pid, owners, pending undo actions and the undo groups of live probe
%% processes (tracer, system monitor, a running hot_call_time), as [{Holder, [Undo]}]
%% (guardian undefined if none).
-spec status() -> #{guardian := pid() | undefined, owners := [owner()], undo := [undo()],
                    groups := [{pid(), [undo()]}]}.
status() ->
    Empty = #{guardian => undefined, owners => [], undo => [], groups => []},
    case whereis(beam_lens_guardian) of
        undefined -> Empty;
        _ ->
            case guardian_request(status) of
                {ok, Status} -> Status;
                {error, _} -> Empty
            end
    end.

%%% Hot functions: call counts, then call times ----------------------------------------

%% @doc Counts every call to every function of Modules, from all processes
%% (erlang:trace_pattern({M, '_', '_'}, true, [call_count]); no process trace flags). Only
%% loaded modules are counted: nothing is loaded on the target (a module not loaded yet has
%% run no call), the others are skipped. Before each pattern is set an undo action
%% {erlang, trace_pattern, [{M, '_', '_'}, false, [call_count]]} is registered with the
%% guardian, so the patterns go when the client's node does. Refused, with a readable
%% reason and nothing set: [] , more than 200 modules, '_', this probe, and any module of
%% erts (preloaded modules included), kernel, stdlib, compiler, elixir, logger,
%% runtime_tools or sasl. Setting a module again restarts its counts at zero. Functions is
%% the number of functions now counted. The undo actions belong to OwnerPid's owner (its
%% node for a client): they run when that owner releases or goes.
-spec hot_start([module()], pid()) ->
          {ok, Functions :: non_neg_integer()} | {error, {refused, binary()} | term()}.
hot_start(Modules, OwnerPid) when is_list(Modules), is_pid(OwnerPid) ->
    case check_modules(Modules, 200) of
        ok -> hot_start_modules(lists:usort(Modules), OwnerPid, 0, []);
        {error, _} = Error -> Error
    end.

%% @doc Call counts of Modules' functions set by hot_start/2: only functions called at
%% least once, Count descending, at most 500 entries. Modules not loaded, or without
%% patterns, give nothing. Reads erlang:trace_info({M, F, A}, call_count) for every
%% function of erlang:get_module_info(M, functions) (not M:module_info/1, which would count
%% itself).
-spec hot_read([module()]) ->
          [{module(), atom(), arity(), Count :: pos_integer()}].
hot_read(Modules) when is_list(Modules) ->
    Entries = [{M, F, A, N} || M <- lists:usort(Modules), is_atom(M), M =/= '_',
                               {F, A} <- module_functions(M),
                               {call_count, N} <- [erlang:trace_info({M, F, A}, call_count)],
                               is_integer(N), N > 0],
    Sorted = lists:sort(fun({_, _, _, X}, {_, _, _, Y}) -> X >= Y end, Entries),
    lists:sublist(Sorted, 500).

%% @doc Removes the call_count patterns of Modules (erlang:trace_pattern({M, '_', '_'},
%% false, [call_count])) and their undo actions. '_' and non-atoms are ignored.
-spec hot_stop([module()]) -> ok.
hot_stop(Modules) when is_list(Modules) ->
    lists:foreach(fun(M) ->
                          Pattern = {M, '_', '_'},
                          _ = (catch erlang:trace_pattern(Pattern, false, [call_count])),
                          _ = remove_undo({erlang, trace_pattern, [Pattern, false, [call_count]]})
                  end,
                  [M || M <- lists:usort(Modules), is_atom(M), M =/= '_']),
    ok.

%% @doc Calls and microseconds spent (while scheduled in; sum over all processes) in each
%% of at most 10 MFAs during a window of WindowMs (0..10,000) ms. F and A may be '_' (all
%% functions of M / all arities). call_time needs processes with the call trace flag: a
%% sink tracer (registered beam_lens_sink, discards every message) becomes the tracer of
%% erlang:trace(all, true, [call, {tracer, Sink}]) and trace_pattern(MFA, true,
%% [call_time]) is set for each MFA. Undo actions for both are registered with the
%% guardian first, grouped under the calling process: if the caller dies during the
%% window the guardian removes them. At the end everything is removed again and the sink
%% stops. The caller blocks for the window.
%% Rows: one per concrete function, Microseconds descending; a function given with a
%% concrete arity is always listed, the expansion of '_' only with calls. Refused: '_' as
%% module, modules hot_start/2 refuses, a tracer or sink already running (busy), or
%% default trace flags for new processes set by another tool (busy).
-spec hot_call_time([{module(), atom(), arity() | '_'}], non_neg_integer()) ->
          [{module(), atom(), arity(), Calls :: non_neg_integer(),
            Microseconds :: non_neg_integer()}]
              | {error, {refused, binary()} | {busy, term()} | term()}.
hot_call_time(MFAs, WindowMs)
  when is_list(MFAs), is_integer(WindowMs), WindowMs >= 0, WindowMs =< 10000 ->
    case check_mfas(MFAs) of
        ok -> call_time_window(lists:usort(MFAs), WindowMs);
        {error, _} = Error -> Error
    end.

%%% Tracing ---------------------------------------------------------------------------

%% @doc Starts the tracer (registered beam_lens_tracer; one at a time) for a call trace or
%% a message trace, forwarding rate-limited, printed and truncated events to Owner.
%%
%% Spec keys (defaults in brackets):
%%   owner => pid() (required; the client's process that receives the events),
%%   kind => call | messages (required),
%%   mfa => {M, F, Arity | '_'} (call; M not '_'),
%%   match => MatchSpec | undefined (call; [undefined]: [{'_', [], [{exception_trace}]}]
%%            with return => true, which reports returns and exceptions, else
%%            [{'_', [], []}]),
%%   return => boolean() (call) [false],
%%   args => boolean() (call) [true]: false prints no term at all: calls as M:F/Arity,
%%            return values as "_", exceptions as their class only,
%%   pid => pid() (messages; a local process, not traced by another tracer),
%%   rate => {Count, PerMs} [{100, 1000}], cap => pos_integer() [1000],
%%   deadline_ms => pos_integer() [60000], max_chars => pos_integer() [200],
%%   breaker => #{run_queue => N [2 * schedulers online], memory_growth => Bytes [200 MB],
%%               tracer_queue => N [1000], check_ms => Ms [250]}.
%% Unknown keys are ignored.
%%
%% The tracer registers its undo actions with the guardian (grouped under the tracer: the
%% guardian runs them if the tracer dies without removing them) before it sets anything:
%%   call: trace_pattern(MFA, MatchSpec, [local]), then erlang:trace(all, true, [call,
%%         monotonic_timestamp, {tracer, Tracer}]) (the tracer's own flags are removed);
%%   messages: erlang:trace(Pid, true, [send, 'receive', monotonic_timestamp,
%%         {tracer, Tracer}]).
%% Events arrive as {beam_lens_trace, Tracer, Event}:
%%   {call, Pid, <<"M:F(Arg1, ...)">>, TimestampUs}
%%   {return, Pid, <<"M:F/A">>, Value :: binary(), TimestampUs}
%%   {exception, Pid, <<"M:F/A">>, <<"Class:Reason">>, TimestampUs}
%%   {send, From, To :: pid() | port() | atom() | {atom(), node()}, Msg :: binary(), TimestampUs}
%%   {'receive', Pid, Msg :: binary(), TimestampUs}
%% (TimestampUs: Erlang system time in microseconds; printed terms are cut to max_chars
%% characters followed by "..."). At most Count events per PerMs window are forwarded,
%% the other trace messages are dropped unprinted. The trace ends at cap, at the deadline,
%% on stop_trace/1, when Owner goes down (any reason, noconnection included) or when the
%% breaker trips (checked every check_ms: total run queue above run_queue 3 checks in a
%% row, erlang:memory(total) grown by more than memory_growth since the start, or the
%% tracer's own message queue above tracer_queue, which is also checked every 256
%% messages). Then the tracer removes its flags and patterns, drains the trace messages
%% still in flight (erlang:trace_delivered/1), drops its undo group and, unless Owner is
%% down, sends {beam_lens_trace_done, Tracer, #{reason => cap | deadline | stopped |
%% breaker, events => N, dropped => D, breaker => undefined | #{what => run_queue |
%% memory | tracer_queue, value => V, limit => L}}} and exits normally.
%% Errors: {bad_spec, Key}, {refused, binary()}, {busy, Pid} (a tracer or sink is
%% running), {busy, {new_processes_traced_by, Tracer}} (another tool set default trace
%% flags), {already_traced, Pid, Tracer}, {no_such_function, MFA}, {no_process, Pid},
%% {bad_match_spec, Errors}, {guardian, Reason}.
-spec trace_start(map()) -> {ok, pid()} | {error, term()}.
trace_start(Spec) when is_map(Spec) ->
    case trace_config(Spec) of
        {ok, Config} -> start_worker(beam_lens_tracer, Config);
        {error, _} = Error -> Error
    end.

%% @doc Asks a tracer started by trace_start/1 to stop; returns at once, the
%% beam_lens_trace_done message follows (reason stopped).
-spec stop_trace(pid()) -> ok.
stop_trace(Tracer) when is_pid(Tracer) ->
    Tracer ! {beam_lens_stop, self()},
    ok.

%% @doc Becomes the node's system monitor (erlang:system_monitor/2) and forwards its
%% reports to Owner, if nobody holds it: otherwise {error, {busy, HolderPid}} and nothing
%% changes. Opts (defaults in brackets): long_gc => Ms | false [100], long_schedule =>
%% Ms | false [100], large_heap => Words | false [8 MB in words], busy_port => boolean()
%% [true], busy_dist_port => boolean() [true], rate => {Count, PerMs} [{100, 1000}],
%% cap => pos_integer() [1000], deadline_ms => pos_integer() [60000], max_chars =>
%% pos_integer() [200]. The monitor process is registered as beam_lens_monitor and groups
%% the undo action {erlang, system_monitor, [undefined]} with the guardian (which applies
%% it only while the monitor is still the holder). Events arrive as
%% {beam_lens_monitor, Monitor, {Kind, PidOrPort, Info :: binary(), TimestampUs}} with
%% Kind long_gc | long_schedule | large_heap | busy_port | busy_dist_port (| any other kind
%% a newer OTP reports). It ends at cap, deadline, monitor_stop/1, Owner down, or when
%% another tool takes the system monitor over (reason taken_over; then it is left alone);
%% otherwise it sets erlang:system_monitor(undefined) again if still the holder, and sends
%% {beam_lens_monitor_done, Monitor, #{reason => cap | deadline | stopped | taken_over,
%% events => N, dropped => D}} unless Owner is down.
-spec monitor_start(pid(), map()) ->
          {ok, pid()} | {error, {busy, pid() | port() | term()} | term()}.
monitor_start(Owner, Opts) when is_pid(Owner), is_map(Opts) ->
    case erlang:system_monitor() of
        undefined ->
            case monitor_config(Owner, Opts) of
                {ok, Config} -> start_worker(beam_lens_monitor, Config);
                {error, _} = Error -> Error
            end;
        {Holder, _} ->
            {error, {busy, Holder}}
    end.

%% @doc Asks a monitor started by monitor_start/2 to stop; returns at once, the
%% beam_lens_monitor_done message follows (reason stopped).
-spec monitor_stop(pid()) -> ok.
monitor_stop(Monitor) when is_pid(Monitor) ->
    Monitor ! {beam_lens_stop, self()},
    ok.

%%% Ranking ---------------------------------------------------------------------------

check_sort_key(memory) -> ok;
check_sort_key(reductions) -> ok;
check_sort_key(message_queue_len) -> ok;
check_sort_key(Other) -> erlang:error({bad_sort_key, Other}).

%% The best Keep entries by Key, descending (ties: enumeration order). A deep page (more than
%% 20,000 kept, e.g. offset 500,000) sorts every value once: a bounded set that large costs more.
%% (Ranking in parallel slices was measured and gave nothing on 2 schedulers: the cost is one
%% process_info/2 per process, with 1 or 32 slices alike.)
rank_all(Ps, Self, Key, Keep) when Keep > 20000 ->
    Values = values(Ps, Self, Key, 1, []),
    {length(Values), lists:sublist(lists:reverse(lists:sort(Values)), Keep)};
rank_all(Ps, Self, Key, Keep) ->
    rank_processes(Ps, Self, Key, Keep, 1, 0, 0, gb_sets:empty(), infinity).

values(Cursor, Self, Key, Seq, Acc) ->
    case next_process(Cursor) of
        {Self, Ps} -> values(Ps, Self, Key, Seq + 1, Acc);
        {P, Ps} ->
            case erlang:process_info(P, Key) of
                {_, V} -> values(Ps, Self, Key, Seq + 1, [{V, -Seq, P} | Acc]);
                undefined -> values(Ps, Self, Key, Seq + 1, Acc)
            end;
        none -> Acc
    end.

%% Keeps the best Keep entries of a stream of {Value, Seq, Term}. Min is the value of the
%% worst kept entry once the set is full; until then it is the atom 'infinity', which every
%% integer compares below, so with Keep = 0 nothing is ever inserted.
rank_processes(Cursor, Self, Key, Keep, Seq, Count, Size, Set, Min) ->
    case next_process(Cursor) of
        {Self, Ps} ->
            rank_processes(Ps, Self, Key, Keep, Seq + 1, Count, Size, Set, Min);
        {P, Ps} ->
            case erlang:process_info(P, Key) of
                {_, V} when Size < Keep ->
                    {Size1, Set1, Min1} = insert_new({V, -Seq, P}, Keep, Size, Set, Min),
                    rank_processes(Ps, Self, Key, Keep, Seq + 1, Count + 1, Size1, Set1, Min1);
                {_, V} when V > Min ->
                    {Set1, Min1} = replace_worst({V, -Seq, P}, Set),
                    rank_processes(Ps, Self, Key, Keep, Seq + 1, Count + 1, Size, Set1, Min1);
                {_, _} ->
                    rank_processes(Ps, Self, Key, Keep, Seq + 1, Count + 1, Size, Set, Min);
                undefined ->
                    rank_processes(Ps, Self, Key, Keep, Seq + 1, Count, Size, Set, Min)
            end;
        none ->
            {Count, descending(Set)}
    end.

rank_deltas(Cursor, Self, Before, Keep, Seq, Count, Size, Set, Min) ->
    case next_process(Cursor) of
        {Self, Ps} ->
            rank_deltas(Ps, Self, Before, Keep, Seq + 1, Count, Size, Set, Min);
        {P, Ps} ->
            case erlang:process_info(P, reductions) of
                {reductions, R} ->
                    V = R - maps:get(P, Before, 0),
                    if
                        Size < Keep ->
                            {Size1, Set1, Min1} = insert_new({V, -Seq, P}, Keep, Size, Set, Min),
                            rank_deltas(Ps, Self, Before, Keep, Seq + 1, Count + 1, Size1, Set1, Min1);
                        V > Min ->
                            {Set1, Min1} = replace_worst({V, -Seq, P}, Set),
                            rank_deltas(Ps, Self, Before, Keep, Seq + 1, Count + 1, Size, Set1, Min1);
                        true ->
                            rank_deltas(Ps, Self, Before, Keep, Seq + 1, Count + 1, Size, Set, Min)
                    end;
                undefined ->
                    rank_deltas(Ps, Self, Before, Keep, Seq + 1, Count, Size, Set, Min)
            end;
        none ->
            {Count, descending(Set)}
    end.

%% Whole-node passes walk a cursor: erlang:processes_iterator/0 where the node has it (OTP 28:
%% no list of every pid is built), else the list erlang:processes/0 returns.
all_processes() ->
    case erlang:function_exported(erlang, processes_iterator, 0) of
        true -> {iterator, erlang:apply(erlang, processes_iterator, [])};
        false -> erlang:processes()
    end.

next_process([P | Ps]) -> {P, Ps};
next_process([]) -> none;
next_process({iterator, Iter}) ->
    case erlang:apply(erlang, process_next, [Iter]) of
        {P, Next} -> {P, {iterator, Next}};
        none -> none
    end.

fold_processes(Fun, Acc, Cursor) ->
    case next_process(Cursor) of
        {P, Rest} -> fold_processes(Fun, Fun(P, Acc), Rest);
        none -> Acc
    end.

%% Children are ranked as {Value, -Seq, {Id, Child, Type, Modules}}.
rank_children([{Id, Child, Type, Modules} | Cs], Key, Keep, Seq, Size, Set, Min) ->
    V = child_value(Child, Key),
    Entry = {V, -Seq, {Id, Child, Type, Modules}},
    if
        Size < Keep ->
            {Size1, Set1, Min1} = insert_new(Entry, Keep, Size, Set, Min),
            rank_children(Cs, Key, Keep, Seq + 1, Size1, Set1, Min1);
        V > Min ->
            {Set1, Min1} = replace_worst(Entry, Set),
            rank_children(Cs, Key, Keep, Seq + 1, Size, Set1, Min1);
        true ->
            rank_children(Cs, Key, Keep, Seq + 1, Size, Set, Min)
    end;
rank_children([_Malformed | Cs], Key, Keep, Seq, Size, Set, Min) ->
    rank_children(Cs, Key, Keep, Seq + 1, Size, Set, Min);
rank_children([], _Key, _Keep, Seq, _Size, Set, _Min) ->
    {Seq - 1, descending(Set)}.

child_value(Pid, Key) when is_pid(Pid), node(Pid) =:= node() ->
    case erlang:process_info(Pid, Key) of
        {_, V} -> V;
        undefined -> 0
    end;
child_value(_NotRunning, _Key) ->
    0.

insert_new(Entry, Keep, Size, Set, Min) ->
    Set1 = gb_sets:insert(Entry, Set),
    case Size + 1 =:= Keep of
        true -> {Keep, Set1, element(1, gb_sets:smallest(Set1))};
        false -> {Size + 1, Set1, Min}
    end.

replace_worst(Entry, Set) ->
    {_, Set1} = gb_sets:take_smallest(Set),
    Set2 = gb_sets:insert(Entry, Set1),
    {Set2, element(1, gb_sets:smallest(Set2))}.

descending(Set) -> lists:reverse(gb_sets:to_list(Set)).

drop(0, List) -> List;
drop(_, []) -> [];
drop(N, [_ | T]) -> drop(N - 1, T).

page_rows(Ranked, Offset, Items) ->
    [{P, V, Info} || {V, _, P} <- drop(Offset, Ranked),
                     Info <- [erlang:process_info(P, Items)],
                     Info =/= undefined].

child_rows(Ranked, Offset) ->
    [{Id, Child, Type, Modules, V} || {V, _, {Id, Child, Type, Modules}} <- drop(Offset, Ranked)].

%% process_info items differ between releases (e.g. 'parent' is OTP 25+): keep the ones
%% this VM accepts, asking it about ourselves.
supported_items(Items) ->
    [Item || Item <- Items, is_atom(Item), item_supported(Item)].

item_supported(Item) ->
    try erlang:process_info(self(), Item) of
        _ -> true
    catch
        error:badarg -> false
    end.

%% @doc Starts reading the slow items (memory, current function) of every process into the
%% session's cache in the background, so that the first memory sort or filter of a table finds
%% the cache warm instead of asking every process while the user waits. Returns at once:
%% started, or already (the cache holds a pass, or one is running). The pass runs at low
%% priority (the node's own work goes first); a request arriving meanwhile stops it where it is
%% and keeps what it read (the request's pass then asks only the processes not read yet), so
%% the node never pays for more than one full pass. Nothing is read if nobody asks within the
%% cache's idle timeout. The pass is for whoever asked (the caller's owner: its group leader for
%% an rpc, i.e. the client's connection): it stops when every BEAM Lens that asked for it is gone
%% (its connection closed, its process down, or it released the probe), keeping what it read;
%% the cache stays for the others, and a later warm_cache/0 reads on from there.
-spec warm_cache() -> started | already.
warm_cache() ->
    case cache_process() of
        undefined ->
            already;
        Pid ->
            MRef = erlang:monitor(process, Pid),
            Pid ! {beam_lens_cache_warm, self(), MRef, caller_owner()},
            receive
                {MRef, Reply} ->
                    erlang:demonitor(MRef, [flush]),
                    Reply;
                {'DOWN', MRef, process, Pid, _} ->
                    already
            end
    end.

%%% The session's cache of slow items --------------------------------------------------

%% The VM answers reductions, message_queue_len, registered_name and initial_call without the
%% process (~0.2 us each here); memory and current_function need the process itself to answer
%% a signal (~1.2-2.4 us each at a million processes, and one reduction of its own). Neither can
%% change while a process does not run and gets no message. So memory sorts and filters run in
%% one process of the probe, beam_lens_cache, that keeps what the last pass read: a list of
%% {Pid, Reductions, QueueLen, Memory, CurrentFunction, ProcLibInitialCall | unknown} in the
%% order of erlang:processes() (a process keeps its place in the process table, so the next pass
%% walks both lists side by side: no lookup per process). A pass reads the cheap items of
%% every process and asks a process only when its reductions or queue moved since (counting
%% the one reduction our own read cost it); dead processes fall out. Ranking and paging happen
%% there too: only the page is copied to the caller. The pass stops when its caller goes
%% (an rpc timeout or a cancel). The process is stopped with the probe's other processes, and
%% exits after 5 minutes without a request. Memory: ~9 words a process (~100-170 MB at a million
%% with the heap's growth steps),
%% only while the table is in use.

%% {ok, {Total, PageEntries}} from the cache process, or error (then the caller does the pass).
cached(Request, Offset, Limit) ->
    case cache_process() of
        undefined ->
            error;
        Pid ->
            MRef = erlang:monitor(process, Pid),
            Pid ! {beam_lens_cache, self(), MRef, Request, Offset, Limit},
            receive
                {MRef, Reply} ->
                    erlang:demonitor(MRef, [flush]),
                    {ok, Reply};
                {'DOWN', MRef, process, Pid, _} ->
                    error
            end
    end.

cache_process() ->
    case whereis(beam_lens_cache) of
        undefined ->
            Tag = make_ref(),
            Parent = self(),
            {Pid, MRef} = erlang:spawn_monitor(fun() -> cache_init(Parent, Tag) end),
            receive
                {Tag, ready} -> erlang:demonitor(MRef, [flush]);
                {'DOWN', MRef, process, Pid, _} -> ok
            end,
            whereis(beam_lens_cache);
        Pid ->
            Pid
    end.

cache_init(Parent, Tag) ->
    case catch register(beam_lens_cache, self()) of
        true ->
            case whereis(user) of
                undefined -> ok;
                User -> group_leader(User, self())
            end,
            Parent ! {Tag, ready},
            cache_loop([], #{}, false);
        {'EXIT', {badarg, _}} ->
            Parent ! {Tag, ready}
    end.

%% Entries: the last pass's list; Interned: current functions shared between entries; Whole:
%% whether Entries covers every process (false after a warm-up whose requesters all left).
cache_loop(Entries, Interned, Whole) ->
    receive
        {beam_lens_cache, From, MRef, Request, Offset, Limit} ->
            Watch = erlang:monitor(process, From),
            Extra = case Request of {filter, _, _, _, _} -> [registered_name, initial_call]; _ -> [] end,
            Init = cache_acc(Request),
            case catch cache_pass(all_processes(), Entries, From, Watch, Extra, Request, Init, 1, [], Interned) of
                {done, Entries1, Interned1, Acc, _} ->
                    erlang:demonitor(Watch, [flush]),
                    From ! {MRef, cache_reply(Request, Acc, Offset, Limit)},
                    %% The last pass's list is garbage now: give its memory back at once.
                    garbage_collect(),
                    cache_loop(Entries1, Interned1, true);
                caller_gone ->
                    cache_loop(Entries, Interned, Whole)
            end;
        {beam_lens_cache_warm, From, MRef, _Requester} when Whole ->
            From ! {MRef, already},
            cache_loop(Entries, Interned, Whole);
        {beam_lens_cache_warm, From, MRef, Requester} ->
            From ! {MRef, started},
            %% No caller waits: the pass yields to any request that arrives (see warm_cache/0), and
            %% it reads on from a prefix an abandoned warm-up left.
            Requesters = add_requester(Requester, []),
            Old = process_flag(priority, low),
            Result = (catch cache_pass(all_processes(), Entries, none, {warm, Requesters}, [], {top, 0}, cache_acc({top, 0}), 1, [], Interned)),
            _ = process_flag(priority, Old),
            {Entries1, Interned1, Whole1, Left} =
                case Result of
                    {done, E1, I1, _, {warm, R1}} -> {E1, I1, true, R1};
                    {interrupted, E1, I1, R1} -> {E1, I1, false, R1};
                    {abandoned, E1, I1} -> {E1, I1, false, []};
                    _ -> {[], Interned, false, Requesters}
                end,
            %% Whoever asked during the pass was added to the list it threw or returned; what is
            %% left of the monitors (and their DOWN messages) goes now.
            lists:foreach(fun({_, Ref}) -> erlang:demonitor(Ref, [flush]) end, Left ++ Requesters),
            garbage_collect(),
            cache_loop(Entries1, Interned1, Whole1);
        _Stray ->
            cache_loop(Entries, Interned, Whole)
    after 300000 ->
            ok
    end.

%% The requesters of a warm-up, [{OwnerPid, MonitorRef}]: one entry per owner.
add_requester(Requester, Requesters) ->
    case lists:keymember(Requester, 1, Requesters) of
        true -> Requesters;
        false -> [{Requester, erlang:monitor(process, Requester)} | Requesters]
    end.

cache_acc({top, Keep}) when Keep > 20000 -> {0, []};
cache_acc({top, _Keep}) -> {0, {0, gb_sets:empty(), infinity}};
cache_acc({filter, _, _, _, _}) -> {0, 0, #{}, {0, gb_sets:empty(), infinity}, []}.

cache_reply({top, Keep}, {Count, All}, Offset, Limit) when Keep > 20000 ->
    {Count, lists:sublist(drop(Offset, lists:reverse(lists:sort(All))), Limit)};
cache_reply({top, _}, {Count, {_, Set, _}}, Offset, Limit) ->
    {Count, lists:sublist(drop(Offset, descending(Set)), Limit)};
cache_reply({filter, _, _, _, Keep}, {T, M, _, {_, Set, _}, _}, Offset, Limit) when Keep =< 20000 ->
    {{T, M}, lists:sublist(drop(Offset, descending(Set)), Limit)};
cache_reply({filter, _, _, _, _}, {T, M, _, _, All}, Offset, Limit) ->
    {{T, M}, lists:sublist(drop(Offset, lists:reverse(lists:sort(All))), Limit)}.

%% The caller (an rpc worker) is left out of the ranking, as in the passes above, and so is the
%% cache process itself (what it holds is said in its comment above, not ranked among yours).
cache_pass(Cursor, Old, Caller, Watch0, Extra, Request, Acc, Seq, New, Interned) ->
    Watch = case Seq band 4095 of
                0 -> caller_check(Watch0, New, Interned);
                _ -> Watch0
            end,
    case next_process(Cursor) of
        {Caller, Ps} ->
            %% A pass without a caller (a warm-up) may have read this one: step over its entry.
            cache_pass(Ps, skip_entry(Caller, Old), Caller, Watch, Extra, Request, Acc, Seq + 1, New, Interned);
        {P, Ps} when P =:= self() ->
            cache_pass(Ps, Old, Caller, Watch, Extra, Request, Acc, Seq + 1, New, Interned);
        {P, Ps} ->
            {Found, Old1} = cache_match(P, Old),
            case cache_read(P, Found, Extra, Interned) of
                {E0, R, Q, XV, Interned1} ->
                    E = cache_tic(E0, XV),
                    Acc1 = cache_add(Request, E, R, Q, XV, Seq, Acc),
                    cache_pass(Ps, Old1, Caller, Watch, Extra, Request, Acc1, Seq + 1, [E | New], Interned1);
                undefined ->
                    cache_pass(Ps, Old1, Caller, Watch, Extra, Request, Acc, Seq + 1, New, Interned)
            end;
        none ->
            {done, lists:reverse(New), Interned, Acc, Watch}
    end.

%% A background warm pass (Watch = {warm, Requesters}) stops at the first request waiting in
%% the mailbox and keeps the prefix it read, in process order: the request's pass walks it like
%% a full list. It also stops, keeping the prefix, once every BEAM Lens that asked for it is gone
%% (a requester's DOWN, or the guardian's word that an owner released). Returns the Watch to go on with.
caller_check({warm, Requesters}, New, Interned) ->
    receive
        {beam_lens_cache_warm, From, MRef, Requester} ->
            From ! {MRef, already},
            caller_check({warm, add_requester(Requester, Requesters)}, New, Interned);
        {'DOWN', Ref, process, _, _} ->
            requesters_left(lists:keydelete(Ref, 2, Requesters), New, Interned);
        {beam_lens_cache_owner_gone, Owner} ->
            {Theirs, Others} = lists:partition(fun({P, _}) -> belongs(P, Owner) end, Requesters),
            lists:foreach(fun({_, Ref}) -> erlang:demonitor(Ref, [flush]) end, Theirs),
            requesters_left(Others, New, Interned)
    after 0 ->
            case erlang:process_info(self(), message_queue_len) of
                {message_queue_len, 0} -> {warm, Requesters};
                _ -> throw({interrupted, lists:reverse(New), Interned, Requesters})
            end
    end;
caller_check(Watch, _New, _Interned) ->
    receive
        {'DOWN', Watch, process, _, _} -> throw(caller_gone)
    after 0 ->
            Watch
    end.

requesters_left([], New, Interned) -> throw({abandoned, lists:reverse(New), Interned});
requesters_left(Requesters, New, Interned) -> caller_check({warm, Requesters}, New, Interned).

skip_entry(P, [{P, _, _, _, _, _} | Old]) -> Old;
skip_entry(_P, Old) -> Old.

%% The old entry of P: the head of Old, after dropping the heads of processes that died. A
%% live head that is not P means P is new (survivors keep their order).
cache_match(P, [{P, _, _, _, _, _} = E | Old]) ->
    {E, Old};
cache_match(P, [{O, _, _, _, _, _} | Rest] = Old) ->
    case is_process_alive(O) of
        true -> {none, Old};
        false -> cache_match(P, Rest)
    end;
cache_match(_P, []) ->
    {none, []}.

%% A process the cache does not know yet is read in one call (the cheap items and the slow ones
%% together: one signal round trip instead of a direct read and then the signal); a known one
%% has its cheap items read first, and is asked only when they moved.
cache_read(P, none, Extra, Interned) ->
    case erlang:process_info(P, [reductions, message_queue_len, memory, current_function | Extra]) of
        [{_, R}, {_, Q}, {_, Mem}, {_, CF0} | XV] ->
            {CF, Interned1} = intern(CF0, Interned),
            %% Answering us cost it one reduction.
            {{P, R + 1, Q, Mem, CF, unknown}, R, Q, XV, Interned1};
        undefined ->
            undefined
    end;
cache_read(P, Found, Extra, Interned) ->
    case erlang:process_info(P, [reductions, message_queue_len | Extra]) of
        [{_, R}, {_, Q} | XV] ->
            case cache_entry(P, R, Q, Found, Interned) of
                {E0, Interned1} -> {E0, R, Q, XV, Interned1};
                undefined -> undefined
            end;
        undefined ->
            undefined
    end.

intern(CF, Interned) ->
    case Interned of
        #{CF := Shared} -> {Shared, Interned};
        _ when map_size(Interned) < 10000 -> {CF, Interned#{CF => CF}};
        _ -> {CF, Interned}
    end.

cache_entry(_P, R, Q, {_, R, Q, _, _, _} = E, Interned) ->
    {E, Interned};
cache_entry(P, R, Q, Found, Interned) ->
    case erlang:process_info(P, [memory, current_function]) of
        [{_, Mem}, {_, CF0}] ->
            {CF, Interned1} = intern(CF0, Interned),
            TIC = case Found of {_, _, _, _, _, I} -> I; none -> unknown end,
            %% Answering us cost it one reduction.
            {{P, R + 1, Q, Mem, CF, TIC}, Interned1};
        undefined ->
            undefined
    end.

%% A filter needs proc_lib's initial call of proc_lib processes: read once per process.
cache_tic({P, R, Q, Mem, CF, unknown}, [_Name, {initial_call, {proc_lib, init_p, 5}}]) ->
    %% The dictionary read cost it a reduction too.
    {P, R + 1, Q, Mem, CF, proc_lib_initial_call(P)};
cache_tic(E, _XV) ->
    E.

cache_add({top, Keep}, {P, _, _, Mem, _, _}, _R, _Q, _XV, Seq, {Count, All}) when Keep > 20000 ->
    {Count + 1, [{Mem, -Seq, P} | All]};
cache_add({top, Keep}, {P, _, _, Mem, _, _}, _R, _Q, _XV, Seq, {Count, Best}) ->
    {Count + 1, keep_best({Mem, -Seq, P}, Keep, Best)};
cache_add({filter, Key, Pattern, PidText, Keep}, {P, _, _, Mem, CF, TIC}, R, Q,
          [{registered_name, Name}, {initial_call, IC}], Seq, {T, M, Cache, Best, All}) ->
    {M1, C1} = cached_match(Name, Pattern, Cache),
    {M2, C2} = if M1 -> {true, C1}; true -> cached_match(CF, Pattern, C1) end,
    {M3, C3} = if M2 -> {true, C2}; true -> cached_match(IC, Pattern, C2) end,
    {M4, C4} = if M3 -> {true, C3};
                  is_tuple(TIC) -> cached_match(TIC, Pattern, C3);
                  true -> {false, C3}
               end,
    M5 = M4 orelse (PidText andalso binary:match(list_to_binary(pid_to_list(P)), Pattern) =/= nomatch),
    case M5 of
        false ->
            {T + 1, M, C4, Best, All};
        true ->
            V = case Key of memory -> Mem; reductions -> R; message_queue_len -> Q end,
            case Keep > 20000 of
                true -> {T + 1, M + 1, C4, Best, [{V, -Seq, P} | All]};
                false -> {T + 1, M + 1, C4, keep_best({V, -Seq, P}, Keep, Best), All}
            end
    end.

%%% Supervisors -----------------------------------------------------------------------

%% Only processes whose '$initial_call' names an OTP supervisor are accepted. Elixir's
%% DynamicSupervisor puts {supervisor, Module, 1} there too (so that tools see a
%% supervisor); {'Elixir.DynamicSupervisor', init, 1} is also accepted in case a release
%% does not.
supervisor_pid(SupRef) ->
    case resolve(SupRef) of
        undefined ->
            {error, noproc};
        Pid ->
            case erlang:process_info(Pid, dictionary) of
                {dictionary, Dict} ->
                    case proplists:get_value('$initial_call', Dict) of
                        {supervisor, _, _} -> {ok, Pid};
                        {'Elixir.DynamicSupervisor', _, _} -> {ok, Pid};
                        _ -> {error, not_a_supervisor}
                    end;
                undefined ->
                    {error, noproc}
            end
    end.

resolve(Pid) when is_pid(Pid), node(Pid) =:= node() -> Pid;
resolve(Name) when is_atom(Name) -> whereis(Name);
resolve(_) -> undefined.

call(Pid, Request, Timeout) ->
    try gen_server:call(Pid, Request, Timeout) of
        Reply -> {ok, Reply}
    catch
        exit:{Reason, _} -> {error, exit_reason(Reason)}
    end.

exit_reason({timeout, _}) -> timeout;
exit_reason(timeout) -> timeout;
exit_reason(noproc) -> noproc;
exit_reason({noproc, _}) -> noproc;
exit_reason(Other) -> Other.

%% The state's shape tells the kind: a map for an Elixir DynamicSupervisor, a #state{}
%% record for an OTP supervisor (Elixir's Supervisor included).
sup_state_info(#{strategy := Strategy, max_restarts := Intensity, max_seconds := Period,
                 restarts := Restarts} = State) ->
    Base = #{kind => dynamic_supervisor, strategy => Strategy, intensity => Intensity,
             period => Period, module => maps:get(mod, State, undefined),
             max_children => maps:get(max_children, State, infinity),
             children => child_count(maps:get(children, State, #{}))},
    {ok, maps:merge(Base, restart_window(Restarts, Period))};
sup_state_info(State) when is_tuple(State), tuple_size(State) >= 9,
                          element(1, State) =:= state ->
    case record_layout(State) of
        {ok, StrategyPos} ->
            Period = element(StrategyPos + 4, State),
            Base = #{kind => supervisor,
                     strategy => element(StrategyPos, State),
                     intensity => element(StrategyPos + 3, State),
                     period => Period,
                     module => element(tuple_size(State) - 1, State)},
            {ok, maps:merge(Base, restart_window(element(StrategyPos + 5, State), Period))};
        error ->
            {error, unknown_state_layout}
    end;
sup_state_info(_State) ->
    {error, unknown_state_layout}.

%% The strategy is field 3 in every release we know; if a release moves it, look for the
%% first strategy atom followed (3 and 4 fields later) by two integers and a list.
record_layout(State) ->
    Candidates = [3 | lists:seq(2, min(tuple_size(State) - 5, 8))],
    case [Pos || Pos <- Candidates, layout_fits(State, Pos)] of
        [Pos | _] -> {ok, Pos};
        [] -> error
    end.

layout_fits(State, Pos) when Pos + 5 =< tuple_size(State) ->
    lists:member(element(Pos, State), [one_for_one, one_for_all, rest_for_one,
                                       simple_one_for_one])
        andalso is_integer(element(Pos + 3, State))
        andalso is_integer(element(Pos + 4, State))
        andalso is_list(element(Pos + 5, State));
layout_fits(_State, _Pos) ->
    false.

%% Supervisors keep restart times as erlang:monotonic_time(second) and count those with
%% Time >= Now - Period; the list is pruned only at the next restart, so filter here.
restart_window(Restarts, Period) when is_integer(Period) ->
    Now = erlang:monotonic_time(second),
    Ages = [Now - T || T <- Restarts, is_integer(T), T >= Now - Period],
    #{restarts => length(Ages), restart_ages => Ages};
restart_window(_Restarts, _Period) ->
    #{restarts => unknown, restart_ages => []}.

child_count(Children) when is_map(Children) -> maps:size(Children);
child_count(_) -> unknown.

%%% Hot functions (implementation) -------------------------------------------------------

%% Applications whose modules are never counted or timed: they run under everything else
%% on the node, so a pattern on them slows every process.
refused_apps() -> [erts, kernel, stdlib, compiler, elixir, logger, runtime_tools, sasl].

refused(Format, Args) ->
    {error, {refused, unicode:characters_to_binary(io_lib:format(Format, Args))}}.

check_modules([], _Max) ->
    refused("no modules given", []);
check_modules(Modules, Max) ->
    case length(Modules) of
        N when N > Max -> refused("~b modules given; at most ~b per call", [N, Max]);
        _ -> first_refusal(Modules, core_dirs())
    end.

first_refusal([], _Dirs) ->
    ok;
first_refusal([M | Ms], Dirs) ->
    case module_refusal(M, Dirs) of
        ok -> first_refusal(Ms, Dirs);
        Error -> Error
    end.

module_refusal('_', _Dirs) ->
    refused("'_' (every module) is refused: it would trace every call on the node", []);
module_refusal(M, _Dirs) when not is_atom(M) ->
    refused("not a module name: ~0tP", [M, 5]);
module_refusal(beam_lens_probe, _Dirs) ->
    refused("beam_lens_probe (this probe) cannot be traced", []);
module_refusal(M, Dirs) ->
    case core_app(M, Dirs) of
        none -> ok;
        App -> refused("~tw belongs to ~tw: modules of ~ts are refused (everything on the node "
                       "calls them, so tracing them slows every process)",
                       [M, App, lists:join(", ", [atom_to_list(A) || A <- refused_apps()])])
    end.

%% The application by the application controller's module lists, else by the directory
%% the module is (or would be) loaded from; preloaded modules are erts.
core_app(M, Dirs) ->
    case code:is_loaded(M) of
        {file, preloaded} -> erts;
        _ ->
            case application:get_application(M) of
                {ok, App} ->
                    case lists:member(App, refused_apps()) of
                        true -> App;
                        false -> none
                    end;
                undefined ->
                    dir_app(code:which(M), Dirs)
            end
    end.

dir_app(Path, Dirs) when is_list(Path) ->
    case [App || {App, Dir} <- Dirs, lists:prefix(Dir, Path)] of
        [App | _] -> App;
        [] -> none
    end;
dir_app(_NotAPath, _Dirs) ->
    none.

core_dirs() ->
    [{App, Dir ++ "/"} || App <- refused_apps(),
                          Dir <- [code:lib_dir(App)], is_list(Dir)].

hot_start_modules([], _OwnerPid, Functions, _Done) ->
    {ok, Functions};
hot_start_modules([M | Ms], OwnerPid, Functions, Done) ->
    %% Only loaded modules: loading one would change the node (a module not loaded has run no call).
    case erlang:module_loaded(M) of
        true ->
            Pattern = {M, '_', '_'},
            case add_undo(OwnerPid, {erlang, trace_pattern, [Pattern, false, [call_count]]}) of
                ok ->
                    N = erlang:trace_pattern(Pattern, true, [call_count]),
                    hot_start_modules(Ms, OwnerPid, Functions + N, [M | Done]);
                {error, Reason} ->
                    hot_stop(Done),
                    {error, {guardian, Reason}}
            end;
        _ ->
            hot_start_modules(Ms, OwnerPid, Functions, Done)
    end.

%% erlang:get_module_info/2 is what M:module_info/1 calls; calling it directly keeps
%% module_info out of the counts.
module_functions(M) ->
    case erlang:module_loaded(M) of
        true ->
            try erlang:get_module_info(M, functions)
            catch error:_ -> []
            end;
        false ->
            []
    end.

check_mfas([]) ->
    refused("no functions given", []);
check_mfas(MFAs) when length(MFAs) > 10 ->
    refused("~b functions given; at most 10 per call", [length(MFAs)]);
check_mfas(MFAs) ->
    case [X || X <- MFAs, not valid_mfa(X)] of
        [Bad | _] -> refused("not {Module, Function, Arity | '_'}: ~0tP", [Bad, 5]);
        [] -> first_refusal(lists:usort([M || {M, _, _} <- MFAs]), core_dirs())
    end.

%% trace_pattern/3 takes {M, F, A}, {M, F, '_'} and {M, '_', '_'}.
valid_mfa({M, '_', '_'}) -> is_atom(M);
valid_mfa({_M, '_', _A}) -> false;
valid_mfa({M, F, '_'}) -> is_atom(M) andalso is_atom(F);
valid_mfa({M, F, A}) -> is_atom(M) andalso is_atom(F) andalso is_integer(A)
                            andalso A >= 0 andalso A =< 255;
valid_mfa(_) -> false.

%% The sink is registered first and the others checked after: of two concurrent starts
%% (this and trace_start/1, which registers its tracer and then looks for a sink) at least
%% one sees the other.
call_time_window(MFAs, WindowMs) ->
    case start_sink(self()) of
        {ok, Sink} ->
            case tracing_busy(call, Sink) of
                free ->
                    call_time_traced(MFAs, WindowMs, Sink);
                Busy ->
                    stop_sink(Sink),
                    {error, Busy}
            end;
        {error, _} = Error ->
            Error
    end.

call_time_traced(MFAs, WindowMs, Sink) ->
    Undos = [{erlang, trace, [all, false, [call]]}
             | [{erlang, trace_pattern, [MFA, false, [call_time]]} || MFA <- MFAs]],
    case group_add(self(), caller_owner(), Undos) of
        ok ->
            try
                _ = erlang:trace(all, true, [call, {tracer, Sink}]),
                [erlang:trace_pattern(MFA, true, [call_time]) || MFA <- MFAs],
                receive after WindowMs -> ok end,
                %% Paused patterns keep their counters: every row is read at the same point.
                [erlang:trace_pattern(MFA, pause, [call_time]) || MFA <- MFAs],
                call_time_rows(MFAs)
            after
                [catch erlang:trace_pattern(MFA, false, [call_time]) || MFA <- MFAs],
                catch erlang:trace(all, false, [call]),
                _ = group_remove(self()),
                stop_sink(Sink)
            end;
        {error, Reason} ->
            stop_sink(Sink),
            {error, {guardian, Reason}}
    end.

call_time_rows(MFAs) ->
    Rows = lists:foldl(
             fun({M, F, A}, Acc) when is_integer(A) ->
                     Acc#{{M, F, A} => call_time_row(M, F, A)};
                ({M, F, '_'}, Acc) ->
                     lists:foldl(fun({F1, A1}, Acc1) when F =:= '_'; F1 =:= F ->
                                         case call_time_row(M, F1, A1) of
                                             {_, _, _, 0, _} -> Acc1;
                                             Row -> Acc1#{{M, F1, A1} => Row}
                                         end;
                                    (_, Acc1) -> Acc1
                                 end, Acc, module_functions(M))
             end, #{}, MFAs),
    Sorted = lists:sort(fun({_, _, _, _, X}, {_, _, _, _, Y}) -> X >= Y end, maps:values(Rows)),
    lists:sublist(Sorted, 500).

call_time_row(M, F, A) ->
    case erlang:trace_info({M, F, A}, call_time) of
        {call_time, PerProcess} when is_list(PerProcess) ->
            {Calls, Us} = lists:foldl(fun({_Pid, C, S, U}, {C0, U0}) ->
                                              {C0 + C, U0 + S * 1000000 + U}
                                      end, {0, 0}, PerProcess),
            {M, F, A, Calls, Us};
        _ ->
            {M, F, A, 0, 0}
    end.

%% One tracer-like process at a time: the tracer and the sink both become tracers of
%% processes (a process has one tracer) and both clear flags on all processes when done.
%% Default flags for new processes mean another tool traces: leave it alone. Mine is the
%% caller's own tracer or sink, already registered.
tracing_busy(Kind, Mine) ->
    case {whereis(beam_lens_tracer), whereis(beam_lens_sink)} of
        {T, _} when is_pid(T), T =/= Mine -> {busy, T};
        {_, S} when is_pid(S), S =/= Mine -> {busy, S};
        _ when Kind =:= call ->
            case erlang:trace_info(new, flags) of
                {flags, []} -> free;
                _ -> {busy, {new_processes_traced_by, new_tracer()}}
            end;
        _ ->
            free
    end.

new_tracer() ->
    case erlang:trace_info(new, tracer) of
        {tracer, Tracer} -> Tracer;
        Other -> Other
    end.

start_sink(Caller) ->
    Tag = make_ref(),
    {Pid, MRef} = spawn_opt(fun() -> sink_init(Caller, Tag) end,
                            [monitor, {message_queue_data, off_heap}]),
    receive
        {Tag, registered} ->
            erlang:demonitor(MRef, [flush]),
            {ok, Pid};
        {'DOWN', MRef, process, Pid, _} ->
            {error, {busy, whereis(beam_lens_sink)}}
    end.

sink_init(Caller, Tag) ->
    case catch register(beam_lens_sink, self()) of
        true ->
            detach_group_leader(),
            Ref = erlang:monitor(process, Caller),
            Caller ! {Tag, registered},
            sink_loop(Caller, Ref);
        _ ->
            ok
    end.

%% Discards everything (call trace messages of patterns other tools may have set) until
%% the caller says stop or dies.
sink_loop(Caller, Ref) ->
    receive
        {beam_lens_stop, Caller} -> ok;
        {'DOWN', Ref, process, _, _} -> ok;
        _ -> sink_loop(Caller, Ref)
    end.

stop_sink(Sink) ->
    Ref = erlang:monitor(process, Sink),
    Sink ! {beam_lens_stop, self()},
    receive
        {'DOWN', Ref, process, Sink, _} -> ok
    after 5000 ->
            exit(Sink, kill),
            receive {'DOWN', Ref, process, Sink, _} -> ok end
    end.

detach_group_leader() ->
    case whereis(user) of
        undefined -> ok;
        User -> group_leader(User, self())
    end.

%%% Tracer and system monitor (implementation) --------------------------------------------

%% The state of a tracer (kind call | messages) or system monitor (kind system_monitor).
%% next is the earliest of the rate window's end and the deadline: until then a trace
%% message costs one clock read and a comparison. suspended: the window's quota is used
%% up and the tracer has switched its trace off at the source until the window ends.
-record(lens, {kind, owner, oref, mfa, pid, pref, settings,
               count, per, win_end, win_n = 0, suspended = false,
               cap, events = 0, dropped = 0,
               deadline, next, check_ms, max_chars, seen = 0,
               rq_limit = infinity, rq_strikes = 0, mem_limit = infinity, mem0 = 0,
               q_limit = infinity}).

trace_config(Spec) ->
    try
        Owner = spec(owner, Spec, required, fun erlang:is_pid/1),
        Kind = spec(kind, Spec, required, fun(K) -> K =:= call orelse K =:= messages end),
        Common = common_config(Spec),
        Breaker = breaker_config(spec(breaker, Spec, #{}, fun erlang:is_map/1)),
        Specific = kind_config(Kind, Spec),
        {ok, maps:merge(Common, Specific#{owner => Owner, kind => Kind, breaker => Breaker})}
    catch
        throw:{error, _} = Error -> Error
    end.

monitor_config(Owner, Opts) ->
    try
        Common = common_config(Opts),
        Word = erlang:system_info(wordsize),
        Settings =
            [{long_gc, V} || V <- [spec(long_gc, Opts, 100, fun non_neg_or_false/1)], V =/= false]
            ++ [{long_schedule, V}
                || V <- [spec(long_schedule, Opts, 100, fun non_neg_or_false/1)], V =/= false]
            ++ [{large_heap, V} || V <- [spec(large_heap, Opts, 8 * 1024 * 1024 div Word,
                                              fun non_neg_or_false/1)], V =/= false]
            ++ [busy_port || spec(busy_port, Opts, true, fun erlang:is_boolean/1)]
            ++ [busy_dist_port || spec(busy_dist_port, Opts, true, fun erlang:is_boolean/1)],
        case Settings of
            [] -> throw({error, {bad_spec, nothing_to_monitor}});
            _ -> ok
        end,
        {ok, Common#{owner => Owner, kind => system_monitor, settings => Settings}}
    catch
        throw:{error, _} = Error -> Error
    end.

non_neg_or_false(false) -> true;
non_neg_or_false(N) -> is_integer(N) andalso N >= 0.

spec(Key, Spec, Default, Valid) ->
    case maps:find(Key, Spec) of
        {ok, Value} ->
            case Valid(Value) of
                true -> Value;
                false -> throw({error, {bad_spec, Key}})
            end;
        error when Default =:= required ->
            throw({error, {bad_spec, Key}});
        error ->
            Default
    end.

int_between(Min, Max) ->
    fun(N) -> is_integer(N) andalso N >= Min andalso N =< Max end.

common_config(Spec) ->
    #{rate => spec(rate, Spec, {100, 1000},
                   fun({C, P}) -> is_integer(C) andalso C >= 1 andalso C =< 100000
                                      andalso is_integer(P) andalso P >= 1 andalso P =< 3600000;
                      (_) -> false
                   end),
      cap => spec(cap, Spec, 1000, int_between(1, 1000000)),
      deadline_ms => spec(deadline_ms, Spec, 60000, int_between(1, 3600000)),
      max_chars => spec(max_chars, Spec, 200, int_between(1, 65536))}.

breaker_config(B) ->
    #{run_queue => spec(run_queue, B, 2 * erlang:system_info(schedulers_online),
                        int_between(1, 1 bsl 40)),
      memory_growth => spec(memory_growth, B, 200 * 1024 * 1024, int_between(1, 1 bsl 60)),
      tracer_queue => spec(tracer_queue, B, 1000, int_between(1, 1 bsl 40)),
      check_ms => spec(check_ms, B, 250, int_between(10, 60000))}.

kind_config(call, Spec) ->
    {M, _, _} = MFA = spec(mfa, Spec, required, fun valid_mfa/1),
    case M of
        '_' -> throw(refused("'_' as module is refused: it would trace every call on the node", []));
        beam_lens_probe -> throw(refused("beam_lens_probe (this probe) cannot be traced", []));
        _ -> ok
    end,
    Return = spec(return, Spec, false, fun erlang:is_boolean/1),
    MatchSpec = case spec(match, Spec, undefined, fun(X) -> X =:= undefined orelse is_list(X) end) of
                    undefined when Return -> [{'_', [], [{exception_trace}]}];
                    undefined -> [{'_', [], []}];
                    Given -> check_match_spec(Given)
                end,
    %% Nothing is loaded on the target for us: a module not loaded yet has run no call to trace.
    case erlang:module_loaded(M) of
        true -> ok;
        false -> throw(refused("~tp is not loaded on this node (none of its functions has been called since the node started); BEAM Lens does not load modules on the target: trace a loaded module, or trace again once the code has run", [M]))
    end,
    #{mfa => MFA, match => MatchSpec, args => spec(args, Spec, true, fun erlang:is_boolean/1)};
kind_config(messages, Spec) ->
    Pid = spec(pid, Spec, required, fun erlang:is_pid/1),
    case node(Pid) =:= node() andalso is_process_alive(Pid) of
        true -> #{pid => Pid};
        false -> throw({error, {no_process, Pid}})
    end.

%% A match spec may not change trace flags or modes (trace, enable_trace, disable_trace,
%% silent, set_seq_token): the tracer could not undo those.
check_match_spec(MatchSpec) ->
    case catch erlang:match_spec_test([], MatchSpec, trace) of
        {ok, _, _, _} -> ok;
        {error, Errors} -> throw({error, {bad_match_spec, Errors}});
        _ -> throw({error, {bad_match_spec, MatchSpec}})
    end,
    case [A || {_, _, Body} <- MatchSpec, A <- flag_actions(Body)] of
        [] -> MatchSpec;
        [Action | _] ->
            throw(refused("match spec action ~tw changes trace flags and is refused", [Action]))
    end.

flag_actions(Term) when is_tuple(Term), tuple_size(Term) > 0 ->
    Head = element(1, Term),
    Own = [Head || lists:member(Head, [trace, enable_trace, disable_trace, silent,
                                        set_seq_token])],
    Own ++ lists:append([flag_actions(E) || E <- tl(tuple_to_list(Term))]);
flag_actions([H | T]) ->
    flag_actions(H) ++ flag_actions(T);
flag_actions(_) ->
    [].

%% Spawns the tracer or monitor, which registers Name (so there is one at a time) and
%% sets itself up; the caller gets {ok, Pid} or the reason it gave up.
start_worker(Name, Config) ->
    Tag = make_ref(),
    Parent = self(),
    {Pid, MRef} = spawn_opt(fun() -> worker_init(Name, Parent, Tag, Config) end,
                            [monitor, {message_queue_data, off_heap}]),
    receive
        {Tag, Reply} ->
            erlang:demonitor(MRef, [flush]),
            Reply;
        {'DOWN', MRef, process, Pid, Reason} ->
            {error, {start_failed, Reason}}
    after 30000 ->
            exit(Pid, kill),
            erlang:demonitor(MRef, [flush]),
            {error, timeout}
    end.

worker_init(Name, Parent, Tag, Config) ->
    case catch register(Name, self()) of
        true ->
            detach_group_leader(),
            case worker_setup(Config) of
                {ok, State} ->
                    Parent ! {Tag, {ok, self()}},
                    worker_loop(State);
                {error, _} = Error ->
                    Parent ! {Tag, Error}
            end;
        _ ->
            Parent ! {Tag, {error, {busy, whereis(Name)}}}
    end.

%% Undo actions are registered (grouped under this process) before anything is set.
worker_setup(#{kind := system_monitor, owner := Owner, settings := Settings} = Config) ->
    ORef = erlang:monitor(process, Owner),
    case group_add(self(), Owner, [{erlang, system_monitor, [undefined]}]) of
        ok ->
            %% system_monitor/2 swaps atomically: if someone took it since the caller
            %% looked, give it back.
            case erlang:system_monitor(self(), Settings) of
                undefined ->
                    {ok, new_state(Config, ORef)};
                {Holder, _} = Previous ->
                    _ = erlang:system_monitor(Previous),
                    _ = group_remove(self()),
                    erlang:demonitor(ORef, [flush]),
                    {error, {busy, Holder}}
            end;
        {error, Reason} ->
            erlang:demonitor(ORef, [flush]),
            {error, {guardian, Reason}}
    end;
worker_setup(#{kind := Kind, owner := Owner} = Config) ->
    case tracer_free(Config) of
        ok ->
            ORef = erlang:monitor(process, Owner),
            case group_add(self(), Owner, trace_undo(Config)) of
                ok ->
                    case catch set_trace(Config) of
                        ok ->
                            State = new_state(Config, ORef),
                            case Config of
                                #{pid := Pid} ->
                                    {ok, State#lens{pref = erlang:monitor(process, Pid)}};
                                _ ->
                                    {ok, State}
                            end;
                        Failed ->
                            unset_trace(Kind, Config),
                            _ = group_remove(self()),
                            erlang:demonitor(ORef, [flush]),
                            case Failed of
                                {error, _} -> Failed;
                                {'EXIT', {Reason, _}} -> {error, Reason};
                                Other -> {error, Other}
                            end
                    end;
                {error, Reason} ->
                    erlang:demonitor(ORef, [flush]),
                    {error, {guardian, Reason}}
            end;
        {error, _} = Error ->
            Error
    end.

tracer_free(#{kind := call}) ->
    case tracing_busy(call, self()) of
        free -> ok;
        Busy -> {error, Busy}
    end;
tracer_free(#{kind := messages, pid := Pid}) ->
    case tracing_busy(messages, self()) of
        free ->
            case erlang:trace_info(Pid, tracer) of
                {tracer, []} -> ok;
                {tracer, Tracer} -> {error, {already_traced, Pid, Tracer}};
                undefined -> {error, {no_process, Pid}}
            end;
        Busy ->
            {error, Busy}
    end.

%% The timestamp flag is removed with the others: left alone it stays on every process.
trace_undo(#{kind := call, mfa := MFA}) ->
    [{erlang, trace_pattern, [MFA, false, [local]]},
     {erlang, trace, [all, false, [call, monotonic_timestamp]]}];
trace_undo(#{kind := messages, pid := Pid}) ->
    [{erlang, trace, [Pid, false, [send, 'receive', monotonic_timestamp]]}].

set_trace(#{kind := call, mfa := MFA, match := MatchSpec}) ->
    case erlang:trace_pattern(MFA, MatchSpec, [local]) of
        0 ->
            {error, {no_such_function, MFA}};
        _ ->
            _ = erlang:trace(all, true, [call, monotonic_timestamp, {tracer, self()}]),
            %% 'all' includes the tracer: it must not trace its own calls.
            _ = erlang:trace(self(), false, [call, monotonic_timestamp]),
            ok
    end;
set_trace(#{kind := messages, pid := Pid}) ->
    try erlang:trace(Pid, true, [send, 'receive', monotonic_timestamp, {tracer, self()}]) of
        1 -> ok
    catch
        error:badarg -> {error, {no_process, Pid}}
    end.

%% Over the rate for the rest of a window: switch the trace off where it is generated, so
%% the traced processes stop paying for events that would be dropped (the call pattern of
%% one MFA costs ~20 us to toggle; the process flags on all processes are left alone).
suspend_trace(#lens{kind = call, mfa = MFA}) ->
    _ = (catch erlang:trace_pattern(MFA, false, [local])),
    ok;
suspend_trace(#lens{kind = messages, pid = Pid}) ->
    _ = (catch erlang:trace(Pid, false, [send, 'receive'])),
    ok.

resume_trace(#lens{kind = call, mfa = MFA, settings = #{match := MatchSpec}}) ->
    _ = (catch erlang:trace_pattern(MFA, MatchSpec, [local])),
    ok;
resume_trace(#lens{kind = messages, pid = Pid}) ->
    Self = self(),
    case erlang:trace_info(Pid, tracer) of
        {tracer, T} when T =:= []; T =:= Self ->
            try erlang:trace(Pid, true, [send, 'receive', monotonic_timestamp, {tracer, Self}]) of
                _ -> ok
            catch
                error:badarg -> process_down
            end;
        {tracer, _Other} -> taken_over;
        undefined -> process_down
    end.

unset_trace(call, #{mfa := MFA}) ->
    _ = (catch erlang:trace_pattern(MFA, false, [local])),
    _ = (catch erlang:trace(all, false, [call, monotonic_timestamp])),
    ok;
unset_trace(messages, #{pid := Pid}) ->
    _ = (catch erlang:trace(Pid, false, [send, 'receive', monotonic_timestamp])),
    ok.

new_state(Config, ORef) ->
    Now = erlang:monotonic_time(millisecond),
    {Count, Per} = maps:get(rate, Config),
    DeadlineMs = maps:get(deadline_ms, Config),
    Breaker = maps:get(breaker, Config, #{}),
    CheckMs = maps:get(check_ms, Breaker, 250),
    erlang:send_after(CheckMs, self(), beam_lens_tick),
    erlang:send_after(DeadlineMs, self(), beam_lens_deadline),
    #lens{kind = maps:get(kind, Config), owner = maps:get(owner, Config), oref = ORef,
          mfa = maps:get(mfa, Config, undefined), pid = maps:get(pid, Config, undefined),
          settings = Config,
          count = Count, per = Per, win_end = Now + Per,
          cap = maps:get(cap, Config), deadline = Now + DeadlineMs,
          next = min(Now + Per, Now + DeadlineMs), check_ms = CheckMs,
          max_chars = maps:get(max_chars, Config),
          rq_limit = maps:get(run_queue, Breaker, infinity),
          mem_limit = maps:get(memory_growth, Breaker, infinity),
          mem0 = erlang:memory(total),
          q_limit = maps:get(tracer_queue, Breaker, infinity)}.

%% Every message is taken from the head of the queue (no selective receive, which would
%% scan a long queue). Over the rate a trace message is dropped without being looked at.
worker_loop(S) ->
    receive
        Msg -> worker_msg(Msg, S)
    end.

worker_msg(Msg, #lens{seen = Seen0} = S0)
  when is_tuple(Msg), (element(1, Msg) =:= trace_ts orelse element(1, Msg) =:= monitor) ->
    Seen = Seen0 + 1,
    S = S0#lens{seen = Seen},
    case Seen band 255 of
        0 ->
            case queue_check(S) of
                ok -> clocked(Msg, S);
                {breaker, Info} -> worker_finish(breaker, Info, S)
            end;
        _ ->
            clocked(Msg, S)
    end;
worker_msg({'DOWN', ORef, process, _, _}, #lens{oref = ORef} = S) ->
    worker_finish(owner_down, undefined, S);
worker_msg({'DOWN', PRef, process, _, _}, #lens{pref = PRef} = S) when is_reference(PRef) ->
    worker_finish(process_down, undefined, S);
worker_msg(beam_lens_resume, #lens{suspended = true} = S) ->
    case resume_trace(S) of
        ok ->
            case timed(erlang:monotonic_time(millisecond), S#lens{suspended = false}) of
                {stop, Reason} -> worker_finish(Reason, undefined, S);
                S1 -> worker_loop(S1)
            end;
        Reason ->
            worker_finish(Reason, undefined, S)
    end;
worker_msg({beam_lens_stop, _From}, S) ->
    worker_finish(stopped, undefined, S);
worker_msg(beam_lens_deadline, S) ->
    worker_finish(deadline, undefined, S);
worker_msg(beam_lens_tick, #lens{check_ms = CheckMs} = S) ->
    erlang:send_after(CheckMs, self(), beam_lens_tick),
    case checks(S) of
        {ok, S1} ->
            case timed(erlang:monotonic_time(millisecond), S1) of
                {stop, Reason} -> worker_finish(Reason, undefined, S1);
                S2 -> worker_loop(S2)
            end;
        {stop, Reason, Info, S1} ->
            worker_finish(Reason, Info, S1)
    end;
worker_msg(_Other, S) ->
    worker_loop(S).

clocked(Msg, #lens{next = Next} = S) ->
    Now = erlang:monotonic_time(millisecond),
    case Now < Next of
        true ->
            forward(Msg, Now, S);
        false ->
            case timed(Now, S) of
                {stop, Reason} -> worker_finish(Reason, undefined, S);
                S1 -> forward(Msg, Now, S1)
            end
    end.

timed(Now, #lens{deadline = Deadline}) when Now >= Deadline ->
    {stop, deadline};
timed(Now, #lens{win_end = WinEnd, per = Per, deadline = Deadline} = S) ->
    case Now >= WinEnd of
        true -> S#lens{win_n = 0, win_end = Now + Per, next = min(Now + Per, Deadline)};
        false -> S#lens{next = min(WinEnd, Deadline)}
    end.

forward(Msg, _Now, #lens{win_n = N, count = Count, owner = Owner} = S) when N < Count ->
    case event(Msg, S) of
        skip ->
            worker_loop(S);
        Event ->
            Tagged = case S#lens.kind of
                         system_monitor -> {beam_lens_monitor, self(), Event};
                         _ -> {beam_lens_trace, self(), Event}
                     end,
            %% Never block on a busy distribution connection: drop instead.
            case erlang:send(Owner, Tagged, [noconnect, nosuspend]) of
                ok ->
                    Events = S#lens.events + 1,
                    S1 = S#lens{win_n = N + 1, events = Events},
                    case Events >= S#lens.cap of
                        true -> worker_finish(cap, undefined, S1);
                        false -> worker_loop(S1)
                    end;
                _ ->
                    worker_loop(S#lens{dropped = S#lens.dropped + 1})
            end
    end;
forward(_Msg, Now, #lens{kind = Kind, suspended = false, win_end = WinEnd,
                         dropped = Dropped} = S)
  when Kind =/= system_monitor, WinEnd - Now >= 5 ->
    suspend_trace(S),
    erlang:send_after(WinEnd - Now, self(), beam_lens_resume),
    worker_loop(S#lens{suspended = true, dropped = Dropped + 1});
forward(_Msg, _Now, #lens{dropped = Dropped} = S) ->
    worker_loop(S#lens{dropped = Dropped + 1}).

queue_check(#lens{q_limit = infinity}) ->
    ok;
queue_check(#lens{q_limit = Limit}) ->
    case erlang:process_info(self(), message_queue_len) of
        {message_queue_len, Q} when Q > Limit ->
            {breaker, #{what => tracer_queue, value => Q, limit => Limit}};
        _ ->
            ok
    end.

%% Every check_ms: the circuit breaker (tracers) or whether the system monitor is still
%% ours (monitor).
checks(#lens{kind = system_monitor} = S) ->
    Self = self(),
    case erlang:system_monitor() of
        {Self, _} -> {ok, S};
        _ -> {stop, taken_over, undefined, S}
    end;
checks(#lens{rq_limit = RqLimit, rq_strikes = Strikes, mem_limit = MemLimit, mem0 = Mem0} = S) ->
    case queue_check(S) of
        {breaker, Info} ->
            {stop, breaker, Info, S};
        ok ->
            Growth = erlang:memory(total) - Mem0,
            RunQueue = run_queue(),
            if
                Growth > MemLimit ->
                    {stop, breaker, #{what => memory, value => Growth, limit => MemLimit}, S};
                RunQueue > RqLimit, Strikes >= 2 ->
                    {stop, breaker, #{what => run_queue, value => RunQueue, limit => RqLimit}, S};
                RunQueue > RqLimit ->
                    {ok, S#lens{rq_strikes = Strikes + 1}};
                true ->
                    {ok, S#lens{rq_strikes = 0}}
            end
    end.

run_queue() ->
    try erlang:statistics(total_run_queue_lengths)
    catch error:badarg -> erlang:statistics(run_queue)
    end.

worker_finish(Reason, _Breaker, #lens{kind = system_monitor, owner = Owner} = S) ->
    Self = self(),
    case erlang:system_monitor() of
        {Self, _} -> _ = erlang:system_monitor(undefined);
        _ -> ok
    end,
    _ = group_remove(self()),
    erlang:demonitor(S#lens.oref, [flush]),
    Summary = #{reason => Reason, events => S#lens.events, dropped => S#lens.dropped},
    notify(Reason, Owner, {beam_lens_monitor_done, self(), Summary}),
    exit(normal);
worker_finish(Reason, Breaker, #lens{kind = Kind, owner = Owner, settings = Config} = S) ->
    unset_trace(Kind, Config),
    Dropped = drain(S#lens.dropped),
    _ = group_remove(self()),
    erlang:demonitor(S#lens.oref, [flush]),
    is_reference(S#lens.pref) andalso erlang:demonitor(S#lens.pref, [flush]),
    Summary = #{reason => Reason, events => S#lens.events, dropped => Dropped,
                breaker => Breaker},
    notify(Reason, Owner, {beam_lens_trace_done, self(), Summary}),
    exit(normal).

notify(owner_down, _Owner, _Msg) -> ok;
notify(_Reason, Owner, Msg) -> _ = erlang:send(Owner, Msg, [noconnect]), ok.

%% After the flags are off, trace messages already sent are still on their way:
%% trace_delivered/1 answers after all of them have arrived. They are counted as dropped
%% and thrown away (at most 5 s; whatever is left goes with the process).
drain(Dropped) ->
    Ref = erlang:trace_delivered(all),
    drain(Ref, Dropped, erlang:monotonic_time(millisecond) + 5000).

drain(Ref, Dropped, Deadline) ->
    Left = max(0, Deadline - erlang:monotonic_time(millisecond)),
    receive
        {trace_delivered, all, Ref} -> Dropped;
        Msg when is_tuple(Msg), element(1, Msg) =:= trace_ts -> drain(Ref, Dropped + 1, Deadline);
        _ -> drain(Ref, Dropped, Deadline)
    after Left ->
            Dropped
    end.

%%% Events -------------------------------------------------------------------------------

event({trace_ts, Pid, call, {M, F, Args}, Ts}, S) ->
    call_event(Pid, M, F, Args, Ts, S);
event({trace_ts, Pid, call, {M, F, Args}, _Extra, Ts}, S) ->
    call_event(Pid, M, F, Args, Ts, S);
event({trace_ts, Pid, return_from, {M, F, A}, Value, Ts}, #lens{max_chars = Max} = S) ->
    case {ours(M, F, A, S), terms(S)} of
        {true, false} -> {return, Pid, mfa_text(M, F, A), <<"_">>, ts_us(Ts)};
        {true, true} -> {return, Pid, mfa_text(M, F, A), print(Value, Max), ts_us(Ts)};
        {false, _} -> skip
    end;
event({trace_ts, Pid, exception_from, {M, F, A}, {Class, Reason}, Ts},
      #lens{max_chars = Max} = S) ->
    case {ours(M, F, A, S), terms(S)} of
        {true, false} ->
            {exception, Pid, mfa_text(M, F, A), atom_to_binary(Class, utf8), ts_us(Ts)};
        {true, true} ->
            Text = [io_lib:format("~tw:", [Class]), limited(Reason, Max)],
            {exception, Pid, mfa_text(M, F, A), truncate(Text, Max), ts_us(Ts)};
        {false, _} ->
            skip
    end;
event({trace_ts, Pid, send, Msg, To, Ts}, #lens{max_chars = Max}) ->
    {send, Pid, destination(To, Max), print(Msg, Max), ts_us(Ts)};
event({trace_ts, Pid, send_to_non_existing_process, Msg, To, Ts}, #lens{max_chars = Max}) ->
    {send, Pid, destination(To, Max), print(Msg, Max), ts_us(Ts)};
event({trace_ts, Pid, 'receive', Msg, Ts}, #lens{max_chars = Max}) ->
    {'receive', Pid, print(Msg, Max), ts_us(Ts)};
event({monitor, Who, Kind, Info}, #lens{max_chars = Max}) ->
    {Kind, Who, print(Info, Max), erlang:system_time(microsecond)};
event(_Other, _S) ->
    skip.

%% 'all' processes carry the call flag, so patterns other tools set would reach us too.
call_event(Pid, M, F, Args, Ts, #lens{max_chars = Max} = S) when is_list(Args) ->
    case {ours(M, F, length(Args), S), terms(S)} of
        {true, false} ->
            {call, Pid, mfa_text(M, F, length(Args)), ts_us(Ts)};
        {true, true} ->
            Text = [io_lib:format("~tw:~tw(", [M, F]), args_text(Args, Max, []), ")"],
            {call, Pid, truncate(Text, Max), ts_us(Ts)};
        {false, _} ->
            skip
    end;
call_event(_Pid, _M, _F, _Args, _Ts, _S) ->
    skip.

%% Whether a call tracer prints terms (arguments, return values, exception reasons): args => false says no.
terms(#lens{settings = #{args := false}}) -> false;
terms(_S) -> true.

ours(M, F, A, #lens{mfa = {PM, PF, PA}}) ->
    M =:= PM andalso (PF =:= '_' orelse F =:= PF) andalso (PA =:= '_' orelse A =:= PA);
ours(_M, _F, _A, _S) ->
    false.

args_text([], _Budget, Acc) ->
    lists:reverse(Acc);
args_text(_Args, Budget, Acc) when Budget =< 0 ->
    lists:reverse(Acc);
args_text([Arg | Args], Budget, Acc) ->
    Text = lists:flatten(limited(Arg, Budget)),
    Sep = case Args of [] -> ""; _ -> ", " end,
    args_text(Args, Budget - length(Text) - 2, [Sep, Text | Acc]).

destination(To, _Max) when is_pid(To); is_port(To); is_atom(To) -> To;
destination({Name, Node} = To, _Max) when is_atom(Name), is_atom(Node) -> To;
destination(Other, Max) -> print(Other, Max).

mfa_text(M, F, A) ->
    unicode:characters_to_binary(io_lib:format("~tw:~tw/~w", [M, F, A])).

%% Printing stops after about Max characters (chars_limit), so a huge term costs about as
%% much as a small one; large binaries are referenced by the trace message, not copied.
print(Term, Max) ->
    truncate(limited(Term, Max), Max).

limited(Term, Max) ->
    try io_lib:format("~0tP", [Term, 30], [{chars_limit, Max + 3}])
    catch error:_ -> io_lib:format("~0tP", [Term, 10])
    end.

truncate(Chars, Max) ->
    Flat = lists:flatten(Chars),
    Cut = case length(Flat) > Max of
              true -> lists:sublist(Flat, Max) ++ "...";
              false -> Flat
          end,
    case unicode:characters_to_binary(Cut) of
        Bin when is_binary(Bin) -> Bin;
        _ -> list_to_binary([C || C <- Cut, C < 256])
    end.

ts_us(Ts) when is_integer(Ts) ->
    erlang:convert_time_unit(Ts + erlang:time_offset(), native, microsecond);
ts_us({Mega, Sec, Micro}) ->
    (Mega * 1000000 + Sec) * 1000000 + Micro;
ts_us(_) ->
    erlang:system_time(microsecond).

%%% Guardian --------------------------------------------------------------------------

result_ok({ok, _}) -> ok;
result_ok({error, _} = Error) -> Error.

guardian_request(Request) ->
    case ensure_guardian(3) of
        {ok, Guardian} ->
            Ref = erlang:monitor(process, Guardian),
            Guardian ! {beam_lens_request, self(), Ref, Request},
            receive
                {Ref, Reply} ->
                    erlang:demonitor(Ref, [flush]),
                    Reply;
                {'DOWN', Ref, process, _, Reason} ->
                    {error, {guardian_down, Reason}}
            after 5000 ->
                    erlang:demonitor(Ref, [flush]),
                    {error, timeout}
            end;
        {error, _} = Error ->
            Error
    end.

%% The new guardian registers itself; if another caller won that race, ours exits and the
%% winner is used.
ensure_guardian(0) ->
    {error, no_guardian};
ensure_guardian(Tries) ->
    case whereis(beam_lens_guardian) of
        undefined ->
            Parent = self(),
            Tag = make_ref(),
            {Pid, MRef} = erlang:spawn_monitor(fun() -> guardian_init(Parent, Tag) end),
            receive
                {Tag, registered} ->
                    erlang:demonitor(MRef, [flush]),
                    {ok, Pid};
                {'DOWN', MRef, process, Pid, _} ->
                    ensure_guardian(Tries - 1)
            end;
        Pid ->
            {ok, Pid}
    end.

%% No try/catch frame stays on the stack (the final purge must find no frame of this module).
guardian_init(Parent, Tag) ->
    case catch register(beam_lens_guardian, self()) of
        true ->
            %% Detach from the rpc caller's group leader, which lives on the client's node.
            case whereis(user) of
                undefined -> ok;
                User -> group_leader(User, self())
            end,
            Parent ! {Tag, registered},
            guardian_loop(#{owners => [], undo => [], groups => #{}});
        {'EXIT', {badarg, _}} ->
            ok
    end.

%% owners: [{Owner, node | MonitorRef}]; undo: [{OwnerPid, Undo}], newest first; groups:
%% Holder => {MonitorRef, OwnerPid, [Undo], newest first}, the undo actions of one live probe
%% process (tracer, system monitor, sampler, telemetry watcher, a caller inside
%% hot_call_time), run when that process dies without removing them or when its owner
%% releases or goes. OwnerPid says whose it is (belongs/2).
guardian_loop(State) ->
    receive
        {beam_lens_request, From, Ref, Request} ->
            case handle_request(Request, State) of
                {reply, Reply, State1} ->
                    From ! {Ref, Reply},
                    guardian_loop(State1);
                {reply_and_shutdown, Reply, State1} ->
                    From ! {Ref, Reply},
                    shutdown(From, State1)
            end;
        {beam_lens_unload, From} ->
            shutdown(From, State);
        {nodedown, Node} ->
            owner_gone(Node, State);
        {'DOWN', MRef, process, Pid, _Reason} ->
            #{groups := Groups} = State,
            case Groups of
                #{Pid := {MRef, _, Undos}} ->
                    run_group(Pid, Undos),
                    guardian_loop(State#{groups := maps:remove(Pid, Groups)});
                _ ->
                    owner_gone(Pid, State)
            end;
        _Stray ->
            guardian_loop(State)
    end.

handle_request({watch, Owner}, #{owners := Owners} = State) ->
    case lists:keymember(Owner, 1, Owners) of
        true ->
            {reply, {ok, self()}, State};
        false ->
            {reply, {ok, self()}, State#{owners := [{Owner, watch(Owner)} | Owners]}}
    end;
handle_request({release, Owner}, #{owners := Owners} = State) ->
    case lists:keyfind(Owner, 1, Owners) of
        {Owner, How} ->
            unwatch(Owner, How),
            State1 = drop_owner(Owner, State#{owners := lists:keydelete(Owner, 1, Owners)}),
            case State1 of
                #{owners := []} -> {reply_and_shutdown, {ok, {released, []}}, State1};
                #{owners := Rest} -> {reply, {ok, {released, [O || {O, _} <- Rest]}}, State1}
            end;
        false when Owners =:= [] ->
            %% Nobody uses it (a guardian started by a request without start/1): unload.
            {reply_and_shutdown, {ok, {not_an_owner, []}}, State};
        false ->
            {reply, {ok, {not_an_owner, [O || {O, _} <- Owners]}}, State}
    end;
handle_request({add_undo, OwnerPid, Undo}, #{undo := Undos} = State) ->
    Entry = {OwnerPid, Undo},
    {reply, {ok, added}, State#{undo := [Entry | lists:delete(Entry, Undos)]}};
handle_request({remove_undo, OwnerPid, Undo}, #{undo := Undos} = State) ->
    Mine = [E || {P, U} = E <- Undos, U =:= Undo, same_owner(P, OwnerPid)],
    {reply, {ok, removed}, State#{undo := Undos -- lists:sublist(Mine, 1)}};
handle_request({group_add, Holder, OwnerPid, Undos}, State) ->
    #{groups := Groups} = State1 = reap_groups(State),
    Entry = case Groups of
                #{Holder := {MRef, P, Old}} -> {MRef, P, lists:reverse(Undos) ++ Old};
                _ -> {erlang:monitor(process, Holder), OwnerPid, lists:reverse(Undos)}
            end,
    {reply, {ok, added}, State1#{groups := Groups#{Holder => Entry}}};
handle_request({group_remove, Holder}, #{groups := Groups} = State) ->
    case Groups of
        #{Holder := {MRef, _, _}} ->
            erlang:demonitor(MRef, [flush]),
            {reply, {ok, removed}, State#{groups := maps:remove(Holder, Groups)}};
        _ ->
            {reply, {ok, removed}, State}
    end;
handle_request(status, #{owners := Owners, undo := Undos, groups := Groups} = State) ->
    {reply, {ok, #{guardian => self(), owners => [O || {O, _} <- Owners],
                   undo => [U || {_, U} <- Undos],
                   groups => [{H, U} || {H, {_, _, U}} <- maps:to_list(Groups)],
                   belongs => [{U, P} || {P, U} <- Undos]
                       ++ [{H, P} || {H, {_, P, _}} <- maps:to_list(Groups)]}},
     State};
handle_request(Other, State) ->
    {reply, {error, {unknown_request, Other}}, State}.

%% A node that is not connected (or cannot be reached) gets a nodedown at once.
watch(Node) when is_atom(Node) ->
    erlang:monitor_node(Node, true),
    node;
watch(Pid) when is_pid(Pid) ->
    erlang:monitor(process, Pid).

unwatch(Node, node) ->
    erlang:monitor_node(Node, false);
unwatch(_Pid, MRef) ->
    erlang:demonitor(MRef, [flush]).

owner_gone(Owner, #{owners := Owners} = State) ->
    case lists:keymember(Owner, 1, Owners) of
        true ->
            case lists:keydelete(Owner, 1, Owners) of
                [] -> shutdown(none, State#{owners := []});
                Rest -> guardian_loop(drop_owner(Owner, State#{owners := Rest}))
            end;
        false ->
            guardian_loop(State)
    end.

%% What belonged to an owner that released or went while others stay: its probe processes
%% are killed (and their death awaited, so nothing is set again after the undo), then their
%% groups and its undo actions run. An undo action a remaining owner also registered is
%% kept for it. (When no owner is left, shutdown/2 undoes everything instead.)
drop_owner(_Owner, #{owners := []} = State) ->
    State;
drop_owner(Owner, #{undo := Undos, groups := Groups} = State) ->
    _ = [Cache ! {beam_lens_cache_owner_gone, Owner} || Cache <- [whereis(beam_lens_cache)], is_pid(Cache)],
    Theirs = [{H, MRef, U} || {H, {MRef, P, U}} <- maps:to_list(Groups), belongs(P, Owner)],
    lists:foreach(fun({H, MRef, U}) ->
                          exit(H, kill),
                          receive {'DOWN', MRef, process, H, _} -> ok
                          after 5000 -> erlang:demonitor(MRef, [flush])
                          end,
                          run_group(H, U)
                  end, Theirs),
    {Mine, Others} = lists:partition(fun({P, _}) -> belongs(P, Owner) end, Undos),
    Kept = [U || {_, U} <- Others],
    lists:foreach(fun({_, U}) -> apply_undo(U) end,
                  [E || {_, U} = E <- Mine, not lists:member(U, Kept)]),
    State#{undo := Others, groups := maps:without([H || {H, _, _} <- Theirs], Groups)}.

%% Whose a process or an undo action is: OwnerPid's node for a node owner (a client's pids
%% all live on its node), the pid itself for a pid owner.
belongs(OwnerPid, Owner) when is_atom(Owner), is_pid(OwnerPid) -> node(OwnerPid) =:= Owner;
belongs(OwnerPid, Owner) -> OwnerPid =:= Owner.

same_owner(P, Q) when is_pid(P), is_pid(Q), node(P) =/= node(), node(Q) =/= node() ->
    node(P) =:= node(Q);
same_owner(P, Q) ->
    P =:= Q.

%% The owner pid of a plain call: an rpc from a client runs with the client's group leader
%% (on the client's node); a local caller is its own owner.
caller_owner() ->
    GL = group_leader(),
    case node(GL) =:= node() of
        true -> self();
        false -> GL
    end.

%% Undo what was set up, stop the probe's other processes, then remove this module with one
%% pass over the processes. code:delete/1 makes this code old; the final purge is asked of
%% erts_code_purger directly (code:purge/1 would hold code_server for the whole pass, seconds at
%% a million processes, and nothing else could load code meanwhile). The guardian reaches that
%% call by tail calls only, so no frame of this module is left on its stack and the purge does
%% not need to kill it; whatever else still runs probe code (e.g. a reduction_window for an
%% owner that is gone) is killed by it. The guardian exits when the purge returns.
shutdown(Requester, #{undo := Undos, groups := Groups}) ->
    maps:fold(fun(Holder, {_, _, GroupUndos}, _) -> run_group(Holder, GroupUndos) end, ok, Groups),
    lists:foreach(fun({_, {M, F, A}}) -> catch erlang:apply(M, F, A) end, Undos),
    stop_probe_processes(),
    catch unregister(beam_lens_guardian),
    Module = beam_lens_probe,
    %% Only a module without old code can be deleted; a fresh load has none (no pass needed).
    _ = case erlang:check_old_code(Module) of
            true -> final_purge(Module);
            false -> ok
        end,
    _ = code:delete(Module),
    Deadline = erlang:monotonic_time(millisecond) + 5000,
    wait_until_out_of(Module, Requester, Deadline),
    final_purge(Module).

%% erts_code_purger:purge/1 exists from OTP 19 on (code_server itself calls it); code:purge/1 is
%% the fallback.
final_purge(Module) ->
    case erlang:function_exported(erts_code_purger, purge, 1) of
        true -> erts_code_purger:purge(Module);
        false -> code:purge(Module)
    end.

%% A group whose holder died before the guardian saw its DOWN is run before a new group
%% is added, so the new holder's settings cannot be undone by an older holder's actions.
reap_groups(#{groups := Groups} = State) ->
    Dead = [{H, MRef, U} || {H, {MRef, _, U}} <- maps:to_list(Groups), not is_process_alive(H)],
    lists:foreach(fun({H, MRef, U}) ->
                          erlang:demonitor(MRef, [flush]),
                          run_group(H, U)
                  end, Dead),
    State#{groups := maps:without([H || {H, _, _} <- Dead], Groups)}.

%% Each action under catch. Clearing the system monitor is only done while the group's
%% holder still is the system monitor: it may have been handed to another tool since.
run_group(Holder, Undos) ->
    lists:foreach(fun({erlang, system_monitor, [undefined]} = Undo) ->
                          case erlang:system_monitor() of
                              {Holder, _} -> apply_undo(Undo);
                              _ -> ok
                          end;
                     (Undo) ->
                          apply_undo(Undo)
                  end, Undos).

apply_undo({M, F, A}) ->
    catch erlang:apply(M, F, A).

group_add(Holder, OwnerPid, Undos) ->
    result_ok(guardian_request({group_add, Holder, OwnerPid, Undos})).

group_remove(Holder) ->
    case whereis(beam_lens_guardian) of
        undefined -> ok;
        _ -> result_ok(guardian_request({group_remove, Holder}))
    end.

stop_probe_processes() ->
    [exit(Pid, kill) || Name <- registered(),
                        lists:prefix("beam_lens_", atom_to_list(Name)),
                        Name =/= beam_lens_guardian,
                        Pid <- [whereis(Name)], is_pid(Pid)],
    ok.

%% The requester (unload/0 or release/1 caller) is usually still returning from this
%% module: wait, bounded, until it is gone or no longer refers to the now old code.
wait_until_out_of(_Module, none, _Deadline) ->
    ok;
wait_until_out_of(Module, Pid, Deadline) when is_pid(Pid), node(Pid) =:= node() ->
    Busy = is_process_alive(Pid) andalso
        (catch erlang:check_process_code(Pid, Module)) =:= true,
    case Busy andalso erlang:monotonic_time(millisecond) < Deadline of
        true -> receive after 10 -> wait_until_out_of(Module, Pid, Deadline) end;
        false -> ok
    end;
wait_until_out_of(_Module, _RemotePid, _Deadline) ->
    ok.

%%% Module summary ----------------------------------------------------------------------

%% @doc Processes grouped by the module they run, for the editor's lenses: one pass over
%% erlang:processes(), one row per module {Module, Count, Memory, Messages, MaxQueue,
%% MaxQueuePid}, the Limit modules with the most processes first. A process belongs to the
%% type in its process_name dictionary entry (RabbitMQ), else to the module of proc_lib's
%% '$initial_call' (GenServer, Supervisor, Agent callbacks), else to its initial call's module. Only that dictionary key is read where the running OTP can
%% (process_info(P, {dictionary, Key}), OTP 26); older releases copy the dictionary. Memory
%% is proportional to the number of modules, not of processes (no pid list is kept besides
%% the one erlang:processes/0 returns). The calling process is left out.
-spec module_summary(pos_integer()) ->
    [{module() | undefined, pos_integer(), non_neg_integer(), non_neg_integer(),
      non_neg_integer(), pid()}].
module_summary(Limit) when is_integer(Limit), Limit > 0 ->
    Self = self(),
    Items = case dict_key_supported() of
                true -> [initial_call, {dictionary, '$initial_call'}, message_queue_len, memory, {dictionary, process_name}];
                false -> [initial_call, dictionary, message_queue_len, memory]
            end,
    Acc = fold_processes(fun(P, M) when P =:= Self -> M;
                            (P, M) -> summary_add(P, Items, M)
                         end, #{}, all_processes()),
    Rows = [{Mod, N, Mem, Q, MaxQ, MaxP} || {Mod, {N, Mem, Q, MaxQ, MaxP}} <- maps:to_list(Acc)],
    lists:sublist(lists:reverse(lists:keysort(2, Rows)), Limit).

dict_key_supported() ->
    try erlang:process_info(self(), {dictionary, '$initial_call'}) of
        _ -> true
    catch
        error:badarg -> false
    end.

summary_add(P, Items, M) ->
    case erlang:process_info(P, Items) of
        [{initial_call, IC}, {_, Dict}, {message_queue_len, Q}, {memory, Mem} | Name] ->
            Mod = case summary_name(Name, Dict) of
                      undefined -> summary_module(IC, Dict);
                      Type -> Type
                  end,
            case M of
                #{Mod := {N, MemS, QS, MaxQ, MaxP}} ->
                    {MaxQ2, MaxP2} = if Q > MaxQ -> {Q, P}; true -> {MaxQ, MaxP} end,
                    M#{Mod := {N + 1, MemS + Mem, QS + Q, MaxQ2, MaxP2}};
                _ ->
                    M#{Mod => {1, Mem, Q, Q, P}}
            end;
        _ ->
            M
    end.

%% RabbitMQ names its queue, connection and channel processes in the process_name
%% dictionary entry, {Type, Name}: the Type is the module they run (a queue is started as
%% rabbit_prequeue and becomes rabbit_amqqueue_process).
summary_name([{_, {Type, _}}], _Dict) when is_atom(Type), Type =/= undefined -> Type;
summary_name([_], _Dict) -> undefined;
summary_name([], Dict) when is_list(Dict) ->
    case lists:keyfind(process_name, 1, Dict) of
        {_, {Type, _}} when is_atom(Type) -> Type;
        _ -> undefined
    end;
summary_name(_, _) -> undefined.

%% A supervisor's '$initial_call' is {supervisor, CallbackModule, 1} (supervisor_bridge and
%% RabbitMQ's supervisor2 likewise): it runs its callback module.
summary_module(_IC, {B, M, _}) when (B =:= supervisor orelse B =:= supervisor2 orelse B =:= supervisor_bridge), is_atom(M) -> M;
summary_module(_IC, {M, _, _}) when is_atom(M) -> M;
summary_module(IC, Dict) when is_list(Dict) ->
    case lists:keyfind('$initial_call', 1, Dict) of
        {_, Call} -> summary_module(IC, Call);
        false -> summary_module(IC, undefined)
    end;
summary_module({M, _, _}, _) -> M;
summary_module(_, _) -> undefined.

%%% Sampling profiler -------------------------------------------------------------------

%% @doc Starts the sampler, registered as beam_lens_sampler (one per node), which reads
%% process_info(P, [status, current_stacktrace]) of each of Pids (at most 100 local
%% processes) every interval_us microseconds and sends what it saw to Owner in batches:
%% {beam_lens_profile, Sampler, {samples, [{TimeUs, Pid, Status, StackId}], Stacks, Files}}
%% with Stacks the [{StackId, [{M, F, Arity, Line}]}] (innermost first, Line 0 when unknown)
%% first seen in this batch (each distinct stack crosses the wire once) and Files the
%% [{M, File}] of modules seen for the first time; then once
%% {beam_lens_profile, Sampler, {done, Reason, Stats}} with Reason completed | cap |
%% stopped | process_down. No trace flag, no code change: only process_info/2.
%% Bounded by duration_ms (at most 600,000) and max_samples (at most 1,000,000). While the
%% total run queue is above run_queue_limit the interval doubles (up to 8x the asked one)
%% and comes back as the queue falls. The sampler ends when Owner goes away.
-spec profile_start([pid()], pid(), map()) -> {ok, pid()} | {error, term()}.
profile_start(Pids, Owner, Opts) when is_list(Pids), is_pid(Owner), is_map(Opts) ->
    case profile_config(Pids, Opts) of
        {ok, Config} ->
            Tag = make_ref(),
            Parent = self(),
            {Pid, MRef} = spawn_opt(fun() -> sampler_init(Parent, Tag, Pids, Owner, Config) end,
                                    [monitor]),
            receive
                {Tag, Reply} ->
                    erlang:demonitor(MRef, [flush]),
                    Reply;
                {'DOWN', MRef, process, Pid, Reason} ->
                    {error, {start_failed, Reason}}
            after 10000 ->
                    exit(Pid, kill),
                    erlang:demonitor(MRef, [flush]),
                    {error, timeout}
            end;
        {error, _} = Error ->
            Error
    end.

%% @doc Asks the sampler to end (it flushes and sends done with reason stopped).
-spec profile_stop(pid()) -> ok.
profile_stop(Sampler) when is_pid(Sampler) ->
    Sampler ! beam_lens_profile_stop,
    ok.

profile_config(Pids, Opts) ->
    Get = fun(K, D) -> maps:get(K, Opts, D) end,
    IntervalUs = Get(interval_us, 10309),
    DurationMs = Get(duration_ms, 10000),
    Max = Get(max_samples, 100000),
    BatchMs = Get(batch_ms, 250),
    RqLimit = Get(run_queue_limit, 2 * erlang:system_info(schedulers_online)),
    Valid = Pids =/= [] andalso length(Pids) =< 100
        andalso lists:all(fun(P) -> is_pid(P) andalso node(P) =:= node() end, Pids)
        andalso profile_in_range(IntervalUs, 1000, 10000000)
        andalso profile_in_range(DurationMs, 1, 600000)
        andalso profile_in_range(Max, 1, 1000000)
        andalso profile_in_range(BatchMs, 10, 10000)
        andalso profile_in_range(RqLimit, 0, 1000000000),
    case Valid of
        true -> {ok, #{interval_us => IntervalUs, duration_ms => DurationMs,
                       max_samples => Max, batch_ms => BatchMs, rq_limit => RqLimit}};
        false -> {error, {bad_profile_spec, Pids, Opts}}
    end.

profile_in_range(N, Min, Max) -> is_integer(N) andalso N >= Min andalso N =< Max.

sampler_init(Parent, Tag, Pids, Owner, Config) ->
    case catch register(beam_lens_sampler, self()) of
        true ->
            detach_group_leader(),
            %% A group without undo actions: stopped when its owner releases or goes.
            _ = group_add(self(), Owner, []),
            ORef = erlang:monitor(process, Owner),
            Watched = maps:from_list([{P, erlang:monitor(process, P)} || P <- Pids]),
            #{interval_us := Interval, duration_ms := DurationMs} = Config,
            Now = erlang:monotonic_time(microsecond),
            {_, Reductions} = erlang:process_info(self(), reductions),
            S = Config#{owner => Owner, oref => ORef, pids => Watched, base_us => Interval,
                        start_us => Now, end_us => Now + DurationMs * 1000, next_us => Now,
                        flush_us => Now + maps:get(batch_ms, Config) * 1000,
                        batch => [], seen => #{}, files => [], stacks => #{}, new_stacks => [],
                        count => 0, ticks => 0,
                        late => 0, backoffs => 0, cost_us => 0, cost_max_us => 0,
                        reductions0 => Reductions, down => []},
            Parent ! {Tag, {ok, self()}},
            self() ! {timeout, none, beam_lens_sample},
            sampler_loop(S);
        _ ->
            Parent ! {Tag, {error, {busy, whereis(beam_lens_sampler)}}}
    end.

sampler_loop(#{oref := ORef, pids := Watched} = S) ->
    receive
        {timeout, _, beam_lens_sample} ->
            sampler_tick(S);
        beam_lens_profile_stop ->
            sampler_finish(stopped, S);
        {'DOWN', ORef, process, _, _} ->
            exit(normal);
        {'DOWN', _, process, Pid, Reason} when is_map_key(Pid, Watched) ->
            Down = [{Pid, iolist_to_binary(io_lib:format("~0P", [Reason, 12]))}
                    | maps:get(down, S)],
            S1 = S#{pids := maps:remove(Pid, Watched), down := Down},
            case map_size(Watched) of
                1 -> sampler_finish(process_down, S1);
                _ -> sampler_loop(S1)
            end
    end.

sampler_tick(#{pids := Watched, start_us := Start} = S0) ->
    Now = erlang:monotonic_time(microsecond),
    S1 = maps:fold(fun(Pid, _, S) -> sample_one(Pid, Now - Start, S) end, S0, Watched),
    S2 = S1#{ticks := maps:get(ticks, S1) + 1},
    S3 = case Now >= maps:get(flush_us, S2) of
             true -> sampler_backoff(sampler_flush(S2#{flush_us := Now + maps:get(batch_ms, S2) * 1000}));
             false -> S2
         end,
    case {maps:get(count, S3) >= maps:get(max_samples, S3), Now >= maps:get(end_us, S3)} of
        {true, _} -> sampler_finish(cap, S3);
        {_, true} -> sampler_finish(completed, S3);
        _ -> sampler_loop(sampler_schedule(Now, S3))
    end.

sample_one(Pid, T, #{cost_us := Cost, cost_max_us := CostMax} = S) ->
    T0 = erlang:monotonic_time(microsecond),
    Info = erlang:process_info(Pid, [status, current_stacktrace]),
    Us = erlang:monotonic_time(microsecond) - T0,
    S1 = S#{cost_us := Cost + Us, cost_max_us := max(CostMax, Us)},
    case Info of
        [{status, Status}, {current_stacktrace, Stack}] ->
            {Id, S2} = stack_id(Stack, S1),
            S2#{batch := [{T, Pid, Status, Id} | maps:get(batch, S2)],
                count := maps:get(count, S2) + 1};
        _ ->
            %% Gone: its DOWN message ends its part of the profile.
            S1
    end.

%% Distinct stacks get an id; their frames are read (and sent) only the first time.
stack_id(Stack, #{stacks := Stacks} = S) ->
    case Stacks of
        #{Stack := Id} ->
            {Id, S};
        _ ->
            Id = map_size(Stacks),
            {Frames, S1} = sample_frames(Stack, [], S),
            {Id, S1#{stacks := Stacks#{Stack => Id},
                     new_stacks := [{Id, Frames} | maps:get(new_stacks, S1)]}}
    end.

sample_frames([], Acc, S) ->
    {lists:reverse(Acc), S};
sample_frames([{M, F, A, Loc} | Rest], Acc, #{seen := Seen} = S) ->
    Arity = case A of L when is_list(L) -> length(L); N -> N end,
    Line = case lists:keyfind(line, 1, Loc) of {line, L2} when is_integer(L2) -> L2; _ -> 0 end,
    S1 = case is_map_key(M, Seen) of
             true -> S;
             false ->
                 Files = case lists:keyfind(file, 1, Loc) of
                             {file, File} -> [{M, unicode:characters_to_binary(File)} | maps:get(files, S)];
                             false -> maps:get(files, S)
                         end,
                 S#{seen := Seen#{M => true}, files := Files}
         end,
    sample_frames(Rest, [{M, F, Arity, Line} | Acc], S1);
sample_frames([_ | Rest], Acc, S) ->
    sample_frames(Rest, Acc, S).

sampler_flush(#{batch := [], files := []} = S) ->
    S;
sampler_flush(#{owner := Owner, batch := Batch, new_stacks := New, files := Files} = S) ->
    Owner ! {beam_lens_profile, self(), {samples, lists:reverse(Batch), lists:reverse(New), Files}},
    S#{batch := [], new_stacks := [], files := []}.

%% The interval doubles while the run queue is over the limit, and halves back towards
%% the asked one once the queue is at half the limit or below.
sampler_backoff(#{rq_limit := Limit, interval_us := I, base_us := Base} = S) ->
    Rq = erlang:statistics(total_run_queue_lengths),
    if
        Rq > Limit, I < Base * 8 ->
            S#{interval_us := I * 2, backoffs := maps:get(backoffs, S) + 1};
        Rq * 2 =< Limit, I > Base ->
            S#{interval_us := max(Base, I div 2)};
        true ->
            S
    end.

%% The next tick is one interval after the previous one; ticks missed while the sampler
%% was not scheduled are skipped (counted as late), never made up in a burst.
sampler_schedule(Now, #{next_us := Prev, interval_us := I} = S) ->
    {Next, Late} = case Prev + I of
                       N when N > Now -> {N, 0};
                       _ -> {Now + I, 1}
                   end,
    erlang:start_timer((Next + 999) div 1000, self(), beam_lens_sample, [{abs, true}]),
    S#{next_us := Next, late := maps:get(late, S) + Late}.

sampler_finish(Reason, S0) ->
    #{owner := Owner, start_us := Start, reductions0 := R0} = S = sampler_flush(S0),
    {_, R1} = erlang:process_info(self(), reductions),
    Stats = #{samples => maps:get(count, S), ticks => maps:get(ticks, S),
              late_ticks => maps:get(late, S), backoffs => maps:get(backoffs, S),
              interval_us => maps:get(interval_us, S), base_interval_us => maps:get(base_us, S),
              cost_us => maps:get(cost_us, S), cost_max_us => maps:get(cost_max_us, S),
              duration_us => erlang:monotonic_time(microsecond) - Start,
              reductions => R1 - R0, down => lists:reverse(maps:get(down, S))},
    Owner ! {beam_lens_profile, self(), {done, Reason, Stats}},
    exit(normal).

%%% Telemetry window ------------------------------------------------------------------

%% @doc Starts the telemetry watcher, registered as beam_lens_telemetry (one per node): it
%% attaches fun beam_lens_probe:telemetry_event/4 with telemetry:attach_many/4 under a unique
%% handler id {beam_lens_probe, Ref} to EventNames (1 to 100 full event names), counts the
%% events and aggregates their measurements for duration_ms (1 to 3,600,000) ms, then
%% detaches and sends Owner {beam_lens_telemetry, Watcher, {done, Reason, Summary}} with
%% Reason completed | stopped. The handler runs in the emitting processes and only bumps
%% counters in a public ETS table owned by the watcher: per event its count; per numeric
%% measurement its count and integer sum; for duration-like measurements (duration or a
%% key ending in _time other than monotonic_time and system_time, in native time units) a
%% log-scale histogram in microseconds (buckets 4% wide). The table holds at most
%% max_entries (default 10,000) keys; what would need more is counted as dropped. The
%% detach is registered with the guardian (grouped under the watcher) before the attach:
%% the handler goes if the watcher dies, on nodedown and on unload. The watcher ends
%% (detaching, nothing sent) when Owner goes down. Returns {ok, Watcher, HandlerId} or
%% {error, no_telemetry | {busy, Pid} | {bad_telemetry_spec, EventNames, Opts} | Reason}.
-spec telemetry_start([[atom()]], pid(), map()) -> {ok, pid(), term()} | {error, term()}.
telemetry_start(EventNames, Owner, Opts) when is_list(EventNames), is_pid(Owner), is_map(Opts) ->
    DurationMs = maps:get(duration_ms, Opts, 10000),
    MaxEntries = maps:get(max_entries, Opts, 10000),
    Valid = EventNames =/= [] andalso length(EventNames) =< 100
        andalso lists:all(fun telemetry_event_name/1, EventNames)
        andalso profile_in_range(DurationMs, 1, 3600000)
        andalso profile_in_range(MaxEntries, 10, 100000),
    %% The application's table owner; telemetry itself loads on first use like any module.
    Running = is_pid(whereis(telemetry_handler_table)),
    case {Valid, Running} of
        {false, _} ->
            {error, {bad_telemetry_spec, EventNames, Opts}};
        {true, false} ->
            {error, no_telemetry};
        {true, true} ->
            Tag = make_ref(),
            Parent = self(),
            Init = fun() -> telemetry_init(Parent, Tag, EventNames, Owner, DurationMs, MaxEntries) end,
            {Pid, MRef} = spawn_opt(Init, [monitor]),
            receive
                {Tag, Reply} ->
                    erlang:demonitor(MRef, [flush]),
                    Reply;
                {'DOWN', MRef, process, Pid, Reason} ->
                    {error, {start_failed, Reason}}
            after 10000 ->
                    exit(Pid, kill),
                    erlang:demonitor(MRef, [flush]),
                    {error, timeout}
            end
    end.

%% @doc Asks the watcher to end now (it detaches and sends done with reason stopped).
-spec telemetry_stop(pid()) -> ok.
telemetry_stop(Watcher) when is_pid(Watcher) ->
    Watcher ! beam_lens_telemetry_stop,
    ok.

%% @doc The handler attached by telemetry_start/3; runs in the process that emits the event.
%% Never raises (telemetry would log a failure and detach it).
telemetry_event(Event, Measurements, _Metadata, {beam_lens_telemetry, Tab, Max, Native}) ->
    try
        Full = ets:info(Tab, size) >= Max,
        telemetry_bump(Tab, Full, {Event, count}, 1),
        case is_map(Measurements) of
            true ->
                maps:fold(fun(K, V, _) -> telemetry_measure(Tab, Full, Event, K, V, Native) end,
                          ok, Measurements);
            false ->
                ok
        end
    catch
        _:_ -> ok
    end;
telemetry_event(_Event, _Measurements, _Metadata, _Config) ->
    ok.

telemetry_event_name([_ | _] = Name) -> lists:all(fun is_atom/1, Name);
telemetry_event_name(_) -> false.

telemetry_bump(Tab, false, Key, Incr) ->
    ets:update_counter(Tab, Key, Incr, {Key, 0});
telemetry_bump(Tab, true, Key, Incr) ->
    case ets:member(Tab, Key) of
        true -> ets:update_counter(Tab, Key, Incr);
        false -> ets:update_counter(Tab, dropped, 1)
    end.

telemetry_measure(Tab, Full, Event, K, V, Native) when is_atom(K), is_number(V) ->
    case telemetry_duration_key(K) of
        true ->
            Us = max(V, 0) * 1000000 / Native,
            telemetry_bump(Tab, Full, {Event, K, n}, 1),
            is_integer(V) andalso telemetry_bump(Tab, Full, {Event, K, sum}, V),
            telemetry_bump(Tab, Full, {Event, K, telemetry_bucket(Us)}, 1);
        false when is_integer(V) ->
            telemetry_bump(Tab, Full, {Event, K, n}, 1),
            telemetry_bump(Tab, Full, {Event, K, sum}, V);
        false ->
            telemetry_bump(Tab, Full, {Event, K, n}, 1)
    end,
    ok;
telemetry_measure(_Tab, _Full, _Event, _K, _V, _Native) ->
    ok.

telemetry_duration_key(duration) -> true;
telemetry_duration_key(monotonic_time) -> false;
telemetry_duration_key(system_time) -> false;
telemetry_duration_key(K) ->
    B = atom_to_binary(K, utf8),
    byte_size(B) > 5 andalso binary:part(B, byte_size(B) - 5, 5) =:= <<"_time">>.

%% Bucket I holds [1.04^I, 1.04^(I+1)) microseconds; below 1 ns is bucket 'zero'.
telemetry_bucket(Us) when Us < 0.001 -> zero;
telemetry_bucket(Us) -> {b, floor(math:log(Us) / math:log(1.04))}.

telemetry_init(Parent, Tag, EventNames, Owner, DurationMs, MaxEntries) ->
    case catch register(beam_lens_telemetry, self()) of
        true ->
            detach_group_leader(),
            Tab = ets:new(beam_lens_telemetry, [set, public, {write_concurrency, true}]),
            ets:insert(Tab, {dropped, 0}),
            HandlerId = {beam_lens_probe, make_ref()},
            ok = group_add(self(), Owner, [{telemetry, detach, [HandlerId]}]),
            Native = erlang:convert_time_unit(1, second, native),
            Config = {beam_lens_telemetry, Tab, MaxEntries, Native},
            case catch telemetry:attach_many(HandlerId, EventNames,
                                             fun beam_lens_probe:telemetry_event/4, Config) of
                ok ->
                    ORef = erlang:monitor(process, Owner),
                    Timer = erlang:start_timer(DurationMs, self(), beam_lens_telemetry_end),
                    Started = erlang:monotonic_time(microsecond),
                    Parent ! {Tag, {ok, self(), HandlerId}},
                    telemetry_loop(#{owner => Owner, oref => ORef, timer => Timer, tab => Tab,
                                     id => HandlerId, events => EventNames, started => Started,
                                     native => Native});
                Other ->
                    _ = group_remove(self()),
                    Parent ! {Tag, {error, {attach_failed, Other}}}
            end;
        _ ->
            Parent ! {Tag, {error, {busy, whereis(beam_lens_telemetry)}}}
    end.

telemetry_loop(#{oref := ORef, timer := Timer} = S) ->
    receive
        {timeout, Timer, beam_lens_telemetry_end} ->
            telemetry_finish(completed, S);
        beam_lens_telemetry_stop ->
            telemetry_finish(stopped, S);
        {'DOWN', ORef, process, _, _} ->
            telemetry_detach(S),
            exit(normal);
        _Stray ->
            telemetry_loop(S)
    end.

telemetry_detach(#{id := HandlerId}) ->
    _ = (catch telemetry:detach(HandlerId)),
    _ = group_remove(self()),
    ok.

telemetry_finish(Reason, #{owner := Owner, tab := Tab, events := EventNames, started := Started,
                           native := Native} = S) ->
    telemetry_detach(S),
    DurationUs = erlang:monotonic_time(microsecond) - Started,
    Rows = ets:tab2list(Tab),
    ets:delete(Tab),
    Dropped = case lists:keyfind(dropped, 1, Rows) of {dropped, D} -> D; false -> 0 end,
    Events = [telemetry_summary(E, Rows, Native) || E <- EventNames],
    Owner ! {beam_lens_telemetry, self(),
             {done, Reason, #{duration_us => DurationUs, dropped => Dropped, native => Native,
                              events => Events}}},
    exit(normal).

%% One event: #{event, count, measurements => [#{key, n, sum, duration, p50_us, p95_us,
%% p99_us, max_us}]} (sum only for integer values, in native units for duration-like keys;
%% the percentiles only for duration-like keys).
telemetry_summary(Event, Rows, Native) ->
    Count = case lists:keyfind({Event, count}, 1, Rows) of {_, C} -> C; false -> 0 end,
    Keys = lists:usort([K || {{E, K, n}, _} <- Rows, E =:= Event]),
    Ms = [telemetry_measurement(Event, K, Rows, Native) || K <- Keys],
    #{event => Event, count => Count, measurements => Ms}.

telemetry_measurement(Event, K, Rows, _Native) ->
    N = case lists:keyfind({Event, K, n}, 1, Rows) of {_, X} -> X; false -> 0 end,
    Base = #{key => K, n => N, duration => telemetry_duration_key(K)},
    WithSum = case lists:keyfind({Event, K, sum}, 1, Rows) of
                  {_, Sum} -> Base#{sum => Sum};
                  false -> Base
              end,
    Buckets = lists:sort([{telemetry_bucket_value(B), C} || {{E, K2, B}, C} <- Rows,
                                                            E =:= Event, K2 =:= K,
                                                            B =/= n, B =/= sum]),
    case Buckets of
        [] ->
            WithSum;
        _ ->
            Total = lists:sum([C || {_, C} <- Buckets]),
            {MaxUs, _} = lists:last(Buckets),
            WithSum#{p50_us => telemetry_pct(50, Total, Buckets),
                     p95_us => telemetry_pct(95, Total, Buckets),
                     p99_us => telemetry_pct(99, Total, Buckets),
                     max_us => MaxUs}
    end.

%% A bucket's value: its geometric middle (at most 2% from any value in it).
telemetry_bucket_value(zero) -> 0.0;
telemetry_bucket_value({b, I}) -> math:pow(1.04, I + 0.5).

telemetry_pct(P, Total, Buckets) ->
    Rank = max(1, ceil(P * Total / 100)),
    telemetry_pct_walk(Rank, Buckets, 0).

telemetry_pct_walk(_Rank, [{V, _}], _Acc) -> V;
telemetry_pct_walk(Rank, [{V, C} | Rest], Acc) ->
    case Acc + C >= Rank of
        true -> V;
        false -> telemetry_pct_walk(Rank, Rest, Acc + C)
    end.
