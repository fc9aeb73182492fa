// Reads a report document back from JSON that came from outside the process (a saved session
// file): checks every part's shape so a renderer never meets something it does not know, and
// says where a document is broken.
import {
  REPORT_DOCUMENT_VERSION,
  type ReportBlock,
  type ChartProjection,
  type ReportChart,
  type ReportDocument,
  type ReportFinding,
  type ReportSection,
  type ReportTable,
  type RichText,
  type TableCell,
  type TextSpan,
} from './document';

export class ReportDocumentError extends Error {
  readonly kind = 'usage' as const;
}

type Obj = Record<string, unknown>;

function fail(where: string, what: string): never {
  throw new ReportDocumentError(`not a BEAM Lens report document: ${where} ${what}`);
}

function obj(x: unknown, where: string): Obj {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(where, 'is not an object');
  return x as Obj;
}

function str(x: unknown, where: string): string {
  if (typeof x !== 'string') fail(where, 'is not a string');
  return x;
}

function num(x: unknown, where: string): number {
  if (typeof x !== 'number' || !Number.isFinite(x)) fail(where, 'is not a number');
  return x;
}

function arr<T>(x: unknown, where: string, item: (v: unknown, where: string) => T): T[] {
  if (!Array.isArray(x)) fail(where, 'is not a list');
  return x.map((v, i) => item(v, `${where}[${i}]`));
}

function oneOf<T extends string>(x: unknown, where: string, values: readonly T[]): T {
  if (typeof x !== 'string' || !(values as readonly string[]).includes(x)) fail(where, `is not one of ${values.join(', ')}`);
  return x as T;
}

const SEVERITIES = ['info', 'warning', 'critical'] as const;
const UNITS = ['count', 'bytes', 'per-second', 'percent', 'microseconds'] as const;

function span(x: unknown, where: string): TextSpan {
  const o = obj(x, where);
  const kind = oneOf(o.kind, `${where}.kind`, ['text', 'code', 'strong', 'emphasis', 'findingLink']);
  const text = str(o.text, `${where}.text`);
  return kind === 'findingLink' ? { kind, text, findingId: str(o.findingId, `${where}.findingId`) } : { kind, text };
}

function rich(x: unknown, where: string): RichText {
  return arr(x, where, span);
}

function cell(x: unknown, where: string): TableCell {
  const o = obj(x, where);
  const kind = oneOf(o.kind, `${where}.kind`, ['text', 'code', 'number', 'rich']);
  switch (kind) {
    case 'text':
    case 'code':
      return { kind, text: str(o.text, `${where}.text`) };
    case 'number':
      return { kind, value: num(o.value, `${where}.value`), unit: oneOf(o.unit, `${where}.unit`, UNITS), display: str(o.display, `${where}.display`) };
    case 'rich':
      return { kind, text: rich(o.text, `${where}.text`) };
  }
}

function table(x: unknown, where: string): ReportTable {
  const o = obj(x, where);
  const columns = arr(o.columns, `${where}.columns`, (c, w) => {
    const co = obj(c, w);
    return { label: str(co.label, `${w}.label`), type: oneOf(co.type, `${w}.type`, ['text', 'number']) };
  });
  const rows = arr(o.rows, `${where}.rows`, (r, w) => {
    const cells = arr(r, w, cell);
    if (cells.length !== columns.length) fail(w, `has ${cells.length} cells for ${columns.length} columns`);
    return cells;
  });
  return { columns, rows };
}

function chart(x: unknown, where: string): ReportChart {
  const o = obj(x, where);
  const x0 = obj(o.x, `${where}.x`);
  const y0 = obj(o.y, `${where}.y`);
  const out: ReportChart = {
    title: str(o.title, `${where}.title`),
    x: { label: str(x0.label, `${where}.x.label`), unit: oneOf(x0.unit, `${where}.x.unit`, ['ms', 'category']) },
    y: { label: str(y0.label, `${where}.y.label`), unit: oneOf(y0.unit, `${where}.y.unit`, UNITS) },
    series: arr(o.series, `${where}.series`, (s, w) => {
      const so = obj(s, w);
      return {
        label: str(so.label, `${w}.label`),
        points: arr(so.points, `${w}.points`, (p, pw): [number, number] => {
          if (!Array.isArray(p) || p.length !== 2) fail(pw, 'is not an [x, y] pair');
          return [num(p[0], `${pw}[0]`), num(p[1], `${pw}[1]`)];
        }),
      };
    }),
    fallback: table(o.fallback, `${where}.fallback`),
  };
  if (o.id !== undefined) {
    const id = str(o.id, `${where}.id`);
    if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(id)) fail(`${where}.id`, 'is not a chart id (lowercase letters, digits and dashes)');
    out.id = id;
  }
  if (o.shape !== undefined) out.shape = oneOf(o.shape, `${where}.shape`, ['lines', 'bars', 'stacked', 'projection'] as const);
  if (o.projection !== undefined) {
    const po = obj(o.projection, `${where}.projection`);
    const projection: ChartProjection = {
      intercept: num(po.intercept, `${where}.projection.intercept`),
      perMs: num(po.perMs, `${where}.projection.perMs`),
      untilMs: num(po.untilMs, `${where}.projection.untilMs`),
      endLabel: str(po.endLabel, `${where}.projection.endLabel`),
    };
    if (po.limit !== undefined) {
      const lo = obj(po.limit, `${where}.projection.limit`);
      projection.limit = { value: num(lo.value, `${where}.projection.limit.value`), label: str(lo.label, `${where}.projection.limit.label`) };
    }
    out.projection = projection;
  }
  if (x0.categories !== undefined) out.x.categories = arr(x0.categories, `${where}.x.categories`, str);
  return out;
}

