// A chart picture (chart-picture.ts) as standalone SVG text, for the files next to a Markdown
// report (GitHub and VS Code's preview show them as images). Every text and attribute value is
// escaped: series names are node data. Output is deterministic (same chart, same bytes).
import { chartPicture, type ChartMark, type ChartPicture } from './chart-picture';
import type { ReportChart } from './document';

/** Text for XML content and attribute values: escapes markup and drops characters XML 1.0 forbids. */
export function escapeXml(s: string): string {
  return (
    s
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

const FONT = 'system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif';

function attrs(a: Record<string, string | number | undefined>): string {
  return Object.entries(a)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`)
    .join('');
}

function mark(m: ChartMark): string {
  switch (m.kind) {
    case 'line':
      return `<line${attrs({ x1: m.x1, y1: m.y1, x2: m.x2, y2: m.y2, stroke: m.stroke, 'stroke-width': m.width, 'stroke-dasharray': m.dash })}/>`;
    case 'path':
      return `<path${attrs({ d: m.d, fill: 'none', stroke: m.stroke, 'stroke-width': m.width, 'stroke-linejoin': 'round', 'stroke-linecap': 'round' })}/>`;
    case 'rect':
      return `<rect${attrs({ x: m.x, y: m.y, width: m.width, height: m.height, fill: m.fill })}><title>${escapeXml(m.title)}</title></rect>`;
    case 'circle':
      return `<circle${attrs({ cx: m.cx, cy: m.cy, r: m.r, fill: m.fill })}><title>${escapeXml(m.title)}</title></circle>`;
    case 'text':
      return `<text${attrs({ x: m.x, y: m.y, 'text-anchor': m.anchor, 'font-size': m.size, fill: m.fill, 'font-weight': m.bold ? 'bold' : undefined })}>${escapeXml(m.text)}</text>`;
  }
}

export function pictureSvg(p: ChartPicture): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg"${attrs({ width: p.width, height: p.height, viewBox: `0 0 ${p.width} ${p.height}`, role: 'img', 'aria-labelledby': 'title desc', 'font-family': FONT })}>`,
    `<title id="title">${escapeXml(p.title)}</title>`,
    `<desc id="desc">${escapeXml(p.description)}</desc>`,
    ...p.marks.map(mark),
    '</svg>',
    '',
  ].join('\n');
}

export function chartSvg(chart: ReportChart): string {
  return pictureSvg(chartPicture(chart));
}
