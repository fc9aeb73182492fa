// Process table webview: virtualized rows over a scroll space sized for the whole node, blocks of
// 200 rows fetched on demand (sorted and filtered on the target), live refresh with changed
// cells highlighted, keyboard navigation, click to open a process.
import '../common/base.css';
import './style.css';
import type { ProcessRow, ProcessSort } from '../../src/core/processes';
import { assertNever, type HostToTable, type TableQuery } from '../../src/protocol/webview';
import { formatBytes, formatCount, h, replaceChildren, statusLine } from '../common/dom';
import { channel } from '../common/vscode-api';
import { BLOCK, BlockCache, ROW_HEIGHT, changedCells, firstRow, moveSelection, scrollSpace, scrollTopFor, type Column } from './model';

interface State {
  sort: ProcessSort;
  filter: string;
  scrollTop: number;
}

const vs = channel('process-table');
const saved = vs.getState<State>();
let sort: ProcessSort = saved?.sort ?? 'mailbox';
let filter = saved?.filter ?? '';
let total = 0;
let selected = 0;
let via = '';
const cache = new BlockCache();
cache.reset(sort, filter);
let changed = new Set<string>();
let changedTimer: number | undefined;

const COLUMNS: Array<{ id: Column; title: string; sort?: ProcessSort; num?: boolean }> = [
  { id: 'pid', title: 'Pid' },
  { id: 'name', title: 'Name' },
  { id: 'memory', title: 'Memory', sort: 'memory', num: true },
  { id: 'reductions', title: 'Reductions', sort: 'reductions', num: true },
  { id: 'mailbox', title: 'Mailbox', sort: 'mailbox', num: true },
  { id: 'reductionRate', title: 'Reds/s', sort: 'reduction-rate', num: true },
  { id: 'currentFunction', title: 'Current function' },
  { id: 'initialCall', title: 'Initial call' },
];

const status = statusLine();
const summary = h('span', { class: 'muted' });
const filterBox = h('input', { attrs: { type: 'search', placeholder: 'Filter by name, module or pid (on the target)', 'aria-label': 'Filter processes' } });
filterBox.value = filter;
const head = h('div', { class: 'head', role: 'row' });
const spacer = h('div', { class: 'spacer' });
const rowsEl = h('div', { class: 'rows', role: 'rowgroup' });
const grid = h('div', { class: 'grid', role: 'grid', tabindex: 0, aria: { label: 'Processes' } }, spacer, rowsEl);
document.getElementById('root')?.append(h('div', { class: 'toolbar' }, filterBox, summary), status.el, head, grid);

function name(r: ProcessRow): string {
  return r.name ?? '';
}

function cell(r: ProcessRow, c: Column): string {
  switch (c) {
    case 'pid':
      return r.pid;
    case 'name':
      return name(r);
    case 'memory':
      return formatBytes(r.memory);
    case 'reductions':
      return formatCount(r.reductions);
    case 'mailbox':
      return r.messageQueueLen.toLocaleString('en-US');
    case 'reductionRate':
      return r.reductionRate === undefined ? '' : formatCount(r.reductionRate);
    case 'currentFunction':
      return r.currentFunction ?? '';
    case 'initialCall':
      return r.initialCall ?? '';
  }
}

function renderHead(): void {
  replaceChildren(
    head,
    ...COLUMNS.map((c) =>
      h(
        'span',
        {
          class: [c.num ? 'num' : '', c.sort ? 'sortable' : '', c.sort === sort ? 'sorted' : ''].join(' ').trim(),
          role: 'columnheader',
          aria: { sort: c.sort === sort ? 'descending' : 'none' },
          ...(c.sort ? { title: `Sort by ${c.title.toLowerCase()} on the target`, on: { click: () => setSort(c.sort as ProcessSort) } } : {}),
        },
        c.title,
      ),
    ),
  );
}

function query(offset: number): TableQuery {
  return { sort, filter, offset, limit: BLOCK };
}

function setSort(s: ProcessSort): void {
  if (s === sort) return;
  sort = s;
  cache.reset(sort, filter);
  grid.scrollTop = 0;
  selected = 0;
  renderHead();
  status.set(`Sorting by ${s} on the target…`);
  vs.post({ type: 'query', query: query(0) });
  persist();
}

