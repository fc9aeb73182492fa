// Two profiles side by side, function by function: the share of samples each function held
// (self and total) before and after. A smaller share after means it got cheaper relative to the
// rest; the counts are shares because two runs rarely have the same number of samples.
import { summarize, type FoldOptions } from './fold';
import type { Profile } from './profile';

export interface FunctionChange {
  name: string;
  module: string;
  function: string;
  arity: number;
  before: { self: number; total: number } | null;
  after: { self: number; total: number } | null;
  /** after.total - before.total (shares, 0..1; a missing side counts as 0). */
  totalDelta: number;
  selfDelta: number;
}

export interface ProfileComparison {
  before: { counted: number; busy: number; idle: number };
  after: { counted: number; busy: number; idle: number };
  /** Largest change of total share first. */
  changes: FunctionChange[];
}

export function compareProfiles(a: Profile, b: Profile, options: FoldOptions = {}): ProfileComparison {
  const sa = summarize(a, options);
  const sb = summarize(b, options);
  const key = (f: { module: string; function: string; arity: number }): string => `${f.module}:${f.function}/${f.arity}`;
  const before = new Map(sa.functions.map((f) => [key(f), f]));
  const after = new Map(sb.functions.map((f) => [key(f), f]));
  const changes: FunctionChange[] = [];
  for (const k of new Set([...before.keys(), ...after.keys()])) {
    const x = before.get(k);
    const y = after.get(k);
    const f = (y ?? x) as NonNullable<typeof x>;
    changes.push({
      name: f.name,
      module: f.module,
      function: f.function,
      arity: f.arity,
      before: x ? { self: x.selfShare, total: x.totalShare } : null,
      after: y ? { self: y.selfShare, total: y.totalShare } : null,
      totalDelta: (y?.totalShare ?? 0) - (x?.totalShare ?? 0),
      selfDelta: (y?.selfShare ?? 0) - (x?.selfShare ?? 0),
    });
  }
  changes.sort((p, q) => Math.abs(q.totalDelta) - Math.abs(p.totalDelta) || Math.abs(q.selfDelta) - Math.abs(p.selfDelta) || p.name.localeCompare(q.name));
  const brief = (s: typeof sa): ProfileComparison['before'] => ({ counted: s.counted, busy: s.busy, idle: s.idle });
  return { before: brief(sa), after: brief(sb), changes };
}
