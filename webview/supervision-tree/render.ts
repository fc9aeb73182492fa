// Drawing of the supervision tree: d3-hierarchy tree layout (horizontal, columns as wide as their
// labels), keyed joins so a refresh updates nodes in place, d3-zoom for zoom and pan. All node
// data goes in through .text() and .attr(): never as markup.
import { hierarchy, select, tree as d3tree, zoom, zoomIdentity, zoomTransform, type HierarchyPointNode, type Selection, type ZoomBehavior, type ZoomTransform } from 'd3';
import { columnOffsets, shorten, visible, type VNode } from './model';

/** The smallest zoom at which labels are readable: focusing a node zooms in to at least this. */
export const READABLE_SCALE = 0.9;

export interface Transform {
  k: number;
  x: number;
  y: number;
}

export interface TreeHandlers {
  /** Click on a node's toggle. */
  toggle(n: VNode): void;
  /** Click on a node's body. */
  activate(n: VNode): void;
  zoomed(t: Transform): void;
}

export interface RenderInput {
  root: VNode;
  collapsed: ReadonlySet<string>;
  selected: string | null;
  matches: ReadonlySet<string>;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
/** Vertical distance between sibling rows (two text lines). */
const ROW = 34;
/** Text starts this far right of the node's dot. */
const TEXT_X = 12;
/** Fallback width per character when text cannot be measured. */
const CHAR_PX = 6.6;
const GAP = 48;

type Laid = HierarchyPointNode<VNode>;

export function reducedMotion(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
}

export class TreeCanvas {
  readonly svg: SVGSVGElement;
  private readonly sel: Selection<SVGSVGElement, unknown, null, undefined>;
  /** The zoomed layer: the first child of the svg. */
  private readonly layer: Selection<SVGGElement, unknown, null, undefined>;
  private readonly links: Selection<SVGGElement, unknown, null, undefined>;
  private readonly nodes: Selection<SVGGElement, unknown, null, undefined>;
  private readonly zoomer: ZoomBehavior<SVGSVGElement, unknown>;
  private positions = new Map<string, { x: number; y: number }>();
  private full = new Map<string, VNode>();
  private readonly domIds = new Map<string, string>();
  private measure: { ctx: CanvasRenderingContext2D; label: string; detail: string } | null | undefined;
  private readonly measured = new Map<string, number>();

  constructor(private readonly handlers: TreeHandlers) {
    this.svg = document.createElementNS(SVG_NS, 'svg');
    this.sel = select(this.svg).attr('role', 'tree').attr('aria-label', 'Supervision tree').attr('tabindex', 0);
    this.layer = this.sel.append('g').attr('class', 'layer').attr('role', 'none');
    this.links = this.layer.append('g').attr('class', 'links').attr('aria-hidden', 'true');
    this.nodes = this.layer.append('g').attr('class', 'nodes').attr('role', 'none');
    this.zoomer = zoom<SVGSVGElement, unknown>()
      .scaleExtent([0.05, 4])
      .on('zoom', (event: { transform: ZoomTransform }) => {
        this.layer.attr('transform', event.transform.toString());
        const t = event.transform;
        this.handlers.zoomed({ k: t.k, x: t.x, y: t.y });
      });
    this.sel.call(this.zoomer).on('dblclick.zoom', null);
    // d3-zoom cancels mousedown (so the svg would not take focus): focus it for the keyboard.
    this.svg.addEventListener('pointerdown', () => this.svg.focus({ preventScroll: true }));
  }

  private domId(id: string): string {
    let d = this.domIds.get(id);
    if (d === undefined) {
      d = `tn-${this.domIds.size + 1}`;
      this.domIds.set(id, d);
    }
    return d;
  }

  /**
   * Width of a node's text in px: measured with a canvas in the font the stylesheet gives labels
   * and details (read once from hidden probe texts), cached per string.
   */
  private textWidth(text: string, kind: 'label' | 'detail'): number {
    if (this.measure === undefined) this.measure = this.setUpMeasure();
    if (this.measure === null) return text.length * CHAR_PX * (kind === 'detail' ? 0.92 : 1);
    const key = `${kind}\u0000${text}`;
    let w = this.measured.get(key);
    if (w === undefined) {
      this.measure.ctx.font = this.measure[kind];
      w = Math.ceil(this.measure.ctx.measureText(text).width) + 4;
      if (this.measured.size > 20_000) this.measured.clear();
      this.measured.set(key, w);
    }
    return w;
  }

