// Process table webview: sorted and filtered on the target, one block of 200 rows per query.
// The scroll space stands for every matching process (scaled past 8M px); only the rows in view
// are in the DOM, drawn from a cache of fetched blocks; blocks scrolled into are asked for after
// a short pause (one query per block at a time). The host re-sends the last query periodically:
// cells that changed since a pid's previous row fade from a highlight. Logic: model.ts; DOM: render.ts.
import '../common/base.css';
import './style.css';
import type { ProcessSort } from '../../src/protocol/webview';
import { assertNever, type HostToTable, type TablePage } from '../../src/protocol/webview';
import { statusLine } from '../common/dom';
import { channel } from '../common/vscode-api';
import {
  BlockCache,
  CHANGE_FADE_MS,
  ChangeTracker,
  PREFETCH,
  SORTS,
  SORT_LABELS,
  TRACKED,
  blockOf,
  blockQuery,
  changedCells,
  moveSelection,
  pageDecision,
  pageRows,
  planFetch,
  revealScrollTop,
  scrollTopFor,
  summaryText,
  visibleRows,
} from './model';
import { TableDom } from './render';

interface State {
  sort: ProcessSort;
  filter: string;
  /** Row at the top of the viewport (scrollTop depends on the viewport and the scaling). */
  top: number;
  selected: number;
}

const FILTER_DEBOUNCE_MS = 250;
const FETCH_DEBOUNCE_MS = 60;
const FETCH_MAX_WAIT_MS = 250;
/** After scrolling stops this long, the host's live refresh is moved to the block in view. */
const SETTLE_MS = 1000;

const vs = channel('process-table');
const saved = vs.getState<Partial<State>>();
let sort: ProcessSort = saved?.sort !== undefined && SORTS.includes(saved.sort) ? saved.sort : 'mailbox';
let filter = typeof saved?.filter === 'string' ? saved.filter : '';
/** Whether the view has a sort+filter of its own yet (else it takes the host's first page's). */
let adopted = false;
/** Scroll position to restore once the first page of the saved query is in. */
let pendingRestore: { top: number; selected: number } | null = saved && typeof saved.top === 'number' ? { top: saved.top, selected: Number(saved.selected ?? 0) } : null;
/** Processes on the node, and rows in the table (those matching the filter). */
let total = 0;
let matched = 0;
let via: TablePage['via'] | null = null;
let note: string | undefined;
let selected = 0;
/** The block of the last query posted: the one the host keeps refreshing. */
let hostBlock: number | null = null;
const cache = new BlockCache();
cache.reset(sort, filter);
const changes = new ChangeTracker();

const status = statusLine();
const dom = new TableDom(document.getElementById('root') ?? document.body, status.el, {
  sort: (s) => setSort(s),
  filter: () => filterChanged(),
  profile: () => profileSelected(),
  open: (i) => {
    selected = i;
    openSelected();
    render();
    persistSoon();
  },
  scroll: () => {
    scheduleRender();
    scheduleFetch();
    persistSoon();
  },
  key: (e) => onKey(e),
  resize: () => {
    scheduleRender();
    scheduleFetch();
  },
});
dom.setFilter(filter);
dom.renderHead(sort);
status.set('Reading processes…');

function post(block: number): void {
  adopted = true;
  hostBlock = block;
  vs.post({ type: 'query', query: blockQuery(sort, filter, block) });
}

// ---- Fetching ------------------------------------------------------------------------------

let fetchTimer: number | undefined;
let fetchFirstAsked = 0;

let settleTimer: number | undefined;

/**
 * Fetches what the viewport needs once scrolling pauses (at least every FETCH_MAX_WAIT_MS while
 * it goes on); once it has stopped for SETTLE_MS, moves the host's refresh to the rows in view.
 */
function scheduleFetch(): void {
  const now = performance.now();
  if (fetchTimer === undefined) fetchFirstAsked = now;
  else window.clearTimeout(fetchTimer);
  const wait = Math.max(0, Math.min(FETCH_DEBOUNCE_MS, fetchFirstAsked + FETCH_MAX_WAIT_MS - now));
  fetchTimer = window.setTimeout(() => fetchNow(false), wait);
  window.clearTimeout(settleTimer);
  settleTimer = window.setTimeout(() => fetchNow(true), SETTLE_MS);
}

function fetchNow(moveRefresh: boolean): void {
  window.clearTimeout(fetchTimer);
  fetchTimer = undefined;
  const v = visibleRows(dom.grid.scrollTop, matched, dom.viewport(), 0);
  if (v.last < v.first) return;
  const blocks = planFetch(cache, { first: v.first - PREFETCH, last: v.last + PREFETCH, center: Math.floor((v.first + v.last) / 2) }, matched, hostBlock, Date.now(), moveRefresh);
  for (const b of blocks) post(b);
}

// ---- Sort and filter -----------------------------------------------------------------------

function restart(message: string): void {
  // What the host said about the last query's work is not about the new one.
  note = undefined;
  cache.reset(sort, filter);
  changes.clear();
  pendingRestore = null;
  pendingOpen = null;
  selected = 0;
  dom.grid.scrollTop = 0;
  status.set(message);
  cache.markInFlight(0, Date.now());
  post(0);
  render();
  persistSoon();
}

