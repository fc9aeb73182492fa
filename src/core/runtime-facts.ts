// Runtime facts for the editor: per-module process summaries (see module-summary.ts: compiled
// passes on the target, each process's module read once), the supervisors of the application trees, and
// findings that need no tracing (supervisors near their restart limit, growing mailboxes). The
// language server turns these into lenses and diagnostics; it never calls the node per request.
import { formatModule } from '../etf';
import type { Finding } from './findings';
import type { HotResult } from './sessions/hot';
import { ModuleSummarizer, type ModuleSummaryRow } from './module-summary';
import type { Session } from './session';
import { walkTree, type ApplicationTree } from './tree';
import type { HotRuntime, ModuleRuntime, RuntimeFacts, SupervisorRuntime } from '../protocol/lsp';

export type { ModuleSummaryRow } from './module-summary';

/** One summary pass (a fresh summarizer: every process's module is read). */
export async function moduleSummaries(session: Session, limit = 2000): Promise<ModuleSummaryRow[]> {
  return new ModuleSummarizer(session.evaluator, session.node).summarize(limit);
}

/** Supervisors of the trees, flattened, with their restart numbers. */
export function supervisorsOf(trees: ApplicationTree[]): SupervisorRuntime[] {
  const out: SupervisorRuntime[] = [];
  for (const app of trees) {
    if (app.supervisor === null) continue;
    for (const { node } of walkTree(app.supervisor)) {
      if (node.type !== 'supervisor' || node.pid === null) continue;
      out.push({
        module: node.module !== null ? formatModule(node.module) : null,
        name: node.name !== null ? formatModule(node.name) : null,
        pid: node.pid,
        app: app.name,
        ...(node.strategy !== undefined ? { strategy: node.strategy } : {}),
        ...(node.intensity !== undefined ? { intensity: node.intensity } : {}),
        ...(node.period !== undefined ? { period: node.period } : {}),
        ...(node.restarts !== undefined ? { restarts: node.restarts } : {}),
        childCount: node.childCount,
      });
    }
  }
  return out;
}

export function hotOf(hot: HotResult | undefined): HotRuntime[] {
  if (!hot) return [];
  return hot.functions.map((f) => ({
    module: formatModule(f.module),
    function: f.function,
    arity: f.arity,
    calls: f.calls,
    callsPerSec: f.callsPerSec,
    share: f.share,
    ...(f.usPerCall !== undefined ? { usPerCall: f.usPerCall } : {}),
  }));
}

/** Mailbox growth of each module's largest queue since the previous collection (same pid only). */
export function withGrowth(rows: ModuleSummaryRow[], previous: { at: number; rows: ModuleSummaryRow[] } | null, at: number): ModuleSummaryRow[] {
  if (previous === null || at <= previous.at) return rows;
  const before = new Map(previous.rows.map((r) => [r.module, r]));
  const dt = (at - previous.at) / 1000;
  return rows.map((r) => {
    const old = before.get(r.module);
    if (!old || old.largestMailboxPid !== r.largestMailboxPid) return r;
    return { ...r, mailboxGrowthPerSec: (r.largestMailbox - old.largestMailbox) / dt };
  });
}

