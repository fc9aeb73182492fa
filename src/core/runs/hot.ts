// Hot functions: call_count on the modules of the target's own applications over a window,
// ranked by calls and calls/s, with an optional second stage measuring call_time for the top few.
// Patterns are set by the probe, which registers their removal with its guardian first: if we
// vanish, the target removes them itself.
import { BeamLensError } from '../../errors';
import { Atom, Term, Tuple, formatTerm, isAtom } from '../../etf';
import { PROBE_MODULE } from '../probe/loader';
import { delay } from '../inspect/processes';
import type { Attachment } from '../attach/attachment';
import { asList, asNumber } from '../target/terms';
import { assertTraceFree } from './holders';
import { watchBreaker, type BreakerLimits, type BreakerTrip } from './breaker';

export interface HotFunction {
  mfa: string;
  module: string;
  function: string;
  arity: number;
  calls: number;
  callsPerSec: number;
  /** Share of all counted calls. */
  share: number;
  /** Second stage: average microseconds per call, when measured. */
  usPerCall?: number;
  /** Second stage: total microseconds spent over its window. */
  totalUs?: number;
}

export interface HotResult {
  durationMs: number;
  modules: string[];
  functionsCovered: number;
  totalCalls: number;
  functions: HotFunction[];
  endReason: 'completed' | 'stopped' | 'breaker';
  breaker?: BreakerTrip;
}

export interface HotOptions {
  durationMs: number;
  limit?: number;
  /** Only these applications' modules (default: every running application that is not OTP or Elixir). */
  apps?: string[];
  /** Or exactly these modules. */
  modules?: string[];
  /** Measure call_time for the top N (0: skip). */
  callTimeTop?: number;
  callTimeWindowMs?: number;
  breaker?: BreakerLimits;
  signal?: AbortSignal;
}

/** Applications that are the platform, not the target's own code. */
export const PLATFORM_APPS = new Set([
  'kernel', 'stdlib', 'compiler', 'sasl', 'crypto', 'ssl', 'public_key', 'inets', 'asn1', 'runtime_tools', 'tools',
  'mnesia', 'os_mon', 'observer', 'wx', 'et', 'debugger', 'xmerl', 'syntax_tools', 'parsetools', 'eunit',
  'common_test', 'edoc', 'erts', 'snmp', 'ssh', 'eldap', 'ftp', 'tftp', 'megaco', 'diameter', 'odbc', 'reltool',
  'dialyzer', 'erl_interface', 'jinterface', 'elixir', 'logger', 'mix', 'iex', 'eex', 'ex_unit', 'hex',
]);

const OWN_MODULES = `
[{App, Mods} || {App, _, _} <- application:which_applications(),
                not lists:member(App, Platform),
                {ok, Mods} <- [application:get_key(App, modules)]].`;

export async function ownModules(session: Attachment, apps?: string[]): Promise<Map<string, string[]>> {
  const reply = asList(await session.evaluator.eval(OWN_MODULES, { Platform: [...PLATFORM_APPS].map((a) => Atom.of(a)) }));
  const out = new Map<string, string[]>();
  for (const t of reply) {
    if (!(t instanceof Tuple)) continue;
    const app = (t.at(0) as Atom).name;
    if (apps && !apps.includes(app)) continue;
    out.set(app, asList(t.at(1)).map((m) => (m as Atom).name));
  }
  if (apps) {
    const missing = apps.filter((a) => !out.has(a));
    if (missing.length > 0) {
      throw new BeamLensError('usage', `no running application ${missing.join(', ')} of the target's own code (OTP and Elixir applications are not traced); running: ${[...(await ownModules(session)).keys()].join(', ') || 'none'}`);
    }
  }
  return out;
}

/** The probe's hot_start/2 takes at most this many modules per call. */
export const HOT_MODULES_PER_CALL = 200;

/**
 * Modules named by the user must be loaded on the node (else a silent "0 calls" would look like
 * an answer). BEAM Lens loads nothing on the target: a module in the code path that was never
 * loaded has run no call, and is named as such.
 */
async function requireLoaded(session: Attachment, modules: string[]): Promise<void> {
  const reply = asList(
    await session.evaluator.eval(`[{M, code:which(M) =/= non_existing} || M <- Mods, not erlang:module_loaded(M)].`, { Mods: modules.map((m) => Atom.of(m)) }),
  );
  const missing: string[] = [];
  const notLoaded: string[] = [];
  for (const t of reply) {
    if (!(t instanceof Tuple) || !(t.at(0) instanceof Atom)) continue;
    (isAtom(t.at(1), 'true') ? notLoaded : missing).push((t.at(0) as Atom).name);
  }
  if (missing.length > 0) {
    throw new BeamLensError('usage', `no module ${missing.join(', ')} on ${session.node} (not loaded and not in the code path); Elixir modules are written in full, e.g. Elixir.MyApp.Worker`);
  }
  if (notLoaded.length > 0) {
    throw new BeamLensError(
      'usage',
      `${notLoaded.join(', ')} ${notLoaded.length === 1 ? 'is' : 'are'} in the code path of ${session.node} but not loaded (nothing has called ${notLoaded.length === 1 ? 'it' : 'them'} since the node started); BEAM Lens does not load modules on the target: count calls once the code has run, or leave ${notLoaded.length === 1 ? 'it' : 'them'} out`,
    );
  }
}

