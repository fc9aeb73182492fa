// JSON parsed in slices (core/records/json-steps.ts, the saved-profile reader's parser) gives
// exactly what JSON.parse gives — values, key order, "__proto__" as an own key, multi-byte
// characters cut by a slice — and refuses what JSON.parse refuses; the parse pauses (yields)
// between slices.
import { strict as assert } from 'node:assert';
import { parseJsonSteps } from '../../../../src/core/records/json-steps';
import { runSteps } from '../../../../src/core/records/steps';

const bytes = (t: string): Buffer => Buffer.from(t, 'utf8');

function parsesLike(text: string, slices = [1, 3, 16, 64 * 1024]): void {
  let expected: unknown;
  let refused = false;
  try {
    expected = JSON.parse(bytes(text).toString('utf8'));
  } catch {
    refused = true;
  }
  for (const slice of slices) {
    if (refused) {
      assert.throws(() => runSteps(parseJsonSteps(bytes(text), slice)), SyntaxError, `${JSON.stringify(text)} (slice ${slice}) is refused`);
      continue;
    }
    const got = runSteps(parseJsonSteps(bytes(text), slice));
    assert.equal(JSON.stringify(got), JSON.stringify(expected), `${JSON.stringify(text)} (slice ${slice})`);
    assert.deepStrictEqual(got, expected);
  }
}

describe('JSON parsed in slices (the saved-profile reader)', () => {
  it('gives what JSON.parse gives, and refuses what it refuses', () => {
    for (const t of [
      '{"a":[1,2,{"b":[3,[4,5]]}],"c":"x","d":null,"e":true,"f":-1.5e3}',
      ' [ [ ] , { } , "" , 0 ] ',
      '{"__proto__":{"polluted":1},"x":[{"__proto__":[1]}]}',
      '{"k":1,"k":2,"2":"two","1":"one"}',
      '["é😀\\u2028","\\"quoted\\\\","a\\\\\\"b"]',
      `[${JSON.stringify('ü'.repeat(50))},${JSON.stringify('😀'.repeat(40))}]`,
      '"just a string"',
      '42',
      // Refused: trailing commas, missing colons or values, unterminated, trailing garbage, a byte order mark.
      '[1,2,]',
      '{"a":1,}',
      '{"a" 1}',
      '{"a":}',
      '[1 2]',
      '[,1]',
      '["open',
      '[[1,2],[3,4]',
      '{"a":[1,2]}}',
      '[1,2] x',
      '\ufeff[1,2]',
      '{1:2}',
      '[01]',
      '',
    ]) {
      parsesLike(t);
    }
  });

  it('agrees with JSON.parse on 3,000 generated documents, well formed and damaged', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const gen = (d: number): unknown => {
      const r = rnd();
      if (d > 4 || r < 0.3) {
        const k = rnd();
        return k < 0.3 ? Math.round(rnd() * 1e6) / 100 : k < 0.5 ? `s"\\${String.fromCharCode(65 + Math.floor(rnd() * 40))}` : k < 0.6 ? null : k < 0.7 ? true : k < 0.85 ? 'é😀' : -3e-5;
      }
      if (r < 0.65) return Array.from({ length: Math.floor(rnd() * 6) }, () => gen(d + 1));
      const o: Record<string, unknown> = {};
      for (let i = 0; i < rnd() * 6; i++) o[['a', '__proto__', 'b"c', '1', 'ключ'][Math.floor(rnd() * 5)] ?? 'a'] = gen(d + 1);
      return o;
    };
    for (let n = 0; n < 3000; n++) {
      let text = JSON.stringify(gen(0), null, rnd() < 0.5 ? 1 : undefined) ?? 'null';
      if (rnd() < 0.3) {
        const at = Math.floor(rnd() * text.length);
        text = text.slice(0, at) + (',:[]{}" x1'[Math.floor(rnd() * 10)] ?? '') + text.slice(at + (rnd() < 0.5 ? 1 : 0));
      }
      parsesLike(text, [1, 5, 40]);
    }
  });

  it('refuses a text of nothing but nested brackets instead of scanning it for long', () => {
    const deep = `${'['.repeat(2000)}1${']'.repeat(2000)}`;
    assert.throws(() => runSteps(parseJsonSteps(bytes(deep), 16)), /more than 1000 large containers nested/);
  });

  it('pauses between slices of a large text', () => {
    const text = JSON.stringify({ samples: Array.from({ length: 50_000 }, (_, i) => [i * 1000, i % 300, 1]), frames: [{ name: 'x' }] });
    const steps = parseJsonSteps(bytes(text));
    let pauses = 0;
    let r = steps.next();
    for (; !r.done; r = steps.next()) pauses++;
    assert.ok(pauses >= text.length / (64 * 1024) - 1, `${pauses} pauses for ${text.length} bytes`);
    assert.deepStrictEqual(r.value, JSON.parse(text));
  });

  it('looks no further ahead than a slice, and once: containers nested around long strings cost the text about once, not once per container', () => {
    // Bytes searched for quotes, counted through the text's indexOf (the parser's only search).
    let scanned = 0;
    class Counted extends Uint8Array {
      override indexOf(value: number, from = 0): number {
        const r = super.indexOf(value, from);
        scanned += (r < 0 ? this.length : r + 1) - from;
        return r;
      }
    }
    const depth = 999;
    const slice = 4096;
    const nested = (open: string, close: string, quotes: number): string => open.repeat(depth) + '"' + '\\"'.repeat(quotes) + '"' + close.repeat(depth);
    const texts = [
      nested('[', ']', 200_000),
      nested('{"k":', '}', 200_000),
      // Many such, each a little larger than a slice: each container's look-ahead goes on from
      // where the one around it stopped (looking a slice ahead from each: depth × slice per group).
      `[${Array.from({ length: 20 }, () => nested('[', ']', slice)).join(',')}]`,
    ];
    for (const text of texts) {
      const b = Buffer.from(text);
      const counted = new Counted(b.buffer, b.byteOffset, b.length);
      scanned = 0;
      assert.deepStrictEqual(runSteps(parseJsonSteps(counted, slice)), JSON.parse(text));
      // Each string is searched about once or twice. (A search to the string's end from each
      // container: ~depth × 400 KB = 400 MB; a slice ahead from each: depth × slice per group.)
      assert.ok(scanned <= 3 * text.length + 2 * slice, `${scanned} bytes searched for a ${text.length}-byte text`);
    }
  });
});
