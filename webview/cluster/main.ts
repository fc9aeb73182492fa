// Cluster overview webview: one tile per member of the entry node's cluster (health colors,
// memory, processes, run queue, schedulers, versions, who it sees); a click opens that member's
// views in the editor. The host refreshes it; "Refresh" asks for a new overview.
import '../common/base.css';
import './style.css';
import { assertNever, type HostToCluster } from '../../src/protocol/webview';
import { h, replaceChildren, statusLine } from '../common/dom';
import { channel } from '../common/vscode-api';
import { meshSummary, tiles } from './model';
import { renderFinding, renderTile } from './render';

const vs = channel('cluster');
const status = statusLine();
const summary = h('span', { class: 'muted' });
const refresh = h('button', { class: 'secondary', on: { click: () => vs.post({ type: 'refresh' }) } }, 'Refresh');
const grid = h('div', { class: 'tiles', role: 'list', aria: { label: 'Cluster members' } });
const findings = h('section', { class: 'findings' });
document.getElementById('root')?.append(h('div', { class: 'toolbar' }, refresh, summary), status.el, grid, findings);
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
    case 'progress':
      status.set(m.message, 'info');
      break;
    default:
      assertNever(m);
  }
}, (message) => status.set(message, 'error'));
