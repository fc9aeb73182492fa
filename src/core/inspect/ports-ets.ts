// Open ports (sockets, files, drivers) and ETS tables, top-N, sorted on the target.
import { Atom, Pid, Term, Tuple, formatTerm, isAtom } from '../../etf';
import { pidText } from '../target/pids';
import type { RemoteEvaluator } from '../target/remote-eval';
import { asList, asNumber, asTuple, charlistToString } from '../target/terms';

export interface PortRow {
  port: string;
  name: string;
  owner: string | null;
  ownerName: string | null;
  /** "ip:port" for sockets. */
  local: string | null;
  peer: string | null;
  input: number;
  output: number;
  queueSize: number;
}

export interface EtsRow {
  id: string;
  name: string;
  owner: string | null;
  ownerName: string | null;
  type: string;
  protection: string;
  size: number;
  memoryBytes: number;
}

const PORTS = `
Addr = fun({ok, {IP, Port}}) -> {inet:ntoa(IP), Port}; (_) -> undefined end,
Rows = lists:foldl(fun(P, Acc) ->
  case erlang:port_info(P) of
    undefined -> Acc;
    Info ->
      Owner = proplists:get_value(connected, Info),
      OwnerName = case is_pid(Owner) andalso erlang:process_info(Owner, registered_name) of {_, Nm} -> Nm; _ -> [] end,
      Sock = lists:member(proplists:get_value(name, Info), ["tcp_inet", "udp_inet", "sctp_inet"]),
      {Local, Peer} = case Sock of
        true -> {Addr(catch inet:sockname(P)), Addr(catch inet:peername(P))};
        false -> {undefined, undefined}
      end,
      Q = case erlang:port_info(P, queue_size) of {_, QS} -> QS; _ -> 0 end,
      [{P, proplists:get_value(name, Info), Owner, OwnerName, Local, Peer,
        proplists:get_value(input, Info, 0), proplists:get_value(output, Info, 0), Q} | Acc]
  end end, [], erlang:ports()),
Sorted = lists:reverse(lists:sort(fun(A, B) -> element(7, A) + element(8, A) =< element(7, B) + element(8, B) end, Rows)),
{length(Rows), lists:sublist(Sorted, Limit)}.`;

const ETS = `
W = erlang:system_info(wordsize),
Rows = lists:foldl(fun(T, Acc) ->
  case catch {ets:info(T, name), ets:info(T, owner), ets:info(T, type), ets:info(T, protection),
              ets:info(T, size), ets:info(T, memory)} of
    {Nm, Ow, Ty, Pr, Sz, Me} when is_integer(Sz), is_integer(Me) ->
      OwnerName = case is_pid(Ow) andalso erlang:process_info(Ow, registered_name) of {_, On} -> On; _ -> [] end,
      [{T, Nm, Ow, OwnerName, Ty, Pr, Sz, Me * W} | Acc];
    _ -> Acc
  end end, [], ets:all()),
Key = case SortBy of size -> 7; _ -> 8 end,
{length(Rows), lists:sublist(lists:reverse(lists:keysort(Key, Rows)), Limit)}.`;

export async function topPorts(evaluator: RemoteEvaluator, peer: string, limit: number): Promise<{ total: number; rows: PortRow[] }> {
  const [total, rows] = asTuple(await evaluator.eval(PORTS, { Limit: limit }, 30_000), 2).elements;
  const endpoint = (t: Term | undefined): string | null => {
    if (!(t instanceof Tuple)) return null;
    const [ip, port] = t.elements;
    return `${charlistToString(ip)}:${asNumber(port)}`;
  };
  return {
    total: asNumber(total),
    rows: asList(rows).map((r) => {
      const [port, name, owner, ownerName, local, peerAddr, input, output, queue] = asTuple(r, 9).elements;
      return {
        port: formatTerm(port as Term, { localNode: Atom.of(peer) }),
        name: Array.isArray(name) ? charlistToString(name) : formatTerm(name ?? [], { maxLength: 80 }),
        owner: owner instanceof Pid ? pidText(owner, peer) : null,
        ownerName: ownerName instanceof Atom ? ownerName.name : null,
        local: endpoint(local),
        peer: endpoint(peerAddr),
        input: asNumber(input),
        output: asNumber(output),
        queueSize: asNumber(queue),
      };
    }),
  };
}

export async function topEtsTables(
  evaluator: RemoteEvaluator,
  peer: string,
  limit: number,
  sortBy: 'memory' | 'size' = 'memory',
): Promise<{ total: number; rows: EtsRow[] }> {
  const [total, rows] = asTuple(await evaluator.eval(ETS, { Limit: limit, SortBy: Atom.of(sortBy) }, 30_000), 2).elements;
  return {
    total: asNumber(total),
    rows: asList(rows).map((r) => {
      const [id, name, owner, ownerName, type, protection, size, memory] = asTuple(r, 8).elements;
      return {
        id: formatTerm(id as Term, { localNode: Atom.of(peer), maxLength: 80 }),
        name: name instanceof Atom ? name.name : formatTerm(name ?? [], { maxLength: 80 }),
        owner: owner instanceof Pid ? pidText(owner, peer) : null,
        ownerName: ownerName instanceof Atom ? ownerName.name : null,
        type: isAtom(type) ? type.name : '?',
        protection: isAtom(protection) ? protection.name : '?',
        size: asNumber(size),
        memoryBytes: asNumber(memory),
      };
    }),
  };
}