function finding(x: unknown, where: string): ReportFinding {
  const o = obj(x, where);
  const f: ReportFinding = {
    id: str(o.id, `${where}.id`),
    number: num(o.number, `${where}.number`),
    severity: oneOf(o.severity, `${where}.severity`, SEVERITIES),
    rule: str(o.rule, `${where}.rule`),
    title: rich(o.title, `${where}.title`),
    evidence: arr(o.evidence, `${where}.evidence`, rich),
    recommendation: rich(o.recommendation, `${where}.recommendation`),
    risk: rich(o.risk, `${where}.risk`),
    validation: rich(o.validation, `${where}.validation`),
  };
  if (o.process !== undefined) {
    const p = obj(o.process, `${where}.process`);
    f.process = { pid: str(p.pid, `${where}.process.pid`), ...(p.name !== undefined ? { name: str(p.name, `${where}.process.name`) } : {}) };
  }
  if (o.where !== undefined) {
    const w = obj(o.where, `${where}.where`);
    f.where = {
      symbol: str(w.symbol, `${where}.where.symbol`),
      ...(w.file !== undefined ? { file: str(w.file, `${where}.where.file`) } : {}),
      ...(w.line !== undefined ? { line: num(w.line, `${where}.where.line`) } : {}),
    };
  }
  return f;
}

function block(x: unknown, where: string): ReportBlock {
  const o = obj(x, where);
  const kind = oneOf(o.kind, `${where}.kind`, ['paragraph', 'facts', 'finding', 'list', 'table', 'chart']);
  switch (kind) {
    case 'paragraph':
      return { kind, text: rich(o.text, `${where}.text`) };
    case 'facts':
      return {
        kind,
        facts: arr(o.facts, `${where}.facts`, (f, w) => {
          const fo = obj(f, w);
          return { label: str(fo.label, `${w}.label`), value: rich(fo.value, `${w}.value`) };
        }),
      };
    case 'finding':
      return { kind, finding: finding(o.finding, `${where}.finding`) };
    case 'list':
      if (typeof o.ordered !== 'boolean') fail(`${where}.ordered`, 'is not true or false');
      return { kind, ordered: o.ordered, items: arr(o.items, `${where}.items`, rich) };
    case 'table':
      return { kind, table: table(o.table, `${where}.table`) };
    case 'chart':
      return { kind, chart: chart(o.chart, `${where}.chart`) };
  }
}

function section(x: unknown, where: string, depth: number): ReportSection {
  if (depth > 6) fail(where, 'nests sections more than 6 deep');
  const o = obj(x, where);
  return {
    id: str(o.id, `${where}.id`),
    title: str(o.title, `${where}.title`),
    blocks: arr(o.blocks, `${where}.blocks`, block),
    sections: arr(o.sections, `${where}.sections`, (s, w) => section(s, w, depth + 1)),
  };
}

/** The document in `x` (parsed JSON), checked part by part; throws ReportDocumentError saying where it is broken. */
export function readReportDocument(x: unknown): ReportDocument {
  const o = obj(x, 'the document');
  if (o.version !== REPORT_DOCUMENT_VERSION) fail('version', `is ${JSON.stringify(o.version) ?? 'missing'}, this BEAM Lens reads version ${REPORT_DOCUMENT_VERSION}`);
  const c = obj(o.findingCounts, 'findingCounts');
  return {
    version: REPORT_DOCUMENT_VERSION,
    node: str(o.node, 'node'),
    env: str(o.env, 'env'),
    generatedAt: str(o.generatedAt, 'generatedAt'),
    title: rich(o.title, 'title'),
    byline: rich(o.byline, 'byline'),
    findingCounts: {
      critical: num(c.critical, 'findingCounts.critical'),
      warning: num(c.warning, 'findingCounts.warning'),
      info: num(c.info, 'findingCounts.info'),
      total: num(c.total, 'findingCounts.total'),
    },
    sections: arr(o.sections, 'sections', (s, w) => section(s, w, 1)),
  };
}
