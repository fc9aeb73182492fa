// What a process is, named the same way in every view (process table, tree, findings, report,
// module counts). One rule, here:
//   1. its registered name;
//   2. else the module it runs and its label: RabbitMQ's `process_name` dictionary entry
//      ({Type, Name}, e.g. {rabbit_amqqueue_process, #resource{name = <<"orders">>}}), or OTP 27's
//      proc_lib label; only that key is read where the node can (process_info(P, {dictionary, K}));
//   3. the module comes from (in order) the `process_name` type, the child spec of a
//      simple_one_for_one parent (ejabberd_c2s rather than the xmpp_stream_in it starts through),
//      proc_lib's `$initial_call` (a supervisor or supervisor_bridge runs its callback module), the initial call.
import { Atom, Pid, Term, Tuple, formatModule, formatPid, formatTerm } from '../../etf';
import type { RemoteEvaluator } from '../target/remote-eval';

/**
 * An Erlang fun `Ident(P) -> {Type, Label, DictInitialCall}` read on the target (to be prefixed to
 * a snippet). Type is process_name's type atom or undefined; Label a small term or undefined;
 * labels larger than 1 KB external size become the atom too_large (nothing large leaves the node).
 */
export const IDENT_FUN = `
IdentDict = fun(IP, IKs) ->
  try [case erlang:process_info(IP, {dictionary, IK}) of {_, IV} -> IV; _ -> undefined end || IK <- IKs]
  catch error:badarg ->
    case erlang:process_info(IP, dictionary) of
      {dictionary, ID} -> [case lists:keyfind(IK, 1, ID) of {_, IV} -> IV; false -> undefined end || IK <- IKs];
      _ -> [undefined || _ <- IKs]
    end
  end
end,
IdentKeys = [process_name, '$process_label', '$initial_call'],
IdentSmall = fun(undefined) -> undefined; (T) -> case erlang:external_size(T) =< 1024 of true -> T; false -> too_large end end,
Ident = fun(IP) ->
  case IdentDict(IP, IdentKeys) of
    [{IT, IN}, _, IC] when is_atom(IT) -> {IT, IdentSmall(IN), IC};
    [undefined, undefined, IC] -> {undefined, undefined, IC};
    [undefined, IL, IC] -> {undefined, IdentSmall(IL), IC};
    [IN, _, IC] -> {undefined, IdentSmall(IN), IC}
  end
end,
`;

/**
 * (Needs IDENT_FUN before it.) An Erlang fun `SpecModule(P, Cache) -> {Module | undefined, Cache}`:
 * the first module of the child spec of P's parent when that parent is an OTP supervisor
 * (supervisor:get_childspec/2 with the child's pid answers for simple_one_for_one, `not_found`
 * otherwise), one call per parent, cached in the map. Only a parent whose callback module
 * declares the `supervisor` behaviour (Erlang, or Elixir's Supervisor), or declares none and has
 * no handle_call/3 (a bare init/1 module such as ejabberd_tmp_sup), is asked: a
 * DynamicSupervisor or RabbitMQ's supervisor2 also calls itself {supervisor, M, 1} in
 * $initial_call but does not handle get_childspec (a DynamicSupervisor crashes on it).
 */
export const SPEC_MODULE_FUN = `
SpecOtp = fun(SMod) ->
  try {proplists:get_value(behaviour, SMod:module_info(attributes), []) ++ proplists:get_value(behavior, SMod:module_info(attributes), []),
       lists:member({handle_call, 3}, SMod:module_info(exports))} of
    {[], false} -> true;
    {SBs, _} -> lists:member(supervisor, SBs) orelse lists:member('Elixir.Supervisor', SBs)
  catch _:_ -> false
  end
end,
SpecModule = fun(SP, SCache) ->
  SParent = case IdentDict(SP, ['$ancestors']) of
              [[SA | _]] -> SA;
              _ -> undefined
            end,
  SPid = if is_pid(SParent) -> SParent; is_atom(SParent), SParent =/= undefined -> whereis(SParent); true -> undefined end,
  case SPid of
    undefined -> {undefined, SCache};
    _ ->
      case SCache of
        #{SPid := SM} -> {SM, SCache};
        _ ->
          SM = case IdentDict(SPid, ['$initial_call']) of
                 [{supervisor, SCb, _}] when is_atom(SCb) ->
                   case SpecOtp(SCb) of
                     true ->
                       try supervisor:get_childspec(SPid, SP) of
                         {ok, #{modules := [SMod | _]}} when is_atom(SMod), SMod =/= dynamic -> SMod;
                         _ -> undefined
                       catch _:_ -> undefined
                       end;
                     false -> undefined
                   end;
                 _ -> undefined
               end,
          {SM, SCache#{SPid => SM}}
      end
  end
end,
`;

