// Supervision tree webview: wiring of the toolbar, the d3 canvas (render.ts) and the messages of
// the host. Live refresh keeps the zoom, the collapsed set and the selection (all keyed by
// stable ids from model.ts) and saves them in the webview state.
import '../common/base.css';
import './style.css';
import { assertNever, type HostToTree, type TreeFocus } from '../../src/protocol/webview';
import { h, statusLine } from '../common/dom';
import { channel } from '../common/vscode-api';
import {
  defaultCollapsed,
  effectiveCollapsed,
  expandPath,
  focusPath,
  mainApp,
  navigate,
  onlyApp,
  nodeById,
  pagedChildPath,
  prunePrefs,
  searchPaths,
  setExpanded,
  shapeTree,
  type CollapsePrefs,
  type VNode,
} from './model';
import { READABLE_SCALE, TreeCanvas, type Transform } from './render';

interface State {
  prefs: CollapsePrefs;
  selected: string | null;
  transform: Transform | null;
  /** One application's tree only (null: all). */
  app?: string | null;
}

/** State saved by the first version of this view: a plain collapsed list. */
interface OldState {
  collapsed?: string[];
}

const vs = channel('supervision-tree');
const saved = vs.getState<Partial<State> & OldState>();
let prefs: CollapsePrefs = saved?.prefs ?? { collapsed: saved?.collapsed ?? [], expanded: [] };
let selected: string | null = saved?.selected ?? null;
/** The whole tree as the host sent it; `root` is what is shown (one application or all). */
let fullRoot: VNode | null = null;
let root: VNode | null = null;
let app: string | null = saved?.app ?? null;
let collapsed = new Set<string>();
let matches: string[][] = [];
let matchIndex = 0;
let pendingFocus: { focus: TreeFocus; triesLeft: number } | null = null;
let pendingPage: { supervisorPid: string; offset: number } | null = null;

const status = statusLine();
const search = h('input', { attrs: { type: 'search', placeholder: 'Find by name, module or pid', 'aria-label': 'Find in tree' } });
const matchInfo = h('span', { class: 'match-info', aria: { live: 'polite' } });
const title = h('span', { class: 'muted' });
const legend = h(
  'span',
  { class: 'legend' },
  h('span', { class: 'warn' }, 'restarts ≥ 60% of allowed, mailbox ≥ 1,000 or growing > 10/s'),
  h('span', { class: 'bad' }, 'restarts at the limit, not answering, mailbox ≥ 10,000'),
);
const canvas = new TreeCanvas({
  toggle: (n) => {
    selected = n.id;
    toggle(n.id);
  },
  activate: (n) => activate(n),
  zoomed: () => saveState(),
});
const appSelect = h('select', { attrs: { 'aria-label': 'Application', title: "Show one application's tree" } });
appSelect.addEventListener('change', () => showApp(appSelect.value === '' ? null : appSelect.value));
const empty = h('div', { class: 'empty muted' }, 'Loading the supervision tree…');
const frame = h('div', { class: 'canvas' }, empty);
frame.appendChild(canvas.svg);
document.getElementById('root')?.append(
  h(
    'div',
    { class: 'toolbar' },
    appSelect,
    search,
    matchInfo,
    h('button', { title: 'Read the tree from the node again', on: { click: () => vs.post({ type: 'refresh' }) } }, 'Refresh'),
    h('button', { class: 'secondary', title: 'Show the whole tree', on: { click: () => canvas.fit() } }, 'Fit'),
    h('button', { class: 'secondary', title: 'Expand every node, groups included', on: { click: () => expandAll() } }, 'Expand all'),
    title,
    legend,
  ),
  status.el,
  frame,
);
status.set('');

let placed = false;
if (saved?.transform) {
  canvas.setTransform(saved.transform);
  placed = true;
}

function saveState(): void {
  vs.setState<State>({ prefs, selected, transform: canvas.transform, app });
}

/** The application picker: "All applications" and each application with a supervisor. */
function fillAppSelect(): void {
  if (!fullRoot) return;
  const names = fullRoot.children.map((c) => c.label);
  const current = [...appSelect.options].map((o) => o.value);
  const wanted = ['', ...names];
  if (current.length !== wanted.length || current.some((v, i) => v !== wanted[i])) {
    appSelect.replaceChildren(...wanted.map((v) => h('option', { attrs: { value: v } }, v === '' ? `All applications (${names.length})` : v)));
  }
  appSelect.value = app !== null && names.includes(app) ? app : '';
}

/** Shows one application's tree (or all), placed so its top supervisor is on screen. */
function showApp(next: string | null): void {
  app = next;
  if (!fullRoot) return;
  root = onlyApp(fullRoot, app);
  fillAppSelect();
  render();
  const first = app !== null ? root.children[0] : mainApp(root);
  if (first) canvas.place(first.id);
}

function render(): void {
  if (!root) return;
  collapsed = effectiveCollapsed(root, prefs);
  const ids = new Set(matches.map((p) => p[p.length - 1] ?? ''));
  canvas.render({ root, collapsed, selected, matches: ids });
  saveState();
}

function toggle(id: string, expand?: boolean): void {
  if (!root) return;
  prefs = setExpanded(prefs, root, id, expand ?? collapsed.has(id));
  render();
}

