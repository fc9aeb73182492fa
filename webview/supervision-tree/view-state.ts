// View state of the supervision tree (pure; unit-tested in Node): what is collapsed (the user's
// choices over the defaults), keyboard navigation over the visible tree, and layout helpers.
import type { VNode } from './model';
import { findPath } from './tree-paths';

// ---- collapse state ------------------------------------------------------------------------

/** Applications of the platform (OTP, Elixir, common libraries): not what a person opens the tree for. */
export const PLATFORM: ReadonlySet<string> = new Set(['kernel', 'stdlib', 'logger', 'elixir', 'sasl', 'runtime_tools', 'compiler', 'crypto', 'ssl', 'inets', 'public_key', 'asn1', 'mix', 'iex', 'hex', 'os_mon', 'mnesia', 'telemetry']);

/** Collapsed unless the user opens them: platform applications and groups of same-module children. */
export function defaultCollapsed(root: VNode): Set<string> {
  const out = new Set<string>();
  const walk = (n: VNode): void => {
    if ((n.kind === 'app' && PLATFORM.has(n.label)) || n.kind === 'group') out.add(n.id);
    n.children.forEach(walk);
  };
  walk(root);
  return out;
}

/** What the user changed: nodes they collapsed, and collapsed-by-default nodes they opened. */
export interface CollapsePrefs {
  collapsed: string[];
  expanded: string[];
}

/**
 * The collapsed set for a tree: defaults (also for groups that appear only in a later refresh)
 * minus what the user opened, plus what the user closed.
 */
export function effectiveCollapsed(root: VNode, prefs: CollapsePrefs): Set<string> {
  const expanded = new Set(prefs.expanded);
  const out = new Set([...defaultCollapsed(root)].filter((id) => !expanded.has(id)));
  for (const id of prefs.collapsed) out.add(id);
  return out;
}

/** Prefs after collapsing (expand false) or expanding (expand true) one node. */
export function setExpanded(prefs: CollapsePrefs, root: VNode, id: string, expand: boolean): CollapsePrefs {
  const isDefault = defaultCollapsed(root).has(id);
  const collapsed = prefs.collapsed.filter((x) => x !== id);
  const expanded = prefs.expanded.filter((x) => x !== id);
  if (expand) {
    if (isDefault) expanded.push(id);
  } else if (!isDefault) collapsed.push(id);
  return { collapsed, expanded };
}

/** Prefs with every ancestor on the path (all ids but the last) expanded. */
export function expandPath(prefs: CollapsePrefs, root: VNode, path: string[]): CollapsePrefs {
  let p = prefs;
  const shut = effectiveCollapsed(root, prefs);
  for (const id of path.slice(0, -1)) if (shut.has(id)) p = setExpanded(p, root, id, true);
  return p;
}

/** Prefs without ids that are no longer in the tree (so the saved state stays small). */
export function prunePrefs(prefs: CollapsePrefs, root: VNode): CollapsePrefs {
  const ids = new Set<string>();
  const walk = (n: VNode): void => {
    ids.add(n.id);
    n.children.forEach(walk);
  };
  walk(root);
  return { collapsed: prefs.collapsed.filter((id) => ids.has(id)), expanded: prefs.expanded.filter((id) => ids.has(id)) };
}

/** The visible tree: children of collapsed nodes removed. */
export function visible(root: VNode, collapsed: ReadonlySet<string>): VNode {
  return { ...root, children: collapsed.has(root.id) ? [] : root.children.map((c) => visible(c, collapsed)) };
}

// ---- keyboard ------------------------------------------------------------------------------

export type NavAction =
  | { kind: 'select'; id: string }
  | { kind: 'expand'; id: string; expand: boolean }
  | { kind: 'activate'; id: string }
  | null;

/**
 * What a key does on the visible tree: Up/Down move among siblings, Left collapses or goes to
 * the parent, Right expands or goes to the first child, Home goes to the root, Enter activates,
 * Space toggles. Null when the key means nothing here.
 */
