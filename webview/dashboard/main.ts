// Dashboard webview: Observer-style load charts over the session (render.ts draws them with d3):
// memory by type, scheduler utilization, run queue, process count, IO rates. The latest values
// are text readouts next to each title. Samples live in a ring of at most 600 (model.ts).
import '../common/base.css';
import './style.css';
import { assertNever, type HostToDashboard } from '../../src/protocol/webview';
import { h, statusLine } from '../common/dom';
import { channel } from '../common/vscode-api';
import { CHARTS, SampleRing, readouts, type ChartId } from './model';
import { LineChart } from './render';

interface State {
  paused: boolean;
  /** Series hidden through the legend, per chart. */
  hidden: Partial<Record<ChartId, string[]>>;
}

const vs = channel('dashboard');
const saved = vs.getState<Partial<State>>();
let paused = saved?.paused === true;
const hidden = new Map(CHARTS.map((c) => [c.id, new Set(saved?.hidden?.[c.id] ?? [])]));
const ring = new SampleRing();
let node = '';

const status = statusLine();
const title = h('span', { class: 'muted' });
const pause = h('button', { class: 'secondary', on: { click: () => setPaused(!paused) } });
const empty = h('div', { class: 'empty muted' }, 'Waiting for the first sample…');
const charts = CHARTS.map((spec) => new LineChart(spec, hidden.get(spec.id) ?? new Set(), () => legendChanged()));
const grid = h('div', { class: 'charts' }, ...charts.map((c) => c.el));
document.getElementById('root')?.append(h('div', { class: 'toolbar' }, pause, title), status.el, empty, grid);
status.set('');

function saveState(): void {
  vs.setState<State>({ paused, hidden: Object.fromEntries([...hidden].map(([id, set]) => [id, [...set]])) });
}

function setPaused(p: boolean): void {
  paused = p;
  vs.post({ type: 'pause', paused });
  saveState();
  updateHeader();
}

function updateHeader(): void {
  pause.textContent = paused ? 'Resume' : 'Pause';
  pause.title = paused ? 'Take samples again' : 'Stop taking samples (the charts keep what they have)';
  pause.setAttribute('aria-pressed', String(paused));
  const first = ring.toArray()[0];
  const parts = [node];
  if (first) parts.push(`${ring.size} ${ring.size === 1 ? 'sample' : 'samples'} since ${new Date(first.at).toLocaleTimeString()}`);
  if (paused) parts.push('paused');
  title.textContent = parts.filter((p) => p !== '').join(' · ');
}

function legendChanged(): void {
  saveState();
  draw();
}

let frame = 0;
/** Redraws once per animation frame however many samples or resizes arrive. */
function scheduleDraw(): void {
  if (frame !== 0) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    draw();
  });
}

function draw(): void {
  const last = ring.last();
  updateHeader();
  empty.hidden = last !== undefined;
  grid.hidden = last === undefined;
  if (!last) return;
  const samples = ring.toArray();
  const text = readouts(last);
  for (const c of charts) {
    c.setReadout(text[c.spec.id]);
    c.draw(samples);
  }
}

new ResizeObserver(() => scheduleDraw()).observe(grid);
updateHeader();
draw();

vs.listen((m: Exclude<HostToDashboard, { type: 'error' }>) => {
  switch (m.type) {
    case 'samples':
      node = m.node;
      ring.reset(m.samples);
      status.set('');
      draw();
      return;
    case 'sample':
      ring.push(m.sample);
      status.set('');
      draw();
      return;
    default:
      assertNever(m);
  }
}, (message) => status.set(message, 'error'));
// A view reloaded while paused tells the host again (it may have been recreated since).
if (paused) vs.post({ type: 'pause', paused });