function setSort(s: ProcessSort): void {
  if (s === sort) return;
  sort = s;
  dom.renderHead(sort);
  restart(s === 'reduction-rate' ? 'Measuring reductions per second on the target…' : `Sorting by ${SORT_LABELS[s]} on the target…`);
}

let filterTimer: number | undefined;
function filterChanged(): void {
  window.clearTimeout(filterTimer);
  filterTimer = window.setTimeout(() => {
    const next = dom.filterBox.value.trim();
    if (next === filter) return;
    filter = next;
    restart(filter ? `Filtering by “${filter}” on the target…` : 'Reading processes…');
  }, FILTER_DEBOUNCE_MS);
}

// ---- Rendering -----------------------------------------------------------------------------

let frame = 0;
function scheduleRender(): void {
  if (frame === 0) frame = requestAnimationFrame(() => render());
}

let fadeTimer: number | undefined;
function render(): void {
  cancelAnimationFrame(frame);
  frame = 0;
  const now = Date.now();
  dom.renderRows({ visible: visibleRows(dom.grid.scrollTop, matched, dom.viewport()), total: matched, sort, selected, cache, changes, now });
  dom.summary.textContent = via === null && total === 0 ? '' : summaryText({ total, matched, filter, sort, via, ...(note !== undefined ? { note } : {}) });
  // Drop highlights once faded.
  window.clearTimeout(fadeTimer);
  if (changes.prune(now) > 0) fadeTimer = window.setTimeout(() => render(), CHANGE_FADE_MS / 4);
}

let persistTimer: number | undefined;
function persistSoon(): void {
  window.clearTimeout(persistTimer);
  persistTimer = window.setTimeout(() => {
    const top = visibleRows(dom.grid.scrollTop, matched, dom.viewport(), 0).top;
    vs.setState<State>({ sort, filter, top, selected });
  }, 200);
}

// ---- Keyboard and opening ------------------------------------------------------------------

/** A row asked to open (Enter) before its block arrived: opened when it does, unless the selection moved. */
let pendingOpen: number | null = null;

function openSelected(): void {
  const r = cache.row(selected);
  pendingOpen = r === undefined && !cache.loaded(selected) ? selected : null;
  if (r) vs.post({ type: 'openProcess', pid: r.pid });
}

function profileSelected(): void {
  const r = cache.row(selected);
  if (r) vs.post({ type: 'profile', pid: r.pid });
}

function onKey(e: KeyboardEvent): void {
  if (e.key === 'p' || e.key === 'P') {
    e.preventDefault();
    profileSelected();
    return;
  }
  if (e.key === 'Enter') {
    e.preventDefault();
    openSelected();
    return;
  }
  const viewport = dom.viewport();
  const next = moveSelection(e.key, selected, matched, pageRows(viewport));
  if (next === null) return;
  e.preventDefault();
  selected = next;
  const top = revealScrollTop(selected, visibleRows(dom.grid.scrollTop, matched, viewport, 0), matched, viewport);
  if (top !== null) dom.grid.scrollTop = top;
  render();
  scheduleFetch();
  persistSoon();
}

// ---- Pages from the host -------------------------------------------------------------------

function onPage(page: TablePage): void {
  const q = page.query;
  const decision = pageDecision({ sort, filter, adopted }, q);
  if (decision === 'stale') return;
  if (decision === 'adopt') {
    sort = q.sort;
    filter = q.filter;
    cache.reset(sort, filter);
    changes.clear();
    dom.setFilter(filter);
    dom.renderHead(sort);
  }
  adopted = true;
  if (hostBlock === null) hostBlock = blockOf(q.offset);
  via = page.via;
  note = typeof page.note === 'string' ? page.note : undefined;
  total = page.total;
  matched = page.matched;
  const now = Date.now();
  const previous = cache.store(q.offset, q.limit, page.rows, now);
  changes.mark(changedCells(previous, page.rows, TRACKED), now);
  if (pendingOpen !== null && cache.loaded(pendingOpen)) {
    const r = pendingOpen === selected ? cache.row(pendingOpen) : undefined;
    pendingOpen = null;
    if (r) vs.post({ type: 'openProcess', pid: r.pid });
  }
  selected = Math.min(selected, Math.max(0, matched - 1));
  status.set(matched === 0 ? (filter ? `No process matches “${filter}”.` : 'No processes.') : '');
  render();
  if (pendingRestore && saved?.sort === sort && (saved.filter ?? '') === filter) {
    // After render(): the scroll space has its height now, so the scrollTop is not clamped to 0.
    selected = Math.min(pendingRestore.selected, Math.max(0, matched - 1));
    dom.grid.scrollTop = scrollTopFor(pendingRestore.top, matched, dom.viewport());
    render();
  }
  pendingRestore = null;
  cache.prune(blockOf(visibleRows(dom.grid.scrollTop, matched, dom.viewport(), 0).top));
  scheduleFetch();
}

vs.listen(
  (m: Exclude<HostToTable, { type: 'error' }>) => {
    switch (m.type) {
      case 'page':
        onPage(m.page);
        return;
      default:
        // The union has one member besides errors: check its tag.
        assertNever(m.type);
    }
  },
  (message) => {
    // Ask again on the next scroll instead of waiting for answers that will not come.
    cache.clearInFlight();
    status.set(message, 'error');
  },
);
