// Findings that a specialist reads off a loaded system and the per-process rules miss: the
// node's memory growing over the window (and who grows), and processes suspended sending to a
// busy port or distribution channel (a peer that stopped reading).
import type { Finding } from './rules';
import { identityKey, processWho } from '../inspect/identity';
import { blockedAdvice, kindOf, memoryAdvice } from './process-kind';
import type { NodeSamples, ProcessStat } from './sampler';

const MiB = 1024 * 1024;

export function identityOf(p: ProcessStat): { name: string | null; module: string | null; label: string | null; initialCall: string | null; pid: string } {
  const mfa = p.row.initialCall ?? p.row.currentFunction;
  return {
    name: p.row.name,
    module: p.row.module ?? (mfa ? (mfa.split(':')[0] as string) : null),
    label: p.row.label ?? null,
    initialCall: p.row.initialCall,
    pid: p.pid,
  };
}

function mib(n: number): string {
  return `${(n / MiB).toFixed(1)} MiB`;
}

function signedMib(n: number): string {
  return `${n >= 0 ? '+' : ''}${mib(n)}`;
}

/** Node memory that grew by at least 32 MiB and 5% over the window, with who grew. */
export function memoryGrowthFindings(s: NodeSamples): Finding[] {
  const a = s.overviewStart.memory;
  const b = s.overviewEnd.memory;
  const delta = b.total - a.total;
  if (delta < 32 * MiB || delta / Math.max(1, a.total) < 0.05) return [];
  const secs = s.windowMs / 1000;
  const growers = s.processes
    .map((p) => ({ p, grew: p.memoryEnd - p.memoryStart + (p.binaryEnd - (p.binaryStart ?? p.binaryEnd)) }))
    .filter((g) => g.grew >= Math.max(MiB, delta * 0.05))
    .sort((x, y) => y.grew - x.grew)
    .slice(0, 3);
  // erlang:memory(): total = processes + system, and system includes binary, ETS, atoms and code.
  const other = (m: typeof a): number => m.system - m.binary - m.ets - m.atom - m.code;
  const parts = [
    { k: 'processes', d: b.processes - a.processes },
    { k: 'binary', d: b.binary - a.binary },
    { k: 'ETS', d: b.ets - a.ets },
    { k: 'code', d: b.code - a.code },
    { k: 'other system', d: other(b) - other(a) },
  ]
    .filter((x) => Math.abs(x.d) >= MiB)
    .map((x) => `${x.k} ${signedMib(x.d)}`);
  const top = growers[0];
  const topKind = top ? kindOf(identityOf(top.p)) : null;
  const advice = top && topKind ? memoryAdvice(topKind, false, processWho(identityOf(top.p))) : null;
  const queues = growers.filter((g) => kindOf(identityOf(g.p)).kind === 'message-queue');
  return [
    {
      id: 'memory-growth:node',
      rule: 'memory-growth',
      severity: delta / Math.max(1, a.total) >= 0.25 ? 'critical' : 'warning',
      title: `Node memory grew by ${mib(delta)} in ${secs.toFixed(1)} s (${mib(a.total)} → ${mib(b.total)}, ${(delta / MiB / secs).toFixed(1)} MiB/s)`,
      evidence: [
        `erlang:memory() at both ends of the window: ${parts.join(', ') || 'spread over all types'}`,
        ...growers.map(
          (g) =>
            `${processWho(identityOf(g.p))}: memory ${mib(g.p.memoryStart)} → ${mib(g.p.memoryEnd)}, binaries it refers to ${mib(g.p.binaryStart ?? 0)} → ${mib(g.p.binaryEnd)}` +
            ' (a process\'s heap grows in steps at garbage collection, and binaries may be shared)',
        ),
        ...(growers.length === 0 ? ['no single process among the largest grew by more than 5% of it: look at ETS tables and many small processes'] : []),
      ],
      subject: top ? { pid: top.p.pid, name: top.p.row.name, module: identityOf(top.p).module } : {},
      recommendation:
        queues.length > 0 && advice
          ? `Most of the growth is in ${queues.map((g) => processWho(identityOf(g.p))).join(', ')}. ${advice.recommendation}`
          : advice
            ? `Most of the growth is in ${processWho(identityOf((top as { p: ProcessStat }).p))}. ${advice.recommendation}`
            : 'Find what keeps the memory: the processes above, then the largest ETS tables (`beam-lens ets`). A node that grows at this rate ' +
              'under steady load will reach its memory limit; bound the buffers that hold work (queues, caches, mailboxes).',
      risk: advice?.risk ?? 'Bounding a buffer sheds or delays work; decide which the system may drop.',
      validation: advice?.validation ?? 'Re-run the report under the same load for longer: total memory should plateau.',
    },
  ];
}

