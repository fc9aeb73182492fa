// Control messages of the distribution protocol (DOP_* in erts dist.h), as pass-through frames:
// 'p' (112), the control tuple, and for some the message or reason as a second term.
import { Atom, Pid, Ref, Term, Tuple, Writer, decodeAt, type DecodeLimits } from '../etf';
import { DistError } from './errors';

export const DOP = {
  LINK: 1,
  SEND: 2,
  EXIT: 3,
  UNLINK: 4,
  REG_SEND: 6,
  GROUP_LEADER: 7,
  EXIT2: 8,
  SEND_TT: 12,
  EXIT_TT: 13,
  REG_SEND_TT: 16,
  EXIT2_TT: 18,
  MONITOR_P: 19,
  DEMONITOR_P: 20,
  MONITOR_P_EXIT: 21,
  SEND_SENDER: 22,
  SEND_SENDER_TT: 23,
  PAYLOAD_EXIT: 24,
  PAYLOAD_EXIT_TT: 25,
  PAYLOAD_EXIT2: 26,
  PAYLOAD_EXIT2_TT: 27,
  PAYLOAD_MONITOR_P_EXIT: 28,
  SPAWN_REQUEST: 29,
  SPAWN_REQUEST_TT: 30,
  SPAWN_REPLY: 31,
  SPAWN_REPLY_TT: 32,
  ALIAS_SEND: 33,
  ALIAS_SEND_TT: 34,
  UNLINK_ID: 35,
  UNLINK_ID_ACK: 36,
} as const;

/** What arrived, in the terms the local node acts on. */
export type Incoming =
  | { op: 'send'; to: Pid; message: Term }
  | { op: 'reg_send'; from: Pid; toName: string; message: Term }
  | { op: 'alias_send'; from: Pid; alias: Ref; message: Term }
  | { op: 'link'; from: Pid; to: Pid }
  | { op: 'unlink'; from: Pid; to: Pid; id?: bigint | number }
  | { op: 'unlink_ack'; from: Pid; to: Pid }
  | { op: 'exit'; from: Pid; to: Pid; reason: Term; kind: 'link' | 'exit2' }
  | { op: 'monitor'; from: Pid; to: Pid | Atom; ref: Ref }
  | { op: 'demonitor'; from: Pid; to: Pid | Atom; ref: Ref }
  | { op: 'monitor_exit'; from: Pid | Atom; to: Pid; ref: Ref; reason: Term }
  | { op: 'ignored'; opcode: number };

/** Bounds for terms from a node: 16 MiB inflated, 96 MiB of decoded terms per frame, 64 KiB bignums. */
export const NETWORK_DECODE_LIMITS: DecodeLimits = { maxInflatedBytes: 16 * 1024 * 1024, maxDecodedBytes: 96 * 1024 * 1024, maxBigBytes: 64 * 1024 };

