// The distribution handshake, version 6 (OTP 23+), as the connecting side and as a hidden node.
// send_name 'N' -> status 's' -> challenge 'N' -> reply 'r' -> ack 'a'. Every message carries a
// 2-byte length prefix. A wrong cookie shows as the peer closing right after our reply.
import { createHash, randomBytes } from 'node:crypto';
import type net from 'node:net';
import type { Cookie } from './cookie';
import { DistError } from './errors';
import { KNOWN_MANDATORY, REQUIRED_FROM_PEER, flagNames } from './flags';
import { SocketReader } from './socket-util';

export interface HandshakeParams {
  socket: net.Socket;
  ourName: string;
  ourFlags: bigint;
  ourCreation: number;
  cookie: Cookie;
  /** The node we meant to reach, for messages. */
  peerName: string;
  timeoutMs: number;
  /** Bytes of each handshake message's length: 2 over TCP, 4 inside TLS (inet_tls_dist uses {packet, 4}). */
  lengthBytes?: 2 | 4;
}

export interface HandshakeResult {
  peerName: string;
  peerFlags: bigint;
  peerCreation: number;
  /** Bytes that arrived after the handshake (the first frames). */
  rest: Buffer;
}

/** MD5(cookie ++ decimal challenge): what both sides prove they know. */
export function challengeDigest(cookie: string, challenge: number): Buffer {
  return createHash('md5')
    .update(Buffer.from(cookie, 'latin1'))
    .update(String(challenge >>> 0))
    .digest();
}

export function encodeSendName(name: string, flags: bigint, creation: number, lengthBytes: 2 | 4 = 2): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  const body = Buffer.alloc(1 + 8 + 4 + 2 + nameBytes.length);
  body[0] = 78; // 'N'
  body.writeBigUInt64BE(flags, 1);
  body.writeUInt32BE(creation >>> 0, 9);
  body.writeUInt16BE(nameBytes.length, 13);
  nameBytes.copy(body, 15);
  return withLength(body, lengthBytes);
}

