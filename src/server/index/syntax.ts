// Small helpers over tree-sitter-elixir nodes shared by the extractors: ranges in LSP terms,
// call names, arguments, keyword values, and module references resolved through aliases.
import type { Node } from 'web-tree-sitter';
import type { Range } from './extract';

export interface Scope {
  /** Enclosing module's full name ('' at top level). */
  prefix: string;
  aliases: Map<string, string>;
  /** The file's text: function bodies are searched as text before their syntax trees are walked. */
  text: string;
}

export function range(n: Node): Range {
  return {
    start: { line: n.startPosition.row, character: n.startPosition.column },
    end: { line: n.endPosition.row, character: n.endPosition.column },
  };
}

export function callName(call: Node): string | null {
  const target = call.childForFieldName('target');
  if (target === null) return null;
  if (target.type === 'identifier') return target.text;
  return null;
}

export function dottedCallName(call: Node, scope: Scope): string | null {
  const target = call.childForFieldName('target');
  if (target === null || target.type !== 'dot') return null;
  const left = target.childForFieldName('left');
  const right = target.childForFieldName('right');
  if (left === null || right === null || left.type !== 'alias') return null;
  return `${resolveAlias(left.text, scope)}.${right.text}`;
}

export function args(call: Node): Node[] {
  const a = call.namedChildren.find((c) => c?.type === 'arguments');
  return a ? (a.namedChildren.filter((c) => c !== null) as Node[]) : [];
}

export function doBlock(call: Node): Node | null {
  return (call.namedChildren.find((c) => c?.type === 'do_block') as Node | undefined) ?? null;
}

/** `A.B` with the first segment looked up in the aliases; `__MODULE__` is the enclosing module. */
export function resolveAlias(text: string, scope: Scope): string {
  const clean = text.replace(/\s+/g, '');
  if (clean === '__MODULE__') return scope.prefix;
  if (clean.startsWith('__MODULE__.')) return `${scope.prefix}.${clean.slice('__MODULE__.'.length)}`;
  const dot = clean.indexOf('.');
  const first = dot === -1 ? clean : clean.slice(0, dot);
  const rest = dot === -1 ? '' : clean.slice(dot);
  const target = scope.aliases.get(first);
  return target !== undefined ? target + rest : clean;
}

export function moduleRef(n: Node, scope: Scope): string | null {
  if (n.type === 'alias') return resolveAlias(n.text, scope);
  if (n.type === 'identifier' && n.text === '__MODULE__') return scope.prefix || null;
  if (n.type === 'atom') return n.text.replace(/^:"?|"$/g, '');
  if (n.type === 'dot') {
    // __MODULE__.Sub
    const text = n.text.replace(/\s+/g, '');
    if (/^(__MODULE__|[A-Z][\w]*)(\.[A-Z]\w*)+$/.test(text)) return resolveAlias(text, scope);
  }
  return null;
}

/** The value node of `key:` in a keywords node. */
export function keyword(keywords: Node, key: string): Node | null {
  for (const pair of keywords.namedChildren) {
    if (pair?.type !== 'pair') continue;
    const k = pair.childForFieldName('key');
    if (k !== null && k.text.replace(/:\s*$/, '').trim() === key) return pair.childForFieldName('value');
  }
  return null;
}
