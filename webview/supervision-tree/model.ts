// Pure shaping of the supervision tree for drawing (no DOM; unit-tested in Node): stable ids that
// survive restarts (children get new pids), aggregation of many same-module children, health.
import type { ApplicationTree, TreeNode } from '../../src/core/tree';
import type { ProcessHealth } from '../../src/protocol/webview';

export type Health = 'ok' | 'warning' | 'error';

export interface VNode {
  /** Stable across refreshes: application + path of child ids/names. */
  id: string;
  label: string;
  detail: string;
  kind: 'root' | 'app' | 'supervisor' | 'worker' | 'group' | 'more';
  pid: string | null;
  health: Health;
  children: VNode[];
  /** For 'more': which supervisor to page and from where. */
  page?: { supervisorPid: string; offset: number };
  searchText: string;
}

export const GROUP_THRESHOLD = 20;

export function displayName(atom: string): string {
  return atom.startsWith('Elixir.') ? atom.slice(7) : atom;
}

export function nodeLabel(t: TreeNode): string {
  if (t.name) return displayName(t.name);
  if (t.module) return displayName(t.module);
  return t.id ?? t.pid ?? '?';
}

export function restartHealth(t: TreeNode): Health {
  if (t.error) return 'error';
  if (t.intensity === undefined || t.intensity <= 0) return 'ok';
  const ratio = (t.restarts ?? 0) / t.intensity;
  return ratio >= 1 ? 'error' : ratio >= 0.6 ? 'warning' : 'ok';
}

export function mailboxHealth(h: ProcessHealth | undefined): Health {
  if (!h) return 'ok';
  if ((h.messageQueueLen ?? 0) >= 10_000) return 'error';
  if ((h.messageQueueLen ?? 0) >= 1000 || (h.mailboxGrowth ?? 0) > 10) return 'warning';
  return 'ok';
}

function worst(a: Health, b: Health): Health {
  return a === 'error' || b === 'error' ? 'error' : a === 'warning' || b === 'warning' ? 'warning' : 'ok';
}

export function supervisorDetail(t: TreeNode): string {
  if (t.error) return `not answering: ${t.error}`;
  const parts = [t.strategy ?? 'supervisor', `${t.childCount} ${t.childCount === 1 ? 'child' : 'children'}`];
  if (t.intensity !== undefined && t.period !== undefined) parts.push(`${t.restarts ?? 0} restarts/${t.period} s of ${t.intensity} allowed`);
  return parts.join(' · ');
}

function shape(t: TreeNode, parentId: string, health: Record<string, ProcessHealth>, index: number): VNode {
  const key = t.id ?? t.name ?? t.module ?? String(index);
  const id = `${parentId}/${key}`;
  const h = t.pid ? health[t.pid] : undefined;
  const label = nodeLabel(t);
  if (t.type === 'worker') {
    const q = h?.messageQueueLen;
    return {
      id,
      label,
      detail: t.status ?? (q !== undefined && q > 0 ? `${q.toLocaleString('en-US')} queued${h?.mailboxGrowth ? ` (${h.mailboxGrowth > 0 ? '+' : ''}${Math.round(h.mailboxGrowth)}/s)` : ''}` : (t.pid ?? '')),
      kind: 'worker',
      pid: t.pid,
      health: t.status === 'restarting' ? 'warning' : mailboxHealth(h),
      children: [],
      searchText: `${label} ${t.pid ?? ''} ${t.module ?? ''}`.toLowerCase(),
    };
  }
  const children = groupChildren(t, id, health);
  return {
    id,
    label,
    detail: supervisorDetail(t),
    kind: 'supervisor',
    pid: t.pid,
    health: worst(restartHealth(t), mailboxHealth(h)),
    children,
    searchText: `${label} ${t.pid ?? ''} ${t.module ?? ''}`.toLowerCase(),
  };
}

