// Loads the probe module onto the target without touching its disk. First the .beam the build
// compiled (dist/probe, shipped in the .vsix and next to the CLI) is sent with code:load_binary/3:
// no compiler on the target, nothing else loaded. Only when the node refuses it (a node older
// than the OTP that built it says badfile) is the source compiled there, and the compiler's
// modules that this loaded are removed again at once. The status says which way it loaded.
// The probe's guardian process monitors our node and unloads the probe if we vanish; unload()
// asks the guardian, which leaves the module with one purge by erts_code_purger (code_server is
// never held for the pass over the processes).
//
// Several BEAM Lens instances on one node (the editor and an agent's `beam-lens mcp`, two
// engineers) share the one probe module: each is an owner (its hidden node, given to start/1).
// Detach releases our ownership (release/1: our sessions and settings on it are undone at once);
// the probe unloads itself when its last owner releases or goes, and stays loaded for the
// others otherwise. A probe of another version (loaded by another release of BEAM Lens) is never
// used: with owners it is left alone (reloading would break them) and we stay zero-install;
// without owners (a leftover) it is replaced by ours.
import { BeamLensError } from '../../errors';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Atom, ErlMap, Pid, Term, Tuple, formatTerm, isAtom } from '../../etf';
import type { RemoteEvaluator } from '../target/remote-eval';
import type { RpcChannel } from '../target/rpc';
import { asList } from '../target/terms';

export const PROBE_MODULE = 'beam_lens_probe';
/** The probe API this client speaks: beam_lens_probe:version/0 of probe/beam_lens_probe.erl. */
export const PROBE_VERSION = 7;

export type ProbeLoadWay = 'compiled-on-target' | 'precompiled' | 'already-loaded';

export type ProbeStatus =
  | {
      state: 'loaded';
      how: ProbeLoadWay;
      guardian: string | null;
      /** Wall time of the load, from the first call to the guardian's start. */
      loadMs: number;
      /** Why the precompiled .beam was not used (compiled-on-target only). */
      fallbackReason?: string;
      /** Compiler modules the fallback loaded and removed again / that stay because a process runs them. */
      compilerModules?: { removed: string[]; kept: string[] };
      /** Already loaded by other BEAM Lens instances that still use it (their node names): shared with them. */
      sharedWith?: string[];
      /** A leftover probe of another version, used by nobody, that ours replaced (e.g. "version 4"). */
      replaced?: string;
    }
  | { state: 'absent' }
  | { state: 'unavailable'; reason: string };

/** What releasing our hold on the probe did. */
export type ProbeRelease =
  | { state: 'unloaded'; ms: number }
  /** Other BEAM Lens instances (their node names) still use it: it stays loaded for them, ours is undone. */
  | { state: 'shared'; others: string[]; ms: number };

export interface ProbeHandle {
  /**
   * Detach's way: releases our ownership (what our sessions set is undone by the guardian before
   * it answers). The last owner's release unloads the probe (awaited until the module and its old
   * code are gone); otherwise the probe stays loaded for the owners left.
   */
  release(): Promise<ProbeRelease>;
  /**
   * Removes the probe whoever its owners are (another BEAM Lens using it loses it): only for
   * removing it on purpose, e.g. a benchmark owning the node. Never a normal detach.
   */
  unload(): Promise<{ unloadMs: number }>;
}

/** What a face prints about the probe after our release (core's words, once for every face). */
export function describeProbeRelease(node: string, r: ProbeRelease): string {
  return r.state === 'unloaded' ? `probe unloaded from ${node}` : describeProbeStays(node, r.others);
}

/** The probe stays after our release because `others` (BEAM Lens nodes) still use it. */
export function describeProbeStays(node: string, others: readonly string[]): string {
  const who = others.length === 1 ? `another BEAM Lens (${others[0]})` : `${others.length} other BEAM Lens instances (${others.join(', ')})`;
  return `the probe stays loaded on ${node} because ${who} still ${others.length === 1 ? 'uses' : 'use'} it; what we set through it was undone, and it unloads itself when the last one leaves`;
}

