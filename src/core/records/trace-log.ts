// The trace log format (`.beamtrace`): what a trace, trace-messages or monitor session prints and
// saves next to its JSON record. One event per line, header and footer lines start with '#'.
// syntaxes/beamtrace.tmLanguage.json highlights it; keep the two in step.
//
//   # beam-lens trace v1 node=demo@host session=20261125T101500Z-trace-1a2b3c
//   # target: 'Elixir.Demo.Pricing':compute/2 rate=10/1000ms limit=100 duration=30s
//   10:15:00.123456 <0.123.0> call 'Elixir.Demo.Pricing':compute(1, #{sku => <<"a">>})
//   10:15:00.123502 <0.123.0> return 'Elixir.Demo.Pricing':compute/2 -> {ok,42}
//   10:15:00.124001 <0.123.0> exception 'Elixir.Demo.Pricing':compute/2 raised error:badarg
//   10:15:00.130000 <0.140.0> send <0.141.0> {ping,1}
//   10:15:00.130010 <0.141.0> receive {ping,1}
//   10:15:00.200000 <0.150.0> monitor long_gc [{timeout,120},{heap_size,4000}]
//   # end reason=cap forwarded=100 dropped=12 duration=1234ms
import type { TraceEvent, TraceResult } from '../runs/trace';

export const TRACE_LOG_VERSION = 1;

/** HH:MM:SS.uuuuuu in UTC. */
export function traceTime(timestampUs: number): string {
  const ms = Math.floor(timestampUs / 1000);
  const micros = String(Math.floor(timestampUs % 1_000_000)).padStart(6, '0');
  return `${new Date(ms).toISOString().slice(11, 19)}.${micros}`;
}

export function traceLine(e: TraceEvent): string {
  const body =
    e.type === 'call' ? `call ${e.what}`
    : e.type === 'return' ? `return ${e.what} -> ${e.detail}`
    : e.type === 'exception' ? `exception ${e.what} raised ${e.detail}`
    : e.type === 'send' ? `send ${e.what} ${e.detail}`
    : e.type === 'receive' ? `receive ${e.detail}`
    : `monitor ${e.what} ${e.detail}`;
  // Printed terms never contain raw newlines in the log: one event is one line.
  return `${traceTime(e.timestampUs)} ${e.pid} ${body}`.replace(/\r?\n/g, '\\n');
}

export function traceHeader(node: string, sessionId: string, target: string, limits: Record<string, string | number>): string[] {
  const limitText = Object.entries(limits).map(([k, v]) => `${k}=${v}`).join(' ');
  return [`# beam-lens trace v${TRACE_LOG_VERSION} node=${node} session=${sessionId}`, `# target: ${target}${limitText ? ` ${limitText}` : ''}`];
}

export function traceFooter(r: Pick<TraceResult, 'endReason' | 'forwarded' | 'dropped' | 'durationMs'>): string {
  return `# end reason=${r.endReason} forwarded=${r.forwarded} dropped=${r.dropped} duration=${Math.round(r.durationMs)}ms`;
}

/** The whole log of a finished session. */
export function renderTraceLog(node: string, sessionId: string, target: string, limits: Record<string, string | number>, r: TraceResult): string {
  return [...traceHeader(node, sessionId, target, limits), ...r.events.map(traceLine), traceFooter(r)].join('\n') + '\n';
}
