// leak_trends: the trend watch of src/core/runs/trend-watch.ts over minutes, read-only. The
// window is planned (and refused when too short for a trend) by the core, like the CLI's.
import { z } from 'zod';
import { planWindow, rankByGrowth, fmtDuration, bytes } from '../../core/findings/trends';
import { watchTrends } from '../../core/runs/trend-watch';
import { STRUCTURED_BUDGET, fitItems, toolResult, truncationNote } from '../bounds';
import { guarded, progressFor, type McpContext } from '../context';
import { callSignal } from '../runs';
import { nodeArg, readOnly } from './common';

/** Server-side cap of one call (a client waiting longer than this should run the CLI). */
export const TREND_CAP_S = 600;

export function registerTrendTools(ctx: McpContext): void {
  const { server, nodes } = ctx;
  server.registerTool(
    'leak_trends',
    {
      title: 'Leak trends',
      description:
        `Watches the node read-only for durationS seconds (10-${TREND_CAP_S}, default 120; at least 5 samples) and fits trends: atom count projected to the atom limit (atoms are never collected), process and port counts against their limits, per-process memory growth ranked by slope (leak candidates with module and mailbox), binary memory, ETS tables that only grow. Nothing is loaded or set on the node. Reports progress; cancellable.`,
      inputSchema: {
        ...nodeArg,
        durationS: z.number().int('durationS must be whole seconds').min(10, 'a trend needs at least 10 seconds').max(TREND_CAP_S, `durationS is at most ${TREND_CAP_S} seconds`).default(120).describe(`seconds to watch (10-${TREND_CAP_S}, default 120)`),
        intervalS: z.number().int().min(1).max(60).optional().describe('seconds between samples (default: adapted to the duration)'),
      },
      outputSchema: {
        node: z.string(),
        durationMs: z.number(),
        intervalMs: z.number(),
        samples: z.number(),
        growth: z.array(z.looseObject({ pid: z.string(), bytesPerSec: z.number() })),
        findings: z.array(z.looseObject({ id: z.string(), severity: z.string(), title: z.string() })),
        truncated: z.object({ shown: z.number(), total: z.number(), next: z.string() }).optional(),
      },
      annotations: readOnly('Leak trends'),
    },
    ({ node, durationS, intervalS }, extra) =>
      guarded(async () => {
        const plan = planWindow(durationS * 1000, intervalS === undefined ? undefined : intervalS * 1000);
        const s = nodes.resolve(node);
        const progress = progressFor(extra);
        const r = await watchTrends(s, { durationMs: plan.durationMs, intervalMs: plan.intervalMs, signal: callSignal(ctx, extra), onProgress: (d, t, w) => progress(d, t, w) });
        const growth = rankByGrowth(r.samples).slice(0, 10).map((p) => ({ pid: p.pid, name: p.name, initialCall: p.initialCall, bytesPerSec: Math.round(p.fit.perSec), memory: p.fit.last, messageQueueLen: p.messageQueueLen }));
        const rest = { node: s.node, durationMs: r.samples.durationMs, intervalMs: r.samples.intervalMs, samples: r.samples.samples, growth };
        const fitted = fitItems(r.findings, (fs) => ({ ...rest, findings: [...fs] }), STRUCTURED_BUDGET);
        const truncated = fitted.shown < r.findings.length ? { shown: fitted.shown, total: r.findings.length, next: 'the most severe are listed first' } : undefined;
        const text = [
          `${r.findings.length} trend findings on ${s.node}: ${r.samples.samples} samples every ${fmtDuration(r.samples.intervalMs)} over ${fmtDuration(r.samples.durationMs)}`,
          ...growth.slice(0, 5).map((g) => `  ${g.name ?? g.initialCall ?? g.pid}: ${bytes(g.bytesPerSec)}/s, ${bytes(g.memory)} now, mailbox ${g.messageQueueLen}`),
          ...fitted.value.findings.map((f) => `[${f.severity}] ${f.title}\n  ${f.evidence.slice(0, 3).join('\n  ')}\n  → ${f.recommendation}`),
        ].join('\n');
        return toolResult({ ...fitted.value, ...(truncated ? { truncated } : {}) }, text + truncationNote(truncated));
      }),
  );
}
