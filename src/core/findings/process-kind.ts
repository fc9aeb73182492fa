// What a process is, for advice that fits it: a broker's message queue is not an Elixir cache,
// a socket writer blocked on a client that stopped reading is not a slow gen_server. Decided from
// the module the naming rule gives it (src/core/identity.ts), its label and initial call.
import { formatModule } from '../../etf';

export type ProcessKind =
  | { kind: 'message-queue'; system: 'rabbitmq'; queue: string | null }
  | { kind: 'socket-writer'; system: 'rabbitmq' }
  | { kind: 'connection'; system: 'rabbitmq' | 'ejabberd' | null }
  | { kind: 'channel'; system: 'rabbitmq' }
  | { kind: 'supervisor' }
  | { kind: 'process'; elixir: boolean };

export interface KindInput {
  module: string | null;
  label: string | null;
  initialCall: string | null;
}

const RABBIT_QUEUE = new Set(['rabbit_amqqueue_process', 'rabbit_prequeue', 'rabbit_mirror_queue_slave', 'rabbit_classic_queue', 'rabbit_fifo', 'rabbit_stream_queue']);
const CONNECTIONS: Record<string, 'rabbitmq' | 'ejabberd' | null> = {
  rabbit_reader: 'rabbitmq',
  ejabberd_c2s: 'ejabberd',
  xmpp_stream_in: 'ejabberd',
  ejabberd_s2s_in: 'ejabberd',
  ejabberd_s2s_out: 'ejabberd',
  ejabberd_http_ws: 'ejabberd',
  ranch_conns_sup: null,
  cowboy_clear: null,
  cowboy_tls: null,
};

export function kindOf(p: KindInput): ProcessKind {
  const m = p.module ?? p.initialCall?.split(':')[0] ?? '';
  if (RABBIT_QUEUE.has(m) || (p.label !== null && p.label.startsWith('queue '))) {
    const match = p.label !== null ? /^queue '(.*)' in vhost/.exec(p.label) : null;
    return { kind: 'message-queue', system: 'rabbitmq', queue: match?.[1] ?? null };
  }
  if (m === 'rabbit_writer') return { kind: 'socket-writer', system: 'rabbitmq' };
  if (m === 'rabbit_channel') return { kind: 'channel', system: 'rabbitmq' };
  if (m in CONNECTIONS) return { kind: 'connection', system: CONNECTIONS[m] ?? null };
  if (p.initialCall?.startsWith('supervisor:') || m.endsWith('_sup') || m.endsWith('.Supervisor')) return { kind: 'supervisor' };
  return { kind: 'process', elixir: m.startsWith('Elixir.') };
}

export interface Advice {
  recommendation: string;
  risk: string;
  validation: string;
}

function queueAdvice(k: Extract<ProcessKind, { kind: 'message-queue' }>, what: string): Advice {
  const q = k.queue !== null ? `queue '${k.queue}'` : 'this queue';
  return {
    recommendation:
      `${what} is message payload that ${q} keeps because nothing consumes it fast enough: it is a backlog, not a leak. ` +
      'Attach consumers that keep up (more of them, or a larger prefetch), bound the queue with a policy (`max-length` or ' +
      '`max-length-bytes` with `overflow: reject-publish` so publishers are told, or `drop-head` to a dead-letter exchange; ' +
      'a `message-ttl` for data that goes stale), and for backlogs that must be kept make it a lazy queue ' +
      '(`x-queue-mode: lazy` on 3.x) or a quorum queue/stream so bodies live on disk, not in the queue process.',
    risk:
      'A length limit drops or rejects messages (publishers must handle nacks); lazy queues are slower per message; ' +
      'more consumers change processing order.',
    validation:
      `\`rabbitmqctl list_queues name messages memory\`: ${q}'s message count and memory should stop growing; re-run ` +
      "`beam-lens report` under the same load: the node's binary and process memory should plateau.",
  };
}

/** Advice for a process holding a lot of memory (heap or off-heap binaries), or null for the rule's own. */
export function memoryAdvice(k: ProcessKind, binaries: boolean, who: string): Advice | null {
  if (k.kind === 'message-queue') return queueAdvice(k, binaries ? 'This binary memory' : 'This heap');
  if (k.kind === 'connection') {
    return {
      recommendation:
        `${who} is one client connection; large ${binaries ? 'binaries' : 'heaps'} in a connection process are usually ` +
        'buffered packets for a slow client or a large stanza/frame. Bound what one connection may buffer (max frame or ' +
        `stanza size, ${k.system === 'ejabberd' ? '`max_stanza_size` and a shaper' : k.system === 'rabbitmq' ? '`frame_max` and channel/prefetch limits' : 'receive buffer and packet size'}), ` +
        'and let idle connections hibernate so their heap is compacted.',
      risk: 'Tighter limits disconnect clients that legitimately send large frames.',
      validation: 'Watch the connection processes\' memory (`beam-lens processes --sort memory`): it should drop when the client drains.',
    };
  }
  if (k.kind === 'supervisor') {
    return {
      recommendation: `${who} is a supervisor: its memory is its children's specs and pids. A very large one means many dynamic children; check that they exit when done.`,
      risk: 'None from checking; capping children (max_children) refuses new work when reached.',
      validation: 'Track its child count (`beam-lens tree`) over time: it should follow the load, not only grow.',
    };
  }
  if (k.kind === 'process' && binaries) {
    const copy = k.elixir ? '`:binary.copy/1`' : '`binary:copy/1`';
    return {
      recommendation:
        `Keeping large binaries in ${who}'s state pins them in memory. Store what is needed instead (${copy} of the slice ` +
        'you keep, so the large parent can be freed), evict old entries (size or age bound), or move the cache to ETS with a size limit.',
      risk: `${copy} costs a copy per stored slice; eviction means cache misses and reloads.`,
      validation: "Watch `binary` memory in `beam-lens overview` and this process's binary total over a longer window: it should plateau.",
    };
  }
  return null;
}

