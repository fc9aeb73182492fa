// Supervisor specs read from the syntax tree: `Supervisor.init(children, opts)`, the inline
// `Supervisor.start_link(children, opts)` of an Application, `DynamicSupervisor.init(opts)` and
// friends: children (alias, {M, opts}, %{start: {M, ...}}, child_spec calls) and restart limits.
import type { Node } from 'web-tree-sitter';
import type { ChildRef, SupervisorSpec } from './extract';
import { args, dottedCallName, keyword, moduleRef, range, type Scope } from './syntax';

export const SUPERVISOR_CALLS = new Set<string>([
  'Supervisor.init',
  'Supervisor.start_link',
  'DynamicSupervisor.init',
  'DynamicSupervisor.start_link',
  'PartitionSupervisor.start_link',
  'Task.Supervisor.start_link',
]);

export function supervisorSpec(call: Node, dotted: string, scope: Scope, def: Node): Omit<SupervisorSpec, 'inFunction'> | null {
  const kind = dotted.slice(0, dotted.lastIndexOf('.')) as SupervisorSpec['kind'];
  const a = args(call);
  // Supervisor.start_link(Module, arg, opts) starts a module-based supervisor: that module's init
  // holds the spec, not this call.
  const first = a[0];
  const isModuleRef = first !== undefined && (first.type === 'alias' || first.text === '__MODULE__' || first.type === 'dot');
  if (dotted === 'Supervisor.start_link' && (first === undefined || isModuleRef)) return null;
  if (dotted === 'DynamicSupervisor.start_link' && a[0]?.type !== 'keywords') return null;
  const spec: Omit<SupervisorSpec, 'inFunction'> = { call: dotted, kind, children: [], range: range(call) };
  const opts = a.find((n) => n.type === 'keywords');
  if (opts) {
    const strategy = keyword(opts, 'strategy');
    if (strategy?.type === 'atom') spec.strategy = strategy.text.replace(/^:/, '');
    const maxRestarts = keyword(opts, 'max_restarts');
    if (maxRestarts?.type === 'integer') spec.maxRestarts = Number(maxRestarts.text.replace(/_/g, ''));
    const maxSeconds = keyword(opts, 'max_seconds');
    if (maxSeconds?.type === 'integer') spec.maxSeconds = Number(maxSeconds.text.replace(/_/g, ''));
    const name = keyword(opts, 'name');
    const ref = name ? moduleRef(name, scope) : null;
    if (ref) spec.name = ref;
  }
  if (kind === 'DynamicSupervisor' || kind === 'PartitionSupervisor' || kind === 'Task.Supervisor') return spec;
  let list: Node | null = a[0] ?? null;
  if (list?.type === 'identifier') list = findAssignment(def, list.text, call.startIndex);
  if (list?.type === 'list') {
    for (const item of list.namedChildren) if (item) spec.children.push(childRef(item, scope));
  }
  return spec;
}

/** The last `var = [...]` before `before` in the function body. */
function findAssignment(def: Node, variable: string, before: number): Node | null {
  let found: Node | null = null;
  const cursor = def.walk();
  try {
    for (;;) {
      if (cursor.startIndex > before) break;
      if (cursor.nodeType === 'binary_operator') {
        const node = cursor.currentNode;
        if (node.childForFieldName('operator')?.text === '=' && node.childForFieldName('left')?.text === variable) {
          found = node.childForFieldName('right');
        }
      }
      if (cursor.gotoFirstChild()) continue;
      let moved = cursor.gotoNextSibling();
      while (!moved) {
        if (!cursor.gotoParent()) return found;
        moved = cursor.gotoNextSibling();
      }
    }
  } finally {
    cursor.delete();
  }
  return found;
}

function childRef(item: Node, scope: Scope): ChildRef {
  const base = { text: item.text.length > 120 ? `${item.text.slice(0, 117)}...` : item.text, range: range(item) };
  const direct = moduleRef(item, scope);
  if (direct !== null) return { module: direct, ...base };
  if (item.type === 'tuple') {
    const [first, second] = item.namedChildren;
    const module = first ? moduleRef(first, scope) : null;
    const nameNode = second?.type === 'keywords' ? keyword(second, 'name') : second?.type === 'list' ? listKeyword(second, 'name') : null;
    const name = nameNode ? moduleRef(nameNode, scope) : null;
    return { module, ...(name ? { name } : {}), ...base };
  }
  if (item.type === 'map') {
    // %{id: ..., start: {Mod, :start_link, [...]}}
    const content = item.namedChildren.find((c) => c?.type === 'map_content');
    const kw = content?.namedChildren.find((c) => c?.type === 'keywords');
    const start = kw ? keyword(kw, 'start') : null;
    const first = start?.type === 'tuple' ? start.namedChildren[0] : null;
    return { module: first ? moduleRef(first, scope) : null, ...base };
  }
  if (item.type === 'call') {
    // Supervisor.child_spec({Mod, arg}, id: ...) / Mod.child_spec(arg)
    const dotted = dottedCallName(item, scope);
    if (dotted === 'Supervisor.child_spec') {
      const first = args(item)[0];
      if (first) return { ...childRef(first, scope), ...base };
    }
    if (dotted?.endsWith('.child_spec')) return { module: dotted.slice(0, -'.child_spec'.length), ...base };
  }
  return { module: null, ...base };
}

function listKeyword(list: Node, key: string): Node | null {
  const kw = list.namedChildren.find((c) => c?.type === 'keywords');
  return kw ? keyword(kw, key) : null;
}
