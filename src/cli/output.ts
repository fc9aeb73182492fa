// Text output: aligned tables that fit the terminal, human units, colors only on a TTY without NO_COLOR.

export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** True when stdout is a terminal and NO_COLOR is not set. */
  readonly color: boolean;
  /** True when progress lines may be written to stderr. */
  readonly progress: boolean;
}

export function processOutput(): Output {
  const color = process.stdout.isTTY === true && !('NO_COLOR' in process.env);
  return {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
    err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
    color,
    progress: process.stderr.isTTY === true,
  };
}

export function printJson(output: Output, value: unknown): void {
  output.out(JSON.stringify(value, null, 2));
}

export type Align = 'left' | 'right';

export interface Column<Row> {
  header: string;
  align?: Align;
  /** Upper bound on the column's width; longer cells are cut with an ellipsis. */
  max?: number;
  /** Never shortened to fit (addresses, ids). */
  keep?: boolean;
  cell(row: Row): string;
}

/** Renders rows as an aligned table no wider than `width` columns (default 100). */
export function renderTable<Row>(columns: Column<Row>[], rows: Row[], width = 100): string {
  const cells = rows.map((r) => columns.map((c) => c.cell(r)));
  const widths = columns.map((c, i) =>
    Math.min(c.max ?? Infinity, Math.max(c.header.length, ...cells.map((row) => (row[i] as string).length))),
  );
  // Shrink the widest left-aligned column until the table fits.
  const total = (): number => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if (columns[i]?.align === 'right' || columns[i]?.keep === true) continue;
      if (widest === -1 || (widths[i] as number) > (widths[widest] as number)) widest = i;
    }
    if (widest === -1 || (widths[widest] as number) <= 8) break;
    widths[widest] = (widths[widest] as number) - 1;
  }
  const line = (values: string[]): string =>
    values
      .map((v, i) => {
        const w = widths[i] as number;
        const text = v.length > w ? v.slice(0, Math.max(0, w - 1)) + '…' : v;
        return columns[i]?.align === 'right' ? text.padStart(w) : text.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

/** A table, or one line saying there is nothing when there are no rows (never a bare header). */
export function tableOr<Row>(empty: string, columns: Column<Row>[], rows: Row[], width?: number): string {
  return rows.length === 0 ? empty : renderTable(columns, rows, width);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[u]}`;
}

/** 1234567 -> "1.2M", 12345 -> "12.3k" */
export function formatCount(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

export function formatDuration(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function style(output: Output, code: 'bold' | 'dim' | 'red' | 'yellow' | 'green', text: string): string {
  if (!output.color) return text;
  const codes = { bold: [1, 22], dim: [2, 22], red: [31, 39], yellow: [33, 39], green: [32, 39] }[code];
  return `\x1b[${codes[0]}m${text}\x1b[${codes[1]}m`;
}
