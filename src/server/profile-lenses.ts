// Lenses of a sampling profile: on each profiled function's definition, its share of the
// profile's busy samples ("self 34% · total 61% of Demo.PricingWorker's samples"). Held until the
// client clears them (its flame graph closed, or the node detached). Pure over the index.
import { functionName } from '../core/profile/names';
import type { Finding } from '../core/findings/rules';
import type { LensCommand, ProfileFacts } from '../protocol/lsp';
import type { Lens } from './features';
import type { WorkspaceIndex } from './index/workspace';

const pct = (x: number): string => `${Math.round(x * 100)}%`;

/** Checks a profile notification (untrusted JSON from the client). */
export function isProfileFacts(x: unknown): x is ProfileFacts {
  if (typeof x !== 'object' || x === null) return false;
  const p = x as Partial<ProfileFacts>;
  return (
    typeof p.node === 'string' &&
    typeof p.of === 'string' &&
    typeof p.capturedAt === 'number' &&
    Array.isArray(p.functions) &&
    p.functions.every(
      (f: unknown) =>
        typeof f === 'object' &&
        f !== null &&
        typeof (f as ProfileFacts['functions'][number]).module === 'string' &&
        typeof (f as ProfileFacts['functions'][number]).function === 'string' &&
        typeof (f as ProfileFacts['functions'][number]).name === 'string' &&
        Number.isInteger((f as ProfileFacts['functions'][number]).arity) &&
        typeof (f as ProfileFacts['functions'][number]).self === 'number' &&
        typeof (f as ProfileFacts['functions'][number]).total === 'number' &&
        typeof (f as ProfileFacts['functions'][number]).definedIn?.function === 'string' &&
        Number.isInteger((f as ProfileFacts['functions'][number]).definedIn?.arity),
    )
  );
}

export function profileLenses(uri: string, index: WorkspaceIndex, profiles: Iterable<ProfileFacts>): Lens[] {
  const file = index.file(uri);
  if (!file) return [];
  const lenses: Lens[] = [];
  for (const p of profiles) {
    for (const m of file.modules) {
      for (const f of p.functions) {
        if (f.module !== m.name) continue;
        const def = m.functions.find((fn) => fn.name === f.definedIn.function && f.definedIn.arity <= fn.arity && f.definedIn.arity >= fn.minArity);
        const clause = def?.clauses[0];
        if (!clause) continue;
        const generated = f.definedIn.function !== f.function;
        const command: LensCommand = { command: 'beamLens.showFlameGraph', arguments: [{ node: p.node, search: f.name }] };
        lenses.push({
          range: { start: clause.range.start, end: clause.range.start },
          title: `${generated ? `${f.name.split(' in ')[0] ?? 'fn'} inside: ` : ''}self ${pct(f.self)} · total ${pct(f.total)} of ${p.of}'s samples`,
          command,
        });
      }
    }
  }
  return lenses;
}

/** For a hot-functions finding: profile the busiest processes and find the function in the flame graph. */
export function profileActionFor(f: Finding | undefined, node: string): { title: string; command: LensCommand } | null {
  if (!f || f.rule !== 'hot-function' || !f.location?.function || f.location.arity === undefined) return null;
  const name = functionName({ module: f.location.module.split(':')[0] as string, function: f.location.function, arity: f.location.arity });
  return {
    title: `BEAM Lens: profile the busiest processes to see where ${name} spends its time`,
    command: { command: 'beamLens.profileProcess', arguments: [{ node, top: 3, search: name }] },
  };
}
