// One diagnosis, shared by `report`, `findings` and the editor: read-only sampling over a
// window and, when tracing is allowed, a hot-functions session over the same window.
import { computeFindings, type Finding } from './findings';
import type { ProgressReporter } from './rpc';
import { sampleNode, type NodeSamples } from './sampler';
import type { Session } from './session';
import { runHotFunctions } from './sessions/hot';

export interface Diagnosis {
  samples: NodeSamples;
  findings: Finding[];
  /** Why tracing-based findings are missing, when tracing was allowed but could not run. */
  tracingNote?: string;
}

export async function diagnose(
  session: Session,
  options: { durationMs: number; trace: boolean; onProgress?: ProgressReporter; signal?: AbortSignal },
): Promise<Diagnosis> {
  let tracingNote: string | undefined;
  const hot = options.trace
    ? runHotFunctions(session, { durationMs: options.durationMs, limit: 20, ...(options.signal ? { signal: options.signal } : {}) }).catch((err: unknown) => {
        tracingNote = err instanceof Error ? err.message : String(err);
        return undefined;
      })
    : Promise.resolve(undefined);
  const samples = await sampleNode(session, {
    durationMs: options.durationMs,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const hotResult = await hot;
  if (hotResult) samples.hot = hotResult;
  return { samples, findings: computeFindings(samples), ...(tracingNote ? { tracingNote } : {}) };
}
