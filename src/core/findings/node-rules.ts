// Node-wide rules over one sampling window: restart storms in the supervision trees, large ETS
// tables, and system limits (processes, ports, atoms, ETS tables) close to their maximum.
import { formatModule } from '../../etf';
import { FINDING_THRESHOLDS as T, findingId, location, restartStormFinding } from './thresholds';
import type { NodeSamples } from './sampler';
import { walkTree, type ApplicationTree, type TreeNode } from '../inspect/tree';
import type { Finding, SourceLocation } from './finding';

const MiB = 1024 * 1024;

interface SupervisorView {
  node: TreeNode;
  app: string;
  childPids: Map<string, string | null>;
}

function supervisors(trees: ApplicationTree[]): Map<string, SupervisorView> {
  const out = new Map<string, SupervisorView>();
  for (const t of trees) {
    if (!t.supervisor) continue;
    for (const { node } of walkTree(t.supervisor)) {
      if (node.type !== 'supervisor' || node.pid === null) continue;
      // Dynamic children (simple_one_for_one, DynamicSupervisor, RabbitMQ's per-connection
      // supervisors) all have the id `undefined`: they are compared by pid sets, not by id.
      const named = node.children.filter((c) => c.id !== undefined && c.id !== 'undefined');
      out.set(node.pid, { node, app: t.name, childPids: new Map(named.map((c) => [c.id as string, c.pid])) });
    }
  }
  return out;
}

export function restartFindings(s: NodeSamples): Finding[] {
  const out: Finding[] = [];
  const before = supervisors(s.treesStart);
  for (const [pid, view] of supervisors(s.treesEnd)) {
    const { node } = view;
    const old = before.get(pid);
    const replaced: string[] = [];
    const evidence: string[] = [];
    if (old) {
      for (const [id, childPid] of view.childPids) {
        const was = old.childPids.get(id);
        if (was !== undefined && was !== childPid) replaced.push(id);
      }
      // Dynamic children: how many left and came while the supervisor counted restarts (a crash
      // loop of dynamic children); only when both listings are complete (not one page of many).
      const dyn = (n: TreeNode): Set<string> => new Set(n.children.filter((c) => (c.id === undefined || c.id === 'undefined') && c.pid !== null).map((c) => c.pid as string));
      if (!node.truncated && !old.node.truncated && (node.restarts ?? 0) > 0) {
        const a = dyn(old.node);
        const b = dyn(node);
        const gone = [...a].filter((x) => !b.has(x)).length;
        const came = [...b].filter((x) => !a.has(x)).length;
        if (gone > 0 || came > 0) evidence.push(`dynamic children: ${gone} of ${a.size} exited and ${came} new started during the ${(s.windowMs / 1000).toFixed(1)} s window`);
      }
    }
    const f = restartStormFinding({
      ...(evidence.length > 0 ? { evidence } : {}),
      pid,
      name: node.name !== null ? formatModule(node.name) : null,
      module: node.module !== null ? formatModule(node.module) : null,
      app: view.app,
      ...(node.strategy !== undefined ? { strategy: node.strategy } : {}),
      ...(node.intensity !== undefined ? { intensity: node.intensity } : {}),
      ...(node.period !== undefined ? { period: node.period } : {}),
      restarts: node.restarts ?? 0,
      replaced,
      windowMs: s.windowMs,
      ...(node.module ? { location: location(s, node.module, 'init/1') as SourceLocation } : {}),
    });
    if (f) out.push(f);
  }
  return out;
}

export function etsFindings(s: NodeSamples): Finding[] {
  const total = s.overviewEnd.memory.total || 1;
  return s.ets
    .filter((t) => t.memoryBytes >= T.largeEts.minBytes || t.memoryBytes / total >= T.largeEts.minShare)
    .map((t) => ({
      id: findingId('large-ets', t.name),
      rule: 'large-ets' as const,
      severity: t.memoryBytes / total >= T.largeEts.warningShare ? ('warning' as const) : ('info' as const),
      title: `ETS table ${t.name} holds ${t.size.toLocaleString('en-US')} rows in ${(t.memoryBytes / MiB).toFixed(1)} MiB (${Math.round((t.memoryBytes / total) * 100)}% of the node)`,
      evidence: [`${t.type}, ${t.protection}, owned by ${t.ownerName ?? t.owner ?? '?'}`],
      subject: { name: t.name, module: null },
      recommendation: `Check that ${t.name} is bounded: add expiry or a maximum size, and that the owner cleans it up.`,
      risk: 'Eviction causes misses; a table that is the cache of record must be rebuilt after restarts.',
      validation: 'Track the table\'s size and memory over time (`beam-lens ets`); it should plateau.',
    }));
}

export function limitFindings(s: NodeSamples): Finding[] {
  const out: Finding[] = [];
  const limits = s.overviewEnd.limits;
  for (const [what, v] of Object.entries(limits)) {
    if (v.limit === null || v.limit === 0) continue;
    const used = v.count / v.limit;
    if (used < T.limitPressure.warningRatio) continue;
    out.push({
      id: findingId('limit-pressure', what),
      rule: 'limit-pressure',
      severity: used >= T.limitPressure.criticalRatio ? 'critical' : 'warning',
      title: `${what} at ${Math.round(used * 100)}% of the limit (${v.count.toLocaleString('en-US')} of ${v.limit.toLocaleString('en-US')})`,
      evidence: [`${what}: ${v.count} of ${v.limit}`],
      subject: {},
      recommendation: `Find what creates ${what} without bound before raising the limit.`,
      risk: 'Raising the limit only postpones the failure if something leaks.',
      validation: `Watch the ${what} count over time in \`beam-lens overview\`.`,
    });
  }
  return out;
}
