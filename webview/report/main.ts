// Report webview: the report document from the host built into DOM nodes with text only
// (render.ts). Toolbar: Save as Markdown, Regenerate; progress while the node is sampled; a
// finding asked for (by id, from the host or a link in the report) is scrolled to and marked.
import '../common/base.css';
import './style.css';
import { assertNever, type HostToReport, type ReportDocument } from '../../src/protocol/webview';
import { h, replaceChildren, statusLine } from '../common/dom';
import { channel } from '../common/vscode-api';
import { renderReportDocument, reportMeta, type DomBuilder } from './render';

interface State {
  scrollY: number;
}

const vs = channel('report');
const saved = vs.getState<Partial<State>>();
const status = statusLine();
const body = h('article', { class: 'report', aria: { label: 'Report' } });
const save = h('button', { title: 'Save the report as a Markdown file', attrs: { disabled: '' }, on: { click: () => vs.post({ type: 'save' }) } }, 'Save as Markdown');
const regen = h(
  'button',
  {
    class: 'secondary',
    title: 'Sample the node again and rebuild the report',
    on: {
      click: () => {
        setBusy(true);
        status.set('Regenerating…');
        vs.post({ type: 'regenerate' });
      },
    },
  },
  'Regenerate',
);
const meta = h('span', { class: 'muted' });
document.getElementById('root')?.append(h('div', { class: 'toolbar' }, save, regen, meta), status.el, body);
status.set('Preparing the report…');

let hasReport = false;
let restoreScroll = typeof saved?.scrollY === 'number' ? saved.scrollY : null;

function setBusy(busy: boolean): void {
  regen.disabled = busy;
  body.setAttribute('aria-busy', String(busy));
}

const dom: DomBuilder<HTMLElement | SVGElement, Node> = {
  element(tag, attributes, children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) if (value !== undefined) el.setAttribute(name, value);
    el.append(...children);
    return el;
  },
  svg(tag, attributes, children) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [name, value] of Object.entries(attributes)) if (value !== undefined) el.setAttribute(name, value);
    el.append(...children);
    return el;
  },
  text: (text) => document.createTextNode(text),
  onClick: (el, handler) => el.addEventListener('click', handler),
};

/** The report shown, and each finding's element by id. */
let shown: { document: ReportDocument; findings: Map<string, HTMLElement | SVGElement> } | null = null;
let focused: HTMLElement | SVGElement | null = null;
/** Whether the status line says a finding asked for is missing (cleared once one is found). */
let saysMissing = false;

function render(doc: ReportDocument, focusId: string | undefined): void {
  // The same document again (a finding asked for in a report already shown): keep the DOM and scroll.
  if (!shown || shown.document.generatedAt !== doc.generatedAt || shown.document.node !== doc.node) {
    const rendered = renderReportDocument(doc, dom, { focusFinding: (id) => focusFinding(id) });
    replaceChildren(body, ...rendered.elements);
    shown = { document: doc, findings: rendered.findings };
    focused = null;
    if (focusId === undefined && restoreScroll !== null) window.scrollTo({ top: restoreScroll });
  }
  hasReport = true;
  save.disabled = false;
  restoreScroll = null;
  if (focusId !== undefined) focusFinding(focusId);
}

function focusFinding(id: string): void {
  const el = shown?.findings.get(id);
  if (!el) {
    status.set(`The finding ${id} is not in this report (it may have gone since it was reported).`);
    saysMissing = true;
    return;
  }
  if (saysMissing) status.set('');
  saysMissing = false;
  focused?.classList.remove('focused');
  focused = el;
  el.classList.add('focused');
  el.tabIndex = -1;
  el.scrollIntoView({ block: 'start' });
  el.focus({ preventScroll: true });
}

let scrollTimer: number | undefined;
window.addEventListener(
  'scroll',
  () => {
    window.clearTimeout(scrollTimer);
    scrollTimer = window.setTimeout(() => vs.setState<State>({ scrollY: window.scrollY }), 200);
  },
  { passive: true },
);

vs.listen(
  (m: Exclude<HostToReport, { type: 'error' }>) => {
    switch (m.type) {
      case 'report':
        status.set('');
        setBusy(false);
        meta.textContent = reportMeta(m.document, (iso) => new Date(iso).toLocaleTimeString());
        render(m.document, m.focusFinding);
        return;
      case 'progress':
        setBusy(true);
        status.set(m.message);
        return;
      default:
        assertNever(m);
    }
  },
  (message) => {
    setBusy(false);
    save.disabled = !hasReport;
    status.set(message, 'error');
  },
);
