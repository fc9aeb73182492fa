// Cluster overview DOM: a grid of tiles (one per member, colored by health, readouts as text with
// bars), then the cluster findings. Node names and finding texts go in as text only.
import type { ClusterFinding, ClusterNodeView } from '../../src/protocol/webview';
import { h } from '../common/dom';
import type { ProcessList, Tile } from './model';

export function renderTile(t: Tile, open: (node: string, view: ClusterNodeView) => void): HTMLElement {
  const actions = t.status === 'ok'
    ? h(
        'div',
        { class: 'actions' },
        ...(['overview', 'processes', 'tree'] as const).map((view) =>
          h('button', { class: 'secondary', title: `Open ${view === 'tree' ? 'the supervision tree' : view === 'processes' ? 'the process table' : 'the overview'} of ${t.node}`, on: { click: (e) => { e.stopPropagation(); open(t.node, view); } } }, view),
        ),
      )
    : null;
  return h(
    'article',
    {
      class: `tile ${t.health}`,
      role: 'listitem',
      tabindex: 0,
      title: t.reason,
      dataset: { node: t.node },
      aria: { label: `${t.node}: ${t.reason}` },
      on: {
        click: () => t.status === 'ok' && open(t.node, 'overview'),
        keydown: (e) => {
          if (e.key === 'Enter' && t.status === 'ok') open(t.node, 'overview');
        },
      },
    },
    h('header', {}, h('span', { class: 'name' }, t.node), t.isEntry ? h('span', { class: 'badge' }, 'entry') : null, h('span', { class: 'state' }, t.status === 'ok' ? (t.findings ? `${t.findings} findings` : 'ok') : t.status)),
    t.error ? h('p', { class: 'error' }, t.error) : null,
    h(
      'dl',
      {},
      ...t.readouts.flatMap((r) => [
        h('dt', {}, r.label),
        h('dd', {}, r.value, r.fraction !== undefined ? h('span', { class: 'bar', style: { width: `${Math.round(r.fraction * 100)}%` } }) : null),
      ]),
    ),
    actions,
  );
}

export function renderFinding(f: ClusterFinding): HTMLElement {
  return h(
    'details',
    { class: `finding ${f.severity}` },
    h('summary', {}, h('span', { class: 'severity' }, f.severity), ' ', f.title),
    h('ul', {}, ...f.evidence.map((e) => h('li', {}, e))),
    h('p', {}, h('strong', {}, 'Recommendation: '), f.recommendation),
    h('p', { class: 'muted' }, h('strong', {}, 'Risk: '), f.risk),
    h('p', { class: 'muted' }, h('strong', {}, 'Validation: '), f.validation),
  );
}

/** The cluster-wide process table: the node column first; a row opens that process on its node. */
export function renderProcesses(list: ProcessList, open: (node: string, pid: string) => void): HTMLElement {
  const headers = ['node', 'process', 'pid', 'memory', 'mailbox', 'reductions', 'current function'];
  return h(
    'table',
    { class: 'processes', aria: { label: list.caption } },
    h('caption', {}, list.caption),
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', { attrs: { scope: 'col' } }, x)))),
    h(
      'tbody',
      {},
      ...list.lines.map((l) =>
        h(
          'tr',
          {
            tabindex: 0,
            title: `Open ${l.pid} on ${l.node}`,
            dataset: { node: l.node, pid: l.pid },
            on: {
              click: () => open(l.node, l.pid),
              keydown: (e) => {
                if (e.key === 'Enter') open(l.node, l.pid);
              },
            },
          },
          h('td', { class: 'node' }, l.node),
          h('td', {}, l.name),
          h('td', { class: 'pid' }, l.pid),
          h('td', { class: 'num' }, l.memory),
          h('td', { class: 'num' }, l.mailbox),
          h('td', { class: 'num' }, l.reductions),
          h('td', { class: 'muted' }, l.current),
        ),
      ),
    ),
  );
}
