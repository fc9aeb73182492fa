// binary_leak: recon's bin_leak through the core (src/core/runs/bin-leak.ts), INTRUSIVE: it forces
// garbage collections of the top binary holders, so it asks consent (a form with the count and
// the time limit, which can only be lowered) or takes the server's --allow-gc pre-approval.
import { z } from 'zod';
import { applyBinaryCollections, binLeakLines, verdictOf } from '../../core/findings/binary-gc';
import { BIN_LEAK_LIMITS, collectBinaryHolders, type BinLeakResult } from '../../core/runs/bin-leak';
import { toolResult } from '../bounds';
import { guarded, type McpContext } from '../context';
import { runForTool } from '../runs';
import { intrusive, nodeArg } from './common';

const L = BIN_LEAK_LIMITS;

export function registerBinLeakTool(ctx: McpContext): void {
  ctx.server.registerTool(
    'binary_leak',
    {
      title: 'Binary leak check',
      description:
        `INTRUSIVE (asks consent): ranks processes by the refc binary memory they reference, garbage-collects the top ${L.defaultTop} (at most ${L.maxTop}, within a time limit) one at a time, and reports per process the binaries and bytes its collection freed, with the node's erlang:memory(binary) before and after. ` +
        "A process that frees most of them was holding garbage (advice: collect after bulk work, hibernate); one that frees little keeps them (state, sub-binaries: binary:copy). Nothing is loaded or set; collected processes pause while collected.",
      inputSchema: {
        ...nodeArg,
        top: z.number().int().min(1).max(L.maxTop).default(L.defaultTop).describe(`how many top holders to collect (1-${L.maxTop}, default ${L.defaultTop})`),
        timeLimitS: z.number().int().min(1).max(L.maxTimeLimitMs / 1000).default(L.defaultTimeLimitMs / 1000).describe('stop collecting after this many seconds'),
      },
      outputSchema: {
        session: z.object({ id: z.string(), endReason: z.string(), file: z.string().nullable() }),
        top: z.number().describe('how many top holders the run was allowed to collect (after the consent form)'),
        binaryBefore: z.number(),
        binaryAfter: z.number(),
        collected: z.array(z.looseObject({ pid: z.string(), droppedBytes: z.number(), verdict: z.string() })),
        skipped: z.array(z.looseObject({ pid: z.string() })),
        findings: z.array(z.looseObject({ id: z.string(), severity: z.string(), title: z.string() })),
      },
      annotations: intrusive('Binary leak check'),
    },
    ({ node, top, timeLimitS }, extra) =>
      guarded(async () => {
        const s = ctx.nodes.resolve(node);
        const { result } = await runForTool<BinLeakResult>(ctx, extra, {
          tool: 'binary_leak',
          session: s,
          kind: 'bin-leak',
          actions: ['gc'],
          sets: `force a garbage collection of the ${top} processes holding the most binary memory, one at a time (each pauses while collected); nothing is loaded or set`,
          undo: 'nothing to undo: a collection only frees what the process no longer references; the run stops at the time limit or when cancelled.',
          fields: [
            { key: 'top', title: 'Processes collected', requested: top, min: 1, unit: 'processes' },
            { key: 'timeLimitS', title: 'Time limit', requested: timeLimitS, min: 1, unit: 's' },
          ],
          limits: (v) => ({ top: v.top ?? top, timeLimitMs: (v.timeLimitS ?? timeLimitS) * 1000 }),
          durationMs: (v) => (v.timeLimitS ?? timeLimitS) * 1000,
          body: async (v, signal) => {
            const value = await collectBinaryHolders(s, { top: v.top ?? top, timeLimitMs: (v.timeLimitS ?? timeLimitS) * 1000, signal });
            return { value, endReason: value.endReason, durationMs: value.durationMs };
          },
        });
        const r = result.value;
        const findings = applyBinaryCollections([], r);
        const structured = {
          session: { id: result.id, endReason: result.endReason, file: result.file },
          top: r.top,
          binaryBefore: r.binaryBefore,
          binaryAfter: r.binaryAfter,
          collected: r.collected.map((c) => ({ ...c, verdict: verdictOf(c) })),
          skipped: r.skipped,
          findings,
        };
        const text = [`binary leak check on ${s.node} (${result.endReason}):`, ...binLeakLines(r), ...findings.map((f) => `[${f.severity}] ${f.title}\n  → ${f.recommendation}`)].join('\n');
        return toolResult(structured, text);
      }),
  );
}
