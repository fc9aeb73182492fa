// DOM of the process table: toolbar (filter, sort, summary), a role="grid" scroller holding a
// sticky header row and a spacer as tall as the (scaled) scroll space, and the few row elements
// in view, reused between frames while their data is unchanged. Node data goes in as text only.
import type { ProcessRow, ProcessSort } from '../../src/protocol/webview';
import { formatBytes, h, replaceChildren } from '../common/dom';
import { CHANGE_FADE_MS, ROW_HEIGHT, SORTS, SORT_LABELS, cellKey, scrollSpace, visibleColumns, type BlockCache, type ChangeTracker, type Column, type ColumnSpec, type Visible } from './model';

export interface TableHandlers {
  sort(sort: ProcessSort): void;
  filter(text: string): void;
  /** A row was clicked. */
  open(index: number): void;
  scroll(): void;
  key(event: KeyboardEvent): void;
  resize(): void;
  /** Profile the selected row's process (toolbar button or the P key). */
  profile(): void;
}

export interface RowsInput {
  visible: Visible;
  total: number;
  sort: ProcessSort;
  selected: number;
  cache: BlockCache;
  changes: ChangeTracker;
  now: number;
}

function cellText(r: ProcessRow, c: Column): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  switch (c) {
    case 'pid':
      return r.pid;
    case 'name':
      // The naming rule's title (registered name, else module and label such as a queue's name).
      return r.title ?? r.name ?? '';
    case 'memory':
      return formatBytes(r.memory);
    case 'reductions':
      return n(r.reductions);
    case 'mailbox':
      return n(r.messageQueueLen);
    case 'reductionRate':
      return r.reductionRate === undefined ? '' : n(r.reductionRate);
    case 'currentFunction':
      return r.currentFunction ?? '';
    case 'initialCall':
      return r.initialCall ?? '';
  }
}

function cellTitle(r: ProcessRow, c: Column, text: string): string {
  if (c === 'memory') return `${r.memory.toLocaleString('en-US')} bytes`;
  return text;
}

interface RenderedRow {
  el: HTMLElement;
  row: ProcessRow | undefined;
  selected: boolean;
  /** Which cells were highlighted when the element was built. */
  changed: string;
  columns: string;
}

export class TableDom {
  readonly filterBox: HTMLInputElement;
  readonly sortSelect: HTMLSelectElement;
  readonly summary: HTMLElement;
  readonly grid: HTMLElement;
  private readonly head: HTMLElement;
  private readonly body: HTMLElement;
  private readonly rowsEl: HTMLElement;
  private rendered = new Map<number, RenderedRow>();
  private columns: ColumnSpec[] = [];
  private columnsKey = '';

  constructor(root: HTMLElement, status: HTMLElement, private readonly on: TableHandlers) {
    this.filterBox = h('input', {
      class: 'filter',
      attrs: { type: 'search', placeholder: 'Filter by name, module or pid (on the target)', 'aria-label': 'Filter processes by name, module or pid', spellcheck: 'false' },
      on: { input: () => on.filter(this.filterBox.value) },
    });
    this.sortSelect = h(
      'select',
      { title: 'Sort on the target', aria: { label: 'Sort by' }, on: { change: () => on.sort(this.sortSelect.value as ProcessSort) } },
      ...SORTS.map((s) => h('option', { attrs: { value: s } }, `by ${SORT_LABELS[s]}`)),
    );
    this.summary = h('span', { class: 'muted summary' });
    this.head = h('div', { class: 'head', role: 'row', aria: { rowindex: '1' } });
    this.rowsEl = h('div', { class: 'rows', role: 'presentation', on: { click: (e) => this.clicked(e) } });
    this.body = h('div', { class: 'body', role: 'rowgroup' }, this.rowsEl);
    this.grid = h('div', { class: 'grid', role: 'grid', tabindex: 0, aria: { label: 'Processes', rowcount: '1', multiselectable: 'false' } }, this.head, this.body);
    this.grid.addEventListener('scroll', () => on.scroll(), { passive: true });
    this.grid.addEventListener('keydown', (e) => {
      if (e.target === this.grid) on.key(e);
    });
    new ResizeObserver(() => on.resize()).observe(this.grid);
    const profile = h('button', { class: 'secondary', title: 'Sample the selected process and show a flame graph (P)', on: { click: () => on.profile() } }, 'Profile selected…');
    root.append(h('div', { class: 'toolbar' }, this.filterBox, this.sortSelect, profile, this.summary), status, this.grid);
  }

  /** Height available to rows (the grid minus its sticky header). */
  viewport(): number {
    const height = this.grid.clientHeight - this.head.offsetHeight;
    return height > 0 ? height : 600;
  }

