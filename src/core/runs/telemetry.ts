// Telemetry on the target (the `:telemetry` library most Elixir libraries emit through).
//
// Listing is read-only: telemetry's own API (`telemetry:list_handlers([])`) evaluated on the
// target, projected there to id, event name and function (a handler's config never crosses the
// wire), bounded in rows. Watching needs consent (probe + trace): the probe's watcher attaches
// `beam_lens_probe:telemetry_event/4` with `telemetry:attach_many/4` under a unique handler id
// for the chosen events, counts them and keeps per-measurement histograms in a bounded ETS
// table, and detaches at the end (the guardian detaches it on nodedown or if the watcher dies).
//
// telemetry keeps no registry of emitted events, only of handled ones: a prefix is expanded to
// the event names that attached handlers listen to. `exact` attaches to the names as given.
import { BeamLensError } from '../../errors';
import { Atom, ErlFloat, ErlMap, Pid, Tuple, formatTerm, isAtom, type Term } from '../../etf';
import type { Attachment } from '../attach/attachment';
import { PROBE_MODULE } from '../probe/loader';
import { asList, asNumber, charlistToString } from '../target/terms';

export interface TelemetryHandler {
  /** The handler id as the node prints it. */
  id: string;
  /** Dotted event name, e.g. `phoenix.router_dispatch.stop`. */
  event: string;
  /** The handler function as the node prints it (`fun 'Elixir.Mod':handle_event/4`). */
  function: string;
}

export type TelemetryListing =
  | { running: false }
  | {
      running: true;
      version: string;
      /** Handlers attached (one per handler and event name), all of them. */
      total: number;
      /** The first `limit` of them, sorted by event name. */
      handlers: TelemetryHandler[];
      /** Every distinct event name some handler listens to (up to 2000), sorted. */
      events: string[];
      eventsTotal: number;
    };

export interface TelemetryMeasurement {
  key: string;
  /** Events that carried it. */
  n: number;
  /** Duration-like (`duration` or `*_time`, native units): percentiles in microseconds. */
  duration: boolean;
  /** Mean of integer values (µs for duration-like keys, the raw unit otherwise). */
  mean?: number;
  p50Us?: number;
  p95Us?: number;
  p99Us?: number;
  maxUs?: number;
}

export interface TelemetryEventStats {
  event: string;
  count: number;
  perSec: number;
  measurements: TelemetryMeasurement[];
}

export interface TelemetryWatchResult {
  node: string;
  durationMs: number;
  /** The prefixes asked for, and the event names they expanded to. */
  prefixes: string[];
  events: TelemetryEventStats[];
  /** Counter updates that did not fit the watcher's bounded table. */
  dropped: number;
  endReason: 'completed' | 'stopped';
}

export const TELEMETRY_LIMITS = { maxEvents: 100, maxDurationMs: 3_600_000, listRows: 500 } as const;

const LIST = `
case lists:keyfind(telemetry, 1, application:which_applications(5000)) of
  false -> not_running;
  {_, _, Vsn} ->
    Hs = telemetry:list_handlers([]),
    Events = lists:usort([E || #{event_name := E} <- Hs]),
    Show = fun(T) -> iolist_to_binary(io_lib:format("~0P", [T, 12])) end,
    Sorted = [H || {_, H} <- lists:keysort(1, [{maps:get(event_name, H), H} || H <- Hs])],
    Rows = [{Show(Id), E, Show(F)} || #{id := Id, event_name := E, function := F} <- lists:sublist(Sorted, Limit)],
    {running, Vsn, length(Hs), length(Events), lists:sublist(Events, 2000), Rows}
end.`;

export function dotted(event: readonly string[]): string {
  return event.join('.');
}

/** `a.b,c.d` as event prefixes; each part an atom name. */
export function parseEventPrefixes(text: string): string[][] {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) throw new BeamLensError('usage', 'no event prefix given: write them dotted and comma-separated, e.g. --events phoenix.router_dispatch,my_app.repo.query');
  return parts.map((p) => {
    const segs = p.replace(/^:/, '').split('.').map((s) => s.trim().replace(/^:/, ''));
    if (segs.some((s) => s === '' || s.length > 255)) throw new BeamLensError('usage', `bad event prefix "${p}": write it dotted, e.g. phoenix.router_dispatch`);
    return segs;
  });
}

