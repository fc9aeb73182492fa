// What one Elixir file defines, read from its tree-sitter syntax tree: modules (nested, full
// names, aliases resolved), functions with arity and ranges, `use` of OTP behaviours, supervisor
// specs (children, strategy, max_restarts, max_seconds), registered names. A file with syntax
// errors is read as far as it parses: ERROR nodes are skipped, never fatal.
import type { Node, Parser, Tree } from 'web-tree-sitter';
import { SUPERVISOR_CALLS, supervisorSpec } from './supervisor-spec';
import { args, callName, doBlock, dottedCallName, keyword, moduleRef, range, resolveAlias, type Scope } from './syntax';

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export type FunctionKind = 'def' | 'defp' | 'defmacro' | 'defmacrop' | 'defguard' | 'defguardp' | 'defdelegate';

export interface FunctionClause {
  range: Range;
  /** The function name in the head (where diagnostics go). */
  nameRange: Range;
}

export interface FunctionDef {
  name: string;
  arity: number;
  /** Lowest arity callable, with default arguments (`\\`) taken off. */
  minArity: number;
  kind: FunctionKind;
  clauses: FunctionClause[];
}

export type Behaviour = 'Supervisor' | 'DynamicSupervisor' | 'PartitionSupervisor' | 'Task.Supervisor' | 'GenServer' | 'Agent' | 'Application' | 'GenStage' | 'Task';

export interface ChildRef {
  /** The child's module (resolved), or null when it is an expression we cannot name. */
  module: string | null;
  /** `name:` given in the child's options, when literal. */
  name?: string;
  text: string;
  range: Range;
}

export interface SupervisorSpec {
  /** Which call defined it: `Supervisor.init`, `DynamicSupervisor.init`, `Supervisor.start_link`, … */
  call: string;
  kind: 'Supervisor' | 'DynamicSupervisor' | 'PartitionSupervisor' | 'Task.Supervisor';
  strategy?: string;
  maxRestarts?: number;
  maxSeconds?: number;
  /** Registered name given to an inline `Supervisor.start_link(children, name: X)`. */
  name?: string;
  children: ChildRef[];
  range: Range;
  /** The enclosing function (usually init/1 or start/2). */
  inFunction?: { name: string; arity: number };
}

export interface ModuleDef {
  name: string;
  range: Range;
  nameRange: Range;
  uses: Behaviour[];
  /** Every `use X` (resolved), including non-OTP ones. */
  useModules: string[];
  functions: FunctionDef[];
  supervisors: SupervisorSpec[];
  /** Names this module registers its processes under (`name: __MODULE__`, `name: Some.Alias`). */
  registeredNames: string[];
  /** `def child_spec` is overridden. */
  childSpecOverride: boolean;
}

export interface FileIndex {
  modules: ModuleDef[];
  hasErrors: boolean;
  lines: number;
}

const BEHAVIOURS = new Set<string>(['Supervisor', 'DynamicSupervisor', 'PartitionSupervisor', 'Task.Supervisor', 'GenServer', 'Agent', 'Application', 'GenStage', 'Task']);
const DEF_KINDS = new Set<string>(['def', 'defp', 'defmacro', 'defmacrop', 'defguard', 'defguardp', 'defdelegate']);
const STARTERS = /^(GenServer|Agent|Supervisor|DynamicSupervisor|PartitionSupervisor|Task\.Supervisor|GenStage|Registry)\.start(_link)?$/;
/** Parses and extracts; the tree is freed before returning. */
export function indexSource(parser: Parser, text: string): FileIndex {
  const tree: Tree | null = parser.parse(text);
  if (tree === null) return { modules: [], hasErrors: true, lines: countLines(text) };
  try {
    const root = tree.rootNode;
    const modules: ModuleDef[] = [];
    const scope: Scope = { prefix: '', aliases: new Map(), text };
    for (const stmt of root.namedChildren) if (stmt) visitStatement(stmt, null, scope, modules);
    return { modules, hasErrors: root.hasError, lines: countLines(text) };
  } finally {
    tree.delete();
  }
}

