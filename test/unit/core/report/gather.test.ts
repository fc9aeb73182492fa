// The report of a run (src/core/report/gather.ts) as every face builds it: the diagnosis' findings
// and a trend watch's merged most severe first (ids unique), the trends and telemetry sections in
// their places, and nothing extra without them.
import { strict as assert } from 'node:assert';
import { reportDocumentOf } from '../../../../src/core/report/gather';
import { trendFindings, type Point, type TrendSamples } from '../../../../src/core/findings/trends';
import { reportFindings, reportSamples } from './fixture';

const flat = (v: number): Point[] => Array.from({ length: 11 }, (_, i): Point => [i * 1000, v]);
const trend: TrendSamples = {
  node: 'demo@host', startedAt: '2026-12-01T10:00:00.000Z', durationMs: 10_000, intervalMs: 1000, samples: 11,
  atoms: Array.from({ length: 11 }, (_, i): Point => [i * 1000, 20_000 + 25 * i]),
  processes: flat(300), ports: flat(20), binary: flat(1e6), total: flat(8e7),
  limits: { atoms: 1_048_576, processes: 262_144, ports: 65_536 },
  processMemory: [], processRanking: true, ets: [],
};

describe('report of a run: diagnosis and extras', () => {
  it('merges trend findings by severity, and places the trends and telemetry sections', () => {
    const d = { samples: reportSamples(), findings: reportFindings() };
    const tf = trendFindings(trend);
    assert.deepEqual(tf.map((f) => [f.id, f.severity]), [['atom-leak:atoms', 'critical']]);
    const { document, findings } = reportDocumentOf({ env: 'local', hasProbe: false }, d, {
      trends: { samples: trend, findings: tf },
      telemetry: { listing: { running: true, version: '1.4.1', total: 0, eventsTotal: 0, events: [], handlers: [] } },
    });
    const order = { critical: 0, warning: 1, info: 2 } as const;
    assert.ok(findings.every((f, i) => i === 0 || order[(findings[i - 1] as typeof f).severity] <= order[f.severity]), findings.map((f) => f.severity).join(','));
    assert.equal(findings.length, d.findings.length + 1);
    assert.equal(new Set(findings.map((f) => f.id)).size, findings.length);
    assert.equal(document.findingCounts.total, findings.length);
    assert.deepEqual(document.sections.map((s) => s.id), ['summary', 'findings', 'trends', 'recommended-changes', 'risk-and-validation', 'telemetry', 'appendix']);
    // Without extras: the report as before.
    const plain = reportDocumentOf({ env: 'local', hasProbe: false }, d, {});
    assert.deepEqual(plain.document.sections.map((s) => s.id), ['summary', 'findings', 'recommended-changes', 'risk-and-validation', 'appendix']);
    assert.deepEqual(plain.findings, d.findings);
  });
});
