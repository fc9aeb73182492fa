// Runs one sampling profile on the target: in the probe (with consent) at up to 1000 Hz, or
// zero-install over rpc at up to 25 Hz. Bounded by rate, duration and sample count; no trace
// flag and no code change (only process_info/2). The breaker watches the run queue and memory:
// the sampler slows down while the run queue is long and the profile ends if it stays long.
import { BeamLensError } from '../../errors';
import { Atom, ErlMap, Pid, Ref, Term, Tuple, formatTerm, isAtom } from '../../etf';
import { PROBE_MODULE } from '../probe/loader';
import type { Attachment } from '../attach/attachment';
import { watchBreaker, type BreakerLimits, type BreakerReading, type BreakerTrip } from '../runs/breaker';
import type { EndReason } from '../records/store';
import { asList, asNumber, charlistToString } from '../target/terms';
import { ProfileBuilder, type Profile, type RawFrame } from './profile';
import type { ProfileTarget } from './targets';

export const PROFILE_LIMITS = {
  probe: { defaultHz: 97, maxHz: 1000 },
  rpc: { defaultHz: 10, maxHz: 25 },
  maxDurationMs: 600_000,
  defaultMaxSamples: 100_000,
  maxSamples: 1_000_000,
  maxProcesses: 100,
} as const;

export interface ProfileOptions {
  hz?: number;
  durationMs: number;
  maxSamples?: number;
  /** auto: the probe when it is loaded, else rpc. */
  mode?: 'auto' | 'probe' | 'rpc';
  breaker?: BreakerLimits;
  signal?: AbortSignal;
  /** Called as batches arrive (samples so far). */
  onProgress?: (samples: number) => void;
}

export interface ProfileResult {
  profile: Profile;
  endReason: EndReason;
  endDetail?: string;
  breaker?: BreakerTrip;
}

function usage(message: string): BeamLensError {
  return new BeamLensError('usage', message);
}

/** Checks the bounds; returns the mode and rate to use. */
export function profilePlan(session: Pick<Attachment, 'hasProbe' | 'node'>, options: ProfileOptions, processes: number): { mode: 'probe' | 'rpc'; hz: number; maxSamples: number } {
  const mode = options.mode === 'probe' || (options.mode !== 'rpc' && session.hasProbe) ? 'probe' : 'rpc';
  if (mode === 'probe' && !session.hasProbe) throw usage(`profiling in the probe needs the probe loaded on ${session.node}: add --allow-probe`);
  const lim = PROFILE_LIMITS[mode];
  const hz = options.hz ?? lim.defaultHz;
  if (!(hz >= 1 && hz <= lim.maxHz)) {
    throw usage(
      mode === 'rpc'
        ? `--hz ${hz}: zero-install sampling over rpc goes from 1 to ${lim.maxHz} Hz; add --allow-probe to sample in the probe at up to ${PROFILE_LIMITS.probe.maxHz} Hz`
        : `--hz must be from 1 to ${lim.maxHz}, got ${hz}`,
    );
  }
  if (!(options.durationMs >= 100 && options.durationMs <= PROFILE_LIMITS.maxDurationMs)) throw usage(`--duration must be from 0.1 to ${PROFILE_LIMITS.maxDurationMs / 1000} seconds`);
  const maxSamples = options.maxSamples ?? PROFILE_LIMITS.defaultMaxSamples;
  if (!(Number.isInteger(maxSamples) && maxSamples >= 1 && maxSamples <= PROFILE_LIMITS.maxSamples)) throw usage(`--max-samples must be from 1 to ${PROFILE_LIMITS.maxSamples}`);
  if (processes < 1 || processes > PROFILE_LIMITS.maxProcesses) throw usage(`profile 1 to ${PROFILE_LIMITS.maxProcesses} processes at a time, not ${processes}`);
  return { mode, hz, maxSamples };
}

