// Open ports (sockets, files, drivers) and ETS tables, top-N, sorted on the target.
import { Atom, Pid, Term, Tuple, formatTerm, isAtom } from '../../etf';
import { pidText } from '../target/pids';
import type { RemoteEvaluator } from '../target/remote-eval';
import { asList, asNumber, asTuple, charlistToString } from '../target/terms';
import { IDENT_FUN, type ProcessIdentity, SPEC_MODULE_FUN, identityFrom, processTitle } from './identity';

export interface PortRow {
  port: string;
  name: string;
  owner: string | null;
  ownerName: string | null;
  /** "ip:port" for sockets. */
  local: string | null;
  peer: string | null;
  /** Bytes received and sent: inet:getstat/2 for sockets, port_info/2 for other ports. */
  input: number;
  output: number;
  /** Bytes queued in the port driver (port_info queue_size). */
  queueSize: number;
  /** Sockets: packets received and sent, bytes waiting to be sent (inet:getstat/2). */
  recvCount?: number;
  sendCount?: number;
  sendPending?: number;
  /** Where input/output come from. */
  counters: 'getstat' | 'port_info';
  /** The owner by the one naming rule (src/core/identity.ts). */
  ownerTitle: string | null;
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

// Byte counts: sockets are read passively by most servers (RabbitMQ, ejabberd), and then
// port_info(P, input) stays 0: inet:getstat/2 counts what the socket really moved (recv_oct,
// send_oct) and what is waiting to be sent (send_pend). Other ports use port_info's counters.
const PORTS = `${IDENT_FUN}${SPEC_MODULE_FUN}
Addr = fun({ok, {IP, Port}}) -> {inet:ntoa(IP), Port}; (_) -> undefined end,
{Rows, _} = lists:foldl(fun(P, {Acc, Cache}) ->
  case erlang:port_info(P) of
    undefined -> {Acc, Cache};
    Info ->
      Owner = proplists:get_value(connected, Info),
      OwnerName = case is_pid(Owner) andalso erlang:process_info(Owner, registered_name) of {_, Nm} -> Nm; _ -> [] end,
      OwnerId = case is_pid(Owner) andalso OwnerName =:= [] of true -> Ident(Owner); false -> undefined end,
      {OwnerSpec, Cache2} = case OwnerId of {undefined, _, _} -> SpecModule(Owner, Cache); _ -> {undefined, Cache} end,
      Sock = lists:member(proplists:get_value(name, Info), ["tcp_inet", "udp_inet", "sctp_inet"]),
      {Local, Peer} = case Sock of
        true -> {Addr(catch inet:sockname(P)), Addr(catch inet:peername(P))};
        false -> {undefined, undefined}
      end,
      Q = case erlang:port_info(P, queue_size) of {_, QS} -> QS; _ -> 0 end,
      Stats = case Sock andalso (catch inet:getstat(P, [recv_oct, send_oct, recv_cnt, send_cnt, send_pend])) of
        {ok, St} -> {proplists:get_value(recv_oct, St, 0), proplists:get_value(send_oct, St, 0),
                     proplists:get_value(recv_cnt, St, 0), proplists:get_value(send_cnt, St, 0),
                     proplists:get_value(send_pend, St, 0), getstat};
        _ -> {proplists:get_value(input, Info, 0), proplists:get_value(output, Info, 0), 0, 0, 0, port_info}
      end,
      {[{P, proplists:get_value(name, Info), Owner, OwnerName, Local, Peer, element(1, Stats), element(2, Stats), Q, Stats, OwnerId, OwnerSpec} | Acc], Cache2}
  end end, {[], #{}}, erlang:ports()),
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
      const [port, name, owner, ownerName, local, peerAddr, input, output, queue, stats, ownerId, ownerSpec] = asTuple(r, 12).elements;
      const st = asTuple(stats, 6).elements;
      const getstat = isAtom(st[5], 'getstat');
      const registered = ownerName instanceof Atom ? ownerName.name : null;
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
        ...(getstat ? { recvCount: asNumber(st[2]), sendCount: asNumber(st[3]), sendPending: asNumber(st[4]) } : {}),
        counters: getstat ? 'getstat' : 'port_info',
        ownerTitle: owner instanceof Pid ? ownerTitleOf(identityFrom(ownerId, ownerSpec, registered, null, peer)) : null,
      };
    }),
  };
}

function ownerTitleOf(id: ProcessIdentity): string | null {
  return id.name === null && id.module === null && id.label === null ? null : processTitle(id);
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


export interface BusyPort {
  port: string;
  name: string;
  /** Bytes queued in the driver (port_info queue_size) and, for sockets, inet:getstat send_pend. */
  queueSize: number;
  sendPending: number | null;
  owner: string | null;
  ownerTitle: string | null;
  peer: string | null;
  /** The node on the other end when this is a distribution port. */
  distNode: string | null;
}

// Ports with bytes queued to send: the cheap queue_size first, details only for those.
const BUSY_PORTS = `${IDENT_FUN}${SPEC_MODULE_FUN}
Dist = maps:from_list([{Port, N} || {N, Port} <- try erlang:system_info(dist_ctrl) catch _:_ -> [] end, is_port(Port)]),
Busy = [{P, Q} || P <- erlang:ports(), {queue_size, Q} <- [erlang:port_info(P, queue_size)], Q > 0],
{Rows, _} = lists:mapfoldl(fun({P, Q}, Cache) ->
  Name = case erlang:port_info(P, name) of {name, Nm} -> Nm; _ -> "" end,
  Owner = case erlang:port_info(P, connected) of {connected, O} -> O; _ -> undefined end,
  Reg = case is_pid(Owner) andalso erlang:process_info(Owner, registered_name) of {_, R} -> R; _ -> [] end,
  Id = case is_pid(Owner) andalso Reg =:= [] of true -> Ident(Owner); false -> undefined end,
  {Spec, Cache2} = case Id of {undefined, _, _} -> SpecModule(Owner, Cache); _ -> {undefined, Cache} end,
  Pend = case catch inet:getstat(P, [send_pend]) of {ok, [{send_pend, SP}]} -> SP; _ -> undefined end,
  Peer = case catch inet:peername(P) of {ok, {IP, PN}} -> {inet:ntoa(IP), PN}; _ -> undefined end,
  {{P, Name, Q, Pend, Owner, Reg, Id, Spec, Peer, maps:get(P, Dist, undefined)}, Cache2}
end, #{}, lists:sublist(lists:reverse(lists:keysort(2, Busy)), 50)),
Rows.`;

/** Ports with bytes waiting to be sent (at most 50, most queued first). */
export async function busyPorts(evaluator: RemoteEvaluator, peer: string): Promise<BusyPort[]> {
  const reply = asList(await evaluator.eval(BUSY_PORTS, {}, 30_000));
  return reply.map((r) => {
    const [port, name, q, pend, owner, reg, id, spec, peerAddr, dist] = asTuple(r, 10).elements;
    const registered = reg instanceof Atom ? reg.name : null;
    return {
      port: formatTerm(port as Term, { localNode: Atom.of(peer) }),
      name: Array.isArray(name) ? charlistToString(name) : '',
      queueSize: asNumber(q),
      sendPending: typeof pend === 'number' ? pend : null,
      owner: owner instanceof Pid ? pidText(owner, peer) : null,
      ownerTitle: owner instanceof Pid ? ownerTitleOf(identityFrom(id, spec, registered, null, peer)) : null,
      peer: peerAddr instanceof Tuple ? `${charlistToString(peerAddr.elements[0])}:${asNumber(peerAddr.elements[1])}` : null,
      distNode: dist instanceof Atom && dist.name !== 'undefined' ? dist.name : null,
    };
  });
}
