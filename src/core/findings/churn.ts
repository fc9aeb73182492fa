// Connection churn: connections that open and close during a sampled window without any crash
// (clients reconnecting in a loop, a server closing connections on a send or heartbeat timeout, a
// client opening a connection per request). No supervisor restarts anything, so the restart rules
// never see it. Detected by sampling the node's TCP sockets at every tick of the window: a socket
// present now and not at the previous sample was opened, one gone was closed, and each is put
// under the process that owns it, named by the one naming rule (rabbit_reader, ejabberd_c2s, …).
// Per tick the node lists its tcp_inet ports and their owners, and answers `same` when that list is
// unchanged (its phash2); owners and peers are read only for sockets not seen before (bounded).
// A connection that opens and closes between two samples is not seen: the counts are a lower bound.
import { Atom, Pid, Port, Term, Tuple } from '../../etf';
import { IDENT_FUN, SPEC_MODULE_FUN, identityFrom, processTitle } from '../inspect/identity';
import { pidText } from '../target/pids';
import type { RemoteEvaluator } from '../target/remote-eval';
import { asList, asNumber, asTuple, charlistToString } from '../target/terms';
import { kindOf } from './process-kind';
import type { Finding } from './finding';
import { FINDING_THRESHOLDS } from './table';

/** One group of sockets: those owned by processes of one name (module or registered name). */
export interface ConnectionGroup {
  /** The owners' title by the naming rule, without a label ("rabbit_reader"). */
  owner: string;
  /** The owners' module (raw atom text), when known. */
  module: string | null;
  openAtStart: number;
  openAtEnd: number;
  opened: number;
  closed: number;
  /**
   * How long connections opened and closed inside the window lived, as the samples bound it (ms):
   * at least from the first to the last sample that saw it, at most from the sample before it
   * appeared to the one that found it gone.
   */
  lifetimesMs: Array<[number, number]>;
  /** Peer host of the connections opened in the window -> how many. */
  peers: Record<string, number>;
  /** A few owners of connections opened in the window (pid text). */
  examples: string[];
}

export interface ConnectionChurn {
  samples: number;
  /** From the first sample to the last, ms. */
  spanMs: number;
  intervalMs: number;
  groups: ConnectionGroup[];
  /** Why sampling stopped or was partial (too many sockets, an rpc failed), when it did. */
  note?: string;
}

/** Sockets above this many are not sampled per tick (the list would cost too much each second). */
const MAX_SOCKETS = 5000;
/** New sockets identified per sample (the rest are counted under "unidentified"). */
const IDENTIFY_BATCH = 200;

const SOCKETS = `
All = erlang:ports(),
case length(All) > Max of
  true -> {too_many, length(All)};
  false ->
    Ps = [{P, O} || P <- All, erlang:port_info(P, name) =:= {name, "tcp_inet"}, {connected, O} <- [erlang:port_info(P, connected)]],
    H = erlang:phash2(Ps),
    case H =:= Known of
      true -> same;
      false -> {new, H, Ps}
    end
end.`;

// The owner of each new socket named by the rule (registered name, process_name, child spec,
// $initial_call), and the socket's peer address.
const IDENTIFY = `${IDENT_FUN}${SPEC_MODULE_FUN}
{Rows, _} = lists:mapfoldl(fun(P, Cache) ->
  Owner = case erlang:port_info(P, connected) of {connected, O} -> O; _ -> undefined end,
  Reg = case is_pid(Owner) andalso erlang:process_info(Owner, registered_name) of {_, R} -> R; _ -> [] end,
  Id = case is_pid(Owner) andalso Reg =:= [] of true -> Ident(Owner); false -> undefined end,
  {Spec, Cache2} = case Id of {undefined, _, _} -> SpecModule(Owner, Cache); _ -> {undefined, Cache} end,
  IC = case is_pid(Owner) andalso erlang:process_info(Owner, initial_call) of {_, {M, F, A}} -> {M, F, A}; _ -> undefined end,
  Peer = case catch inet:peername(P) of {ok, {IP, _}} -> inet:ntoa(IP); _ -> undefined end,
  {{P, Owner, Reg, Id, Spec, IC, Peer}, Cache2}
end, #{}, Ps),
Rows.`;

