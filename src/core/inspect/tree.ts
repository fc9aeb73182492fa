// Applications and their supervision trees, walked from each application's top supervisor.
// Bounded: a supervisor with many children is shown with its count and one page of children
// (sorted by memory or mailbox on the target); a supervisor that does not answer in time is
// marked and the walk goes on.
import { BeamLensError } from '../../errors';
import { Atom, Pid, Term, Tuple, formatTerm, isAtom } from '../../etf';
import { pidText } from '../target/pids';
import type { RemoteEvaluator } from '../target/remote-eval';
import type { RpcChannel } from '../target/rpc';
import { asList, asNumber, asTuple, charlistToString } from '../target/terms';
import { IDENT_FUN, labelText } from './identity';

export interface TreeNode {
  pid: string | null;
  /** Registered name, else null. */
  name: string | null;
  /** The child id in its supervisor's spec, as Erlang prints it. */
  id?: string;
  module: string | null;
  /** The process's label (RabbitMQ's process_name, OTP 27's proc_lib label), as src/core/identity.ts reads it. */
  label?: string;
  type: 'supervisor' | 'worker';
  strategy?: string;
  intensity?: number;
  period?: number;
  /** Restarts the supervisor remembers within its current period (what counts against intensity). */
  restarts?: number;
  childCount: number;
  children: TreeNode[];
  /** True when only a page of the children is listed. */
  truncated?: boolean;
  /** Set when the supervisor did not answer in time or refused; the walk went on. */
  error?: string;
  /** A child that is restarting or not running has no pid. */
  status?: 'restarting' | 'undefined';
}

export interface ApplicationTree {
  name: string;
  description: string;
  version: string;
  supervisor: TreeNode | null;
}

export interface TreeOptions {
  /** Only this application. */
  app?: string;
  /** Children listed per supervisor before paging (default 100). */
  pageSize?: number;
  /** Page children of large supervisors by this key (default memory). */
  pageSort?: 'memory' | 'message_queue_len' | 'none';
  /** How long one supervisor may take to answer (default 2000 ms). */
  supervisorTimeoutMs?: number;
  /** Depth limit (default 32). */
  maxDepth?: number;
  /** Children skipped before the page of the supervisor the walk starts at (paging one large supervisor). */
  pageOffset?: number;
  /** Page large supervisors with the loaded probe (set by Attachment when the probe is loaded). */
  useProbe?: boolean;
}

