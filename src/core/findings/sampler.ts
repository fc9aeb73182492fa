// Read-only sampling of a node over a window: what the report's findings are computed from.
// Two whole-node snapshots (start, end), queue-length series for the processes with the largest
// mailboxes in between, the supervision trees at both ends, and the biggest ETS tables.
import { Atom, Pid, Term, Tuple } from '../../etf';
import type { Overview } from '../inspect/overview';
import { pidText } from '../target/pids';
import { processRows, topIndices, delay, type ProcessRow } from '../inspect/processes';
import type { ProgressReporter } from '../target/rpc';
import type { Attachment } from '../attach/attachment';
import { queueLengths, snapshotProcesses, type NodeSnapshot } from '../inspect/snapshot';
import { asList, mfaToString } from '../target/terms';
import type { ApplicationTree } from '../inspect/tree';
import type { EtsRow } from '../inspect/ports-ets';
import type { BusyPort } from '../inspect/ports-ets';
import type { ModuleSummaryRow } from '../facts/runtime-facts';
import { busyPorts } from '../inspect/ports-ets';
import { identityModuleSummaries } from '../facts/runtime-facts';
import { ConnectionSampler, type ConnectionChurn } from './churn';

export interface MailboxSeries {
  pid: string;
  /** [ms since window start, queue length] */
  points: Array<[number, number]>;
}

export interface ProcessStat {
  pid: string;
  row: ProcessRow;
  reductionsPerSec: number;
  memoryStart: number;
  memoryEnd: number;
  binaryStart?: number;
  binaryEnd: number;
  /** Where it was suspended (blocked on a busy port or distribution channel) in the first / last snapshot. */
  suspendedStart?: string;
  suspendedEnd?: string;
  queueStart: number;
  queueEnd: number;
  /** Functions seen when sampling what the process was running, most frequent first. */
  hotFunctions?: Array<{ mfa: string; share: number }>;
}

export interface NodeSamples {
  node: string;
  windowMs: number;
  startedAt: string;
  overviewStart: Overview;
  overviewEnd: Overview;
  processCount: number;
  totalReductionsPerSec: number;
  /** The interesting processes (top by each measure), with their numbers at both ends. */
  processes: ProcessStat[];
  mailboxes: MailboxSeries[];
  treesStart: ApplicationTree[];
  treesEnd: ApplicationTree[];
  ets: EtsRow[];
  /** Module -> source file, from the target's module_info(compile). */
  sources: Record<string, string>;
  /** Processes that several callers were blocked on (in gen calls) at the start or end. */
  callees: CalleeStat[];
  /** Tracing results merged in when tracing was allowed. */
  hot?: import('../runs/hot').HotResult;
  /** Ports with bytes queued to send at the end (a peer that does not read, a busy distribution channel). */
  busyPorts?: BusyPort[];
  /** Processes per module over the whole node at the end, by the one naming rule (largest groups). */
  modules?: ModuleSummaryRow[];
  /** TCP sockets opened and closed during the window, by owner (sampled at every tick). */
  connections?: ConnectionChurn;
}

export type { BusyPort } from '../inspect/ports-ets';

export interface CalleeStat {
  pid: string;
  row: ProcessRow;
  /** Most callers seen blocked on it at once (in one snapshot). */
  waiters: number;
}

export interface SampleOptions {
  durationMs: number;
  /** Time between mailbox samples (default 1000 ms). */
  intervalMs?: number;
  /** Processes kept per measure (default 10). */
  top?: number;
  onProgress?: ProgressReporter;
  signal?: AbortSignal;
  /** Called with the trees read at the window's start (e.g. to watch the children's exits over the window). */
  onTreesStart?: (trees: ApplicationTree[]) => void;
}