interface Open {
  owner: string;
  firstSeen: number;
  lastSeen: number;
  /** Opened inside the window (not there at the first sample). */
  fresh: boolean;
  /** The sample before the one that first saw it (ms). */
  openedAfter: number;
  peer: string | null;
}

function portKey(p: Port): string {
  return `${p.node.name}/${p.id}.${p.creation}`;
}

/** Samples a node's sockets over a window; `sample()` at every tick, `result()` at the end. */
export class ConnectionSampler {
  private hash = -1;
  private readonly open = new Map<string, Open>();
  private readonly groups = new Map<string, ConnectionGroup>();
  private readonly ownerOf = new Map<string, string>();
  private samples = 0;
  private first = 0;
  private last = 0;
  private note: string | undefined;

  constructor(
    private readonly evaluator: RemoteEvaluator,
    private readonly peer: string,
    private readonly intervalMs: number,
  ) {}

  private group(owner: string, module: string | null): ConnectionGroup {
    let g = this.groups.get(owner);
    if (!g) {
      g = { owner, module, openAtStart: 0, openAtEnd: 0, opened: 0, closed: 0, lifetimesMs: [], peers: {}, examples: [] };
      this.groups.set(owner, g);
    }
    return g;
  }

  /** One sample at `at` (ms since the window started). Never throws: a failed sample is noted. */
  async sample(at: number, signal?: AbortSignal): Promise<void> {
    if (this.note?.startsWith('not sampled')) return;
    let reply: Term;
    try {
      reply = await this.evaluator.eval(SOCKETS, { Known: this.hash, Max: MAX_SOCKETS }, { timeoutMs: 10_000, ...(signal ? { signal } : {}) });
    } catch (err) {
      this.note = `a socket sample failed (${err instanceof Error ? err.message : String(err)})`;
      return;
    }
    if (reply instanceof Tuple && reply.at(0) instanceof Atom && (reply.at(0) as Atom).name === 'too_many') {
      this.note = `not sampled: ${asNumber(reply.at(1))} ports, more than ${MAX_SOCKETS} to list at every tick`;
      this.samples = 0;
      this.groups.clear();
      this.open.clear();
      return;
    }
    const isFirst = this.samples === 0;
    const previous = this.last;
    this.samples++;
    if (isFirst) this.first = at;
    this.last = at;
    if (reply instanceof Atom && reply.name === 'same') {
      for (const o of this.open.values()) o.lastSeen = at;
      return;
    }
    const t = asTuple(reply);
    this.hash = asNumber(t.at(1));
    const now = asList(t.at(2)).map((x) => asTuple(x, 2).elements as [Port, Term]);
    const seen = new Set<string>();
    const fresh: Port[] = [];
    for (const [port, owner] of now) {
      const k = portKey(port);
      seen.add(k);
      const o = this.open.get(k);
      if (o) {
        o.lastSeen = at;
        // A socket handed to another process (an acceptor gives it to the connection): renamed.
        if (owner instanceof Pid && this.ownerOf.get(owner.key) === undefined) fresh.push(port);
      } else fresh.push(port);
    }
    for (const [k, o] of this.open) {
      if (seen.has(k)) continue;
      const g = this.group(o.owner, null);
      g.closed++;
      if (o.fresh) g.lifetimesMs.push([o.lastSeen - o.firstSeen, at - o.openedAfter]);
      this.open.delete(k);
    }
    const named = await this.identify(fresh.slice(0, IDENTIFY_BATCH), signal);
    for (const port of fresh) {
      const k = portKey(port);
      const id = named.get(k) ?? { owner: this.open.get(k)?.owner ?? 'unidentified', module: null, peer: null, pid: null };
      const before = this.open.get(k);
      if (before) {
        if (before.owner !== id.owner && before.fresh) {
          // Counted as opened under the process that owns it now.
          const old = this.group(before.owner, null);
          const now = this.group(id.owner, id.module);
          old.opened--;
          now.opened++;
          if (before.peer !== null && (old.peers[before.peer] ?? 0) > 0) {
            old.peers[before.peer] = (old.peers[before.peer] ?? 1) - 1;
            if (old.peers[before.peer] === 0) delete old.peers[before.peer];
            now.peers[before.peer] = (now.peers[before.peer] ?? 0) + 1;
          }
          if (id.pid !== null && now.examples.length < 3) now.examples.push(id.pid);
        }
        before.owner = id.owner;
        continue;
      }
      const g = this.group(id.owner, id.module);
      if (g.module === null) g.module = id.module;
      this.open.set(k, { owner: id.owner, firstSeen: at, lastSeen: at, fresh: !isFirst, openedAfter: previous, peer: id.peer });
      if (isFirst) g.openAtStart++;
      else {
        g.opened++;
        if (id.peer !== null) g.peers[id.peer] = (g.peers[id.peer] ?? 0) + 1;
        if (id.pid !== null && g.examples.length < 3) g.examples.push(id.pid);
      }
    }
  }

