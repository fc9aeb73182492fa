// Tracing commands: hot, trace, trace-messages, monitor. Each needs --allow-trace and
// --allow-probe (and --confirm-node on production), is bounded (rate, cap, deadline), is written
// to the audit log, and saves its result as a session file.
import { formatModule } from '../../etf';
import { traceLine } from '../../core/records/trace-log';
import { fileAuditLog } from '../../core/records/audit';
import { measureCallTime, runHotFunctions, type HotFunction, type HotResult } from '../../core/runs/hot';
import { printableLimits, runAudited, type RunOutcome, type RunResult } from '../../core/runs/run';
import type { SessionKind } from '../../core/records/store';
import { parseMfa, parseRate, runMonitor, runTrace, type TraceEvent, type TraceResult, type TraceTarget } from '../../core/runs/trace';
import type { Attachment } from '../../core/attach/attachment';
import { UsageError, booleanFlag, countFlag, numberFlag, stringFlag, type FlagSpec, type FlagValues } from '../args';
import type { Command, CommandContext } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { formatCount, printJson, renderTable, tableOr } from '../output';
import { probeFlags, withAttachment } from '../attachment';
import { clusterHot, clusterMonitor, type ClusterHotResult } from '../../core/cluster/sessions';
import type { MonitorOptions } from '../../core/runs/trace';
import { runClusterMessageTrace } from '../../core/cluster/messages';
import path from 'node:path';
import { clusterFlags, withCluster } from './cluster';
import { describeTrip } from '../../core/runs/breaker';
import { displayMfa } from '../../core/findings/thresholds';

const traceFlags: Record<string, FlagSpec> = {
  ...connectionFlags,
  ...probeFlags,
  'allow-trace': { type: 'boolean', description: 'allow setting trace patterns/flags (removed when the session ends)' },
  save: { type: 'string', value: 'FILE', description: 'where to save the session (default .beam-lens/sessions/ID.json)' },
  audit: { type: 'string', value: 'FILE', description: 'audit log (default .beam-lens/audit.log)' },
};

const boundFlags: Record<string, FlagSpec> = {
  rate: { type: 'string', value: 'N/TIME', description: 'at most N events per TIME (default 10/1s)', default: '10/1s' },
  limit: { type: 'number', value: 'N', description: 'stop after N events (default 100)', default: 100 },
  duration: { type: 'number', value: 'S', description: 'deadline in seconds (default 30)', default: 30 },
};

/** Runs one audited session (consent, audit, run, save) through the core run service. */
async function audited<T>(
  ctx: CommandContext,
  kind: SessionKind,
  limits: Record<string, unknown>,
  body: (s: Attachment, signal: AbortSignal) => Promise<RunOutcome<T>>,
  traceLog?: (value: T) => { target: string; limits: Record<string, string | number>; result: TraceResult },
): Promise<RunResult<T>> {
  const saveFile = stringFlag(ctx.args.flags, 'save');
  const audit = auditLogOf(ctx);
  return withAttachment(ctx.args.flags, ctx.output, ctx.signal, (s) =>
    runAudited<T>({
      session: s,
      kind,
      limits,
      consent: ['trace', 'probe'],
      audit,
      stop: ctx.signal,
      save: { cwd: ctx.cwd, ...(saveFile !== undefined ? { file: saveFile } : {}) },
      ...(traceLog ? { traceLog } : {}),
      body: (signal) => body(s, signal),
    }),
  );
}

/** The audit log of --audit (default .beam-lens/audit.log). */
function auditLogOf(ctx: CommandContext): ReturnType<typeof fileAuditLog> {
  const auditFile = stringFlag(ctx.args.flags, 'audit');
  return fileAuditLog({ cwd: ctx.cwd, actor: { face: 'cli' }, ...(auditFile !== undefined ? { file: auditFile } : {}) });
}

function seconds(flags: FlagValues, name: string, fallback: number): number {
  const v = numberFlag(flags, name) ?? fallback;
  if (!(v > 0 && v <= 3600)) throw new UsageError(`--${name} must be from 1 to 3600 seconds, got ${v}`);
  return v;
}

