// Bounds on untrusted input: frame reassembly and caps, decode limits, the options-file reader.
import { strict as assert } from 'node:assert';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { DistError, tlsFromFlags } from '../../../src/erldist';
import { NETWORK_DECODE_LIMITS } from '../../../src/erldist/control';
import { readTerms } from '../../../src/erldist/erl-term-text';
import { FrameReader } from '../../../src/erldist/framing';
import { Atom, EtfLimitError, decode, encode } from '../../../src/etf';

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

describe('frame bounds', () => {
  it('refuses a frame from its length prefix, before buffering it', () => {
    const r = new FrameReader({ maxFrameBytes: 1000 });
    assert.throws(
      () => r.push(Buffer.concat([u32(1.5 * 2 ** 30), Buffer.alloc(10)]), () => undefined),
      (e: unknown) => e instanceof DistError && e.kind === 'protocol' && e.message === 'a frame of 1610612736 bytes; the limit is 1000 bytes',
    );
    assert.equal(r.buffered, 0);
  });

  it('assembles a large frame in its own buffer across many chunks, then reads on', () => {
    const big = Buffer.alloc(3 << 20);
    for (let i = 0; i < big.length; i += 4099) big[i] = i & 0xff;
    const stream = Buffer.concat([u32(big.length), big, u32(3), Buffer.from('end'), u32(0)]);
    const r = new FrameReader();
    const got: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 65_521) r.push(stream.subarray(i, i + 65_521), (f) => got.push(Buffer.from(f)));
    assert.equal(got.length, 3);
    assert.ok((got[0] as Buffer).equals(big));
    assert.equal((got[1] as Buffer).toString(), 'end');
    assert.equal((got[2] as Buffer).length, 0);
    assert.equal(r.buffered, 0);
  });

  it('calls a frame that trickles in stalled, and one that streams fast not', () => {
    const r = new FrameReader({ stallMs: 5000, minBytesPerSecond: 1000 });
    r.push(Buffer.concat([u32(1 << 20), Buffer.alloc(100)]), () => undefined, 0);
    assert.equal(r.stalled(4000), null);
    assert.match(r.stalled(6000) ?? '', /^a frame of 1048576 bytes too slowly: 104 bytes in 6.0 s/);
    const fast = new FrameReader({ stallMs: 5000, minBytesPerSecond: 1000 });
    fast.push(Buffer.concat([u32(1 << 20), Buffer.alloc(100_000)]), () => undefined, 0);
    assert.equal(fast.stalled(6000), null);
  });
});

describe('decode limits', () => {
  const limits = NETWORK_DECODE_LIMITS;
  const refused = (bytes: Buffer, re: RegExp): void => {
    assert.throws(() => decode(bytes, { limits }), (e: unknown) => e instanceof EtfLimitError && re.test(e.reason), String(re));
  };

  it('refuses a compressed term by its claimed size, and a bomb under a small header', () => {
    refused(Buffer.concat([Buffer.from([131, 80]), u32(2 ** 30), deflateSync(Buffer.alloc(100))]), /^a compressed term claiming 1073741824 bytes; the limit is 16777216 bytes$/);
    refused(Buffer.concat([Buffer.from([131, 80]), u32(1000), deflateSync(Buffer.alloc(1 << 20))]), /inflates past the 1000 bytes its header claims/);
  });

  it('charges decoded memory: many empty lists and binaries are refused, ordinary terms pass', () => {
    const n = 4_000_000;
    refused(Buffer.concat([Buffer.from([131, 108]), u32(n), Buffer.alloc(n, 106), Buffer.from([106])]), /past|more than the 100663296 bytes/);
    const bins = Buffer.concat([Buffer.from([131, 108]), u32(n / 8), ...new Array<Buffer>(n / 8).fill(Buffer.from([109, 0, 0, 0, 0])), Buffer.from([106])]);
    refused(bins, /binaries that would take more than/);
    const ok = encode(Array.from({ length: 100_000 }, (_, i) => [i, Buffer.from('x'), Atom.of('abc')]));
    assert.equal((decode(ok, { limits }) as unknown[]).length, 100_000);
  });

  it('refuses a declared count before allocating for it, and huge integers', () => {
    refused(Buffer.concat([Buffer.from([131, 108]), u32(50_000_000), Buffer.alloc(50_000_001, 106)]), /^a list of 50000000 elements/);
    refused(Buffer.concat([Buffer.from([131, 111]), u32(1 << 20), Buffer.from([0]), Buffer.alloc(1 << 20, 1)]), /^an integer of 1048576 bytes; the limit is 65536 bytes$/);
  });
});