  private async identify(ports: Port[], signal?: AbortSignal): Promise<Map<string, { owner: string; module: string | null; peer: string | null; pid: string | null }>> {
    const out = new Map<string, { owner: string; module: string | null; peer: string | null; pid: string | null }>();
    if (ports.length === 0) return out;
    let rows: Term[];
    try {
      rows = asList(await this.evaluator.eval(IDENTIFY, { Ps: ports }, { timeoutMs: 10_000, ...(signal ? { signal } : {}) }));
    } catch {
      return out;
    }
    for (const r of rows) {
      const [port, owner, reg, id, spec, ic, peerAddr] = asTuple(r, 7).elements;
      if (!(port instanceof Port)) continue;
      const registered = reg instanceof Atom ? reg.name : null;
      const initialCall = ic instanceof Tuple && ic.elements[0] instanceof Atom ? `${ic.elements[0].name}:${(ic.elements[1] as Atom).name}/${String(ic.elements[2])}` : null;
      const ident = identityFrom(id, spec, registered, initialCall, this.peer);
      const title = owner instanceof Pid ? processTitle({ ...ident, label: null }) : 'no owner';
      if (owner instanceof Pid) this.ownerOf.set(owner.key, title);
      out.set(portKey(port), {
        owner: title,
        module: ident.module,
        peer: Array.isArray(peerAddr) ? charlistToString(peerAddr) : null,
        pid: owner instanceof Pid ? pidText(owner, this.peer) : null,
      });
    }
    return out;
  }

