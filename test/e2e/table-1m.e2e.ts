// The process table webview with 1,000,000 processes, in headless chromium (the real bundle
// against a fake host, see table-1m-drive.ts): the DOM stays bounded, only the blocks shown are
// fetched, and the bottom shows the last process. Frame times are a benchmark (bench/table-1m.ts).
import { strict as assert } from 'node:assert';
import path from 'node:path';
import { TOTAL, scrollMillionRows } from './table-1m-drive';

const root = path.join(__dirname, '../..');

describe('process table webview with 1,000,000 processes (chromium)', function () {
  this.timeout(120_000);

  it('fetches only what is shown, keeps the DOM small, and reaches the last row', async () => {
    const r = await scrollMillionRows(root);
    process.stdout.write(`      frame time p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms; ${r.rows} row elements; ${r.queries} block queries; last row ${r.lastIndex}\n`);
    assert.match(r.toolbar, /1,000,000 processes/);
    assert.ok(r.rows < 100, `DOM rows ${r.rows}`);
    assert.equal(r.lastIndex, TOTAL - 1, 'the bottom shows the last process');
    assert.ok(r.queries < 400, `${r.queries} queries for 300 scroll frames`);
  });
});
