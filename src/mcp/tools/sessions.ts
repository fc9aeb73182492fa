// Tools that run over a window: findings and mailbox_watch (read-only), and the intrusive ones
// (hot_functions, trace_calls, trace_messages, system_monitor, report with tracing) that ask
// consent, run through the core audited run, and save their session. Plus compare_sessions.
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { diagnose, type Diagnosis } from '../../core/findings/diagnose';
import type { Finding } from '../../core/findings/rules';
import { runReport, type ReportRun } from '../../core/report/gather';
import { planWindow } from '../../core/findings/trends';
import { renderReportMarkdown } from '../../core/report/markdown';
import { compareSessions } from '../../core/records/compare';
import { runHotFunctions, type HotResult } from '../../core/runs/hot';
import { watchMailboxes, type MailboxWatchResult } from '../../core/runs/mailbox-watch';
import { isSavedId, saveReport } from '../../core/records/reports';
import { printableLimits } from '../../core/runs/run';
import { factsFromDiagnosis } from '../../core/facts/saved-facts';
import { loadSession, sessionsDir, type SessionRecord } from '../../core/records/store';
import { traceLine } from '../../core/records/trace-log';
import { parseMfa, runMonitor, runTrace, type TraceEvent, type TraceResult, type TraceTarget } from '../../core/runs/trace';
import { BeamLensError } from '../../errors';
import { Atom, formatModule } from '../../etf';
import type { Attachment } from '../../core/attach/attachment';
import { STRUCTURED_BUDGET, fitItems, toolResult, truncationNote } from '../bounds';
import { guarded, progressFor, type Extra, type McpContext } from '../context';
import { reportUri, sessionUri } from '../resources';
import { callSignal, runForTool } from '../runs';
import { intrusive, nodeArg, readOnly } from './common';

/** Server-side caps: whatever a client sends, a run is bounded by these. */
export const CAPS = { durationS: 60, rate: 100, events: 1000, hot: 100 } as const;

const duration = (def: number): z.ZodDefault<z.ZodNumber> =>
  z.number().int('durationS must be whole seconds').min(1, 'durationS must be at least 1 second').max(CAPS.durationS, `durationS is at most ${CAPS.durationS} seconds`).default(def);

const findingSchema = z.looseObject({ id: z.string(), severity: z.string(), title: z.string() });
const sessionOut = { session: z.object({ id: z.string(), uri: z.string(), endReason: z.string(), file: z.string().nullable() }) };
const truncationSchema = z.object({ shown: z.number(), total: z.number(), next: z.string() }).optional();

function findingLines(fs: readonly Finding[]): string[] {
  return fs.map((f) => `[${f.severity}] ${f.title}\n  ${f.evidence.slice(0, 3).join('\n  ')}\n  → ${f.recommendation}`);
}

/** Findings fitted to the budget with the rest of the result. */
function fitFindings<R extends Record<string, unknown>>(findings: Finding[], rest: R): { value: R & { findings: Finding[] }; truncated?: { shown: number; total: number; next: string } } {
  const fitted = fitItems(findings, (fs) => ({ ...rest, findings: [...fs] }), STRUCTURED_BUDGET);
  return fitted.shown < findings.length
    ? { value: fitted.value, truncated: { shown: fitted.shown, total: findings.length, next: 'the most severe are listed first; run report for the whole diagnosis as a resource' } }
    : { value: fitted.value };
}

function eventsResult(r: TraceResult, session: { id: string; uri: string; endReason: string; file: string | null }, what: string, extraText = ''): CallToolResult {
  const rest = { session, forwarded: r.forwarded, dropped: r.dropped, durationMs: r.durationMs, ...(r.breaker ? { breaker: r.breaker } : {}) };
  const fitted = fitItems(r.events, (events) => ({ ...rest, events: [...events] }), STRUCTURED_BUDGET);
  const truncated = fitted.shown < r.events.length ? { shown: fitted.shown, total: r.events.length, next: `the whole trace is in the session resource ${session.uri}` } : undefined;
  const why = r.endReason === 'breaker' && r.breaker ? `circuit breaker: ${r.breaker.what} ${r.breaker.value} over ${r.breaker.limit}` : r.endReason;
  const head = `${what}: ${r.forwarded} events, ${r.dropped} dropped by the rate limit, ended by ${why} after ${(r.durationMs / 1000).toFixed(1)} s; everything set on the node was removed. Saved as ${session.uri}.${extraText}`;
  return toolResult({ ...fitted.value, ...(truncated ? { truncated } : {}) }, [head, ...fitted.value.events.slice(0, 60).map((e: TraceEvent) => traceLine(e))].join('\n') + truncationNote(truncated));
}