/** Findings that the facts alone support: supervisors near their limit, steadily growing mailboxes. */
export function factFindings(node: string, modules: ModuleRuntime[], supervisors: SupervisorRuntime[]): Finding[] {
  const out: Finding[] = [];
  for (const s of supervisors) {
    const restarts = s.restarts ?? 0;
    if (restarts === 0 || s.intensity === undefined || s.intensity <= 0) continue;
    const ratio = restarts / s.intensity;
    if (ratio < 0.5) continue;
    const label = s.name ?? s.module ?? s.pid;
    out.push({
      id: `restart-storm:${s.name ?? s.module ?? s.pid}`,
      rule: 'restart-storm',
      severity: ratio >= 0.8 ? 'critical' : 'warning',
      title: `${label} restarted children ${restarts} times in its last ${s.period ?? '?'} s (gives up at more than ${s.intensity})`,
      evidence: [`restart intensity: ${s.intensity} restarts per ${s.period ?? '?'} s, strategy ${s.strategy ?? '?'}, application ${s.app}`, `observed on ${node}`],
      subject: { pid: s.pid, name: s.name, module: s.module },
      ...(s.module !== null ? { location: { module: s.module, function: 'init', arity: 1 } } : {}),
      recommendation:
        `A child of ${label} keeps crashing; the supervisor is ${Math.round(ratio * 100)}% of the way to exceeding max_restarts and ` +
        'taking its siblings down. Fix the crash (the crash reports name it); do not just raise max_restarts. For a flaky ' +
        'dependency, catch the failure in the worker and retry with backoff.',
      risk: 'Raising max_restarts/max_seconds lets a crash loop burn CPU and logs longer before escalating.',
      validation: "Watch the lens: the supervisor's restarts in period should stay at 0.",
    });
  }
  for (const m of modules) {
    const growth = m.mailboxGrowthPerSec ?? 0;
    if (!(growth >= 10 && m.largestMailbox >= 1000) && m.largestMailbox < 10_000) continue;
    const growing = growth >= 10;
    out.push({
      id: `${growing ? 'mailbox-growth' : 'mailbox-backlog'}:${m.module}`,
      rule: growing ? 'mailbox-growth' : 'mailbox-backlog',
      severity: m.largestMailbox >= 100_000 || growth >= 1000 ? 'critical' : 'warning',
      title: growing
        ? `${m.module}: mailbox growing by ${Math.round(growth)} messages/s (${m.largestMailbox} queued)`
        : `${m.module}: ${m.largestMailbox} messages queued`,
      evidence: [
        `largest queue: ${m.largestMailbox} messages in ${m.largestMailboxPid ?? 'one process'} (${m.processes} processes run ${m.module})`,
        ...(growing ? [`growth between the last two collections: ${growth.toFixed(0)} messages/s`] : []),
      ],
      subject: { ...(m.largestMailboxPid ? { pid: m.largestMailboxPid } : {}), module: m.module },
      location: { module: m.module },
      recommendation:
        `The process receives faster than its handle_cast/handle_info clauses finish. Make the slow work asynchronous ` +
        '(a Task or a pool), batch it, or apply back-pressure to the producers (GenServer.call instead of cast, or a bounded buffer).',
      risk: 'Back-pressure moves the wait to the producers; shedding load drops work: decide which is acceptable.',
      validation: 'The lens on the module should show the largest mailbox flat or falling over a few minutes.',
    });
  }
  return out;
}

export interface FactsCollector {
  /** Aborting stops the collection's work on the node. */
  collect(signal?: AbortSignal): Promise<RuntimeFacts>;
  /**
   * What the last collection cost the node, in ms, as it recurs: the summary pass timed on the
   * node's own clock plus the tree walk's round trips (decoding on our side is not the node's
   * cost; reading the modules of new pids is one-off work and not counted: on the first
   * collection that is every process).
   */
  readonly lastNodeCostMs: number;
  /** Its parts: the summary pass on the node's clock, memory reads included; the tree walk's wall time. */
  readonly lastCostDetail: { summaryNodeMs: number; treeMs: number; memoryReads: number };
}

/** Collects facts from a session, remembering the previous collection for mailbox growth. */
export function factsCollector(session: Session, options: { treePageSize?: number; extraFindings?: () => Finding[]; hot?: () => HotResult | undefined } = {}): FactsCollector {
  let previous: { at: number; rows: ModuleSummaryRow[] } | null = null;
  const summarizer = new ModuleSummarizer(session.evaluator, session.node);
  let lastNodeCostMs = 0;
  let lastCostDetail = { summaryNodeMs: 0, treeMs: 0, memoryReads: 0 };
  return {
    get lastNodeCostMs() {
      return lastNodeCostMs;
    },
    get lastCostDetail() {
      return lastCostDetail;
    },
    async collect(signal?: AbortSignal) {
      // Facts need the supervisors, not a ranking of workers: pages of large supervisors are
      // taken in child order (no per-child read), so the tree costs little beyond which_children.
      // One after the other: the tree's round trips then measure the tree, not the summary's
      // transfer sharing the connection.
      const rows = await summarizer.summarize(2000, signal);
      const t0 = Date.now();
      const trees = await session.tree({ pageSize: options.treePageSize ?? 20, pageSort: 'none' });
      const treeMs = Date.now() - t0;
      lastNodeCostMs = summarizer.lastPass.nodeMs + treeMs;
      lastCostDetail = { summaryNodeMs: summarizer.lastPass.nodeMs, treeMs, memoryReads: summarizer.lastPass.memoryReads };
      const at = Date.now();
      const modules = withGrowth(rows, previous, at);
      previous = { at, rows };
      const supervisors = supervisorsOf(trees);
      const findings = [...factFindings(session.node, modules, supervisors), ...(options.extraFindings?.() ?? [])];
      return {
        node: session.node,
        env: session.env,
        source: 'live',
        capturedAt: at,
        modules,
        supervisors,
        hot: hotOf(options.hot?.()),
        findings: dedupe(findings),
      };
    },
  };
}

/** Later findings with the same id replace earlier ones (a diagnosis beats a quick estimate). */
export function dedupe(findings: Finding[]): Finding[] {
  const byId = new Map<string, Finding>();
  for (const f of findings) byId.set(f.id, f);
  return [...byId.values()];
}