/** Children of a supervisor: many workers of one module become a group; a truncated list ends with "more". */
function groupChildren(t: TreeNode, id: string, health: Record<string, ProcessHealth>): VNode[] {
  const byModule = new Map<string, TreeNode[]>();
  for (const c of t.children) {
    if (c.type !== 'worker') continue;
    const m = c.module ?? '?';
    byModule.set(m, [...(byModule.get(m) ?? []), c]);
  }
  const out: VNode[] = [];
  const grouped = new Set<string>();
  t.children.forEach((c, i) => {
    const m = c.module ?? '?';
    const same = byModule.get(m);
    if (c.type === 'worker' && same && same.length > GROUP_THRESHOLD) {
      if (grouped.has(m)) return;
      grouped.add(m);
      const members = same.map((x, j) => shape(x, `${id}/${m}*`, health, j));
      const h = members.reduce<Health>((acc, x) => worst(acc, x.health), 'ok');
      out.push({ id: `${id}/${m}*`, label: `${displayName(m)} × ${same.length}`, detail: `${same.length} of ${t.childCount} children`, kind: 'group', pid: null, health: h, children: members, searchText: displayName(m).toLowerCase() });
      return;
    }
    out.push(shape(c, id, health, i));
  });
  if (t.childCount > t.children.length && t.pid) {
    out.push({ id: `${id}/more`, label: `${(t.childCount - t.children.length).toLocaleString('en-US')} more children`, detail: 'next page', kind: 'more', pid: null, health: 'ok', children: [], page: { supervisorPid: t.pid, offset: t.children.length }, searchText: '' });
  }
  return out;
}

export function shapeTree(node: string, apps: ApplicationTree[], health: Record<string, ProcessHealth>): VNode {
  return {
    id: node,
    label: node,
    detail: `${apps.length} applications`,
    kind: 'root',
    pid: null,
    health: 'ok',
    searchText: node.toLowerCase(),
    children: apps
      .filter((a) => a.supervisor !== null)
      .map((a) => ({ id: `${node}/${a.name}`, label: a.name, detail: a.version, kind: 'app' as const, pid: null, health: 'ok' as Health, searchText: a.name.toLowerCase(), children: [shape(a.supervisor as TreeNode, `${node}/${a.name}`, health, 0)] })),
  };
}

/** Ids from the root to the first node matching, or null. */
export function findPath(root: VNode, match: (n: VNode) => boolean): string[] | null {
  if (match(root)) return [root.id];
  for (const c of root.children) {
    const p = findPath(c, match);
    if (p) return [root.id, ...p];
  }
  return null;
}

export function matchFocus(focus: { pid?: string; name?: string; module?: string }): (n: VNode) => boolean {
  return (n) =>
    (focus.pid !== undefined && n.pid === focus.pid) ||
    (focus.name !== undefined && n.label === displayName(focus.name)) ||
    (focus.module !== undefined && n.searchText.includes(displayName(focus.module).toLowerCase()) && n.kind !== 'root');
}

/** The visible tree: children of collapsed nodes removed. */
export function visible(root: VNode, collapsed: ReadonlySet<string>): VNode {
  return { ...root, children: collapsed.has(root.id) ? [] : root.children.map((c) => visible(c, collapsed)) };
}

const PLATFORM = new Set(['kernel', 'stdlib', 'logger', 'elixir', 'sasl', 'runtime_tools', 'compiler', 'crypto', 'ssl', 'inets', 'public_key', 'asn1', 'mix', 'iex', 'hex', 'os_mon', 'mnesia', 'telemetry']);

/** Collapsed at first: platform applications and groups of many same-module children. */
export function defaultCollapsed(root: VNode): Set<string> {
  const out = new Set<string>();
  const walk = (n: VNode): void => {
    if ((n.kind === 'app' && PLATFORM.has(n.label)) || n.kind === 'group') out.add(n.id);
    n.children.forEach(walk);
  };
  walk(root);
  return out;
}
