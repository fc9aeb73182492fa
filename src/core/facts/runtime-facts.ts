// Runtime facts for the editor: per-module process summaries (module-summary.ts: compiled passes
// on the target, each process's module read once), the supervisors of the application trees, and
// findings that need no tracing (supervisors near their restart limit, growing mailboxes). The
// language server turns these into lenses and diagnostics; it never calls the node per request.
import { Atom, Pid, type Term, formatModule } from '../../etf';
import { pidText } from '../target/pids';
import { asList, asNumber, asTuple } from '../target/terms';
import { mailboxFinding, restartStormFinding } from '../findings/thresholds';
import type { Finding } from '../findings/rules';
import type { HotFunction, HotResult } from '../runs/hot';
import type { Attachment } from '../attach/attachment';
import { ModuleSummarizer } from './module-summary';
import { walkTree, type ApplicationTree } from '../inspect/tree';
import { IDENT_FUN, SPEC_MODULE_FUN } from '../inspect/identity';

/** Module names are in Elixir's display form ("Demo.EventSink"); Erlang modules stay as atoms ("ets"). */
export interface ModuleRuntime {
  module: string;
  processes: number;
  memory: number;
  /** Sum of all its processes' queues and the largest single one. */
  messages: number;
  largestMailbox: number;
  largestMailboxPid?: string;
  /** Growth of the largest queue between the last two collections, messages/s (when known). */
  mailboxGrowthPerSec?: number;
  /** From the target's module_info(compile): where the module was compiled from. */
  sourceHint?: string;
}

export interface SupervisorRuntime {
  /** The callback module (for `Supervisor.start_link(children, opts)` this is Supervisor.Default). */
  module: string | null;
  /** Registered name in display form, when registered. */
  name: string | null;
  pid: string;
  app: string;
  strategy?: string;
  intensity?: number;
  period?: number;
  restarts?: number;
  childCount: number;
}

/** A function ranked by a hot-functions session (module in display form). */
export type HotRuntime = Pick<HotFunction, 'module' | 'function' | 'arity' | 'calls' | 'callsPerSec' | 'share' | 'usPerCall'>;

export interface RuntimeFacts {
  node: string;
  env: string;
  /** live: from an attached node; saved: from a session file (lenses say so, with the age). */
  source: 'live' | 'saved';
  /** When the facts were collected (epoch ms). */
  capturedAt: number;
  sessionFile?: string;
  modules: ModuleRuntime[];
  supervisors: SupervisorRuntime[];
  hot: HotRuntime[];
  findings: Finding[];
}

// A process belongs to the module the one naming rule gives it (src/core/identity.ts: RabbitMQ's
// process_name type, a simple_one_for_one child's spec module, proc_lib's $initial_call, the
// initial call). Aggregated with a map on the target by erl_eval, once per report (the
// editor's repeated collections use module-summary.ts: $initial_call, and this rule for trampolines only).
const MODULE_SUMMARY = `${IDENT_FUN}${SPEC_MODULE_FUN}
ModOf = fun(P, Cache) ->
  case erlang:process_info(P, [initial_call, registered_name]) of
    [{initial_call, IC0}, {registered_name, RN}] ->
      {IT, _, DIC} = Ident(P),
      M0 = if IT =/= undefined -> IT;
              true -> case DIC of {SB, MS, _} when (SB =:= supervisor orelse SB =:= supervisor2 orelse SB =:= supervisor_bridge), is_atom(MS) -> MS; {MD, _, _} when is_atom(MD) -> MD;
                        _ -> case IC0 of {M1, _, _} -> M1; _ -> undefined end end
           end,
      %% A simple_one_for_one child is named by its spec's module (at most 500 supervisors asked).
      case IT =:= undefined andalso RN =:= [] andalso map_size(Cache) < 500 of
        true -> case SpecModule(P, Cache) of {undefined, C2} -> {M0, C2}; {SMod, C2} -> {SMod, C2} end;
        false -> {M0, Cache}
      end;
    _ -> {undefined, Cache}
  end
end,
Add = fun(P, {Acc, Cache}) ->
  case erlang:process_info(P, [message_queue_len, memory]) of
    [{message_queue_len, Q}, {memory, Mem}] ->
      {Mod, Cache2} = ModOf(P, Cache),
      Acc2 = case Acc of
        #{Mod := {N, MemS, QS, MaxQ, MaxP}} ->
          {MaxQ2, MaxP2} = if Q > MaxQ -> {Q, P}; true -> {MaxQ, MaxP} end,
          Acc#{Mod := {N + 1, MemS + Mem, QS + Q, MaxQ2, MaxP2}};
        _ -> Acc#{Mod => {1, Mem, Q, Q, P}}
      end,
      {Acc2, Cache2};
    _ -> {Acc, Cache}
  end
end,
{Summary, _} = lists:foldl(Add, {#{}, #{}}, erlang:processes()),
Rows = lists:sublist(lists:reverse(lists:keysort(2, [{M, N, MemS, QS, MaxQ, MaxP} || {M, {N, MemS, QS, MaxQ, MaxP}} <- maps:to_list(Summary)])), Limit),
Src = fun(M) ->
  try M:module_info(compile) of C -> case lists:keyfind(source, 1, C) of {source, S} -> S; _ -> undefined end
  catch _:_ -> undefined end
end,
[{M, N, MemS, QS, MaxQ, MaxP, case code:is_loaded(M) of false -> undefined; _ -> Src(M) end} || {M, N, MemS, QS, MaxQ, MaxP} <- Rows].`;

