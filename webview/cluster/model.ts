// Cluster overview model (pure, unit-tested in Node): one tile per member with a health level and
// its readouts, the mesh summary, and the cluster findings in order. The render draws these.
import type { ClusterFinding, ClusterNodeRow, ClusterOverview, ClusterProcessPage } from '../../src/protocol/webview';
import { formatBytes, formatCount } from '../common/format';

export type Health = 'ok' | 'warning' | 'critical' | 'down';

export interface Readout {
  label: string;
  value: string;
  /** 0..1 of the largest value across members, for a bar (memory, processes). */
  fraction?: number;
}

export interface Tile {
  node: string;
  isEntry: boolean;
  status: ClusterNodeRow['status'];
  health: Health;
  /** Why the tile has its color, for a person (title text). */
  reason: string;
  readouts: Readout[];
  error?: string;
  findings: number;
}

/** Busy fraction of the schedulers above which a member is flagged. */
export const BUSY = 0.9;

export function tiles(o: ClusterOverview): Tile[] {
  const ok = o.nodes.filter((n) => n.status === 'ok');
  const maxMem = Math.max(1, ...ok.map((n) => n.memoryTotal ?? 0));
  const maxProcs = Math.max(1, ...ok.map((n) => n.processCount ?? 0));
  const bySeverity = (node: string, severity: ClusterFinding['severity']): number => o.findings.filter((f) => f.severity === severity && f.nodes.includes(node)).length;
  return o.nodes
    .map((n): Tile => {
      const [health, reason] = healthOf(n, bySeverity(n.node, 'critical'), bySeverity(n.node, 'warning'));
      const readouts: Readout[] =
        n.status === 'ok'
          ? [
              { label: 'memory', value: formatBytes(n.memoryTotal ?? 0), fraction: (n.memoryTotal ?? 0) / maxMem },
              { label: 'processes', value: formatCount(n.processCount ?? 0), fraction: (n.processCount ?? 0) / maxProcs },
              { label: 'run queue', value: String(n.runQueue ?? 0) },
              { label: 'schedulers', value: n.schedulerUtilization === undefined ? '-' : `${Math.round(n.schedulerUtilization * 100)}% busy` },
              { label: 'OTP', value: n.otpRelease ?? '?' },
              { label: 'sees', value: `${n.connectedNodes?.length ?? 0} of ${o.nodes.length - 1}` },
            ]
          : [];
      return { node: n.node, isEntry: n.node === o.entry, status: n.status, health, reason, readouts, ...(n.error ? { error: n.error } : {}), findings: n.findings ?? 0 };
    })
    .sort((a, b) => Number(b.isEntry) - Number(a.isEntry) || a.node.localeCompare(b.node));
}

function healthOf(n: ClusterNodeRow, critical: number, warnings: number): [Health, string] {
  if (n.status !== 'ok') return ['down', `${n.status}: ${n.error ?? 'no answer'}`];
  if (critical > 0) return ['critical', `${critical} critical cluster ${critical === 1 ? 'finding' : 'findings'}`];
  if ((n.schedulerUtilization ?? 0) >= BUSY) return ['warning', `schedulers ${Math.round((n.schedulerUtilization ?? 0) * 100)}% busy over 0.5 s`];
  if (warnings > 0) return ['warning', `${warnings} cluster ${warnings === 1 ? 'finding' : 'findings'}`];
  return ['ok', 'answers, no cluster findings'];
}

/** One line about the mesh: full, or how many connections are one-way or missing. */
export function meshSummary(o: ClusterOverview): string {
  const oneWay = o.topology.filter((e) => e.aSeesB !== null && e.bSeesA !== null && e.aSeesB !== e.bSeesA).length;
  const missing = o.topology.filter((e) => e.aSeesB === false && e.bSeesA === false).length;
  const unknown = o.topology.filter((e) => e.aSeesB === null || e.bSeesA === null).length;
  const answered = o.nodes.filter((n) => n.status === 'ok').length;
  const parts = [`${o.nodes.length} ${o.nodes.length === 1 ? 'node' : 'nodes'}, ${answered} answered`, `reached ${o.via === 'entry' ? `through ${o.entry}` : 'directly'}`];
  if (oneWay === 0 && missing === 0) parts.push(unknown > 0 ? 'full mesh among the members that answered' : 'full mesh');
  else parts.push(`${oneWay} one-way and ${missing} missing connections`);
  return parts.join(' · ');
}

// ---- the cluster-wide process list ------------------------------------------------------------

/** One row of the cluster-wide top processes: every cell is text (the render puts it in as text). */
export interface ProcessLine {
  node: string;
  pid: string;
  name: string;
  memory: string;
  mailbox: string;
  reductions: string;
  current: string;
}

export interface ProcessList {
  lines: ProcessLine[];
  /** What the list is: the sort, rows shown, and the members that did not answer. */
  caption: string;
}

export function processList(page: ClusterProcessPage): ProcessList {
  const lines = page.rows.map((r) => ({
    node: r.node,
    pid: r.pid,
    name: r.title ?? r.name ?? r.initialCall ?? r.pid,
    memory: formatBytes(r.memory),
    mailbox: formatCount(r.messageQueueLen),
    reductions: formatCount(r.reductionRate ?? r.reductions),
    current: r.currentFunction ?? '',
  }));
  const missing = page.members.filter((m) => m.status !== 'ok');
  const answered = page.members.length - missing.length;
  const caption = [
    `Top ${lines.length} of ${formatCount(page.total)} processes by ${page.sort} across ${answered} ${answered === 1 ? 'node' : 'nodes'}`,
    ...missing.map((m) => `${m.node}: ${m.status}`),
  ].join(' · ');
  return { lines, caption };
}
