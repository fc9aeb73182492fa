// One diagnosis, shared by `report`, `findings` and the editor: read-only sampling over a
// window (with scheduling/GC from microstate accounting and a review of the supervision design)
// and, when tracing is allowed, a hot-functions session over the same window and then the crash
// reasons of the most restarting supervisor.
import { computeFindings, uniqueIds, type Finding } from './rules';
import { monitorFindings } from './run-findings';
import type { ProgressReporter } from '../target/rpc';
import { sampleNode, type NodeSamples } from './sampler';
import type { Attachment } from '../attach/attachment';
import { runHotFunctions } from '../runs/hot';
import { runMonitor } from '../runs/trace';
import { crashEvidenceLines, gatherCrashes, type CrashEvidence } from '../runs/crashes';
import { sampleScheduling, schedulingFindings, type SchedulingSample } from './scheduling';
import { siblingLinks, supervisionFindings } from './supervision-review';
import { collectBinaryHolders, type BinLeakResult } from '../runs/bin-leak';
import { applyBinaryCollections } from './binary-gc';
import { requireConsent } from '../attach/consent';
import { startExitWatch, type ExitWatch } from '../runs/exit-watch';
import { childLimits, dynamicGrowthFindings, growingSupervisors, partitionFindings, restartTypeFindings } from './supervision-design';

export interface Diagnosis {
  samples: NodeSamples;
  findings: Finding[];
  /** What could not be gathered and why (tracing-based findings, scheduling), for a note next to the findings. */
  tracingNote?: string;
  /** Microstate accounting and GC ranking over the window (absent when the node refused). */
  scheduling?: SchedulingSample;
  /** The crash reasons of the most restarting supervisor (with tracing allowed). */
  crashes?: CrashEvidence;
  /** With gcBinaries: what a forced collection of the top binary holders freed, per process. */
  binaryCollections?: BinLeakResult;
}

/** How long crash reasons are watched after the window, at most. */
export const CRASH_WATCH_MS = 5000;

export async function diagnose(
  session: Attachment,
  options: { durationMs: number; trace: boolean; onProgress?: ProgressReporter; signal?: AbortSignal; /** Collect the top binary holders after the window (needs the 'gc' consent). */ gcBinaries?: boolean },
): Promise<Diagnosis> {
  // Missing consent is an error (exit 4 in the CLI), not a note: check it before sampling.
  if (options.trace) await session.prepareTracing();
  if (options.gcBinaries) requireConsent('gc', session.node, session.env, session.options.grants ?? {});
  const notes: string[] = [];
  const note = (what: string) => (err: unknown): undefined => {
    notes.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  };
  const signal = options.signal ? { signal: options.signal } : {};
  const hot = options.trace
    ? runHotFunctions(session, { durationMs: options.durationMs, limit: 20, ...signal }).catch(note('hot functions not counted'))
    : Promise.resolve(undefined);
  // Long GCs and large heaps over the same window, if no other tool holds the system monitor.
  const monitor = options.trace
    ? runMonitor(session, { longGcMs: 50, rate: { count: 100, perMs: 1000 }, cap: 1000, deadlineMs: options.durationMs }, () => undefined, options.signal).catch(
        note('system monitor not used'),
      )
    : Promise.resolve(undefined);
  // Scheduler states and GC work over the same window (msacc on only for it, then as it was);
  // stopped with the run, or when the sampling fails (so no window outlives the diagnosis).
  const schedulingStop = new AbortController();
  const stopScheduling = (): void => schedulingStop.abort(options.signal?.reason);
  if (options.signal?.aborted) stopScheduling();
  options.signal?.addEventListener('abort', stopScheduling, { once: true });
  const scheduling = sampleScheduling(session.evaluator, session.node, Math.min(Math.max(options.durationMs, 200), 60_000), schedulingStop.signal).finally(() => options.signal?.removeEventListener('abort', stopScheduling)).catch((err: unknown) => {
    notes.push(`scheduling not sampled: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  });
  // The exits of the user's permanent workers over the window (read-only: monitors from our node).
  let exitWatch: Promise<ExitWatch | undefined> = Promise.resolve(undefined);
  const samples = await sampleNode(session, {
    durationMs: options.durationMs,
    onTreesStart: (trees) => {
      exitWatch = startExitWatch(session, trees).catch(note('child exits not watched'));
    },
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...signal,
  }).catch(async (err: unknown) => {
    // Stopped or failed: the watch's monitors and the scheduling window go now, not at detach.
    schedulingStop.abort();
    await Promise.all([(async () => (await exitWatch)?.stop())(), scheduling]);
    throw err;
  });
  const [hotResult, monitorResult, sched] = await Promise.all([hot, monitor, scheduling]);
  if (hotResult) samples.hot = hotResult;
  const findings = computeFindings(samples);
  if (monitorResult) findings.push(...monitorFindings(monitorResult.events));
  if (sched) findings.push(...schedulingFindings(sched, samples.sources));
  // Supervision design: intensities, strategies over independent children, escalation paths.
  const links = await siblingLinks(session.evaluator, session.node, samples.treesEnd).catch(() => ({}));
  const review = supervisionFindings(samples.treesEnd, links);
  findings.push(...review.findings);
  const exits = await (await exitWatch)?.stop();
  if (exits) findings.push(...restartTypeFindings(exits, samples.treesEnd));
  const growing = growingSupervisors(samples.treesStart, samples.treesEnd);
  if (growing.length > 0) {
    const limits = await childLimits(session.evaluator, session.node, growing.flatMap((g) => (g.sup.pid ? [g.sup.pid] : []))).catch(() => ({}));
    findings.push(...dynamicGrowthFindings(samples, limits));
  }
  findings.push(...partitionFindings(samples, findings));
  const storms = findings.filter((f) => f.rule === 'restart-storm');
  for (const f of storms) {
    const e = f.subject.pid !== undefined ? review.escalations[f.subject.pid] : undefined;
    if (e) f.evidence.push(`escalation: ${e}`);
  }
  // Why the children crash: watch the worst supervisor's EXIT messages for a short while.
  let crashes: CrashEvidence | undefined;
  const worst = storms[0];
  if (worst?.subject.pid !== undefined) {
    if (options.trace && !options.signal?.aborted) {
      crashes = await gatherCrashes(session, worst.subject.pid, Math.min(CRASH_WATCH_MS, options.durationMs), options.signal).catch((err: unknown) => {
        notes.push(`crash reasons not gathered: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      });
      if (crashes) worst.evidence.push(...crashEvidenceLines(crashes));
    } else if (!options.trace) {
      worst.evidence.push('crash reasons: not gathered (with --allow-trace --allow-probe a bounded message trace on the supervisor collects its children\'s exit reasons)');
    }
  }
  // What the top binary holders free when collected: evidence for their binary-holder findings.
  let binaryCollections: BinLeakResult | undefined;
  if (options.gcBinaries && !options.signal?.aborted) {
    binaryCollections = await collectBinaryHolders(session, { ...signal }).catch((err: unknown) => {
      notes.push(`binary holders not collected: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    });
    if (binaryCollections) findings.push(...applyBinaryCollections(findings, binaryCollections));
  }
  const order: Record<Finding['severity'], number> = { critical: 0, warning: 1, info: 2 };
  findings.sort((a, b) => order[a.severity] - order[b.severity]);
  return {
    samples,
    findings: uniqueIds(findings),
    ...(notes.length > 0 ? { tracingNote: notes.join('; ') } : {}),
    ...(sched ? { scheduling: sched } : {}),
    ...(crashes ? { crashes } : {}),
    ...(binaryCollections ? { binaryCollections } : {}),
  };
}
