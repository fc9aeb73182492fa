// The node at a glance: versions, uptime, schedulers and their utilization over a short window,
// run queues, memory by type, counts against limits, IO totals.
import { BeamLensError } from '../../errors';
import { Atom, ErlMap, Term } from '../../etf';
import type { RemoteEvaluator } from '../target/remote-eval';
import { asList, asNumber, asTuple, charlistToString, proplistToMap } from '../target/terms';

export interface Overview {
  node: string;
  otpRelease: string;
  ertsVersion: string;
  systemVersion: string;
  uptimeMs: number;
  wordSize: number;
  schedulers: { online: number; total: number; dirtyCpu: number; dirtyIo: number };
  /** Per normal scheduler, busy fraction 0..1 over the window; null when the target refused to measure. */
  schedulerUtilization: { windowMs: number; total: number; perScheduler: number[]; dirtyCpu: number | null } | null;
  /** Normal schedulers' run queues; the dirty CPU and dirty IO queues separately (run_queue_lengths_all lists them last). */
  runQueue: { total: number; perScheduler: number[]; dirtyCpu?: number; dirtyIo?: number };
  memory: Record<'total' | 'processes' | 'processesUsed' | 'system' | 'atom' | 'atomUsed' | 'binary' | 'code' | 'ets', number>;
  limits: Record<'processes' | 'ports' | 'atoms' | 'etsTables', { count: number; limit: number | null }>;
  io: { inputBytes: number; outputBytes: number };
  reductions: number;
  garbageCollections: { count: number; wordsReclaimed: number };
}

// One round trip for everything but the utilization window. Each system_info item is guarded so
// an older OTP without (say) ets_count still answers.
const SNAPSHOT = `
SI = fun(K) -> try erlang:system_info(K) catch _:_ -> undefined end end,
{{input, In}, {output, Out}} = erlang:statistics(io),
{Uptime, _} = erlang:statistics(wall_clock),
{Reds, _} = erlang:statistics(reductions),
{GCs, Words, _} = erlang:statistics(garbage_collection),
RQ = erlang:statistics(run_queue_lengths),
RQAll = try erlang:statistics(run_queue_lengths_all) catch _:_ -> RQ end,
EtsCount = case SI(ets_count) of undefined -> length(ets:all()); C -> C end,
#{node => node(), otp_release => SI(otp_release), version => SI(version),
  system_version => SI(system_version), wordsize => SI(wordsize),
  schedulers => SI(schedulers), schedulers_online => SI(schedulers_online),
  dirty_cpu => SI(dirty_cpu_schedulers), dirty_io => SI(dirty_io_schedulers),
  process_count => SI(process_count), process_limit => SI(process_limit),
  port_count => SI(port_count), port_limit => SI(port_limit),
  atom_count => SI(atom_count), atom_limit => SI(atom_limit),
  ets_count => EtsCount, ets_limit => SI(ets_limit),
  uptime => Uptime, memory => erlang:memory(), run_queues => RQ, run_queues_all => RQAll,
  io_in => In, io_out => Out, reductions => Reds, gcs => GCs, gc_words => Words}.`;

// Switches scheduler_wall_time on only for the window and back to what it was, in the same call:
// nothing stays switched on, even if we vanish mid-window.
const UTILIZATION = `
Old = erlang:system_flag(scheduler_wall_time, true),
try
  S1 = lists:sort(erlang:statistics(scheduler_wall_time_all)),
  receive after Window -> ok end,
  S2 = lists:sort(erlang:statistics(scheduler_wall_time_all)),
  {S1, S2}
after
  case Old of false -> erlang:system_flag(scheduler_wall_time, false); true -> ok end
end.`;

export interface OverviewOptions {
  /** Window for scheduler utilization; 0 skips it. Default 500 ms. */
  utilizationWindowMs?: number;
}

