// Where a Markdown report's charts go: `X.md` gets `X.charts/<chart id>.svg` next to it, linked
// from the Markdown by relative path. Names come from chart ids (checked, made unique), never
// from node data.
import path from 'node:path';
import { chartSvg } from './chart-svg';
import type { ReportBlock, ReportChart, ReportDocument, ReportSection } from './document';

export interface ChartFile {
  chart: ReportChart;
  /** Absolute path to write. */
  file: string;
  /** Path relative to the Markdown file, with forward slashes (what the image link holds). */
  relative: string;
  svg: string;
}

export function chartsOf(doc: ReportDocument): ReportChart[] {
  const out: ReportChart[] = [];
  const visit = (s: ReportSection): void => {
    for (const b of s.blocks as ReportBlock[]) if (b.kind === 'chart') out.push(b.chart);
    s.sections.forEach(visit);
  };
  doc.sections.forEach(visit);
  return out;
}

/** The SVG files of a report written to `markdownFile` (none when it has no charts). */
export function reportChartFiles(doc: ReportDocument, markdownFile: string): ChartFile[] {
  const dir = `${path.basename(markdownFile).replace(/\.(md|markdown)$/i, '')}.charts`;
  const used = new Set<string>();
  return chartsOf(doc).map((chart, i) => {
    const base = chart.id !== undefined && /^[a-z0-9][a-z0-9-]{0,63}$/.test(chart.id) ? chart.id : `chart-${i + 1}`;
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}-${n}`;
    used.add(name);
    return { chart, file: path.join(path.dirname(path.resolve(markdownFile)), dir, `${name}.svg`), relative: `${dir}/${name}.svg`, svg: chartSvg(chart) };
  });
}
