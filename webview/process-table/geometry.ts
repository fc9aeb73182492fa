// Scroll geometry of the virtualized process table (pure; unit-tested): the scroll space for up
// to millions of rows (scaled: browsers cap element heights near 16M px), which rows a viewport
// shows, row index <-> scrollTop, and keyboard selection moves.
export const ROW_HEIGHT = 22;
/** The scroll space never exceeds this; more rows than fit are scaled into it. */
export const MAX_SCROLL_PX = 8_000_000;
/** Rows rendered beyond each edge of the viewport. */
export const OVERSCAN = 8;
/** Viewport height assumed when none is given (or the view has no layout yet). */
export const DEFAULT_VIEWPORT = 600;

/** Height of the scroll space for `total` rows, and how many row pixels one scroll pixel stands for (1: not scaled). */
export function scrollSpace(total: number): { height: number; scale: number } {
  const natural = Math.max(0, total) * ROW_HEIGHT;
  return natural <= MAX_SCROLL_PX ? { height: natural, scale: 1 } : { height: MAX_SCROLL_PX, scale: natural / MAX_SCROLL_PX };
}

interface Ranges {
  maxTop: number;
  maxRowPx: number;
  scaled: boolean;
}

function ranges(total: number, viewport: number): Ranges {
  const { height, scale } = scrollSpace(total);
  return { maxTop: Math.max(0, height - viewport), maxRowPx: Math.max(0, total * ROW_HEIGHT - viewport), scaled: scale > 1 };
}

/**
 * The row-space pixel at the top of the viewport for a scrollTop. Unscaled they are the same;
 * scaled, [0, maxTop] maps linearly onto [0, rows' height - viewport], so the top shows the
 * first row and the bottom the last one exactly.
 */
export function rowPxAt(scrollTop: number, total: number, viewport: number): number {
  const r = ranges(total, viewport);
  const top = Math.min(Math.max(0, scrollTop), r.maxTop);
  if (!r.scaled) return top;
  return r.maxTop === 0 ? 0 : (top / r.maxTop) * r.maxRowPx;
}

/** The first row at least partly shown at this scrollTop and its (≤ 0) pixel offset in the viewport. */
export function firstRow(scrollTop: number, total: number, viewport: number): { index: number; offsetPx: number } {
  if (total <= 0) return { index: 0, offsetPx: 0 };
  const px = rowPxAt(scrollTop, total, viewport);
  const index = Math.min(total - 1, Math.max(0, Math.floor(px / ROW_HEIGHT + 1e-6)));
  return { index, offsetPx: Math.min(0, index * ROW_HEIGHT - px) };
}

/**
 * A whole-pixel scrollTop that shows row `index` at the top (or as near as the end allows).
 * Scaled, one scroll pixel is several row pixels: rounding `up` keeps the row the first one
 * (`firstRow` gives `index` back) at the price of hiding at most that many pixels of it;
 * rounding `down` shows all of it, below a sliver of the row before.
 */
export function scrollTopFor(index: number, total: number, viewport = DEFAULT_VIEWPORT, round: 'up' | 'down' = 'up'): number {
  const r = ranges(total, viewport);
  const px = Math.min(Math.max(0, index) * ROW_HEIGHT, r.maxRowPx);
  if (!r.scaled) return Math.min(px, r.maxTop);
  if (r.maxRowPx === 0) return 0;
  const exact = (px / r.maxRowPx) * r.maxTop;
  return Math.max(0, Math.min(r.maxTop, round === 'up' ? Math.ceil(exact - 1e-7) : Math.floor(exact + 1e-7)));
}

/** Rows that fit in the viewport entirely (at least 1). */
export function pageRows(viewport: number): number {
  return Math.max(1, Math.floor(viewport / ROW_HEIGHT));
}

export interface Visible {
  /** First and last row rendered (with overscan), inclusive; last < first when there is nothing. */
  first: number;
  last: number;
  /** The row at the top of the viewport and its pixel offset (≤ 0). */
  top: number;
  offsetPx: number;
  /** First and last row entirely inside the viewport. */
  fullFirst: number;
  fullLast: number;
}

export function visibleRows(scrollTop: number, total: number, viewport: number, overscan = OVERSCAN): Visible {
  if (total <= 0) return { first: 0, last: -1, top: 0, offsetPx: 0, fullFirst: 0, fullLast: -1 };
  const { index, offsetPx } = firstRow(scrollTop, total, viewport);
  const shown = Math.ceil((viewport - offsetPx) / ROW_HEIGHT);
  const lastShown = Math.min(total - 1, index + Math.max(1, shown) - 1);
  const fullFirst = offsetPx < -0.5 ? Math.min(lastShown, index + 1) : index;
  const fullLast = Math.max(fullFirst, Math.min(lastShown, index + Math.floor((viewport - offsetPx) / ROW_HEIGHT + 1e-6) - 1));
  return { first: Math.max(0, index - overscan), last: Math.min(total - 1, lastShown + overscan), top: index, offsetPx, fullFirst, fullLast };
}

// ---- Keyboard ------------------------------------------------------------------------------

/** Selection after a key press (null: not a navigation key, or nothing to select). */
export function moveSelection(key: string, current: number, total: number, page: number): number | null {
  if (total <= 0) return null;
  const clamp = (i: number): number => Math.min(total - 1, Math.max(0, i));
  switch (key) {
    case 'ArrowDown':
      return clamp(current + 1);
    case 'ArrowUp':
      return clamp(current - 1);
    case 'PageDown':
      return clamp(current + Math.max(1, page - 1));
    case 'PageUp':
      return clamp(current - Math.max(1, page - 1));
    case 'Home':
      return 0;
    case 'End':
      return total - 1;
    default:
      return null;
  }
}

/** The row to put at the top so that `selected` is entirely shown; null when it already is. */
export function revealTop(selected: number, view: { fullFirst: number; fullLast: number }): number | null {
  if (selected < view.fullFirst) return selected;
  if (selected > view.fullLast) return selected - (view.fullLast - view.fullFirst);
  return null;
}

/** The scrollTop that shows `selected` entirely, moving as little as possible; null when it is shown. */
export function revealScrollTop(selected: number, view: { fullFirst: number; fullLast: number }, total: number, viewport: number): number | null {
  const top = revealTop(selected, view);
  if (top === null) return null;
  // Going up, the row must not hide under the top edge; going down, its bottom must not pass the bottom edge.
  return scrollTopFor(top, total, viewport, selected < view.fullFirst ? 'down' : 'up');
}
