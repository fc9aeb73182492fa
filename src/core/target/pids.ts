// Pids as the target prints them (`<0.123.0>`), and back.
import { BeamLensError } from '../../errors';
import { Atom, Pid, formatPid } from '../../etf';
import type { RpcChannel } from './rpc';
import { UnexpectedReplyError } from './terms';

export function pidText(pid: Pid, peer: string): string {
  return formatPid(pid, Atom.of(peer));
}

const PID_TEXT = /^<(\d+)\.(\d+)\.(\d+)>$/;

/** Parses `<0.123.0>` (the target's own notation) into a pid of that node; asks the target for its creation. */
export async function parsePid(channel: RpcChannel, text: string): Promise<Pid> {
  const trimmed = text.trim();
  if (!PID_TEXT.test(trimmed)) {
    throw new BeamLensError('usage', `"${text}" is not a pid; write it as the node prints it, e.g. <0.123.0>`);
  }
  const reply = await channel.rpc('erlang', 'list_to_pid', [[...trimmed].map((c) => c.charCodeAt(0))]);
  if (!(reply instanceof Pid)) throw new UnexpectedReplyError('a pid', reply);
  return reply;
}
