// Per-process rules over one sampling window: mailboxes, reductions, memory and binaries, and
// bottlenecks (many callers waiting on one process). Pure functions over NodeSamples.
import { formatModule } from '../../etf';
import { FINDING_THRESHOLDS as T, displayMfa, findingId, location, mailboxFinding, rateMailbox } from './thresholds';
import type { MailboxSeries, NodeSamples, ProcessStat } from './sampler';
import { identityOf } from './system-findings';
import { kindOf, mailboxAdvice, memoryAdvice } from './process-kind';
import { processWho } from '../inspect/identity';
import type { Finding, SourceLocation } from './finding';

const MiB = 1024 * 1024;

/** The process by the one naming rule (src/core/identity.ts), with its pid when it has no registered name. */
function who(p: ProcessStat): string {
  return processWho(identityOf(p));
}

function moduleOf(p: ProcessStat): string | null {
  return identityOf(p).module;
}

/**
 * The subject of a per-process finding's id (display forms): registered name, else module and
 * label (RabbitMQ's queue name), else module, else pid. Two processes of one module without a
 * label get the pid appended by uniqueIds.
 */
function subjectKey(p: ProcessStat): string {
  const id = identityOf(p);
  if (id.name !== null) return formatModule(id.name);
  if (id.module !== null && id.label !== null) return `${formatModule(id.module)}:${id.label}`;
  return id.module !== null ? formatModule(id.module) : p.pid;
}

/** Least-squares slope (per second) and how steadily the series rises (share of non-falling steps). */
export function growth(series: MailboxSeries): { perSec: number; steadiness: number } {
  const pts = series.points;
  if (pts.length < 2) return { perSec: 0, steadiness: 0 };
  const n = pts.length;
  const mx = pts.reduce((a, p) => a + p[0], 0) / n;
  const my = pts.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of pts) {
    num += (x - mx) * (y - my);
    den += (x - mx) * (x - mx);
  }
  let rising = 0;
  for (let i = 1; i < n; i++) if ((pts[i] as [number, number])[1] >= (pts[i - 1] as [number, number])[1]) rising++;
  return { perSec: den > 0 ? (num / den) * 1000 : 0, steadiness: rising / (n - 1) };
}

/**
 * Mailbox findings, one per module (as the runtime facts see them): the process of the module
 * with the worst mailbox speaks for it, the others are counted in the evidence.
 */
export function mailboxFindings(s: NodeSamples): Finding[] {
  const byPid = new Map(s.processes.map((p) => [p.pid, p]));
  const byId = new Map<string, { f: Finding; score: number; others: number }>();
  for (const series of s.mailboxes) {
    const p = byPid.get(series.pid);
    if (!p) continue;
    const g = growth(series);
    const last = series.points[series.points.length - 1]?.[1] ?? 0;
    const first = series.points[0]?.[1] ?? 0;
    const mod = moduleOf(p);
    const suspended = p.suspendedEnd ?? p.suspendedStart;
    const advice = mailboxAdvice(kindOf(identityOf(p)), who(p), suspended !== undefined);
    const rated = mailboxFinding({
      subject: mod !== null ? formatModule(mod) : p.row.name ? formatModule(p.row.name) : p.pid,
      module: mod,
      pid: p.pid,
      first,
      last,
      perSec: g.perSec,
      steadiness: g.steadiness,
      who: who(p),
      evidence: [
        `queue ${first} → ${last} messages over ${(s.windowMs / 1000).toFixed(1)} s (${series.points.length} samples, ${Math.round(g.steadiness * 100)}% of steps rising)`,
        `process ${p.pid}, memory ${(p.memoryEnd / MiB).toFixed(1)} MiB, ${Math.round(p.reductionsPerSec)} reductions/s`,
        ...(p.row.currentFunction ? [`running ${displayMfa(p.row.currentFunction)} at the end of the window`] : []),
        ...(suspended !== undefined ? [`suspended in ${suspended}: it cannot handle messages until the port or channel it writes to drains`] : []),
      ],
      ...(mod ? { location: location(s, mod, rateMailbox({ first, last, ...g })?.rule === 'mailbox-growth' ? 'handle_cast/2' : undefined) as SourceLocation } : {}),
    });
    if (rated === null) continue;
    // Advice that fits what the process is (a broker queue, a client session, an Erlang server).
    const f = advice ? { ...rated, ...advice } : rated;
    const score = Math.max(g.perSec, 0) * 1e6 + last;
    const seen = byId.get(f.id);
    if (!seen) byId.set(f.id, { f, score, others: 0 });
    else if (score > seen.score) byId.set(f.id, { f, score, others: seen.others + 1 });
    else seen.others++;
  }
  return [...byId.values()].map(({ f, others }) =>
    others > 0 ? { ...f, evidence: [...f.evidence, `${others} more process${others === 1 ? '' : 'es'} of the same module ${others === 1 ? 'has' : 'have'} a mailbox like this`] } : f,
  );
}