let filterTimer: number | undefined;
filterBox.addEventListener('input', () => {
  window.clearTimeout(filterTimer);
  filterTimer = window.setTimeout(() => {
    filter = filterBox.value.trim();
    cache.reset(sort, filter);
    grid.scrollTop = 0;
    selected = 0;
    status.set(filter ? `Filtering by "${filter}" on the target…` : '');
    vs.post({ type: 'query', query: query(0) });
    persist();
  }, 250);
});

function persist(): void {
  vs.setState<State>({ sort, filter, scrollTop: grid.scrollTop });
}

function render(): void {
  const { height } = scrollSpace(total);
  spacer.style.height = `${height}px`;
  const viewport = grid.clientHeight || 600;
  const { index, offsetPx } = firstRow(grid.scrollTop, total, viewport);
  const count = Math.ceil(viewport / ROW_HEIGHT) + 2;
  for (const b of cache.missing(index - 20, index + count + 20, total)) vs.post({ type: 'query', query: query(b * BLOCK) });
  rowsEl.style.transform = `translateY(${grid.scrollTop + offsetPx}px)`;
  const rows: HTMLElement[] = [];
  for (let i = index; i < Math.min(total, index + count); i++) {
    const r = cache.row(i);
    if (!r) {
      rows.push(h('div', { class: 'row loading', role: 'row', aria: { rowindex: String(i + 1) } }, h('span', {}, 'loading…')));
      continue;
    }
    rows.push(
      h(
        'div',
        {
          class: `row${i === selected ? ' selected' : ''}`,
          role: 'row',
          dataset: { pid: r.pid, index: String(i) },
          aria: { rowindex: String(i + 1), selected: String(i === selected) },
          on: {
            click: () => {
              selected = i;
              vs.post({ type: 'openProcess', pid: r.pid });
              render();
            },
          },
        },
        ...COLUMNS.map((c) => h('span', { class: `${c.num ? 'num' : ''}${changed.has(`${r.pid}|${c.id}`) ? ' changed' : ''}`.trim(), role: 'gridcell', title: cell(r, c.id), dataset: { col: c.id } }, cell(r, c.id))),
      ),
    );
  }
  replaceChildren(rowsEl, ...rows);
  grid.setAttribute('aria-rowcount', String(total));
  summary.textContent = `${total.toLocaleString('en-US')} ${filter ? 'matching ' : ''}processes · sorted by ${sort} on the target (${via})`;
}

let scrollFrame = 0;
grid.addEventListener('scroll', () => {
  cancelAnimationFrame(scrollFrame);
  scrollFrame = requestAnimationFrame(() => {
    render();
    persist();
  });
});
new ResizeObserver(() => render()).observe(grid);

grid.addEventListener('keydown', (e: KeyboardEvent) => {
  if (e.key === 'Enter') {
    const r = cache.row(selected);
    if (r) vs.post({ type: 'openProcess', pid: r.pid });
    return;
  }
  const next = moveSelection(e.key, selected, total, Math.floor((grid.clientHeight || 600) / ROW_HEIGHT));
  if (next === null) return;
  e.preventDefault();
  selected = next;
  const viewport = grid.clientHeight || 600;
  const { index } = firstRow(grid.scrollTop, total, viewport);
  const visibleRows = Math.floor(viewport / ROW_HEIGHT);
  if (selected < index || selected >= index + visibleRows) grid.scrollTop = scrollTopFor(Math.max(0, selected - Math.floor(visibleRows / 2)), total);
  render();
});

renderHead();
vs.listen((m: Exclude<HostToTable, { type: 'error' }>) => {
  switch (m.type) {
    case 'page': {
      const p = m.page;
      if (p.query.sort !== sort || p.query.filter !== filter) return; // an answer to an older query
      via = p.via;
      total = p.matched;
      const before = cache.put(p.query.offset, p.rows);
      changed = changedCells(before, p.rows, ['memory', 'reductions', 'mailbox', 'reductionRate', 'currentFunction']);
      // The highlight marks what this refresh changed, then goes.
      window.clearTimeout(changedTimer);
      if (changed.size > 0) changedTimer = window.setTimeout(() => { changed = new Set(); render(); }, 1500);
      status.set(total === 0 && filter ? `No process matches "${filter}"` : '');
      render();
      if (saved && grid.scrollTop === 0 && saved.scrollTop > 0 && saved.sort === sort && saved.filter === filter) grid.scrollTop = saved.scrollTop;
      return;
    }
    default:
      // One message type besides errors: the union has a single member, so check its tag.
      assertNever(m.type);
  }
}, (message) => status.set(message, 'error'));
