// Sessions over the whole cluster: the same bounded session on every member at once, each on its
// own direct attachment with the probe (its guardian cleans that member if we vanish), and one
// merged result. A member that fails or disappears mid-session is reported; the others go on.
import { runHotFunctions, type HotFunction, type HotOptions } from '../runs/hot';
import type { EndReason } from '../records/store';
import type { ClusterView } from './cluster';
import type { MemberStatus } from './members';

export interface ClusterHotResult {
  durationMs: number;
  /** 'completed' when every member that answered completed; else the first other ending. */
  endReason: EndReason;
  nodes: Array<{ node: string; status: MemberStatus; error?: string; endReason?: EndReason; totalCalls?: number; endDetail?: string }>;
  /** The top functions of all members, each naming its node, by calls per second. */
  functions: Array<HotFunction & { node: string }>;
}

/** Counts calls on every member over one window (consent is checked on each member's attachment). */
export async function clusterHot(view: ClusterView, options: HotOptions & { limit: number }): Promise<ClusterHotResult> {
  const started = Date.now();
  const answers = await view.ask(async (session) => {
    await session.prepareTracing();
    return runHotFunctions(session, options);
  }, options.durationMs + 30_000);
  const functions = answers
    .flatMap((a) => (a.status === 'ok' && a.value ? a.value.functions.map((f) => ({ ...f, node: a.node })) : []))
    .sort((x, y) => y.callsPerSec - x.callsPerSec)
    .slice(0, options.limit);
  const endings = answers.flatMap((a) => (a.value ? [a.value.endReason] : []));
  return {
    durationMs: Date.now() - started,
    endReason: endings.find((e) => e !== 'completed') ?? 'completed',
    nodes: answers.map((a) => ({
      node: a.node,
      status: a.status,
      ...(a.error ? { error: a.error } : {}),
      ...(a.value
        ? {
            endReason: a.value.endReason,
            totalCalls: a.value.totalCalls,
            ...(a.value.breaker ? { endDetail: `${a.value.breaker.what} ${a.value.breaker.value} over limit ${a.value.breaker.limit}` } : {}),
          }
        : {}),
    })),
    functions,
  };
}