export function reductionFindings(s: NodeSamples): Finding[] {
  const out: Finding[] = [];
  if (s.totalReductionsPerSec <= 0) return out;
  for (const p of s.processes) {
    const share = p.reductionsPerSec / s.totalReductionsPerSec;
    if (share < T.reductionHog.minShare || p.reductionsPerSec < T.reductionHog.minPerSec) continue;
    // A function seen in under a fifth of the samples is not where the time goes.
    const hot = p.hotFunctions?.[0] !== undefined && p.hotFunctions[0].share >= 0.2 ? p.hotFunctions[0] : undefined;
    const mod = hot ? (hot.mfa.split(':')[0] as string) : moduleOf(p);
    const fn = hot ? hot.mfa.split(':')[1] : undefined;
    out.push({
      id: findingId('reduction-hog', subjectKey(p)),
      rule: 'reduction-hog',
      severity: share >= T.reductionHog.warningShare ? 'warning' : 'info',
      title: `${who(p)} does ${Math.round(share * 100)}% of the node's work (${Math.round(p.reductionsPerSec).toLocaleString('en-US')} reductions/s)`,
      evidence: [
        `${Math.round(p.reductionsPerSec).toLocaleString('en-US')} of ${Math.round(s.totalReductionsPerSec).toLocaleString('en-US')} reductions/s over ${(s.windowMs / 1000).toFixed(1)} s`,
        ...(p.hotFunctions ?? []).map((h) => `in ${displayMfa(h.mfa)} in ${Math.round(h.share * 100)}% of 50 samples over 1 s`),
      ],
      subject: { pid: p.pid, name: p.row.name, module: mod },
      ...(mod ? { location: location(s, mod, fn) as SourceLocation } : {}),
      recommendation:
        `One process burning ${Math.round(share * 100)}% of all reductions is a serial hot spot${hot ? ` in ${displayMfa(hot.mfa)}` : ' (no single function of its own code stood out in the samples)'}. ` +
        'Check how often it is called (`beam-lens hot` counts calls per function) and whether the work can be ' +
        'cached, batched, or spread over several processes; one process runs on one scheduler at a time.',
      risk: 'Caching adds staleness; spreading work over processes adds copying of the data between them.',
      validation: 'Compare reductions/s of this process and total scheduler utilization before and after under the same load.',
    });
  }
  return out;
}

/** binary:copy/1 in the syntax of the process's code: Elixir (`:binary.copy/1`) or Erlang. */
export function binaryCopy(module: string | null): string {
  return module?.startsWith('Elixir.') ? ':binary.copy/1' : 'binary:copy/1';
}

