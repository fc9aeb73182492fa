// Call traces (recon_trace-like) and message traces of one process, run by the probe's tracer on
// the target with a rate limit, a total cap and a deadline. Events arrive already printed and
// truncated on the target: a 100 MB message never crosses the wire.
import { BeamLensError } from '../../errors';
import type { LocalProcess } from '../../erldist';
import { Atom, ErlMap, Pid, Term, Tuple, formatTerm, isAtom } from '../../etf';
import { pidText } from '../target/pids';
import { PROBE_MODULE } from '../probe/loader';
import type { Attachment } from '../attach/attachment';
import { asNumber } from '../target/terms';
import { describePid } from '../inspect/identity';
import { assertTraceFree } from './holders';

export type TraceTarget =
  | {
      kind: 'call';
      module: string;
      function: string;
      arity: number | '_';
      match?: string;
      returns: boolean;
      /** false: no term leaves the node (calls as M:F/Arity, returns as "_", exceptions as their class). Default true. */
      terms?: boolean;
    }
  | { kind: 'messages'; pid: string };

export interface TraceLimits {
  /** At most `count` events per `perMs` are forwarded; the rest are counted as dropped. */
  rate: { count: number; perMs: number };
  /** Stop after this many forwarded events. */
  cap: number;
  deadlineMs: number;
  /** Printed terms are cut to this many characters. */
  maxChars?: number;
  breaker?: { runQueue?: number; memoryGrowth?: number; tracerQueue?: number };
}

export interface TraceEvent {
  type: 'call' | 'return' | 'exception' | 'send' | 'receive' | 'monitor';
  pid: string;
  /** "M:F(args)" for calls, "M:F/A" for returns; the receiver for sends; the kind for monitor events. */
  what: string;
  /** Return value, message, or event details (printed, truncated). */
  detail: string;
  timestampUs: number;
  /** A send to a process on another node: that node (the receiver in `what` is printed as `<node.N.M>`). */
  toNode?: string;
  /** Seen on another node than the session's (the receiving side of a remote send, traced there). */
  node?: string;
  /** A receive matched to a send of the traced process: when it was sent (the sender's clock). */
  sentUs?: number;
}

export interface TraceResult {
  events: TraceEvent[];
  forwarded: number;
  dropped: number;
  /** process_down: the traced process exited; taken_over: another tool took the trace or the monitor. */
  endReason: 'cap' | 'deadline' | 'stopped' | 'breaker' | 'owner_down' | 'process_down' | 'taken_over';
  breaker?: { what: string; value: number; limit: number };
  durationMs: number;
}

/** 'Mod:fun/2', 'Elixir.Mod.Sub:fun/2' or Elixir style 'Mod.Sub.fun/2'; arity may be _. */
export function parseMfa(text: string): { module: string; function: string; arity: number | '_' } {
  const erlang = /^([^:/\s]+):([^:/\s]+)\/(\d+|_)$/.exec(text);
  const elixir = /^([A-Z][\w.]*)\.([a-z_][\w?!]*)\/(\d+|_)$/.exec(text);
  const m = erlang ?? elixir;
  if (!m) {
    throw new BeamLensError('usage', `"${text}" is not Module:function/arity (e.g. my_mod:handle/2, Elixir.MyApp.Worker:run/1 or MyApp.Worker.run/1)`);
  }
  const rawModule = m[1] as string;
  const module = elixir && !erlang ? `Elixir.${rawModule}` : /^[A-Z]/.test(rawModule) && !rawModule.startsWith('Elixir.') ? `Elixir.${rawModule}` : rawModule;
  if (module === '_' || m[2] === '_') {
    throw new BeamLensError('usage', 'refusing to trace every module or every function of a module: name the function (recon_trace refuses this too)');
  }
  return { module, function: m[2] as string, arity: m[3] === '_' ? '_' : Number(m[3]) };
}

