// Supervision tree webview: d3 tree layout with zoom/pan, collapse, paging of large supervisors,
// health colors, keyboard navigation and live refresh that keeps zoom, collapsed set and selection.
import '../common/base.css';
import './style.css';
import { hierarchy, select, tree as d3tree, zoom, zoomIdentity, zoomTransform, type HierarchyPointNode, type ZoomTransform } from 'd3';
import { assertNever, type HostToTree, type TreeFocus } from '../../src/protocol/webview';
import { h, statusLine } from '../common/dom';
import { channel } from '../common/vscode-api';
import { defaultCollapsed, findPath, matchFocus, shapeTree, visible, type VNode } from './model';

interface State {
  collapsed: string[];
  selected: string | null;
  transform: { k: number; x: number; y: number } | null;
}

const vs = channel('supervision-tree');
const saved = vs.getState<State>();
let collapsed = new Set<string>(saved?.collapsed ?? []);
let collapsedInitialized = saved !== undefined;
let selected: string | null = saved?.selected ?? null;
let root: VNode | null = null;
let layoutNodes: Array<HierarchyPointNode<VNode>> = [];

const status = statusLine();
const search = h('input', { attrs: { type: 'search', placeholder: 'Find by name, module or pid', 'aria-label': 'Find in tree' } });
const title = h('span', { class: 'muted' });
const svgEl = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
svgEl.setAttribute('role', 'tree');
svgEl.setAttribute('aria-label', 'Supervision tree');
const canvas = h('div', { class: 'canvas', tabindex: 0 });
canvas.appendChild(svgEl);
const legend = h('span', { class: 'legend muted' }, h('span', { class: 'warn' }, 'restarts ≥ 60% of limit or mailbox ≥ 1,000'), h('span', { class: 'bad' }, 'at limit, not answering, or mailbox ≥ 10,000'));
document.getElementById('root')?.append(
  h('div', { class: 'toolbar' },
    search,
    h('button', { on: { click: () => vs.post({ type: 'refresh' }) } }, 'Refresh'),
    h('button', { class: 'secondary', on: { click: () => fit() } }, 'Fit'),
    h('button', { class: 'secondary', on: { click: () => { collapsed = new Set(); render(); } } }, 'Expand all'),
    title,
    legend,
  ),
  status.el,
  canvas,
);
status.set('Loading the supervision tree…');

const svg = select(svgEl);
const g = svg.append('g');
const zoomer = zoom<SVGSVGElement, unknown>()
  .scaleExtent([0.05, 4])
  .on('zoom', (event: { transform: ZoomTransform }) => {
    g.attr('transform', event.transform.toString());
    saveState();
  });
svg.call(zoomer);
let placed = false;
if (saved?.transform) {
  svg.call(zoomer.transform, zoomIdentity.translate(saved.transform.x, saved.transform.y).scale(saved.transform.k));
  placed = true;
}

function saveState(): void {
  const t = zoomTransform(svgEl);
  vs.setState<State>({ collapsed: [...collapsed], selected, transform: { k: t.k, x: t.x, y: t.y } });
}

function render(): void {
  if (!root) return;
  const shown = hierarchy(visible(root, collapsed), (d) => d.children);
  const layout = d3tree<VNode>().nodeSize([26, 300]);
  const laid = layout(shown);
  layoutNodes = laid.descendants();
  g.selectAll('*').remove();
  g.selectAll('path.link')
    .data(laid.links())
    .join('path')
    .attr('class', 'link')
    .attr('d', (l) => `M${l.source.y},${l.source.x}C${(l.source.y + l.target.y) / 2},${l.source.x} ${(l.source.y + l.target.y) / 2},${l.target.x} ${l.target.y},${l.target.x}`);
  const term = search.value.trim().toLowerCase();
  const node = g
    .selectAll('g.node')
    .data(layoutNodes)
    .join('g')
    .attr('class', (d) => {
      const c = ['node', d.data.kind, d.data.health];
      if (collapsed.has(d.data.id) && d.data.children.length > 0) c.push('collapsed');
      if (d.data.id === selected) c.push('selected');
      if (term && d.data.searchText.includes(term)) c.push('match');
      return c.join(' ');
    })
    .attr('transform', (d) => `translate(${d.y},${d.x})`)
    .attr('role', 'treeitem')
    .attr('aria-label', (d) => `${d.data.label}, ${d.data.detail}`)
    .attr('aria-selected', (d) => String(d.data.id === selected))
    .attr('data-label', (d) => d.data.label)
    .attr('data-pid', (d) => d.data.pid ?? '')
    .on('click', (event: MouseEvent, d) => {
      event.stopPropagation();
      activate(d.data, event.detail >= 2);
    });
  node.append('circle').attr('r', 6);
  node.append('text').attr('class', 'label').attr('x', 10).attr('dy', '-0.1em').text((d) => d.data.label);
  node.append('text').attr('class', 'detail').attr('x', 10).attr('dy', '1.1em').text((d) => d.data.detail);
  saveState();
}

