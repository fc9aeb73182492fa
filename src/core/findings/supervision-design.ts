// More of the supervision design review (next to supervision-review.ts), each backed by what the
// window showed:
//  - a permanent child that exits `normal` (seen by the read-only exit watch): restarted although
//    it finished → `restart: :transient`;
//  - a DynamicSupervisor (or simple_one_for_one) without a child limit whose children keep
//    growing → `max_children`, and what callers get at the limit;
//  - one process with a long mailbox and a high reduction rate on a node with more schedulers
//    than it can use → partition it by key (PartitionSupervisor).
// Recommendations are shown, never applied; OTP's and Elixir's own applications are left out.
import { formatModule } from '../../etf';
import { walkTree, type ApplicationTree, type TreeNode } from '../inspect/tree';
import { processWho } from '../inspect/identity';
import type { RemoteEvaluator } from '../target/remote-eval';
import { asList, asTuple } from '../target/terms';
import { Atom, Pid, type Term } from '../../etf';
import { pidText } from '../target/pids';
import { PLATFORM_APPS, type ExitWatchResult } from '../runs/exit-watch';
import type { NodeSamples, ProcessStat } from './sampler';
import { identityOf } from './system-findings';
import { displayName, findingId } from './thresholds';
import type { Finding } from './finding';

export const SUPERVISION_DESIGN_THRESHOLDS = {
  /** Children added over the window (and share of the count at its start) for "keeps growing". */
  growth: { minAdded: 20, minShare: 0.1 },
  /** A single process: queue at the end, reductions per second, share of the node's reductions. */
  partition: { minQueue: 500, minReductionsPerSec: 50_000, minShareOfNode: 0.2, minSchedulers: 2 },
} as const;

function label(n: TreeNode): string {
  return n.name ? displayName(n.name) : n.module ? displayName(n.module) : n.pid ?? '?';
}

/** Supervisors of the user's applications by pid, with their application and parent. */
function userSupervisors(trees: ApplicationTree[]): Map<string, { sup: TreeNode; app: string; parent: TreeNode | undefined }> {
  const out = new Map<string, { sup: TreeNode; app: string; parent: TreeNode | undefined }>();
  for (const t of trees) {
    if (!t.supervisor || PLATFORM_APPS.has(t.name)) continue;
    for (const { node, path } of walkTree(t.supervisor)) if (node.type === 'supervisor' && node.pid) out.set(node.pid, { sup: node, app: t.name, parent: path[path.length - 1] });
  }
  return out;
}

/** A permanent child that exited `normal` during the window: restarted although it finished. */
export function restartTypeFindings(watch: ExitWatchResult, trees: ApplicationTree[]): Finding[] {
  const sups = userSupervisors(trees);
  const byChild = new Map<string, { exits: ExitWatchResult['exits']; sup: TreeNode | undefined }>();
  for (const e of watch.exits) {
    if (e.reason !== 'normal') continue;
    const key = `${e.supervisor} ${e.childId}`;
    const seen = byChild.get(key) ?? { exits: [], sup: sups.get(e.supervisor)?.sup };
    seen.exits.push(e);
    byChild.set(key, seen);
  }
  const out: Finding[] = [];
  for (const { exits, sup } of byChild.values()) {
    const e = exits[0];
    if (!e) continue;
    const supName = sup ? label(sup) : e.supervisor;
    const mod = e.module;
    const elixir = mod?.startsWith('Elixir.') === true;
    const child = mod ? formatModule(mod) : e.childId;
    const restarted = sup?.children.find((c) => c.id === e.childId);
    // An Elixir module as child id ('Elixir.Mod') reads as the module.
    const shownId = /^'Elixir\.[\w.]+'$/.test(e.childId) ? formatModule(e.childId.slice(1, -1)) : e.childId;
    out.push({
      id: findingId('supervision-restart-type', `${supName}:${shownId}`),
      rule: 'supervision-restart-type',
      severity: 'warning',
      title: `${supName} restarts its permanent child ${child} although it exits :normal (it finished its work)`,
      evidence: [
        `${child} (child id ${shownId}, ${e.pid}) exited with reason normal during the ${(watch.windowMs / 1000).toFixed(1)} s window (seen by a monitor from BEAM Lens; nothing set on the node)`,
        `its child spec says restart: permanent, so ${supName} started it again${restarted?.pid && restarted.pid !== e.pid ? ` (now ${restarted.pid})` : ''}${sup?.restarts !== undefined ? `; ${sup.restarts} restarts in its current ${sup.period ?? '?'} s period count against max_restarts ${sup.intensity ?? '?'}` : ''}`,
      ],
      subject: { pid: e.supervisor, name: sup?.name ?? null, module: sup?.module ?? null },
      ...(mod ? { location: { module: mod, function: elixir ? 'child_spec' : 'start_link', arity: 1 } } : {}),
      recommendation:
        `A permanent child is restarted whatever its exit reason, so a worker that ends when its job is done runs again at once, and every normal end counts against ${supName}'s restart intensity (enough of them and it gives up). ` +
        (elixir
          ? `Make it transient: \`use GenServer, restart: :transient\` in ${child} (or \`Supervisor.child_spec({${child}, arg}, restart: :transient)\` in the children list)`
          : `Make it transient in the child spec: \`#{id => ${e.childId}, start => {${mod ?? 'Mod'}, start_link, []}, restart => transient}\``) +
        ' — it is then restarted only when it crashes. If it is meant to repeat, keep it running and schedule the next run inside it (`Process.send_after/3` / `erlang:send_after/3`) instead of exiting.',
      risk: 'A transient child that finishes stays down: code that looks it up by name afterwards gets noproc. Work meant to run forever that exits normal by mistake is no longer restarted.',
      validation: `Over a window, \`beam-lens tree\` shows ${child} gone (or idle) after it finishes, and ${supName}'s restart count stays at 0; a test that makes it crash still sees it restarted.`,
    });
  }
  return out;
}

