// One d3 line chart of the dashboard: time axis, y axis in the chart's unit, one path per series
// (gaps broken), a dot at each series' latest value, and a legend whose entries hide or show a
// series. Text goes in through textContent and .text() only.
import { axisBottom, axisLeft, line, scaleLinear, scaleTime, select, timeFormat, type Selection } from 'd3';
import type { DashboardSample } from '../../src/protocol/webview';
import { h } from '../common/dom';
import { breakGaps, byteTicks, domains, latest, type ChartSpec, type Series } from './model';

const SVG_NS = 'http://www.w3.org/2000/svg';
const MARGIN = { top: 8, right: 12, bottom: 22, left: 68 };
const HEIGHT = 170;

export class LineChart {
  readonly el: HTMLElement;
  private readonly svg: SVGSVGElement;
  private readonly readout: HTMLElement;
  private readonly legend: HTMLElement;
  private readonly root: Selection<SVGSVGElement, unknown, null, undefined>;
  private readonly xAxis: Selection<SVGGElement, unknown, null, undefined>;
  private readonly yAxis: Selection<SVGGElement, unknown, null, undefined>;
  private readonly grid: Selection<SVGGElement, unknown, null, undefined>;
  private readonly lines: Selection<SVGGElement, unknown, null, undefined>;
  private readonly dots: Selection<SVGGElement, unknown, null, undefined>;
  private readonly items = new Map<string, { button: HTMLButtonElement; swatch: HTMLElement; value: HTMLElement }>();

  constructor(
    readonly spec: ChartSpec,
    private readonly hidden: Set<string>,
    private readonly onLegend: () => void,
  ) {
    this.svg = document.createElementNS(SVG_NS, 'svg');
    this.root = select(this.svg).attr('role', 'img').attr('aria-label', `${spec.title} over time`);
    this.grid = this.root.append('g').attr('class', 'grid');
    this.xAxis = this.root.append('g').attr('class', 'axis x');
    this.yAxis = this.root.append('g').attr('class', 'axis y');
    this.lines = this.root.append('g').attr('class', 'lines');
    this.dots = this.root.append('g').attr('class', 'dots');
    this.readout = h('span', { class: 'value', dataset: { readout: spec.id }, aria: { live: 'off' } });
    this.legend = h('div', { class: 'legend', role: 'group', aria: { label: `${spec.title} series` } });
    this.el = h('section', { class: 'chart', dataset: { chart: spec.id } }, h('h3', {}, h('span', { class: 'title' }, spec.title), this.readout), this.svg, this.legend);
  }

  setReadout(text: string): void {
    this.readout.textContent = text;
  }

  draw(samples: readonly DashboardSample[]): void {
    const series = this.spec.series(samples);
    const shown = series.filter((s) => !this.hidden.has(s.name));
    const width = Math.max(200, this.svg.clientWidth || 420);
    const height = this.svg.clientHeight || HEIGHT;
    const d = domains(shown.length > 0 ? shown : series, this.spec.yMaxAtLeast);
    const x = scaleTime().domain(d.x).range([MARGIN.left, width - MARGIN.right]);
    const y = scaleLinear().range([height - MARGIN.bottom, MARGIN.top]);
    let yTicks: number[];
    if (this.spec.bytes) {
      yTicks = byteTicks(d.y[1]);
      y.domain([0, yTicks[yTicks.length - 1] ?? 1]);
    } else {
      y.domain([0, this.spec.yFixedMax ?? d.y[1]]);
      if (this.spec.yFixedMax === undefined) y.nice(4);
      yTicks = y.ticks(4).filter((v) => !this.spec.integer || Number.isInteger(v));
    }
    const spanMs = d.x[1] - d.x[0];
    const fmt = timeFormat(spanMs > 36 * 3600_000 ? '%b %d %H:%M' : spanMs > 5 * 60_000 ? '%H:%M' : '%H:%M:%S');

    this.xAxis
      .attr('transform', `translate(0,${height - MARGIN.bottom})`)
      .call(
        axisBottom<Date>(x)
          .ticks(Math.max(2, Math.floor(width / 110)))
          .tickFormat((v) => fmt(v)),
      );
    this.yAxis.attr('transform', `translate(${MARGIN.left},0)`).call(
      axisLeft(y)
        .tickValues(yTicks)
        .tickFormat((v) => this.spec.format(Number(v))),
    );
    this.grid
      .selectAll<SVGLineElement, number>('line')
      .data(yTicks)
      .join('line')
      .attr('x1', MARGIN.left)
      .attr('x2', width - MARGIN.right)
      .attr('y1', (v) => y(v))
      .attr('y2', (v) => y(v));

    const path = line<[number, number]>()
      .defined((p) => Number.isFinite(p[1]))
      .x((p) => x(p[0]))
      .y((p) => y(p[1]));
    this.lines
      .selectAll<SVGPathElement, (typeof shown)[number]>('path.line')
      .data(shown, (s) => s.name)
      .join('path')
      .attr('class', (s) => `line${s.name === 'total' ? ' total' : ''}`)
      .attr('data-series', (s) => s.name)
      .style('stroke', (s) => s.color)
      .attr('d', (s) => path(breakGaps(s.points)) ?? '');
    const ends = shown.flatMap((s) => {
      const v = latest(s);
      const at = s.points[s.points.length - 1]?.[0];
      return v === undefined || at === undefined ? [] : [{ s, v, at }];
    });
    this.dots
      .selectAll<SVGCircleElement, (typeof ends)[number]>('circle')
      .data(ends, (e) => e.s.name)
      .join('circle')
      .attr('r', 2.5)
      .attr('cx', (e) => x(e.at))
      .attr('cy', (e) => y(e.v))
      .style('fill', (e) => e.s.color);

    this.drawLegend(series);
  }

  private drawLegend(series: readonly Series[]): void {
    // One button per series (color, name, latest value; pressed = shown), updated in place so a
    // focused button keeps its focus while samples arrive.
    const names = new Set(series.map((s) => s.name));
    for (const [name, item] of this.items) {
      if (!names.has(name)) {
        item.button.remove();
        this.items.delete(name);
      }
    }
    series.forEach((s, i) => {
      let item = this.items.get(s.name);
      if (!item) {
        const swatch = h('i', { aria: { hidden: 'true' } });
        const value = h('span', { class: 'muted' });
        const name = s.name;
        const button = h(
          'button',
          {
            class: 'series',
            on: {
              click: () => {
                if (this.hidden.has(name)) this.hidden.delete(name);
                else this.hidden.add(name);
                this.onLegend();
              },
            },
          },
          swatch,
          name,
          value,
        );
        item = { button, swatch, value };
        this.items.set(name, item);
      }
      const off = this.hidden.has(s.name);
      item.swatch.style.background = s.color;
      item.button.classList.toggle('off', off);
      item.button.title = off ? `Show ${s.name}` : `Hide ${s.name}`;
      item.button.setAttribute('aria-pressed', String(!off));
      const v = latest(s);
      item.value.textContent = v !== undefined ? ` ${this.spec.format(v)}` : '';
      // Moving a node blurs it: only insert when it is not already in place.
      if (this.legend.children[i] !== item.button) this.legend.insertBefore(item.button, this.legend.children[i] ?? null);
    });
  }
}