describe('ssl_dist_optfile reader', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'beam-lens-optfile-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads Erlang terms: lists, tuples, quoted atoms, strings with escapes, binaries, comments', () => {
    const terms = readTerms(`% options\n[{server, [{certfile, "/a b/\\"c\\".pem"}]}, {'client', [{verify, verify_peer}, {depth, -2}, {password, <<"pw">>}]}].\n`);
    assert.deepEqual(terms, [
      {
        t: 'list',
        items: [
          { t: 'tuple', items: [{ t: 'atom', v: 'server' }, { t: 'list', items: [{ t: 'tuple', items: [{ t: 'atom', v: 'certfile' }, { t: 'string', v: '/a b/"c".pem' }] }] }] },
          {
            t: 'tuple',
            items: [
              { t: 'atom', v: 'client' },
              {
                t: 'list',
                items: [
                  { t: 'tuple', items: [{ t: 'atom', v: 'verify' }, { t: 'atom', v: 'verify_peer' }] },
                  { t: 'tuple', items: [{ t: 'atom', v: 'depth' }, { t: 'int', v: -2 }] },
                  { t: 'tuple', items: [{ t: 'atom', v: 'password' }, { t: 'binary', v: 'pw' }] },
                ],
              },
            ],
          },
        ],
      },
    ]);
    assert.throws(() => readTerms('[{client, [}].'), /line 1: expected a term/);
    assert.throws(() => readTerms('['.repeat(100) + ']'.repeat(100) + '.'), /nested deeper than 32/);
    assert.throws(() => readTerms('[{a, "unterminated}].'), /unterminated string/);
  });

  it('takes the client options, warns about a shared key and about verify_none, never prints the key', async () => {
    const keyPem = '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n';
    const certPem = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    writeFileSync(path.join(dir, 'key.pem'), keyPem);
    chmodSync(path.join(dir, 'key.pem'), 0o644);
    writeFileSync(path.join(dir, 'cert.pem'), certPem);
    writeFileSync(path.join(dir, 'ca.pem'), certPem);
    const opt = path.join(dir, 'ssl_dist.conf');
    writeFileSync(opt, `[{server, [{certfile, "nope.pem"}]},\n {client, [{certfile, "cert.pem"}, {keyfile, "${path.join(dir, 'key.pem')}"}, {cacertfile, "ca.pem"}, {verify, verify_none}, {server_name_indication, "node.example"}]}].\n`);
    const warnings: string[] = [];
    const tls = await tlsFromFlags({ sslDistOptfile: opt }, (m) => warnings.push(m));
    assert.ok(tls);
    assert.equal(tls.verify, false);
    assert.equal(tls.serverName, 'node.example');
    assert.equal(tls.cert?.toString(), certPem);
    assert.equal(tls.key?.reveal().toString(), keyPem);
    assert.equal(JSON.stringify(tls).includes('c2VjcmV0'), false);
    assert.equal(String(tls.key), '[redacted]');
    assert.equal(warnings.length, 2);
    assert.match(warnings.join('\n'), /key\.pem can be read by other users \(mode 644\): run chmod 600/);
    assert.match(warnings.join('\n'), /verify_none/);
    await assert.rejects(tlsFromFlags({ tlsCert: path.join(dir, 'cert.pem') }, () => undefined), /holds no PEM key \(no --tls-key given/);
    await assert.rejects(tlsFromFlags({ tlsKey: path.join(dir, 'key.pem') }, () => undefined), /--tls-key needs --tls-cert/);
    writeFileSync(opt, '[{server, []}].');
    await assert.rejects(tlsFromFlags({ sslDistOptfile: opt }, () => undefined), /has no \{client, \[\.\.\.\]\} options/);
  });
});