export const hotCommand: Command = {
  spec: {
    name: 'hot',
    summary: "Count calls to the target's own functions over a window (call_count) and rank them.",
    usage: 'beam-lens hot --node NAME --duration S [--limit N] [--app APP | --module M] [--call-time N] --allow-trace --allow-probe [--json]',
    flags: {
      ...traceFlags,
      duration: { type: 'number', value: 'S', description: 'seconds to count (default 5)', default: 5 },
      limit: { type: 'number', value: 'N', description: 'functions listed (default 20)', default: 20 },
      app: { type: 'string', value: 'APP', description: "only this application's modules (default: every non-OTP application)" },
      module: { type: 'string', value: 'M', description: 'only these modules, comma-separated (raw atoms: Elixir.MyApp.Worker)' },
      'call-time': { type: 'number', value: 'N', description: 'then measure call_time for the top N (at most 10)', default: 0 },
      ...clusterFlags,
      cluster: { type: 'boolean', description: 'count on every member of the cluster of --node (direct connections, the probe on each; one consent for all)' },
    },
  },
  async run(ctx) {
    const { args, output } = ctx;
    const duration = seconds(args.flags, 'duration', 5);
    const limit = countFlag(args.flags, 'limit', 20, { max: 500 });
    const callTimeTop = countFlag(args.flags, 'call-time', 0, { min: 0, max: 10 });
    const app = stringFlag(args.flags, 'app');
    const modules = stringFlag(args.flags, 'module')?.split(',').map((m) => m.trim()).filter(Boolean);
    const limits = { durationMs: duration * 1000, listed: limit, callTimeTop, ...(app ? { app } : {}), ...(modules ? { modules } : {}) };
    if (booleanFlag(args.flags, 'cluster')) {
      if (callTimeTop > 0) throw new UsageError('--call-time is not available with --cluster');
      const options = { durationMs: duration * 1000, limit, ...(app ? { apps: [app] } : {}), ...(modules ? { modules } : {}) };
      const run = await audited<ClusterHotResult>(ctx, 'hot', { ...limits, cluster: true }, async (s, signal) => {
        // Each member's count is audited on that member's line too; the entry's is this run.
        const value = await withCluster(s, args.flags, (view) => clusterHot(view, { ...options, signal }, { log: auditLogOf(ctx), limits }));
        return { value, endReason: value.endReason, durationMs: value.durationMs };
      });
      const r = run.value;
      if (booleanFlag(args.flags, 'json')) {
        printJson(output, { session: run.file, ...r });
        return ExitCode.ok;
      }
      output.out(
        renderTable(
          [
            { header: 'NODE', cell: (f: ClusterHotResult['functions'][number]) => f.node },
            { header: 'FUNCTION', max: 50, cell: (f) => `${formatModule(f.module)}.${f.function}/${f.arity}` },
            { header: 'CALLS', align: 'right', cell: (f) => formatCount(f.calls) },
            { header: 'CALLS/S', align: 'right', cell: (f) => formatCount(f.callsPerSec) },
          ],
          r.functions,
        ),
      );
      for (const n of r.nodes) output.out(`  ${n.node}: ${n.status === 'ok' ? `${formatCount(n.totalCalls ?? 0)} calls (${n.endReason})` : `${n.status} (${n.error ?? ''})`}`);
      output.out(`${r.nodes.filter((n) => n.status === 'ok').length} of ${r.nodes.length} nodes counted over ${(r.durationMs / 1000).toFixed(1)} s (${r.endReason}); saved ${run.file ?? '(not saved)'}`);
      return ExitCode.ok;
    }
    const run = await audited<HotResult>(ctx, 'hot', limits, async (s, signal) => {
      const result = await runHotFunctions(s, {
        durationMs: duration * 1000,
        limit,
        ...(app ? { apps: [app] } : {}),
        ...(modules ? { modules } : {}),
        signal,
      });
      if (callTimeTop > 0 && result.endReason === 'completed') await measureCallTime(s, result.functions.slice(0, callTimeTop), 1000);
      return {
        value: result,
        endReason: result.endReason,
        ...(result.breaker ? { endDetail: describeTrip(result.breaker) } : {}),
        durationMs: result.durationMs,
      };
    });
    const r = run.value;
    const file = run.file as string;
    if (booleanFlag(args.flags, 'json')) {
      printJson(output, {
        durationMs: r.durationMs,
        session: file,
        endReason: r.endReason,
        totalCalls: r.totalCalls,
        functions: r.functions.map((f) => ({
          mfa: f.mfa,
          module: f.module,
          function: f.function,
          arity: f.arity,
          calls: f.calls,
          callsPerSec: f.callsPerSec,
          ...(f.usPerCall !== undefined ? { usPerCall: f.usPerCall } : {}),
        })),
      });
      return ExitCode.ok;
    }
    output.out(
      tableOr(
        'no calls counted in the window',
        [
          { header: 'FUNCTION', max: 60, cell: (f: HotFunction) => displayMfa(f.mfa) },
          { header: 'CALLS', align: 'right', cell: (f) => formatCount(f.calls) },
          { header: 'CALLS/S', align: 'right', cell: (f) => formatCount(f.callsPerSec) },
          { header: 'SHARE', align: 'right', cell: (f) => `${Math.round(f.share * 100)}%` },
          ...(r.functions.some((f) => f.usPerCall !== undefined)
            ? [{ header: 'µs/CALL', align: 'right' as const, cell: (f: HotFunction) => (f.usPerCall === undefined ? '' : String(f.usPerCall)) }]
            : []),
        ],
        r.functions,
      ),
    );
    const ended = r.endReason === 'breaker' && r.breaker ? `stopped by the circuit breaker: ${describeTrip(r.breaker)}` : r.endReason;
    output.out(`${formatCount(r.totalCalls)} calls in ${r.functionsCovered} functions of ${r.modules.length} modules over ${(r.durationMs / 1000).toFixed(1)} s (${ended}); saved ${file}`);
    return ExitCode.ok;
  },
};

