// Flame graph webview: a sampled profile's call tree (from the host) laid out by model.ts,
// drawn by render.ts. Click zooms into a frame (an ancestor bar zooms back out), double-click or
// "Go to source" opens its definition, the search box marks matching frames with their share.
import '../common/base.css';
import './style.css';
import { assertNever, type FlameProfile, type FlameSaved, type HostToFlame } from '../../src/protocol/webview';
import { h, replaceChildren, statusLine } from '../common/dom';
import { channel } from '../common/vscode-api';
import { bars, describe, find, layout, neighbour, percent, search, treeFor, type Bar, type Laid } from './model';
import { renderBars } from './render';

interface State {
  pid: string | null;
  focus: string;
  selected: string | null;
  query: string;
}

const vs = channel('flame-graph');
const status = statusLine();
const state: State = { pid: null, focus: '', selected: null, query: '', ...(vs.getState<State>() ?? {}) };
let profile: FlameProfile | null = null;
let root: Laid | null = null;
let drawn: Bar[] = [];

const summary = h('div', { class: 'summary' });
const processSelect = h('select', { aria: { label: 'Process' } });
const searchBox = h('input', { class: 'search', attrs: { type: 'search', placeholder: 'Search frames (name or file)', 'aria-label': 'Search frames' } });
const matchInfo = h('span', { class: 'muted', role: 'status' });
const resetButton = h('button', { class: 'secondary', on: { click: () => zoom('') } }, 'Reset zoom');
const sourceButton = h('button', { class: 'secondary', on: { click: () => state.selected !== null && openSource(state.selected) } }, 'Go to source');
const saveButton = h('button', { class: 'secondary', on: { click: () => vs.post({ type: 'saveSpeedscope' }) } }, 'Save as speedscope…');
const againButton = h('button', { on: { click: () => vs.post({ type: 'profileAgain' }) } }, 'Profile again');
const detail = h('div', { class: 'detail', aria: { live: 'polite' } });
const graph = h('div');
document.getElementById('root')?.append(status.el, summary, h('div', { class: 'toolbar' }, processSelect, searchBox, matchInfo, resetButton, sourceButton, saveButton, againButton), detail, graph);
status.set('Waiting for the profile…');

processSelect.addEventListener('change', () => {
  state.pid = processSelect.value === '' ? null : processSelect.value;
  state.focus = '';
  state.selected = null;
  relayout();
});
searchBox.value = state.query;
searchBox.addEventListener('input', () => {
  state.query = searchBox.value;
  draw();
});

function save(): void {
  vs.setState(state);
}

function openSource(id: string): void {
  const n = root ? find(root, id) : undefined;
  if (n && n.data.frame >= 0) vs.post({ type: 'openSource', frame: n.data.frame });
}

function zoom(id: string): void {
  state.focus = id;
  state.selected = id === '' ? null : id;
  draw();
}

function relayout(): void {
  if (!profile) return;
  root = layout(treeFor(profile, state.pid));
  if (!find(root, state.focus)) state.focus = '';
  if (state.selected !== null && !find(root, state.selected)) state.selected = null;
  draw();
}

function draw(): void {
  if (!profile || !root) return;
  const p = profile;
  const r = root;
  const found = search(p, r, state.query);
  matchInfo.textContent = state.query.trim() === '' ? '' : found.frames === 0 ? 'no match' : `${found.frames} frames · ${percent(found.share)} of samples`;
  drawn = bars(p, r, state.focus, found.ids);
  const focused = document.activeElement instanceof HTMLElement && graph.contains(document.activeElement) ? document.activeElement.dataset.id : undefined;
  replaceChildren(
    graph,
    (r.value ?? 0) === 0
      ? h('p', { class: 'muted' }, 'No busy samples: the process waited in receive the whole time.')
      : renderBars(p, drawn, state.selected, (id) => describe(p, r, id), {
          click: (id) => zoom(id),
          open: (id) => openSource(id),
          hover: (id) => (detail.textContent = id === null ? selectedText() : describe(p, r, id)),
          key: (id, e) => onKey(id, e),
        }),
  );
  detail.textContent = selectedText();
  sourceButton.disabled = state.selected === null;
  resetButton.disabled = state.focus === '';
  if (focused !== undefined) graph.querySelector<HTMLElement>(`[data-id="${CSS.escape(focused)}"]`)?.focus({ preventScroll: true });
  save();
}

