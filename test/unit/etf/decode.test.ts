import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  Atom, BitBinary, Closure, ErlFloat, ErlMap, EtfDecodeError, ExportFun, ImproperList, Pid, Port, Ref, Tuple,
  decode, encode, formatTerm, termEquals, type EncodeOptions, type Term,
} from '../../../src/etf';

export interface GoldenEntry {
  name: string;
  source: string;
  options: string;
  local: boolean;
  hex: string;
}

export const golden: GoldenEntry[] = JSON.parse(readFileSync(path.join(__dirname, '../../fixtures/etf/golden.json'), 'utf8'));
const byName = new Map(golden.map((g) => [g.name, g]));
const bytesOf = (name: string): Buffer => Buffer.from((byName.get(name) as GoldenEntry).hex, 'hex');
const term = (name: string): Term => decode(bytesOf(name));

/** The encoder options that reproduce term_to_binary(T, Options) on OTP 25. */
export function encodeOptionsFor(g: GoldenEntry): EncodeOptions {
  return { atoms: g.options.includes('minor_version,2') ? 'utf8' : 'latin1' };
}

describe('ETF golden corpus (bytes from term_to_binary on a real OTP node)', () => {
  it('has at least 60 terms', () => assert.ok(golden.length >= 60, `${golden.length}`));

  for (const g of golden) {
    it(`${g.name}: decodes, and re-encodes to the same bytes`, () => {
      const bytes = Buffer.from(g.hex, 'hex');
      const t = decode(bytes);
      if (g.options.includes('compressed')) {
        // zlib builds differ in their output bytes: compare terms, and check ours decodes back.
        const again = encode(t, { ...encodeOptionsFor(g), compressed: 6 });
        assert.ok(termEquals(decode(again), t));
        assert.equal(again[1] === 80, bytes[1] === 80, 'compressed exactly when Erlang found it worth it');
        assert.ok(termEquals(decode(encode(t, encodeOptionsFor(g))), t));
      } else if (g.options.includes('minor_version,0') && g.name.startsWith('float')) {
        // FLOAT_EXT (old text floats) is read, and written back as NEW_FLOAT_EXT.
        assert.ok(t instanceof ErlFloat);
        assert.equal(t.value, Number(g.source));
        assert.equal(encode(t)[1], 70);
      } else {
        assert.equal(encode(t, encodeOptionsFor(g)).toString('hex'), g.hex);
      }
    });
  }
});

describe('ETF decoded values', () => {
  it('integers: small, int32, and bignums as bigint beyond 2^53', () => {
    assert.equal(term('small_int_255'), 255);
    assert.equal(term('int32_min'), -2147483648);
    assert.equal(term('big_2_31'), 2147483648);
    assert.equal(term('big_2_53'), 9007199254740993n);
    assert.equal(term('big_2_64'), 18446744073709551616n);
    assert.equal(term('big_neg_2_100'), -(2n ** 100n));
    assert.equal(term('large_big'), 1n << 2100n);
  });

  it('floats as ErlFloat (1.0 stays a float)', () => {
    assert.ok(term('float_0') instanceof ErlFloat);
    assert.equal((term('float_pi') as ErlFloat).value, Math.PI);
    assert.equal((term('float_old_neg') as ErlFloat).value, -123.456);
  });

  it('atoms in every encoding, interned', () => {
    assert.equal(term('atom_ok'), Atom.of('ok'));
    assert.equal((term('atom_latin1') as Atom).name, 'café');
    assert.equal((term('atom_utf8_small') as Atom).name, 'λ');
    assert.equal((term('atom_utf8_long') as Atom).name, 'λ'.repeat(200));
    assert.equal((term('atom_255') as Atom).name.length, 255);
    assert.equal(bytesOf('atom_ok')[1], 100, 'OTP 25 term_to_binary writes ATOM_EXT');
    assert.equal(bytesOf('atom_utf8_minor2')[1], 119, 'minor_version 2 writes SMALL_ATOM_UTF8_EXT');
    assert.equal(bytesOf('atom_utf8_long')[1], 118, 'ATOM_UTF8_EXT for long UTF-8 atoms');
  });

  it('lists, strings, improper lists, tuples', () => {
    assert.deepEqual(term('string'), [...'hello world'].map((c) => c.charCodeAt(0)));
    assert.equal((term('string_long') as number[]).length, 70000);
    const improper = term('improper_long');
    assert.ok(improper instanceof ImproperList);
    assert.deepEqual(improper.elements, [1, 2, 3]);
    assert.equal(improper.tail, 4);
    assert.equal((term('tuple_large') as Tuple).size, 300);
  });

  it('binaries and bitstrings', () => {
    assert.equal((term('binary_utf8') as Buffer).toString('utf8'), 'café λ');
    const bits = term('bitstring_13');
    assert.ok(bits instanceof BitBinary);
    assert.equal(bits.bitLength, 13);
    assert.equal(bits.bits, 5);
  });

  it('maps, including Elixir structs', () => {
    const m = term('elixir_struct');
    assert.ok(m instanceof ErlMap);
    assert.equal(m.getAtom('__struct__'), Atom.of('Elixir.URI'));
    assert.equal(m.getAtom('port'), 80);
    assert.equal((term('map_large') as ErlMap).size, 40);
    assert.deepEqual((term('map_keys') as ErlMap).get(Buffer.from('two') as unknown as Term), undefined, 'a binary key is not the charlist key');
    assert.equal((term('map_keys') as ErlMap).get([...'two'].map((c) => c.charCodeAt(0))), 2);
  });

  it('pids, ports, references, funs', () => {
    const pid = term('pid_init');
    assert.ok(pid instanceof Pid);
    assert.equal(pid.id, 0);
    assert.equal(pid.serial, 0);
    assert.equal(pid.node.name, 'nonode@nohost');
    assert.equal(formatTerm(pid, { localNode: pid.node }), '<0.0.0>');
    assert.ok(term('port') instanceof Port);
    const ref = term('ref');
    assert.ok(ref instanceof Ref);
    assert.equal(ref.ids.length, 3);
    const f = term('export_fun');
    assert.ok(f instanceof ExportFun);
    assert.equal(`${f.module.name}:${f.fun.name}/${f.arity}`, 'erlang:process_info/2');
    const c = term('closure_free_vars');
    assert.ok(c instanceof Closure);
    assert.equal(c.module.name, 'erl_eval');
  });

  it('the process_info row a node would send', () => {
    const row = term('process_info_row') as Tuple;
    assert.ok(row.at(0) instanceof Pid);
    const info = row.at(1) as Tuple[];
    assert.deepEqual(info.map((t) => (t.at(0) as Atom).name), ['memory', 'reductions', 'current_function', 'registered_name', 'status']);
  });
});