export interface ProbeLoadOptions {
  /** Directory with beam_lens_probe.erl and/or beam_lens_probe.beam (default: next to the bundle). */
  probeDir?: string;
}

// Compiles the source on the target, loads it, and removes the modules that compiling loaded
// (delete, then a soft purge by erts_code_purger: a module some other process runs stays).
const LOAD_FROM_SOURCE = `
Before = erlang:loaded(),
case code:ensure_loaded(compile) of
  {module, compile} ->
    Result = case erl_scan:string(unicode:characters_to_list(Src)) of
      {ok, Toks, _} ->
        Split = fun S([], [], Acc) -> {ok, lists:reverse(Acc)};
                    S([], _, _) -> {error, unterminated_form};
                    S([{dot, _} = D | T], Cur, Acc) ->
                      case erl_parse:parse_form(lists:reverse([D | Cur])) of
                        {ok, F} -> S(T, [], [F | Acc]);
                        {error, E} -> {error, {parse, E}}
                      end;
                    S([Tok | T], Cur, Acc) -> S(T, [Tok | Cur], Acc)
                end,
        case Split(Toks, [], []) of
          {ok, Forms} ->
            case compile:forms(Forms, [binary, return_errors]) of
              {ok, Mod, Bin} -> code:load_binary(Mod, File, Bin);
              {ok, Mod, Bin, _} -> code:load_binary(Mod, File, Bin);
              Err -> {error, {compile, Err}}
            end;
          Err -> Err
        end;
      Err -> {error, {scan, Err}}
    end,
    New = [M || M <- erlang:loaded(), M =/= beam_lens_probe, not lists:member(M, Before)],
    Purge = case erlang:function_exported(erts_code_purger, soft_purge, 1) of
              true -> fun erts_code_purger:soft_purge/1;
              false -> fun code:soft_purge/1
            end,
    Gone = [M || M <- New, not erlang:check_old_code(M), code:delete(M), Purge(M)],
    [code:ensure_loaded(M) || M <- New, not lists:member(M, Gone), not erlang:module_loaded(M)],
    {Result, Gone, New -- Gone};
  _ -> no_compiler
end.`;

function probeFiles(probeDir?: string): { source: string | null; beam: string | null } {
  // Bundled: dist/probe (the .beam) and probe/ (the source); from source: src/core/probe/ three
  // levels down, with the build's .beam in dist/probe.
  const dirs = probeDir ? [probeDir] : [0, 1, 2, 3].map((up) => path.resolve(__dirname, ...Array<string>(up).fill('..'), 'probe'));
  let source: string | null = null;
  let beam: string | null = null;
  for (const dir of dirs) {
    const s = path.join(dir, `${PROBE_MODULE}.erl`);
    const b = path.join(dir, `${PROBE_MODULE}.beam`);
    source ??= existsSync(s) ? s : null;
    beam ??= existsSync(b) ? b : null;
    // The source tree: the build writes the .beam to dist/probe.
    const built = path.resolve(dir, '..', 'dist', 'probe', `${PROBE_MODULE}.beam`);
    if (!probeDir) beam ??= existsSync(built) ? built : null;
  }
  return { source, beam };
}

const chars = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

type Loaded = { status: ProbeStatus; handle: ProbeHandle | null };

export async function loadProbe(channel: RpcChannel & { readonly localName: string }, evaluator: RemoteEvaluator, options: ProbeLoadOptions = {}): Promise<Loaded> {
  // Met while its last owner was unloading it (the module went between our looks, or our
  // start/1 was answered by a guardian on its way out): once it is gone, load again.
  const first = await loadOnce(channel, evaluator, options, false);
  if (first !== 'retry') return first;
  const again = await loadOnce(channel, evaluator, options, true);
  if (again === 'retry') throw new BeamLensError('internal', 'unreachable: the last try does not retry');
  return again;
}

