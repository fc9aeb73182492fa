// Command arguments are untrusted (the palette passes nothing, menus pass the sidebar item, code
// lenses and other extensions pass what they like): type guards read what a command needs from
// them. A sidebar item's target (the supervisor of an inline "Show Supervision Tree", the process
// of the context menu's "Show Process…") is found here, so actions keep their target.
import type { ProcessSort } from '../../core/inspect/processes';
import type { ClusterNodeView, TreeFocus } from '../../protocol/webview';

export const PROCESS_SORTS: readonly ProcessSort[] = ['memory', 'reductions', 'mailbox', 'reduction-rate'];

type Rec = Record<string, unknown>;

export function isRecord(x: unknown): x is Rec {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function str(o: Rec, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' && v.length > 0 && v.length <= 1000 ? v : undefined;
}

export function isProcessSort(x: unknown): x is ProcessSort {
  return typeof x === 'string' && (PROCESS_SORTS as readonly string[]).includes(x);
}

/** The node named by an argument: a string, `{node}`, or a sidebar item (which carries `node`). */
export function nodeOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg.length > 0 && arg.length <= 1000 ? arg : undefined;
  return isRecord(arg) ? str(arg, 'node') : undefined;
}

/** The inner record of a sidebar item that names a process: `tree` (supervision tree) or `row` (top processes). */
function processRecord(arg: Rec): Rec | undefined {
  if (arg.kind === 'tree' && isRecord(arg.tree)) return arg.tree;
  if (arg.kind === 'process' && isRecord(arg.row)) return arg.row;
  return undefined;
}

/** The process an argument names: `{pid}`, a sidebar tree/process item's pid, or its registered name. */
export function pidOf(arg: unknown): string | undefined {
  if (!isRecord(arg)) return undefined;
  const direct = str(arg, 'pid');
  if (direct) return direct;
  const inner = processRecord(arg);
  return inner ? (str(inner, 'pid') ?? str(inner, 'name')) : undefined;
}

/** What the supervision tree should select: from `{pid,name,module}` or a sidebar item. */
export function focusOf(arg: unknown): TreeFocus | undefined {
  if (!isRecord(arg)) return undefined;
  const src = processRecord(arg) ?? arg;
  const f: TreeFocus = {};
  const pid = str(src, 'pid');
  const name = str(src, 'name');
  const module = str(src, 'module');
  if (pid) f.pid = pid;
  if (name) f.name = name;
  if (module && !pid && !name) f.module = module;
  return Object.keys(f).length > 0 ? f : undefined;
}

/** The application an argument names: `{app}` or a sidebar application item. */
export function appOf(arg: unknown): string | undefined {
  if (!isRecord(arg)) return undefined;
  if (arg.kind === 'app' && isRecord(arg.app)) return str(arg.app, 'name');
  return str(arg, 'app');
}

export function sortOf(arg: unknown): ProcessSort | undefined {
  if (!isRecord(arg)) return undefined;
  if (isProcessSort(arg.sort)) return arg.sort;
  return undefined;
}

export function moduleOf(arg: unknown): string | undefined {
  return isRecord(arg) && arg.kind === undefined ? str(arg, 'module') : undefined;
}

export function findingOf(arg: unknown): string | undefined {
  if (!isRecord(arg)) return undefined;
  if ((arg.kind === 'finding' || arg.kind === 'clusterFinding') && isRecord(arg.finding)) return str(arg.finding, 'id');
  return str(arg, 'findingId');
}

/** The cluster member an argument names: `{member}` (a sidebar member item carries it). */
export function memberOf(arg: unknown): string | undefined {
  return isRecord(arg) ? str(arg, 'member') : undefined;
}

/** Which view of a member to open: `{view: 'overview' | 'processes' | 'tree'}`. */
export function clusterViewOf(arg: unknown): ClusterNodeView | undefined {
  if (!isRecord(arg)) return undefined;
  return arg.view === 'overview' || arg.view === 'processes' || arg.view === 'tree' ? arg.view : undefined;
}

/**
 * The saved profile an argument names: `{file}` (a sidebar session item, a test), a path, or a
 * file URI from the explorer's context menu (`{scheme: 'file', fsPath}`).
 */
export function profileFileOf(arg: unknown): string | undefined {
  if (!isRecord(arg)) return undefined;
  if (arg.scheme === 'file') return str(arg, 'fsPath');
  return arg.kind === undefined || arg.kind === 'session' ? str(arg, 'file') : undefined;
}
