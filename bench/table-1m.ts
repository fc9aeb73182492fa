// Frame times of the process table webview scrolling through 1,000,000 processes in headless
// chromium (the real bundle, a fake host; test/e2e/table-1m-drive.ts), median of 3 runs. Needs
// the end-to-end tools (bash test/e2e/install.sh) and the bundles (npm run build).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { heading, median, row } from './util';

const root = path.join(__dirname, '..');

interface Drive {
  scrollMillionRows(root: string): Promise<{ p50: number; p95: number; rows: number; queries: number; lastIndex: number }>;
}

function isDrive(m: unknown): m is Drive {
  return typeof m === 'object' && m !== null && typeof (m as { scrollMillionRows?: unknown }).scrollMillionRows === 'function';
}

async function main(): Promise<void> {
  if (!existsSync(path.join(root, 'test/e2e/node_modules/playwright-core'))) {
    process.stdout.write('table-1m: skipped (playwright-core is not installed: run bash test/e2e/install.sh)\n');
    return;
  }
  // Loaded at run time: its dependency (playwright-core) lives in test/e2e/node_modules.
  const m: unknown = await import(path.join(root, 'test/e2e/table-1m-drive.ts'));
  if (!isDrive(m)) throw new Error('test/e2e/table-1m-drive.ts does not export scrollMillionRows');
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await m.scrollMillionRows(root));
  heading('process table webview, 1,000,000 processes, 301 scroll frames in chromium (median of 3 runs)');
  row(['measure', 'value', 'goal']);
  row(['---', '---', '---']);
  row(['frame time p50', `${median(runs.map((r) => r.p50)).toFixed(1)} ms`, '≈ 16.7 ms (60 frames/s)']);
  row(['frame time p95', `${median(runs.map((r) => r.p95)).toFixed(1)} ms`, '< 50 ms']);
  row(['row elements in the DOM', String(median(runs.map((r) => r.rows))), '< 100']);
  row(['block queries', String(median(runs.map((r) => r.queries))), '< 400']);
}

void main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
