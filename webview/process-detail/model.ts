// Pure shaping of one process's detail for the view (no DOM): which references are local pids
// (openable), the info rows, and the process's place in the supervision tree. Node data stays
// plain strings; render.ts puts them in the DOM as text.
import type { ProcessDetail } from '../../src/protocol/webview';

/** A reference from process_info: a pid of this node (openable), of another node, a port, or a name. */
export type RefKind = 'pid' | 'remote-pid' | 'port' | 'name';

export interface Ref {
  text: string;
  kind: RefKind;
}

const LOCAL_PID = /^<0\.\d+\.\d+>$/;
const REMOTE_PID = /^<[^<>\s]+\.\d+\.\d+>$/;

export function refKind(text: string): RefKind {
  if (LOCAL_PID.test(text)) return 'pid';
  if (REMOTE_PID.test(text)) return 'remote-pid';
  if (text.startsWith('#Port<')) return 'port';
  return 'name';
}

export function refs(items: readonly string[]): Ref[] {
  return items.map((text) => ({ text, kind: refKind(text) }));
}

export interface InfoRow {
  label: string;
  value: string;
  /** Set when the value is a pid the view can open. */
  pid?: string;
  /** A value worth a warning mark (a long mailbox, a process not alive). */
  warn?: boolean;
}

/** A mailbox at least this long is marked. */
export const LONG_MAILBOX = 1000;

function n(x: number): string {
  return x.toLocaleString('en-US');
}

/** Byte counts: exact, with a short binary-unit form (the shared formatBytes is DOM-side). */
export function bytesText(b: number): string {
  if (b < 1024) return `${n(b)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = b / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]} (${n(b)} bytes)`;
}

export function infoRows(d: ProcessDetail): InfoRow[] {
  const gl = d.groupLeader;
  return [
    { label: 'Status', value: d.alive ? (d.status ?? 'unknown') : 'not alive', warn: !d.alive },
    { label: 'Memory', value: bytesText(d.memory) },
    { label: 'Heap size', value: `${n(d.heapSize)} words` },
    { label: 'Total heap size', value: `${n(d.totalHeapSize)} words` },
    { label: 'Stack size', value: `${n(d.stackSize)} words` },
    { label: 'Reductions', value: n(d.reductions) },
    { label: 'Mailbox', value: `${n(d.messageQueueLen)} ${d.messageQueueLen === 1 ? 'message' : 'messages'}`, warn: d.messageQueueLen >= LONG_MAILBOX },
    { label: 'Trap exit', value: d.trapExit ? 'true' : 'false' },
    { label: 'Priority', value: d.priority ?? 'unknown' },
    gl !== null && refKind(gl) === 'pid' ? { label: 'Group leader', value: gl, pid: gl } : { label: 'Group leader', value: gl ?? 'unknown' },
    ...(d.title !== undefined && d.name === null ? [{ label: 'Runs', value: d.title }] : []),
    { label: 'Initial call', value: d.initialCall ?? 'unknown' },
    { label: 'Current function', value: d.currentFunction ?? 'unknown' },
  ];
}

export interface Crumb {
  text: string;
  /** Openable pid, when the ancestor is one (proc_lib records registered names as names). */
  pid: string | null;
  /** The process itself (the last crumb). */
  self: boolean;
}

/**
 * The supervision-tree path from the root ancestor down to the process. `ancestors` from
 * proc_lib's $ancestors are nearest first; an empty list means no proc_lib parent is known.
 */
export function breadcrumb(d: ProcessDetail): Crumb[] {
  const path: Crumb[] = [...d.ancestors].reverse().map((a) => ({ text: a, pid: refKind(a) === 'pid' ? a : null, self: false }));
  path.push({ text: d.name ?? d.pid, pid: null, self: true });
  return path;
}

/** Heading text: the registered name, else the pid. */
export function title(d: ProcessDetail): { main: string; sub: string | null } {
  return d.name ? { main: d.name, sub: d.pid } : { main: d.pid, sub: null };
}

/**
 * Whether two details show the same thing (a live refresh that changes nothing does not rebuild
 * the view, so focus and text selection stay put).
 */
export function sameDetail(a: ProcessDetail | null, b: ProcessDetail): boolean {
  return a !== null && JSON.stringify(a) === JSON.stringify(b);
}
