// Process detail webview: info, stack, links/monitors as links, place in the supervision tree,
// actions (trace messages asks consent on the host side). Node data is text, never HTML.
import '../common/base.css';
import './style.css';
import type { ProcessDetail } from '../../src/core/process-detail';
import { assertNever, type HostToDetail } from '../../src/protocol/webview';
import { formatBytes, h, replaceChildren, statusLine } from '../common/dom';
import { channel } from '../common/vscode-api';

const vs = channel('process-detail');
const status = statusLine();
const body = h('div');
document.getElementById('root')?.append(status.el, body);
status.set('Loading…');

const PID = /^<\d+\.\d+\.\d+>$/;

function pidLink(text: string): HTMLElement {
  if (!PID.test(text)) return h('span', {}, text);
  return h('a', { class: 'link mono', tabindex: 0, attrs: { role: 'link' }, on: { click: () => vs.post({ type: 'openProcess', pid: text }), keydown: (e) => e.key === 'Enter' && vs.post({ type: 'openProcess', pid: text }) } }, text);
}

function list(items: string[], empty: string): HTMLElement {
  if (items.length === 0) return h('div', { class: 'muted' }, empty);
  return h('ul', { class: 'plain' }, ...items.map((i) => h('li', {}, pidLink(i))));
}

function render(node: string, d: ProcessDetail, at: number): void {
  const row = (k: string, v: string | HTMLElement): HTMLElement => h('tr', {}, h('td', {}, k), h('td', { class: 'mono' }, v));
  replaceChildren(
    body,
    h('h2', {}, d.name ?? d.pid, ' ', h('span', { class: 'muted mono' }, d.name ? d.pid : ''), !d.alive ? h('span', { class: 'dead' }, ' (not alive)') : null),
    h('div', { class: 'toolbar' },
      h('button', { on: { click: () => vs.post({ type: 'traceMessages', pid: d.pid }) }, title: 'Trace what it sends and receives (asks consent; bounded)' }, 'Trace messages…'),
      h('button', { class: 'secondary', on: { click: () => vs.post({ type: 'showInTree', pid: d.pid }) } }, 'Show in supervision tree'),
      h('button', { class: 'secondary', on: { click: () => vs.post({ type: 'refresh' }) } }, 'Refresh'),
      h('span', { class: 'muted' }, `${node} · ${new Date(at).toLocaleTimeString()}`),
    ),
    h('table', { class: 'info' },
      row('status', d.status ?? '?'),
      row('mailbox', d.messageQueueLen.toLocaleString('en-US')),
      row('memory', formatBytes(d.memory)),
      row('heap / total heap / stack (words)', `${d.heapSize} / ${d.totalHeapSize} / ${d.stackSize}`),
      row('reductions', d.reductions.toLocaleString('en-US')),
      row('initial call', d.initialCall ?? '?'),
      row('current function', d.currentFunction ?? '?'),
      row('trap_exit / priority', `${d.trapExit} / ${d.priority ?? '?'}`),
      row('group leader', d.groupLeader ? pidLink(d.groupLeader) : '?'),
    ),
    h('h3', {}, 'Place in the supervision tree'),
    d.ancestors.length ? h('div', { class: 'crumbs mono' }, ...[...d.ancestors].reverse().map((a) => h('span', {}, pidLink(a))), h('span', {}, d.name ?? d.pid)) : h('div', { class: 'muted' }, 'not started by a supervisor (no $ancestors)'),
    h('h3', {}, 'Current stacktrace'),
    d.currentStacktrace.length ? h('pre', {}, d.currentStacktrace.join('\n')) : h('div', { class: 'muted' }, 'none'),
    h('h3', {}, `Links (${d.links.length})`),
    list(d.links, 'none'),
    h('h3', {}, `Monitors (${d.monitors.length})`),
    list(d.monitors, 'none'),
    h('h3', {}, `Monitored by (${d.monitoredBy.length})`),
    list(d.monitoredBy, 'none'),
    h('h3', {}, 'Process dictionary keys'),
    d.dictionaryKeys.length ? h('div', { class: 'mono' }, d.dictionaryKeys.join(', ')) : h('div', { class: 'muted' }, 'none'),
    d.messages ? h('div', {}, h('h3', {}, `First messages (${d.messages.total} queued)`), d.messages.note ? h('div', { class: 'muted' }, d.messages.note) : null, h('pre', {}, d.messages.shown.join('\n'))) : null,
  );
}

vs.listen((m: Exclude<HostToDetail, { type: 'error' }>) => {
  switch (m.type) {
    case 'detail':
      status.set('');
      render(m.node, m.detail, m.refreshedAt);
      return;
    default:
      // One message type besides errors: the union has a single member, so check its tag.
      assertNever(m.type);
  }
}, (message) => status.set(message, 'error'));
