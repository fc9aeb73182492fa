// Pure logic of the virtualized process table (no DOM; unit-tested): which blocks of rows to
// fetch for a viewport, a cache keyed by sort+filter, scroll scaling for a million rows (browsers
// cap element heights near 16M px), changed-cell detection and keyboard selection.
import type { ProcessRow, ProcessSort } from '../../src/core/processes';

export const ROW_HEIGHT = 22;
export const BLOCK = 200;
/** Keep the scroll space under what browsers render reliably. */
export const MAX_SCROLL_PX = 8_000_000;

export interface Viewport {
  scrollTop: number;
  height: number;
}

export class BlockCache {
  private blocks = new Map<number, ProcessRow[]>();
  private inFlight = new Set<number>();
  private key = '';

  /** Drops everything when the sort or the filter changes. Returns true when it did. */
  reset(sort: ProcessSort, filter: string): boolean {
    const key = `${sort}\u0000${filter}`;
    if (key === this.key) return false;
    this.key = key;
    this.blocks.clear();
    this.inFlight.clear();
    return true;
  }

  row(index: number): ProcessRow | undefined {
    return this.blocks.get(Math.floor(index / BLOCK))?.[index % BLOCK];
  }

  /** Blocks needed for rows [first, last] not cached and not being fetched; marks them in flight. */
  missing(first: number, last: number, total: number): number[] {
    const out: number[] = [];
    const lastBlock = Math.floor(Math.min(last, Math.max(0, total - 1)) / BLOCK);
    for (let b = Math.floor(Math.max(0, first) / BLOCK); b <= lastBlock; b++) {
      if (this.blocks.has(b) || this.inFlight.has(b)) continue;
      this.inFlight.add(b);
      out.push(b);
    }
    return out;
  }

  /** Stores a page; returns the previous rows of that block (for changed-cell highlighting). */
  put(offset: number, rows: ProcessRow[]): ProcessRow[] | undefined {
    const b = Math.floor(offset / BLOCK);
    const before = this.blocks.get(b);
    this.blocks.set(b, rows);
    this.inFlight.delete(b);
    return before;
  }

  /** Blocks currently held (the host refreshes those in view). */
  cachedBlocks(): number[] {
    return [...this.blocks.keys()];
  }
}

/** Scroll space for `total` rows and the factor between scroll pixels and row pixels. */
export function scrollSpace(total: number): { height: number; scale: number } {
  const natural = total * ROW_HEIGHT;
  if (natural <= MAX_SCROLL_PX) return { height: natural, scale: 1 };
  return { height: MAX_SCROLL_PX, scale: natural / MAX_SCROLL_PX };
}

/** The first row index shown at this scrollTop, and the pixel offset of that row in the viewport. */
export function firstRow(scrollTop: number, total: number, viewportHeight: number): { index: number; offsetPx: number } {
  const { height, scale } = scrollSpace(total);
  const maxTop = Math.max(0, height - viewportHeight);
  const top = Math.min(Math.max(0, scrollTop), maxTop);
  // At the bottom of the scaled space show the last rows exactly.
  const rowPx = top >= maxTop && scale > 1 ? total * ROW_HEIGHT - viewportHeight : top * scale;
  const index = Math.max(0, Math.floor(rowPx / ROW_HEIGHT));
  return { index, offsetPx: -(rowPx - index * ROW_HEIGHT) };
}

/** scrollTop that shows row `index` at the top. */
export function scrollTopFor(index: number, total: number): number {
  const { scale } = scrollSpace(total);
  return (index * ROW_HEIGHT) / scale;
}

export type Column = 'pid' | 'name' | 'memory' | 'reductions' | 'mailbox' | 'reductionRate' | 'currentFunction' | 'initialCall';

export function cellValue(r: ProcessRow, c: Column): string | number | null {
  switch (c) {
    case 'pid':
      return r.pid;
    case 'name':
      return r.name;
    case 'memory':
      return r.memory;
    case 'reductions':
      return r.reductions;
    case 'mailbox':
      return r.messageQueueLen;
    case 'reductionRate':
      return r.reductionRate ?? null;
    case 'currentFunction':
      return r.currentFunction;
    case 'initialCall':
      return r.initialCall;
  }
}

/** Cells (pid + column) whose value differs from the previous page's row for the same pid. */
export function changedCells(before: ProcessRow[] | undefined, after: ProcessRow[], columns: Column[]): Set<string> {
  const out = new Set<string>();
  if (!before) return out;
  const old = new Map(before.map((r) => [r.pid, r]));
  for (const r of after) {
    const o = old.get(r.pid);
    if (!o) continue;
    for (const c of columns) if (cellValue(o, c) !== cellValue(r, c)) out.add(`${r.pid}|${c}`);
  }
  return out;
}

/** Selection after a key press (null: not a navigation key). */
export function moveSelection(key: string, current: number, total: number, pageRows: number): number | null {
  if (total <= 0) return null;
  const clamp = (i: number): number => Math.min(total - 1, Math.max(0, i));
  switch (key) {
    case 'ArrowDown':
      return clamp(current + 1);
    case 'ArrowUp':
      return clamp(current - 1);
    case 'PageDown':
      return clamp(current + pageRows);
    case 'PageUp':
      return clamp(current - pageRows);
    case 'Home':
      return 0;
    case 'End':
      return total - 1;
    default:
      return null;
  }
}
