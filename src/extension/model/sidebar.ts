// Shapes the sidebar tree (pure, unit-tested): what each level shows, bounded so a supervisor
// with 100,000 children or a node with a million processes never floods the view.
import { formatModule } from '../../etf';
import { restartHealthOf } from '../../core/findings/thresholds';
import type { Finding } from '../../core/findings/rules';
import type { Overview } from '../../core/inspect/overview';
import type { ProcessRow, ProcessSort } from '../../core/inspect/processes';
import type { ApplicationTree, TreeNode } from '../../core/inspect/tree';
import type { ClusterOverview } from '../../core/cluster/cluster';
import type { ClusterFinding } from '../../core/cluster/rules';

export const MAX_CHILDREN_SHOWN = 50;

export type SidebarItem =
  | { kind: 'node'; node: string; env: string; error?: string; /** A cluster member reached through this entry node. */ through?: string }
  /** A node whose connection was lost: "Reattach" or dismiss. */
  | { kind: 'lostNode'; node: string; env: string; reason: string; at: number }
  | { kind: 'section'; node: string; section: 'overview' | 'cluster' | 'applications' | 'processes' | 'findings' | 'sessions' }
  /** A member of the node's cluster (`node` is the entry node; `member` the member's name). */
  | { kind: 'member'; node: string; member: string; isEntry: boolean; health: MemberHealth; description: string; tooltip: string }
  /**
   * A finding only the cluster shows (mesh, drift, outliers), under the entry's Cluster section, or
   * (`in: 'findings'`) listed with the entry's own findings, marked as a cluster finding.
   */
  | { kind: 'clusterFinding'; node: string; finding: ClusterFinding; in?: 'findings' }
  | { kind: 'stat'; node: string; label: string; value: string; warn?: boolean }
  | { kind: 'app'; node: string; app: ApplicationTree }
  | { kind: 'tree'; node: string; app: string; tree: TreeNode }
  | { kind: 'more'; node: string; label: string }
  | { kind: 'processSort'; node: string; sort: ProcessSort }
  | { kind: 'process'; node: string; row: ProcessRow; sort: ProcessSort; module?: string }
  | { kind: 'finding'; node: string; finding: Finding }
  | { kind: 'session'; node: string; file: string; label: string; description: string }
  | { kind: 'message'; node: string; label: string };

export type MemberHealth = 'ok' | 'warning' | 'down';

/**
 * The Cluster section of an entry node: one item per member with its state (status, memory,
 * processes, run queue, cluster findings), the entry first; before the first answer, the names
 * its nodes() lists.
 */
export function memberItems(entry: string, overview: ClusterOverview | null, members: readonly string[], error: string | null): SidebarItem[] {
  if (!overview) {
    if (error) return [{ kind: 'message', node: entry, label: `cluster: ${error}` }];
    return [entry, ...members].map((m) => ({ kind: 'member', node: entry, member: m, isEntry: m === entry, health: 'ok', description: 'asking…', tooltip: m }));
  }
  const rows = [...overview.nodes].sort((a, b) => Number(b.node === entry) - Number(a.node === entry) || a.node.localeCompare(b.node));
  return rows.map((r) => {
    const ok = r.status === 'ok';
    const health: MemberHealth = !ok ? 'down' : (r.findings ?? 0) > 0 ? 'warning' : 'ok';
    const parts = ok
      ? [r.node === entry ? 'entry' : 'ok', bytes(r.memoryTotal ?? 0), `${count(r.processCount ?? 0)} procs`, `run queue ${r.runQueue ?? 0}`, ...((r.findings ?? 0) > 0 ? [`${r.findings} findings`] : [])]
      : [r.status, r.error ?? ''];
    const tooltip = ok
      ? `${r.node} (${r.status}) · OTP ${r.otpRelease ?? '?'} · sees ${(r.connectedNodes ?? []).length} of ${overview.nodes.length - 1} nodes`
      : `${r.node} (${r.status}): ${r.error ?? 'no answer'}`;
    return { kind: 'member', node: entry, member: r.node, isEntry: r.node === entry, health, description: parts.filter(Boolean).join(' · '), tooltip };
  });
}

