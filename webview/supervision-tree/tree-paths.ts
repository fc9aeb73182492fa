// Path search over the view tree, shared by the model and the view state (a leaf: types only from model.ts).
import type { VNode } from './model';

/** Ids from the root to the first node (depth first, pre-order) matching, or null. */
export function findPath(root: VNode, match: (n: VNode) => boolean): string[] | null {
  if (match(root)) return [root.id];
  for (const c of root.children) {
    const p = findPath(c, match);
    if (p) return [root.id, ...p];
  }
  return null;
}
