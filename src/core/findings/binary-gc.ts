// What a forced collection of the top binary holders (src/core/runs/bin-leak.ts) says, as
// findings: a process that frees most of its binaries when collected was holding on to garbage
// (it touches large binaries but allocates too little to collect on its own); a process that frees
// almost nothing really keeps them (state, mailbox, or a sub-binary keeping a large parent alive).
// The lines go into the sampled binary-holder finding of the same process, or make a finding of
// their own ('binary-gc') when the collection freed enough to matter.
import { formatModule } from '../../etf';
import type { BinaryCollection, BinLeakResult } from '../runs/bin-leak';
import { processWho } from '../inspect/identity';
import { binaryCopy } from './process-rules';
import type { Finding } from './finding';
import { findingId } from './thresholds';

export const BINARY_GC_THRESHOLDS = {
  /** A collection that freed at least this share of what the process referenced: it held garbage. */
  garbageShare: 0.5,
  /** ... and at most this share: it keeps what it references. */
  retainedShare: 0.2,
  /** Freed at least this much to make a finding of its own. */
  minFreedBytes: 1024 * 1024,
  /** Freed at least this much, or this share of the node's binary memory: a warning. */
  warningFreedBytes: 16 * 1024 * 1024,
  warningShareOfNode: 0.25,
} as const;

const MiB = 1024 * 1024;

export function mib(n: number): string {
  return n >= 100 * 1024 ? `${(n / MiB).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

/** A collection's duration: µs below a millisecond. */
export function gcTime(us: number): string {
  return us < 1000 ? `${us} µs` : `${(us / 1000).toFixed(1)} ms`;
}

export type BinaryVerdict = 'garbage' | 'retained' | 'mixed';

export function verdictOf(c: BinaryCollection): BinaryVerdict {
  const share = c.before.bytes > 0 ? c.droppedBytes / c.before.bytes : 0;
  if (share >= BINARY_GC_THRESHOLDS.garbageShare) return 'garbage';
  if (share <= BINARY_GC_THRESHOLDS.retainedShare) return 'retained';
  return 'mixed';
}

/** One evidence line per collected process: what it referenced, what its collection freed, what the node measured. */
export function collectionLine(c: BinaryCollection): string {
  const nodeDrop = c.node.before - c.node.after;
  return (
    `forced GC (--allow-gc): it referenced ${mib(c.before.bytes)} in ${c.before.count} refc binaries, ${mib(c.after.bytes)} in ${c.after.count} after; ` +
    `dropped ${c.droppedCount} binaries (${mib(c.droppedBytes)}), ${mib(c.soleFreedBytes)} of them only it referenced; ` +
    `node binary memory ${mib(c.node.before)} → ${mib(c.node.after)} during its collection (${nodeDrop >= 0 ? '−' : '+'}${mib(Math.abs(nodeDrop))}; collected in ${gcTime(c.gcMicros)})`
  );
}

function advice(c: BinaryCollection, v: BinaryVerdict): Pick<Finding, 'recommendation' | 'risk' | 'validation'> {
  const mod = c.module;
  const copy = binaryCopy(mod);
  const elixir = mod?.startsWith('Elixir.') === true;
  if (v === 'garbage') {
    return {
      recommendation:
        `${mod ? formatModule(mod) : 'This process'} handles large binaries but allocates too little on its own heap to be collected, so binaries it no longer uses stay referenced until its next GC. ` +
        (elixir
          ? 'After bulk work, collect explicitly (`:erlang.garbage_collect(self())`), hibernate when idle (`{:noreply, state, :hibernate}` from a GenServer callback), or do the bulk work in a short-lived process (`Task.async/1`, whose garbage goes with it).'
          : 'After bulk work, collect explicitly (`erlang:garbage_collect()`), hibernate when idle (`{noreply, State, hibernate}`), or do the bulk work in a short-lived process whose garbage goes with it.') +
        ' For a router that only passes binaries on, a lower `fullsweep_after` (spawn option) makes its collections reach them sooner.',
      risk: 'Hibernation and explicit collections cost CPU on every call that triggers them; hibernating a busy process adds latency to its next message.',
      validation: 'Run `beam-lens bin-leak --allow-gc` again after some load: this process frees little (nothing to free), and its binary total stays flat in `beam-lens trends`.',
    };
  }
  return {
    recommendation:
      `A forced collection freed little: ${mod ? formatModule(mod) : 'this process'} still references these binaries (its state, its mailbox, or a sub-binary that keeps a large parent alive). ` +
      `Store only the slice you need with \`${copy}\` (a match or split result refers to the whole parent binary), bound what it keeps (size or age), or move the data to ETS with a limit.`,
    risk: `\`${copy}\` costs a copy per stored slice; eviction means cache misses and reloads.`,
    validation: "Watch this process's binary total over a longer window (`beam-lens trends`): it plateaus, and a forced collection still frees little.",
  };
}