/** What the review needs to know of a growing supervisor: its child limit (DynamicSupervisor's max_children). */
export type ChildLimits = Record<string, number | 'infinity' | 'none'>;

/** Supervisors of the user's applications whose child count grew over the window (candidates for the limit check). */
export function growingSupervisors(start: ApplicationTree[], end: ApplicationTree[]): Array<{ sup: TreeNode; from: number; to: number }> {
  const before = userSupervisors(start);
  const G = SUPERVISION_DESIGN_THRESHOLDS.growth;
  const out: Array<{ sup: TreeNode; from: number; to: number }> = [];
  for (const [pid, { sup }] of userSupervisors(end)) {
    const from = before.get(pid)?.sup.childCount;
    if (from === undefined) continue;
    const added = sup.childCount - from;
    if (added >= G.minAdded && added >= G.minShare * Math.max(from, 1)) out.push({ sup, from, to: sup.childCount });
  }
  return out;
}

const LIMITS = `[{P, try sys:get_state(P, 2000) of
        #{max_children := M} when is_integer(M) -> M;
        #{max_children := infinity} -> infinity;
        _ -> none
      catch _:_ -> none end} || P <- [erlang:list_to_pid(S) || S <- Texts]].`;

/** Reads max_children of the given supervisors (DynamicSupervisor keeps it in its state); `none` for others. */
export async function childLimits(evaluator: RemoteEvaluator, node: string, pids: string[]): Promise<ChildLimits> {
  if (pids.length === 0) return {};
  const reply = await evaluator.eval(LIMITS, { Texts: pids.slice(0, 20).map((p) => [...p].map((c) => c.charCodeAt(0))) }, 15_000);
  const out: ChildLimits = {};
  for (const row of asList(reply)) {
    const [p, m] = asTuple(row, 2).elements as [Term, Term];
    if (p instanceof Pid) out[pidText(p, node)] = typeof m === 'number' ? m : m instanceof Atom && m.name === 'infinity' ? 'infinity' : 'none';
  }
  return out;
}

/** A DynamicSupervisor without max_children (or a simple_one_for_one supervisor) whose children keep growing. */
export function dynamicGrowthFindings(s: NodeSamples, limits: ChildLimits): Finding[] {
  const out: Finding[] = [];
  const secs = Math.max(s.windowMs / 1000, 0.001);
  const proc = s.overviewEnd.limits.processes;
  for (const { sup, from, to } of growingSupervisors(s.treesStart, s.treesEnd)) {
    const limit = sup.pid ? limits[sup.pid] : undefined;
    const simple = sup.strategy === 'simple_one_for_one';
    if (!(limit === 'infinity' || (simple && limit === 'none'))) continue;
    const rate = (to - from) / secs;
    const name = label(sup);
    const left = proc.limit !== null ? proc.limit - proc.count : null;
    const hours = left !== null && rate > 0 ? left / rate / 3600 : null;
    const elixir = sup.module?.startsWith('Elixir.') === true;
    out.push({
      id: findingId('supervision-dynamic-growth', name),
      rule: 'supervision-dynamic-growth',
      severity: hours !== null && hours < 24 ? 'warning' : 'info',
      title: `${name} has no limit on its children and gained ${to - from} in ${secs.toFixed(1)} s (${from} → ${to})`,
      evidence: [
        `children ${from} at the start of the window, ${to} at the end: +${rate.toFixed(1)}/s`,
        simple ? 'strategy simple_one_for_one: no max_children exists for it' : 'max_children: :infinity (read from its state)',
        ...(left !== null ? [`node processes ${proc.count} of ${proc.limit}${hours !== null ? `: at this rate the process limit is reached in ${hours < 1 ? `${Math.round(hours * 60)} min` : `${hours.toFixed(1)} h`}, and then every spawn on the node fails` : ''}`] : []),
      ],
      subject: { pid: sup.pid ?? undefined, name: sup.name, module: sup.module },
      ...(sup.module ? { location: { module: sup.module, function: 'init', arity: 1 } } : {}),
      recommendation:
        `Nothing stops ${name} from starting children until the node runs out of processes or memory. ` +
        (simple && !elixir
          ? 'Bound it: check the count (`supervisor:count_children/1`) before `start_child`, or move to an Elixir DynamicSupervisor with `max_children`. '
          : `Set a limit sized for the expected peak: \`DynamicSupervisor.init(strategy: :one_for_one, max_children: 10_000)\`. At the limit \`DynamicSupervisor.start_child/2\` returns \`{:error, :max_children}\`: handle it where children are started (refuse the request, answer "busy", retry later) instead of matching \`{:ok, pid}\`. `) +
        'If the children are meant to end, find why they do not (an idle timeout that never fires, a missing stop on disconnect): growth without end under steady load is a leak.',
      risk: 'With a limit, work beyond it is refused: callers that assume {:ok, pid} crash, and a limit set too low turns a traffic peak into errors.',
      validation: `Under the same load the child count levels off (\`beam-lens trends\` shows the process count flat); a test that starts max_children + 1 children gets {:error, :max_children}.`,
    });
  }
  return out;
}