  private setUpMeasure(): { ctx: CanvasRenderingContext2D; label: string; detail: string } | null {
    const ctx = document.createElement('canvas').getContext('2d');
    if (!ctx) return null;
    const probe = this.sel.append('g').attr('class', 'probe').attr('aria-hidden', 'true');
    const font = (cls: string): string => {
      const t = probe.append('text').attr('class', cls).text('M').node();
      if (!t) return '12px sans-serif';
      const cs = getComputedStyle(t);
      return cs.font !== '' ? cs.font : `${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    };
    const out = { ctx, label: font('label'), detail: font('detail') };
    return out;
  }

  get transform(): Transform {
    const t = zoomTransform(this.svg);
    return { k: t.k, x: t.x, y: t.y };
  }

  setTransform(t: Transform, animate = false): void {
    const target = zoomIdentity.translate(t.x, t.y).scale(t.k);
    if (animate && !reducedMotion()) this.sel.transition().duration(250).call(this.zoomer.transform, target);
    else this.sel.call(this.zoomer.transform, target);
  }

  private size(): { w: number; h: number } {
    return { w: this.svg.clientWidth || 800, h: this.svg.clientHeight || 600 };
  }

  render(input: RenderInput): void {
    // Event handlers outlive this render: they look nodes up in the latest tree, never a stale one.
    const full = new Map<string, VNode>();
    this.full = full;
    const index = (n: VNode): void => {
      full.set(n.id, n);
      n.children.forEach(index);
    };
    index(input.root);
    const shown = hierarchy(visible(input.root, input.collapsed), (d) => d.children);
    const laid = d3tree<VNode>()
      .nodeSize([ROW, 1])
      .separation((a, b) => (a.parent === b.parent ? 1 : 1.3))(shown);
    const all = laid.descendants();
    const widths = new Map(all.map((d) => [d.data.id, TEXT_X + Math.max(this.textWidth(shorten(d.data.label), 'label'), this.textWidth(shorten(d.data.detail), 'detail'))]));
    const cols = columnOffsets(
      all.map((d) => ({ depth: d.depth, width: widths.get(d.data.id) ?? 0 })),
      140,
      GAP,
    );
    const px = (d: Laid): number => cols[d.depth] ?? 0;
    this.positions = new Map(all.map((d) => [d.data.id, { x: px(d), y: d.x }]));
    const textEnd = (d: Laid): number => px(d) + (widths.get(d.data.id) ?? 0);
    const hasKids = (d: Laid): boolean => (full.get(d.data.id)?.children.length ?? 0) > 0;
    const isCollapsed = (d: Laid): boolean => hasKids(d) && input.collapsed.has(d.data.id);

    this.links
      .selectAll<SVGPathElement, { source: Laid; target: Laid }>('path.link')
      .data(laid.links(), (l) => l.target.data.id)
      .join('path')
      .attr('class', 'link')
      .attr('d', (l) => {
        // From the end of the parent's text to the column's end, then a curve to the child's dot.
        const tx = px(l.target);
        const colEnd = tx - GAP;
        const start = Math.min(textEnd(l.source) + 4, colEnd);
        const mid = colEnd + GAP / 2;
        return `M${start},${l.source.x}H${colEnd}C${mid},${l.source.x} ${mid},${l.target.x} ${tx - 7},${l.target.x}`;
      });

    const nodes = this.nodes.selectAll<SVGGElement, Laid>('g.node').data(all, (d) => d.data.id);
    nodes.exit().remove();
    const enter = nodes.enter().append('g').attr('role', 'treeitem');
    enter.append('title');
    enter.append('rect').attr('class', 'hit').attr('x', 8).attr('y', -14).attr('height', 30).attr('rx', 3);
    enter.append('circle').attr('class', 'dot').attr('r', 6);
    enter.append('text').attr('class', 'glyph').attr('text-anchor', 'middle').attr('dy', '0.35em');
    enter.append('text').attr('class', 'label').attr('x', TEXT_X).attr('dy', '-0.15em');
    enter.append('text').attr('class', 'detail').attr('x', TEXT_X).attr('dy', '1.05em');
    enter.on('click', (event: MouseEvent, d) => {
      event.stopPropagation();
      const target = event.target;
      const n = this.full.get(d.data.id);
      if (!n) return;
      if (target instanceof Element && target.classList.contains('dot') && n.children.length > 0) this.handlers.toggle(n);
      else this.handlers.activate(n);
    });

    // Document order = tree order (pre-order), for screen readers and tab order.
    const merged = enter.merge(nodes).order();
    merged
      .attr('id', (d) => this.domId(d.data.id))
      .attr('class', (d) => {
        const c = ['node', d.data.kind, d.data.health];
        if (hasKids(d)) c.push('parent');
        if (isCollapsed(d)) {
          c.push('collapsed');
          if (d.data.inner !== 'ok') c.push(`inner-${d.data.inner}`);
        }
        if (d.data.id === input.selected) c.push('selected');
        if (input.matches.has(d.data.id)) c.push('match');
        return c.join(' ');
      })
      .attr('transform', (d) => `translate(${px(d)},${d.x})`)
      .attr('aria-label', (d) => [d.data.kind === 'group' ? `group ${d.data.label}` : d.data.label, d.data.detail, ...d.data.reasons].filter((s) => s !== '').join(', '))
      .attr('aria-level', (d) => d.depth + 1)
      .attr('aria-expanded', (d) => (hasKids(d) ? String(!isCollapsed(d)) : null))
      .attr('aria-selected', (d) => String(d.data.id === input.selected))
      .attr('data-label', (d) => d.data.label)
      .attr('data-pid', (d) => d.data.pid);
    merged.select('title').text((d) => [d.data.label, d.data.detail, ...d.data.reasons].filter((s) => s !== '').join('\n'));
    merged.select('rect.hit').attr('width', (d) => (widths.get(d.data.id) ?? TEXT_X) - 4);
    merged.select('text.glyph').text((d) => (hasKids(d) ? (isCollapsed(d) ? '+' : '−') : ''));
    merged.select('text.label').text((d) => shorten(d.data.label));
    merged.select('text.detail').text((d) => shorten(d.data.detail));

    const sel = input.selected !== null && this.positions.has(input.selected) ? this.domId(input.selected) : null;
    this.sel.attr('aria-activedescendant', sel);
  }

  /**
   * Moves the view so the node sits a third from the left, halfway down. Keeps the zoom level,
   * but never below `minScale` (a focused node must be readable, not a dot at zoom 0.16).
   */
  center(id: string, animate = false, minScale = 0): void {
    const p = this.positions.get(id);
    if (!p) return;
    const { w, h } = this.size();
    const k = Math.max(minScale, zoomTransform(this.svg).k);
    this.setTransform({ k, x: w / 3 - p.x * k, y: h / 2 - p.y * k }, animate);
  }

  /** Centers the node only when it is outside the view (keyboard moves). */
  reveal(id: string, animate = true): void {
    const p = this.positions.get(id);
    if (!p) return;
    const t = zoomTransform(this.svg);
    const { w, h } = this.size();
    const sx = t.x + p.x * t.k;
    const sy = t.y + p.y * t.k;
    if (sx < 20 || sx > w - 160 || sy < 24 || sy > h - 24) this.center(id, animate);
  }

  /** Whole tree in view (never zoomed in beyond 1.5). */
  fit(animate = true): void {
    const box = (this.layer.node() as SVGGElement).getBBox();
    if (box.width === 0 || box.height === 0) return;
    const { w, h } = this.size();
    const k = Math.max(0.05, Math.min(1.5, 0.92 / Math.max(box.width / w, box.height / h)));
    this.setTransform({ k, x: w / 2 - k * (box.x + box.width / 2), y: h / 2 - k * (box.y + box.height / 2) }, animate);
  }

  /** First placement: the node (the main application) at the left at zoom 1, a third down. */
  place(id: string): void {
    const p = this.positions.get(id) ?? { x: 0, y: 0 };
    const { h } = this.size();
    this.setTransform({ k: 1, x: 24 - p.x, y: h / 3 - p.y });
  }

  get scale(): number {
    return zoomTransform(this.svg).k;
  }
}
