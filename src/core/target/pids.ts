// Pids as the target prints them (`<0.123.0>`), and back.
import { BeamLensError } from '../../errors';
import { Atom, Pid, formatPid } from '../../etf';
import type { RpcChannel } from './rpc';
import { UnexpectedReplyError } from './terms';
import type { RemoteEvaluator } from './remote-eval';
import { RpcError } from '../../erldist';

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
  let reply;
  try {
    reply = await channel.rpc('erlang', 'list_to_pid', [[...trimmed].map((c) => c.charCodeAt(0))]);
  } catch (err) {
    if (!(err instanceof RpcError)) throw err;
    throw new BeamLensError('usage', `${trimmed} is not a pid that can exist on ${channel.peer} (its numbers are out of range); copy a pid from \`beam-lens processes\``);
  }
  if (!(reply instanceof Pid)) throw new UnexpectedReplyError('a pid', reply);
  return reply;
}

const NAME_TEXT = /^[A-Za-z][A-Za-z0-9_.@]*$/;

/** A pid (`<0.123.0>`) or a registered name (`rex`, `Elixir.MyApp.Worker` or `MyApp.Worker`), resolved on the target. */
export async function resolveProcess(channel: RpcChannel, evaluator: RemoteEvaluator, text: string): Promise<Pid> {
  const trimmed = text.trim();
  if (trimmed.startsWith('<') || !NAME_TEXT.test(trimmed)) return parsePid(channel, trimmed);
  // list_to_existing_atom: a name that is no atom on the node cannot be registered, and no atom is created.
  const names = [trimmed, ...(/^[A-Z]/.test(trimmed) ? [`Elixir.${trimmed}`] : [])];
  const reply = await evaluator.eval(
    `case [P || N <- Names, P <- [try whereis(list_to_existing_atom(N)) catch error:badarg -> undefined end], is_pid(P)] of [P | _] -> P; [] -> undefined end.`,
    { Names: names.map((n) => [...n].map((c) => c.charCodeAt(0))) },
  );
  if (reply instanceof Pid) return reply;
  throw new BeamLensError('usage', `no process is registered as ${trimmed} on ${channel.peer}; give a pid like <0.123.0> or a registered name (\`beam-lens processes\` lists both)`);
}
