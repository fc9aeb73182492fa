// Cluster overview webview: one tile per member of the entry node's cluster (health colors,
// memory, processes, run queue, schedulers, versions, who it sees); a click opens that member's
// views in the editor. Below, the cluster-wide top processes with a node column (a row opens that
// process on its node). The host refreshes it; "Refresh" asks for a new overview.
import '../common/base.css';
import './style.css';
import { assertNever, type HostToCluster, type ProcessSort } from '../../src/protocol/webview';
import { h, replaceChildren, statusLine } from '../common/dom';
import { channel } from '../common/vscode-api';
import { meshSummary, processList, tiles } from './model';
import { renderFinding, renderProcesses, renderTile } from './render';

const vs = channel('cluster');
const status = statusLine();
const summary = h('span', { class: 'muted' });
const refresh = h('button', { class: 'secondary', on: { click: () => vs.post({ type: 'refresh' }) } }, 'Refresh');
const grid = h('div', { class: 'tiles', role: 'list', aria: { label: 'Cluster members' } });
const findings = h('section', { class: 'findings' });

const SORTS: ReadonlyArray<[ProcessSort, string]> = [
  ['memory', 'memory'],
  ['mailbox', 'mailbox'],
  ['reductions', 'reductions'],
];
let sort: ProcessSort = 'memory';
/** The sort the user clicked and whose page has not come yet (null: show whatever the host sends). */
let asked: ProcessSort | null = null;
const sortButtons = SORTS.map(([s, label]) =>
  h('button', { class: 'secondary', dataset: { sort: s }, aria: { pressed: String(s === sort) }, on: { click: () => askProcesses(s) } }, label),
);
const procs = h('section', { class: 'procs' }, h('p', { class: 'muted' }, 'Asking every member for its top processes…'));
const procsToolbar = h('div', { class: 'procs-toolbar' }, h('h2', {}, 'Top processes in the cluster'), ...sortButtons);

function showSort(s: ProcessSort): void {
  sort = s;
  for (const b of sortButtons) b.setAttribute('aria-pressed', String(b.dataset.sort === s));
}

function askProcesses(s: ProcessSort): void {
  asked = s;
  showSort(s);
  vs.post({ type: 'processes', sort: s });
}

document.getElementById('root')?.append(h('div', { class: 'toolbar' }, refresh, summary), status.el, grid, findings, procsToolbar, procs);
status.set('Asking every member…');

vs.listen((m: Exclude<HostToCluster, { type: 'error' }>) => {
  switch (m.type) {
    case 'cluster': {
      const o = m.overview;
      summary.textContent = `${meshSummary(o)} · ${new Date(m.at).toLocaleTimeString()}`;
      replaceChildren(grid, ...tiles(o).map((t) => renderTile(t, (node, view) => vs.post({ type: 'openNode', node, view }))));
      replaceChildren(findings, h('h2', {}, o.findings.length ? `Cluster findings (${o.findings.length})` : 'No cluster findings'), ...o.findings.map(renderFinding));
      status.set('');
      break;
    }
    case 'processes':
      // A page of another sort than the one just clicked (an older answer) is not shown; else the
      // host's sort is the list's (a page reloaded when shown again keeps the host's choice).
      if (asked !== null && m.page.sort !== asked) break;
      asked = null;
      if (m.page.sort !== sort) showSort(m.page.sort);
      replaceChildren(procs, renderProcesses(processList(m.page), (node, pid) => vs.post({ type: 'openProcess', node, pid })));
      break;
    case 'progress':
      status.set(m.message, 'info');
      break;
    default:
      assertNever(m);
  }
}, (message) => status.set(message, 'error'));
