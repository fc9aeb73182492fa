import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decode, encode } from '../../../src/etf';
import type { GoldenEntry } from '../../unit/etf/decode.test';

const fixtures = path.join(__dirname, '../../fixtures/etf');
const committed: GoldenEntry[] = JSON.parse(readFileSync(path.join(fixtures, 'golden.json'), 'utf8'));

describe('ETF codec against a live Erlang node', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'beam-lens-etf-'));
    execFileSync('erlc', ['-o', dir, path.join(fixtures, 'etf_golden.erl')], { stdio: 'pipe' });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the committed corpus matches what this node produces (node-specific terms aside)', () => {
    const out = path.join(dir, 'golden.json');
    execFileSync('erl', ['-noshell', '-noinput', '-pa', dir, '-eval', `etf_golden:main(["${out}"]), halt().`], { stdio: 'pipe' });
    const live: GoldenEntry[] = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(live.map((g) => g.name), committed.map((g) => g.name));
    for (const g of live.filter((x) => !x.local)) {
      assert.equal(g.hex, committed.find((c) => c.name === g.name)?.hex, g.name);
    }
  });

  it('the node decodes what we encode to the same terms (=:=)', () => {
    const lines = committed
      .filter((g) => !g.local)
      .map((g) => `${g.name} ${encode(decode(Buffer.from(g.hex, 'hex'))).toString('hex')}`);
    const compressed = committed
      .filter((g) => !g.local && g.options.includes('compressed'))
      .map((g) => `${g.name} ${encode(decode(Buffer.from(g.hex, 'hex')), { compressed: 6 }).toString('hex')}`);
    const file = path.join(dir, 'ours.txt');
    writeFileSync(file, [...lines, ...compressed].join('\n'));
    const out = execFileSync('erl', ['-noshell', '-noinput', '-pa', dir, '-eval', `etf_golden:check(["${file}"]), halt().`], { encoding: 'utf8' });
    assert.equal(out.trim(), `ok ${lines.length + compressed.length}`);
  });
});
