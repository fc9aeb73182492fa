// The report's telemetry section (core/runs/telemetry.ts gathers it): the handlers attached on the
// node and their events, read-only; with consent, what a temporary handler counted over the
// report's window: events per second and p50/p95/p99/max of duration-like measurements.
import type { TelemetryListing, TelemetryWatchResult } from '../runs/telemetry';
import { REPORT_DOCUMENT_VERSION, code, count, micros, numberCell, paragraph, section, strong, text, type ReportBlock, type ReportChart, type ReportDocument, type ReportSection, type TableCell } from './document';

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

/** Microseconds as the tables show them: "850 µs", "5.1 ms", "1.2 s" (empty when not measured). */
export function formatMicros(v: number | undefined): string {
  return v === undefined ? '' : micros(v);
}

/** Duration rows charted at most (the slowest by p99; the table has them all). */
export const TELEMETRY_CHART_ROWS = 8;

/** p50/p95/p99 of the duration-like measurements as grouped bars, the slowest by p99 first; null when none was measured. */
export function telemetryChart(w: TelemetryWatchResult): ReportChart | null {
  const rows = w.events
    .flatMap((e) => e.measurements.filter((m) => m.duration && m.p50Us !== undefined && m.p95Us !== undefined && m.p99Us !== undefined).map((m) => ({ e, m, several: e.measurements.filter((x) => x.duration).length > 1 })))
    .sort((a, b) => (b.m.p99Us ?? 0) - (a.m.p99Us ?? 0) || a.e.event.localeCompare(b.e.event))
    .slice(0, TELEMETRY_CHART_ROWS);
  if (rows.length === 0) return null;
  const categories = rows.map((r) => (r.several ? `${r.e.event} ${r.m.key}` : r.e.event));
  const series = (['p50Us', 'p95Us', 'p99Us'] as const).map((k) => ({ label: k.slice(0, 3), points: rows.map((r, i): [number, number] => [i, r.m[k] ?? 0]) }));
  return {
    id: 'telemetry',
    shape: 'bars',
    title: `Telemetry durations over ${(w.durationMs / 1000).toFixed(1)} s: p50, p95, p99 per event`,
    x: { label: 'event (the slowest by p99)', unit: 'category', categories },
    y: { label: 'duration', unit: 'microseconds' },
    series,
    fallback: {
      columns: [{ label: 'Event', type: 'text' }, { label: 'Measurement', type: 'text' }, { label: 'p50', type: 'number' }, { label: 'p95', type: 'number' }, { label: 'p99', type: 'number' }],
      rows: rows.map((r) => [mono(r.e.event), plain(r.m.key), numberCell(r.m.p50Us ?? 0, 'microseconds'), numberCell(r.m.p95Us ?? 0, 'microseconds'), numberCell(r.m.p99Us ?? 0, 'microseconds')]),
    },
  };
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
    const chart = telemetryChart(w);
    if (chart) blocks.push({ kind: 'chart', chart });
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