function countLines(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}
/** Bodies worth walking: they mention a supervisor or start a process. */
const BODY_HINT = /Supervisor|start_link|\.start\(/;
function visitStatement(stmt: Node, mod: ModuleDef | null, scope: Scope, out: ModuleDef[]): void {
  if (stmt.type === 'unary_operator' || stmt.type === 'ERROR') {
    // @impl true, @doc ... ; an ERROR node may still hold parseable statements.
    if (stmt.type === 'ERROR') for (const c of stmt.namedChildren) if (c && c.type === 'call') visitStatement(c, mod, scope, out);
    return;
  }
  if (stmt.type !== 'call') return;
  const name = callName(stmt);
  if (name === null) return;
  switch (name) {
    case 'defmodule':
      visitModule(stmt, scope, out);
      return;
    case 'alias':
      addAliases(stmt, scope);
      return;
    case 'use':
      if (mod) addUse(stmt, mod, scope);
      return;
    default:
      if (mod && DEF_KINDS.has(name)) addFunction(stmt, name as FunctionKind, mod, scope);
  }
}

function visitModule(call: Node, outer: Scope, out: ModuleDef[]): void {
  const a = args(call);
  const nameNode = a[0];
  const body = doBlock(call);
  if (nameNode === undefined) return;
  const local = nameNode.text.replace(/\s+/g, '');
  if (!/^[A-Z_][\w.]*$/.test(local)) return;
  const full = local.startsWith('__MODULE__') ? resolveAlias(local, outer) : outer.prefix ? `${outer.prefix}.${local}` : local;
  // A nested module is aliased by its last segment in the enclosing scope.
  if (outer.prefix) outer.aliases.set(local.split('.')[0] as string, outer.prefix ? `${outer.prefix}.${local.split('.')[0]}` : local);
  const mod: ModuleDef = {
    name: full,
    range: range(call),
    nameRange: range(nameNode),
    uses: [],
    useModules: [],
    functions: [],
    supervisors: [],
    registeredNames: [],
    childSpecOverride: false,
  };
  out.push(mod);
  if (body === null) return;
  const scope: Scope = { prefix: full, aliases: new Map(outer.aliases), text: outer.text };
  for (const stmt of body.namedChildren) if (stmt) visitStatement(stmt, mod, scope, out);
  mod.childSpecOverride = mod.functions.some((f) => f.name === 'child_spec');
}

function addAliases(call: Node, scope: Scope): void {
  const a = args(call);
  const target = a[0];
  if (target === undefined) return;
  const opts = a[1];
  if (target.type === 'alias' || (target.type === 'dot' && !target.text.includes('{'))) {
    const full = resolveAlias(target.text, scope);
    let as = full.split('.').pop() as string;
    if (opts?.type === 'keywords') {
      const asValue = keyword(opts, 'as');
      if (asValue?.type === 'alias') as = asValue.text;
    }
    scope.aliases.set(as, full);
    return;
  }
  // alias A.B.{C, D.E}
  if (target.type === 'dot') {
    const left = target.childForFieldName('left');
    const right = target.childForFieldName('right');
    if (left === null || right === null || right.type !== 'tuple') return;
    const base = resolveAlias(left.text, scope);
    for (const item of right.namedChildren) {
      if (item?.type !== 'alias') continue;
      const full = `${base}.${item.text}`;
      scope.aliases.set(item.text.split('.').pop() as string, full);
    }
  }
}

function addUse(call: Node, mod: ModuleDef, scope: Scope): void {
  const target = args(call)[0];
  if (target === undefined) return;
  const used = moduleRef(target, scope);
  if (used === null) return;
  mod.useModules.push(used);
  if (BEHAVIOURS.has(used)) mod.uses.push(used as Behaviour);
}
function addFunction(call: Node, kind: FunctionKind, mod: ModuleDef, scope: Scope): void {
  let head = args(call)[0];
  if (head === undefined) return;
  // def f(x) when guard
  if (head.type === 'binary_operator' && head.childForFieldName('operator')?.text === 'when') {
    head = head.childForFieldName('left') ?? head;
  }
  let name: string;
  let nameNode: Node;
  let arity = 0;
  let defaults = 0;
  if (head.type === 'identifier') {
    name = head.text;
    nameNode = head;
  } else if (head.type === 'call') {
    const target = head.childForFieldName('target');
    if (target === null || target.type !== 'identifier') return;
    name = target.text;
    nameNode = target;
    const params = args(head);
    arity = params.length;
    for (const p of params) if (p.type === 'binary_operator' && p.childForFieldName('operator')?.text === '\\\\') defaults++;
  } else {
    return;
  }
  let fn = mod.functions.find((f) => f.name === name && f.arity === arity);
  if (fn === undefined) {
    fn = { name, arity, minArity: arity - defaults, kind, clauses: [] };
    mod.functions.push(fn);
  }
  fn.clauses.push({ range: range(call), nameRange: range(nameNode) });
  // Walking every body node by node is most of the cost of indexing; most bodies have nothing for us.
  if (BODY_HINT.test(scope.text.slice(call.startIndex, call.endIndex))) scanBody(call, mod, scope, { name, arity });
}

/**
 * Walks a function body for supervisor specs and registered names. Bodies are walked with a
 * cursor (no Node objects for nodes we skip), which keeps a 300,000-line workspace fast.
 */
function scanBody(def: Node, mod: ModuleDef, scope: Scope, fn: { name: string; arity: number }): void {
  const cursor = def.walk();
  try {
    let depth = 0;
    for (;;) {
      const type = cursor.nodeType;
      if (type === 'call' && depth > 0) {
        const node = cursor.currentNode;
        const dotted = dottedCallName(node, scope);
        if (dotted !== null && SUPERVISOR_CALLS.has(dotted)) {
          const spec = supervisorSpec(node, dotted, scope, def);
          if (spec) mod.supervisors.push({ ...spec, inFunction: fn });
        }
        // GenServer.start_link(__MODULE__, arg, name: __MODULE__) and friends: the name its process has.
        if (dotted !== null && STARTERS.test(dotted)) {
          const opts = args(node).find((n) => n.type === 'keywords');
          const value = opts ? keyword(opts, 'name') : null;
          const ref = value ? moduleRef(value, scope) : null;
          if (ref !== null && ref !== '' && !mod.registeredNames.includes(ref)) mod.registeredNames.push(ref);
        }
      }
      if (cursor.gotoFirstChild()) {
        depth++;
        continue;
      }
      while (!cursor.gotoNextSibling()) {
        if (depth === 0 || !cursor.gotoParent()) return;
        depth--;
        if (depth === 0) return;
      }
    }
  } finally {
    cursor.delete();
  }
}
