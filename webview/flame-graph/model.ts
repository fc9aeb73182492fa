// Flame graph model: the host's folded call tree laid out with d3-hierarchy's partition (each
// frame as wide as its total samples, one row per stack depth), zoom into a frame (its subtree
// fills the width, its ancestors stay as full-width bars), search (matching frames and the share
// of samples under them, each sample counted once), hover text, and colors. No DOM here.
import { hierarchy, partition, type HierarchyRectangularNode } from 'd3';
import type { FlameFrame, FlameProfile, FlameTree } from '../../src/protocol/webview';

export interface FlameNode {
  /** Path of frame indices from the root ("" for the root): stable across refolds. */
  id: string;
  frame: number;
  self: number;
  total: number;
  children: FlameNode[];
}

export type Laid = HierarchyRectangularNode<FlameNode>;

/** Gives every node of the host's tree its path id. */
export function withIds(tree: FlameTree, prefix = ''): FlameNode {
  return {
    id: prefix,
    frame: tree.frame,
    self: tree.self,
    total: tree.total,
    children: tree.children.map((c) => withIds(c, prefix === '' && tree.frame === -1 ? String(c.frame) : `${prefix}/${c.frame}`)),
  };
}

/** Folds with d3-hierarchy: node value = its self samples plus its descendants' (= total), laid out in [0,1] x depth. */
export function layout(tree: FlameTree): Laid {
  const root = hierarchy(withIds(tree), (d) => d.children).sum((d) => d.self);
  return partition<FlameNode>().size([1, root.height + 1]).padding(0)(root);
}

export function frameName(profile: Pick<FlameProfile, 'frames'>, frame: number): string {
  if (frame < 0) return 'all samples';
  return profile.frames[frame]?.name ?? '?';
}

export function find(root: Laid, id: string): Laid | undefined {
  if (id === '') return root;
  let node: Laid | undefined = root;
  const parts = id.split('/');
  let path = '';
  for (const p of parts) {
    path = path === '' ? p : `${path}/${p}`;
    node = node?.children?.find((c) => c.data.id === path);
    if (!node) return undefined;
  }
  return node;
}

export interface Bar {
  id: string;
  frame: number;
  name: string;
  /** Fractions of the width, after zoom. */
  x: number;
  width: number;
  depth: number;
  self: number;
  total: number;
  /** An ancestor of the zoomed frame (drawn full width, dimmed). */
  ancestor: boolean;
  match: boolean;
}

/**
 * The bars to draw with `focus` zoomed to full width: its ancestors, then its subtree, leaving
 * out bars narrower than `minWidth` (a fraction of the width) so the DOM stays bounded.
 */
export function bars(profile: Pick<FlameProfile, 'frames'>, root: Laid, focusId: string, matches: ReadonlySet<string>, minWidth = 0.001): Bar[] {
  const focus = find(root, focusId) ?? root;
  const out: Bar[] = [];
  for (const a of focus.ancestors().reverse()) {
    if (a === focus) break;
    out.push({ id: a.data.id, frame: a.data.frame, name: frameName(profile, a.data.frame), x: 0, width: 1, depth: a.depth, self: a.data.self, total: a.value ?? 0, ancestor: true, match: matches.has(a.data.id) });
  }
  const span = focus.x1 - focus.x0 || 1;
  const walk = (n: Laid): void => {
    const width = (n.x1 - n.x0) / span;
    if (width < minWidth) return;
    out.push({ id: n.data.id, frame: n.data.frame, name: frameName(profile, n.data.frame), x: (n.x0 - focus.x0) / span, width, depth: n.depth, self: n.data.self, total: n.value ?? 0, ancestor: false, match: matches.has(n.data.id) });
    for (const c of n.children ?? []) walk(c);
  };
  walk(focus);
  return out;
}

export interface SearchResult {
  ids: Set<string>;
  /** Frames matched (count of bars). */
  frames: number;
  /** Samples under matching frames, each sample once (outermost match), and their share of the root. */
  samples: number;
  share: number;
}

