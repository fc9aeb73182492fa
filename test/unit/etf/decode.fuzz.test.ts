import { strict as assert } from 'node:assert';
import { EtfDecodeError, decode } from '../../../src/etf';
import { golden } from './decode.test';

/** mulberry32: a small seeded PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(src: Buffer, r: () => number): Buffer {
  const pick = (n: number): number => Math.floor(r() * n);
  const b = Buffer.from(src);
  switch (pick(6)) {
    case 0: {
      // flip a few bits
      for (let i = 0, n = 1 + pick(4); i < n; i++) {
        const at = pick(b.length);
        b[at] = (b[at] as number) ^ (1 << pick(8));
      }
      return b;
    }
    case 1: {
      // replace bytes with random or boundary values
      const values = [0, 1, 0x7f, 0x80, 0xff, 131, 80, 104, 105, 107, 108, 109, 116];
      for (let i = 0, n = 1 + pick(3); i < n; i++) b[pick(b.length)] = r() < 0.5 ? pick(256) : (values[pick(values.length)] as number);
      return b;
    }
    case 2:
      // truncate
      return b.subarray(0, pick(b.length));
    case 3: {
      // insert random bytes
      const at = pick(b.length + 1);
      const extra = Buffer.from(Array.from({ length: 1 + pick(8) }, () => pick(256)));
      return Buffer.concat([b.subarray(0, at), extra, b.subarray(at)]);
    }
    case 4: {
      // inflate a 4-byte length field somewhere to a huge value
      if (b.length < 6) return b;
      const at = 1 + pick(b.length - 5);
      b.writeUInt32BE([0xffffffff, 0x7fffffff, 0x10000000, b.length * 2][pick(4)] as number, at);
      return b;
    }
    default: {
      // splice two corpus entries
      const other = Buffer.from((golden[pick(golden.length)] as { hex: string }).hex, 'hex');
      return Buffer.concat([b.subarray(0, pick(b.length)), other.subarray(1 + pick(Math.max(1, other.length - 1)))]);
    }
  }
}

describe('ETF decoder fuzz', function () {
  this.timeout(120_000);

  it('100,000 mutated inputs: each decodes or raises EtfDecodeError, nothing else, nothing hangs', () => {
    const seeds = golden.map((g) => Buffer.from(g.hex, 'hex')).filter((b) => b.length < 20_000);
    const r = rng(0xbea415);
    const started = Date.now();
    let decoded = 0;
    let refused = 0;
    for (let i = 0; i < 100_000; i++) {
      const input = mutate(seeds[i % seeds.length] as Buffer, r);
      const t0 = Date.now();
      try {
        decode(input);
        decoded++;
      } catch (err) {
        if (!(err instanceof EtfDecodeError)) {
          assert.fail(`input #${i} (${input.toString('hex').slice(0, 200)}) raised ${(err as Error).name}: ${(err as Error).message}`);
        }
        assert.ok(err.offset >= 0 && Number.isInteger(err.offset));
        refused++;
      }
      assert.ok(Date.now() - t0 < 1000, `input #${i} took ${Date.now() - t0} ms`);
    }
    assert.equal(decoded + refused, 100_000);
    assert.ok(refused > 10_000 && decoded > 1_000, `decoded ${decoded}, refused ${refused}`);
    assert.ok(Date.now() - started < 60_000);
  });
});