export async function runProfile(session: Attachment, targets: readonly ProfileTarget[], options: ProfileOptions): Promise<ProfileResult> {
  const plan = profilePlan(session, options, targets.length);
  const builder = new ProfileBuilder();
  for (const t of targets) builder.addProcess({ pid: t.pidText, name: t.name, initialCall: t.initialCall });
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let trip: BreakerTrip | null = null;
  let reading: BreakerReading | null = null;
  const breaker = watchBreaker(session, options.breaker ?? {}, stop.signal, (r) => (reading = r)).then((t) => {
    if (t) {
      trip = t;
      stop.abort();
    }
  });
  const t0 = Date.now();
  try {
    const run = plan.mode === 'probe' ? probeSampling : rpcSampling;
    const r = await run(session, targets, { ...plan, durationMs: options.durationMs }, builder, stop.signal, () => reading, options.onProgress);
    const tripped = trip as BreakerTrip | null;
    const endReason: EndReason = tripped ? 'breaker' : options.signal?.aborted && r.reason === 'stopped' ? 'stopped' : r.reason;
    const exited = targets.map((t) => builder.process(t.pidText)).filter((p) => p?.exited !== undefined);
    const detail = tripped
      ? `${tripped.what} ${tripped.value} over limit ${tripped.limit}`
      : endReason === 'process_down' || exited.length > 0
        ? exited.map((p) => `${p?.pid ?? ''} exited: ${p?.exited ?? ''}`).join('; ')
        : undefined;
    return {
      profile: builder.profile({ mode: plan.mode, stats: r.stats, durationMs: Date.now() - t0 }),
      endReason,
      ...(detail ? { endDetail: detail } : {}),
      ...(tripped ? { breaker: tripped } : {}),
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    stop.abort();
    await breaker;
  }
}

interface SamplingPlan {
  mode: 'probe' | 'rpc';
  hz: number;
  maxSamples: number;
  durationMs: number;
}

type Sampling = (
  session: Attachment,
  targets: readonly ProfileTarget[],
  plan: SamplingPlan,
  builder: ProfileBuilder,
  stop: AbortSignal,
  reading: () => BreakerReading | null,
  onProgress?: (samples: number) => void,
) => Promise<{ reason: EndReason; stats: Profile['stats'] }>;

/** Frames of one stacktrace as the node lists them (innermost first): {M, F, Arity, Line} or {M, F, A, Location}. */
function rawFrames(stack: Term, builder: ProfileBuilder): number[] {
  const out: number[] = [];
  for (const f of asList(stack)) {
    if (!(f instanceof Tuple) || f.size !== 4) continue;
    const [m, fn, a, loc] = f.elements as [Term, Term, Term, Term];
    if (!(m instanceof Atom) || !(fn instanceof Atom)) continue;
    const arity = Array.isArray(a) ? a.length : typeof a === 'number' ? a : 0;
    let line = 0;
    if (typeof loc === 'number') line = loc;
    else if (Array.isArray(loc)) {
      for (const item of loc) {
        if (!(item instanceof Tuple) || item.size !== 2) continue;
        if (isAtom(item.at(0), 'line') && typeof item.at(1) === 'number') line = item.at(1) as number;
        if (isAtom(item.at(0), 'file')) builder.setFile(m.name, textOf(item.at(1)));
      }
    }
    const raw: RawFrame = { module: m.name, function: fn.name, arity, line };
    out.push(builder.frame(raw));
  }
  return out;
}

/**
 * Zero-install back-off on the breaker's latest reading: while the run queue is longer than the
 * schedulers, the interval doubles (up to 8x the asked one); at half of that or less it halves
 * back. (The probe's sampler does the same on the target, against its own run-queue limit.)
 */
export function backedOff(intervalUs: number, baseUs: number, r: BreakerReading | null): number {
  if (r === null) return intervalUs;
  if (r.runQueue > r.schedulers && intervalUs < baseUs * 8) return intervalUs * 2;
  if (r.runQueue * 2 <= r.schedulers && intervalUs > baseUs) return Math.max(baseUs, intervalUs / 2);
  return intervalUs;
}

function textOf(t: Term | undefined): string {
  try {
    return charlistToString(t);
  } catch {
    return '';
  }
}

function statusBusy(status: Term | undefined): boolean {
  return !(isAtom(status, 'waiting') || isAtom(status, 'suspended'));
}

const probeSampling: Sampling = async (session, targets, plan, builder, stop, _reading, onProgress) => {
  const owner = session.connection.spawn();
  const byPid = new Map(targets.map((t) => [t.pid.key, t.pidText]));
  /** The sampler's stack ids -> our stack indices. */
  const stackIds = new Map<number, number>();
  try {
    const spec = new ErlMap([
      [Atom.of('interval_us'), Math.round(1_000_000 / plan.hz)],
      [Atom.of('duration_ms'), Math.round(plan.durationMs)],
      [Atom.of('max_samples'), plan.maxSamples],
      [Atom.of('batch_ms'), 250],
    ]);
    const started = await session.connection.rpc(PROBE_MODULE, 'profile_start', [targets.map((t) => t.pid), owner.pid, spec], { timeoutMs: 30_000 });
    if (!(started instanceof Tuple) || !isAtom(started.at(0), 'ok') || !(started.at(1) instanceof Pid)) {
      const busy = started instanceof Tuple && started.at(1) instanceof Tuple && isAtom((started.at(1) as Tuple).at(0), 'busy');
      throw new BeamLensError(
        busy ? 'targetBusy' : 'capability',
        busy ? `another profile is running on ${session.node}; wait for it to end` : `the sampler did not start on ${session.node}: ${formatTerm(started, { maxLength: 300 })}`,
      );
    }
    const sampler = started.at(1) as Pid;
    const onStop = (): void => void session.connection.rpc(PROBE_MODULE, 'profile_stop', [sampler]).catch(() => undefined);
    stop.addEventListener('abort', onStop, { once: true });
    try {
      for (;;) {
        const msg = await owner.receive((m) => (m instanceof Tuple && m.size === 3 && isAtom(m.at(0), 'beam_lens_profile') && m.at(1) instanceof Pid && (m.at(1) as Pid).key === sampler.key ? (m.at(2) as Term) : undefined), plan.durationMs + 30_000);
        if (!(msg instanceof Tuple)) continue;
        if (isAtom(msg.at(0), 'samples')) {
          // {samples, Samples, NewStacks, Files}: each distinct stack arrives once, by id.
          for (const f of asList(msg.at(3))) {
            if (f instanceof Tuple && f.at(0) instanceof Atom) builder.setFile((f.at(0) as Atom).name, textOf(f.at(1)));
          }
          for (const d of asList(msg.at(2))) {
            if (d instanceof Tuple && typeof d.at(0) === 'number') stackIds.set(d.at(0) as number, builder.stack(rawFrames(d.at(1) as Term, builder)));
          }
          for (const s of asList(msg.at(1))) {
            if (!(s instanceof Tuple) || s.size !== 4) continue;
            const [t, pid, status, id] = s.elements as [Term, Term, Term, Term];
            const pidText = pid instanceof Pid ? byPid.get(pid.key) : undefined;
            const stack = typeof id === 'number' ? stackIds.get(id) : undefined;
            if (pidText === undefined || stack === undefined) continue;
            builder.addStack(pidText, asNumber(t), statusBusy(status), stack);
          }
          onProgress?.(builder.count);
        } else if (isAtom(msg.at(0), 'done')) {
          const reason = (msg.at(1) as Atom).name as EndReason;
          const st = msg.at(2) as ErlMap;
          const num = (k: string): number => asNumber(st.getAtom(k) ?? 0);
          for (const d of asList(st.getAtom('down') ?? [])) {
            if (!(d instanceof Tuple) || !(d.at(0) instanceof Pid)) continue;
            const p = builder.process(byPid.get((d.at(0) as Pid).key) ?? '');
            if (p) p.exited = Buffer.isBuffer(d.at(1)) ? (d.at(1) as Buffer).toString('utf8') : formatTerm(d.at(1) as Term, { maxLength: 200 });
          }
          const samples = num('samples');
          return {
            reason,
            stats: {
              hz: plan.hz,
              intervalUs: num('interval_us'),
              samples,
              ticks: num('ticks'),
              lateTicks: num('late_ticks'),
              backoffs: num('backoffs'),
              costUsPerSample: samples > 0 ? Math.round((num('cost_us') / samples) * 10) / 10 : 0,
              costUsMax: num('cost_max_us'),
              samplerReductions: num('reductions'),
            },
          };
        }
      }
    } finally {
      stop.removeEventListener('abort', onStop);
    }
  } finally {
    owner.exit();
  }
};

const rpcSampling: Sampling = async (session, targets, plan, builder, stop, reading, onProgress) => {
  const owner = session.connection.spawn();
  const alive = new Map(targets.map((t) => [t.pidText, t.pid]));
  const monitors = new Map(targets.map((t) => [owner.monitor(t.pid).key, t.pidText]));
  const baseUs = Math.round(1_000_000 / plan.hz);
  let intervalUs = baseUs;
  let ticks = 0;
  let late = 0;
  let backoffs = 0;
  let costSum = 0;
  let costMax = 0;
  let calls = 0;
  const t0 = performance.now();
  const end = t0 + plan.durationMs;
  let next = t0;
  let reason: EndReason = 'completed';
  const items = [Atom.of('status'), Atom.of('current_stacktrace')];
  const downReasons = (): void => {
    for (const m of owner.pending) {
      if (!(m instanceof Tuple) || m.size !== 5 || !isAtom(m.at(0), 'DOWN')) continue;
      const ref = m.at(1);
      const pid = ref instanceof Ref ? monitors.get(ref.key) : undefined;
      const p = pid !== undefined ? builder.process(pid) : undefined;
      if (p && p.exited === undefined) p.exited = formatTerm(m.at(4) as Term, { maxLength: 200 });
    }
  };
  try {
    while (!stop.aborted) {
      const now = performance.now();
      if (now >= end) break;
      ticks++;
      const tUs = Math.round((now - t0) * 1000);
      await Promise.all(
        [...alive].map(async ([pidText, pid]) => {
          const c0 = performance.now();
          const reply = await session.connection.rpc('erlang', 'process_info', [pid, items], { timeoutMs: 10_000 });
          const us = (performance.now() - c0) * 1000;
          costSum += us;
          costMax = Math.max(costMax, us);
          calls++;
          if (!Array.isArray(reply)) {
            alive.delete(pidText);
            return;
          }
          let status: Term | undefined;
          let stack: Term = [];
          for (const it of reply) {
            if (!(it instanceof Tuple)) continue;
            if (isAtom(it.at(0), 'status')) status = it.at(1);
            if (isAtom(it.at(0), 'current_stacktrace')) stack = it.at(1) as Term;
          }
          builder.add(pidText, tUs, statusBusy(status), rawFrames(stack, builder));
        }),
      );
      onProgress?.(builder.count);
      if (alive.size === 0) {
        reason = 'process_down';
        break;
      }
      if (builder.count >= plan.maxSamples) {
        reason = 'cap';
        break;
      }
      const slower = backedOff(intervalUs, baseUs, reading());
      if (slower > intervalUs) backoffs++;
      intervalUs = slower;
      next += intervalUs / 1000;
      const after = performance.now();
      if (next < after) {
        late++;
        next = after + intervalUs / 1000;
      }
      await sleep(Math.min(next, end) - after, stop);
    }
    if (stop.aborted && reason === 'completed') reason = 'stopped';
    // A process that died: its DOWN (with the reason) may still be on its way.
    if (alive.size < targets.length) {
      const deadline = Date.now() + 1000;
      while (Date.now() < deadline && targets.some((t) => !alive.has(t.pidText) && builder.process(t.pidText)?.exited === undefined)) {
        downReasons();
        await sleep(20);
      }
      for (const t of targets) {
        const p = builder.process(t.pidText);
        if (!alive.has(t.pidText) && p && p.exited === undefined) p.exited = 'exited (reason not known)';
      }
    }
    return {
      reason,
      stats: {
        hz: plan.hz,
        intervalUs: Math.round(intervalUs),
        samples: builder.count,
        ticks,
        lateTicks: late,
        backoffs,
        costUsPerSample: calls > 0 ? Math.round((costSum / calls) * 10) / 10 : 0,
        costUsMax: Math.round(costMax),
      },
    };
  } finally {
    owner.exit();
  }
};

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