/** One process with a long mailbox and a high reduction rate, on a node whose other schedulers it cannot use. */
export function partitionFindings(s: NodeSamples, existing: Finding[]): Finding[] {
  const P = SUPERVISION_DESIGN_THRESHOLDS.partition;
  const schedulers = s.overviewEnd.schedulers.online;
  if (schedulers < P.minSchedulers) return [];
  // Where each process sits in the user's trees (and its supervisor): OTP's own processes are left out.
  const placed = new Map<string, TreeNode>();
  for (const t of s.treesEnd) {
    if (!t.supervisor || PLATFORM_APPS.has(t.name)) continue;
    for (const { node, path } of walkTree(t.supervisor)) if (node.type === 'worker' && node.pid) placed.set(node.pid, path[path.length - 1] as TreeNode);
  }
  const out: Finding[] = [];
  const total = Math.max(s.totalReductionsPerSec, 1);
  for (const p of s.processes) {
    const parent = placed.get(p.pid);
    if (!parent || parent.module === 'Elixir.PartitionSupervisor') continue;
    if (existing.some((f) => f.rule === 'bottleneck' && f.subject.pid === p.pid)) continue;
    const share = p.reductionsPerSec / total;
    if (p.queueEnd < P.minQueue || p.reductionsPerSec < P.minReductionsPerSec || share < P.minShareOfNode) continue;
    out.push(partitionFinding(s, p, parent, share, schedulers));
  }
  return out;
}

function partitionFinding(s: NodeSamples, p: ProcessStat, parent: TreeNode, share: number, schedulers: number): Finding {
  const id = identityOf(p);
  const who = processWho(id);
  const mod = id.module;
  const elixir = mod?.startsWith('Elixir.') === true;
  const m = mod ? formatModule(mod) : 'MyWorker';
  return {
    id: findingId('supervision-partition', id.name ? formatModule(id.name) : mod ? formatModule(mod) : p.pid),
    rule: 'supervision-partition',
    severity: p.queueEnd > p.queueStart ? 'warning' : 'info',
    title: `${who} is one process doing a node's worth of work: partition it by key`,
    evidence: [
      `mailbox ${p.queueStart} → ${p.queueEnd} messages over ${(s.windowMs / 1000).toFixed(1)} s`,
      `${Math.round(p.reductionsPerSec).toLocaleString('en-US')} reductions/s, ${Math.round(share * 100)}% of the node's; one process runs on one scheduler at a time and the node has ${schedulers} online`,
      `supervised by ${label(parent)} (${parent.strategy ?? '?'})`,
    ],
    subject: { pid: p.pid, name: p.row.name, module: mod },
    ...(mod ? { location: { module: mod, function: 'handle_cast', arity: 2 } } : {}),
    recommendation:
      `Its messages queue behind one busy process while ${schedulers - 1} other ${schedulers - 1 === 1 ? 'scheduler' : 'schedulers'} could serve them. If they carry a key (a user, an order, a shard id), run one ${m} per partition and route by the key: ` +
      (elixir
        ? `\`{PartitionSupervisor, child_spec: ${m}.child_spec([]), name: ${m}.Partitions}\` in ${label(parent)}'s children (partitions default to System.schedulers_online()), and send with \`GenServer.cast({:via, PartitionSupervisor, {${m}.Partitions, key}}, msg)\`.`
        : `start N instances (one per scheduler) under ${label(parent)} and pick one with \`erlang:phash2(Key, N)\`, or use Elixir's PartitionSupervisor from Erlang through \`{via, 'Elixir.PartitionSupervisor', {Name, Key}}\`.`),
    risk: 'Order is kept per key only, not across keys; state is split by key, so an operation over all keys becomes a fan-out to every partition.',
    validation: 'Under the same load each partition keeps a short mailbox and the reductions spread over the partitions (`beam-lens processes --sort reductions`); throughput rises with the schedulers.',
  };
}
