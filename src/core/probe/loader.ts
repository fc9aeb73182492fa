// Loads the probe module onto the target without touching its disk: compiled there from our
// Erlang source when the `compiler` application is present (no OTP-version mismatch possible),
// else a precompiled .beam if we have one that the target accepts, else zero-install mode.
// The probe's guardian process monitors our node and unloads the probe if we vanish.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Atom, Term, Tuple, formatTerm, isAtom } from '../../etf';
import type { RemoteEvaluator } from '../target/remote-eval';
import type { RpcChannel } from '../target/rpc';

export const PROBE_MODULE = 'beam_lens_probe';

export type ProbeStatus =
  | { state: 'absent' }
  | { state: 'loaded'; how: 'compiled-on-target' | 'precompiled' | 'already-loaded'; guardian: string | null }
  | { state: 'unavailable'; reason: string };

export interface ProbeHandle {
  unload(): Promise<void>;
}

const LOAD_FROM_SOURCE = `
case code:is_loaded(Mod) of
  {file, _} -> already_loaded;
  false ->
    case code:ensure_loaded(compile) of
      {module, compile} ->
        case erl_scan:string(unicode:characters_to_list(Src)) of
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
        end;
      _ -> no_compiler
    end
end.`;

function probeFiles(probeDir?: string): { source: string | null; beam: string | null } {
  // Bundled: dist/ next to probe/ (or dist/probe); from source: src/core/probe/ three levels down.
  const dirs = probeDir ? [probeDir] : [0, 1, 2, 3].map((up) => path.resolve(__dirname, ...Array<string>(up).fill('..'), 'probe'));
  for (const dir of dirs) {
    const source = path.join(dir, `${PROBE_MODULE}.erl`);
    if (existsSync(source)) {
      const beams = [path.join(dir, `${PROBE_MODULE}.beam`), path.resolve(dir, '..', 'dist', 'probe', `${PROBE_MODULE}.beam`)];
      return { source, beam: beams.find((b) => existsSync(b)) ?? null };
    }
  }
  return { source: null, beam: null };
}

export async function loadProbe(
  channel: RpcChannel & { readonly localName: string },
  evaluator: RemoteEvaluator,
  probeDir?: string,
): Promise<{ status: ProbeStatus; handle: ProbeHandle | null }> {
  const files = probeFiles(probeDir);
  if (files.source === null) {
    return { status: { state: 'unavailable', reason: 'the probe source (probe/beam_lens_probe.erl) was not found next to beam-lens' }, handle: null };
  }
  const mod = Atom.of(PROBE_MODULE);
  let how: 'compiled-on-target' | 'precompiled' | 'already-loaded';
  const loaded = await evaluator.eval(
    LOAD_FROM_SOURCE,
    { Mod: mod, Src: readFileSync(files.source), File: [...`${PROBE_MODULE}.erl`].map((c) => c.charCodeAt(0)) },
    30_000,
  );
  if (isAtom(loaded, 'already_loaded')) {
    how = 'already-loaded';
  } else if (isModuleReply(loaded)) {
    how = 'compiled-on-target';
  } else if (isAtom(loaded, 'no_compiler')) {
    if (files.beam === null) {
      return { status: { state: 'unavailable', reason: 'the node has no compiler application and no precompiled probe is available; staying in zero-install mode' }, handle: null };
    }
    const reply = await channel.rpc('code', 'load_binary', [mod, [...`${PROBE_MODULE}.beam`].map((c) => c.charCodeAt(0)), readFileSync(files.beam)]);
    if (!isModuleReply(reply)) {
      return { status: { state: 'unavailable', reason: `the node refused the precompiled probe (${formatTerm(reply, { maxLength: 200 })}); staying in zero-install mode` }, handle: null };
    }
    how = 'precompiled';
  } else {
    return { status: { state: 'unavailable', reason: `the probe did not compile on the node: ${formatTerm(loaded, { maxLength: 300 })}` }, handle: null };
  }
  const started = await channel.rpc(PROBE_MODULE, 'start', [Atom.of(channel.localName)], { timeoutMs: 10_000 });
  const guardian = started instanceof Tuple && isAtom(started.elements[0], 'ok') ? formatTerm(started.elements[1] as Term, { localNode: Atom.of(channel.peer) }) : null;
  const handle: ProbeHandle = {
    async unload() {
      // unload/0 returns at once; the guardian purges when our rpc worker has left the module.
      await channel.rpc(PROBE_MODULE, 'unload', [], { timeoutMs: 10_000 });
      // Purging scans every process for old code: on a node with a million processes that takes
      // seconds, and code_server answers nothing else meanwhile.
      const deadline = Date.now() + 30_000;
      for (;;) {
        // is_loaded turns false before the guardian's final purge; no old code means it is done.
        const [loaded, oldCode] = await Promise.all([
          channel.rpc('code', 'is_loaded', [Atom.of(PROBE_MODULE)], { timeoutMs: 30_000 }),
          channel.rpc('erlang', 'check_old_code', [Atom.of(PROBE_MODULE)], { timeoutMs: 30_000 }),
        ]);
        if (isAtom(loaded, 'false') && isAtom(oldCode, 'false')) return;
        if (Date.now() > deadline) throw new Error(`the probe is still loaded on ${channel.peer} 30 s after unload; it unloads itself when we disconnect`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
  return { status: { state: 'loaded', how, guardian }, handle };
}

function isModuleReply(t: Term): boolean {
  return t instanceof Tuple && t.elements.length === 2 && isAtom(t.elements[0], 'module');
}
