// The set of modules loaded on the target, before and after us. Zero-install work loads OTP
// modules a fresh node may not have loaded yet (erl_eval pulls erl_scan, erl_anno, erl_internal,
// io_lib, otp_internal, ordsets), and compiling the probe on the target loads the compiler's own
// modules. On detach we remove what appeared while we were attached and is OTP's own code, so the
// node's `code:all_loaded()` is what it was. Each removal is one code:delete/1 and one soft purge
// asked of erts_code_purger directly (code_server stays free; a purge is one pass over the
// processes); a module some process is running is left loaded (soft purge), and in embedded mode
// nothing is removed (there nothing loads on demand, so nothing could be loaded again later).
// On a node with more than `maxProcesses` processes (default 100,000) they are left loaded and
// reported as kept: each removal is a pass over every process (~3.5 s at a million), a high price
// for OTP's own modules that the node loads on demand anyway. Elixir nodes and releases normally
// have them loaded before we come.
import { Atom, Term, isAtom } from '../../etf';
import type { RpcChannel } from './rpc';
import { asList } from './terms';

export interface ModulesRestored {
  /** Modules that were not loaded when we attached and are gone again. */
  removed: string[];
  /** Modules that appeared while we were attached and stay: application code, OTP code in use, or all of them on a large node. */
  kept: string[];
  /** Why OTP modules were kept, when it was not because a process runs them. */
  note?: string;
}

export async function loadedModules(channel: RpcChannel): Promise<Set<string>> {
  const list = asList(await channel.rpc('erlang', 'loaded', [], { timeoutMs: 10_000 }));
  return new Set(list.filter((t): t is Atom => t instanceof Atom).map((a) => a.name));
}

/** Removes OTP modules loaded since `before` (see the file comment). */
export async function restoreLoadedModules(channel: RpcChannel, before: Set<string>, keep: ReadonlySet<string> = new Set(), maxProcesses = 100_000): Promise<ModulesRestored> {
  const now = await loadedModules(channel);
  const appeared = [...now].filter((m) => !before.has(m) && !keep.has(m)).sort();
  const out: ModulesRestored = { removed: [], kept: [] };
  if (appeared.length === 0) return out;
  const count = await channel.rpc('erlang', 'system_info', [Atom.of('process_count')], { timeoutMs: 10_000 });
  if (typeof count === 'number' && count > maxProcesses) {
    return { removed: [], kept: appeared, note: `left loaded: removing each would be a pass over ${count} processes` };
  }
  const mode = await channel.rpc('code', 'get_mode', [], { timeoutMs: 10_000 });
  const libDir = charlist(await channel.rpc('code', 'lib_dir', [], { timeoutMs: 10_000 }));
  const purger = isAtom(await channel.rpc('erlang', 'function_exported', [Atom.of('erts_code_purger'), Atom.of('soft_purge'), 1], { timeoutMs: 10_000 }), 'true');
  for (const name of appeared) {
    const mod = Atom.of(name);
    const which = charlist(await channel.rpc('code', 'which', [mod], { timeoutMs: 10_000 }));
    const otp = libDir !== null && which !== null && which.startsWith(`${libDir}/`);
    const oldCode = isAtom(await channel.rpc('erlang', 'check_old_code', [mod], { timeoutMs: 10_000 }), 'true');
    if (!isAtom(mode, 'interactive') || !otp || oldCode) {
      out.kept.push(name);
      continue;
    }
    await channel.rpc('code', 'delete', [mod], { timeoutMs: 10_000 });
    const purged = purger
      ? await channel.rpc('erts_code_purger', 'soft_purge', [mod], { timeoutMs: 60_000 })
      : await channel.rpc('code', 'soft_purge', [mod], { timeoutMs: 60_000 });
    if (isAtom(purged, 'true')) {
      out.removed.push(name);
    } else {
      // A process is running it: make it current again rather than leave only old code.
      await channel.rpc('code', 'ensure_loaded', [mod], { timeoutMs: 10_000 });
      out.kept.push(name);
    }
  }
  return out;
}

function charlist(t: Term): string | null {
  if (Array.isArray(t) && t.every((c) => typeof c === 'number')) return String.fromCodePoint(...(t as number[]));
  if (Buffer.isBuffer(t)) return t.toString('utf8');
  return null;
}

/**
 * The loaded modules of the nodes one scope reaches through another node (the cluster members an
 * entry attachment relays to): each member's set is taken once, when the first view or attachment
 * touches it, and restored when the last of them ends. Views opened again (the editor's cluster
 * view when the membership changes) and a member opened by itself while the cluster view reads it
 * share that first set, so what any of them loaded goes again and nothing of ours counts as the
 * node's own. The scope that owns this (the entry) restores what is still held when it ends.
 */
export class SharedModuleBaselines {
  private readonly nodes = new Map<string, { channel: RpcChannel; before: Promise<Set<string> | null>; holders: number }>();
  private readonly log: Array<{ node: string; restored: ModulesRestored }> = [];

  /** Every node restored so far (each when its last holder ended), with what was removed and kept. */
  get restored(): ReadonlyArray<{ node: string; restored: ModulesRestored }> {
    return this.log;
  }

  /** One more holder of `channel.peer`'s baseline (taken now if none holds it). */
  acquire(channel: RpcChannel): Promise<Set<string> | null> {
    const held = this.nodes.get(channel.peer);
    if (held) {
      held.holders += 1;
      return held.before;
    }
    const before = loadedModules(channel).catch(() => null);
    this.nodes.set(channel.peer, { channel, before, holders: 1 });
    return before;
  }

  /** One holder less; the last one restores the node (null while others still hold it, or when no baseline was taken). */
  async release(node: string, keep: ReadonlySet<string> = new Set()): Promise<ModulesRestored | null> {
    const held = this.nodes.get(node);
    if (!held) return null;
    held.holders -= 1;
    if (held.holders > 0) return null;
    this.nodes.delete(node);
    const before = await held.before;
    if (before === null) return null;
    const restored = await restoreLoadedModules(held.channel, before, keep);
    this.log.push({ node, restored });
    return restored;
  }

  /** Restores every node still held (the owning scope ends), each on its own; a node that does not answer is skipped. */
  async releaseAll(keep: ReadonlySet<string> = new Set()): Promise<Array<{ node: string; restored: ModulesRestored | null }>> {
    const held = [...this.nodes.keys()];
    return Promise.all(
      held.map(async (node) => {
        const entry = this.nodes.get(node);
        if (entry) entry.holders = 1;
        return { node, restored: await this.release(node, keep).catch(() => null) };
      }),
    );
  }
}