function expandAll(): void {
  if (!root) return;
  prefs = { collapsed: [], expanded: [...defaultCollapsed(root)] };
  render();
}

/** Click on a node or Enter: "more" pages, a process opens, anything else toggles. */
function activate(n: VNode): void {
  selected = n.id;
  if (n.kind === 'more' && n.page) {
    pendingPage = n.page;
    status.set('Loading the next page of children…');
    vs.post({ type: 'page', supervisorPid: n.page.supervisorPid, offset: n.page.offset });
    render();
  } else if (n.pid !== null) {
    render();
    vs.post({ type: 'openProcess', pid: n.pid });
  } else if (n.children.length > 0) toggle(n.id);
  else render();
}

/** Expands the ancestors of the path's last node, selects and centers it. */
function goTo(path: string[], animate: boolean): void {
  if (!root) return;
  prefs = expandPath(prefs, root, path);
  selected = path[path.length - 1] ?? null;
  render();
  if (selected !== null) canvas.center(selected, animate, READABLE_SCALE);
}

function runSearch(step: number): void {
  if (!root) return;
  const text = search.value;
  matches = searchPaths(root, text);
  if (text.trim() === '') {
    matchInfo.textContent = '';
    render();
    return;
  }
  if (matches.length === 0) {
    matchInfo.textContent = 'no match';
    render();
    return;
  }
  matchIndex = step === 0 ? 0 : (matchIndex + step + matches.length) % matches.length;
  matchInfo.textContent = `${matchIndex + 1} of ${matches.length}`;
  const path = matches[matchIndex];
  // Typing jumps at once (no animation per key stroke).
  if (path) goTo(path, false);
}

search.addEventListener('input', () => runSearch(0));
search.addEventListener('keydown', (e: KeyboardEvent) => {
  if (e.key === 'Enter') {
    e.preventDefault();
    runSearch(e.shiftKey ? -1 : 1);
  } else if (e.key === 'Escape') {
    search.value = '';
    runSearch(0);
  }
});

canvas.svg.addEventListener('keydown', (e: KeyboardEvent) => {
  if (!root || e.altKey || e.ctrlKey || e.metaKey) return;
  const action = navigate(root, collapsed, selected, e.key);
  if (action === null) return;
  e.preventDefault();
  switch (action.kind) {
    case 'select':
      selected = action.id;
      render();
      canvas.reveal(action.id);
      return;
    case 'expand':
      toggle(action.id, action.expand);
      return;
    case 'activate': {
      const n = nodeById(root, action.id);
      if (n) activate(n);
      return;
    }
    default:
      assertNever(action);
  }
});

function tryFocus(focus: TreeFocus): boolean {
  if (!root) return false;
  const path = focusPath(root, focus);
  if (!path) return false;
  goTo(path, false);
  return true;
}

function focusText(focus: TreeFocus): string {
  return focus.name ?? focus.module ?? focus.pid ?? 'the process';
}

vs.listen((m: Exclude<HostToTree, { type: 'error' }>) => {
  switch (m.type) {
    case 'tree': {
      fullRoot = shapeTree(m.node, m.apps, m.health);
      root = onlyApp(fullRoot, app);
      fillAppSelect();
      if (prefs.collapsed.length + prefs.expanded.length > 500) prefs = prunePrefs(prefs, fullRoot);
      title.textContent = `${m.node} · refreshed ${new Date(m.refreshedAt).toLocaleTimeString()}`;
      empty.hidden = root.children.length > 0;
      empty.textContent = 'No application with a supervisor is running on this node.';
      status.set('');
      if (search.value.trim() !== '') matches = searchPaths(root, search.value);
      render();
      if (!placed) {
        // First view: the node's own main application (rabbit on RabbitMQ) on screen at zoom 1.
        placed = true;
        const first = app !== null ? root.children[0] : mainApp(root);
        canvas.place(first?.id ?? root.id);
      }
      if (pendingPage) {
        const path = pagedChildPath(root, pendingPage.supervisorPid, pendingPage.offset);
        pendingPage = null;
        status.set(path ? '' : 'That supervisor has no further children.');
        if (path) goTo(path, true);
      }
      if (pendingFocus) {
        if (tryFocus(pendingFocus.focus)) pendingFocus = null;
        else if (--pendingFocus.triesLeft <= 0) {
          status.set(`${focusText(pendingFocus.focus)} is not in the supervision tree.`);
          pendingFocus = null;
        }
      }
      return;
    }
    case 'showApp':
      // The host repeating the application shown (after a reload): keep the view as the user left it.
      if (m.app !== app || !root) showApp(m.app);
      return;
    case 'focus':
      // A focus outside the application shown: show them all.
      if (app !== null && fullRoot && root && !focusPath(root, m.focus) && focusPath(fullRoot, m.focus)) showApp(null);
      if (tryFocus(m.focus)) {
        status.set('');
        pendingFocus = null;
      } else {
        // Not there yet (no tree, or it appears with the next refresh): try again with the next tree.
        pendingFocus = { focus: m.focus, triesLeft: root ? 1 : 2 };
        if (root) status.set(`Looking for ${focusText(m.focus)}…`);
      }
      return;
    default:
      assertNever(m);
  }
}, (message) => status.set(message, 'error'));
