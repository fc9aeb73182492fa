// Pure logic of the virtualized process table (no DOM; unit-tested in test/unit/webview-table.test.ts):
// a cache of fetched blocks keyed by sort+filter with in-flight bookkeeping, what to fetch for a
// viewport, changed-cell detection between refreshes, columns and the header text. The scroll
// geometry and keyboard selection are in geometry.ts (re-exported here).
import type { ProcessRow, ProcessSort } from '../../src/protocol/webview';
import type { TableQuery } from '../../src/protocol/webview';

export * from './geometry';

/** Rows per query (and per cache block). */
export const BLOCK = 200;
/** Rows beyond each edge of the viewport whose blocks are fetched ahead. */
export const PREFETCH = 60;
/** Blocks kept in the cache (the rest are dropped, farthest from the viewport first). */
export const MAX_CACHED_BLOCKS = 60;
/** A query unanswered this long is asked again. */
export const IN_FLIGHT_TIMEOUT_MS = 15_000;
/** How long a changed cell stays highlighted. */
export const CHANGE_FADE_MS = 2_000;

// ---- Queries and the block cache -----------------------------------------------------------

export function queryKey(sort: ProcessSort, filter: string): string {
  return `${sort}\u0000${filter}`;
}

export function blockOf(index: number): number {
  return Math.floor(index / BLOCK);
}

export function blockQuery(sort: ProcessSort, filter: string, block: number): TableQuery {
  return { sort, filter, offset: block * BLOCK, limit: BLOCK };
}

/**
 * What to do with a page from the host: `accept` it (it answers the current sort+filter),
 * `adopt` its sort+filter (the view has not asked anything yet: the host chose the first query,
 * e.g. "Show Processes by Mailbox" or a module filter), or drop it as `stale`.
 */
export function pageDecision(view: { sort: ProcessSort; filter: string; adopted: boolean }, query: TableQuery): 'accept' | 'adopt' | 'stale' {
  if (query.sort === view.sort && query.filter === view.filter) return 'accept';
  return view.adopted ? 'stale' : 'adopt';
}

interface Block {
  rows: Array<ProcessRow | undefined>;
  fetchedAt: number;
}

export class BlockCache {
  private blocks = new Map<number, Block>();
  private inFlight = new Map<number, number>();
  /** The latest row seen per pid (in a cached block), for changed-cell detection. */
  private byPid = new Map<string, { row: ProcessRow; block: number }>();
  private currentKey: string | null = null;

  get key(): string | null {
    return this.currentKey;
  }

  /** Drops everything when the sort or the filter changes. Returns true when it did. */
  reset(sort: ProcessSort, filter: string): boolean {
    const key = queryKey(sort, filter);
    if (key === this.currentKey) return false;
    this.currentKey = key;
    this.blocks.clear();
    this.inFlight.clear();
    this.byPid.clear();
    return true;
  }

  row(index: number): ProcessRow | undefined {
    return this.blocks.get(blockOf(index))?.rows[index % BLOCK];
  }

  /** Whether the block holding row `index` has been fetched (its row may still be missing: a process that exited). */
  loaded(index: number): boolean {
    return this.blocks.has(blockOf(index));
  }

  hasBlock(block: number): boolean {
    return this.blocks.has(block);
  }

  isInFlight(block: number, now: number): boolean {
    const since = this.inFlight.get(block);
    return since !== undefined && now - since < IN_FLIGHT_TIMEOUT_MS;
  }

  /**
   * Blocks covering rows [first, last] (clamped to `total`) that are neither cached nor being
   * fetched; they are marked in flight, so asking again before the answer returns nothing.
   * A fetch unanswered for IN_FLIGHT_TIMEOUT_MS counts as lost.
   */
  missing(first: number, last: number, total: number, now = Date.now()): number[] {
    if (total <= 0) return [];
    const lo = blockOf(Math.max(0, first));
    const hi = blockOf(Math.min(last, total - 1));
    const out: number[] = [];
    for (let b = lo; b <= hi; b++) {
      if (this.blocks.has(b) || this.isInFlight(b, now)) continue;
      this.inFlight.set(b, now);
      out.push(b);
    }
    return out;
  }

