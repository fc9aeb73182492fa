import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { Atom, Pid, Ref, Tuple } from '../../../src/etf';
import { Cookie, DFLAG, DistError, OUR_FLAGS, flagNames, parseNames, resolveCookie } from '../../../src/erldist';
import { DOP, decodeFrame, encodeControl } from '../../../src/erldist/control';
import { FrameReader } from '../../../src/erldist/framing';
import { challengeDigest, encodeSendName } from '../../../src/erldist/handshake';

describe('handshake pieces', () => {
  it('digest is MD5 of the cookie and the challenge in decimal (unsigned)', () => {
    assert.equal(challengeDigest('secret', 12345).toString('hex'), createHash('md5').update('secret12345').digest('hex'));
    assert.equal(challengeDigest('c', 0xffffffff).toString('hex'), createHash('md5').update('c4294967295').digest('hex'));
  });

  it('send_name is N, 8 flag bytes, creation, name length, name, with a 2-byte length prefix', () => {
    const b = encodeSendName('beam_lens_x@host', OUR_FLAGS, 0x01020304);
    assert.equal(b.readUInt16BE(0), b.length - 2);
    assert.equal(b[2], 78);
    assert.equal(b.readBigUInt64BE(3), OUR_FLAGS);
    assert.equal(b.readUInt32BE(11), 0x01020304);
    assert.equal(b.readUInt16BE(15), 16);
    assert.equal(b.subarray(17).toString(), 'beam_lens_x@host');
  });

  it('sets every flag explicitly: hidden, no atom cache, no fragments, bit 26 digest, V4_NC', () => {
    const names = flagNames(OUR_FLAGS);
    assert.ok(!names.includes('PUBLISHED'), 'hidden');
    assert.ok(!names.includes('DIST_HDR_ATOM_CACHE') && !names.includes('FRAGMENTS'));
    assert.equal(DFLAG.MANDATORY_25_DIGEST, 1n << 26n);
    for (const f of ['HANDSHAKE_23', 'UNLINK_ID', 'V4_NC', 'BIG_CREATION', 'UTF8_ATOMS', 'MAP_TAG', 'DIST_MONITOR', 'DIST_MONITOR_NAME'] as const) {
      assert.ok(names.includes(f), f);
    }
  });
});

describe('framing', () => {
  const frame = (body: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]);

  it('reassembles frames split at every byte and merged in one chunk, ticks included', () => {
    const stream = Buffer.concat([frame(Buffer.from('abc')), Buffer.alloc(4), frame(Buffer.from('hello')), frame(Buffer.from('z'))]);
    for (let split = 0; split <= stream.length; split++) {
      const r = new FrameReader();
      const got: string[] = [];
      r.push(stream.subarray(0, split), (f) => got.push(f.toString() || '<tick>'));
      r.push(stream.subarray(split), (f) => got.push(f.toString() || '<tick>'));
      assert.deepEqual(got, ['abc', '<tick>', 'hello', 'z'], `split at ${split}`);
    }
    const r = new FrameReader();
    const got: string[] = [];
    for (const byte of stream) r.push(Buffer.from([byte]), (f) => got.push(f.toString() || '<tick>'));
    assert.deepEqual(got, ['abc', '<tick>', 'hello', 'z']);
  });
});

describe('control messages', () => {
  const node = Atom.of('a@h');
  const p1 = new Pid(node, 1, 0, 5);
  const p2 = new Pid(Atom.of('b@h'), 2, 0, 6);
  const ref = new Ref(node, 5, [1, 2, 3]);
  const roundTrip = (control: Array<number | Pid | Ref | Atom>, payload?: Tuple) => decodeFrame(encodeControl(control, payload).subarray(4));

  it('decodes what it encodes, for each operation we act on', () => {
    assert.deepEqual(roundTrip([DOP.SEND_SENDER, p1, p2], new Tuple([Atom.of('hi')])), { op: 'send', to: p2, message: new Tuple([Atom.of('hi')]) });
    assert.equal(roundTrip([DOP.LINK, p1, p2]).op, 'link');
    assert.deepEqual(roundTrip([DOP.UNLINK_ID, 7, p1, p2]), { op: 'unlink', id: 7, from: p1, to: p2 });
    assert.equal(roundTrip([DOP.MONITOR_P, p1, p2, ref]).op, 'monitor');
    const exit = roundTrip([DOP.PAYLOAD_EXIT, p1, p2], new Tuple([Atom.of('boom')]));
    assert.equal(exit.op, 'exit');
    const down = roundTrip([DOP.PAYLOAD_MONITOR_P_EXIT, p1, p2, ref], new Tuple([Atom.of('normal')]));
    assert.equal(down.op, 'monitor_exit');
    assert.equal(roundTrip([99, p1]).op, 'ignored');
  });

  it('refuses frames that are not pass-through', () => {
    assert.throws(() => decodeFrame(Buffer.from([131, 68])), (e: unknown) => e instanceof DistError && e.kind === 'protocol');
  });
});

describe('EPMD names and cookies', () => {
  it('parses NAMES_REQ text', () => {
    assert.deepEqual(parseNames('name demo at port 40001\nname bl_1_2 at port 5\n'), [
      { name: 'demo', port: 40001 },
      { name: 'bl_1_2', port: 5 },
    ]);
  });

  it('reads the cookie from a flag, a file, or ~/.erlang.cookie, and never prints it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bl-cookie-'));
    try {
      writeFileSync(path.join(dir, 'c'), 'from-file  \nsecond line');
      writeFileSync(path.join(dir, '.erlang.cookie'), 'from-home');
      assert.equal((await resolveCookie({ cookie: 'flag' })).reveal(), 'flag');
      assert.equal((await resolveCookie({ cookieFile: path.join(dir, 'c') })).reveal(), 'from-file');
      assert.equal((await resolveCookie({ home: dir })).reveal(), 'from-home');
      await assert.rejects(resolveCookie({ cookieFile: path.join(dir, 'missing') }), /cookie file .*missing does not exist/);
      await assert.rejects(resolveCookie({ home: path.join(dir, 'nowhere') }), /pass --cookie-file FILE/);
      const c = new Cookie('top-secret');
      assert.ok(!`${c}`.includes('top-secret'));
      assert.ok(!JSON.stringify({ c }).includes('top-secret'));
      assert.ok(!inspect(c).includes('top-secret'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
