// Runtime facts for the editor: per-module process summaries (aggregated on the target in one
// call: only one row per module crosses the wire), the supervisors of the application trees, and
// findings that need no tracing (supervisors near their restart limit, growing mailboxes). The
// language server turns these into lenses and diagnostics; it never calls the node per request.
import { Atom, Pid, Term, formatModule } from '../../etf';
import { mailboxFinding, restartStormFinding } from '../findings/thresholds';
import type { Finding } from '../findings/rules';
import type { HotFunction, HotResult } from '../runs/hot';
import { pidText } from '../target/pids';
import type { Attachment } from '../attach/attachment';
import { asList, asNumber, asTuple } from '../target/terms';
import { walkTree, type ApplicationTree } from '../inspect/tree';

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

// A process belongs to the module of proc_lib's $initial_call (GenServer, Supervisor, Agent
// callbacks), else to its initial call's module. Aggregated with a map on the target: by the
// probe's compiled module_summary/1 when it is loaded, else by erl_eval (same result, slower).
const MODULE_SUMMARY = `
Add = fun(P, Acc) ->
  case erlang:process_info(P, [initial_call, dictionary, message_queue_len, memory]) of
    [{initial_call, IC}, {dictionary, D}, {message_queue_len, Q}, {memory, Mem}] ->
      Mod = case lists:keyfind('$initial_call', 1, D) of
              {_, {supervisor, MS, _}} when is_atom(MS) -> MS;
              {_, {M0, _, _}} when is_atom(M0) -> M0;
              _ -> case IC of {M1, _, _} -> M1; _ -> undefined end
            end,
      case Acc of
        #{Mod := {N, MemS, QS, MaxQ, MaxP}} ->
          {MaxQ2, MaxP2} = if Q > MaxQ -> {Q, P}; true -> {MaxQ, MaxP} end,
          Acc#{Mod := {N + 1, MemS + Mem, QS + Q, MaxQ2, MaxP2}};
        _ -> Acc#{Mod => {1, Mem, Q, Q, P}}
      end;
    _ -> Acc
  end
end,
Rows = case UseProbe of
  true -> beam_lens_probe:module_summary(Limit);
  false ->
    Summary = lists:foldl(Add, #{}, erlang:processes()),
    lists:sublist(lists:reverse(lists:keysort(2, [{M, N, MemS, QS, MaxQ, MaxP} || {M, {N, MemS, QS, MaxQ, MaxP}} <- maps:to_list(Summary)])), Limit)
end,
Src = fun(M) ->
  try M:module_info(compile) of C -> case lists:keyfind(source, 1, C) of {source, S} -> S; _ -> undefined end
  catch _:_ -> undefined end
end,
[{M, N, MemS, QS, MaxQ, MaxP, case code:is_loaded(M) of false -> undefined; _ -> Src(M) end} || {M, N, MemS, QS, MaxQ, MaxP} <- Rows].`;

export interface ModuleSummaryRow extends ModuleRuntime {
  /** Full pid text of the largest queue (for growth tracking across collections). */
  largestMailboxPid: string;
}

export async function moduleSummaries(session: Attachment, limit = 2000): Promise<ModuleSummaryRow[]> {
  const result = await session.evaluator.eval(MODULE_SUMMARY, { Limit: limit, UseProbe: Atom.of(session.hasProbe ? 'true' : 'false') }, 60_000);
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
  collect(): Promise<RuntimeFacts>;
}

/** Collects facts from a session, remembering the previous collection for mailbox growth. */
export function factsCollector(session: Attachment, options: { treePageSize?: number; extraFindings?: () => Finding[]; hot?: () => HotResult | undefined } = {}): FactsCollector {
  let previous: { at: number; rows: ModuleSummaryRow[] } | null = null;
  return {
    async collect() {
      const [rows, trees] = await Promise.all([moduleSummaries(session), session.tree({ pageSize: options.treePageSize ?? 20 })]);
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