export function navigate(root: VNode, collapsed: ReadonlySet<string>, selected: string | null, key: string): NavAction {
  const path = selected === null ? null : findPath(root, (n) => n.id === selected);
  const ancestry = path ?? [root.id];
  const nodes: VNode[] = [root];
  for (const id of ancestry.slice(1)) {
    const parent = nodes[nodes.length - 1];
    const next = parent?.children.find((c) => c.id === id);
    if (!next) break;
    nodes.push(next);
  }
  const current = nodes[nodes.length - 1] ?? root;
  // A selection hidden inside a collapsed ancestor: start from that ancestor.
  const hiddenBy = nodes.findIndex((n, i) => i < nodes.length - 1 && collapsed.has(n.id));
  if (hiddenBy >= 0) {
    const anchor = nodes[hiddenBy] ?? root;
    return key === 'Enter' ? { kind: 'activate', id: anchor.id } : { kind: 'select', id: anchor.id };
  }
  if (path === null) return key.startsWith('Arrow') || key === 'Home' ? { kind: 'select', id: root.id } : null;
  const parent = nodes[nodes.length - 2];
  const siblings = parent?.children ?? [current];
  const i = siblings.indexOf(current);
  const open = current.children.length > 0 && !collapsed.has(current.id);
  const pick = (n: VNode | undefined): NavAction => (n ? { kind: 'select', id: n.id } : null);
  switch (key) {
    case 'ArrowDown':
      return pick(siblings[i + 1]);
    case 'ArrowUp':
      return pick(siblings[i - 1]);
    case 'ArrowLeft':
      return open ? { kind: 'expand', id: current.id, expand: false } : pick(parent);
    case 'ArrowRight':
      if (current.children.length === 0) return null;
      return open ? pick(current.children[0]) : { kind: 'expand', id: current.id, expand: true };
    case 'Home':
      return pick(root);
    case 'Enter':
      return { kind: 'activate', id: current.id };
    case ' ':
      return current.children.length > 0 ? { kind: 'expand', id: current.id, expand: !open } : null;
    default:
      return null;
  }
}

// ---- layout helpers ------------------------------------------------------------------------

/** Labels longer than this many characters are shortened on screen (the full text stays in data-label and the tooltip). */
export const MAX_LABEL_CHARS = 60;

export function shorten(text: string, max = MAX_LABEL_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * Horizontal position of each depth: columns as wide as their widest node (text width in px, as
 * measured by the renderer), at least `minColumn`, plus a gap for the links.
 */
export function columnOffsets(nodes: ReadonlyArray<{ depth: number; width: number }>, minColumn = 140, gap = 48): number[] {
  const widest: number[] = [];
  for (const n of nodes) widest[n.depth] = Math.max(widest[n.depth] ?? 0, n.width);
  const out: number[] = [];
  let x = 0;
  for (let d = 0; d < widest.length; d++) {
    out.push(x);
    x += Math.max(minColumn, widest[d] ?? 0) + gap;
  }
  return out;
}

// ---- applications --------------------------------------------------------------------------

function size(n: VNode): number {
  let total = 1;
  for (const c of n.children) total += size(c);
  return total;
}

/** The application to show first: the largest one that is not the platform's (rabbit on RabbitMQ). */
export function mainApp(root: VNode): VNode | undefined {
  let best: VNode | undefined;
  let bestSize = -1;
  for (const app of root.children) {
    if (app.kind !== 'app' || PLATFORM.has(app.label)) continue;
    const s = size(app);
    if (s > bestSize) {
      best = app;
      bestSize = s;
    }
  }
  return best ?? root.children[0];
}

/** The tree with one application only (null or unknown: the whole tree). */
export function onlyApp(root: VNode, app: string | null): VNode {
  if (app === null) return root;
  const kept = root.children.filter((c) => c.kind === 'app' && c.label === app);
  return kept.length === 0 ? root : { ...root, detail: `application ${app} (${root.children.length} in all)`, children: kept };
}
