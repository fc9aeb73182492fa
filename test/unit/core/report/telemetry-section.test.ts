// The report's telemetry section (issue 18 item 6 in the report): the handlers listed read-only,
// the watch's counts and p50/p95/p99/max in readable units, what is missing said plainly, node data
// kept as text in the Markdown, and the section read back from JSON.
import { strict as assert } from 'node:assert';
import { buildReport } from '../../../../src/core/report/build';
import { renderReportMarkdown } from '../../../../src/core/report/markdown';
import { readReportDocument } from '../../../../src/core/report/validate';
import { formatMicros, telemetryChart, telemetrySection, telemetryWatchRows } from '../../../../src/core/report/telemetry-section';
import { chartSvg } from '../../../../src/core/report/chart-svg';
import { parseXml, xmlElements, xmlText } from './xml';
import { TELEMETRY_CONSENT_NOTE } from '../../../../src/core/report/gather';
import type { TelemetryListing, TelemetryWatchResult } from '../../../../src/core/runs/telemetry';
import { HOSTILE, reportSamples } from './fixture';

const listing: TelemetryListing = {
  running: true,
  version: '1.4.1',
  total: 3,
  eventsTotal: 2,
  events: ['my_app.repo.query', 'phoenix.router_dispatch.stop'],
  handlers: [
    { id: 'ecto', event: 'my_app.repo.query', function: 'fun Ecto:handle/4' },
    { id: HOSTILE, event: 'phoenix.router_dispatch.stop', function: 'fun Phoenix.Logger:handle/4' },
    { id: 'metrics', event: 'phoenix.router_dispatch.stop', function: 'fun Metrics:handle/4' },
  ],
};

const watch: TelemetryWatchResult = {
  node: 'demo@host',
  durationMs: 10_000,
  prefixes: ['(every event with a handler)'],
  events: [
    { event: 'my_app.repo.query', count: 1200, perSec: 120, measurements: [{ key: 'total_time', n: 1200, duration: true, mean: 900, p50Us: 850, p95Us: 2300, p99Us: 5067, maxUs: 1_200_000 }, { key: 'idle_time', n: 1200, duration: true, p50Us: 10, p95Us: 20, p99Us: 30, maxUs: 40 }] },
    { event: 'phoenix.router_dispatch.stop', count: 3, perSec: 0.3, measurements: [{ key: 'size', n: 3, duration: false, mean: 10 }] },
  ],
  dropped: 0,
  endReason: 'completed',
};

const md = (t: Parameters<typeof telemetrySection>[0]): string =>
  renderReportMarkdown(buildReport({ samples: reportSamples(), findings: [], env: 'local', probe: true, telemetry: t, generatedAt: new Date('2026-12-01T10:00:00.000Z') }));

describe('report: telemetry section', () => {
  it('lists the handlers read-only and, with the watch, counts and p50/p95/p99/max per event', () => {
    const s = telemetrySection({ listing, watch });
    assert.equal(s.id, 'telemetry');
    const tables = s.blocks.filter((b) => b.kind === 'table');
    assert.equal(tables.length, 2);
    const rows = telemetryWatchRows(watch);
    // One row per duration-like measurement; the event's count only on its first row; an event without durations gets one row.
    assert.equal(rows.length, 3);
    assert.deepEqual(rows.map((r) => r.map((c) => (c.kind === 'number' ? c.display : c.kind === 'rich' ? '' : c.text))), [
      ['my_app.repo.query', '1,200', '120', 'total_time', '850 µs', '2.3 ms', '5.1 ms', '1.2 s'],
      ['', '', '', 'idle_time', '10 µs', '20 µs', '30 µs', '40 µs'],
      ['phoenix.router_dispatch.stop', '3', '0', '', '', '', '', ''],
    ]);
    const text = md({ listing, watch });
    assert.match(text, /## Telemetry\n\ntelemetry 1\.4\.1: 3 handlers on 2 events \(listed read-only with `telemetry:list_handlers\/1`\)\./);
    assert.match(text, /Over 10\.0 s a temporary handler \(detached at the end\) counted 1,203 events on 2 event names/);
    assert.match(text, /\| `my_app\.repo\.query` \| 1,200 \| 120 \| total_time \| 850 µs \| 2\.3 ms \| 5\.1 ms \| 1\.2 s \|/);
    // A hostile handler id stays a code span in the Markdown (shown as text, never as a tag or link).
    const own = text.slice(text.indexOf('## Telemetry'), text.indexOf('## Appendix'));
    assert.ok(own.includes('| ``<img src=x onerror=alert(1)>') && !/[^`]<img src=x/.test(own), 'only inside a code span');
    // The section comes before the appendix, and reads back from JSON.
    const doc = buildReport({ samples: reportSamples(), findings: [], env: 'local', probe: true, telemetry: { listing, watch } });
    assert.deepEqual(doc.sections.map((x) => x.id).slice(-2), ['telemetry', 'appendix']);
    assert.deepEqual(readReportDocument(JSON.parse(JSON.stringify(doc))), doc);
  });

  it('charts p50/p95/p99 per duration measurement, the slowest first, as valid SVG with ms ticks', () => {
    const chart = telemetryChart(watch);
    assert.ok(chart);
    assert.equal(chart.id, 'telemetry');
    assert.deepEqual(chart.x.categories, ['my_app.repo.query total_time', 'my_app.repo.query idle_time']);
    assert.deepEqual(chart.series.map((x) => [x.label, x.points]), [['p50', [[0, 850], [1, 10]]], ['p95', [[0, 2300], [1, 20]]], ['p99', [[0, 5067], [1, 30]]]]);
    assert.deepEqual(chart.fallback.rows[0]?.map((c) => (c.kind === 'number' ? c.display : c.kind === 'rich' ? '' : c.text)), ['my_app.repo.query', 'total_time', '850 µs', '2.3 ms', '5.1 ms']);
    const root = parseXml(chartSvg(chart));
    assert.equal(xmlElements(root, 'rect').length, 2 * 3 + 3, 'three bars per row and three legend swatches');
    assert.ok(xmlElements(root, 'text').map(xmlText).some((t) => /^\d+ ms$/.test(t)), 'ticks in ms');
    // In the section, after the table; no chart when nothing duration-like was measured.
    assert.ok(telemetrySection({ listing, watch }).blocks.some((b) => b.kind === 'chart'));
    assert.equal(telemetryChart({ ...watch, events: [watch.events[1] as (typeof watch.events)[number]] }), null);
  });

  it('says what is missing: no consent, no telemetry on the node', () => {
    const noConsent = md({ listing, note: TELEMETRY_CONSENT_NOTE });
    assert.match(noConsent, /need consent for a temporary handler \(with --allow-trace --allow-probe/);
    assert.ok(!noConsent.includes('| Per second |'));
    // Where telemetry does not run, the section says so; the report leaves it out.
    assert.match(JSON.stringify(telemetrySection({ listing: { running: false } })), /The :telemetry application is not running on this node/);
    assert.ok(!md({ listing: { running: false } }).includes('## Telemetry'));
    // Without telemetry input (older callers) there is no section.
    assert.ok(!renderReportMarkdown(buildReport({ samples: reportSamples(), findings: [], env: 'local', probe: false })).includes('## Telemetry'));
  });

  it('formats microseconds', () => {
    assert.deepEqual([formatMicros(undefined), formatMicros(3.25), formatMicros(850), formatMicros(5067), formatMicros(250_000), formatMicros(12_000_000)], ['', '3.3 µs', '850 µs', '5.1 ms', '250 ms', '12 s']);
  });
});