/** The event names (dotted) that start with the prefix. */
export function expandPrefix(prefix: readonly string[], events: readonly string[]): string[] {
  return events.filter((e) => {
    const segs = e.split('.');
    return prefix.length <= segs.length && prefix.every((p, i) => segs[i] === p);
  });
}

/** Lists telemetry's handlers on the node (read-only), or says it is not running. */
export async function listTelemetry(session: Attachment, limit: number = TELEMETRY_LIMITS.listRows): Promise<TelemetryListing> {
  let reply: Term;
  try {
    reply = await session.evaluator.eval(LIST, { Limit: limit }, 30_000);
  } catch (err) {
    throw new BeamLensError('rpc', `could not list telemetry handlers on ${session.node}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (isAtom(reply, 'not_running')) return { running: false };
  if (!(reply instanceof Tuple) || reply.size !== 6) throw new BeamLensError('protocol', `unexpected telemetry listing from ${session.node}: ${formatTerm(reply, { maxLength: 200 })}`);
  const [, vsn, total, eventsTotal, events, rows] = reply.elements as [Term, Term, Term, Term, Term, Term];
  return {
    running: true,
    version: charlistToString(vsn),
    total: asNumber(total),
    eventsTotal: asNumber(eventsTotal),
    events: asList(events).map(eventName),
    handlers: asList(rows).map((r) => {
      const [id, event, fun] = (r as Tuple).elements as [Term, Term, Term];
      return { id: charlistToString(id), event: eventName(event), function: charlistToString(fun) };
    }),
  };
}

function eventName(t: Term): string {
  return dotted(asList(t).map((a) => (a instanceof Atom ? a.name : formatTerm(a))));
}

/**
 * Resolves prefixes to event names: each must match an event some handler listens to, unless
 * `exact` (then the names are taken as given). Throws a 'usage' error naming what exists.
 */
export function resolveEvents(listing: TelemetryListing, prefixes: string[][], node: string, exact = false): string[] {
  if (!listing.running) throw notRunning(node);
  const out = new Set<string>();
  for (const p of prefixes) {
    if (exact) {
      out.add(dotted(p));
      continue;
    }
    const matched = expandPrefix(p, listing.events);
    if (matched.length === 0) {
      const known = listing.events.length === 0 ? 'no handler is attached to any event' : `events with handlers: ${listing.events.slice(0, 30).join(', ')}${listing.eventsTotal > 30 ? `, … (${listing.eventsTotal} in all)` : ''}`;
      throw new BeamLensError(
        'usage',
        `no telemetry event on ${node} starts with "${dotted(p)}" (${known}). telemetry only knows the events that handlers listen to; to watch an event nobody handles yet, give its full name with --exact`,
      );
    }
    for (const e of matched) out.add(e);
  }
  if (out.size > TELEMETRY_LIMITS.maxEvents) throw new BeamLensError('usage', `the prefixes match ${out.size} events; at most ${TELEMETRY_LIMITS.maxEvents} can be watched at once: give longer prefixes`);
  return [...out].sort();
}

function notRunning(node: string): BeamLensError {
  return new BeamLensError('capability', `the telemetry application is not running on ${node} (application:which_applications/0 does not list it): nothing to list or watch`);
}

export interface TelemetryWatchOptions {
  /** Full event names, dotted (from resolveEvents). */
  events: string[];
  prefixes: string[];
  durationMs: number;
  signal?: AbortSignal;
}

/** Watches the events over a window in the probe (the caller has consent for probe + trace). */
export async function watchTelemetry(session: Attachment, options: TelemetryWatchOptions): Promise<TelemetryWatchResult> {
  if (!(options.durationMs >= 1 && options.durationMs <= TELEMETRY_LIMITS.maxDurationMs)) throw new BeamLensError('usage', `a telemetry window is from 1 ms to ${TELEMETRY_LIMITS.maxDurationMs / 60_000} minutes`);
  await session.prepareTracing();
  const owner = session.connection.spawn();
  try {
    const names = options.events.map((e) => e.split('.').map((s) => Atom.of(s)));
    const spec = new ErlMap([[Atom.of('duration_ms'), Math.round(options.durationMs)]]);
    const started = await session.connection.rpc(PROBE_MODULE, 'telemetry_start', [names, owner.pid, spec], { timeoutMs: 30_000 });
    if (!(started instanceof Tuple) || !isAtom(started.at(0), 'ok') || !(started.at(1) instanceof Pid)) {
      const why = started instanceof Tuple ? started.at(1) : undefined;
      if (isAtom(why, 'no_telemetry')) throw notRunning(session.node);
      const busy = why instanceof Tuple && isAtom(why.at(0), 'busy');
      throw new BeamLensError(busy ? 'targetBusy' : 'capability', busy ? `another telemetry watch is running on ${session.node}; wait for it to end` : `the telemetry watcher did not start on ${session.node}: ${formatTerm(started, { maxLength: 300 })}`);
    }
    const watcher = started.at(1) as Pid;
    const onStop = (): void => void session.connection.rpc(PROBE_MODULE, 'telemetry_stop', [watcher]).catch(() => undefined);
    options.signal?.addEventListener('abort', onStop, { once: true });
    if (options.signal?.aborted) onStop();
    try {
      const done = await owner.receive(
        (m) => (m instanceof Tuple && m.size === 3 && isAtom(m.at(0), 'beam_lens_telemetry') && m.at(1) instanceof Pid && (m.at(1) as Pid).key === watcher.key ? (m.at(2) as Term) : undefined),
        options.durationMs + 30_000,
      );
      if (!(done instanceof Tuple) || !isAtom(done.at(0), 'done') || !(done.at(2) instanceof ErlMap)) throw new BeamLensError('protocol', `unexpected telemetry result: ${formatTerm(done as Term, { maxLength: 200 })}`);
      return summary(session.node, options.prefixes, isAtom(done.at(1), 'stopped') ? 'stopped' : 'completed', done.at(2) as ErlMap);
    } finally {
      options.signal?.removeEventListener('abort', onStop);
    }
  } finally {
    owner.exit();
  }
}

function summary(node: string, prefixes: string[], endReason: 'completed' | 'stopped', st: ErlMap): TelemetryWatchResult {
  const durationMs = asNumber(st.getAtom('duration_us')) / 1000;
  const nativePerSec = asNumber(st.getAtom('native'));
  const num = (m: ErlMap, k: string): number | undefined => {
    const v = m.getAtom(k);
    return typeof v === 'number' || typeof v === 'bigint' ? Number(v) : v instanceof ErlFloat ? v.value : undefined;
  };
  const round = (x: number): number => Math.round(x * 10) / 10;
  const events = asList(st.getAtom('events')).map((e): TelemetryEventStats => {
    const m = e as ErlMap;
    const count = num(m, 'count') ?? 0;
    return {
      event: eventName(m.getAtom('event') ?? []),
      count,
      perSec: durationMs > 0 ? round((count * 1000) / durationMs) : 0,
      measurements: asList(m.getAtom('measurements')).map((x): TelemetryMeasurement => {
        const mm = x as ErlMap;
        const key = mm.getAtom('key');
        const n = num(mm, 'n') ?? 0;
        const duration = isAtom(mm.getAtom('duration'), 'true');
        const sum = num(mm, 'sum');
        const out: TelemetryMeasurement = { key: key instanceof Atom ? key.name : formatTerm(key as Term), n, duration };
        if (sum !== undefined && n > 0) out.mean = round(duration ? (sum * 1e6) / nativePerSec / n : sum / n);
        for (const [k, name] of [['p50_us', 'p50Us'], ['p95_us', 'p95Us'], ['p99_us', 'p99Us'], ['max_us', 'maxUs']] as const) {
          const v = num(mm, k);
          if (v !== undefined) out[name] = round(v);
        }
        return out;
      }),
    };
  });
  return { node, durationMs, prefixes, events, dropped: num(st, 'dropped') ?? 0, endReason };
}
