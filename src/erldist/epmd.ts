// EPMD client: where a node listens (PORT_PLEASE2_REQ) and which nodes a host has (NAMES_REQ).
import { DistError } from './errors';
import { SocketReader, connectTcp } from './socket-util';

export const EPMD_PORT = 4369;

export interface EpmdOptions {
  timeoutMs?: number;
  /** EPMD's port (default 4369, or ERL_EPMD_PORT). */
  epmdPort?: number;
}

export interface NodePort {
  name: string;
  port: number;
  highestVersion: number;
  lowestVersion: number;
}

function epmdPort(options: EpmdOptions): number {
  return options.epmdPort ?? (Number(process.env.ERL_EPMD_PORT) || EPMD_PORT);
}

async function request(host: string, body: Buffer, options: EpmdOptions): Promise<{ reader: SocketReader; close: () => void }> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const port = epmdPort(options);
  const socket = await connectTcp(host, port, timeoutMs, 'EPMD').catch((err: unknown) => {
    if (err instanceof DistError && err.kind === 'unreachable') {
      throw new DistError(
        'unreachable',
        `${err.message}: no Erlang node is registered on ${host}, or EPMD is not reachable from here ` +
          '(for a tunneled node, pass --port with its distribution port)',
      );
    }
    throw err;
  });
  const header = Buffer.alloc(2);
  header.writeUInt16BE(body.length);
  socket.write(Buffer.concat([header, body]));
  return { reader: new SocketReader(socket), close: () => socket.destroy() };
}

/** The port of node `name` (the part before @) on `host`, or null when EPMD does not know it. */
export async function lookupNodePort(host: string, name: string, options: EpmdOptions = {}): Promise<NodePort | null> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const { reader, close } = await request(host, Buffer.concat([Buffer.from([122]), Buffer.from(name, 'utf8')]), options);
  try {
    const head = await reader.read(2, timeoutMs, `EPMD on ${host}`);
    if (head[0] !== 119) throw new DistError('protocol', `EPMD on ${host} answered with unexpected tag ${head[0]}`);
    if (head[1] !== 0) return null;
    const fixed = await reader.read(10, timeoutMs, `EPMD on ${host}`);
    const port = fixed.readUInt16BE(0);
    const highestVersion = fixed.readUInt16BE(4);
    const lowestVersion = fixed.readUInt16BE(6);
    const nameLen = fixed.readUInt16BE(8);
    const nodeName = (await reader.read(nameLen, timeoutMs, `EPMD on ${host}`)).toString('utf8');
    return { name: nodeName, port, highestVersion, lowestVersion };
  } catch (err) {
    if (err instanceof DistError && err.kind === 'nodeDown') return null;
    throw err;
  } finally {
    reader.detach();
    close();
  }
}

export interface RegisteredNode {
  name: string;
  port: number;
}

/** Nodes registered in EPMD on `host` (what `epmd -names` prints). */
export async function listNodes(host: string, options: EpmdOptions = {}): Promise<RegisteredNode[]> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const { reader, close } = await request(host, Buffer.from([110]), options);
  let text: string;
  try {
    await reader.read(4, timeoutMs, `EPMD on ${host}`);
    text = (await reader.readToEnd(timeoutMs, `EPMD on ${host}`)).toString('utf8');
  } finally {
    reader.detach();
    close();
  }
  return parseNames(text);
}

export function parseNames(text: string): RegisteredNode[] {
  const out: RegisteredNode[] = [];
  for (const line of text.split('\n')) {
    const m = /^name (.+) at port (\d+)$/.exec(line.trim());
    if (m) out.push({ name: m[1] as string, port: Number(m[2]) });
  }
  return out;
}
