// One diagnosis, shared by `report`, `findings` and the editor: read-only sampling over a
// window and, when tracing is allowed, a hot-functions session over the same window.
import { computeFindings, type Finding } from './rules';
import { monitorFindings } from './run-findings';
import type { ProgressReporter } from '../target/rpc';
import { sampleNode, type NodeSamples } from './sampler';
import type { Attachment } from '../attach/attachment';
import { runHotFunctions } from '../runs/hot';
import { runMonitor } from '../runs/trace';

export interface Diagnosis {
  samples: NodeSamples;
  findings: Finding[];
  /** Why tracing-based findings are missing, when tracing was allowed but could not run. */
  tracingNote?: string;
}

export async function diagnose(
  session: Attachment,
  options: { durationMs: number; trace: boolean; onProgress?: ProgressReporter; signal?: AbortSignal },
): Promise<Diagnosis> {
  // Missing consent is an error (exit 4 in the CLI), not a note: check it before sampling.
  if (options.trace) await session.prepareTracing();
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
  const samples = await sampleNode(session, {
    durationMs: options.durationMs,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...signal,
  });
  const [hotResult, monitorResult] = await Promise.all([hot, monitor]);
  if (hotResult) samples.hot = hotResult;
  const findings = computeFindings(samples);
  if (monitorResult) findings.push(...monitorFindings(monitorResult.events));
  return { samples, findings, ...(notes.length > 0 ? { tracingNote: notes.join('; ') } : {}) };
}