export function memoryFindings(s: NodeSamples): Finding[] {
  const out: Finding[] = [];
  const total = s.overviewEnd.memory.total || 1;
  const binaryTotal = s.overviewEnd.memory.binary || 1;
  for (const p of s.processes) {
    const mod = moduleOf(p);
    const kind = kindOf(identityOf(p));
    // Binaries are counted once per binary (by address), so one process cannot hold more than the
    // node; the two figures are read a moment apart, hence the cap.
    const binShare = Math.min(1, p.binaryEnd / binaryTotal);
    if (p.binaryEnd >= T.binaryHolder.minBytes && binShare >= T.binaryHolder.minShareOfBinary) {
      const advice = memoryAdvice(kind, true, who(p));
      out.push({
        id: findingId('binary-holder', subjectKey(p)),
        rule: 'binary-holder',
        severity: p.binaryEnd / total >= T.binaryHolder.warningShareOfTotal ? 'warning' : 'info',
        title: `${who(p)} holds ${(p.binaryEnd / MiB).toFixed(1)} MiB of off-heap binaries (${Math.round(binShare * 100)}% of the node's binary memory)`,
        evidence: [
          `distinct binaries referenced: ${(p.binaryEnd / MiB).toFixed(1)} MiB${p.binaryStart !== undefined ? ` (${(p.binaryStart / MiB).toFixed(1)} MiB at the start)` : ''}; process heap ${(p.memoryEnd / MiB).toFixed(1)} MiB`,
          `node binary memory ${(binaryTotal / MiB).toFixed(1)} MiB of ${(total / MiB).toFixed(1)} MiB total`,
        ],
        subject: { pid: p.pid, name: p.row.name, module: mod },
        ...(mod ? { location: location(s, mod) as SourceLocation } : {}),
        ...(advice ?? {
          recommendation:
            `Keeping large binaries in ${mod ? formatModule(mod) : 'this process'}'s state pins them in memory. Store ` +
            `what is needed instead (\`${binaryCopy(mod)}\` of the slice you keep, so the large parent can be freed), evict ` +
            'old entries (size or age bound), or move the data to ETS with a size limit.',
          risk: `\`${binaryCopy(mod)}\` costs a copy per stored slice; eviction means cache misses and reloads.`,
          validation: "Watch `binary` memory in `beam-lens overview` and this process's binary total over a longer window: it should plateau.",
        }),
      });
    } else if (p.memoryEnd >= T.memoryHog.minBytes || p.memoryEnd / total >= T.memoryHog.minShare) {
      const advice = memoryAdvice(kind, false, who(p));
      const grew = p.memoryEnd - p.memoryStart;
      out.push({
        id: findingId('memory-hog', subjectKey(p)),
        rule: 'memory-hog',
        severity: p.memoryEnd / total >= T.memoryHog.warningShare || (kind.kind === 'message-queue' && grew >= 16 * MiB) ? 'warning' : 'info',
        title:
          `${who(p)} uses ${(p.memoryEnd / MiB).toFixed(1)} MiB (${Math.round((p.memoryEnd / total) * 100)}% of the node)` +
          (grew >= MiB ? `, +${(grew / MiB).toFixed(1)} MiB over the window` : ''),
        evidence: [
          `memory ${(p.memoryStart / MiB).toFixed(1)} → ${(p.memoryEnd / MiB).toFixed(1)} MiB over the window`,
          ...(kind.kind === 'message-queue' ? [`a message queue process: its heap holds the queued messages (mailbox ${p.queueEnd})`] : []),
        ],
        subject: { pid: p.pid, name: p.row.name, module: mod },
        ...(mod ? { location: location(s, mod) as SourceLocation } : {}),
        ...(advice ?? {
          recommendation: 'A large heap is copied on every garbage collection; keep state small (ETS for large data) or hibernate idle processes.',
          risk: 'Moving state to ETS changes concurrency semantics (other processes can read it).',
          validation: "Watch the process's memory and long_gc events (`beam-lens monitor`) after the change.",
        }),
      });
    }
  }
  return out;
}

export function bottleneckFindings(s: NodeSamples): Finding[] {
  return s.callees
    .filter((c) => c.waiters >= T.bottleneck.minWaiters || c.waiters / Math.max(1, s.processCount) >= T.bottleneck.minShareOfProcesses)
    .map((c) => {
      const mod = c.row.initialCall ? (c.row.initialCall.split(':')[0] as string) : null;
      const label = c.row.name ? formatModule(c.row.name) : c.pid;
      return {
        id: findingId('bottleneck', c.row.name ? formatModule(c.row.name) : mod !== null ? formatModule(mod) : c.pid),
        rule: 'bottleneck' as const,
        severity: c.waiters >= T.bottleneck.criticalWaiters ? ('critical' as const) : ('warning' as const),
        title: `${c.waiters} processes were blocked calling ${label} at the same time`,
        evidence: [
          `${c.waiters} callers in gen:do_call/4 monitoring ${c.pid} in one snapshot`,
          `its queue ${c.row.messageQueueLen}, ${c.row.currentFunction ? `running ${displayMfa(c.row.currentFunction)}` : ''}`,
        ],
        subject: { pid: c.pid, name: c.row.name, module: mod },
        ...(mod ? { location: location(s, mod, 'handle_call/3') as SourceLocation } : {}),
        recommendation:
          `Everything that calls ${label} waits for it one request at a time. Partition it: run N instances under a ` +
          'PartitionSupervisor and route each call by a key (`{:via, PartitionSupervisor, {Name, key}}`), or serve reads ' +
          'from an ETS table (read_concurrency) written by the process, so callers stop queueing behind one mailbox.',
        risk: 'Partitioning splits state: operations that need all keys at once become fan-out calls; ETS reads may see slightly older data.',
        validation: 'Re-run the report under the same load: no single process should have more than a few blocked callers; watch call latency.',
      };
    });
}
