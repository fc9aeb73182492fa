// The report as a typed document (src/core/report/build.ts): sections with stable ids, findings
// with their evidence and advice as data (code marks of the advice as code spans), typed table
// cells, the mailbox chart, the method's note on tracing, and plain JSON.
import { strict as assert } from 'node:assert';
import { buildReport } from '../../../../src/core/report/build';
import { plainTextOf, type ReportBlock, type ReportFinding, type ReportSection } from '../../../../src/core/report/document';
import { HOSTILE, reportDocument as doc, reportSamples } from './fixture';

const at = new Date('2026-12-01T10:00:00.000Z');

function sectionById(sections: ReportSection[], id: string): ReportSection {
  for (const s of sections) {
    if (s.id === id) return s;
    const found = s.sections.length > 0 ? sectionById(s.sections, id) : undefined;
    if (found) return found;
  }
  return undefined as never;
}

function blocks<K extends ReportBlock['kind']>(s: ReportSection, kind: K): Array<Extract<ReportBlock, { kind: K }>> {
  return s.blocks.filter((b): b is Extract<ReportBlock, { kind: K }> => b.kind === kind);
}


describe('report document', () => {
  it('has the sections of the report in order, with stable ids', () => {
    const d = doc();
    assert.deepEqual(d.sections.map((s) => s.id), ['summary', 'findings', 'recommended-changes', 'risk-and-validation', 'appendix']);
    assert.deepEqual(
      sectionById(d.sections, 'appendix').sections.map((s) => s.id),
      ['busiest-processes', 'largest-ets-tables', 'supervisors', 'mailbox-lengths', 'memory-by-type', 'scheduler-utilization', 'method'],
    );
    assert.deepEqual(d.findingCounts, { critical: 1, warning: 1, info: 0, total: 2 });
    assert.equal(d.version, 1);
    assert.equal(d.generatedAt, at.toISOString());
  });

  it('carries findings with id, number, severity, process, where and evidence as data', () => {
    const findings = blocks(sectionById(doc().sections, 'findings'), 'finding').map((b) => b.finding);
    assert.deepEqual(findings.map((f) => [f.id, f.number, f.severity]), [
      ['mailbox-growth:Elixir.Demo.EventSink', 1, 'critical'],
      [`binary-holder:${HOSTILE}`, 2, 'warning'],
    ]);
    const first = findings[0] as ReportFinding;
    assert.deepEqual(first.process, { pid: '<0.170.0>', name: 'Demo.EventSink' });
    assert.deepEqual(first.where, { symbol: 'Demo.EventSink.handle_cast/2', file: 'lib/demo/event_sink.ex', line: 12 });
    assert.equal((findings[1] as ReportFinding).where?.symbol, 'gen_server2:process_next_msg/1', 'Erlang modules keep Erlang notation');
    assert.deepEqual(first.recommendation, [
      { kind: 'text', text: 'Add back-pressure: turn the hot ' },
      { kind: 'code', text: 'cast' },
      { kind: 'text', text: ' into ' },
      { kind: 'code', text: 'GenServer.call' },
      { kind: 'text', text: ' with a timeout. Measure first.' },
    ]);
    assert.deepEqual((findings[1] as ReportFinding).title, [{ kind: 'text', text: `${HOSTILE} holds 40.0 MiB of off-heap binaries` }], 'titles are plain text');
  });

  it('links recommended changes to their findings by id, and keeps numbers typed in tables', () => {
    const d = doc();
    const list = blocks(sectionById(d.sections, 'recommended-changes'), 'list')[0];
    assert.deepEqual(list?.items.map((i) => i[0]), [
      { kind: 'findingLink', findingId: 'mailbox-growth:Elixir.Demo.EventSink', text: "Demo.EventSink's mailbox grows by 98 messages/s" },
      { kind: 'findingLink', findingId: `binary-holder:${HOSTILE}`, text: `${HOSTILE} holds 40.0 MiB of off-heap binaries` },
    ]);
    const busiest = blocks(sectionById(d.sections, 'busiest-processes'), 'table')[0]?.table;
    assert.deepEqual(busiest?.columns.map((c) => c.type), ['text', 'text', 'number', 'number', 'number', 'text', 'text']);
    assert.deepEqual(busiest?.rows[0]?.slice(0, 4), [
      { kind: 'code', text: '<0.170.0>' },
      { kind: 'text', text: 'Demo.EventSink' },
      { kind: 'number', value: 1234.4, unit: 'per-second', display: '1,234' },
      { kind: 'number', value: 2 * 1024 * 1024, unit: 'bytes', display: '2.0 MiB' },
    ]);
    const chart = blocks(sectionById(d.sections, 'mailbox-lengths'), 'chart')[0]?.chart;
    assert.deepEqual(chart?.series.map((s) => s.label), ['<0.170.0> Demo.EventSink'], 'only mailboxes that held messages');
    assert.deepEqual(chart?.series[0]?.points, [[0, 10], [1000, 120], [2000, 250], [3000, 500]]);
  });

  it('says in the method section when counting calls was asked for but did not run', () => {
    const d = buildReport({ samples: reportSamples(), findings: [], env: 'local', probe: false, tracingNote: 'hot functions not counted: refused' });
    const method = blocks(sectionById(d.sections, 'method'), 'paragraph')[0];
    assert.match(plainTextOf(method?.text ?? []), /Counting calls was asked for but did not run: hot functions not counted: refused\./);
    assert.deepEqual(blocks(sectionById(d.sections, 'findings'), 'paragraph').map((p) => plainTextOf(p.text)), ['Nothing stood out in this window. Sample longer or under load to be sure.']);
  });

  it('is plain JSON (it crosses to the webview and into session files)', () => {
    const d = doc();
    assert.deepEqual(JSON.parse(JSON.stringify(d)), d);
  });
});