/** Whether the module is loaded, and whether old code of it is still there (being purged). */
async function moduleState(channel: RpcChannel): Promise<{ loaded: boolean; oldCode: boolean }> {
  const mod = Atom.of(PROBE_MODULE);
  const [loaded, oldCode] = await Promise.all([channel.rpc('erlang', 'module_loaded', [mod]), channel.rpc('erlang', 'check_old_code', [mod])]);
  return { loaded: isAtom(loaded, 'true'), oldCode: isAtom(oldCode, 'true') };
}

/** On its way out: deleted (no current code) or old code still being purged. */
async function beingUnloaded(channel: RpcChannel): Promise<boolean> {
  const m = await moduleState(channel);
  return !m.loaded || m.oldCode;
}

/** Waits until the module and its old code are gone. */
async function untilUnloaded(channel: RpcChannel): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (let m = await moduleState(channel); m.loaded || m.oldCode; m = await moduleState(channel)) {
    if (Date.now() > deadline) throw new BeamLensError('timeout', `the probe on ${channel.peer} was being unloaded by the BEAM Lens that used it last and is still there 15 s later; attach again shortly`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function loadOnce(channel: RpcChannel & { readonly localName: string }, evaluator: RemoteEvaluator, options: ProbeLoadOptions, lastTry: boolean): Promise<Loaded | 'retry'> {
  const t0 = performance.now();
  const files = probeFiles(options.probeDir);
  const mod = Atom.of(PROBE_MODULE);
  let how: ProbeLoadWay | null = null;
  let fallbackReason: string | undefined;
  let compilerModules: { removed: string[]; kept: string[] } | undefined;
  let sharedWith: string[] | undefined;
  let replaced: string | undefined;
  const at = await moduleState(channel);
  // Its last owner has just left: the old code goes within moments (load_binary would say not_purged).
  if (!at.loaded && at.oldCode) await untilUnloaded(channel);
  if (at.loaded) {
    const found = await loadedProbe(channel);
    if (found.version !== PROBE_VERSION && !lastTry && (await beingUnloaded(channel))) {
      await untilUnloaded(channel);
      return 'retry';
    }
    if (found.version === PROBE_VERSION) {
      how = 'already-loaded';
      if (found.owners.length > 0) sharedWith = found.owners;
    } else if (found.owners.length > 0 || found.guardian) {
      const who = found.owners.length > 0 ? `by ${found.owners.join(', ')}` : 'with its guardian process running (it did not say whose it is)';
      return {
        status: {
          state: 'unavailable',
          reason: `${PROBE_MODULE} ${versionText(found.version)} is loaded on ${channel.peer} and in use ${who}, another BEAM Lens; this BEAM Lens speaks version ${PROBE_VERSION} and does not replace a probe in use (that would break the other one): staying in zero-install mode. To use the probe, detach the other BEAM Lens (or run the same BEAM Lens release on both), then attach again`,
        },
        handle: null,
      };
    } else {
      // A leftover nobody uses (no guardian, no owner): replace it with ours.
      await channel.rpc('code', 'purge', [mod], { timeoutMs: 60_000 });
      await channel.rpc('code', 'delete', [mod], { timeoutMs: 30_000 });
      await channel.rpc('code', 'purge', [mod], { timeoutMs: 60_000 });
      if (isAtom(await channel.rpc('erlang', 'module_loaded', [mod]), 'true')) {
        return { status: { state: 'unavailable', reason: `a leftover ${PROBE_MODULE} ${versionText(found.version)} on ${channel.peer} could not be removed; staying in zero-install mode` }, handle: null };
      }
      replaced = versionText(found.version);
    }
  }
  if (how === null) {
    let refused = 'no precompiled probe (dist/probe/beam_lens_probe.beam) next to beam-lens';
    if (files.beam !== null) {
      const reply = await channel.rpc('code', 'load_binary', [mod, chars(`${PROBE_MODULE}.beam`), readFileSync(files.beam)], { timeoutMs: 30_000 });
      if (isModuleReply(reply)) {
        how = 'precompiled';
      } else {
        refused = `the node refused the precompiled probe: ${formatTerm(reply, { maxLength: 200 })}`;
      }
    }
    if (how === null) {
      if (files.source === null) {
        return { status: { state: 'unavailable', reason: `${refused}, and the probe source is not there to compile on the node; staying in zero-install mode` }, handle: null };
      }
      const loaded = await evaluator.eval(LOAD_FROM_SOURCE, { Src: readFileSync(files.source), File: chars(`${PROBE_MODULE}.erl`) }, 60_000);
      if (isAtom(loaded, 'no_compiler')) {
        return { status: { state: 'unavailable', reason: `${refused}, and the node has no compiler application to build it from source; staying in zero-install mode` }, handle: null };
      }
      const [result, gone, kept] = loaded instanceof Tuple && loaded.size === 3 ? loaded.elements : [loaded, [], []];
      compilerModules = { removed: atomNames(gone as Term), kept: atomNames(kept as Term) };
      if (!isModuleReply(result as Term)) {
        return { status: { state: 'unavailable', reason: `${refused}, and the probe did not compile on the node: ${formatTerm(result as Term, { maxLength: 300 })}` }, handle: null };
      }
      how = 'compiled-on-target';
      fallbackReason = refused;
    }
  }
  const started = await channel.rpc(PROBE_MODULE, 'start', [Atom.of(channel.localName)], { timeoutMs: 10_000 }).catch((err: unknown) => err);
  const ok = started instanceof Tuple && isAtom(started.elements[0], 'ok');
  // Its last owner was unloading it as we came: our start/1 met a guardian on its way out (no
  // answer; our rpc worker killed by the final purge) or made a new one that the purge kills.
  if (!lastTry && (await beingUnloaded(channel))) {
    await untilUnloaded(channel);
    return 'retry';
  }
  if (started instanceof Error) throw started;
  const guardian = ok ? formatTerm((started as Tuple).elements[1] as Term, { localNode: Atom.of(channel.peer) }) : null;
  const guardianNow = (): Promise<Term> => channel.rpc('erlang', 'whereis', [Atom.of('beam_lens_guardian')], { timeoutMs: 30_000 });
  /**
   * Waits until the probe we released (its guardian `ours`) is gone: 'unloaded', or — another
   * BEAM Lens loaded it again in the gap (a new guardian, no old code: ours was purged) — the
   * owners of the new one, for whom it stays.
   */
  const gone = async (u0: number, what: string, ours: Term): Promise<{ ms: number; reloadedBy?: string[] }> => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      // These BIFs read the module and name tables: nothing waits on code_server meanwhile.
      const [loaded, oldCode, guardianPid] = await Promise.all([
        channel.rpc('erlang', 'module_loaded', [mod], { timeoutMs: 30_000 }),
        channel.rpc('erlang', 'check_old_code', [mod], { timeoutMs: 30_000 }),
        guardianNow(),
      ]);
      if (isAtom(loaded, 'false') && isAtom(oldCode, 'false')) return { ms: performance.now() - u0 };
      if (ours instanceof Pid && isAtom(loaded, 'true') && isAtom(oldCode, 'false') && guardianPid instanceof Pid && guardianPid.key !== ours.key) {
        const found = await loadedProbe(channel);
        return { ms: performance.now() - u0, reloadedBy: found.owners };
      }
      if (Date.now() > deadline) throw new BeamLensError('timeout', `the probe is still loaded on ${channel.peer} 60 s after ${what}; it unloads itself when we disconnect`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const ended = (r: { ms: number; reloadedBy?: string[] }): ProbeRelease =>
    r.reloadedBy !== undefined && r.reloadedBy.length > 0 ? { state: 'shared', others: r.reloadedBy, ms: r.ms } : { state: 'unloaded', ms: r.ms };
  const handle: ProbeHandle = {
    async release() {
      const r0 = performance.now();
      const me = channel.localName;
      const ours = await guardianNow();
      let reply: Term;
      try {
        reply = await channel.rpc(PROBE_MODULE, 'release', [Atom.of(me)], { timeoutMs: 30_000 });
      } catch (err) {
        // Someone removed the probe meanwhile (undef): nothing of ours is left in it.
        if (isAtom(await channel.rpc('erlang', 'module_loaded', [mod]), 'false')) return ended(await gone(r0, 'release', ours));
        throw err;
      }
      if (!(reply instanceof Tuple) || !isAtom(reply.elements[0], 'ok') || !Array.isArray(reply.elements[1])) {
        throw new BeamLensError('protocol', `the probe on ${channel.peer} answered release/1 with ${formatTerm(reply, { maxLength: 200 })}; it unloads itself when we disconnect`);
      }
      const others = ownerNames(reply.elements[1] as Term, channel.peer).filter((o) => o !== me);
      if (others.length > 0) return { state: 'shared', others, ms: performance.now() - r0 };
      // The guardian undoes, deletes the module and, once our rpc worker has left it, purges it
      // with one pass over the processes (erts_code_purger, not code_server). Another BEAM Lens
      // may load it again meanwhile: then ours is gone once that one's guardian is not ours.
      return ended(await gone(r0, 'release', ours));
    },
    async unload() {
      const u0 = performance.now();
      // unload/0 returns at once; the guardian undoes, deletes the module and, once our rpc worker
      // has left it, purges it with one pass over the processes (erts_code_purger, not code_server).
      const ours = await guardianNow();
      await channel.rpc(PROBE_MODULE, 'unload', [], { timeoutMs: 10_000 });
      return { unloadMs: (await gone(u0, 'unload', ours)).ms };
    },
  };
  return {
    status: {
      state: 'loaded',
      how,
      guardian,
      loadMs: performance.now() - t0,
      ...(fallbackReason !== undefined ? { fallbackReason } : {}),
      ...(compilerModules !== undefined ? { compilerModules } : {}),
      ...(sharedWith !== undefined ? { sharedWith } : {}),
      ...(replaced !== undefined ? { replaced } : {}),
    },
    handle,
  };
}

/** The probe found loaded: its version (null: no version/0 answered), its owners, whether its guardian runs. */
async function loadedProbe(channel: RpcChannel): Promise<{ version: number | null; owners: string[]; guardian: boolean }> {
  const v = await channel.rpc(PROBE_MODULE, 'version', [], { timeoutMs: 10_000 }).catch(() => null);
  const guardian = await channel.rpc('erlang', 'whereis', [Atom.of('beam_lens_guardian')], { timeoutMs: 10_000 });
  let owners: string[] = [];
  if (!isAtom(guardian, 'undefined')) {
    const status = await channel.rpc(PROBE_MODULE, 'status', [], { timeoutMs: 10_000 }).catch(() => null);
    const list = status instanceof ErlMap ? status.getAtom('owners') : undefined;
    if (list !== undefined) owners = ownerNames(list, channel.peer);
  }
  return { version: typeof v === 'number' ? v : null, owners, guardian: !isAtom(guardian, 'undefined') };
}

/** Owners as the probe lists them: BEAM Lens nodes by name, other owners (a pid) printed. */
function ownerNames(t: Term, peer: string): string[] {
  return Array.isArray(t) ? asList(t).map((o) => (o instanceof Atom ? o.name : formatTerm(o, { localNode: Atom.of(peer), maxLength: 100 }))) : [];
}

function versionText(v: number | null): string {
  return v === null ? 'of an unknown version (no version/0)' : `version ${v}`;
}

function atomNames(t: Term): string[] {
  return Array.isArray(t) ? asList(t).filter((x): x is Atom => x instanceof Atom).map((a) => a.name) : [];
}

function isModuleReply(t: Term): boolean {
  return t instanceof Tuple && t.elements.length === 2 && isAtom(t.elements[0], 'module');
}
