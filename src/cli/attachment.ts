// Opens a core Attachment from the common flags, and always detaches (undoing what we set) when the
// command ends, fails or is interrupted.
import type { Attachment } from '../core/attach/attachment';
import { describeProbeRelease } from '../core/probe/loader';
import type { ModulesRestored } from '../core/target/loaded-modules';
import { booleanFlag, stringFlag, type FlagValues } from './args';
import type { FlagSpec } from './args';
import { attachFromFlags } from './connection';
import type { Output } from './output';

export const probeFlags: Record<string, FlagSpec> = {
  'allow-probe': { type: 'boolean', description: 'load the beam_lens_probe module (faster on large nodes; purged on exit, or left for another BEAM Lens still using it)' },
  'confirm-node': { type: 'string', value: 'NAME', description: 'on a production node: repeat its name to allow intrusive actions' },
};

export async function withAttachment<T>(
  flags: FlagValues,
  output: Output,
  signal: AbortSignal,
  body: (session: Attachment) => Promise<T>,
  /** Why this command does better without the probe (it is then not loaded even with --allow-probe). */
  probeSkip: string | null = null,
): Promise<T> {
  const confirmNode = stringFlag(flags, 'confirm-node');
  const session = await attachFromFlags(flags, {
    grants: {
      allowProbe: booleanFlag(flags, 'allow-probe'),
      allowTrace: booleanFlag(flags, 'allow-trace'),
      allowGc: booleanFlag(flags, 'allow-gc'),
      ...(confirmNode !== undefined ? { confirmNode } : {}),
    },
  });
  // Ctrl-C aborts `signal`: commands end their work through it (a trace session asks the tracer
  // to stop and saves what it got) and we detach below. A second Ctrl-C exits at once; the
  // probe's guardian then cleans up on the target by itself.
  try {
    if (booleanFlag(flags, 'allow-probe') && probeSkip !== null) {
      output.err(`beam-lens: probe not loaded: ${probeSkip}`);
    } else if (booleanFlag(flags, 'allow-probe')) {
      const status = await session.loadProbe();
      if (status.state === 'unavailable') output.err(`beam-lens: probe not loaded: ${status.reason}`);
      else if (status.state === 'loaded') output.err(`beam-lens: probe ${status.how === 'already-loaded' ? 'already loaded' : `loaded (${status.how}, ${Math.round(status.loadMs)} ms)`} on ${session.node}${status.sharedWith ? `, shared with ${status.sharedWith.join(', ')} (another BEAM Lens)` : ''}${status.replaced ? ` (replaced a leftover probe ${status.replaced} nobody used)` : ''}`);
    }
    signal.throwIfAborted();
    return await body(session);
  } finally {
    const { probe } = await session.detach();
    if (probe?.state === 'shared') output.err(`beam-lens: ${describeProbeRelease(session.node, probe)}`);
    reportModulesKept(output, session.node, session.modulesRestored);
    for (const m of session.relayedModulesRestored) reportModulesKept(output, m.node, m.restored);
  }
}

/**
 * Says on stderr when modules our work loaded on a node were left loaded by policy (a node with
 * more processes than removing them is worth: see core/target/loaded-modules.ts), naming them.
 */
export function reportModulesKept(output: Output, node: string, restored: ModulesRestored | null): void {
  if (restored?.note === undefined || restored.kept.length === 0) return;
  const names = restored.kept.slice(0, 10).join(', ') + (restored.kept.length > 10 ? `, … (${restored.kept.length} in all)` : '');
  output.err(`beam-lens: on ${node}, modules loaded while we were attached were ${restored.note}: ${names}`);
}

/** A progress line on stderr (only on a terminal), cleared when done. */
export function progressLine(output: Output): { report: (done: number, total: number, what: string) => void; done: () => void } {
  let shown = false;
  let last = 0;
  return {
    report(done, total, what) {
      if (!output.progress) return;
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      shown = true;
      process.stderr.write(`\r${what}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}\x1b[K`);
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}