export async function sampleNode(session: Attachment, options: SampleOptions): Promise<NodeSamples> {
  const { signal } = options;
  const top = options.top ?? 10;
  const interval = options.intervalMs ?? 1000;
  const report = options.onProgress ?? (() => undefined);
  const startedAt = new Date();
  const [overviewStart, treesStart] = await Promise.all([session.overview(), session.tree({ pageSize: 50 })]);
  options.onTreesStart?.(treesStart);
  const first = await snapshotProcesses(session.connection, session.evaluator, { signal });
  const t0 = first.at;
  // Watch the processes with the largest queues now, plus any non-empty queue among the first 200.
  const watchIdx = topIndices(first.values.map((v) => (v === null ? -1 : v.messageQueueLen)), Math.max(top, 20)).filter(
    (i) => (first.values[i]?.messageQueueLen ?? 0) > 0,
  );
  const watched = watchIdx.map((i) => first.pids[i] as Pid);
  const series = new Map<string, Array<[number, number]>>(
    watchIdx.map((i) => [(first.pids[i] as Pid).key, [[0, first.values[i]?.messageQueueLen ?? 0]]]),
  );
  const deadline = t0 + options.durationMs;
  const sockets = new ConnectionSampler(session.evaluator, session.node, interval);
  await sockets.sample(Date.now() - t0, signal);
  while (Date.now() + interval <= deadline) {
    await delay(interval, signal);
    const [lens] = await Promise.all([queueLengths(session.evaluator, watched), sockets.sample(Date.now() - t0, signal)]);
    const at = Date.now() - t0;
    lens.forEach((len, i) => {
      if (len !== null) series.get((watched[i] as Pid).key)?.push([at, len]);
    });
    report(Math.min(at, options.durationMs), options.durationMs, 'sampling');
  }
  await delay(Math.max(0, deadline - Date.now()), signal);
  const last = await snapshotProcesses(session.connection, session.evaluator, { pids: first.pids, signal });
  await sockets.sample(Date.now() - t0, signal);
  const windowMs = Math.max(1, last.at - t0);
  for (const [i, pid] of watched.entries()) {
    const len = last.values[watchIdx[i] as number]?.messageQueueLen;
    if (len !== undefined) series.get(pid.key)?.push([windowMs, len]);
  }
  const [overviewEnd, treesEnd, ets] = await Promise.all([
    session.overview({ utilizationWindowMs: 500 }),
    session.tree({ pageSize: 50 }),
    session.ets(10),
  ]);
  const stats = await interestingProcesses(session, first, last, windowMs, top);
  const [busy, moduleRows] = await Promise.all([
    busyPorts(session.evaluator, session.node),
    identityModuleSummaries(session, 200),
  ]);
  const totalReds = sumRates(first, last, windowMs);
  await addHotFunctions(session, stats.filter((s) => s.reductionsPerSec > 0).slice(0, 3), first);
  const modules = new Set<string>();
  for (const s of stats) for (const m of [s.row.initialCall, s.row.currentFunction]) if (m) modules.add(m.split(':')[0] as string);
  const callees = await blockedCallees(session, [first, last]);
  for (const c of callees) {
    const m = c.row.initialCall?.split(':')[0];
    if (m) modules.add(m);
  }
  const sources = await moduleSources(session, [...modules]);
  return {
    node: session.node,
    windowMs,
    startedAt: startedAt.toISOString(),
    overviewStart,
    overviewEnd,
    processCount: first.pids.length,
    totalReductionsPerSec: totalReds,
    processes: stats,
    mailboxes: watched.map((p) => ({ pid: pidText(p, session.node), points: series.get(p.key) ?? [] })),
    treesStart,
    treesEnd,
    ets: ets.rows,
    sources,
    callees,
    busyPorts: busy,
    modules: moduleRows,
    connections: sockets.result(),
  };
}

/** Processes that at least three callers were blocked on at once, most waited-on first. */
async function blockedCallees(session: Attachment, snapshots: NodeSnapshot[]): Promise<CalleeStat[]> {
  const most = new Map<string, { pid: Pid; waiters: number }>();
  for (const snap of snapshots) {
    const counts = new Map<string, { pid: Pid; n: number }>();
    for (const v of snap.values) {
      for (const callee of v?.waitingOn ?? []) {
        const c = counts.get(callee.key) ?? { pid: callee, n: 0 };
        c.n++;
        counts.set(callee.key, c);
      }
    }
    for (const [key, c] of counts) if (c.n > (most.get(key)?.waiters ?? 0)) most.set(key, { pid: c.pid, waiters: c.n });
  }
  const top = [...most.values()].filter((c) => c.waiters >= 3).sort((a, b) => b.waiters - a.waiters).slice(0, 5);
  const rows = await processRows(session.connection, session.evaluator, top.map((c) => c.pid));
  return top.flatMap((c, i) => {
    const row = rows[i];
    return row ? [{ pid: row.pid, row, waiters: c.waiters }] : [];
  });
}