const BLOCKING_CALLS = ['erts_internal:port_command/3', 'erlang:port_command/2', 'erlang:port_command/3', 'prim_inet:send/3', 'prim_inet:send/4', 'gen_tcp:send/2'];

/** The connection a label names (RabbitMQ: "10.0.0.5:40808 -> 10.0.0.1:5672", also in its channels' labels). */
function connectionOf(label: string | null): string | null {
  if (label === null) return null;
  const m = /^(\S+:\d+ -> \S+:\d+)/.exec(label);
  return m?.[1] ?? null;
}

/** Processes suspended at either end in a send to a busy port or distribution channel, one finding per connection. */
export function blockedSenderFindings(s: NodeSamples): Finding[] {
  const out: Finding[] = [];
  const busy = s.busyPorts ?? [];
  const sockets = busy.filter((p) => p.distNode === null);
  const dists = busy.filter((p) => p.distNode !== null);
  const groups = new Map<string, ProcessStat[]>();
  for (const p of s.processes) {
    const where = p.suspendedEnd ?? p.suspendedStart;
    if (where === undefined) continue;
    const toPort = BLOCKING_CALLS.includes(where);
    const toDist = where.startsWith('erts_internal:dsend') || where.startsWith('erlang:dsend') || (!toPort && dists.length > 0);
    if (!toPort && !toDist) continue;
    const key = connectionOf(p.row.label ?? null) ?? p.pid;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  for (const [conn, members] of groups) {
    // The one with the longest queue first: a channel's writer, not its heartbeat sender.
    members.sort((x, y) => y.queueEnd - x.queueEnd);
    const p = members[0] as ProcessStat;
    const where = (p.suspendedEnd ?? p.suspendedStart) as string;
    const toDist = !BLOCKING_CALLS.includes(where);
    const id = identityOf(p);
    const who = processWho(id);
    const kind = kindOf(id);
    const peerOfConn = conn.includes(' -> ') ? (conn.split(' -> ')[0] ?? null) : null;
    const mine = sockets.filter((b) => peerOfConn !== null && b.peer !== null && sameEndpoint(b.peer, peerOfConn));
    const shown = toDist ? dists : mine.length > 0 ? mine : sockets;
    const peer = peerOfConn ?? (sockets.length === 1 ? (sockets[0]?.peer ?? null) : null);
    const dist = toDist ? (dists[0]?.distNode ?? null) : null;
    const advice = blockedAdvice(kind, who, peer, dist);
    const both = p.suspendedStart !== undefined && p.suspendedEnd !== undefined;
    out.push({
      id: `blocked-sender:${identityKey(id)}`,
      rule: 'blocked-sender',
      severity: both || p.queueEnd >= 100 ? 'critical' : 'warning',
      title: `${who} is suspended in ${where} (blocked on a busy ${toDist ? 'distribution channel' : 'port'}) with ${p.queueEnd} messages queued`,
      evidence: [
        `status suspended in ${where} ${both ? 'at both ends of the window' : p.suspendedEnd ? 'at the end of the window' : 'at the start of the window'}; mailbox ${p.queueStart} → ${p.queueEnd}`,
        ...members.slice(1, 4).map((m) => `also suspended: ${processWho(identityOf(m))} in ${m.suspendedEnd ?? m.suspendedStart ?? '?'} (mailbox ${m.queueEnd})`),
        ...shown
          .slice(0, 3)
          .map((b) => `${b.distNode ? `distribution port to ${b.distNode}` : `socket ${b.port}${b.peer ? ` to ${b.peer}` : ''}`}${b.ownerTitle ? ` (owner ${b.ownerTitle})` : ''}: ${b.queueSize.toLocaleString('en-US')} bytes queued in the driver${b.sendPending !== null ? `, send_pend ${b.sendPending.toLocaleString('en-US')}` : ''}`),
      ],
      subject: { pid: p.pid, name: p.row.name, module: id.module },
      ...(id.module ? { location: { module: id.module } } : {}),
      recommendation: advice.recommendation,
      risk: advice.risk,
      validation: advice.validation,
    });
  }
  return out;
}

/** "127.0.0.1:40808" equals "::ffff:127.0.0.1:40808" (IPv4-mapped addresses as inet:ntoa prints them). */
function sameEndpoint(a: string, b: string): boolean {
  const norm = (x: string): string => x.replace(/^::ffff:/i, '');
  return norm(a) === norm(b);
}
