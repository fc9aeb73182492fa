// What each member says about itself and its view of the cluster, in one evaluation on that
// member (zero-install: erl_eval, nothing loaded): who it is connected to, versions of OTP, ERTS
// and its applications, the configuration we compare (schedulers, net_ticktime, process limit),
// its registered processes' mailboxes, its distribution output queues, and the global names it
// knows. Bounded: at most MAX_NAMES registered and global names each.
import { BeamLensError } from '../../errors';
import { Atom, ErlMap, Pid, Tuple, type Term } from '../../etf';
import type { RemoteEvaluator } from '../target/remote-eval';
import { asList, asNumber, charlistToString } from '../target/terms';

export const MAX_NAMES = 2000;

const MEMBER_FACTS = `
SI = fun(K) -> try erlang:system_info(K) catch _:_ -> undefined end end,
Apps = [{A, V} || {A, _, V} <- application:which_applications(5000)],
Reg = lists:sublist([{N, Q} || N <- erlang:registered(), is_pid(P = whereis(N)),
                              {message_queue_len, Q} <- [erlang:process_info(P, message_queue_len)]], Max),
Dist = [begin
          Q = case C of
                _ when is_port(C) -> case erlang:port_info(C, queue_size) of {queue_size, S} -> S; _ -> 0 end;
                _ -> 0
              end,
          {N, Q, erlang:port_info(C, connected) =/= undefined andalso is_port(C)}
        end || {N, C} <- try erlang:system_info(dist_ctrl) catch _:_ -> [] end],
Globals = try lists:sublist([{G, global:whereis_name(G)} || G <- global:registered_names()], Max) catch _:_ -> [] end,
#{node => node(), nodes => nodes(), hidden => nodes(hidden),
  otp_release => SI(otp_release), erts => SI(version),
  apps => Apps, schedulers => SI(schedulers_online),
  ticktime => try net_kernel:get_net_ticktime() catch _:_ -> undefined end,
  process_limit => SI(process_limit), process_count => SI(process_count),
  memory_total => erlang:memory(total), registered => Reg, dist => Dist, globals => Globals}.`;

export interface MemberFacts {
  node: string;
  /** nodes() on this member: who it is connected to (visible nodes). */
  connected: string[];
  hidden: string[];
  otpRelease: string;
  ertsVersion: string;
  applications: Record<string, string>;
  schedulersOnline: number;
  netTicktime: number | null;
  processLimit: number;
  processCount: number;
  memoryTotal: number;
  /** Registered name -> its message queue length. */
  mailboxes: Record<string, number>;
  /** Peer node -> bytes queued on the distribution port towards it (0 when the controller is not a port). */
  distQueue: Record<string, number>;
  /** Global name -> the pid this member resolves it to. */
  globals: Record<string, string>;
}

export async function memberFacts(evaluator: RemoteEvaluator, timeoutMs: number): Promise<MemberFacts> {
  const reply = await evaluator.eval(MEMBER_FACTS, { Max: MAX_NAMES }, timeoutMs);
  if (!(reply instanceof ErlMap)) throw new BeamLensError('protocol', 'unexpected cluster facts reply from the node');
  const get = (k: string): Term | undefined => reply.getAtom(k);
  const atoms = (k: string): string[] => asList(get(k)).map((t) => (t instanceof Atom ? t.name : String(t)));
  const text = (t: Term | undefined): string => (t === undefined || t instanceof Atom ? '' : charlistToString(t));
  const applications: Record<string, string> = {};
  for (const t of asList(get('apps'))) {
    if (t instanceof Tuple && t.elements[0] instanceof Atom) applications[t.elements[0].name] = text(t.elements[1]);
  }
  const mailboxes: Record<string, number> = {};
  for (const t of asList(get('registered'))) {
    if (t instanceof Tuple && t.elements[0] instanceof Atom) mailboxes[t.elements[0].name] = asNumber(t.elements[1]);
  }
  const distQueue: Record<string, number> = {};
  for (const t of asList(get('dist'))) {
    if (t instanceof Tuple && t.elements[0] instanceof Atom) distQueue[t.elements[0].name] = asNumber(t.elements[1]);
  }
  const globals: Record<string, string> = {};
  for (const t of asList(get('globals'))) {
    if (!(t instanceof Tuple)) continue;
    const [name, where] = t.elements;
    // Written with the owning node's name so members' answers compare: <node.id.serial>.
    if (where instanceof Pid) globals[globalName(name)] = `<${where.node.name}.${where.id}.${where.serial}>`;
  }
  const num = (k: string): number => asNumber(get(k), k);
  const tick = get('ticktime');
  return {
    node: (get('node') as Atom).name,
    connected: atoms('nodes'),
    hidden: atoms('hidden'),
    otpRelease: text(get('otp_release')),
    ertsVersion: text(get('erts')),
    applications,
    schedulersOnline: num('schedulers'),
    netTicktime: typeof tick === 'number' ? tick : null,
    processLimit: num('process_limit'),
    processCount: num('process_count'),
    memoryTotal: num('memory_total'),
    mailboxes,
    distQueue,
    globals,
  };
}

function globalName(t: Term | undefined): string {
  if (t instanceof Atom) return t.name;
  if (Buffer.isBuffer(t)) return t.toString('utf8');
  return String(t);
}