// One round trip per supervisor: children (one page of them), their names, and the supervisor's
// own restart settings read from its state. sys:get_state is asked with a timeout and only the
// few numbers we need leave the node (a supervisor's state holds all its children's specs).
const SUPERVISOR = `${IDENT_FUN}
Call = fun(Req) -> try gen_server:call(Sup, Req, Timeout) catch exit:{timeout, _} -> timeout; exit:R -> {error, R} end end,
case Call(which_children) of
  Children when is_list(Children) ->
    N = length(Children),
    Off = min(Offset, N),
    Page = case N =< Max andalso Off =:= 0 of
      true -> Children;
      false when SortKey =:= none -> lists:sublist(Children, Off + 1, Max);
      false when UseProbe ->
        %% The probe ranks in compiled code; erl_eval would interpret one step per child.
        case beam_lens_probe:children_page(Sup, SortKey, Off, Max, Timeout) of
          {_, Rows} when is_list(Rows) -> [{Id, P, T, Ms} || {Id, P, T, Ms, _} <- Rows];
          _ -> lists:sublist(Children, Off + 1, Max)
        end;
      false ->
        %% Compiled steps only (external funs applied by lists:zipwith/3 and lists:filter/2):
        %% erl_eval would interpret one step per child. Ties keep which_children order;
        %% children without a live process come after the ranked ones.
        Ps = lists:filter(fun erlang:is_pid/1, lists:zipwith(fun erlang:element/2, lists:duplicate(N, 2), Children)),
        Vals = lists:zipwith(fun erlang:process_info/2, Ps, lists:duplicate(length(Ps), SortKey)),
        Ranked = [P || {{_, _}, P} <- lists:reverse(lists:keysort(1, lists:reverse(lists:zip(Vals, Ps))))],
        Live = length(Ranked),
        PidPage = [lists:keyfind(P, 2, Children) || P <- lists:sublist(lists:nthtail(min(Off, Live), Ranked), Max)],
        case Off + Max > Live of
          true ->
            Rest = [C || {_, P, _, _} = C <- Children, not is_pid(P) orelse erlang:process_info(P, SortKey) =:= undefined],
            PidPage ++ lists:sublist(lists:nthtail(min(max(Off - Live, 0), length(Rest)), Rest), Max - length(PidPage));
          false -> PidPage
        end
    end,
    Named = [{Id, P, T, Ms, case is_pid(P) andalso erlang:process_info(P, registered_name) of {registered_name, Nm} -> Nm; _ -> [] end,
              case is_pid(P) of true -> element(2, Ident(P)); false -> undefined end}
             || {Id, P, T, Ms} <- Page],
    %% Restart times are monotonic seconds; the list is pruned only at the next restart, so
    %% count only those inside the current period, as the supervisor itself would.
    Now = erlang:monotonic_time(second),
    Recent = fun(L, P) when is_integer(P) -> length([T || T <- L, is_integer(T), T >= Now - P]);
                (L, _) -> length(L) end,
    Info = try sys:get_state(Sup, Timeout) of
      S when is_map(S) ->
        MaxS = maps:get(max_seconds, S, undefined),
        {maps:get(strategy, S, undefined), maps:get(max_restarts, S, undefined), MaxS, Recent(maps:get(restarts, S, []), MaxS)};
      S when is_tuple(S), element(1, S) =:= state ->
        Find = fun F(I) when I + 2 =< tuple_size(S) ->
                     case {element(I, S), element(I + 1, S), element(I + 2, S)} of
                       {A, B, L} when is_integer(A), is_integer(B), is_list(L) -> {A, B, Recent(L, B)};
                       _ -> F(I + 1)
                     end;
                   F(_) -> {undefined, undefined, undefined}
               end,
        {In, Pe, Re} = Find(4),
        {element(3, S), In, Pe, Re};
      _ -> undefined
    catch _:_ -> undefined
    end,
    SupName = case erlang:process_info(Sup, registered_name) of {registered_name, SN} -> SN; _ -> [] end,
    {ok, N, Named, Info, SupName};
  Other -> Other
end.`;

const APPLICATIONS = `
[{App, Desc, Vsn, case application_controller:get_master(App) of
    undefined -> undefined;
    Master -> try application_master:get_child(Master) of {Pid, Mod} -> {Pid, Mod}; _ -> undefined catch _:_ -> undefined end
  end} || {App, Desc, Vsn} <- application:which_applications(Timeout)].`;

export async function applicationTrees(channel: RpcChannel, evaluator: RemoteEvaluator, options: TreeOptions = {}): Promise<ApplicationTree[]> {
  const timeout = options.supervisorTimeoutMs ?? 2000;
  const apps = asList(await evaluator.eval(APPLICATIONS, { Timeout: timeout }, timeout + 10_000));
  const selected = apps.map((a) => asTuple(a, 4).elements).filter(([name]) => options.app === undefined || isAtom(name, options.app));
  if (options.app !== undefined && selected.length === 0) {
    const names = apps.map((a) => (asTuple(a, 4).elements[0] as Atom).name).sort();
    throw new BeamLensError('usage', `no running application named ${options.app}; running: ${names.join(', ')}`);
  }
  return Promise.all(
    selected.map(async ([name, desc, vsn, top]) => {
      let supervisor: TreeNode | null = null;
      if (top instanceof Tuple) {
        const [pid, mod] = top.elements;
        if (pid instanceof Pid) {
          supervisor = await walkSupervisor(channel, evaluator, pid, { id: null, module: mod instanceof Atom ? mod.name : null, name: null }, options, 0);
        }
      }
      return {
        name: (name as Atom).name,
        description: safeString(desc),
        version: safeString(vsn),
        supervisor,
      };
    }),
  );
}