// Turns `fun([A, _]) when A > 10 -> return_trace() end` into a match specification on the target,
// as the Erlang shell's dbg:fun2ms does.
// Syntax errors come back as {error, Text} (the compiler's own words), never as a crash.
const MATCH_SPEC = `
Why = fun(Mod, Desc) -> lists:flatten(try Mod:format_error(Desc) catch _:_ -> io_lib:format("~0tp", [Desc]) end) end,
case erl_scan:string(Src) of
  {ok, Toks, _} ->
    case erl_parse:parse_exprs(Toks) of
      {ok, [{'fun', _, {clauses, Clauses}}]} ->
        case ms_transform:transform_from_shell(dbg, Clauses, []) of
          {error, [{_, [{_, EMod, EDesc} | _]} | _], _} -> {error, Why(EMod, EDesc)};
          {error, _, _} -> {error, "not a match specification"};
          MS when Return -> {ok, [{Head, Guard, Body ++ [{return_trace}]} || {Head, Guard, Body} <- MS]};
          MS -> {ok, MS}
        end;
      {ok, _} -> {error, "not a fun"};
      {error, {_, PMod, PDesc}} -> {error, Why(PMod, PDesc)}
    end;
  {error, {_, SMod, SDesc}, _} -> {error, Why(SMod, SDesc)}
end.`;