function sumRates(first: NodeSnapshot, last: NodeSnapshot, windowMs: number): number {
  let total = 0;
  first.values.forEach((v, i) => {
    const w = last.values[i];
    if (v && w) total += w.reductions - v.reductions;
  });
  return (total * 1000) / windowMs;
}

async function interestingProcesses(session: Attachment, first: NodeSnapshot, last: NodeSnapshot, windowMs: number, top: number): Promise<ProcessStat[]> {
  const n = first.pids.length;
  const measure = (f: (a: NonNullable<NodeSnapshot['values'][0]>, b: NonNullable<NodeSnapshot['values'][0]>) => number): number[] => {
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const a = first.values[i];
      const b = last.values[i];
      out[i] = a && b ? f(a, b) : -1;
    }
    return out;
  };
  const rate = measure((a, b) => ((b.reductions - a.reductions) * 1000) / windowMs);
  const picks = new Set<number>([
    ...topIndices(rate, top),
    ...topIndices(measure((_, b) => b.memory), top),
    ...topIndices(measure((_, b) => b.binary), top),
    ...topIndices(measure((_, b) => b.messageQueueLen), top),
    ...topIndices(measure((a, b) => b.messageQueueLen - a.messageQueueLen), top),
    ...topIndices(measure((a, b) => b.memory - a.memory), top),
    // Every process suspended at either end (blocked on a busy port or dist channel), up to 50.
    ...topIndices(measure((a, b) => (a.suspendedIn !== undefined || b.suspendedIn !== undefined ? 1 + b.messageQueueLen : -1)), 50),
  ]);
  const idx = [...picks];
  const rows = await processRows(session.connection, session.evaluator, idx.map((i) => first.pids[i] as Pid));
  const out: ProcessStat[] = [];
  idx.forEach((i, k) => {
    const row = rows[k];
    const a = first.values[i];
    const b = last.values[i];
    if (!row || !a || !b) return;
    out.push({
      pid: row.pid,
      row,
      reductionsPerSec: rate[i] as number,
      memoryStart: a.memory,
      memoryEnd: b.memory,
      binaryStart: a.binary,
      binaryEnd: b.binary,
      ...(a.suspendedIn !== undefined ? { suspendedStart: a.suspendedIn } : {}),
      ...(b.suspendedIn !== undefined ? { suspendedEnd: b.suspendedIn } : {}),
      queueStart: a.messageQueueLen,
      queueEnd: b.messageQueueLen,
    });
  });
  return out.sort((x, y) => y.reductionsPerSec - x.reductionsPerSec);
}

// Samples what the busiest processes are running, spread over a second (a process that works in
// bursts is mostly waiting): status and stack, only while it is actually running.
const STACK_SAMPLES = `
lists:foldl(fun(_, Acc) ->
  receive after Gap -> ok end,
  Now = [case erlang:process_info(P, [status, current_stacktrace]) of
           [{status, S}, {current_stacktrace, St}] when S =/= waiting ->
             [{M, F, if is_list(A) -> length(A); true -> A end} || {M, F, A, _} <- St];
           _ -> idle
         end || P <- Pids],
  [Now | Acc]
end, [], lists:seq(1, Samples)).`;

// Which modules are libraries (OTP or Elixir itself) rather than the application's own code.
const LIBRARY_MODULES = `
Root = code:root_dir(),
ElixirRoot = case code:which('Elixir.Enum') of
  P when is_list(P) -> filename:dirname(filename:dirname(filename:dirname(P)));
  _ -> Root
end,
[{M, case code:which(M) of
       W when is_list(W) -> lists:prefix(Root, W) orelse lists:prefix(ElixirRoot, W);
       _ -> true
     end} || M <- Mods].`;