function printEvent(ctx: CommandContext, e: TraceEvent): void {
  if (booleanFlag(ctx.args.flags, 'json')) return;
  // Sends to another node name it; a receive on another member says where and how long after its send.
  const where = e.toNode !== undefined ? `  (to ${e.toNode})` : e.node !== undefined ? `  (on ${e.node}${e.sentUs !== undefined ? `, ${((e.timestampUs - e.sentUs) / 1000).toFixed(1)} ms after the send` : ''})` : '';
  ctx.output.out(traceLine(e) + where);
}

function finish(ctx: CommandContext, run: RunResult<TraceResult>): ExitCode {
  const r = run.value;
  const file = run.file as string;
  const logFile = run.traceLogFile as string;
  if (booleanFlag(ctx.args.flags, 'json')) {
    printJson(ctx.output, { session: file, log: logFile, endReason: r.endReason, forwarded: r.forwarded, dropped: r.dropped, durationMs: r.durationMs, ...(r.breaker ? { breaker: r.breaker } : {}), events: r.events });
  } else {
    const why = r.endReason === 'breaker' && r.breaker ? `circuit breaker: ${describeTrip(r.breaker)}` : r.endReason;
    ctx.output.err(`session ended (${why}): ${r.forwarded} events shown, ${r.dropped} dropped by the rate limit; saved ${file} and ${logFile}`);
  }
  return ExitCode.ok;
}

function traceLimits(flags: FlagValues): { rate: { count: number; perMs: number }; cap: number; deadlineMs: number } {
  return {
    rate: parseRate(stringFlag(flags, 'rate') ?? '10/1s'),
    cap: countFlag(flags, 'limit', 100, { max: 100_000 }),
    deadlineMs: seconds(flags, 'duration', 30) * 1000,
  };
}

export const traceCommand: Command = {
  spec: {
    name: 'trace',
    summary: 'Trace calls of Module:function/arity with return values, rate-limited and capped (recon_trace-like).',
    usage: "beam-lens trace 'Mod:fun/arity' --node NAME [--match 'fun([A, _]) when A > 1 -> true end'] [--rate 10/1s] [--limit 100] [--duration S] --allow-trace --allow-probe",
    positionals: ['mfa'],
    flags: {
      ...traceFlags,
      ...boundFlags,
      match: { type: 'string', value: 'FUN', description: 'only calls whose arguments match this Erlang fun (as dbg:fun2ms takes)' },
      'no-return': { type: 'boolean', description: 'do not trace return values' },
      chars: { type: 'number', value: 'N', description: 'cut printed terms at N characters (default 200)', default: 200 },
    },
  },
  async run(ctx) {
    const mfa = parseMfa(ctx.args.positionals[0] as string);
    const match = stringFlag(ctx.args.flags, 'match');
    return traceSession(ctx, 'trace', { kind: 'call', ...mfa, returns: !booleanFlag(ctx.args.flags, 'no-return'), ...(match ? { match } : {}) }, {
      mfa: ctx.args.positionals[0],
      ...(match ? { match } : {}),
    });
  },
};