const limitFields = {
  rate: (v: number) => ({ key: 'rate', title: 'Events per second', requested: v, min: 1, unit: 'events/s' }),
  limit: (v: number) => ({ key: 'limit', title: 'Event cap', requested: v, min: 1, unit: 'events' }),
  durationS: (v: number) => ({ key: 'durationS', title: 'Duration', requested: v, min: 1, unit: 's' }),
};

export function registerSessionTools(ctx: McpContext): void {
  const { server, nodes } = ctx;

  server.registerTool(
    'findings',
    {
      title: 'Findings',
      description:
        'Samples the node read-only for durationS seconds (at most 60) and returns findings with evidence and a recommendation each: growing mailboxes, reduction hogs, memory and binary holders, restart storms, large ETS tables, limit pressure, bottlenecks. Changes nothing on the node. Reports MCP progress; cancellable.',
      inputSchema: { ...nodeArg, durationS: duration(5).describe('seconds to sample (1-60, default 5)') },
      outputSchema: { node: z.string(), windowMs: z.number(), findings: z.array(findingSchema), truncated: truncationSchema },
      annotations: readOnly('Findings'),
    },
    ({ node, durationS }, extra) =>
      guarded(async () => {
        const s = nodes.resolve(node);
        const progress = progressFor(extra);
        const d = await diagnose(s, { durationMs: durationS * 1000, trace: false, onProgress: (done, total, what) => progress(done, total, what), signal: callSignal(ctx, extra) });
        const { value, truncated } = fitFindings(d.findings, { node: s.node, windowMs: d.samples.windowMs });
        const text = [`${d.findings.length} findings on ${s.node} over ${(d.samples.windowMs / 1000).toFixed(1)} s:`, ...findingLines(value.findings)].join('\n');
        return toolResult({ ...value, ...(truncated ? { truncated } : {}) }, text + truncationNote(truncated));
      }),
  );

  server.registerTool(
    'mailbox_watch',
    {
      title: 'Watch mailboxes',
      description:
        'Samples message queue lengths for durationS seconds (at most 60) and ranks processes by queue growth per second, saying which grow and which drain. Read-only (no tracing). Saved as a session resource (compare two with compare_sessions). Reports progress; cancellable.',
      inputSchema: { ...nodeArg, durationS: duration(10).describe('seconds to watch (1-60, default 10)'), limit: z.number().int().min(1).max(50, 'limit is at most 50 rows').default(10).describe('rows (1-50, default 10)') },
      outputSchema: { ...sessionOut, processesSeen: z.number(), rows: z.array(z.looseObject({ pid: z.string(), growthPerSec: z.number() })) },
      annotations: readOnly('Watch mailboxes'),
    },
    ({ node, durationS, limit }, extra) =>
      guarded(async () => {
        const s = nodes.resolve(node);
        const progress = progressFor(extra);
        const { result } = await runForTool<MailboxWatchResult>(ctx, extra, {
          tool: 'mailbox_watch', session: s, kind: 'mailboxes', actions: [], sets: '', undo: '', fields: [],
          limits: () => ({ durationMs: durationS * 1000, listed: limit }),
          durationMs: () => durationS * 1000,
          body: async (_v, signal) => {
            const r = await watchMailboxes(s, { durationMs: durationS * 1000, limit, signal, onProgress: (d, t, w) => progress(d, t, w) });
            return { value: r, endReason: signal.aborted ? 'stopped' : 'completed', durationMs: r.durationMs };
          },
        });
        const r = result.value;
        const rows = r.rows.map(({ samples: _samples, ...row }) => row);
        const session = { id: result.id, uri: sessionUri(result.id), endReason: result.endReason, file: result.file };
        const text = [
          `mailboxes on ${s.node} over ${(r.durationMs / 1000).toFixed(1)} s (${r.processesSeen} processes); saved as ${session.uri}`,
          ...rows.map((x) => `${x.pid} ${x.name ? formatModule(x.name) : x.initialCall ? formatModule(x.initialCall) : ''} queue ${x.messageQueueLen} ${x.growthPerSec >= 0 ? '+' : ''}${x.growthPerSec}/s ${x.trend}`),
        ].join('\n');
        return toolResult({ session, processesSeen: r.processesSeen, rows }, text);
      }),
  );

  server.registerTool(
    'hot_functions',
    {
      title: 'Hot functions',
      description:
        "Counts calls to the application's own functions (call_count trace patterns on its modules, never OTP or Elixir) for durationS seconds (at most 60) and ranks them by calls/s. INTRUSIVE: asks the user's consent; costs a few % CPU while it runs; patterns are removed at the end (and by the probe itself if BEAM Lens vanishes). One tracing session per node at a time. Saved as a session resource.",
      inputSchema: { ...nodeArg, durationS: duration(5).describe('seconds to count (1-60, default 5)'), limit: z.number().int().min(1).max(CAPS.hot, `limit is at most ${CAPS.hot} functions`).default(20).describe('functions listed (1-100, default 20)') },
      outputSchema: { ...sessionOut, totalCalls: z.number(), functions: z.array(z.looseObject({ mfa: z.string(), calls: z.number(), callsPerSec: z.number() })), truncated: truncationSchema },
      annotations: intrusive('Hot functions'),
    },
    ({ node, durationS, limit }, extra) =>
      guarded(async () => {
        const s = nodes.resolve(node);
        const { result } = await runForTool<HotResult>(ctx, extra, {
          tool: 'hot_functions', session: s, kind: 'hot', actions: ['probe', 'trace'],
          sets: `load the beam_lens_probe module and set call_count trace patterns on the modules of the node's own applications for ${durationS} s`,
          undo: 'the patterns are removed when the count ends; the probe is released afterwards (unloaded, unless another BEAM Lens on the node still uses it).',
          fields: [limitFields.durationS(durationS)],
          limits: (v) => ({ durationMs: (v.durationS ?? durationS) * 1000, listed: limit }),
          durationMs: (v) => (v.durationS ?? durationS) * 1000,
          body: async (v, signal) => {
            const r = await runHotFunctions(s, { durationMs: (v.durationS ?? durationS) * 1000, limit, signal });
            return { value: r, endReason: r.endReason, durationMs: r.durationMs, ...(r.breaker ? { endDetail: `${r.breaker.what} ${r.breaker.value} over limit ${r.breaker.limit}` } : {}) };
          },
        });
        const r = result.value;
        const session = { id: result.id, uri: sessionUri(result.id), endReason: result.endReason, file: result.file };
        const fitted = fitItems(r.functions, (functions) => ({ session, totalCalls: r.totalCalls, functions: [...functions] }), STRUCTURED_BUDGET);
        const text = [
          `${r.totalCalls} calls in ${r.functionsCovered} functions of ${r.modules.length} modules over ${(r.durationMs / 1000).toFixed(1)} s (${r.endReason}); patterns removed; saved as ${session.uri}`,
          ...fitted.value.functions.map((f) => `${f.mfa} ${f.callsPerSec} calls/s (${Math.round(f.share * 100)}%)`),
        ].join('\n');
        return toolResult(fitted.value, text);
      }),
  );

  server.registerTool(
    'trace_calls',
    {
      title: 'Trace calls',
      description:
        'Traces calls of one function (Module:function/arity, Elixir or Erlang style) with returns and exceptions, rate-limited (at most `rate` events/s, ≤ 100), capped (`limit` events, ≤ 1000) and with a deadline (`durationS`, ≤ 60). By default only M:F/Arity is returned (no argument or return terms leave the node); captureArgs: true returns truncated terms. `match` is an Erlang fun as dbg:fun2ms takes it. INTRUSIVE: asks consent; one tracing session per node at a time; removed at the end, on cancellation at once. Saved as a session resource with a .beamtrace log.',
      inputSchema: {
        ...nodeArg,
        mfa: z.string().min(3).max(300).describe('Module:function/arity, e.g. Demo.Pricing.compute/2 or my_mod:handle/2'),
        match: z.string().min(1).max(2000).optional().describe("only calls whose arguments match this Erlang fun, e.g. fun([A, _]) when A > 10 -> true end"),
        rate: z.number().int().min(1).max(CAPS.rate, `rate is at most ${CAPS.rate} events per second`).default(10).describe('events per second (1-100, default 10)'),
        limit: z.number().int().min(1).max(CAPS.events, `limit is at most ${CAPS.events} events`).default(50).describe('stop after this many events (1-1000, default 50)'),
        durationS: duration(10).describe('deadline in seconds (1-60, default 10)'),
        captureArgs: z.boolean().default(false).describe('return argument and return-value terms (truncated); default false: arity only'),
      },
      outputSchema: { ...sessionOut, forwarded: z.number(), dropped: z.number(), durationMs: z.number(), events: z.array(z.looseObject({ type: z.string(), pid: z.string(), what: z.string() })), truncated: truncationSchema },
      annotations: intrusive('Trace calls'),
    },
    ({ node, mfa, match, rate, limit, durationS, captureArgs }, extra) =>
      guarded(async () => {
        const s = nodes.resolve(node);
        const parsed = parseMfa(mfa);
        await checkFunctionExists(s, parsed);
        const target: TraceTarget = { kind: 'call', ...parsed, returns: true, terms: captureArgs, ...(match ? { match } : {}) };
        const label = `${formatModule(parsed.module)}.${parsed.function}/${parsed.arity}`;
        return traceTool(ctx, extra, s, 'trace_calls', 'trace', target, label, { rate, limit, durationS }, `set a call trace pattern on ${label}${match ? ` (matching ${match})` : ''} and the call trace flag on all processes; ${captureArgs ? 'argument and return terms are printed (truncated)' : 'only M:F/Arity is recorded, no argument or return terms'}`, { mfa, ...(match ? { match } : {}), captureArgs });
      }),
  );

  server.registerTool(
    'trace_messages',
    {
      title: 'Trace messages',
      description:
        'Traces what one process sends and receives (messages printed and truncated on the node), rate-limited (≤ 100 events/s), capped (≤ 1000 events) and with a deadline (≤ 60 s). INTRUSIVE: asks consent; one tracing session per node at a time; flags removed at the end, on cancellation at once, or when the process exits. Saved as a session resource with a .beamtrace log.',
      inputSchema: {
        ...nodeArg,
        pid: z.string().min(1).max(64).describe('pid as the node prints it, e.g. <0.123.0>'),
        rate: z.number().int().min(1).max(CAPS.rate, `rate is at most ${CAPS.rate} events per second`).default(10).describe('events per second (1-100, default 10)'),
        limit: z.number().int().min(1).max(CAPS.events, `limit is at most ${CAPS.events} events`).default(50).describe('stop after this many events (1-1000, default 50)'),
        durationS: duration(10).describe('deadline in seconds (1-60, default 10)'),
      },
      outputSchema: { ...sessionOut, forwarded: z.number(), dropped: z.number(), durationMs: z.number(), events: z.array(z.looseObject({ type: z.string(), pid: z.string() })), truncated: truncationSchema },
      annotations: intrusive('Trace messages'),
    },
    ({ node, pid, rate, limit, durationS }, extra) =>
      guarded(async () => {
        const s = nodes.resolve(node);
        const d = await s.processDetail(pid);
        if (!d.alive) throw new BeamLensError('notFound', `${d.pid} is not alive on ${s.node}: find current pids with \`processes\` or \`supervision_tree\``);
        return traceTool(ctx, extra, s, 'trace_messages', 'trace-messages', { kind: 'messages', pid }, `messages of ${pid}`, { rate, limit, durationS }, `set send and receive trace flags on ${pid}${d.name ? ` (${formatModule(d.name)})` : ''}; messages are printed truncated`, { pid });
      }),
  );

  server.registerTool(
    'system_monitor',
    {
      title: 'System monitor',
      description:
        'Takes erlang:system_monitor for durationS seconds (≤ 60) and reports long GCs (> 50 ms), long schedules (> 100 ms), large heaps, busy ports and busy distribution ports as they happen, rate-limited. Refused when another tool holds the system monitor (it is never taken from it). INTRUSIVE: asks consent; restored at the end. Saved as a session resource.',
      inputSchema: { ...nodeArg, durationS: duration(10).describe('seconds to monitor (1-60, default 10)') },
      outputSchema: { ...sessionOut, forwarded: z.number(), dropped: z.number(), durationMs: z.number(), events: z.array(z.looseObject({ type: z.string(), pid: z.string() })), truncated: truncationSchema },
      annotations: intrusive('System monitor'),
    },
    ({ node, durationS }, extra) =>
      guarded(async () => {
        const s = nodes.resolve(node);
        const { result } = await runForTool<TraceResult>(ctx, extra, {
          tool: 'system_monitor', session: s, kind: 'monitor', actions: ['probe', 'trace'],
          sets: `load the beam_lens_probe module and take erlang:system_monitor (long_gc 50 ms, long_schedule 100 ms, large_heap, busy_port, busy_dist_port) for ${durationS} s`,
          undo: 'the system monitor is restored to what it was (none) when the window ends; the probe is released afterwards (unloaded, unless another BEAM Lens on the node still uses it).',
          fields: [limitFields.durationS(durationS)],
          limits: (v) => ({ deadlineMs: (v.durationS ?? durationS) * 1000, rate: { count: 20, perMs: 1000 }, cap: 200, longGcMs: 50 }),
          durationMs: (v) => (v.durationS ?? durationS) * 1000,
          traceLog: (r) => ({ target: 'system_monitor', limits: { duration: `${durationS}s` }, result: r }),
          body: async (v, signal, note) => {
            let n = 0;
            const r = await runMonitor(s, { longGcMs: 50, rate: { count: 20, perMs: 1000 }, cap: 200, deadlineMs: (v.durationS ?? durationS) * 1000 }, () => note(`${++n} events`), signal);
            return { value: r, endReason: r.endReason, durationMs: r.durationMs };
          },
        });
        return eventsResult(result.value, { id: result.id, uri: sessionUri(result.id), endReason: result.endReason, file: result.file }, `system monitor on ${s.node}`);
      }),
  );

  server.registerTool(
    'report',
    {
      title: 'Report',
      description:
        'Samples the node for durationS seconds (≤ 60, default 10) and writes the diagnosis as Markdown: findings with evidence, recommended changes, risk and validation, and telemetry\'s handlers (read-only). trends: true also watches leak trends over the window (read-only; durationS ≥ 10) and charts their projections to the limits. Read-only unless allowTrace: true, which also counts calls per function, watches long GCs, gathers crash reasons and counts telemetry events with p50/p95/p99 durations over the same window (INTRUSIVE: asks consent). The report is saved as the resource beam-lens://reports/<id> (read it for the full text); this result lists the findings.',
      inputSchema: { ...nodeArg, durationS: duration(10).describe('seconds to sample (1-60, default 10)'), allowTrace: z.boolean().default(false).describe('also count hot functions and telemetry events (asks consent)'), trends: z.boolean().default(false).describe('also watch leak trends over the window (read-only; durationS at least 10)') },
      outputSchema: { ...sessionOut, report: z.object({ id: z.string(), uri: z.string() }), windowMs: z.number(), findings: z.array(findingSchema), tracingNote: z.string().optional(), truncated: truncationSchema },
      annotations: { ...intrusive('Report'), readOnlyHint: false },
    },
    ({ node, durationS, allowTrace, trends }, extra) =>
      guarded(async () => {
        // A window too short for a trend is refused before anything is asked or set.
        if (trends) planWindow(durationS * 1000);
        const s = nodes.resolve(node);
        const progress = progressFor(extra);
        let r: ReportRun | undefined;
        const { result } = await runForTool(ctx, extra, {
          tool: 'report', session: s, kind: 'report', actions: allowTrace ? ['probe', 'trace'] : [],
          sets: `load the beam_lens_probe module, set call_count patterns on the node's own modules, take the system monitor and attach a temporary telemetry handler for ${durationS} s`,
          undo: 'patterns, the monitor and the telemetry handler are removed when the window ends; the probe is released afterwards (unloaded, unless another BEAM Lens on the node still uses it).',
          fields: allowTrace ? [limitFields.durationS(durationS)] : [],
          limits: (v) => ({ durationMs: (v.durationS ?? durationS) * 1000, trace: allowTrace }),
          durationMs: (v) => (v.durationS ?? durationS) * 1000,
          body: async (v, signal) => {
            r = await runReport(s, { durationMs: (v.durationS ?? durationS) * 1000, trace: allowTrace, trends, signal, onProgress: (done, total, what) => progress(done, total, what) });
            const d = r.diagnosis;
            return { value: { facts: factsFromDiagnosis(d, s.env), report: r.document }, endReason: signal.aborted ? 'stopped' : 'completed', durationMs: d.samples.windowMs, ...(d.tracingNote ? { endDetail: d.tracingNote } : {}) };
          },
        });
        const done = r as ReportRun;
        const diagnosis = { ...done.diagnosis, findings: done.findings };
        saveReport(result.id, renderReportMarkdown(done.document), ctx.options.cwd);
        const session = { id: result.id, uri: sessionUri(result.id), endReason: result.endReason, file: result.file };
        const report = { id: result.id, uri: reportUri(result.id) };
        ctx.server.sendResourceListChanged();
        const { value, truncated } = fitFindings(diagnosis.findings, { session, report, windowMs: diagnosis.samples.windowMs, ...(diagnosis.tracingNote ? { tracingNote: diagnosis.tracingNote } : {}) });
        const text = [`report on ${s.node} (${diagnosis.findings.length} findings over ${(diagnosis.samples.windowMs / 1000).toFixed(1)} s); read ${report.uri} for the full report`, ...findingLines(value.findings)].join('\n');
        return toolResult({ ...value, ...(truncated ? { truncated } : {}) }, text + truncationNote(truncated));
      }),
  );

  server.registerTool(
    'compare_sessions',
    {
      title: 'Compare sessions',
      description: 'Compares two saved sessions of the same kind (two hot_functions runs, or two mailbox_watch runs), e.g. before and after a change: per function calls/s or per process queue growth, largest difference first. Give session ids or beam-lens://sessions/<id> URIs. Reads local files only.',
      inputSchema: { a: z.string().min(1).max(300).describe('the earlier session (id or URI)'), b: z.string().min(1).max(300).describe('the later session (id or URI)') },
      outputSchema: { kind: z.string(), before: z.looseObject({ id: z.string() }), after: z.looseObject({ id: z.string() }), rows: z.array(z.looseObject({ what: z.string() })), truncated: truncationSchema },
      annotations: { ...readOnly('Compare sessions'), openWorldHint: false },
    },
    ({ a, b }) =>
      guarded(async () => {
        const c = compareSessions(loadSaved(ctx, a), loadSaved(ctx, b));
        const fitted = fitItems(c.rows, (rows) => ({ ...c, rows: [...rows] }), STRUCTURED_BUDGET);
        const truncated = fitted.shown < c.rows.length ? { shown: fitted.shown, total: c.rows.length, next: 'largest differences first; the rest differ less' } : undefined;
        const text = [`${c.kind}: ${c.before.id} → ${c.after.id}`, ...fitted.value.rows.slice(0, 50).map((r) => `${r.what}: ${r.before ?? '-'} → ${r.after ?? '-'} ${r.unit}`)].join('\n');
        return toolResult({ ...fitted.value, ...(truncated ? { truncated } : {}) }, text + truncationNote(truncated));
      }),
  );
}