/** Case-insensitive substring search over frame names (and file names). */
export function search(profile: Pick<FlameProfile, 'frames'>, root: Laid, query: string): SearchResult {
  const q = query.trim().toLowerCase();
  const ids = new Set<string>();
  if (q === '') return { ids, frames: 0, samples: 0, share: 0 };
  const hit = new Map<number, boolean>();
  const matchesFrame = (f: number): boolean => {
    let v = hit.get(f);
    if (v === undefined) {
      const fr: FlameFrame | undefined = profile.frames[f];
      v = fr !== undefined && (fr.name.toLowerCase().includes(q) || (fr.file ?? '').toLowerCase().includes(q));
      hit.set(f, v);
    }
    return v;
  };
  let samples = 0;
  const walk = (n: Laid, under: boolean): void => {
    const m = n.data.frame >= 0 && matchesFrame(n.data.frame);
    if (m) {
      ids.add(n.data.id);
      if (!under) samples += n.value ?? 0;
    }
    for (const c of n.children ?? []) walk(c, under || m);
  };
  walk(root, false);
  const total = root.value ?? 0;
  return { ids, frames: ids.size, samples, share: total > 0 ? samples / total : 0 };
}

export function percent(x: number): string {
  if (x >= 0.1) return `${(x * 100).toFixed(1)}%`;
  return `${(x * 100).toFixed(2)}%`;
}

/** The hover text of a bar: name, place, samples and shares of all and of its parent. */
export function describe(profile: Pick<FlameProfile, 'frames'>, root: Laid, id: string): string {
  const n = find(root, id);
  if (!n) return '';
  const total = root.value ?? 0;
  const value = n.value ?? 0;
  if (n.data.frame < 0) return `all busy samples: ${value}`;
  const f = profile.frames[n.data.frame];
  const where = f ? `${f.file ?? f.module}${f.line > 0 ? `:${f.line}` : ''}` : '';
  const parent = n.parent && n.parent.data.frame >= 0 ? ` · ${percent(value / (n.parent.value || 1))} of ${frameName(profile, n.parent.data.frame)}` : '';
  return `${frameName(profile, n.data.frame)} — ${where}\n${value} samples (${percent(total > 0 ? value / total : 0)} of all${parent}) · self ${n.data.self} (${percent(total > 0 ? n.data.self / total : 0)})`;
}

/** Elixir and the application's own modules warm, Erlang/OTP cool; stable per module. */
export function colorOf(frame: FlameFrame | undefined): { hue: number; kind: 'elixir' | 'erlang' | 'root' } {
  if (!frame) return { hue: 0, kind: 'root' };
  let h = 0;
  for (let i = 0; i < frame.module.length; i++) h = (h * 31 + frame.module.charCodeAt(i)) >>> 0;
  if (frame.module.startsWith('Elixir.')) return { hue: 10 + (h % 40), kind: 'elixir' };
  return { hue: 190 + (h % 50), kind: 'erlang' };
}

/** Which tree to show: one process's, or all of them. */
export function treeFor(profile: FlameProfile, pid: string | null): FlameTree {
  if (pid === null) return profile.all;
  return profile.processes.find((p) => p.pid === pid)?.tree ?? profile.all;
}

/** Keyboard: the bar left/right/up/down of `id` among the drawn bars. */
export function neighbour(drawn: readonly Bar[], id: string, dir: 'left' | 'right' | 'up' | 'down'): string | null {
  const cur = drawn.find((b) => b.id === id);
  if (!cur) return drawn[0]?.id ?? null;
  if (dir === 'up') {
    const parent = id.includes('/') ? id.slice(0, id.lastIndexOf('/')) : id === '' ? null : '';
    return parent !== null && drawn.some((b) => b.id === parent) ? parent : null;
  }
  if (dir === 'down') {
    const kids = drawn.filter((b) => b.depth === cur.depth + 1 && b.x >= cur.x - 1e-9 && b.x < cur.x + cur.width - 1e-9);
    return kids.sort((a, b) => b.width - a.width)[0]?.id ?? null;
  }
  const row = drawn.filter((b) => b.depth === cur.depth).sort((a, b) => a.x - b.x);
  const i = row.findIndex((b) => b.id === id);
  return row[dir === 'left' ? i - 1 : i + 1]?.id ?? null;
}
