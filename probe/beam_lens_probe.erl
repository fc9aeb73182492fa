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
-module(beam_lens_probe).

-export([version/0,
         top_processes/4,
         reduction_window/4,
         children_page/4,
         children_page/5,
         sup_info/2,
         start/1,
         release/1,
         unload/0,
         add_undo/1,
         remove_undo/1,
         status/0]).

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

%% @doc Version of this probe's API; the client reloads the probe when it differs.
-spec version() -> pos_integer().
version() -> 1.

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
    {Total, Ranked} = rank_processes(erlang:processes(), self(), SortKey, Offset + Limit,
                                     1, 0, 0, gb_sets:empty(), infinity),
    {Total, page_rows(Ranked, Offset, supported_items(Items))}.

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
    {Total, Ranked} = rank_deltas(erlang:processes(), self(), Before, Offset + Limit,
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

%% @doc Stops watching Owner; when no owner is left the guardian cleans up and unloads.
-spec release(owner()) -> ok | {error, term()}.
release(Owner) when is_atom(Owner); is_pid(Owner) ->
    case whereis(beam_lens_guardian) of
        undefined -> ok;
        _ -> result_ok(guardian_request({release, Owner}))
    end.

%% @doc Cleans up and unloads the probe now, whoever the owners are. Returns at once; the
%% guardian waits for the caller to leave this module's code before the final purge, so
%% the caller (an rpc worker, a shell) is not killed by it.
-spec unload() -> ok.
unload() ->
    case ensure_guardian(3) of
        {ok, Guardian} -> Guardian ! {beam_lens_unload, self()}, ok;
        {error, _} -> ok
    end.

%% @doc Registers an undo action, {M, F, A}, that the guardian applies (newest first, each
%% under catch) when it cleans up: e.g. {erlang, trace_pattern, [MFA, false, [call_count]]}
%% for a pattern the client set, so it is removed even if the client vanishes.
-spec add_undo(undo()) -> ok | {error, term()}.
add_undo({M, F, A} = Undo) when is_atom(M), is_atom(F), is_list(A) ->
    result_ok(guardian_request({add_undo, Undo})).

%% @doc Forgets an undo action the client has already carried out itself.
-spec remove_undo(undo()) -> ok | {error, term()}.
remove_undo({M, F, A} = Undo) when is_atom(M), is_atom(F), is_list(A) ->
    case whereis(beam_lens_guardian) of
        undefined -> ok;
        _ -> result_ok(guardian_request({remove_undo, Undo}))
    end.

%% @doc The guardian's pid, owners and pending undo actions (guardian undefined if none).
-spec status() -> #{guardian := pid() | undefined, owners := [owner()], undo := [undo()]}.
status() ->
    case whereis(beam_lens_guardian) of
        undefined -> #{guardian => undefined, owners => [], undo => []};
        _ ->
            case guardian_request(status) of
                {ok, Status} -> Status;
                {error, _} -> #{guardian => undefined, owners => [], undo => []}
            end
    end.

%%% Ranking ---------------------------------------------------------------------------

check_sort_key(memory) -> ok;
check_sort_key(reductions) -> ok;
check_sort_key(message_queue_len) -> ok;
check_sort_key(Other) -> erlang:error({bad_sort_key, Other}).

%% Keeps the best Keep entries of a stream of {Value, Seq, Term}. Min is the value of the
%% worst kept entry once the set is full; until then it is the atom 'infinity', which every
%% integer compares below, so with Keep = 0 nothing is ever inserted.
rank_processes([Self | Ps], Self, Key, Keep, Seq, Count, Size, Set, Min) ->
    rank_processes(Ps, Self, Key, Keep, Seq + 1, Count, Size, Set, Min);
rank_processes([P | Ps], Self, Key, Keep, Seq, Count, Size, Set, Min) ->
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
rank_processes([], _Self, _Key, _Keep, _Seq, Count, _Size, Set, _Min) ->
    {Count, descending(Set)}.

rank_deltas([Self | Ps], Self, Before, Keep, Seq, Count, Size, Set, Min) ->
    rank_deltas(Ps, Self, Before, Keep, Seq + 1, Count, Size, Set, Min);
rank_deltas([P | Ps], Self, Before, Keep, Seq, Count, Size, Set, Min) ->
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
rank_deltas([], _Self, _Before, _Keep, _Seq, Count, _Size, Set, _Min) ->
    {Count, descending(Set)}.

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

guardian_init(Parent, Tag) ->
    try register(beam_lens_guardian, self()) of
        true ->
            %% Detach from the rpc caller's group leader, which lives on the client's node.
            case whereis(user) of
                undefined -> ok;
                User -> group_leader(User, self())
            end,
            Parent ! {Tag, registered},
            guardian_loop(#{owners => [], undo => []})
    catch
        error:badarg -> ok
    end.

%% owners: [{Owner, node | MonitorRef}]; undo: newest first.
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
        {'DOWN', _MRef, process, Pid, _Reason} ->
            owner_gone(Pid, State);
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
            State1 = State#{owners := lists:keydelete(Owner, 1, Owners)},
            case State1 of
                #{owners := []} -> {reply_and_shutdown, {ok, released}, State1};
                _ -> {reply, {ok, released}, State1}
            end;
        false ->
            {reply, {ok, not_an_owner}, State}
    end;
handle_request({add_undo, Undo}, #{undo := Undos} = State) ->
    {reply, {ok, added}, State#{undo := [Undo | lists:delete(Undo, Undos)]}};
handle_request({remove_undo, Undo}, #{undo := Undos} = State) ->
    {reply, {ok, removed}, State#{undo := lists:delete(Undo, Undos)}};
handle_request(status, #{owners := Owners, undo := Undos} = State) ->
    {reply, {ok, #{guardian => self(), owners => [O || {O, _} <- Owners], undo => Undos}},
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
                Rest -> guardian_loop(State#{owners := Rest})
            end;
        false ->
            guardian_loop(State)
    end.

%% Undo what was set up, stop the probe's other processes, then remove this module. The
%% guardian runs this module's code, so the last purge is left to a process started in
%% code:purge/1 itself, which kills whatever still runs probe code (e.g. a
%% reduction_window for an owner that is gone) and then removes the old code.
shutdown(Requester, #{undo := Undos}) ->
    lists:foreach(fun({M, F, A}) -> catch erlang:apply(M, F, A) end, Undos),
    stop_probe_processes(),
    catch unregister(beam_lens_guardian),
    Module = beam_lens_probe,
    _ = code:purge(Module),
    _ = code:delete(Module),
    Deadline = erlang:monotonic_time(millisecond) + 5000,
    wait_until_out_of(Module, Requester, Deadline),
    _ = erlang:spawn(code, purge, [Module]),
    exit(normal).

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
