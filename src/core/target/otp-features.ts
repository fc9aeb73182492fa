// What the target's OTP release can do beyond OTP 25, detected by asking for the capability
// (never by comparing version numbers: patches backport, and forks exist). Each detection is a
// cheap rpc that loads nothing on the node. Only OTP 25 can be installed on the machine BEAM Lens
// is developed on, so the OTP 26-28 answers are unit-tested against recorded replies (see
// test/unit/otp-features.test.ts) and README says what was checked on which release.
import { Atom, Term, Tuple, isAtom } from '../../etf';
import type { RpcChannel } from './rpc';

export interface OtpFeatures {
  /** erlang:system_info(otp_release), e.g. "25". Informational only. */
  otpRelease: string;
  /** erlang:processes_iterator/0 + process_next/1 (OTP 28): whole-node passes without the pid list. */
  processesIterator: boolean;
  /** process_info(P, {dictionary, Key}) (OTP 26.2): one dictionary key without copying the whole dictionary. */
  dictionaryKey: boolean;
  /** process_info(P, label) (OTP 27.2): the label set by proc_lib:set_label/1. */
  processLabel: boolean;
  /** The `trace` module with trace sessions (OTP 27): tracing isolated from other tracers. */
  traceSessions: boolean;
  /** erl_eval bindings are a map (OTP 26+ answers erl_eval:new_bindings() with one). */
  evalBindingsAsMap: boolean;
}

const rpc = async (channel: RpcChannel, m: string, f: string, args: Term[]): Promise<Term | Error> => {
  try {
    return await channel.rpc(m, f, args, { timeoutMs: 10_000 });
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
};

/** True when the process_info item is known: the call answers instead of failing with badarg. */
export function itemSupported(reply: Term | Error): boolean {
  return !(reply instanceof Error);
}

/** erlang:function_exported/3 answers true (BIFs count: they are exported functions of erlang). */
export function exported(reply: Term | Error): boolean {
  return !(reply instanceof Error) && isAtom(reply, 'true');
}

/** code:which/1 of a module: a path (or preloaded / cover_compiled) when it exists; non_existing otherwise. */
export function moduleExists(reply: Term | Error): boolean {
  return !(reply instanceof Error) && !isAtom(reply, 'non_existing');
}

export function bindingsAreMap(reply: Term | Error): boolean {
  return !(reply instanceof Error) && !Array.isArray(reply) && !(reply instanceof Tuple) && !(reply instanceof Atom);
}

export async function detectFeatures(channel: RpcChannel): Promise<OtpFeatures> {
  const init = await rpc(channel, 'erlang', 'whereis', [Atom.of('init')]);
  const probePid = init instanceof Error ? Atom.of('undefined') : init;
  const [release, iterator, dictKey, label, trace, bindings] = await Promise.all([
    rpc(channel, 'erlang', 'system_info', [Atom.of('otp_release')]),
    rpc(channel, 'erlang', 'function_exported', [Atom.of('erlang'), Atom.of('processes_iterator'), 0]),
    rpc(channel, 'erlang', 'process_info', [probePid, new Tuple([Atom.of('dictionary'), Atom.of('$initial_call')])]),
    rpc(channel, 'erlang', 'process_info', [probePid, Atom.of('label')]),
    // code:which does not load the module (function_exported would need it loaded).
    rpc(channel, 'code', 'which', [Atom.of('trace')]),
    rpc(channel, 'erl_eval', 'new_bindings', []),
  ]);
  return {
    otpRelease: Array.isArray(release) ? String.fromCodePoint(...(release as number[])) : '?',
    processesIterator: exported(iterator),
    dictionaryKey: itemSupported(dictKey),
    processLabel: itemSupported(label),
    traceSessions: moduleExists(trace),
    evalBindingsAsMap: bindingsAreMap(bindings),
  };
}
