// Distribution capability flags (erts/emulator/beam/dist.h, "Distribution Protocol" in the ERTS
// guide). We set every flag explicitly; we never set PUBLISHED, so we are a hidden node.
export const DFLAG = {
  PUBLISHED: 0x1n,
  ATOM_CACHE: 0x2n,
  EXTENDED_REFERENCES: 0x4n,
  DIST_MONITOR: 0x8n,
  FUN_TAGS: 0x10n,
  DIST_MONITOR_NAME: 0x20n,
  HIDDEN_ATOM_CACHE: 0x40n,
  NEW_FUN_TAGS: 0x80n,
  EXTENDED_PIDS_PORTS: 0x100n,
  EXPORT_PTR_TAG: 0x200n,
  BIT_BINARIES: 0x400n,
  NEW_FLOATS: 0x800n,
  UNICODE_IO: 0x1000n,
  DIST_HDR_ATOM_CACHE: 0x2000n,
  SMALL_ATOM_TAGS: 0x4000n,
  UTF8_ATOMS: 0x10000n,
  MAP_TAG: 0x20000n,
  BIG_CREATION: 0x40000n,
  SEND_SENDER: 0x80000n,
  BIG_SEQTRACE_LABELS: 0x100000n,
  EXIT_PAYLOAD: 0x400000n,
  FRAGMENTS: 0x800000n,
  HANDSHAKE_23: 0x1000000n,
  UNLINK_ID: 0x2000000n,
  // The VM calls bit 26 DFLAG_MANDATORY_25_DIGEST (some documentation says bit 36).
  MANDATORY_25_DIGEST: 0x4000000n,
  SPAWN: 0x100000000n,
  NAME_ME: 0x200000000n,
  V4_NC: 0x400000000n,
  ALIAS: 0x800000000n,
} as const;

export type FlagName = keyof typeof DFLAG;

/**
 * What we offer. Not PUBLISHED (hidden), no atom cache, no fragments: pass-through frames only.
 * DIST_MONITOR_NAME matters beyond names: erts sends no DOWN (MONITOR_P_EXIT) to a node that
 * lacks either DIST_MONITOR or DIST_MONITOR_NAME.
 */
export const OUR_FLAGS =
  DFLAG.EXTENDED_REFERENCES |
  DFLAG.DIST_MONITOR |
  DFLAG.DIST_MONITOR_NAME |
  DFLAG.FUN_TAGS |
  DFLAG.NEW_FUN_TAGS |
  DFLAG.EXTENDED_PIDS_PORTS |
  DFLAG.EXPORT_PTR_TAG |
  DFLAG.BIT_BINARIES |
  DFLAG.NEW_FLOATS |
  DFLAG.SMALL_ATOM_TAGS |
  DFLAG.UTF8_ATOMS |
  DFLAG.MAP_TAG |
  DFLAG.BIG_CREATION |
  DFLAG.SEND_SENDER |
  DFLAG.BIG_SEQTRACE_LABELS |
  DFLAG.EXIT_PAYLOAD |
  DFLAG.HANDSHAKE_23 |
  DFLAG.UNLINK_ID |
  DFLAG.MANDATORY_25_DIGEST |
  DFLAG.V4_NC;

/** What we need from the peer to talk to it at all (OTP 23 and later have all of these). */
export const REQUIRED_FROM_PEER =
  DFLAG.EXTENDED_REFERENCES |
  DFLAG.EXTENDED_PIDS_PORTS |
  DFLAG.UTF8_ATOMS |
  DFLAG.NEW_FLOATS |
  DFLAG.MAP_TAG |
  DFLAG.BIG_CREATION |
  DFLAG.HANDSHAKE_23;

/**
 * Flags OTP releases refuse to work without (OTP 25: the MANDATORY_25_DIGEST set; OTP 26 adds
 * V4_NC and UNLINK_ID). Used to name what is missing when a node closes on us mid-handshake.
 */
export const KNOWN_MANDATORY =
  DFLAG.EXTENDED_REFERENCES |
  DFLAG.FUN_TAGS |
  DFLAG.EXTENDED_PIDS_PORTS |
  DFLAG.UTF8_ATOMS |
  DFLAG.NEW_FUN_TAGS |
  DFLAG.BIG_CREATION |
  DFLAG.NEW_FLOATS |
  DFLAG.MAP_TAG |
  DFLAG.EXPORT_PTR_TAG |
  DFLAG.BIT_BINARIES |
  DFLAG.HANDSHAKE_23 |
  DFLAG.V4_NC |
  DFLAG.UNLINK_ID;

export function flagNames(flags: bigint): FlagName[] {
  return (Object.keys(DFLAG) as FlagName[]).filter((name) => (flags & DFLAG[name]) !== 0n);
}

export function has(flags: bigint, flag: bigint): boolean {
  return (flags & flag) === flag;
}