  /** Marks a block as asked for (a query posted for other reasons, e.g. to move the host's refresh). */
  markInFlight(block: number, now: number): void {
    this.inFlight.set(block, now);
  }

  /** Forgets pending fetches (after an error from the host), so the next scroll asks again. */
  clearInFlight(): void {
    this.inFlight.clear();
  }

  /**
   * Stores the rows of a page (query offset and limit). A block the page covers entirely is
   * replaced (rows of exited processes go); a partly covered one is merged. Returns the previous
   * row of every pid in the page that was cached before (in any block), for changed cells.
   */
  store(offset: number, limit: number, rows: ProcessRow[], now: number): Map<string, ProcessRow> {
    const previous = new Map<string, ProcessRow>();
    for (const r of rows) {
      const before = this.byPid.get(r.pid);
      if (before) previous.set(r.pid, before.row);
    }
    const end = offset + Math.max(limit, rows.length);
    for (let b = blockOf(offset); b <= blockOf(Math.max(offset, end - 1)); b++) {
      const start = b * BLOCK;
      const covers = offset <= start && end >= start + BLOCK;
      const old = this.blocks.get(b);
      if (covers && old) this.forget(b, old);
      const block: Block = covers || !old ? { rows: new Array<ProcessRow | undefined>(BLOCK).fill(undefined), fetchedAt: now } : old;
      block.fetchedAt = now;
      for (let i = Math.max(start, offset); i < Math.min(start + BLOCK, offset + rows.length); i++) {
        const r = rows[i - offset];
        if (!r) continue;
        block.rows[i - start] = r;
        this.byPid.set(r.pid, { row: r, block: b });
      }
      this.blocks.set(b, block);
      this.inFlight.delete(b);
    }
    return previous;
  }

  /** Keeps at most `max` blocks: the ones nearest to `center` (the viewport's block) stay. */
  prune(center: number, max = MAX_CACHED_BLOCKS): number[] {
    if (this.blocks.size <= max) return [];
    const byDistance = [...this.blocks.keys()].sort((a, b) => Math.abs(b - center) - Math.abs(a - center) || b - a);
    const dropped = byDistance.slice(0, this.blocks.size - max);
    for (const b of dropped) {
      const block = this.blocks.get(b);
      if (block) this.forget(b, block);
      this.blocks.delete(b);
    }
    return dropped.sort((a, b) => a - b);
  }

  cachedBlocks(): number[] {
    return [...this.blocks.keys()].sort((a, b) => a - b);
  }

  /** Pids with a remembered row (bounded by the cached blocks). */
  get rememberedPids(): number {
    return this.byPid.size;
  }

  private forget(b: number, block: Block): void {
    for (const r of block.rows) if (r && this.byPid.get(r.pid)?.block === b) this.byPid.delete(r.pid);
  }
}

/**
 * Blocks to ask for, for the rows [first, last] the viewport needs (with prefetch): the missing
 * ones, the block at the viewport's center last. With `moveRefresh` (scrolling has settled) and
 * nothing missing, the center block when it is cached but not the one the host refreshes: the
 * host re-sends the last query it was asked, so asking for the shown block moves the live
 * refresh there.
 */
export function planFetch(cache: BlockCache, range: { first: number; last: number; center: number }, total: number, hostBlock: number | null, now: number, moveRefresh = true): number[] {
  const missing = cache.missing(range.first, range.last, total, now);
  if (total <= 0) return missing;
  const center = blockOf(Math.min(Math.max(0, range.center), total - 1));
  const i = missing.indexOf(center);
  if (i >= 0) {
    missing.splice(i, 1);
    missing.push(center);
  } else if (moveRefresh && missing.length === 0 && cache.hasBlock(center) && center !== hostBlock && !cache.isInFlight(center, now)) {
    cache.markInFlight(center, now);
    missing.push(center);
  }
  return missing;
}

// ---- Columns and changed cells -------------------------------------------------------------