export interface ModuleSummaryRow extends ModuleRuntime {
  /** Full pid text of the largest queue (for growth tracking across collections). */
  largestMailboxPid: string;
}

/** One summary pass (a fresh summarizer: every process's module and memory is read). */
export async function moduleSummaries(session: Attachment, limit = 2000): Promise<ModuleSummaryRow[]> {
  return new ModuleSummarizer(session.evaluator, session.node).summarize(limit);
}

/** Processes per module over the whole node by the one naming rule (for the report's saved counts). */
export async function identityModuleSummaries(session: Attachment, limit = 200): Promise<ModuleSummaryRow[]> {
  const result = await session.evaluator.eval(MODULE_SUMMARY, { Limit: limit }, 60_000);
  return asList(result).map((t: Term) => {
    const [m, n, mem, qs, maxQ, maxP, src] = asTuple(t).elements;
    const module = m instanceof Atom ? formatModule(m.name) : 'undefined';
    const source = Buffer.isBuffer(src) ? src.toString('utf8') : Array.isArray(src) ? String.fromCodePoint(...(src as number[])) : undefined;
    return {
      module,
      processes: asNumber(n),
      memory: asNumber(mem),
      messages: asNumber(qs),
      largestMailbox: asNumber(maxQ),
      largestMailboxPid: maxP instanceof Pid ? pidText(maxP, session.node) : '',
      ...(source !== undefined ? { sourceHint: source } : {}),
    };
  });
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

/**
 * Findings that the facts alone support: supervisors' restarts and mailboxes, by the same rules
 * (and ids, and thresholds) as a sampled report (finding-rules.ts).
 */
export function factFindings(node: string, modules: ModuleRuntime[], supervisors: SupervisorRuntime[]): Finding[] {
  const out: Finding[] = [];
  for (const s of supervisors) {
    const f = restartStormFinding({
      pid: s.pid,
      name: s.name,
      module: s.module,
      app: s.app,
      ...(s.strategy !== undefined ? { strategy: s.strategy } : {}),
      ...(s.intensity !== undefined ? { intensity: s.intensity } : {}),
      ...(s.period !== undefined ? { period: s.period } : {}),
      restarts: s.restarts ?? 0,
      evidence: [`observed on ${node}`],
      validation: "Watch the lens: the supervisor's restarts in period should stay at 0.",
    });
    if (f) out.push(f);
  }
  for (const m of modules) {
    const growth = m.mailboxGrowthPerSec ?? 0;
    // Two collections: the queue rose when growth > 0 (steady by construction: two points).
    const f = mailboxFinding({
      subject: m.module,
      module: m.module,
      ...(m.largestMailboxPid ? { pid: m.largestMailboxPid } : {}),
      first: growth > 0 ? Math.max(0, m.largestMailbox - 1) : m.largestMailbox,
      last: m.largestMailbox,
      perSec: growth,
      steadiness: growth > 0 ? 1 : 0,
      who: m.module,
      evidence: [
        `largest queue: ${m.largestMailbox} messages in ${m.largestMailboxPid ?? 'one process'} (${m.processes} processes run ${m.module})`,
        ...(m.mailboxGrowthPerSec !== undefined ? [`growth between the last two collections: ${growth.toFixed(0)} messages/s`] : []),
      ],
      location: { module: m.module },
      validation: 'The lens on the module should show the largest mailbox flat or falling over a few minutes.',
    });
    if (f) out.push(f);
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
export function factsCollector(session: Attachment, options: { treePageSize?: number; extraFindings?: () => Finding[]; hot?: () => HotResult | undefined } = {}): FactsCollector {
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
      // One after the other: the tree's round trips then measure the tree, not the summary's
      // transfer sharing the connection. Facts need the supervisors, not a ranking of workers:
      // pages of large supervisors are taken in child order (no per-child read).
      const rows: ModuleSummaryRow[] = await summarizer.summarize(2000, signal);
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
