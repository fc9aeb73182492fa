// Report preview webview: `beam-lens report`'s Markdown read by our own parser (markdown.ts)
// into plain data and built into DOM nodes with text only (render.ts). Toolbar: Save as Markdown,
// Regenerate; progress while the node is sampled; a finding asked for is scrolled to and marked.
import '../common/base.css';
import './style.css';
import type { Finding } from '../../src/protocol/webview';
import { assertNever, type HostToReport } from '../../src/protocol/webview';
import { h, replaceChildren, statusLine } from '../common/dom';
import { channel } from '../common/vscode-api';
import { findFindingHeading, parseMarkdown } from './markdown';
import { renderBlocks } from './render';

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

function render(markdown: string, findings: Finding[], focusId: string | undefined): void {
  const blocks = parseMarkdown(markdown);
  const els = renderBlocks(blocks);
  replaceChildren(body, ...els);
  hasReport = true;
  save.disabled = false;
  if (focusId === undefined) {
    if (restoreScroll !== null) window.scrollTo({ top: restoreScroll });
    restoreScroll = null;
    return;
  }
  restoreScroll = null;
  const finding = findings.find((f) => f.id === focusId);
  const index = findFindingHeading(blocks, { id: focusId, title: finding?.title ?? '' });
  const el = index >= 0 ? els[index] : undefined;
  if (!el) {
    status.set(`The finding ${focusId} is not in this report (it may have gone since it was reported).`);
    return;
  }
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
        meta.textContent = `${m.node} · generated ${new Date(m.generatedAt).toLocaleTimeString()} · ${m.findings.length} ${m.findings.length === 1 ? 'finding' : 'findings'}`;
        render(m.markdown, m.findings, m.focusFinding);
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
