// Read-only sampling of a node over a window: what the report's findings are computed from.
// Two whole-node snapshots (start, end), queue-length series for the processes with the largest
// mailboxes in between, the supervision trees at both ends, and the biggest ETS tables.
import { Atom, Pid, Term, Tuple } from '../etf';
import type { Overview } from './overview';
import { pidText } from './pids';
import { processRows, topIndices, delay, type ProcessRow } from './processes';
import type { ProgressReporter } from './rpc';
import type { Session } from './session';
import { queueLengths, snapshotProcesses, type NodeSnapshot } from './snapshot';
import { asList, mfaToString } from './terms';
import type { ApplicationTree } from './tree';
import type { EtsRow } from './ports-ets';

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
  binaryEnd: number;
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
}

export interface SampleOptions {
  durationMs: number;
  /** Time between mailbox samples (default 1000 ms). */
  intervalMs?: number;
  /** Processes kept per measure (default 10). */
  top?: number;
  onProgress?: ProgressReporter;
  signal?: AbortSignal;
}

export async function sampleNode(session: Session, options: SampleOptions): Promise<NodeSamples> {
  const { signal } = options;
  const top = options.top ?? 10;
  const interval = options.intervalMs ?? 1000;
  const report = options.onProgress ?? (() => undefined);
  const startedAt = new Date();
  const [overviewStart, treesStart] = await Promise.all([session.overview(), session.tree({ pageSize: 50 })]);
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
  while (Date.now() + interval <= deadline) {
    await delay(interval, signal);
    const lens = await queueLengths(session.evaluator, watched);
    const at = Date.now() - t0;
    lens.forEach((len, i) => {
      if (len !== null) series.get((watched[i] as Pid).key)?.push([at, len]);
    });
    report(Math.min(at, options.durationMs), options.durationMs, 'sampling');
  }
  await delay(Math.max(0, deadline - Date.now()), signal);
  const last = await snapshotProcesses(session.connection, session.evaluator, { pids: first.pids, signal });
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
  const totalReds = sumRates(first, last, windowMs);
  await addHotFunctions(session, stats.filter((s) => s.reductionsPerSec > 0).slice(0, 3), first);
  const modules = new Set<string>();
  for (const s of stats) for (const m of [s.row.initialCall, s.row.currentFunction]) if (m) modules.add(m.split(':')[0] as string);
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
  };
}

function sumRates(first: NodeSnapshot, last: NodeSnapshot, windowMs: number): number {
  let total = 0;
  first.values.forEach((v, i) => {
    const w = last.values[i];
    if (v && w) total += w.reductions - v.reductions;
  });
  return (total * 1000) / windowMs;
}

async function interestingProcesses(session: Session, first: NodeSnapshot, last: NodeSnapshot, windowMs: number, top: number): Promise<ProcessStat[]> {
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
      binaryEnd: b.binary,
      queueStart: a.messageQueueLen,
      queueEnd: b.messageQueueLen,
    });
  });
  return out.sort((x, y) => y.reductionsPerSec - x.reductionsPerSec);
}

const CURRENT_FUNCTIONS = `
lists:foldl(fun(_, Acc) ->
  [case erlang:process_info(P, current_function) of {_, MFA} -> MFA; _ -> undefined end || P <- Pids] ++ Acc
end, [], lists:seq(1, Samples)).`;

/** A poor man's profiler: what the busiest processes are running, sampled 50 times. */
async function addHotFunctions(session: Session, stats: ProcessStat[], first: NodeSnapshot): Promise<void> {
  if (stats.length === 0) return;
  const byText = new Map(first.pids.map((p) => [pidText(p, session.node), p]));
  const pids = stats.map((s) => byText.get(s.pid)).filter((p): p is Pid => p !== undefined);
  const samples = 50;
  const reply = asList(await session.evaluator.eval(CURRENT_FUNCTIONS, { Pids: pids, Samples: samples }));
  // Replies come newest-sample-first, pid order within each sample.
  stats.forEach((s, k) => {
    const counts = new Map<string, number>();
    for (let j = k; j < reply.length; j += pids.length) {
      const mfa = mfaToString(reply[j] as Term);
      if (mfa) counts.set(mfa, (counts.get(mfa) ?? 0) + 1);
    }
    s.hotFunctions = [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([mfa, c]) => ({ mfa, share: c / samples }));
  });
}

async function moduleSources(session: Session, modules: string[]): Promise<Record<string, string>> {
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