/** The cluster findings after the members (each names its nodes). */
export function clusterFindingItems(entry: string, overview: ClusterOverview | null): SidebarItem[] {
  return (overview?.findings ?? []).map((finding) => ({ kind: 'clusterFinding', node: entry, finding }));
}

/** The Cluster section's own line: how many nodes answered and how the mesh is. */
export function clusterDescription(overview: ClusterOverview | null, members: readonly string[]): string {
  if (!overview) return `${members.length + 1} nodes`;
  const answered = overview.nodes.filter((n) => n.status === 'ok').length;
  const oneWay = overview.topology.filter((e) => e.aSeesB !== null && e.bSeesA !== null && e.aSeesB !== e.bSeesA).length;
  const missing = overview.topology.filter((e) => e.aSeesB === false && e.bSeesA === false).length;
  const mesh = oneWay + missing === 0 ? 'full mesh' : `${oneWay + missing} broken links`;
  return `${overview.nodes.length} nodes · ${answered} answered · ${mesh}${overview.findings.length ? ` · ${overview.findings.length} findings` : ''}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function overviewStats(node: string, o: Overview): SidebarItem[] {
  const stat = (label: string, value: string, warn = false): SidebarItem => ({ kind: 'stat', node, label, value, ...(warn ? { warn } : {}) });
  const pressure = (c: { count: number; limit: number | null }): boolean => c.limit !== null && c.count / c.limit > 0.8;
  const util = o.schedulerUtilization;
  return [
    stat('OTP / ERTS', `${o.otpRelease} / ${o.ertsVersion}`),
    stat('Uptime', `${(o.uptimeMs / 3_600_000).toFixed(1)} h`),
    stat('Memory', `${bytes(o.memory.total)} (processes ${bytes(o.memory.processes)}, binary ${bytes(o.memory.binary)}, ets ${bytes(o.memory.ets)})`),
    stat('Processes', `${count(o.limits.processes.count)} of ${o.limits.processes.limit === null ? '?' : count(o.limits.processes.limit)}`, pressure(o.limits.processes)),
    stat('Schedulers', `${o.schedulers.online} online${util ? `, ${Math.round(util.total * 100)}% busy over ${util.windowMs / 1000} s` : ''}`, util !== null && util.total > 0.8),
    stat('Run queue', count(o.runQueue.total), o.runQueue.total > o.schedulers.online * 2),
    stat('Atoms', `${count(o.limits.atoms.count)} of ${o.limits.atoms.limit === null ? '?' : count(o.limits.atoms.limit)}`, pressure(o.limits.atoms)),
    stat('Ports / ETS tables', `${count(o.limits.ports.count)} / ${count(o.limits.etsTables.count)}`, pressure(o.limits.ports) || pressure(o.limits.etsTables)),
  ];
}

export function treeLabel(t: TreeNode): string {
  return t.name !== null ? formatModule(t.name) : t.module !== null ? formatModule(t.module) : (t.id ?? t.pid ?? '?');
}

export function treeDescription(t: TreeNode): string {
  if (t.error) return `not answering: ${t.error}`;
  if (t.status) return t.status;
  if (t.type === 'worker') return t.pid ?? '';
  const parts = [t.strategy ?? 'supervisor', `${count(t.childCount)} ${t.childCount === 1 ? 'child' : 'children'}`];
  if (t.intensity !== undefined && t.period !== undefined) parts.push(`${t.restarts ?? 0}/${t.intensity} restarts per ${t.period} s`);
  return parts.join(' · ');
}

/** A supervisor's children, bounded, with a "N more" item when the page or the view cuts them. */
export function treeChildren(node: string, app: string, t: TreeNode): SidebarItem[] {
  const shown = t.children.slice(0, MAX_CHILDREN_SHOWN);
  const items: SidebarItem[] = shown.map((c) => ({ kind: 'tree', node, app, tree: c }));
  const hidden = t.childCount - shown.length;
  if (hidden > 0) items.push({ kind: 'more', node, label: `${count(hidden)} more ${hidden === 1 ? 'child' : 'children'} (open the supervision tree to page through them)` });
  return items;
}

/** A supervisor's health mark, by the same restart rule (and thresholds) as the restart-storm finding. */
export function restartHealth(t: TreeNode): 'ok' | 'warning' | 'error' {
  if (t.error) return 'error';
  if (t.type !== 'supervisor') return 'ok';
  return restartHealthOf({ restarts: t.restarts ?? 0, ...(t.intensity !== undefined ? { intensity: t.intensity } : {}) });
}

/** The Findings section of a node: the diagnosis's findings when there is one, else the live facts' (same ids). */
export function findingItems(node: string, diagnosis: readonly Finding[] | null, facts: readonly Finding[] | null): SidebarItem[] {
  const findings = diagnosis ?? facts ?? [];
  if (findings.length === 0) return [{ kind: 'message', node, label: diagnosis ? 'No findings' : 'Run "BEAM: Generate Report" to diagnose' }];
  return findings.map((finding) => ({ kind: 'finding', node, finding }));
}

/**
 * The Findings section of an entry node with members: its own findings, then the cluster findings
 * of the last cluster overview (the one the Cluster section reads), marked as cluster findings.
 * The hint to generate a report goes when the cluster already has findings to show.
 */
export function findingsSectionItems(node: string, diagnosis: readonly Finding[] | null, facts: readonly Finding[] | null, cluster: ClusterOverview | null): SidebarItem[] {
  const own = findingItems(node, diagnosis, facts);
  const ofCluster: SidebarItem[] = (cluster?.findings ?? []).map((finding) => ({ kind: 'clusterFinding', node, finding, in: 'findings' }));
  if (ofCluster.length === 0) return own;
  return [...own.filter((i) => i.kind !== 'message'), ...ofCluster];
}

/**
 * A process's label: the one naming rule's title (src/core/inspect/identity.ts) computed where the
 * row was read, else its registered name, else the callback module the supervision tree knows for
 * it (a supervisor's child spec names it), else the module of its initial or current call.
 */
export function processLabel(r: ProcessRow, treeModule?: string): string {
  if (r.title !== undefined) return r.title;
  if (r.name) return formatModule(r.name);
  if (treeModule) return formatModule(treeModule);
  const mfa = r.initialCall ?? r.currentFunction;
  return mfa ? formatModule(mfa.split(':')[0] as string) : r.pid;
}

/** pid → callback module, for every process in the trees that has one. */
export function treeModules(trees: readonly ApplicationTree[] | null): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (t: TreeNode): void => {
    if (t.pid && t.module) out.set(t.pid, t.module);
    t.children.forEach(walk);
  };
  for (const app of trees ?? []) if (app.supervisor) walk(app.supervisor);
  return out;
}

export function processDescription(r: ProcessRow, sort: ProcessSort): string {
  switch (sort) {
    case 'memory':
      return `${bytes(r.memory)} · ${r.pid}`;
    case 'mailbox':
      return `${count(r.messageQueueLen)} messages · ${r.pid}`;
    case 'reductions':
      return `${count(r.reductions)} reductions · ${r.pid}`;
    case 'reduction-rate':
      return `${count(r.reductionRate ?? 0)} reductions/s · ${r.pid}`;
  }
}

export const SORT_LABELS: Record<ProcessSort, string> = {
  memory: 'Top by memory',
  mailbox: 'Top by mailbox',
  reductions: 'Top by reductions',
  'reduction-rate': 'Top by reduction rate',
};
