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
import { earliestRecord } from './peer-records';
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
 * One record of each node's loaded modules for this process: every scope in it that reaches a node
 * — attached directly, or through another node as a cluster member — shares it. The set is taken
 * when the first scope begins and restored when the last ends, through that one's channel. So a
 * node attached directly while a cluster view reads it through its entry (or the reverse), views
 * opened again when a cluster's membership changes, and a member opened by itself while the view
 * reads it all restore to the set the node had before any of them, and none takes away what
 * another still uses.
 */
export class ModuleBaselines {
  private readonly nodes = new Map<string, { before: Promise<Set<string> | null>; holders: number }>();

  /** One more holder of `channel.peer`'s record (taken now, through `channel`, if none holds it). */
  acquire(channel: RpcChannel): Promise<Set<string> | null> {
    const held = this.nodes.get(channel.peer);
    if (held) {
      held.holders += 1;
      return held.before;
    }
    // Without what another attached BEAM Lens instance's record lacks (see peer-records.ts).
    const before = loadedModules(channel).then((own) => earliestRecord(channel, own)).catch(() => null);
    this.nodes.set(channel.peer, { before, holders: 1 });
    return before;
  }

  /**
   * One holder less; the last restores the node through `channel` (null when its connection is
   * gone: the record is only dropped). Null while others still hold it, or when nothing was restored.
   */
  async release(node: string, channel: RpcChannel | null, keep: ReadonlySet<string> = new Set()): Promise<ModulesRestored | null> {
    const held = this.nodes.get(node);
    if (!held) return null;
    held.holders -= 1;
    if (held.holders > 0) return null;
    this.nodes.delete(node);
    const before = await held.before;
    if (before === null || channel === null) return null;
    return restoreLoadedModules(channel, before, keep);
  }
}

/** This process's record of every node's loaded modules (see ModuleBaselines). */
export const nodeModuleBaselines = new ModuleBaselines();

/**
 * The holds one scope took, in the process's record, on the nodes it reaches through another node
 * (an entry attachment's cluster members), so it can say which it restored and, when it ends,
 * let go of what a view left held (never closed).
 */
export class SharedModuleBaselines {
  private readonly held = new Map<string, { channel: RpcChannel; holders: number }>();
  private readonly log: Array<{ node: string; restored: ModulesRestored }> = [];

  constructor(private readonly record: ModuleBaselines = nodeModuleBaselines) {}

  /** Every node restored so far through this scope (each when the last holder anywhere ended), with what was removed and kept. */
  get restored(): ReadonlyArray<{ node: string; restored: ModulesRestored }> {
    return this.log;
  }

  /** One more holder of `channel.peer`'s record. */
  acquire(channel: RpcChannel): Promise<Set<string> | null> {
    const held = this.held.get(channel.peer);
    if (held) held.holders += 1;
    else this.held.set(channel.peer, { channel, holders: 1 });
    return this.record.acquire(channel);
  }

  /** One holder less; restores the node when it was the last anywhere in this process. */
  async release(node: string, keep: ReadonlySet<string> = new Set()): Promise<ModulesRestored | null> {
    const held = this.held.get(node);
    if (!held) return null;
    held.holders -= 1;
    if (held.holders === 0) this.held.delete(node);
    const restored = await this.record.release(node, held.channel, keep);
    if (restored) this.log.push({ node, restored });
    return restored;
  }

  /** Lets go of every hold this scope still has (it ends), restoring each node it was the last to hold; a node that does not answer is skipped. */
  async releaseAll(keep: ReadonlySet<string> = new Set()): Promise<Array<{ node: string; restored: ModulesRestored | null }>> {
    return Promise.all(
      [...this.held.entries()].map(async ([node, held]) => {
        let restored: ModulesRestored | null = null;
        for (let n = held.holders; n > 0; n--) restored = await this.release(node, keep).catch(() => null);
        return { node, restored };
      }),
    );
  }
}