  result(): ConnectionChurn {
    for (const g of this.groups.values()) g.openAtEnd = 0;
    for (const o of this.open.values()) this.group(o.owner, null).openAtEnd++;
    const groups = [...this.groups.values()]
      .filter((g) => g.opened + g.closed + g.openAtEnd > 0)
      .sort((a, b) => b.opened + b.closed - (a.opened + a.closed) || b.openAtEnd - a.openAtEnd)
      .slice(0, 20);
    return { samples: this.samples, spanMs: Math.max(0, this.last - this.first), intervalMs: this.intervalMs, groups, ...(this.note ? { note: this.note } : {}) };
  }
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function advice(g: ConnectionGroup): Pick<Finding, 'recommendation' | 'risk' | 'validation'> {
  const k = kindOf({ module: g.module, label: null, initialCall: null });
  const system = k.kind === 'connection' ? k.system : null;
  const common =
    'Find who reconnects (the peers above) and why their connections end; keep connections long-lived (one per client process, reused), ' +
    'and make clients back off when they reconnect (exponential, with jitter) so a failing dependency is not hammered.';
  if (system === 'rabbitmq') {
    return {
      recommendation:
        "RabbitMQ logs why each connection closed ('closing AMQP connection' with the reason: the client closed it, a missed heartbeat, " +
        'a send timeout to a client that stopped reading its socket, an authentication failure): read the log for these peers. ' +
        '`rabbitmqctl list_connections name peer_host connected_at client_properties` shows who reconnects. Open one connection per ' +
        'application process and many channels on it rather than a connection per message; a consumer that stops reading is closed on ' +
        `its send timeout and comes back: bound its prefetch and fix what blocks it. ${common}`,
      risk: 'Each connection costs the broker a reader, a writer and channel processes and a login (a TLS handshake too); limiting connections (`connection_max`, per-vhost limits) rejects clients instead of fixing the loop.',
      validation: 'Re-run the report under the same load: connections opened per minute should be near 0, and `rabbitmqctl list_connections connected_at` should show old timestamps.',
    };
  }
  if (system === 'ejabberd') {
    return {
      recommendation:
        "ejabberd logs why each session closed ('Closing c2s session' with the reason): read ejabberd.log for these peers. Check client " +
        'keepalives (XEP-0199 pings) against idle timeouts of load balancers in between, enable stream management (`mod_stream_mgmt`) so a ' +
        `client resumes its session instead of logging in again, and look for clients that log in per message. ${common}`,
      risk: 'Every reconnect is a login, a roster and presence broadcast; raising timeouts keeps dead sessions longer.',
      validation: 'Re-run the report: sessions opened per minute should be near 0; `ejabberdctl connected_users_info` should show long session ages.',
    };
  }
  return {
    recommendation: `Connections owned by ${g.owner} open and close all the time without a crash. ${common} The server's and the clients' logs say which side closes them.`,
    risk: 'Each new connection costs processes, a handshake (TLS) and often a login; pooling changes how load spreads over servers.',
    validation: 'Re-run the report under the same load: connections opened per minute should be near 0.',
  };
}

/** Sockets of one owner kind opened and closed over the window, at or above the threshold rate. */
export function connectionChurnFindings(c: ConnectionChurn | undefined): Finding[] {
  if (!c || c.samples < 2 || c.spanMs <= 0) return [];
  const t = FINDING_THRESHOLDS.connectionChurn;
  const minutes = c.spanMs / 60_000;
  const out: Finding[] = [];
  for (const g of c.groups) {
    const closedPerMin = g.closed / minutes;
    const openedPerMin = g.opened / minutes;
    if (g.closed < t.minClosed || closedPerMin < t.minPerMinute || g.owner === 'unidentified' || g.owner === 'no owner') continue;
    const uppers = g.lifetimesMs.map((l) => l[1]).sort((a, b) => a - b);
    const median = uppers[Math.floor(uppers.length / 2)];
    const shortest = Math.min(...g.lifetimesMs.map((l) => l[0]));
    const peers = Object.entries(g.peers).sort((a, b) => b[1] - a[1]);
    out.push({
      id: `connection-churn:${g.owner}`,
      rule: 'connection-churn',
      severity: closedPerMin >= t.criticalPerMinute ? 'critical' : 'warning',
      title: `Connections of ${g.owner} churn: ${g.opened} opened and ${g.closed} closed in ${secs(c.spanMs)} (${Math.round(openedPerMin)}/min opened, ${Math.round(closedPerMin)}/min closed)`,
      evidence: [
        `TCP sockets owned by ${g.owner}, sampled ${c.samples} times every ${secs(c.intervalMs)} over ${secs(c.spanMs)}: ${g.openAtStart} open at the first sample, ${g.opened} opened, ${g.closed} closed, ${g.openAtEnd} open at the last`,
        ...(median !== undefined
          ? [`${uppers.length} connections opened and closed inside the window: each lived ${secs(shortest)}–${secs(uppers[uppers.length - 1] as number)} as the samples bound it (median at most ${secs(median)})`]
          : []),
        ...(peers.length > 0 ? [`new connections came from ${peers.slice(0, 3).map(([h, n]) => `${h} (${n})`).join(', ')}${peers.length > 3 ? ` and ${peers.length - 3} more hosts` : ''}`] : []),
        ...(g.examples.length > 0 ? [`owners of new connections, e.g. ${g.examples.join(', ')}`] : []),
        `a connection that opens and closes between two samples is not seen: the counts are a lower bound`,
      ],
      subject: { module: g.module },
      ...(g.module ? { location: { module: g.module } } : {}),
      ...advice(g),
    });
  }
  return out;
}