/** Walks one supervisor and, recursively, its supervisor children. */
export async function walkSupervisor(
  channel: RpcChannel,
  evaluator: RemoteEvaluator,
  sup: Pid,
  known: { id: Term | null; module: string | null; name: string | null },
  options: TreeOptions,
  depth: number,
): Promise<TreeNode> {
  const timeout = options.supervisorTimeoutMs ?? 2000;
  const max = options.pageSize ?? 100;
  const node: TreeNode = {
    pid: pidText(sup, channel.peer),
    name: known.name,
    ...(known.id !== null ? { id: formatTerm(known.id, { maxLength: 120, localNode: Atom.of(channel.peer) }) } : {}),
    module: known.module,
    type: 'supervisor',
    childCount: 0,
    children: [],
  };
  let reply: Term;
  try {
    reply = await evaluator.eval(
      SUPERVISOR,
      { Sup: sup, Timeout: timeout, Max: max, Offset: depth === 0 ? (options.pageOffset ?? 0) : 0, SortKey: Atom.of(options.pageSort ?? 'memory'), UseProbe: Atom.of(options.useProbe === true ? 'true' : 'false') },
      timeout * 2 + 5000,
    );
  } catch (err) {
    node.error = `did not answer: ${err instanceof Error ? err.message : String(err)}`;
    return node;
  }
  if (isAtom(reply, 'timeout')) {
    node.error = `did not answer within ${timeout} ms`;
    return node;
  }
  if (!(reply instanceof Tuple) || !isAtom(reply.elements[0], 'ok')) {
    node.error = `not a supervisor (${formatTerm(reply, { maxLength: 120 })})`;
    return node;
  }
  const [, count, page, info, supName] = reply.elements;
  node.childCount = asNumber(count);
  if (node.name === null && supName instanceof Atom) node.name = supName.name;
  if (info instanceof Tuple && info.elements.length === 4) {
    const [strategy, intensity, period, restarts] = info.elements;
    if (strategy instanceof Atom && strategy.name !== 'undefined') node.strategy = strategy.name;
    if (typeof intensity === 'number') node.intensity = intensity;
    if (typeof period === 'number') node.period = period;
    if (typeof restarts === 'number') node.restarts = restarts;
  }
  const children = asList(page).map((c) => asTuple(c, 6).elements);
  if (children.length < node.childCount) node.truncated = true;
  if (depth >= (options.maxDepth ?? 32)) {
    node.truncated = true;
    return node;
  }
  node.children = await Promise.all(
    children.map(async ([id, child, type, modules, regName, labelTerm]) => {
      const module = Array.isArray(modules) && modules[0] instanceof Atom ? modules[0].name : null;
      const name = regName instanceof Atom ? regName.name : null;
      const label = labelTerm === undefined || isAtom(labelTerm, 'undefined') ? null : labelText(labelTerm, channel.peer);
      if (isAtom(type, 'supervisor') && child instanceof Pid) {
        return walkSupervisor(channel, evaluator, child, { id: id as Term, module, name }, options, depth + 1);
      }
      const leaf: TreeNode = {
        pid: child instanceof Pid ? pidText(child, channel.peer) : null,
        name,
        id: formatTerm(id as Term, { maxLength: 120, localNode: Atom.of(channel.peer) }),
        module,
        ...(label !== null ? { label } : {}),
        type: isAtom(type, 'supervisor') ? 'supervisor' : 'worker',
        childCount: 0,
        children: [],
      };
      if (isAtom(child, 'restarting')) leaf.status = 'restarting';
      else if (!(child instanceof Pid)) leaf.status = 'undefined';
      return leaf;
    }),
  );
  return node;
}

function safeString(t: Term | undefined): string {
  try {
    return charlistToString(t);
  } catch {
    return t === undefined ? '' : formatTerm(t, { maxLength: 200 });
  }
}

/** Every node of a tree, depth first (for searches such as "where is this pid"). */
export function* walkTree(node: TreeNode, path: TreeNode[] = []): Generator<{ node: TreeNode; path: TreeNode[] }> {
  yield { node, path };
  for (const c of node.children) yield* walkTree(c, [...path, node]);
}

