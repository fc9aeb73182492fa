// DOM of the process detail: heading, actions, info table, place in the supervision tree,
// stacktrace, links/monitors/monitored-by (local pids are links), dictionary keys, messages.
// Every piece of node data goes in as text. Focusable elements carry data-key, so a rebuild can
// put the focus back where it was.
import type { ProcessDetail } from '../../src/protocol/webview';
import { h } from '../common/dom';
import { breadcrumb, infoRows, refs, title, type Ref } from './model';

export interface DetailActions {
  open(pid: string): void;
  showInTree(pid: string): void;
  trace(pid: string): void;
  profile(pid: string): void;
  refresh(): void;
}

function pidLink(pid: string, key: string, on: DetailActions, text = pid): HTMLElement {
  return h(
    'a',
    {
      class: 'link mono',
      tabindex: 0,
      title: `Show ${pid}`,
      attrs: { role: 'link' },
      dataset: { key },
      on: {
        click: (e) => {
          e.preventDefault();
          on.open(pid);
        },
        keydown: (e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            on.open(pid);
          }
        },
      },
    },
    text,
  );
}

function refItem(r: Ref, key: string, on: DetailActions): HTMLElement {
  switch (r.kind) {
    case 'pid':
      return pidLink(r.text, key, on);
    case 'remote-pid':
      return h('span', { class: 'mono', title: 'a process on another node' }, r.text);
    case 'port':
      return h('span', { class: 'mono', title: 'a port' }, r.text);
    case 'name':
      return h('span', { class: 'mono' }, r.text);
  }
}

function refSection(label: string, id: string, items: readonly string[], on: DetailActions): HTMLElement[] {
  const list = refs(items);
  return [
    h('h3', {}, `${label} (${list.length})`),
    list.length === 0 ? h('div', { class: 'muted' }, 'none') : h('ul', { class: 'refs' }, ...list.map((r, i) => h('li', {}, refItem(r, `${id}:${i}:${r.text}`, on)))),
  ];
}

function section(heading: string, ...content: Array<HTMLElement | null>): HTMLElement {
  return h('section', {}, h('h3', {}, heading), ...content);
}

export function renderDetail(node: string, d: ProcessDetail, refreshedAt: number, on: DetailActions): HTMLElement[] {
  const t = title(d);
  const out: HTMLElement[] = [];
  out.push(h('h2', {}, h('span', { class: 'mono' }, t.main), t.sub ? h('span', { class: 'muted mono sub' }, t.sub) : null));
  if (!d.alive) {
    out.push(
      h('div', { class: 'dead', role: 'alert' }, h('strong', {}, 'This process is not alive. '), `${d.pid} has exited, or no process has this pid on ${node}: there is nothing more to read about it.`),
    );
  }
  out.push(
    h(
      'div',
      { class: 'toolbar' },
      h('button', { dataset: { key: 'profile' }, title: 'Sample its stacks and show a flame graph (no trace flag; the probe asks consent)', attrs: d.alive ? {} : { disabled: '' }, on: { click: () => on.profile(d.pid) } }, 'Profile this process…'),
      h('button', { dataset: { key: 'trace' }, title: 'Trace what it sends and receives (asks consent; bounded in rate, count and time)', attrs: d.alive ? {} : { disabled: '' }, on: { click: () => on.trace(d.pid) } }, 'Trace messages…'),
      h('button', { class: 'secondary', dataset: { key: 'refresh' }, title: 'Read it again', on: { click: () => on.refresh() } }, 'Refresh'),
      h('span', { class: 'muted refreshed' }, `${node} · read at ${new Date(refreshedAt).toLocaleTimeString()}`),
    ),
  );
  if (d.alive) {
    out.push(
      h(
        'table',
        { class: 'info' },
        h(
          'tbody',
          {},
          ...infoRows(d).map((r) =>
            h('tr', {}, h('th', { attrs: { scope: 'row' } }, r.label), h('td', { class: `mono${r.warn ? ' warn' : ''}` }, r.pid ? pidLink(r.pid, `info:${r.label}`, on) : r.value)),
          ),
        ),
      ),
    );
  }

  const crumbs = breadcrumb(d);
  out.push(
    section(
      'Place in the supervision tree',
      crumbs.length > 1
        ? h(
            'nav',
            { class: 'crumbs mono', aria: { label: 'Ancestors, root first' } },
            h('ol', {}, ...crumbs.map((c, i) => h('li', c.self ? { aria: { current: 'page' } } : {}, c.pid ? pidLink(c.pid, `crumb:${i}:${c.pid}`, on) : h('span', { class: c.self ? 'self' : '' }, c.text)))),
          )
        : h('div', { class: 'muted' }, 'Not started through proc_lib by a supervisor (no $ancestors), or its ancestors are not known.'),
      h('div', { class: 'toolbar' }, h('button', { class: 'secondary', dataset: { key: 'tree' }, attrs: d.alive ? {} : { disabled: '' }, on: { click: () => on.showInTree(d.pid) } }, 'Show in supervision tree')),
    ),
  );

  out.push(section('Current stacktrace', d.currentStacktrace.length ? h('ol', { class: 'stack mono' }, ...d.currentStacktrace.map((f) => h('li', {}, f))) : h('div', { class: 'muted' }, d.alive ? 'not available' : 'none')));
  out.push(h('section', {}, ...refSection('Links', 'links', d.links, on)));
  out.push(h('section', {}, ...refSection('Monitors', 'monitors', d.monitors, on)));
  out.push(h('section', {}, ...refSection('Monitored by', 'monitoredBy', d.monitoredBy, on)));
  out.push(section(`Process dictionary keys (${d.dictionaryKeys.length})`, d.dictionaryKeys.length ? h('ul', { class: 'keys mono' }, ...d.dictionaryKeys.map((k) => h('li', {}, k))) : h('div', { class: 'muted' }, 'none')));
  if (d.messages) {
    const m = d.messages;
    out.push(
      section(
        `Messages (first ${m.shown.length} of ${m.total.toLocaleString('en-US')} queued)`,
        m.note ? h('div', { class: 'muted' }, m.note) : null,
        m.shown.length ? h('pre', { class: 'messages' }, m.shown.join('\n')) : null,
      ),
    );
  }
  return out;
}
