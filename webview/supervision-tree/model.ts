// Pure shaping of the supervision tree for drawing (no DOM, no d3; unit-tested in Node):
// - stable ids that survive restarts (application + path of child ids/names; never pids, since a
//   restarted child gets a new pid), made unique among siblings (every DynamicSupervisor child
//   has the id `undefined`);
// - many listed children of one module aggregated into a group node "Module × count";
// - a "N more children" node for supervisors that list only a page of their children;
// - health from restarts against intensity, mailboxes and supervisors that did not answer;
// - collapse state (user choices over defaults), focus/search lookup and keyboard navigation.
import type { ApplicationTree, TreeNode } from '../../src/protocol/webview';
import { FINDING_THRESHOLDS, type ProcessHealth, type TreeFocus } from '../../src/protocol/webview';
import { findPath } from './tree-paths';

export type Health = 'ok' | 'warning' | 'error';
export type Kind = 'root' | 'app' | 'supervisor' | 'worker' | 'group' | 'more';

export interface VNode {
  /** Stable across refreshes: node + application + path of child ids/names. */
  id: string;
  label: string;
  detail: string;
  kind: Kind;
  pid: string | null;
  /** Registered name as the node has it (Elixir. prefix included), else null. */
  name: string | null;
  /** Callback module for display (Elixir. prefix removed), else null. */
  module: string | null;
  health: Health;
  /** Why the node is colored, for tooltips and screen readers (empty when ok). */
  reasons: string[];
  /** Worst health among the descendants (so a collapsed node can show trouble inside). */
  inner: Health;
  children: VNode[];
  /** Position among its supervisor's listed children (processes only). */
  index?: number;
  /** For 'more': which supervisor to page and from where. */
  page?: { supervisorPid: string; offset: number };
  /** Lower-case text searched by the toolbar: label, name, module, pid. */
  searchText: string;
}

/** A supervisor listing more than this many children of one module shows them as one group. */
export const GROUP_THRESHOLD = 20;
// The findings' thresholds (src/core/findings/table.ts): the tree colors what the findings rate.
/** Share of max_restarts: a warning (the restart-storm finding's warning), an error (its critical). */
export const RESTART_WARNING = FINDING_THRESHOLDS.restartStorm.warningRatio;
export const RESTART_ERROR = FINDING_THRESHOLDS.restartStorm.criticalRatio;
/** Queue lengths: a warning where a growing mailbox becomes a finding, an error at a standing backlog. */
export const MAILBOX_WARNING = FINDING_THRESHOLDS.mailboxGrowth.minQueue;
export const MAILBOX_ERROR = FINDING_THRESHOLDS.mailboxBacklog.minQueue;
/** Messages per second. */
export const GROWTH_WARNING = FINDING_THRESHOLDS.mailboxGrowth.minPerSec;

export function displayName(atom: string): string {
  return atom.startsWith('Elixir.') ? atom.slice(7) : atom;
}

/** Registered name, else module, else pid. */
export function nodeLabel(t: TreeNode): string {
  if (t.name) return displayName(t.name);
  if (t.module) return displayName(t.module);
  return t.pid ?? t.id ?? '?';
}

const RANK: Record<Health, number> = { ok: 0, warning: 1, error: 2 };
export function worst(a: Health, b: Health): Health {
  return RANK[a] >= RANK[b] ? a : b;
}

export function restartHealth(t: TreeNode): Health {
  if (t.error) return 'error';
  if (t.intensity === undefined || t.intensity <= 0) return 'ok';
  // As the restart-storm rule: critical at RESTART_ERROR of the limit (or at it), a warning from RESTART_WARNING.
  const restarts = t.restarts ?? 0;
  const ratio = restarts / t.intensity;
  return ratio >= RESTART_ERROR || restarts >= t.intensity ? 'error' : ratio >= RESTART_WARNING ? 'warning' : 'ok';
}