/** Runs one bounded trace session, audited and saved, printing events as they come. */
async function traceSession(ctx: CommandContext, kind: SessionKind, target: TraceTarget, what: Record<string, unknown>): Promise<ExitCode> {
  const limits = traceLimits(ctx.args.flags);
  const maxChars = countFlag(ctx.args.flags, 'chars', 200, { min: 20, max: 10_000 });
  const targetText = target.kind === 'call' ? `${formatModule(target.module)}:${target.function}/${target.arity}` : `messages of ${target.pid}`;
  const run = await audited<TraceResult>(
    ctx,
    kind,
    { ...limits, ...what },
    async (s, signal) => {
      const r = await runTrace(s, target, { ...limits, maxChars }, (e) => printEvent(ctx, e), signal);
      return { value: r, endReason: r.endReason, durationMs: r.durationMs, ...(r.breaker ? { endDetail: describeTrip(r.breaker) } : {}) };
    },
    (r) => ({ target: targetText, limits: printableLimits({ ...limits, chars: maxChars }), result: r }),
  );
  return finish(ctx, run);
}

export const traceMessagesCommand: Command = {
  spec: {
    name: 'trace-messages',
    summary: 'Trace what one process sends and receives, rate-limited and capped, messages truncated.',
    usage: 'beam-lens trace-messages PID --node NAME [--rate 10/1s] [--limit 100] [--duration S] --allow-trace --allow-probe',
    positionals: ['pid'],
    flags: {
      ...traceFlags,
      ...boundFlags,
      chars: { type: 'number', value: 'N', description: 'cut messages at N characters (default 200)', default: 200 },
      ...clusterFlags,
      cluster: { type: 'boolean', description: 'also trace the receiving side of sends to other members (direct connections) and match each receive to its send' },
    },
  },
  async run(ctx) {
    const pid = ctx.args.positionals[0] as string;
    if (booleanFlag(ctx.args.flags, 'cluster')) return traceMessagesCluster(ctx, pid);
    return traceSession(ctx, 'trace-messages', { kind: 'messages', pid }, { pid });
  },
};

/** `trace-messages --cluster`: the process's trace, and each remote receiver's side traced on its member and matched. */
async function traceMessagesCluster(ctx: CommandContext, pid: string): Promise<ExitCode> {
  const f = ctx.args.flags;
  const limits = { ...traceLimits(f), maxChars: countFlag(f, 'chars', 200, { min: 20, max: 10_000 }) };
  const auditFile = stringFlag(f, 'audit');
  const saveFile = stringFlag(f, 'save');
  const audit = fileAuditLog({ cwd: ctx.cwd, actor: { face: 'cli' }, ...(auditFile !== undefined ? { file: auditFile } : {}) });
  const run = await withAttachment(f, ctx.output, ctx.signal, (s) =>
    withCluster(
      s,
      f,
      (view) =>
        runClusterMessageTrace(view, {
          pid,
          limits,
          audit,
          stop: ctx.signal,
          save: { cwd: ctx.cwd, ...(saveFile !== undefined ? { file: saveFile } : {}) },
          onEvent: (e) => printEvent(ctx, e),
        }),
      { loadProbes: false },
    ),
  );
  const r = run.value;
  if (booleanFlag(f, 'json')) {
    printJson(ctx.output, { session: run.file, log: run.traceLogFile, endReason: r.endReason, forwarded: r.forwarded, dropped: r.dropped, durationMs: r.durationMs, receivers: r.receivers, events: r.events });
    return ExitCode.ok;
  }
  for (const x of r.receivers) {
    ctx.output.err(`  ${x.process} on ${x.node}: ${x.sent} sent${x.status === 'traced' ? `, ${x.matched} matched to a receive there` : `; receiving side not traced: ${x.note ?? ''}`}`);
  }
  return finish(ctx, run);
}