function withLength(body: Buffer, lengthBytes: 2 | 4): Buffer {
  const head = Buffer.alloc(lengthBytes);
  if (lengthBytes === 2) head.writeUInt16BE(body.length);
  else head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

export async function clientHandshake(p: HandshakeParams): Promise<HandshakeResult> {
  const reader = new SocketReader(p.socket);
  const lengthBytes = p.lengthBytes ?? 2;
  const read = async (what: string): Promise<Buffer> => {
    const head = await reader.read(lengthBytes, p.timeoutMs, `${p.peerName} (${what})`);
    // A TLS record (alert 0x15 or handshake 0x16, version 3.x) where a handshake length should be.
    if ((head[0] === 0x15 || head[0] === 0x16) && head[1] === 0x03) {
      throw new DistError(
        'capability',
        `node ${p.peerName} uses TLS distribution (it answered with a TLS record): pass --tls-ca F with --tls-cert F --tls-key F, or --ssl-dist-optfile F`,
        'tlsRequired',
      );
    }
    const len = lengthBytes === 2 ? head.readUInt16BE(0) : head.readUInt32BE(0);
    // Handshake messages are small; a 4-byte length inside TLS must not make us wait for gigabytes.
    if (len > 65_535) throw new DistError('protocol', `${p.peerName} sent a handshake message of ${len} bytes`);
    return reader.read(len, p.timeoutMs, `${p.peerName} (${what})`);
  };
  let stage = 'status';
  let seenPeerFlags: bigint | null = null;
  try {
    p.socket.write(encodeSendName(p.ourName, p.ourFlags, p.ourCreation, lengthBytes));
    const status = await read('handshake status');
    if (status[0] !== 115) throw new DistError('protocol', `${p.peerName} sent an unexpected handshake message (tag ${status[0]})`);
    const text = status.subarray(1).toString('latin1');
    if (text === 'not_allowed') {
      // Sent both for an allow-list refusal and for missing mandatory capabilities.
      const lacking = KNOWN_MANDATORY & ~p.ourFlags;
      if (lacking !== 0n) {
        throw new DistError('capability', `${p.peerName} refused the connection: it requires capabilities we did not offer: ${flagNames(lacking).join(', ')}`);
      }
    }
    if (text === 'nok' || text === 'not_allowed' || text === 'alive') throw statusError(p.peerName, p.ourName, text);
    if (text !== 'ok' && text !== 'ok_simultaneous') throw new DistError('protocol', `${p.peerName} answered the handshake with "${text}"`);

    stage = 'challenge';
    const challengeMsg = await read('challenge');
    if (challengeMsg[0] === 110) {
      throw new DistError('capability', `${p.peerName} speaks the pre-OTP-23 handshake (version 5); BEAM Lens needs OTP 23 or newer`);
    }
    if (challengeMsg[0] !== 78 || challengeMsg.length < 19) {
      throw new DistError('protocol', `${p.peerName} sent a malformed challenge`);
    }
    const peerFlags = challengeMsg.readBigUInt64BE(1);
    seenPeerFlags = peerFlags;
    const peerChallenge = challengeMsg.readUInt32BE(9);
    const peerCreation = challengeMsg.readUInt32BE(13);
    const nameLen = challengeMsg.readUInt16BE(17);
    const peerName = challengeMsg.subarray(19, 19 + nameLen).toString('utf8');
    const missing = REQUIRED_FROM_PEER & ~peerFlags;
    if (missing !== 0n) {
      throw new DistError('capability', `${peerName} lacks capabilities BEAM Lens needs: ${flagNames(missing).join(', ')}`);
    }

    stage = 'reply';
    const ourChallenge = randomBytes(4).readUInt32BE(0);
    const reply = Buffer.alloc(1 + 4 + 16);
    reply[0] = 114; // 'r'
    reply.writeUInt32BE(ourChallenge, 1);
    challengeDigest(p.cookie.reveal(), peerChallenge).copy(reply, 5);
    p.socket.write(withLength(reply, lengthBytes));

    const ack = await read('challenge ack');
    if (ack[0] !== 97 || ack.length !== 17) throw new DistError('protocol', `${peerName} sent a malformed challenge ack`);
    if (!ack.subarray(1).equals(challengeDigest(p.cookie.reveal(), ourChallenge))) {
      throw new DistError('auth', `${peerName} answered our challenge with a wrong digest: its cookie differs from ours`);
    }
    return { peerName, peerFlags, peerCreation, rest: reader.detach() };
  } catch (err) {
    reader.detach();
    if (err instanceof DistError && err.kind === 'nodeDown') throw closedDuring(stage, p, seenPeerFlags);
    throw err;
  }
}

function statusError(peer: string, ourName: string, status: string): DistError {
  switch (status) {
    case 'not_allowed':
      return new DistError(
        'auth',
        `${peer} does not allow connections from ${ourName}: net_kernel:allow/1 restricts who may connect, or it requires ` +
          'a distribution capability BEAM Lens lacks (its log names it)',
      );
    case 'alive':
      return new DistError('protocol', `${peer} already has a connection from a node named ${ourName}`);
    default:
      return new DistError('protocol', `${peer} refused the connection (a simultaneous connect is under way); try again`);
  }
}

function closedDuring(stage: string, p: HandshakeParams, peerFlags: bigint | null): DistError {
  // A node checks our capabilities after the challenge: if we left out one that current OTP
  // releases require and the peer has, that (not the cookie) is why it hung up.
  const lacking = KNOWN_MANDATORY & ~p.ourFlags & (peerFlags ?? KNOWN_MANDATORY);
  if (lacking !== 0n && stage !== 'challenge ack') {
    return new DistError('capability', `${p.peerName} closed the connection: it requires capabilities we did not offer: ${flagNames(lacking).join(', ')}`);
  }
  if (stage === 'reply') {
    return new DistError('auth', `node ${p.peerName} rejected the cookie: check --cookie, --cookie-file or ~/.erlang.cookie`);
  }
  if (stage === 'status') {
    return new DistError(
      'capability',
      `${p.peerName} closed the connection before the handshake started: it may use TLS distribution (pass --tls-… or ` +
        '--ssl-dist-optfile), require a distribution capability BEAM Lens lacks (a newer OTP?) or refuse hidden nodes; its log says why',
      'maybeTls',
    );
  }
  return new DistError('nodeDown', `${p.peerName} closed the connection during the handshake (${stage})`);
}