/** Click: toggle a supervisor/group, page "more", select; double click or Enter: open the process. */
function activate(n: VNode, open: boolean): void {
  selected = n.id;
  if (n.kind === 'more' && n.page) {
    status.set('Loading the next page of children…');
    vs.post({ type: 'page', supervisorPid: n.page.supervisorPid, offset: n.page.offset });
  } else if (open && n.pid) {
    vs.post({ type: 'openProcess', pid: n.pid });
  } else if (n.kind === 'worker' && n.pid) {
    vs.post({ type: 'openProcess', pid: n.pid });
  } else if (n.children.length > 0) {
    if (collapsed.has(n.id)) collapsed.delete(n.id);
    else collapsed.add(n.id);
  }
  render();
}

function fit(): void {
  const box = (g.node() as SVGGElement).getBBox();
  const w = svgEl.clientWidth || 800;
  const hgt = svgEl.clientHeight || 600;
  const k = Math.min(2, 0.9 / Math.max(box.width / w, box.height / hgt));
  svg.call(zoomer.transform, zoomIdentity.translate(w / 2 - k * (box.x + box.width / 2), hgt / 2 - k * (box.y + box.height / 2)).scale(k));
}

function center(id: string): void {
  const d = layoutNodes.find((n) => n.data.id === id);
  if (!d) return;
  const t = zoomTransform(svgEl);
  svg.call(zoomer.transform, zoomIdentity.translate((svgEl.clientWidth || 800) / 3 - d.y * t.k, (svgEl.clientHeight || 600) / 2 - d.x * t.k).scale(t.k));
}

function focusOn(match: (n: VNode) => boolean): boolean {
  if (!root) return false;
  const path = findPath(root, match);
  if (!path) return false;
  for (const id of path.slice(0, -1)) collapsed.delete(id);
  selected = path[path.length - 1] ?? null;
  render();
  if (selected) center(selected);
  return true;
}

let pendingFocus: TreeFocus | null = null;

search.addEventListener('input', () => {
  const term = search.value.trim().toLowerCase();
  if (term === '') return render();
  if (!focusOn((n) => n.kind !== 'root' && n.searchText.includes(term))) {
    status.set(`Nothing matches "${search.value}"`);
    render();
  } else status.set('');
});

canvas.addEventListener('keydown', (e: KeyboardEvent) => {
  if (layoutNodes.length === 0) return;
  const current = layoutNodes.find((n) => n.data.id === selected) ?? layoutNodes[0];
  if (!current) return;
  let next: HierarchyPointNode<VNode> | undefined;
  const siblings = current.parent?.children ?? [current];
  const i = siblings.indexOf(current);
  switch (e.key) {
    case 'ArrowDown':
      next = siblings[i + 1];
      break;
    case 'ArrowUp':
      next = siblings[i - 1];
      break;
    case 'ArrowLeft':
      if (!collapsed.has(current.data.id) && current.data.children.length > 0) {
        collapsed.add(current.data.id);
        render();
        return e.preventDefault();
      }
      next = current.parent ?? undefined;
      break;
    case 'ArrowRight':
      if (collapsed.has(current.data.id)) {
        collapsed.delete(current.data.id);
        render();
        return e.preventDefault();
      }
      next = current.children?.[0];
      break;
    case 'Enter':
      activate(current.data, true);
      return e.preventDefault();
    default:
      return;
  }
  e.preventDefault();
  if (next) {
    selected = next.data.id;
    render();
    center(next.data.id);
  }
});

vs.listen((m: HostToTree) => {
  switch (m.type) {
    case 'tree': {
      root = shapeTree(m.node, m.apps, m.health);
      if (!collapsedInitialized) {
        collapsed = defaultCollapsed(root);
        collapsedInitialized = true;
      }
      title.textContent = `${m.node} · refreshed ${new Date(m.refreshedAt).toLocaleTimeString()}`;
      status.set('');
      render();
      if (!placed) {
        // First view: the root at the left, vertically in the middle of the view.
        placed = true;
        const r = layoutNodes[0];
        svg.call(zoomer.transform, zoomIdentity.translate(40, (svgEl.clientHeight || 600) / 2 - (r?.x ?? 0)));
      }
      if (pendingFocus && focusOn(matchFocus(pendingFocus))) pendingFocus = null;
      return;
    }
    case 'focus':
      if (!focusOn(matchFocus(m.focus))) pendingFocus = m.focus;
      return;
    case 'error':
      status.set(m.message, 'error');
      return;
    default:
      assertNever(m);
  }
});