export async function getOverview(evaluator: RemoteEvaluator, options: OverviewOptions = {}): Promise<Overview> {
  const windowMs = options.utilizationWindowMs ?? 500;
  const [snapshot, utilization] = await Promise.all([
    evaluator.eval(SNAPSHOT),
    windowMs > 0 ? evaluator.eval(UTILIZATION, { Window: windowMs }, windowMs + 10_000).catch(() => null) : Promise.resolve(null),
  ]);
  if (!(snapshot instanceof ErlMap)) throw new BeamLensError('protocol', 'unexpected overview reply from the node');
  const get = (k: string): Term | undefined => snapshot.getAtom(k);
  const num = (k: string): number => asNumber(get(k), k);
  const optNum = (k: string): number | null => {
    const v = get(k);
    return typeof v === 'number' ? v : null;
  };
  const memory = proplistToMap(get('memory'));
  const mem = (k: string): number => (memory.has(k) ? asNumber(memory.get(k), `memory ${k}`) : 0);
  const normal = num('schedulers');
  // run_queue_lengths: one per normal scheduler; run_queue_lengths_all adds the dirty CPU and
  // dirty IO queues at the end (one each, shared by all dirty schedulers of that kind).
  // (run_queue_lengths itself includes the dirty CPU queue on OTP 25: slice by the scheduler count.)
  const all = asList(get('run_queues_all') ?? get('run_queues')).map((v) => asNumber(v));
  const runQueues = all.slice(0, normal);
  const dirty = all.length >= normal + 2 ? { dirtyCpu: all[normal] as number, dirtyIo: all[normal + 1] as number } : {};
  return {
    node: (get('node') as Atom).name,
    otpRelease: charlistToString(get('otp_release')),
    ertsVersion: charlistToString(get('version')),
    systemVersion: charlistToString(get('system_version')).trim(),
    uptimeMs: num('uptime'),
    wordSize: num('wordsize'),
    schedulers: { online: num('schedulers_online'), total: normal, dirtyCpu: optNum('dirty_cpu') ?? 0, dirtyIo: optNum('dirty_io') ?? 0 },
    schedulerUtilization: utilization === null ? null : utilizationFrom(utilization, normal, optNum('dirty_cpu') ?? 0, windowMs),
    runQueue: { total: runQueues.reduce((a, b) => a + b, 0), perScheduler: runQueues, ...dirty },
    memory: {
      total: mem('total'),
      processes: mem('processes'),
      processesUsed: mem('processes_used'),
      system: mem('system'),
      atom: mem('atom'),
      atomUsed: mem('atom_used'),
      binary: mem('binary'),
      code: mem('code'),
      ets: mem('ets'),
    },
    limits: {
      processes: { count: num('process_count'), limit: optNum('process_limit') },
      ports: { count: num('port_count'), limit: optNum('port_limit') },
      atoms: { count: optNum('atom_count') ?? 0, limit: optNum('atom_limit') },
      etsTables: { count: num('ets_count'), limit: optNum('ets_limit') },
    },
    io: { inputBytes: num('io_in'), outputBytes: num('io_out') },
    reductions: num('reductions'),
    garbageCollections: { count: num('gcs'), wordsReclaimed: num('gc_words') },
  };
}

/** Busy fraction per scheduler from two scheduler_wall_time_all samples ({Id, Active, Total} each). */
export function utilizationFrom(samples: Term, normalSchedulers: number, dirtyCpuSchedulers: number, windowMs: number): Overview['schedulerUtilization'] {
  const [s1, s2] = asTuple(samples, 2).elements;
  const first = new Map<number, [number, number]>();
  for (const t of asList(s1)) {
    const [id, active, total] = asTuple(t, 3).elements;
    first.set(asNumber(id), [asNumber(active), asNumber(total)]);
  }
  const perScheduler: number[] = [];
  let dirtyActive = 0;
  let dirtyTotal = 0;
  let sumActive = 0;
  let sumTotal = 0;
  for (const t of asList(s2)) {
    const [idT, activeT, totalT] = asTuple(t, 3).elements;
    const id = asNumber(idT);
    const before = first.get(id);
    if (before === undefined) continue;
    const da = asNumber(activeT) - before[0];
    const dt = asNumber(totalT) - before[1];
    if (id <= normalSchedulers) {
      perScheduler[id - 1] = dt > 0 ? da / dt : 0;
      sumActive += da;
      sumTotal += dt;
    } else if (id <= normalSchedulers + dirtyCpuSchedulers) {
      // Dirty CPU schedulers are numbered right after the normal ones, dirty IO after those.
      dirtyActive += da;
      dirtyTotal += dt;
    }
  }
  return {
    windowMs,
    total: sumTotal > 0 ? sumActive / sumTotal : 0,
    perScheduler,
    dirtyCpu: dirtyTotal > 0 ? dirtyActive / dirtyTotal : null,
  };
}

