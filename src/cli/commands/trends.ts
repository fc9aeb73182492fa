import { BeamLensError } from '../../errors';
import { bytes, fmtDuration, parseDuration, planWindow, rankByGrowth, TREND_THRESHOLDS, type WindowPlan } from '../../core/findings/trends';
import { displayMfa, displayName } from '../../core/findings/thresholds';
import { watchTrends } from '../../core/runs/trend-watch';
import { UsageError, booleanFlag, numberFlag, stringFlag } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { printJson, renderTable } from '../output';
import { progressLine, withAttachment } from '../attachment';

const W = TREND_THRESHOLDS.window;

export const trendsCommand: Command = {
  spec: {
    name: 'trends',
    summary: 'Watch the node for minutes and project leaks: atoms to the atom limit, process/port counts, per-process memory by slope, binary memory, ETS tables that only grow (read-only).',
    usage: 'beam-lens trends --node NAME --duration 2m [--interval S] [--json]',
    flags: {
      ...connectionFlags,
      duration: { type: 'string', value: 'D', description: `how long to watch: 90s, 2m, 1h (a bare number is seconds; at least ${W.minDurationMs / 1000} s; default 2m)`, default: '2m' },
      interval: { type: 'number', value: 'S', description: `seconds between samples (default: adapted to the duration, about ${W.targetSamples} samples; at least ${W.minSamples} samples)` },
    },
  },
  async run({ args, output, signal }) {
    const plan = planFromFlags(stringFlag(args.flags, 'duration') ?? '2m', numberFlag(args.flags, 'interval'));
    const progress = progressLine(output);
    const r = await withAttachment(args.flags, output, signal, (s) => watchTrends(s, { durationMs: plan.durationMs, intervalMs: plan.intervalMs, onProgress: progress.report, signal }));
    progress.done();
    const s = r.samples;
    if (booleanFlag(args.flags, 'json')) {
      const ranked = rankByGrowth(s).slice(0, 10).map((p) => ({ pid: p.pid, name: p.name, initialCall: p.initialCall, bytesPerSec: Math.round(p.fit.perSec), r2: round2(p.fit.r2), steadiness: round2(p.fit.steadiness), memory: p.fit.last, messageQueueLen: p.messageQueueLen }));
      printJson(output, { node: s.node, startedAt: s.startedAt, durationMs: s.durationMs, intervalMs: s.intervalMs, samples: s.samples, limits: s.limits, processRanking: s.processRanking, growth: ranked, binaryHolders: s.binaryHolders ?? [], findings: r.findings });
      return ExitCode.ok;
    }
    output.out(`${s.node}: ${s.samples} samples every ${fmtDuration(s.intervalMs)} over ${fmtDuration(s.durationMs)}`);
    if (!s.processRanking) output.out('  (too many processes to rank by memory each interval: per-process growth not followed)');
    const ranked = rankByGrowth(s).slice(0, 10);
    if (ranked.length > 0) {
      output.out('\nprocesses by memory growth:');
      output.out(
        renderTable(
          [
            { header: 'PROCESS', max: 50, cell: (p: (typeof ranked)[number]) => (p.name ? displayName(p.name) : p.initialCall ? `${p.pid} ${displayMfa(p.initialCall)}` : p.pid) },
            { header: 'GROWTH/S', align: 'right', cell: (p) => bytes(p.fit.perSec) },
            { header: 'MEMORY', align: 'right', cell: (p) => bytes(p.fit.last) },
            { header: 'R²', align: 'right', cell: (p) => p.fit.r2.toFixed(2) },
            { header: 'MAILBOX', align: 'right', cell: (p) => String(p.messageQueueLen) },
          ],
          ranked,
        ),
      );
    }
    if (r.findings.length === 0) output.out('\nno leak trend found over this window');
    for (const f of r.findings) output.out(`\n[${f.severity}] ${f.title}\n  ${f.evidence.join('\n  ')}\n  → ${f.recommendation}`);
    return ExitCode.ok;
  },
};

function planFromFlags(duration: string, intervalSec: number | undefined): WindowPlan {
  const ms = parseDuration(duration);
  if (ms === null) throw new UsageError(`--duration must be a duration such as 90s, 2m or 1h, got "${duration}"`);
  try {
    return planWindow(ms, intervalSec === undefined ? undefined : intervalSec * 1000);
  } catch (err) {
    if (err instanceof BeamLensError && err.kind === 'usage') throw new UsageError(err.message);
    throw err;
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