export async function runTrace(
  session: Attachment,
  target: TraceTarget,
  limits: TraceLimits,
  onEvent: (e: TraceEvent) => void,
  signal?: AbortSignal,
): Promise<TraceResult> {
  // Before anything is set (the probe included): another tracer, or patterns on the function.
  const { parsePid } = await import('../target/pids');
  const tracedPid = target.kind === 'messages' ? await parsePid(session.connection, target.pid) : null;
  await assertTraceFree(
    session,
    target.kind === 'call'
      ? { patterns: [{ module: target.module, function: target.function, arity: target.arity }], allProcesses: true }
      : tracedPid !== null ? { messagesOf: tracedPid } : {},
    target.kind === 'call' ? 'a call trace' : 'a message trace',
  );
  await session.prepareTracing();
  const owner = session.connection.spawn();
  const spec: Array<[Term, Term]> = [
    [Atom.of('owner'), owner.pid],
    [Atom.of('rate'), new Tuple([limits.rate.count, limits.rate.perMs])],
    [Atom.of('cap'), limits.cap],
    [Atom.of('deadline_ms'), limits.deadlineMs],
    [Atom.of('max_chars'), limits.maxChars ?? 200],
  ];
  if (limits.breaker) {
    const b: Array<[Term, Term]> = [];
    if (limits.breaker.runQueue !== undefined) b.push([Atom.of('run_queue'), limits.breaker.runQueue]);
    if (limits.breaker.memoryGrowth !== undefined) b.push([Atom.of('memory_growth'), limits.breaker.memoryGrowth]);
    if (limits.breaker.tracerQueue !== undefined) b.push([Atom.of('tracer_queue'), limits.breaker.tracerQueue]);
    spec.push([Atom.of('breaker'), new ErlMap(b)]);
  }
  if (target.kind === 'call') {
    spec.push([Atom.of('kind'), Atom.of('call')]);
    spec.push([Atom.of('mfa'), new Tuple([Atom.of(target.module), Atom.of(target.function), target.arity === '_' ? Atom.of('_') : target.arity])]);
    spec.push([Atom.of('return'), Atom.of(target.returns ? 'true' : 'false')]);
    if (target.terms === false) spec.push([Atom.of('args'), Atom.of('false')]);
    if (target.match !== undefined) {
      const source = target.match.trim().replace(/\.$/, '') + '.';
      const ms = await session.evaluator.eval(MATCH_SPEC, { Src: [...source].map((c) => c.codePointAt(0) as number), Return: Atom.of(target.returns ? 'true' : 'false') }).catch((err: unknown) => {
        throw new BeamLensError('usage', `--match is not a fun the target can turn into a match specification: ${err instanceof Error ? err.message : String(err)}`);
      });
      if (!(ms instanceof Tuple) || !isAtom(ms.at(0), 'ok')) {
        const why = ms instanceof Tuple && Array.isArray(ms.at(1)) ? String.fromCodePoint(...(ms.at(1) as number[])) : formatTerm(ms, { maxLength: 300 });
        throw new BeamLensError('usage', `--match does not parse (${why}); write it as a fun, e.g. --match 'fun([A, _]) when A > 1 -> true end'`);
      }
      spec.push([Atom.of('match'), ms.at(1) as Term]);
    }
  } else {
    spec.push([Atom.of('kind'), Atom.of('messages')]);
    if (tracedPid !== null) spec.push([Atom.of('pid'), tracedPid]);
  }
  const t0 = Date.now();
  const started = await session.connection.rpc(PROBE_MODULE, 'trace_start', [new ErlMap(spec)], { timeoutMs: 30_000 });
  if (!(started instanceof Tuple) || !isAtom(started.at(0), 'ok')) {
    owner.exit();
    const busy = started instanceof Tuple && started.at(1) instanceof Tuple && isAtom((started.at(1) as Tuple).at(0), 'busy');
    throw new BeamLensError(busy ? 'targetBusy' : 'usage', `the tracer did not start: ${formatTerm(started, { maxLength: 300 })}`);
  }
  const tracer = started.at(1) as Pid;
  const events: TraceEvent[] = [];
  const onAbort = (): void => {
    void session.connection.rpc(PROBE_MODULE, 'stop_trace', [tracer]).catch(() => undefined);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  // Stopped while the tracer was starting: stop it now (the listener fires only on a later abort).
  if (signal?.aborted) onAbort();
  try {
    const info = await collect(owner, 'beam_lens_trace', 'beam_lens_trace_done', limits.deadlineMs + 30_000, (raw) => {
      const e = eventFrom(raw, session.node);
      events.push(e);
      onEvent(e);
    });
    return { events, ...endOf(info, events.length, t0) };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    owner.exit();
  }
}

/**
 * Receives `{EventTag, From, Event}` messages until `{DoneTag, From, Info}`, handing each event
 * to `onEvent`; returns Info. Our own deadline only guards against a lost done message.
 */
async function collect(owner: LocalProcess, eventTag: string, doneTag: string, waitMs: number, onEvent: (e: Tuple) => void): Promise<ErlMap> {
  for (;;) {
    const msg = await owner.receive((m) => (m instanceof Tuple && (isAtom(m.at(0), eventTag) || isAtom(m.at(0), doneTag)) ? m : undefined), waitMs);
    if (isAtom(msg.at(0), doneTag)) return msg.at(2) as ErlMap;
    onEvent(msg.at(2) as Tuple);
  }
}

function endOf(info: ErlMap, forwarded: number, t0: number): Pick<TraceResult, 'forwarded' | 'dropped' | 'endReason' | 'durationMs' | 'breaker'> {
  const breaker = info.getAtom('breaker');
  return {
    forwarded: asNumber(info.getAtom('events') ?? forwarded),
    dropped: asNumber(info.getAtom('dropped') ?? 0),
    endReason: (info.getAtom('reason') as Atom).name as TraceResult['endReason'],
    durationMs: Date.now() - t0,
    ...(breaker instanceof ErlMap
      ? { breaker: { what: (breaker.getAtom('what') as Atom).name, value: asNumber(breaker.getAtom('value')), limit: asNumber(breaker.getAtom('limit')) } }
      : {}),
  };
}

function text(t: Term | undefined): string {
  if (Buffer.isBuffer(t)) return t.toString('utf8');
  return t === undefined ? '' : formatTerm(t, { maxLength: 300 });
}

export function eventFrom(e: Tuple, node: string): TraceEvent {
  const type = (e.at(0) as Atom).name as TraceEvent['type'];
  const who = (t: Term | undefined): string => (t instanceof Pid ? pidText(t, node) : text(t));
  switch (type) {
    case 'call':
      return { type, pid: who(e.at(1)), what: text(e.at(2)), detail: '', timestampUs: asNumber(e.at(3)) };
    case 'return':
    case 'exception':
      return { type, pid: who(e.at(1)), what: text(e.at(2)), detail: text(e.at(3)), timestampUs: asNumber(e.at(4)) };
    case 'send': {
      const to = e.at(2);
      // A pid of another node, or {Name, Node} with another node.
      const toNode = to instanceof Pid ? to.node.name : to instanceof Tuple && to.elements.length === 2 && to.at(1) instanceof Atom ? (to.at(1) as Atom).name : node;
      return { type, pid: who(e.at(1)), what: who(to), detail: text(e.at(3)), timestampUs: asNumber(e.at(4)), ...(toNode !== node ? { toNode } : {}) };
    }
    case 'receive':
      return { type, pid: who(e.at(1)), what: '', detail: text(e.at(2)), timestampUs: asNumber(e.at(3)) };
    default:
      return { type: 'monitor', pid: who(e.at(1)), what: type, detail: text(e.at(2)), timestampUs: asNumber(e.at(3) ?? 0) };
  }
}

/** "10/1s", "100/500ms", "5/2s" */
export function parseRate(text: string): { count: number; perMs: number } {
  const m = /^(\d+)\/(\d*)(ms|s|m)?$/.exec(text.trim());
  if (!m || Number(m[1]) < 1) throw new BeamLensError('usage', `--rate "${text}" is not N/TIME, e.g. 10/1s or 100/500ms`);
  const n = m[2] === '' ? 1 : Number(m[2]);
  const unit = m[3] ?? 'ms';
  const perMs = n * (unit === 's' ? 1000 : unit === 'm' ? 60_000 : 1);
  if (perMs < 10) throw new BeamLensError('usage', `--rate window must be at least 10 ms`);
  return { count: Number(m[1]), perMs };
}

export interface MonitorOptions {
  longGcMs?: number;
  longScheduleMs?: number;
  largeHeapWords?: number;
  rate: { count: number; perMs: number };
  cap: number;
  deadlineMs: number;
}

/**
 * System monitor (long_gc, long_schedule, large_heap, busy_port, busy_dist_port) over a window,
 * only if no one else holds erlang:system_monitor: otherwise says who does and changes nothing.
 */
export async function runMonitor(session: Attachment, options: MonitorOptions, onEvent: (e: TraceEvent) => void, signal?: AbortSignal): Promise<TraceResult> {
  await assertTraceFree(session, { systemMonitor: true }, 'the system monitor');
  await session.prepareTracing();
  const owner = session.connection.spawn();
  const opts = new ErlMap([
    [Atom.of('rate'), new Tuple([options.rate.count, options.rate.perMs])],
    [Atom.of('cap'), options.cap],
    [Atom.of('deadline_ms'), options.deadlineMs],
    ...(options.longGcMs !== undefined ? ([[Atom.of('long_gc'), options.longGcMs]] as Array<[Term, Term]>) : []),
    ...(options.longScheduleMs !== undefined ? ([[Atom.of('long_schedule'), options.longScheduleMs]] as Array<[Term, Term]>) : []),
    ...(options.largeHeapWords !== undefined ? ([[Atom.of('large_heap'), options.largeHeapWords]] as Array<[Term, Term]>) : []),
  ]);
  const t0 = Date.now();
  const started = await session.connection.rpc(PROBE_MODULE, 'monitor_start', [owner.pid, opts], { timeoutMs: 30_000 });
  if (!(started instanceof Tuple) || !isAtom(started.at(0), 'ok')) {
    owner.exit();
    const busy = started instanceof Tuple && started.at(1) instanceof Tuple && isAtom((started.at(1) as Tuple).at(0), 'busy');
    const holder = busy ? ((started.at(1) as Tuple).at(1) as Term) : undefined;
    const who = holder instanceof Pid ? await describePid(session.evaluator, session.node, holder) : holder !== undefined ? formatTerm(holder, { localNode: Atom.of(session.node), maxLength: 200 }) : '';
    // RabbitMQ (and others using the sysmon_handler application) hold it for the node's whole life.
    const permanent = /sysmon_handler/.test(who) ? ' That is the node\'s own sysmon_handler, which keeps it for as long as the node runs: long GC and busy port events are not available from BEAM Lens there.' : " Stop that tool's monitor first.";
    throw new BeamLensError(
      busy ? 'targetBusy' : 'usage',
      busy
        ? `erlang:system_monitor is already held by ${who} on ${session.node}; BEAM Lens will not take it from another tool.${permanent}`
        : `the system monitor did not start: ${formatTerm(started, { localNode: Atom.of(session.node), maxLength: 300 })}`,
    );
  }
  const monitor = started.at(1) as Pid;
  const events: TraceEvent[] = [];
  const onAbort = (): void => {
    void session.connection.rpc(PROBE_MODULE, 'monitor_stop', [monitor]).catch(() => undefined);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) onAbort();
  try {
    const info = await collect(owner, 'beam_lens_monitor', 'beam_lens_monitor_done', options.deadlineMs + 30_000, (e) => {
      const ev: TraceEvent = {
        type: 'monitor',
        pid: e.at(1) instanceof Pid ? pidText(e.at(1) as Pid, session.node) : text(e.at(1)),
        what: (e.at(0) as Atom).name,
        detail: text(e.at(2)),
        timestampUs: asNumber(e.at(3) ?? 0),
      };
      events.push(ev);
      onEvent(ev);
    });
    return { events, ...endOf(info, events.length, t0) };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    owner.exit();
  }
}