  renderHead(sort: ProcessSort): void {
    this.columns = visibleColumns(sort);
    this.columnsKey = `${sort}|${this.columns.map((c) => c.id).join(',')}`;
    this.grid.classList.toggle('with-rate', sort === 'reduction-rate');
    this.grid.setAttribute('aria-colcount', String(this.columns.length));
    this.sortSelect.value = sort;
    replaceChildren(
      this.head,
      ...this.columns.map((c, i) => {
        const sorted = c.sort === sort;
        const cls = [c.numeric ? 'num' : '', sorted ? 'sorted' : ''].filter((x) => x !== '').join(' ');
        const attrs = { class: cls, role: 'columnheader', aria: { colindex: String(i + 1), ...(c.sort ? { sort: sorted ? 'descending' : 'none' } : {}) } };
        if (!c.sort) return h('span', attrs, c.title);
        const s = c.sort;
        return h('span', attrs, h('button', { class: 'sort', title: sorted ? `Sorted by ${SORT_LABELS[s]} on the target (largest first)` : `Sort by ${SORT_LABELS[s]} on the target`, on: { click: () => this.on.sort(s) } }, c.title));
      }),
    );
    this.rendered.clear();
  }

  setFilter(text: string): void {
    if (this.filterBox.value !== text) this.filterBox.value = text;
  }

  renderRows(p: RowsInput): void {
    const { height } = scrollSpace(p.total);
    this.body.style.height = `${height}px`;
    this.grid.setAttribute('aria-rowcount', String(p.total + 1));
    this.rowsEl.style.transform = `translateY(${this.grid.scrollTop + p.visible.offsetPx - (p.visible.top - p.visible.first) * ROW_HEIGHT}px)`;
    const next = new Map<number, RenderedRow>();
    const els: HTMLElement[] = [];
    for (let i = p.visible.first; i <= p.visible.last; i++) {
      const row = p.cache.row(i);
      const selected = i === p.selected;
      const changed = row ? this.changedCols(row.pid, p) : '';
      const old = this.rendered.get(i);
      const r =
        old && old.row === row && old.selected === selected && old.changed === changed && old.columns === this.columnsKey && (row !== undefined || old.el.classList.contains('loading') === !p.cache.loaded(i))
          ? old
          : { el: this.buildRow(i, row, selected, p), row, selected, changed, columns: this.columnsKey };
      next.set(i, r);
      els.push(r.el);
    }
    this.rendered = next;
    // Only touch the DOM when the set of rows changed (a scroll within the same rows moves the transform only).
    const current = this.rowsEl.children;
    let same = current.length === els.length;
    for (let k = 0; same && k < els.length; k++) same = current[k] === els[k];
    if (!same) this.rowsEl.replaceChildren(...els);
    const active = this.rendered.get(p.selected);
    if (active?.row) this.grid.setAttribute('aria-activedescendant', active.el.id);
    else this.grid.removeAttribute('aria-activedescendant');
  }

  private changedCols(pid: string, p: RowsInput): string {
    let out = '';
    for (const c of this.columns) if (p.changes.age(cellKey(pid, c.id), p.now) !== null) out += `${c.id},`;
    return out;
  }

  private buildRow(i: number, row: ProcessRow | undefined, selected: boolean, p: RowsInput): HTMLElement {
    const aria = { rowindex: String(i + 2), selected: String(selected) };
    if (!row) {
      const loading = !p.cache.loaded(i);
      return h(
        'div',
        { class: `row ${loading ? 'loading' : 'gone'}${selected ? ' selected' : ''}`, role: 'row', attrs: { id: `row-${i}` }, aria },
        h('span', { role: 'gridcell', class: 'placeholder' }, loading ? 'loading…' : '(exited since the page was read)'),
      );
    }
    return h(
      'div',
      { class: `row${selected ? ' selected' : ''}`, role: 'row', attrs: { id: `row-${i}` }, dataset: { pid: row.pid, index: String(i) }, aria },
      ...this.columns.map((c, k) => {
        const text = cellText(row, c.id);
        const age = p.changes.age(cellKey(row.pid, c.id), p.now);
        const cell = h('span', { class: `${c.numeric ? 'num' : ''}${age !== null ? ' changed' : ''}`.trim(), role: 'gridcell', title: cellTitle(row, c.id, text), dataset: { col: c.id }, aria: { colindex: String(k + 1) } }, text);
        // A cell built mid-fade (scrolled into view, or its row re-rendered) resumes where the fade is.
        if (age !== null && age > 0) cell.style.animationDelay = `-${Math.min(age, CHANGE_FADE_MS)}ms`;
        return cell;
      }),
    );
  }

  private clicked(e: MouseEvent): void {
    const target = e.target instanceof Element ? e.target.closest<HTMLElement>('.row[data-index]') : null;
    const index = target?.dataset.index;
    if (index === undefined) return;
    this.grid.focus({ preventScroll: true });
    this.on.open(Number(index));
  }
}