/**
 * A poor man's profiler: 50 samples over a second of what the busiest processes run, counting
 * the innermost frame in the application's own code (library frames such as gen_server skipped).
 */
async function addHotFunctions(session: Attachment, stats: ProcessStat[], first: NodeSnapshot): Promise<void> {
  if (stats.length === 0) return;
  const byText = new Map(first.pids.map((p) => [pidText(p, session.node), p]));
  const sampled = stats.filter((s) => byText.has(s.pid));
  const pids = sampled.map((s) => byText.get(s.pid) as Pid);
  const samples = 50;
  const reply = asList(await session.evaluator.eval(STACK_SAMPLES, { Pids: pids, Samples: samples, Gap: 20 }, 30_000));
  const stacks: Array<Array<Array<{ m: string; mfa: string }>>> = pids.map(() => []);
  const modules = new Set<string>();
  for (const sample of reply) {
    asList(sample).forEach((perPid, k) => {
      if (!Array.isArray(perPid)) return;
      const frames = perPid.map((f) => {
        const mfa = mfaToString(f as Term) ?? '?';
        const m = mfa.split(':')[0] as string;
        modules.add(m);
        return { m, mfa };
      });
      stacks[k]?.push(frames);
    });
  }
  const lib = new Map<string, boolean>();
  if (modules.size > 0) {
    const flags = asList(await session.evaluator.eval(LIBRARY_MODULES, { Mods: [...modules].map((m) => Atom.of(m)) }));
    for (const f of flags) {
      if (f instanceof Tuple && f.elements[0] instanceof Atom) lib.set(f.elements[0].name, isAtomTrue(f.elements[1] as Term));
    }
  }
  sampled.forEach((s, k) => {
    const counts = new Map<string, number>();
    const running = stacks[k] ?? [];
    for (const frames of running) {
      // Only the application's own frames count; a sample in library code alone says nothing, nor
      // does a receive loop (the process was between messages, e.g. gen_server2:process_next_msg/1).
      const own = frames.find((f) => lib.get(f.m) === false && !RECEIVE_LOOPS.has(f.mfa));
      if (own) counts.set(own.mfa, (counts.get(own.mfa) ?? 0) + 1);
    }
    s.hotFunctions = [...counts.entries()]
      .sort((x, y) => y[1] - x[1])
      .slice(0, 3)
      .map(([mfa, c]) => ({ mfa, share: c / samples }));
  });
}

/** Functions where a server waits for its next message: never a hot spot. */
export const RECEIVE_LOOPS = new Set([
  'gen_server:loop/7', 'gen_server:loop/6', 'gen_server2:process_next_msg/1', 'gen_server2:loop/1', 'gen_server2:drain/1',
  'gen_statem:loop_receive/3', 'gen_event:fetch_msg/6', 'gen_event:fetch_msg/5', 'p1_server:collect_messages/3',
  'p1_fsm:collect_messages/3', 'erlang:hibernate/3', 'proc_lib:wake_up/3', 'gen:do_call/4', 'timer:sleep/1',
  'rabbit_writer:mainloop/2', 'rabbit_writer:mainloop1/2', 'rabbit_reader:mainloop/4', 'rabbit_reader:recvloop/4',
]);

function isAtomTrue(t: Term): boolean {
  return t instanceof Atom && t.name === 'true';
}

async function moduleSources(session: Attachment, modules: string[]): Promise<Record<string, string>> {
  if (modules.length === 0) return {};
  const reply = asList(
    await session.evaluator.eval(
      `[{M, try proplists:get_value(source, M:module_info(compile)) catch _:_ -> undefined end} || M <- Mods].`,
      { Mods: modules.map((m) => Atom.of(m)) },
    ),
  );
  const out: Record<string, string> = {};
  for (const r of reply) {
    if (r instanceof Tuple) {
      const [m, src] = r.elements;
      if (m instanceof Atom && Array.isArray(src) && src.length > 0) out[m.name] = String.fromCodePoint(...(src as number[]));
    }
  }
  return out;
}
