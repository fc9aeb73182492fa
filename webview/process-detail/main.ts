// Process detail webview: one process in depth, refreshed live by the host. Shaping in model.ts,
// DOM in render.ts; a refresh that changes nothing only updates the "read at" time, and a
// rebuild puts the keyboard focus back on the same link or button.
import '../common/base.css';
import './style.css';
import type { ProcessDetail } from '../../src/protocol/webview';
import { assertNever, type HostToDetail } from '../../src/protocol/webview';
import { h, replaceChildren, statusLine } from '../common/dom';
import { channel } from '../common/vscode-api';
import { sameDetail } from './model';
import { renderDetail, type DetailActions } from './render';

const vs = channel('process-detail');
const status = statusLine();
const body = h('div', { class: 'detail' });
document.getElementById('root')?.append(status.el, body);
status.set('Reading the process…');

const actions: DetailActions = {
  open: (pid) => vs.post({ type: 'openProcess', pid }),
  showInTree: (pid) => vs.post({ type: 'showInTree', pid }),
  trace: (pid) => vs.post({ type: 'traceMessages', pid }),
  profile: (pid) => vs.post({ type: 'profile', pid }),
  refresh: () => {
    status.set('Refreshing…');
    vs.post({ type: 'refresh' });
  },
};

let shown: ProcessDetail | null = null;
let shownNode = '';

function show(node: string, detail: ProcessDetail, refreshedAt: number): void {
  if (node === shownNode && sameDetail(shown, detail)) {
    const stamp = body.querySelector('.refreshed');
    if (stamp) stamp.textContent = `${node} · read at ${new Date(refreshedAt).toLocaleTimeString()}`;
    return;
  }
  const focused = document.activeElement instanceof HTMLElement && body.contains(document.activeElement) ? document.activeElement.dataset.key : undefined;
  const scroll = window.scrollY;
  shown = detail;
  shownNode = node;
  replaceChildren(body, ...renderDetail(node, detail, refreshedAt, actions));
  if (focused !== undefined) {
    for (const el of body.querySelectorAll<HTMLElement>('[data-key]')) {
      if (el.dataset.key === focused) {
        el.focus({ preventScroll: true });
        break;
      }
    }
  }
  window.scrollTo({ top: scroll });
}

vs.listen(
  (m: Exclude<HostToDetail, { type: 'error' }>) => {
    switch (m.type) {
      case 'detail':
        status.set('');
        show(m.node, m.detail, m.refreshedAt);
        return;
      default:
        // The union has one member besides errors: check its tag.
        assertNever(m.type);
    }
  },
  (message) => status.set(message, 'error'),
);
