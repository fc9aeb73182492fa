// Dashboard webview: Observer-style load charts over the session (d3 line charts): memory by type,
// scheduler utilization, run queue, process count, IO rates. Current values are text readouts.
import '../common/base.css';
import './style.css';
import { axisBottom, axisLeft, line, scaleLinear, scaleTime, select } from 'd3';
import type { DashboardSample } from '../../src/protocol/webview';
import { assertNever, type HostToDashboard } from '../../src/protocol/webview';
import { formatBytes, formatCount, h, statusLine } from '../common/dom';
import { channel } from '../common/vscode-api';
import { domains, ioSeries, memorySeries, pushSample, single, utilizationSeries, type Series } from './model';

const vs = channel('dashboard');
let samples: DashboardSample[] = [];
let paused = false;
const status = statusLine();
const title = h('span', { class: 'muted' });
const pause = h('button', { class: 'secondary', on: { click: () => { paused = !paused; pause.textContent = paused ? 'Resume' : 'Pause'; vs.post({ type: 'pause', paused }); } } }, 'Pause');
const charts = h('div', { class: 'charts' });
document.getElementById('root')?.append(h('div', { class: 'toolbar' }, pause, title), status.el, charts);
status.set('Waiting for the first sample…');

interface Chart {
  id: string;
  title: string;
  series: (s: DashboardSample[]) => Series[];
  format: (v: number) => string;
  readout: (s: DashboardSample) => string;
  yMax?: number;
}

const pct = (v: number): string => `${v.toFixed(0)}%`;
const CHARTS: Chart[] = [
  { id: 'memory', title: 'Memory', series: memorySeries, format: formatBytes, readout: (s) => `total ${formatBytes(s.memory.total)} · processes ${formatBytes(s.memory.processes)} · binary ${formatBytes(s.memory.binary)} · ets ${formatBytes(s.memory.ets)}` },
  { id: 'schedulers', title: 'Scheduler utilization', series: utilizationSeries, format: pct, readout: (s) => (s.schedulerUtilization ? `${pct(s.schedulerUtilization.total * 100)} busy` : 'not measured'), yMax: 100 },
  { id: 'runqueue', title: 'Run queue', series: (s) => single(s, 'run queue', 'var(--vscode-charts-red)', (x) => x.runQueue), format: formatCount, readout: (s) => `${s.runQueue} waiting` },
  { id: 'processes', title: 'Processes', series: (s) => single(s, 'processes', 'var(--vscode-charts-blue)', (x) => x.processCount), format: formatCount, readout: (s) => `${s.processCount.toLocaleString('en-US')} processes` },
  { id: 'io', title: 'IO', series: ioSeries, format: (v) => `${formatBytes(v)}/s`, readout: (s) => `in ${formatBytes(s.ioInPerSec)}/s · out ${formatBytes(s.ioOutPerSec)}/s` },
];

const boxes = new Map<string, { svg: SVGSVGElement; value: HTMLElement; legend: HTMLElement }>();
for (const c of CHARTS) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${c.title} over time`);
  const value = h('span', { class: 'value', dataset: { readout: c.id } });
  const legend = h('div', { class: 'legend' });
  charts.append(h('section', { class: 'chart', dataset: { chart: c.id } }, h('h3', {}, c.title, value), svg, legend));
  boxes.set(c.id, { svg, value, legend });
}

function draw(): void {
  const last = samples[samples.length - 1];
  if (!last) return;
  status.set('');
  for (const c of CHARTS) {
    const box = boxes.get(c.id);
    if (!box) continue;
    box.value.textContent = c.readout(last);
    const series = c.series(samples);
    const width = box.svg.clientWidth || 420;
    const height = box.svg.clientHeight || 160;
    const m = { top: 8, right: 10, bottom: 20, left: 64 };
    const d = domains(series, c.yMax ?? 1);
    const x = scaleTime().domain(d.x).range([m.left, width - m.right]);
    const y = scaleLinear().domain(c.yMax ? [0, Math.max(c.yMax, d.y[1])] : d.y).nice().range([height - m.bottom, m.top]);
    const svg = select(box.svg);
    svg.selectAll('*').remove();
    svg.append('g').attr('class', 'axis').attr('transform', `translate(0,${height - m.bottom})`).call(axisBottom(x).ticks(Math.max(2, Math.floor(width / 90))));
    // Counts (run queue, processes) get whole-number ticks only.
    const whole = c.id === 'runqueue' || c.id === 'processes';
    svg.append('g').attr('class', 'axis').attr('transform', `translate(${m.left},0)`).call(axisLeft(y).ticks(4).tickFormat((v) => (whole && !Number.isInteger(Number(v)) ? '' : c.format(Number(v)))));
    const path = line<[number, number]>().x((p) => x(p[0])).y((p) => y(p[1]));
    for (const s of series) svg.append('path').attr('class', 'line').attr('d', path(s.points) ?? '').style('stroke', s.color);
    box.legend.replaceChildren(...series.slice(0, 8).map((s) => {
      const swatch = h('i');
      swatch.style.background = s.color;
      return h('span', {}, swatch, s.name);
    }));
  }
}

new ResizeObserver(() => draw()).observe(charts);

vs.listen((m: HostToDashboard) => {
  switch (m.type) {
    case 'samples':
      samples = m.samples.slice(-600);
      title.textContent = m.node;
      draw();
      return;
    case 'sample':
      samples = pushSample(samples, m.sample);
      draw();
      return;
    case 'error':
      status.set(m.message, 'error');
      return;
    default:
      assertNever(m);
  }
});