export type Column = 'pid' | 'name' | 'memory' | 'reductions' | 'mailbox' | 'reductionRate' | 'currentFunction' | 'initialCall';

export interface ColumnSpec {
  id: Column;
  title: string;
  sort?: ProcessSort;
  numeric?: boolean;
}

export const COLUMNS: readonly ColumnSpec[] = [
  { id: 'pid', title: 'Pid' },
  { id: 'name', title: 'Name' },
  { id: 'memory', title: 'Memory', sort: 'memory', numeric: true },
  { id: 'reductions', title: 'Reductions', sort: 'reductions', numeric: true },
  { id: 'mailbox', title: 'Mailbox', sort: 'mailbox', numeric: true },
  { id: 'reductionRate', title: 'Reductions/s', sort: 'reduction-rate', numeric: true },
  { id: 'currentFunction', title: 'Current function' },
  { id: 'initialCall', title: 'Initial call' },
];

/** The reduction rate is only measured (over a window on the target) when sorting by it. */
export function visibleColumns(sort: ProcessSort): ColumnSpec[] {
  return COLUMNS.filter((c) => c.id !== 'reductionRate' || sort === 'reduction-rate');
}

/** Every sort, in column order (the toolbar offers them all: reduction rate has no column until chosen). */
export const SORTS: readonly ProcessSort[] = COLUMNS.flatMap((c) => (c.sort ? [c.sort] : []));

export const SORT_LABELS: Record<ProcessSort, string> = {
  memory: 'memory',
  reductions: 'reductions',
  mailbox: 'mailbox',
  'reduction-rate': 'reduction rate',
};

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

/** Columns whose changes are highlighted on a refresh. */
export const TRACKED: readonly Column[] = ['name', 'memory', 'reductions', 'mailbox', 'reductionRate', 'currentFunction'];

/** Names a cell: pid and column (column ids have no `|`, so the key is unique). */
export function cellKey(pid: string, c: Column): string {
  return `${pid}|${c}`;
}

/**
 * Cells of `rows` whose value differs from the previous row of the same pid (as BlockCache.store
 * returns them); pids not seen before have none.
 */
export function changedCells(previous: ReadonlyMap<string, ProcessRow> | undefined, rows: readonly ProcessRow[], columns: readonly Column[] = TRACKED): Set<string> {
  const out = new Set<string>();
  if (!previous) return out;
  const byPid = previous;
  for (const r of rows) {
    const o = byPid.get(r.pid);
    if (!o || o === r) continue;
    for (const c of columns) if (cellValue(o, c) !== cellValue(r, c)) out.add(cellKey(r.pid, c));
  }
  return out;
}

/** When each changed cell changed, so the view can fade its highlight (and drop it after). */
export class ChangeTracker {
  private at = new Map<string, number>();

  mark(keys: Iterable<string>, now: number): void {
    for (const k of keys) this.at.set(k, now);
  }

  /** Milliseconds since the cell changed, or null when it is not (or no longer) highlighted. */
  age(key: string, now: number): number | null {
    const t = this.at.get(key);
    if (t === undefined) return null;
    const age = now - t;
    return age < CHANGE_FADE_MS ? age : null;
  }

  /** Drops expired entries; returns how many remain. */
  prune(now: number): number {
    for (const [k, t] of this.at) if (now - t >= CHANGE_FADE_MS) this.at.delete(k);
    return this.at.size;
  }

  clear(): void {
    this.at.clear();
  }

  get size(): number {
    return this.at.size;
  }
}

// ---- Header --------------------------------------------------------------------------------

export function summaryText(p: { total: number; matched: number; filter: string; sort: ProcessSort; via: 'probe' | 'rpc' | null; note?: string }): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const count = p.filter !== '' ? `${n(p.matched)} of ${n(p.total)} processes match “${p.filter}”` : `${n(p.total)} ${p.total === 1 ? 'process' : 'processes'}`;
  return `${count} · sorted by ${SORT_LABELS[p.sort]} on the target${p.via ? ` (${p.via})` : ''}${p.note ? ` · ${p.note}` : ''}`;
}
