// The report's leak-trend section: for each trend finding of a watch (core/findings/trends.ts), the
// series it was fitted on as a projection chart — the measured points, the least-squares line and
// where it leads: the atom, process or port limit with the time it is reached, or for memory (which
// has no limit the node states) the value a day from now at the same rate.
import { fitLine, fmtDuration, secondsToLimit, type Point, type TrendSamples } from '../findings/trends';
import type { Finding } from '../findings/rules';
import { count, numberCell, paragraph, section, type NumberUnit, type ReportBlock, type ReportChart, type ReportSection, type TableCell } from './document';
import { formatValue } from './chart-marks';

/** How far a trend without a limit is projected. */
export const PROJECTION_HORIZON_MS = 86_400_000;

const plain = (t: string): TableCell => ({ kind: 'text', text: t });

interface Projected {
  id: string;
  title: string;
  what: string;
  unit: NumberUnit;
  points: Point[];
  limit?: { value: number; label: string; reached: string };
}

/** The series behind a trend finding, or null when the watch does not have it. */
function seriesOf(f: Finding, s: TrendSamples, index: number): Projected | null {
  switch (f.rule) {
    case 'atom-leak':
      return { id: 'trend-atoms', title: 'Atom count, projected to the atom limit', what: 'atoms', unit: 'count', points: s.atoms, limit: { value: s.limits.atoms, label: `atom limit ${count(s.limits.atoms)} (+t)`, reached: 'atom table full' } };
    case 'process-count-growth':
      return { id: 'trend-processes', title: 'Process count, projected to the process limit', what: 'processes', unit: 'count', points: s.processes, limit: { value: s.limits.processes, label: `process limit ${count(s.limits.processes)} (+P)`, reached: 'process limit reached' } };
    case 'port-count-growth':
      return { id: 'trend-ports', title: 'Port count, projected to the port limit', what: 'ports', unit: 'count', points: s.ports, limit: { value: s.limits.ports, label: `port limit ${count(s.limits.ports)} (+Q)`, reached: 'port limit reached' } };
    case 'binary-growth':
      return { id: 'trend-binary', title: 'Binary memory, projected a day ahead', what: 'binary memory', unit: 'bytes', points: s.binary };
    case 'memory-growth': {
      const p = s.processMemory.find((x) => x.pid === f.subject.pid);
      const who = f.title.split("'s memory grows")[0] ?? f.subject.pid ?? 'process';
      return p ? { id: `trend-memory-${index}`, title: `Memory of ${who}, projected a day ahead`, what: `memory of ${who}`, unit: 'bytes', points: p.points } : null;
    }
    case 'ets-growth': {
      const t = s.ets.find((x) => x.name === f.subject.name);
      return t ? { id: `trend-ets-${index}`, title: `ETS table ${t.name}: memory, projected a day ahead`, what: `memory of ETS table ${t.name}`, unit: 'bytes', points: t.memory } : null;
    }
    default:
      return null;
  }
}

/** A projection chart of one series: the fit, and where the line meets the limit (or the horizon). */
export function projectionChart(p: Projected): ReportChart {
  const fit = fitLine(p.points);
  const n = p.points.length;
  const perMs = fit.perSec / 1000;
  const mx = n > 0 ? p.points.reduce((a, q) => a + q[0], 0) / n : 0;
  const my = n > 0 ? p.points.reduce((a, q) => a + q[1], 0) / n : 0;
  const intercept = my - perMs * mx;
  const lastMs = p.points[n - 1]?.[0] ?? 0;
  const fmt = (v: number): string => formatValue(v, p.unit);
  let untilMs = lastMs + PROJECTION_HORIZON_MS;
  let endLabel = `${fmt(intercept + perMs * untilMs)} in a day at this rate`;
  const rows: TableCell[][] = [
    [plain('measured'), plain(`${fmt(fit.first)} → ${fmt(fit.last)} over ${fmtDuration(lastMs)} (${n} samples)`)],
    [plain('least-squares slope'), plain(`${p.unit === 'bytes' ? fmt(fit.perSec) : String(Math.round(fit.perSec * 100) / 100)}/s (R² ${fit.r2.toFixed(2)}; ${Math.round(fit.steadiness * 100)}% of steps not falling)`)],
  ];
  const limit = p.limit;
  if (limit) {
    const left = secondsToLimit(intercept + perMs * lastMs, fit.perSec, limit.value);
    rows.push([plain('limit'), numberCell(limit.value, p.unit)]);
    if (left !== null) {
      untilMs = lastMs + left * 1000;
      endLabel = `${limit.reached} in ${fmtDuration(left * 1000)}`;
    } else {
      endLabel = `${limit.reached}: not at this rate`;
    }
  }
  rows.push([plain('projection'), plain(endLabel)]);
  return {
    id: p.id,
    shape: 'projection',
    title: p.title,
    x: { label: 'time since the watch started', unit: 'ms' },
    y: { label: p.what, unit: p.unit },
    series: [{ label: `measured (${n} samples)`, points: p.points.map((q): [number, number] => [q[0], q[1]]) }],
    projection: { intercept, perMs, untilMs, endLabel, ...(limit ? { limit: { value: limit.value, label: limit.label } } : {}) },
    fallback: { columns: [{ label: 'Trend', type: 'text' }, { label: 'Value', type: 'text' }], rows },
  };
}

/** Charts for the trend findings of a watch, in the findings' order (ids unique). */
export function trendCharts(s: TrendSamples, findings: readonly Finding[]): ReportChart[] {
  const out: ReportChart[] = [];
  findings.forEach((f, i) => {
    const p = seriesOf(f, s, i + 1);
    if (p && p.points.length >= 2) out.push(projectionChart(p));
  });
  return out;
}

/** The "Leak trends" section: what was watched, and a projection chart per trend finding. */
export function trendSection(s: TrendSamples, findings: readonly Finding[]): ReportSection {
  const charts = trendCharts(s, findings);
  const blocks: ReportBlock[] = [
    paragraph(
      `Watched for ${fmtDuration(s.durationMs)} (${s.samples} samples every ${fmtDuration(s.intervalMs)}, read-only) and fitted by least squares. ` +
        (findings.length === 0
          ? 'No leak trend: the atom, process and port counts, binary memory, the largest processes and ETS tables did not rise steadily.'
          : `${findings.length} trend finding${findings.length === 1 ? '' : 's'} (listed with the findings above); each projected below.`),
    ),
    ...charts.map((chart): ReportBlock => ({ kind: 'chart', chart })),
  ];
  if (!s.processRanking) blocks.push(paragraph('The node had too many processes to rank by memory at each interval: per-process growth was not followed.'));
  return section('trends', 'Leak trends', blocks);
}
