// `beam-lens telemetry`: the node's telemetry handlers (read-only), or, with --events and
// consent (--allow-probe --allow-trace), a window of counts and duration percentiles for the
// chosen event prefixes through a temporary handler in the probe (audited and saved).
import { fileAuditLog } from '../../core/records/audit';
import { runAudited } from '../../core/runs/run';
import { listTelemetry, parseEventPrefixes, resolveEvents, watchTelemetry, TELEMETRY_LIMITS, type TelemetryHandler, type TelemetryListing, type TelemetryWatchResult } from '../../core/runs/telemetry';
import { BeamLensError } from '../../errors';
import { UsageError, booleanFlag, countFlag, numberFlag, stringFlag } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { formatCount, printJson, renderTable } from '../output';
import { probeFlags, withAttachment } from '../attachment';

export const telemetryCommand: Command = {
  spec: {
    name: 'telemetry',
    summary: 'List telemetry handlers (read-only); with --events, count events and duration percentiles over a window.',
    usage: 'beam-lens telemetry --node NAME [--events a.b,c.d [--exact]] [--duration S] [--allow-probe --allow-trace] [--json]',
    flags: {
      ...connectionFlags,
      ...probeFlags,
      'allow-trace': { type: 'boolean', description: 'allow attaching a temporary telemetry handler (detached when the window ends)' },
      events: { type: 'string', value: 'PREFIXES', description: 'event prefixes to watch, dotted and comma-separated (e.g. phoenix.router_dispatch,my_app.repo)' },
      exact: { type: 'boolean', description: 'take --events as full event names, also ones no handler listens to yet' },
      duration: { type: 'number', value: 'S', description: 'seconds to watch (default 10, at most 3600)', default: 10 },
      limit: { type: 'number', value: 'N', description: 'handlers listed (default 200)', default: 200 },
      save: { type: 'string', value: 'FILE', description: 'where to save the session (default .beam-lens/sessions/ID.json)' },
      audit: { type: 'string', value: 'FILE', description: 'audit log (default .beam-lens/audit.log)' },
    },
  },
  async run({ args, output, signal, cwd }) {
    const json = booleanFlag(args.flags, 'json');
    const eventsFlag = stringFlag(args.flags, 'events');
    const limit = countFlag(args.flags, 'limit', 200, { max: TELEMETRY_LIMITS.listRows });
    if (eventsFlag === undefined) {
      if (booleanFlag(args.flags, 'exact')) throw new UsageError('--exact goes with --events');
      const listing = await withAttachment(args.flags, output, signal, (s) => listTelemetry(s, limit), 'listing telemetry handlers is read-only');
      if (json) {
        printJson(output, listing);
        return ExitCode.ok;
      }
      output.out(renderListing(listing));
      return ExitCode.ok;
    }
    let prefixes: string[][];
    try {
      prefixes = parseEventPrefixes(eventsFlag);
    } catch (err) {
      throw new UsageError(err instanceof BeamLensError ? err.message : String(err));
    }
    const seconds = numberFlag(args.flags, 'duration') ?? 10;
    if (!(seconds >= 1 && seconds <= 3600)) throw new UsageError(`--duration must be from 1 to 3600 seconds, got ${seconds}`);
    const auditFile = stringFlag(args.flags, 'audit');
    const saveFile = stringFlag(args.flags, 'save');
    const audit = fileAuditLog({ cwd, actor: { face: 'cli' }, ...(auditFile !== undefined ? { file: auditFile } : {}) });
    const run = await withAttachment(args.flags, output, signal, async (s) => {
      // Read-only first: an unknown prefix is answered (with what exists) before anything is set.
      const events = resolveEvents(await listTelemetry(s), prefixes, s.node, booleanFlag(args.flags, 'exact'));
      const prefixText = prefixes.map((p) => p.join('.'));
      return runAudited<TelemetryWatchResult>({
        session: s,
        kind: 'telemetry',
        limits: { durationMs: seconds * 1000, events },
        consent: ['probe', 'trace'],
        audit,
        stop: signal,
        deadlineMs: seconds * 1000 + 60_000,
        save: { cwd, ...(saveFile !== undefined ? { file: saveFile } : {}) },
        body: async (runSignal) => {
          const value = await watchTelemetry(s, { events, prefixes: prefixText, durationMs: seconds * 1000, signal: runSignal });
          return { value, endReason: value.endReason, durationMs: value.durationMs };
        },
      });
    });
    const r = run.value;
    if (json) {
      printJson(output, { session: run.file, ...r });
      return ExitCode.ok;
    }
    output.out(renderWatch(r));
    output.out(`${r.events.length} events over ${(r.durationMs / 1000).toFixed(1)} s (${r.endReason})${r.dropped > 0 ? `; ${formatCount(r.dropped)} updates dropped (table full)` : ''}; handler detached; saved ${run.file ?? '(not saved)'}`);
    return ExitCode.ok;
  },
};

function renderListing(l: TelemetryListing): string {
  if (!l.running) return 'telemetry is not running on this node (no :telemetry application started)';
  const table = renderTable(
    [
      { header: 'EVENT', max: 50, cell: (h: TelemetryHandler) => h.event },
      { header: 'HANDLER ID', max: 40, cell: (h) => h.id },
      { header: 'FUNCTION', max: 50, cell: (h) => h.function },
    ],
    l.handlers,
  );
  const shown = l.handlers.length < l.total ? ` (${l.handlers.length} shown)` : '';
  return `${table}\ntelemetry ${l.version}: ${l.total} handlers on ${l.eventsTotal} events${shown}. Watch some with --events PREFIX --allow-probe --allow-trace.`;
}

const us = (v: number | undefined): string => (v === undefined ? '' : v >= 1000 ? `${(v / 1000).toFixed(v >= 100_000 ? 0 : 1)} ms` : `${v.toFixed(v >= 10 ? 0 : 1)} µs`);

function renderWatch(r: TelemetryWatchResult): string {
  const rows = r.events.flatMap((e) => {
    const durations = e.measurements.filter((m) => m.duration);
    if (durations.length === 0) return [{ event: e.event, count: e.count, perSec: e.perSec, key: '', p50: '', p95: '', p99: '', max: '' }];
    return durations.map((m, i) => ({
      event: i === 0 ? e.event : '',
      count: i === 0 ? e.count : Number.NaN,
      perSec: i === 0 ? e.perSec : Number.NaN,
      key: m.key,
      p50: us(m.p50Us),
      p95: us(m.p95Us),
      p99: us(m.p99Us),
      max: us(m.maxUs),
    }));
  });
  return renderTable(
    [
      { header: 'EVENT', max: 50, cell: (x: (typeof rows)[number]) => x.event },
      { header: 'COUNT', align: 'right', cell: (x) => (Number.isNaN(x.count) ? '' : formatCount(x.count)) },
      { header: '/S', align: 'right', cell: (x) => (Number.isNaN(x.perSec) ? '' : String(x.perSec)) },
      { header: 'MEASUREMENT', cell: (x) => x.key },
      { header: 'P50', align: 'right', cell: (x) => x.p50 },
      { header: 'P95', align: 'right', cell: (x) => x.p95 },
      { header: 'P99', align: 'right', cell: (x) => x.p99 },
      { header: 'MAX', align: 'right', cell: (x) => x.max },
    ],
    rows,
  );
}