export function decodeFrame(frame: Buffer, limits: DecodeLimits = NETWORK_DECODE_LIMITS): Incoming {
  if (frame[0] !== 112) throw new DistError('protocol', `a distribution frame of unknown type ${frame[0]} (we negotiated pass-through frames only)`);
  // Control and payload draw on one budget: the frame as a whole is bounded.
  const budget = { left: limits.maxDecodedBytes };
  const { term: control, end } = decodeAt(frame, 1, { limits, budget });
  const payload = (): Term => {
    if (end >= frame.length) throw new DistError('protocol', 'a control message without its payload');
    return decodeAt(frame, end, { limits, budget }).term;
  };
  if (!(control instanceof Tuple) || typeof control.elements[0] !== 'number') {
    throw new DistError('protocol', 'a control message that is not a tuple starting with an operation code');
  }
  const e = control.elements;
  const op = e[0] as number;
  // Bytes from the node: every element is checked, never cast.
  const bad = (i: number, what: string): DistError => new DistError('protocol', `a control message (operation ${op}) whose element ${i} is not ${what}`);
  const pid = (i: number): Pid => {
    const v = e[i];
    if (v instanceof Pid) return v;
    throw bad(i, 'a pid');
  };
  const atomAt = (i: number): Atom => {
    const v = e[i];
    if (v instanceof Atom) return v;
    throw bad(i, 'an atom');
  };
  const ref = (i: number): Ref => {
    const v = e[i];
    if (v instanceof Ref) return v;
    throw bad(i, 'a reference');
  };
  const pidOrAtom = (i: number): Pid | Atom => {
    const v = e[i];
    if (v instanceof Pid || v instanceof Atom) return v;
    throw bad(i, 'a pid or a name');
  };
  const term = (i: number): Term => {
    const v = e[i];
    if (v === undefined) throw bad(i, 'present');
    return v;
  };
  const id = (i: number): number | bigint => {
    const v = e[i];
    if (typeof v === 'number' || typeof v === 'bigint') return v;
    throw bad(i, 'an integer');
  };
  switch (op) {
    case DOP.SEND:
    case DOP.SEND_TT:
    case DOP.SEND_SENDER:
    case DOP.SEND_SENDER_TT:
      return { op: 'send', to: pid(2), message: payload() };
    case DOP.REG_SEND:
    case DOP.REG_SEND_TT:
      return { op: 'reg_send', from: pid(1), toName: atomAt(3).name, message: payload() };
    case DOP.ALIAS_SEND:
    case DOP.ALIAS_SEND_TT:
      return { op: 'alias_send', from: pid(1), alias: ref(2), message: payload() };
    case DOP.LINK:
      return { op: 'link', from: pid(1), to: pid(2) };
    case DOP.UNLINK:
      return { op: 'unlink', from: pid(1), to: pid(2) };
    case DOP.UNLINK_ID:
      return { op: 'unlink', id: id(1), from: pid(2), to: pid(3) };
    case DOP.UNLINK_ID_ACK:
      return { op: 'unlink_ack', from: pid(2), to: pid(3) };
    case DOP.EXIT:
    case DOP.EXIT_TT:
      return { op: 'exit', from: pid(1), to: pid(2), reason: term(op === DOP.EXIT ? 3 : 4), kind: 'link' };
    case DOP.EXIT2:
    case DOP.EXIT2_TT:
      return { op: 'exit', from: pid(1), to: pid(2), reason: term(op === DOP.EXIT2 ? 3 : 4), kind: 'exit2' };
    case DOP.PAYLOAD_EXIT:
    case DOP.PAYLOAD_EXIT_TT:
      return { op: 'exit', from: pid(1), to: pid(2), reason: payload(), kind: 'link' };
    case DOP.PAYLOAD_EXIT2:
    case DOP.PAYLOAD_EXIT2_TT:
      return { op: 'exit', from: pid(1), to: pid(2), reason: payload(), kind: 'exit2' };
    case DOP.MONITOR_P:
      return { op: 'monitor', from: pid(1), to: pidOrAtom(2), ref: ref(3) };
    case DOP.DEMONITOR_P:
      return { op: 'demonitor', from: pid(1), to: pidOrAtom(2), ref: ref(3) };
    case DOP.MONITOR_P_EXIT:
      return { op: 'monitor_exit', from: pidOrAtom(1), to: pid(2), ref: ref(3), reason: term(4) };
    case DOP.PAYLOAD_MONITOR_P_EXIT:
      return { op: 'monitor_exit', from: pidOrAtom(1), to: pid(2), ref: ref(3), reason: payload() };
    default:
      return { op: 'ignored', opcode: op };
  }
}

/** Encodes a whole pass-through frame: length, 'p', the control tuple, and an optional payload. */
export function encodeControl(control: Term[], payload?: Term): Buffer {
  const w = new Writer(false, payload === undefined ? 128 : 1024);
  w.u32(0);
  w.u8(112);
  w.versioned(new Tuple(control));
  if (payload !== undefined) w.versioned(payload);
  const out = w.result();
  out.writeUInt32BE(out.length - 4, 0);
  return out;
}