describe('ETF decode errors', () => {
  it('every proper prefix of corpus terms fails with a typed error and an offset', () => {
    for (const name of ['tuple_small', 'map_nested', 'pid_self', 'closure', 'big_neg_2_100', 'string', 'float_old', 'compressed_list', 'ref_alias']) {
      const bytes = bytesOf(name);
      for (let n = 0; n < bytes.length; n++) {
        assert.throws(
          () => decode(bytes.subarray(0, n)),
          (e: unknown) => e instanceof EtfDecodeError && e.offset >= 0 && e.offset <= n,
          `${name} cut at ${n}`,
        );
      }
    }
  });

  it('garbage, a bad version byte, trailing bytes and unknown tags are refused', () => {
    assert.throws(() => decode(Buffer.from([])), EtfDecodeError);
    assert.throws(() => decode(Buffer.from([130, 97, 1])), /version byte 131/);
    assert.throws(() => decode(Buffer.from([131, 97, 1, 0])), /unexpected byte/);
    assert.throws(() => decode(Buffer.from([131, 200])), /unknown tag 200/);
    assert.throws(() => decode(Buffer.from([131, 82, 0])), /atom cache/);
  });

  it('lengths the input cannot hold are refused without allocating', () => {
    // A list claiming 4 billion elements, a binary claiming 4 GB, a compressed term claiming 2 GB.
    assert.throws(() => decode(Buffer.from([131, 108, 0xff, 0xff, 0xff, 0xff, 106])), /claims/);
    assert.throws(() => decode(Buffer.from([131, 109, 0xff, 0xff, 0xff, 0xff, 1])), /truncated/);
    assert.throws(() => decode(Buffer.from([131, 80, 0x7f, 0xff, 0xff, 0xff, 0x78, 0x9c])), EtfDecodeError);
  });
});

describe('ETF encoder', () => {
  it('refuses values Erlang has no term for', () => {
    assert.throws(() => encode(NaN), /no number NaN/);
    assert.throws(() => encode(new ErlFloat(Infinity)), /no float/);
    assert.throws(() => encode(null as unknown as Term), /unsupported value null/);
    assert.throws(() => encode(Atom.of('a'.repeat(256))), /longer than 255/);
  });

  it('writes integers in their canonical form', () => {
    assert.deepEqual([...encode(5n)], [131, 97, 5]);
    assert.deepEqual([...encode(-5)], [131, 98, 0xff, 0xff, 0xff, 0xfb]);
    assert.deepEqual([...encode(2 ** 32)], [131, 110, 5, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual([...encode(-(2n ** 64n))], [131, 110, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert.equal(encode(1n << 2100n)[1], 111, 'LARGE_BIG_EXT beyond 255 bytes');
  });

  it('writes byte lists as STRING_EXT and other lists as LIST_EXT', () => {
    assert.equal(encode([1, 2, 3])[1], 107);
    assert.equal(encode([1, 256])[1], 108);
    assert.equal(encode([])[1], 106);
  });

  it('prints terms as Erlang does, truncated on request', () => {
    const pid = new Pid(Atom.of('demo@host'), 123, 0, 1);
    assert.equal(formatTerm(pid, { localNode: Atom.of('demo@host') }), '<0.123.0>');
    assert.equal(formatTerm(pid), '<demo@host.123.0>');
    assert.equal(formatTerm(new Tuple([Atom.of('ok'), [104, 105], Buffer.from('x')])), '{ok,"hi",<<"x">>}');
    const long = formatTerm(Array.from({ length: 1000 }, (_, i) => i + 1000), { maxLength: 50 });
    assert.ok(long.length <= 51 && long.endsWith('…'), long);
    assert.equal(formatTerm(Atom.of('Elixir.Foo')), "'Elixir.Foo'");
  });
});