export async function runHotFunctions(session: Attachment, options: HotOptions): Promise<HotResult> {
  const modules = options.modules ?? [...(await ownModules(session, options.apps)).values()].flat();
  if (modules.length === 0) {
    throw new BeamLensError('usage', 'the target runs no application of its own to count calls in; name modules with --module');
  }
  if (options.modules) await requireLoaded(session, options.modules);
  // Before anything is set (the probe included): patterns another tool keeps on these modules.
  await assertTraceFree(session, { countModules: modules }, 'counting calls');
  await session.prepareTracing();
  const mods = modules.map((m) => Atom.of(m));
  const owner = session.connection.spawn();
  // The probe takes at most HOT_MODULES_PER_CALL modules per call; a node's own applications can
  // have hundreds (RabbitMQ 430, ejabberd 581): set them in chunks, undo all on any refusal.
  let functionsCovered = 0;
  for (let i = 0; i < mods.length; i += HOT_MODULES_PER_CALL) {
    const chunk = mods.slice(i, i + HOT_MODULES_PER_CALL);
    const started = await session.connection.rpc(PROBE_MODULE, 'hot_start', [chunk, owner.pid], { timeoutMs: 60_000 }).catch((err: unknown) => err);
    if (!(started instanceof Tuple) || !(started.at(0) instanceof Atom) || (started.at(0) as Atom).name !== 'ok') {
      await session.connection.rpc(PROBE_MODULE, 'hot_stop', [mods.slice(0, i)], { timeoutMs: 60_000 }).catch(() => undefined);
      owner.exit();
      if (started instanceof Error) throw started;
      throw new BeamLensError('usage', `refused: ${describeRefusal(started as Term)}`);
    }
    functionsCovered += asNumber(started.at(1));
  }
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const t0 = Date.now();
  let trip: BreakerTrip | null = null;
  let endReason: HotResult['endReason'] = 'completed';
  try {
    const breaker = watchBreaker(session, options.breaker ?? {}, stop.signal).then((t) => {
      if (t) {
        trip = t;
        stop.abort();
      }
      return t;
    });
    await delay(options.durationMs, stop.signal).catch(() => undefined);
    if (trip) endReason = 'breaker';
    else if (options.signal?.aborted) endReason = 'stopped';
    const elapsed = Date.now() - t0;
    const counts = asList(await session.connection.rpc(PROBE_MODULE, 'hot_read', [mods], { timeoutMs: 60_000 }));
    stop.abort();
    await breaker;
    const rows = counts.map((t) => {
      const [m, f, a, n] = (t as Tuple).elements as [Atom, Atom, number, number];
      return { module: m.name, function: f.name, arity: a, calls: asNumber(n) };
    });
    const total = rows.reduce((acc, r) => acc + r.calls, 0);
    const functions: HotFunction[] = rows.slice(0, options.limit ?? 20).map((r) => ({
      mfa: `${r.module}:${r.function}/${r.arity}`,
      ...r,
      callsPerSec: Math.round((r.calls * 1000) / Math.max(1, elapsed)),
      share: total > 0 ? r.calls / total : 0,
    }));
    return {
      durationMs: elapsed,
      modules,
      functionsCovered,
      totalCalls: total,
      functions,
      endReason,
      ...(trip ? { breaker: trip } : {}),
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    stop.abort();
    await session.connection.rpc(PROBE_MODULE, 'hot_stop', [mods], { timeoutMs: 60_000 }).catch(() => undefined);
    owner.exit();
  }
}

/** Second stage: call_time for a few functions (needs the call flag on processes, briefly). */
export async function measureCallTime(session: Attachment, functions: HotFunction[], windowMs: number): Promise<void> {
  if (functions.length === 0) return;
  await assertTraceFree(session, { patterns: functions.slice(0, 10).map((f) => ({ module: f.module, function: f.function, arity: f.arity })), allProcesses: true }, 'measuring call times');
  const mfas = functions.slice(0, 10).map((f) => new Tuple([Atom.of(f.module), Atom.of(f.function), f.arity]));
  const reply = asList(await session.connection.rpc(PROBE_MODULE, 'hot_call_time', [mfas, windowMs], { timeoutMs: windowMs + 60_000 }));
  for (const t of reply) {
    const [m, f, a, calls, us] = (t as Tuple).elements as [Atom, Atom, number, number, number];
    const hit = functions.find((x) => x.module === m.name && x.function === f.name && x.arity === a);
    if (hit) {
      hit.totalUs = asNumber(us);
      hit.usPerCall = asNumber(calls) > 0 ? Math.round((asNumber(us) / asNumber(calls)) * 100) / 100 : 0;
    }
  }
}

function describeRefusal(t: Term): string {
  if (t instanceof Tuple && t.at(1) instanceof Tuple) {
    const reason = (t.at(1) as Tuple).at(1);
    if (Buffer.isBuffer(reason)) return reason.toString('utf8');
    if (Array.isArray(reason) && reason.length > 0 && reason.every((c) => typeof c === 'number')) return String.fromCodePoint(...(reason as number[]));
  }
  return formatTerm(t, { maxLength: 300 });
}
