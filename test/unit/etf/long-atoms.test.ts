// Atoms of up to 255 characters that take more than 255 bytes in UTF-8 (OTP 28 documents them;
// OTP 25 already writes them): ATOM_UTF8_EXT (118) with a 2-byte length, both ways.
import { strict as assert } from 'node:assert';
import { Atom, decode, encode } from '../../../src/etf';

describe('long UTF-8 atoms', () => {
  const emoji = '\u{1F600}'.repeat(255); // 255 characters, 1,020 bytes

  it('encodes a 255-character, 1,020-byte atom as ATOM_UTF8_EXT with a 2-byte length', () => {
    const bytes = encode(Atom.of(emoji));
    assert.equal(bytes[1], 118);
    assert.equal(bytes.readUInt16BE(2), 1020);
    assert.equal(bytes.length, 1 + 1 + 2 + 1020);
  });

  it('decodes it back, and decodes what OTP 25 writes for it', () => {
    assert.equal((decode(encode(Atom.of(emoji))) as Atom).name, emoji);
    // term_to_binary(list_to_atom(lists:duplicate(255, 16#1F600))) on OTP 25: 131, 118, 1020:16, bytes.
    const otp = Buffer.concat([Buffer.from([131, 118, 0x03, 0xfc]), Buffer.from(emoji, 'utf8')]);
    assert.equal((decode(otp) as Atom).name, emoji);
  });

  it('keeps SMALL_ATOM_UTF8_EXT up to 255 bytes, and refuses more than 255 characters', () => {
    assert.equal(encode(Atom.of('é'.repeat(127)))[1], 119); // 254 bytes
    assert.equal(encode(Atom.of('é'.repeat(128)))[1], 118); // 256 bytes
    assert.throws(() => encode(Atom.of('\u{1F600}'.repeat(256))), /longer than 255/);
  });
});