export function mailboxHealth(h: ProcessHealth | undefined): Health {
  if (!h) return 'ok';
  const q = h.messageQueueLen ?? 0;
  if (q >= MAILBOX_ERROR) return 'error';
  if (q >= MAILBOX_WARNING || (h.mailboxGrowth ?? 0) > GROWTH_WARNING) return 'warning';
  return 'ok';
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function healthReasons(t: TreeNode, h: ProcessHealth | undefined): string[] {
  const out: string[] = [];
  if (t.error) out.push(`supervisor ${t.error}`);
  if (t.intensity !== undefined && t.intensity > 0 && restartHealth(t) !== 'ok') out.push(`${t.restarts ?? 0} of ${t.intensity} allowed restarts in ${t.period ?? '?'} s`);
  if (t.status === 'restarting') out.push('restarting');
  const q = h?.messageQueueLen ?? 0;
  if (q >= MAILBOX_WARNING) out.push(`${count(q)} messages queued`);
  if ((h?.mailboxGrowth ?? 0) > GROWTH_WARNING) out.push(`mailbox growing ${Math.round(h?.mailboxGrowth ?? 0)}/s`);
  return out;
}

export function supervisorDetail(t: TreeNode): string {
  if (t.error) return `not answering: ${t.error}`;
  const parts = [t.strategy ?? 'supervisor', `${count(t.childCount)} ${t.childCount === 1 ? 'child' : 'children'}`];
  if (t.intensity !== undefined && t.period !== undefined) parts.push(`${t.restarts ?? 0} restarts/${t.period} s of ${t.intensity} allowed`);
  return parts.join(' · ');
}

function workerDetail(t: TreeNode, h: ProcessHealth | undefined): string {
  if (t.status === 'restarting') return 'restarting';
  if (t.status === 'undefined') return 'not running';
  const q = h?.messageQueueLen;
  if (q !== undefined && q > 0) {
    const g = h?.mailboxGrowth;
    return `${t.pid ?? ''} · ${count(q)} queued${g !== undefined && Math.round(g) !== 0 ? ` (${g > 0 ? '+' : ''}${Math.round(g)}/s)` : ''}`;
  }
  return t.pid ?? '';
}

/** Ids are paths; keys are escaped so a child id containing "/" cannot collide with a deeper path. */
function escapeKey(key: string): string {
  return key.replace(/[\\/#×…]/g, (c) => `\\${c}`);
}

/** The part of a child's stable id that identifies it among its siblings (before deduplication). */
export function childKey(t: TreeNode): string {
  // DynamicSupervisor children all have the id `undefined`: their name or module says more.
  if (t.id !== undefined && t.id !== 'undefined') return escapeKey(t.id);
  if (t.name) return `name:${escapeKey(t.name)}`;
  if (t.module) return `module:${escapeKey(t.module)}`;
  return '?';
}

/** Sibling keys made unique: the second child with the same key gets "#2", and so on. */
export function siblingKeys(children: TreeNode[]): string[] {
  const seen = new Map<string, number>();
  return children.map((c) => {
    const k = childKey(c);
    const n = (seen.get(k) ?? 0) + 1;
    seen.set(k, n);
    return n === 1 ? k : `${k}#${n}`;
  });
}

function subtreeHealth(children: VNode[]): Health {
  return children.reduce<Health>((acc, c) => worst(acc, worst(c.health, c.inner)), 'ok');
}

function shape(t: TreeNode, id: string, health: Record<string, ProcessHealth>, index: number | undefined): VNode {
  const h = t.pid ? health[t.pid] : undefined;
  const label = nodeLabel(t);
  const module = t.module ? displayName(t.module) : null;
  const searchText = [label, t.name ?? '', module ?? '', t.pid ?? ''].join(' ').toLowerCase();
  const base = { id, label, pid: t.pid, name: t.name, module, reasons: healthReasons(t, h), searchText, ...(index !== undefined ? { index } : {}) };
  if (t.type === 'worker') {
    return { ...base, kind: 'worker', detail: workerDetail(t, h), health: t.status === 'restarting' ? worst('warning', mailboxHealth(h)) : mailboxHealth(h), inner: 'ok', children: [] };
  }
  const children = supervisorChildren(t, id, health);
  return { ...base, kind: 'supervisor', detail: supervisorDetail(t), health: worst(restartHealth(t), mailboxHealth(h)), inner: subtreeHealth(children), children };
}

/** Children of a supervisor: many of one module become a group; a partial list ends with "more". */
function supervisorChildren(t: TreeNode, id: string, health: Record<string, ProcessHealth>): VNode[] {
  const keys = siblingKeys(t.children);
  const byModule = new Map<string, number>();
  for (const c of t.children) if (c.module) byModule.set(c.module, (byModule.get(c.module) ?? 0) + 1);
  const out: VNode[] = [];
  const groups = new Map<string, VNode>();
  t.children.forEach((c, i) => {
    // Member ids are the same as when not grouped: selection survives a group forming or dissolving.
    const v = shape(c, `${id}/${keys[i] ?? '?'}`, health, i);
    const m = c.module;
    if (m && (byModule.get(m) ?? 0) > GROUP_THRESHOLD) {
      let g = groups.get(m);
      if (!g) {
        const n = byModule.get(m) ?? 0;
        const shown = displayName(m);
        g = {
          id: `${id}/×${escapeKey(m)}`,
          label: `${shown} × ${count(n)}`,
          detail: t.childCount > t.children.length ? `${count(n)} of ${count(t.childCount)} children listed` : `${count(n)} children`,
          kind: 'group',
          pid: null,
          name: null,
          module: shown,
          health: 'ok',
          reasons: [],
          inner: 'ok',
          children: [],
          searchText: shown.toLowerCase(),
        };
        groups.set(m, g);
        out.push(g);
      }
      g.children.push(v);
      return;
    }
    out.push(v);
  });
  for (const g of groups.values()) {
    g.inner = subtreeHealth(g.children);
    const troubled = g.children.filter((c) => c.health !== 'ok').length;
    if (troubled > 0) g.reasons = [`${troubled} of ${g.children.length} need attention`];
  }
  const listed = t.children.length;
  if (t.childCount > listed && t.pid) {
    out.push({
      id: `${id}/…more`,
      label: `${count(t.childCount - listed)} more ${t.childCount - listed === 1 ? 'child' : 'children'}`,
      detail: 'next page ▸',
      kind: 'more',
      pid: null,
      name: null,
      module: null,
      health: 'ok',
      reasons: [],
      inner: 'ok',
      children: [],
      page: { supervisorPid: t.pid, offset: listed },
      searchText: '',
    });
  }
  return out;
}

/** A synthetic root for the node, one child per application with a supervisor, then its top supervisor. */
export function shapeTree(node: string, apps: ApplicationTree[], health: Record<string, ProcessHealth>): VNode {
  const children = apps
    .filter((a): a is ApplicationTree & { supervisor: TreeNode } => a.supervisor !== null)
    .map((a): VNode => {
      const appId = `${escapeKey(node)}/${escapeKey(a.name)}`;
      const top = shape(a.supervisor, `${appId}/${childKey(a.supervisor)}`, health, undefined);
      return {
        id: appId,
        label: a.name,
        detail: a.version,
        kind: 'app',
        pid: null,
        name: null,
        module: null,
        health: 'ok',
        reasons: [],
        inner: worst(top.health, top.inner),
        children: [top],
        searchText: a.name.toLowerCase(),
      };
    });
  const without = apps.length - children.length;
  return {
    id: escapeKey(node),
    label: node,
    detail: `${apps.length} applications${without > 0 ? ` (${without} without a supervisor)` : ''}`,
    kind: 'root',
    pid: null,
    name: null,
    module: null,
    health: 'ok',
    reasons: [],
    inner: subtreeHealth(children),
    children,
    searchText: node.toLowerCase(),
  };
}

// ---- lookup --------------------------------------------------------------------------------

/** Paths of every node matching, in pre-order. */
export function findAll(root: VNode, match: (n: VNode) => boolean, path: string[] = [], out: string[][] = []): string[][] {
  const here = [...path, root.id];
  if (match(root)) out.push(here);
  for (const c of root.children) findAll(c, match, here, out);
  return out;
}

/** The node with this id, or undefined. */
export function nodeById(root: VNode, id: string): VNode | undefined {
  if (root.id === id) return root;
  for (const c of root.children) {
    const f = nodeById(c, id);
    if (f) return f;
  }
  return undefined;
}

/** Any of pid, name or module (the predicate used before focusPath tried them in order). */
export function matchFocus(focus: TreeFocus): (n: VNode) => boolean {
  return (n) =>
    (focus.pid !== undefined && n.pid === focus.pid) ||
    (focus.name !== undefined && isProcess(n) && (n.name === focus.name || n.label === displayName(focus.name))) ||
    (focus.module !== undefined && n.kind !== 'root' && n.module === displayName(focus.module));
}

function isProcess(n: VNode): boolean {
  return n.kind === 'supervisor' || n.kind === 'worker';
}

/** Path to the node a focus request names: by pid first, then registered name, then module. */
export function focusPath(root: VNode, focus: TreeFocus): string[] | null {
  const tries: Array<(n: VNode) => boolean> = [];
  if (focus.pid !== undefined) tries.push((n) => n.pid === focus.pid);
  if (focus.name !== undefined) {
    const name = focus.name;
    tries.push((n) => isProcess(n) && (n.name === name || n.label === displayName(name)));
  }
  if (focus.module !== undefined) {
    const m = displayName(focus.module);
    tries.push((n) => n.kind !== 'root' && n.module === m);
  }
  for (const t of tries) {
    const p = findPath(root, t);
    if (p) return p;
  }
  return null;
}

/** Paths of nodes whose name, module or pid contains the text (case-insensitive), pre-order. */
export function searchPaths(root: VNode, text: string): string[][] {
  const term = text.trim().toLowerCase();
  if (term === '') return [];
  return findAll(root, (n) => n.kind !== 'root' && n.kind !== 'more' && n.searchText.includes(term));
}

/** After asking for the next page of a supervisor: the path to the first child of that page. */
export function pagedChildPath(root: VNode, supervisorPid: string, offset: number): string[] | null {
  const sup = findPath(root, (n) => n.kind === 'supervisor' && n.pid === supervisorPid);
  if (!sup) return null;
  const node = nodeById(root, sup[sup.length - 1] ?? '');
  for (const c of node?.children ?? []) {
    if (c.index === offset) return [...sup, c.id];
    if (c.kind === 'group') for (const m of c.children) if (m.index === offset) return [...sup, c.id, m.id];
  }
  return null;
}

// Collapse state, keyboard navigation and layout helpers live in view-state.ts, path search in tree-paths.ts.
export * from './view-state';
export { findPath } from './tree-paths';