/** $initial_call {B, CallbackModule, 1} of these names a supervisor running CallbackModule (RabbitMQ's supervisor2 too). */
const SUPERVISOR_BEHAVIOURS = new Set(['supervisor', 'supervisor2', 'supervisor_bridge']);

export interface ProcessIdentity {
  /** Registered name, else null. */
  name: string | null;
  /** The module it runs by the rule above (raw atom text), else null. */
  module: string | null;
  /** Its label (RabbitMQ's process_name, OTP 27's proc_lib label) as text, else null. */
  label: string | null;
  /** Initial call, seen through proc_lib (raw "M:F/A"), else null. */
  initialCall: string | null;
}

/** The module and label from Ident's reply, a spec module (or undefined) and the initial call. */
export function identityFrom(reply: Term | undefined, specModule: Term | undefined, name: string | null, initialCall: string | null, peer?: string): ProcessIdentity {
  let module: string | null = null;
  let label: string | null = null;
  if (reply instanceof Tuple && reply.elements.length === 3) {
    const [type, lab, ic] = reply.elements;
    if (type instanceof Atom && type.name !== 'undefined') module = type.name;
    if (lab !== undefined && !(lab instanceof Atom && lab.name === 'undefined')) label = labelText(lab, peer);
    if (module === null && ic instanceof Tuple && ic.elements.length === 3) {
      const [m, f, a] = ic.elements;
      if (m instanceof Atom && SUPERVISOR_BEHAVIOURS.has(m.name) && f instanceof Atom) module = f.name;
      else if (m instanceof Atom) module = m.name;
      void a;
    }
  }
  if (specModule instanceof Atom && specModule.name !== 'undefined' && !(module !== null && label !== null)) module = specModule.name;
  if (module === null && initialCall !== null) module = initialCall.split(':')[0] ?? null;
  return { name, module, label, initialCall };
}

/** A label term as an operator reads it: RabbitMQ resources as `queue 'orders' in vhost '/'`. */
export function labelText(t: Term, peer?: string): string {
  if (t instanceof Atom && t.name === 'too_large') return '(label too large to show)';
  if (Buffer.isBuffer(t)) return printable(t.toString('utf8'));
  if (t instanceof Tuple) {
    const [tag, vhost, kind, name] = t.elements;
    if (t.elements.length === 4 && tag instanceof Atom && tag.name === 'resource' && Buffer.isBuffer(vhost) && kind instanceof Atom && Buffer.isBuffer(name)) {
      return `${kind.name} '${printable(name.toString('utf8'))}' in vhost '${printable(vhost.toString('utf8'))}'`;
    }
    // {ConnectionName, ChannelNumber} (RabbitMQ channels and writers).
    if (t.elements.length === 2 && Buffer.isBuffer(t.elements[0]) && typeof t.elements[1] === 'number') {
      return `${printable(t.elements[0].toString('utf8'))} channel ${t.elements[1]}`;
    }
  }
  return formatTerm(t, { maxLength: 160, ...(peer !== undefined ? { localNode: Atom.of(peer) } : {}) });
}

/** One process named by the rule, with its pid: "sysmon_handler_filter (<0.312.0>)"; read on the target. */
export async function describePid(evaluator: RemoteEvaluator, peer: string, pid: Pid): Promise<string> {
  const text = formatPid(pid, Atom.of(peer));
  try {
    const reply = await evaluator.eval(`${IDENT_FUN}{case erlang:process_info(P, registered_name) of {_, N} -> N; _ -> [] end, Ident(P)}.`, { P: pid });
    if (!(reply instanceof Tuple)) return text;
    const [reg, ident] = reply.elements;
    const id = identityFrom(ident, undefined, reg instanceof Atom ? reg.name : null, null, peer);
    return id.name === null && id.module === null ? text : `${processTitle(id)} (${text})`;
  } catch {
    return text;
  }
}

function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 160);
}

/** The one display name of a process: registered name, else module and label, else module or initial call. */
export function processTitle(p: ProcessIdentity & { pid?: string }): string {
  if (p.name !== null) return formatModule(p.name);
  const mod = p.module !== null ? formatModule(p.module) : null;
  if (mod !== null && p.label !== null) return `${mod} ${p.label}`;
  if (mod !== null) return mod;
  if (p.initialCall !== null) return p.initialCall;
  return p.pid ?? '?';
}

/** The display name with the pid when the name alone does not identify one process. */
export function processWho(p: ProcessIdentity & { pid: string }): string {
  if (p.name !== null) return formatModule(p.name);
  return `${processTitle(p)} (${p.pid})`;
}

/** A key stable across runs for the same process where one exists (name, module + label), else module + pid. */
export function identityKey(p: ProcessIdentity & { pid: string }): string {
  if (p.name !== null) return p.name;
  if (p.module !== null && p.label !== null) return `${p.module}:${p.label}`;
  return `${p.module ?? p.initialCall ?? 'process'}:${p.pid}`;
}