function selectedText(): string {
  if (!profile || !root || state.selected === null) return 'Click a frame to zoom into it; double-click (or Go to source) opens its definition.';
  return describe(profile, root, state.selected);
}

function onKey(id: string, e: KeyboardEvent): void {
  const dirs: Record<string, 'left' | 'right' | 'up' | 'down'> = { ArrowLeft: 'left', ArrowRight: 'right', ArrowUp: 'up', ArrowDown: 'down' };
  const dir = dirs[e.key];
  if (dir) {
    e.preventDefault();
    const next = neighbour(drawn, id, dir);
    if (next !== null) {
      state.selected = next;
      draw();
      graph.querySelector<HTMLElement>(`[data-id="${CSS.escape(next)}"]`)?.focus();
    }
  } else if (e.key === 'Enter') {
    e.preventDefault();
    if (e.altKey || e.shiftKey) openSource(id);
    else zoom(id);
  } else if (e.key === 'Escape') zoom('');
}

/** "2026-12-01 16:05 UTC" */
function shortTime(iso: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : iso;
}

function show(p: FlameProfile, query?: string, saved?: FlameSaved): void {
  profile = p;
  if (query !== undefined) {
    state.query = query;
    searchBox.value = query;
  }
  if (state.pid !== null && !p.processes.some((x) => x.pid === state.pid)) state.pid = null;
  const ended = p.endReason === 'completed' ? '' : ` · ended: ${p.endReason}${p.endDetail ? ` (${p.endDetail})` : ''}`;
  const busy = p.processes.reduce((a, x) => a + x.busy, 0);
  const idle = p.processes.reduce((a, x) => a + x.idle, 0);
  const from = saved ? `Saved ${saved.source === 'speedscope' ? 'speedscope file' : 'session'} ${saved.file.split(/[\\/]/).pop() ?? ''} · ${p.node || 'node not named'} · ${shortTime(saved.at)} · ` : '';
  againButton.title = saved?.againNeeds !== undefined ? `Profile again: ${saved.againNeeds}` : 'Profile the same processes again';
  againButton.classList.toggle('secondary', saved?.againNeeds !== undefined);
  summary.textContent = `${from}${p.title} · ${p.samples} samples at ${p.hz} Hz over ${(p.durationMs / 1000).toFixed(1)} s (${p.mode === 'probe' ? 'in the probe' : p.mode === 'rpc' ? 'zero-install' : 'from a speedscope file'}) · ${busy} busy, ${idle} idle${ended}`;
  replaceChildren(
    processSelect,
    ...(p.processes.length > 1 ? [h('option', { attrs: { value: '' } }, `All ${p.processes.length} processes`)] : []),
    ...p.processes.map((x) => h('option', { attrs: { value: x.pid } }, `${x.label} · ${x.busy} busy${x.exited ? ' · exited' : ''}`)),
  );
  if (p.processes.length === 1) state.pid = p.processes[0]?.pid ?? null;
  processSelect.value = state.pid ?? '';
  relayout();
}

vs.listen(
  (m: Exclude<HostToFlame, { type: 'error' }>) => {
    switch (m.type) {
      case 'profile':
        status.set('');
        show(m.profile, m.search, m.saved);
        return;
      case 'progress':
        status.set(m.message);
        return;
      default:
        assertNever(m);
    }
  },
  (message) => status.set(message, 'error'),
);
