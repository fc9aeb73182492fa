// The report's telemetry section (core/runs/telemetry.ts gathers it): the handlers attached on the
// node and their events, read-only; with consent, what a temporary handler counted over the
// report's window: events per second and p50/p95/p99/max of duration-like measurements.
import type { TelemetryListing, TelemetryWatchResult } from '../runs/telemetry';
import { REPORT_DOCUMENT_VERSION, code, count, numberCell, paragraph, section, strong, text, type ReportBlock, type ReportDocument, type ReportSection, type TableCell } from './document';

/** What the report knows of telemetry on the node. */
export interface ReportTelemetry {
  listing: TelemetryListing;
  /** The watch over the window, when it ran (consent given, handlers to watch). */
  watch?: TelemetryWatchResult;
  /** Why there is no watch, or what it left out. */
  note?: string;
}

/** Handlers listed in the report at most (the CLI's `telemetry` lists them all). */
export const REPORT_HANDLER_ROWS = 50;

const plain = (t: string): TableCell => ({ kind: 'text', text: t });
const mono = (t: string): TableCell => ({ kind: 'code', text: t });

/** Microseconds as the tables show them: "850 µs", "5.1 ms", "1.2 s". */
export function formatMicros(v: number | undefined): string {
  if (v === undefined) return '';
  if (v >= 1_000_000) return `${(v / 1_000_000).toFixed(v >= 10_000_000 ? 0 : 1)} s`;
  if (v >= 1000) return `${(v / 1000).toFixed(v >= 100_000 ? 0 : 1)} ms`;
  return `${v.toFixed(v >= 10 ? 0 : 1)} µs`;
}

/** The watch as table rows: one per event and duration-like measurement (events without one get a single row). */
export function telemetryWatchRows(w: TelemetryWatchResult): TableCell[][] {
  return w.events.flatMap((e) => {
    const durations = e.measurements.filter((m) => m.duration);
    const head = [mono(e.event), numberCell(e.count, 'count'), numberCell(e.perSec, 'per-second')];
    if (durations.length === 0) return [[...head, plain(''), plain(''), plain(''), plain(''), plain('')]];
    return durations.map((m, i) => [...(i === 0 ? head : [plain(''), plain(''), plain('')]), plain(m.key), plain(formatMicros(m.p50Us)), plain(formatMicros(m.p95Us)), plain(formatMicros(m.p99Us)), plain(formatMicros(m.maxUs))]);
  });
}

export function telemetrySection(t: ReportTelemetry): ReportSection {
  const l = t.listing;
  if (!l.running) return section('telemetry', 'Telemetry', [paragraph('The :telemetry application is not running on this node: no handlers to list, no events to count.')]);
  const blocks: ReportBlock[] = [
    paragraph([text(`telemetry ${l.version}: ${count(l.total)} handler${l.total === 1 ? '' : 's'} on ${count(l.eventsTotal)} event${l.eventsTotal === 1 ? '' : 's'} (listed read-only with `), code('telemetry:list_handlers/1'), text(').')]),
  ];
  if (l.handlers.length > 0) {
    const rows = l.handlers.slice(0, REPORT_HANDLER_ROWS);
    blocks.push({
      kind: 'table',
      table: { columns: [{ label: 'Event', type: 'text' }, { label: 'Handler id', type: 'text' }, { label: 'Function', type: 'text' }], rows: rows.map((h) => [mono(h.event), mono(h.id), mono(h.function)]) },
    });
    if (l.total > rows.length) blocks.push(paragraph(`${count(l.total - rows.length)} more handlers not shown (\`beam-lens telemetry\` lists up to 500).`));
  }
  const w = t.watch;
  if (w) {
    const total = w.events.reduce((a, e) => a + e.count, 0);
    blocks.push(
      paragraph(
        `Over ${(w.durationMs / 1000).toFixed(1)} s a temporary handler (detached at the end) counted ${count(total)} event${total === 1 ? '' : 's'} on ${w.events.length} event name${w.events.length === 1 ? '' : 's'}` +
          `${w.endReason === 'stopped' ? ' before the window was stopped' : ''}; durations are converted from native units to microseconds (histogram buckets within 2 %).` +
          (w.dropped > 0 ? ` ${count(w.dropped)} updates did not fit the watcher's bounded table.` : ''),
      ),
      {
        kind: 'table',
        table: {
          columns: [
            { label: 'Event', type: 'text' },
            { label: 'Count', type: 'number' },
            { label: 'Per second', type: 'number' },
            { label: 'Measurement', type: 'text' },
            { label: 'p50', type: 'number' },
            { label: 'p95', type: 'number' },
            { label: 'p99', type: 'number' },
            { label: 'Max', type: 'number' },
          ],
          rows: telemetryWatchRows(w),
        },
      },
    );
  }
  if (t.note) blocks.push(paragraph(t.note));
  return section('telemetry', 'Telemetry', blocks);
}

/** Telemetry on its own as a document (the editor's telemetry view; "Save as Markdown" renders it like a report). */
export function telemetryDocument(input: { node: string; env: string; telemetry: ReportTelemetry; generatedAt?: Date }): ReportDocument {
  const generatedAt = (input.generatedAt ?? new Date()).toISOString();
  const w = input.telemetry.watch;
  return {
    version: REPORT_DOCUMENT_VERSION,
    node: input.node,
    env: input.env,
    generatedAt,
    title: [text('BEAM Lens telemetry: '), code(input.node)],
    byline: [
      text(`Generated ${generatedAt} · environment `),
      strong(input.env),
      text(w ? ` · events counted for ${(w.durationMs / 1000).toFixed(1)} s by a temporary handler, detached` : ' · handlers listed read-only'),
    ],
    findingCounts: { critical: 0, warning: 0, info: 0, total: 0 },
    sections: [telemetrySection(input.telemetry)],
  };
}