export const monitorCommand: Command = {
  spec: {
    name: 'monitor',
    summary: 'System monitor over a window: long_gc, long_schedule, large_heap, busy_port, busy_dist_port.',
    usage: 'beam-lens monitor --node NAME --duration S [--long-gc MS] [--long-schedule MS] [--large-heap WORDS] --allow-trace --allow-probe',
    flags: {
      ...traceFlags,
      ...boundFlags,
      'long-gc': { type: 'number', value: 'MS', description: 'report GCs longer than this (default 100)' },
      'long-schedule': { type: 'number', value: 'MS', description: 'report time slices longer than this (default 100)' },
      'large-heap': { type: 'number', value: 'WORDS', description: 'report heaps larger than this (default 8 MB in words)' },
      ...clusterFlags,
      cluster: { type: 'boolean', description: 'on every member of the cluster of --node (direct connections; one session per member, merged with a node column)' },
    },
  },
  async run(ctx) {
    const limits = traceLimits(ctx.args.flags);
    const f = ctx.args.flags;
    const opts = {
      ...limits,
      ...(numberFlag(f, 'long-gc') !== undefined ? { longGcMs: numberFlag(f, 'long-gc') as number } : {}),
      ...(numberFlag(f, 'long-schedule') !== undefined ? { longScheduleMs: numberFlag(f, 'long-schedule') as number } : {}),
      ...(numberFlag(f, 'large-heap') !== undefined ? { largeHeapWords: numberFlag(f, 'large-heap') as number } : {}),
    };
    if (booleanFlag(f, 'cluster')) return monitorCluster(ctx, opts);
    const run = await audited<TraceResult>(
      ctx,
      'monitor',
      opts,
      async (s, signal) => {
        const r = await runMonitor(s, opts, (e) => printEvent(ctx, e), signal);
        return { value: r, endReason: r.endReason, durationMs: r.durationMs };
      },
      (r) => ({ target: 'system_monitor', limits: printableLimits(opts), result: r }),
    );
    return finish(ctx, run);
  },
};

/** `monitor --cluster`: one audited session per member (saved per member), events printed with their node as they come. */
async function monitorCluster(ctx: CommandContext, opts: MonitorOptions): Promise<ExitCode> {
  const f = ctx.args.flags;
  const auditFile = stringFlag(f, 'audit');
  const saveFile = stringFlag(f, 'save');
  const audit = fileAuditLog({ cwd: ctx.cwd, actor: { face: 'cli' }, ...(auditFile !== undefined ? { file: auditFile } : {}) });
  const json = booleanFlag(f, 'json');
  const width = { node: 0 };
  const r = await withAttachment(f, ctx.output, ctx.signal, (s) =>
    withCluster(
      s,
      f,
      (view) => {
        width.node = Math.max(...view.nodes.map((n) => n.length));
        return clusterMonitor(view, {
          options: opts,
          audit,
          stop: ctx.signal,
          // --save FILE.json: FILE-<node>.json per member; else each in .beam-lens/sessions/.
          save: (node) => ({ cwd: ctx.cwd, ...(saveFile !== undefined ? { file: memberFile(saveFile, node) } : {}) }),
          onEvent: (node, e) => {
            if (!json) ctx.output.out(`${node.padEnd(width.node)}  ${traceLine(e)}`);
          },
        });
      },
      { loadProbes: false },
    ),
  );
  if (json) {
    printJson(ctx.output, r);
    return ExitCode.ok;
  }
  for (const n of r.nodes) {
    ctx.output.err(
      `${n.node}: ${n.status === 'ok' ? `session ended (${n.endReason ?? ''}): ${n.forwarded ?? 0} events, ${n.dropped ?? 0} dropped by the rate limit; saved ${n.session ?? '(not saved)'}` : `${n.status} (${n.error ?? ''})`}`,
    );
  }
  return ExitCode.ok;
}

/** FILE.json -> FILE-<node>.json (the node's name made safe for a file name). */
function memberFile(file: string, node: string): string {
  const ext = path.extname(file) || '.json';
  return `${file.slice(0, file.length - path.extname(file).length)}-${node.replace(/[^A-Za-z0-9_.-]+/g, '_')}${ext}`;
}