function loadSaved(ctx: McpContext, ref: string): SessionRecord {
  const id = ref.replace(/^beam-lens:\/\/sessions\//, '').replace(/\.json$/, '');
  if (!isSavedId(id)) throw new BeamLensError('usage', `"${ref}" is not a session id or beam-lens://sessions/<id> URI; list the session resources to see the saved ones`);
  try {
    return loadSession(path.join(sessionsDir(ctx.options.cwd), `${id}.json`));
  } catch (err) {
    throw new BeamLensError('notFound', `no saved session ${id} in ${sessionsDir(ctx.options.cwd)}: list the session resources (beam-lens://sessions/…) to see the saved ones`, { cause: err });
  }
}

/** An unknown MFA is refused before anything is set, with what to do. */
async function checkFunctionExists(s: Attachment, mfa: { module: string; function: string; arity: number | '_' }): Promise<void> {
  const found = await s.evaluator.eval(
    `case erlang:module_loaded(M) of
       true -> case A of '_' -> lists:keymember(F, 1, M:module_info(exports)) orelse lists:keymember(F, 1, M:module_info(functions)); _ -> lists:member({F, A}, M:module_info(exports)) orelse lists:member({F, A}, M:module_info(functions)) end;
       false -> case code:which(M) of non_existing -> no_module; _ -> not_loaded end
     end.`,
    { M: Atom.of(mfa.module), F: Atom.of(mfa.function), A: mfa.arity === '_' ? Atom.of('_') : mfa.arity },
  );
  const label = `${formatModule(mfa.module)}.${mfa.function}/${mfa.arity}`;
  if (found instanceof Atom && found.name === 'no_module') throw new BeamLensError('notFound', `no module ${formatModule(mfa.module)} is loaded on ${s.node}: check the name (Elixir modules as Demo.Pricing, Erlang as my_mod); hot_functions lists the busy ones`);
  if (found instanceof Atom && found.name === 'not_loaded') throw new BeamLensError('notFound', `${formatModule(mfa.module)} is in the code path of ${s.node} but not loaded (nothing has called it since the node started); BEAM Lens does not load modules on the target: trace it once its code has run`);
  if (!(found instanceof Atom && found.name === 'true')) throw new BeamLensError('notFound', `${label} does not exist on ${s.node}: check the function name and arity (hot_functions lists the busy ones)`);
}

async function traceTool(
  ctx: McpContext,
  extra: Extra,
  s: Attachment,
  tool: string,
  kind: 'trace' | 'trace-messages',
  target: TraceTarget,
  label: string,
  asked: { rate: number; limit: number; durationS: number },
  sets: string,
  what: Record<string, unknown>,
): Promise<CallToolResult> {
  let consented: Record<string, number> = {};
  const limitsOf = (v: Record<string, number>): { rate: { count: number; perMs: number }; cap: number; deadlineMs: number } => ({
    rate: { count: v.rate ?? asked.rate, perMs: 1000 },
    cap: v.limit ?? asked.limit,
    deadlineMs: (v.durationS ?? asked.durationS) * 1000,
  });
  const { result } = await runForTool<TraceResult>(ctx, extra, {
    tool, session: s, kind, actions: ['probe', 'trace'],
    sets: `load the beam_lens_probe module, ${sets}`,
    undo: 'the tracer removes every pattern and flag when the cap, the deadline or a cancellation ends it; the probe is released afterwards (unloaded, unless another BEAM Lens on the node still uses it).',
    fields: [limitFields.rate(asked.rate), limitFields.limit(asked.limit), limitFields.durationS(asked.durationS)],
    limits: (v) => ({ ...limitsOf(v), ...what }),
    durationMs: (v) => limitsOf(v).deadlineMs,
    traceLog: (r) => ({ target: label, limits: printableLimits(limitsOf(consented)), result: r }),
    body: async (v, signal, note) => {
      consented = v;
      let n = 0;
      const r = await runTrace(s, target, { ...limitsOf(v), maxChars: 200 }, () => note(`${++n} events`), signal);
      return { value: r, endReason: r.endReason, durationMs: r.durationMs, ...(r.breaker ? { endDetail: `${r.breaker.what} ${r.breaker.value} over ${r.breaker.limit}` } : {}) };
    },
  });
  return eventsResult(result.value, { id: result.id, uri: sessionUri(result.id), endReason: result.endReason, file: result.file }, `${tool} ${label} on ${s.node}`);
}
