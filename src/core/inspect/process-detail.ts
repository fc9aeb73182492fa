// One process in depth. Never fetches the message queue or the state by default: a queue can
// hold millions of messages. The first few messages are read only when asked, and only from a
// queue short enough that copying it on the target is harmless.
import { Atom, Pid, Port, Term, Tuple, formatTerm, isAtom } from '../../etf';
import { pidText } from '../target/pids';
import type { RemoteEvaluator } from '../target/remote-eval';
import { asList, asNumber, mfaToString, proplistToMap } from '../target/terms';
import { IDENT_FUN, identityFrom, processTitle } from './identity';

export interface ProcessDetail {
  pid: string;
  alive: boolean;
  name: string | null;
  initialCall: string | null;
  /** The module it runs and its label, by the one naming rule (src/core/identity.ts). */
  module?: string | null;
  label?: string | null;
  /** Its display name by that rule, for every view. */
  title?: string;
  currentFunction: string | null;
  status: string | null;
  memory: number;
  heapSize: number;
  totalHeapSize: number;
  stackSize: number;
  reductions: number;
  messageQueueLen: number;
  trapExit: boolean;
  priority: string | null;
  groupLeader: string | null;
  links: string[];
  monitors: string[];
  monitoredBy: string[];
  dictionaryKeys: string[];
  currentStacktrace: string[];
  /** Ancestors from proc_lib's $ancestors, nearest first: its place in the supervision tree. */
  ancestors: string[];
  /** Only when asked for, and only when the queue is short enough. */
  messages?: { shown: string[]; total: number; note?: string };
}

export interface DetailOptions {
  /** Include the first few messages of the queue (default false). */
  messages?: number;
  /** Refuse to read messages from a queue longer than this (default 10,000). */
  maxQueueToRead?: number;
}

const DETAIL = `${IDENT_FUN}
Items = [registered_name, initial_call, current_function, status, memory, heap_size, total_heap_size,
         stack_size, reductions, message_queue_len, trap_exit, priority, group_leader, links, monitors,
         monitored_by, current_stacktrace],
case erlang:process_info(P, Items) of
  undefined -> undefined;
  Info ->
    Dict = case erlang:process_info(P, dictionary) of {dictionary, D} -> D; _ -> [] end,
    Keys = lists:sublist([K || {K, _} <- Dict], 100),
    Ancestors = case lists:keyfind('$ancestors', 1, Dict) of {_, As} when is_list(As) -> As; _ -> [] end,
    Initial = case lists:keyfind('$initial_call', 1, Dict) of {_, MFA} -> MFA; _ -> undefined end,
    %% The queue length shown and the messages are read together (one process_info call), so
    %% they agree; the length in Info is an earlier read.
    {Len, Msgs} = case {N > 0, erlang:process_info(P, message_queue_len)} of
      {true, {_, QL}} when QL =< MaxQueue ->
        case erlang:process_info(P, [message_queue_len, messages]) of
          [{_, QL2}, {messages, Ms}] -> {QL2, lists:sublist(Ms, N)};
          _ -> {QL, []}
        end;
      {true, {_, QL}} -> {QL, skipped};
      {false, _} -> {proplists:get_value(message_queue_len, Info, 0), []};
      _ -> {0, []}
    end,
    {Info, Keys, Ancestors, Initial, Len, Msgs, Ident(P)}
end.`;

export async function processDetail(evaluator: RemoteEvaluator, peer: string, pid: Pid, options: DetailOptions = {}): Promise<ProcessDetail> {
  const n = options.messages ?? 0;
  const maxQueue = options.maxQueueToRead ?? 10_000;
  const reply = await evaluator.eval(DETAIL, { P: pid, N: n, MaxQueue: maxQueue }, 15_000);
  const text = (t: Term | undefined): string => formatTerm(t ?? [], { localNode: Atom.of(peer), maxLength: 200 });
  if (isAtom(reply, 'undefined')) {
    return emptyDetail(pidText(pid, peer));
  }
  const [info, keys, ancestors, initial, len, msgs, ident] = (reply as Tuple).elements;
  const m = proplistToMap(info);
  const name = m.get('registered_name');
  const ref = (t: Term): string => (t instanceof Pid ? pidText(t, peer) : t instanceof Port ? text(t) : text(t));
  const monitors = asList(m.get('monitors') ?? []).map((t) => (t instanceof Tuple ? ref(t.elements[1] as Term) : text(t)));
  const registered = name instanceof Atom && name.name !== '' ? name.name : null;
  const initialCall = mfaToString(initial) ?? mfaToString(m.get('initial_call'));
  const id = identityFrom(ident, undefined, registered, initialCall, peer);
  const detail: ProcessDetail = {
    pid: pidText(pid, peer),
    alive: true,
    name: registered,
    initialCall,
    module: id.module,
    label: id.label,
    title: processTitle({ ...id, pid: pidText(pid, peer) }),
    currentFunction: mfaToString(m.get('current_function')),
    status: m.get('status') instanceof Atom ? (m.get('status') as Atom).name : null,
    memory: asNumber(m.get('memory') ?? 0),
    heapSize: asNumber(m.get('heap_size') ?? 0),
    totalHeapSize: asNumber(m.get('total_heap_size') ?? 0),
    stackSize: asNumber(m.get('stack_size') ?? 0),
    reductions: asNumber(m.get('reductions') ?? 0),
    messageQueueLen: asNumber(len),
    trapExit: isAtom(m.get('trap_exit'), 'true'),
    priority: m.get('priority') instanceof Atom ? (m.get('priority') as Atom).name : null,
    groupLeader: m.get('group_leader') instanceof Pid ? pidText(m.get('group_leader') as Pid, peer) : null,
    links: asList(m.get('links') ?? []).map(ref),
    monitors,
    monitoredBy: asList(m.get('monitored_by') ?? []).map(ref),
    dictionaryKeys: asList(keys).map((k) => text(k)),
    currentStacktrace: asList(m.get('current_stacktrace') ?? []).map(frameText),
    ancestors: asList(ancestors).map((a) => (a instanceof Atom ? a.name : ref(a))),
  };
  if (n > 0) {
    const total = asNumber(len);
    detail.messages = isAtom(msgs, 'skipped')
      ? { shown: [], total, note: `the queue holds ${total} messages; reading it would copy them all on the target (limit ${maxQueue})` }
      : { shown: asList(msgs).map((msg) => text(msg)), total };
  }
  return detail;
}

function frameText(t: Term): string {
  if (t instanceof Tuple && t.elements.length === 4) {
    const [m, f, a, loc] = t.elements;
    const arity = typeof a === 'number' ? a : Array.isArray(a) ? a.length : 0;
    const where = proplistToMap(loc);
    const file = where.get('file');
    const line = where.get('line');
    const place = Array.isArray(file) && typeof line === 'number' ? ` (${String.fromCharCode(...(file as number[]))}:${line})` : '';
    return `${(m as Atom).name}:${(f as Atom).name}/${arity}${place}`;
  }
  return formatTerm(t, { maxLength: 200 });
}

function emptyDetail(pid: string): ProcessDetail {
  return {
    pid, alive: false, name: null, initialCall: null, currentFunction: null, status: null, memory: 0, heapSize: 0,
    totalHeapSize: 0, stackSize: 0, reductions: 0, messageQueueLen: 0, trapExit: false, priority: null, groupLeader: null,
    links: [], monitors: [], monitoredBy: [], dictionaryKeys: [], currentStacktrace: [], ancestors: [],
  };
}
