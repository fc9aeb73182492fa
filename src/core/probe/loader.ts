// Loads the probe module onto the target without touching its disk. First the .beam the build
// compiled (dist/probe, shipped in the .vsix and next to the CLI) is sent with code:load_binary/3:
// no compiler on the target, nothing else loaded. Only when the node refuses it (a node older
// than the OTP that built it says badfile) is the source compiled there, and the compiler's
// modules that this loaded are removed again at once. The status says which way it loaded.
// The probe's guardian process monitors our node and unloads the probe if we vanish; unload()
// asks the guardian, which leaves the module with one purge by erts_code_purger (code_server is
// never held for the pass over the processes).
import { BeamLensError } from '../../errors';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Atom, Term, Tuple, formatTerm, isAtom } from '../../etf';
import type { RemoteEvaluator } from '../target/remote-eval';
import type { RpcChannel } from '../target/rpc';
import { asList } from '../target/terms';

export const PROBE_MODULE = 'beam_lens_probe';

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
    }
  | { state: 'absent' }
  | { state: 'unavailable'; reason: string };

export interface ProbeHandle {
  unload(): Promise<{ unloadMs: number }>;
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

export async function loadProbe(
  channel: RpcChannel & { readonly localName: string },
  evaluator: RemoteEvaluator,
  options: ProbeLoadOptions = {},
): Promise<{ status: ProbeStatus; handle: ProbeHandle | null }> {
  const t0 = performance.now();
  const files = probeFiles(options.probeDir);
  const mod = Atom.of(PROBE_MODULE);
  let how: ProbeLoadWay | null = null;
  let fallbackReason: string | undefined;
  let compilerModules: { removed: string[]; kept: string[] } | undefined;
  if (isAtom(await channel.rpc('erlang', 'module_loaded', [mod]), 'true')) {
    how = 'already-loaded';
  } else {
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
  const started = await channel.rpc(PROBE_MODULE, 'start', [Atom.of(channel.localName)], { timeoutMs: 10_000 });
  const guardian = started instanceof Tuple && isAtom(started.elements[0], 'ok') ? formatTerm(started.elements[1] as Term, { localNode: Atom.of(channel.peer) }) : null;
  const handle: ProbeHandle = {
    async unload() {
      const u0 = performance.now();
      // unload/0 returns at once; the guardian undoes, deletes the module and, once our rpc worker
      // has left it, purges it with one pass over the processes (erts_code_purger, not code_server).
      await channel.rpc(PROBE_MODULE, 'unload', [], { timeoutMs: 10_000 });
      const deadline = Date.now() + 60_000;
      for (;;) {
        // Both BIFs read the module table: nothing waits on code_server meanwhile.
        const [loaded, oldCode] = await Promise.all([
          channel.rpc('erlang', 'module_loaded', [mod], { timeoutMs: 30_000 }),
          channel.rpc('erlang', 'check_old_code', [mod], { timeoutMs: 30_000 }),
        ]);
        if (isAtom(loaded, 'false') && isAtom(oldCode, 'false')) return { unloadMs: performance.now() - u0 };
        if (Date.now() > deadline) throw new BeamLensError('timeout', `the probe is still loaded on ${channel.peer} 60 s after unload; it unloads itself when we disconnect`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
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
    },
    handle,
  };
}

function atomNames(t: Term): string[] {
  return Array.isArray(t) ? asList(t).filter((x): x is Atom => x instanceof Atom).map((a) => a.name) : [];
}

function isModuleReply(t: Term): boolean {
  return t instanceof Tuple && t.elements.length === 2 && isAtom(t.elements[0], 'module');
}