/** Advice for a mailbox that grows, or null for the rule's own. */
export function mailboxAdvice(k: ProcessKind, who: string, suspended: boolean): Advice | null {
  if (suspended) {
    return {
      recommendation:
        `${who} cannot take messages while it is suspended writing to a busy port or distribution channel: the queue is a ` +
        'symptom. Fix what blocks it (the blocked-sender finding for this process names the port and what to do); the queue drains once the port does.',
      risk: 'Dropping the queued messages instead loses them; closing the blocked connection makes its client reconnect.',
      validation: `Re-run \`beam-lens mailboxes\`: ${who} should no longer be suspended and its queue should drain.`,
    };
  }
  if (k.kind === 'message-queue') {
    return {
      recommendation:
        `${who} receives publishes faster than it can enqueue them, and RabbitMQ's credit flow will block the publishing ` +
        'connections. Spread the load over several queues (a consistent-hash exchange, or sharding by routing key), use ' +
        'publisher confirms so publishers slow down, and attach consumers so the queue process does less bookkeeping per message.',
      risk: 'Several queues lose the total order of one queue; confirms add latency per publish.',
      validation: '`rabbitmqctl list_queues name messages message_bytes` and the queue process\'s mailbox in `beam-lens mailboxes`: both should stay flat.',
    };
  }
  if (k.kind === 'connection') {
    return {
      recommendation:
        `${who} is a client session that gets messages faster than it writes them to its socket: the client or its network is slow. ` +
        `Shape or limit what is routed to one session${k.system === 'ejabberd' ? ' (ejabberd shapers, `max_fsm_queue`)' : ''}, and close sessions whose queue passes a bound instead of letting it grow.`,
      risk: 'Limits disconnect slow clients, which then reconnect and fetch what they missed.',
      validation: 'Re-run `beam-lens mailboxes`: the session\'s queue should stay bounded.',
    };
  }
  if (k.kind === 'process' && !k.elixir) {
    return {
      recommendation:
        `${who} receives messages faster than it handles them. Add back-pressure: make the hot \`gen_server:cast\`/\`!\` a ` +
        '`gen_server:call` with a timeout (callers wait instead of piling up), or shed load at the producers; if messages are ' +
        'independent, spread them over a pool of workers keyed by a hash of the message, or move the slow part out of the handler. ' +
        "Measure the handler's cost per message first.",
      risk: 'Calls make producers block and can move the bottleneck upstream; a pool changes ordering between keys.',
      validation: `Re-run \`beam-lens mailboxes\` under the same load: ${who}'s queue should stay flat or drain.`,
    };
  }
  return null;
}

/** Advice for a process suspended while sending to a busy port or distribution channel. */
export function blockedAdvice(k: ProcessKind, who: string, peer: string | null, dist: string | null): Advice {
  if (dist !== null) {
    return {
      recommendation:
        `${who} is suspended sending to node ${dist}: the distribution channel's buffer is full (busy_dist_port). Send less ` +
        'or smaller messages over distribution, raise the buffer limit (`+zdbbl`, in KB) if the link is fast but bursty, and ' +
        'check the network and the other node (a node that does not read its socket blocks every sender).',
      risk: 'A larger buffer hides a slow peer longer and costs memory per connection.',
      validation: 'Run `beam-lens monitor` (busy_dist_port events) after the change: they should stop.',
    };
  }
  if (k.kind === 'socket-writer') {
    return {
      recommendation:
        `The client at ${peer ?? 'the other end'} stopped reading its socket, so ${who} is suspended in port_command and the ` +
        "channel's messages pile up in its mailbox; when the send timeout expires RabbitMQ closes the connection, and a client " +
        'that reconnects and stalls again makes a loop of closed connections (and supervisor errors) in the log. Fix or restart that consumer (it must read and ack), give consumers a ' +
        'prefetch (`basic.qos`) so the broker sends at most that many unacknowledged messages, and keep the TCP send timeout ' +
        '(`tcp_listen_options.send_timeout` with `send_timeout_close`) so RabbitMQ closes connections that stop reading. ' +
        'Find the client: `rabbitmqctl list_connections name peer_host peer_port send_pend`.',
      risk: 'Closing such connections makes the client reconnect; unacknowledged messages are redelivered.',
      validation: 'Re-run the report: no rabbit_writer should be suspended in port_command and the socket\'s send_pend should be 0.',
    };
  }
  return {
    recommendation:
      `${who} is suspended writing to a port whose queue is full${peer ? ` (peer ${peer})` : ''}: the other end does not read. ` +
      'Give the socket `{send_timeout, Ms}` and `{send_timeout_close, true}` so a dead reader is closed instead of blocking ' +
      'the sender, and write from a dedicated process with a bounded buffer so nothing else waits behind it.',
    risk: 'A send timeout closes connections of slow but live clients; pick it from the slowest client you accept.',
    validation: 'Re-run the report: the process should not be suspended and the port\'s queue should be empty.',
  };
}

/** A module name for advice text. */
export function moduleText(m: string | null): string {
  return m === null ? 'the process' : formatModule(m);
}
