// Names of functions as their language writes them: `Demo.Pricing.compute/2` for Elixir modules,
// `lists:foldl/3` for Erlang ones. Anonymous functions and comprehensions keep their parent
// (`-compute/2-fun-0-` is `fn in Demo.Pricing.compute/2`). The one naming function of profiles.
import { formatAtom, formatModule } from '../../etf/format';

export interface FunctionRef {
  module: string;
  function: string;
  arity: number;
}

/** `-parent/N-fun-K-`, `-parent/N-lc$^K/1-K-`, `-parent/N-inlined-…`: generated from a parent. */
const GENERATED = /^-(.+)\/(\d+)-(fun|lc|lbc|blc|mc|inlined)(?:[-$].*)?-$/;

export function isElixirModule(module: string): boolean {
  return module.startsWith('Elixir.');
}

/** The parent of a generated function, the kind of generated code (`fn`, `lc`…), or null. */
export function generatedParent(fun: string): { function: string; arity: number; kind: string } | null {
  const m = GENERATED.exec(fun);
  if (!m) return null;
  // Nested funs (`-outer/1-fun-0-/1-fun-1-` in old releases) name their outermost parent.
  const inner = generatedParent(`-${m[1] as string}`);
  const kind = m[3] === 'fun' ? 'fn' : m[3] === 'inlined' ? 'inlined' : 'comprehension';
  if (inner) return { ...inner, kind };
  return { function: m[1] as string, arity: Number(m[2]), kind };
}

function plainName(module: string, fun: string, arity: number): string {
  if (isElixirModule(module)) {
    const f = /^[a-z_][a-zA-Z0-9_]*[?!]?$/.test(fun) ? fun : JSON.stringify(fun);
    return `${formatModule(module)}.${f}/${arity}`;
  }
  return `${formatAtom(module)}:${formatAtom(fun)}/${arity}`;
}

/** The display name of a function: Elixir or Erlang notation, generated functions by their parent. */
export function functionName(ref: FunctionRef): string {
  const parent = generatedParent(ref.function);
  if (parent) return `${parent.kind} in ${plainName(ref.module, parent.function, parent.arity)}`;
  return plainName(ref.module, ref.function, ref.arity);
}

/** The function whose definition holds this one (itself unless generated), for source lookup. */
export function definingFunction(ref: FunctionRef): FunctionRef {
  const parent = generatedParent(ref.function);
  return parent ? { module: ref.module, function: parent.function, arity: parent.arity } : ref;
}