/**
 * Adds the collection's evidence (and advice that fits) to the binary-holder findings of the same
 * processes, and makes a 'binary-gc' finding for a process without one whose collection freed
 * enough to matter. Returns the new findings.
 */
export function applyBinaryCollections(findings: Finding[], r: BinLeakResult): Finding[] {
  const T = BINARY_GC_THRESHOLDS;
  const out: Finding[] = [];
  const nodeLine = `node binary memory ${mib(r.binaryBefore)} before the ${r.collected.length} collections, ${mib(r.binaryAfter)} after (erlang:memory(binary))`;
  for (const c of r.collected) {
    const v = verdictOf(c);
    const holder = findings.find((f) => f.rule === 'binary-holder' && f.subject.pid === c.pid);
    if (holder) {
      holder.evidence.push(collectionLine(c), nodeLine);
      Object.assign(holder, advice(c, v));
      continue;
    }
    if (c.droppedBytes < T.minFreedBytes || v === 'retained') continue;
    const who = processWho({ ...c, pid: c.pid });
    out.push({
      id: findingId('binary-gc', c.name !== null ? formatModule(c.name) : c.module !== null ? `${formatModule(c.module)}${c.label !== null ? `:${c.label}` : ''}` : c.pid),
      rule: 'binary-gc',
      severity: c.droppedBytes >= T.warningFreedBytes || c.droppedBytes >= T.warningShareOfNode * Math.max(r.binaryBefore, 1) ? 'warning' : 'info',
      title: `${who} held ${mib(c.droppedBytes)} of binaries it no longer used: a forced GC freed ${Math.round((c.droppedBytes / Math.max(c.before.bytes, 1)) * 100)}%`,
      evidence: [collectionLine(c), nodeLine],
      subject: { pid: c.pid, name: c.name, module: c.module },
      ...(c.module ? { location: { module: c.module } } : {}),
      ...advice(c, v),
    });
  }
  return out;
}

/** The run as text lines (CLI, MCP): one per process, then the node's totals and how it ended. */
export function binLeakLines(r: BinLeakResult): string[] {
  return [
    ...r.collected.map((c) => `${processWho({ ...c, pid: c.pid })}: freed ${mib(c.droppedBytes)} of ${mib(c.before.bytes)} (${c.droppedCount} of ${c.before.count} refc binaries; ${mib(c.soleFreedBytes)} only it referenced) — ${verdictOf(c)}`),
    `node binary memory ${mib(r.binaryBefore)} → ${mib(r.binaryAfter)} over ${r.collected.length} collections in ${(r.durationMs / 1000).toFixed(1)} s`,
    ...(r.gone.length > 0 ? [`${r.gone.length} ranked holders exited before their turn`] : []),
    ...(r.skipped.length > 0 ? [`not collected (${r.endReason === 'deadline' ? `time limit ${r.timeLimitMs / 1000} s reached` : 'stopped'}): ${r.skipped.map((s) => s.who).join(', ')}`] : []),
  ];
}
