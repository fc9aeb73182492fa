import { Atom } from './terms';

// Real payloads repeat a few atoms (keys, node names, module names) hundreds of thousands of
// times. A small table keyed by a hash of the atom's bytes returns the interned Atom without
// building a string, which is what makes decoding large process lists fast.
interface AtomSlot {
  bytes: Uint8Array;
  utf8: boolean;
  atom: Atom;
}
const ATOM_SLOTS = 4096;
const atomSlots: Array<AtomSlot | undefined> = new Array<AtomSlot | undefined>(ATOM_SLOTS);

export function cachedAtom(buf: Buffer, start: number, len: number, utf8: boolean): Atom {
  let h = 0x811c9dc5 ^ len;
  for (let i = start, end = start + len; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 16777619);
  const slot = (h >>> 0) & (ATOM_SLOTS - 1);
  const entry = atomSlots[slot];
  if (entry !== undefined && entry.bytes.length === len && entry.utf8 === utf8) {
    const bytes = entry.bytes;
    let same = true;
    for (let i = 0; i < len; i++) {
      if (bytes[i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return entry.atom;
  }
  const atom = Atom.of(buf.toString(utf8 ? 'utf8' : 'latin1', start, start + len));
  atomSlots[slot] = { bytes: Uint8Array.prototype.slice.call(buf, start, start + len), utf8, atom };
  return atom;
}
