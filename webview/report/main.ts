// Report preview webview: renders `beam-lens report`'s Markdown through our own reader into DOM
// nodes (textContent only), with "Save as Markdown" and "Regenerate".
import '../common/base.css';
import './style.css';
import { assertNever, type HostToReport } from '../../src/protocol/webview';
import { h, replaceChildren, statusLine } from '../common/dom';
import { channel } from '../common/vscode-api';
import { parseMarkdown, type Inline } from './markdown';

const vs = channel('report');
const status = statusLine();
const body = h('div', { class: 'report' });
const save = h('button', { on: { click: () => vs.post({ type: 'save' }) } }, 'Save as Markdown');
const regen = h('button', { class: 'secondary', on: { click: () => vs.post({ type: 'regenerate' }) } }, 'Regenerate');
document.getElementById('root')?.append(h('div', { class: 'toolbar' }, save, regen), status.el, body);
status.set('Preparing the report…');

function inlines(parts: Inline[]): Node[] {
  return parts.map((p) => (p.kind === 'text' ? document.createTextNode(p.text) : h(p.kind === 'code' ? 'code' : p.kind === 'bold' ? 'strong' : 'em', {}, p.text)));
}

function render(markdown: string, focus: string | undefined): void {
  const els: HTMLElement[] = [];
  let focusEl: HTMLElement | null = null;
  for (const b of parseMarkdown(markdown)) {
    switch (b.kind) {
      case 'heading': {
        const tag = (['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const)[b.level - 1] ?? 'h6';
        const el = h(tag, {}, ...inlines(b.inline));
        if (focus && !focusEl && b.text.includes(focus)) focusEl = el;
        els.push(el);
        break;
      }
      case 'paragraph':
        els.push(h('p', {}, ...inlines(b.inline)));
        break;
      case 'list':
        els.push(h(b.ordered ? 'ol' : 'ul', {}, ...b.items.map((it) => h('li', {}, ...inlines(it)))));
        break;
      case 'code':
        els.push(h('pre', {}, h('code', {}, b.text)));
        break;
      case 'table':
        els.push(h('table', {}, h('thead', {}, h('tr', {}, ...b.header.map((c) => h('th', {}, ...inlines(c))))), h('tbody', {}, ...b.rows.map((r) => h('tr', {}, ...r.map((c) => h('td', {}, ...inlines(c))))))));
        break;
      case 'rule':
        els.push(h('hr'));
        break;
      default:
        assertNever(b);
    }
  }
  replaceChildren(body, ...els);
  if (focusEl) {
    focusEl.classList.add('focused');
    focusEl.scrollIntoView({ block: 'start' });
  }
}

vs.listen((m: Exclude<HostToReport, { type: 'error' }>) => {
  switch (m.type) {
    case 'report': {
      status.set('');
      const focus = m.focusFinding ? m.findings.find((f) => f.id === m.focusFinding)?.title : undefined;
      render(m.markdown, focus);
      return;
    }
    case 'progress':
      status.set(m.message);
      return;
    default:
      assertNever(m);
  }
}, (message) => status.set(message, 'error'));
