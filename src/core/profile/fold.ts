// Folding a profile: samples into a call tree (self and total samples per frame, where a frame is
// a function at a line, so two call sites of one function stay apart), and per function the
// self and total counts with their hottest lines. Idle samples (the process was waiting in a
// receive) are counted but left out of both unless asked for.
import { functionName } from './names';
import { processLabel, type Profile } from './profile';

export interface CallTree {
  /** Index into profile.frames; -1 for the root. */
  frame: number;
  self: number;
  total: number;
  /** Largest total first. */
  children: CallTree[];
}

export interface FoldOptions {
  /** Only these processes (default: all). */
  pids?: readonly string[];
  includeIdle?: boolean;
}

/** Samples per stack index of the chosen processes. */
export function stackCounts(profile: Profile, options: FoldOptions = {}): { counts: Map<number, number>; busy: number; idle: number } {
  const counts = new Map<number, number>();
  let busy = 0;
  let idle = 0;
  for (const p of profile.processes) {
    if (options.pids && !options.pids.includes(p.pid)) continue;
    for (const [, stack, isBusy] of p.samples) {
      if (isBusy === 1) busy++;
      else {
        idle++;
        if (!options.includeIdle) continue;
      }
      counts.set(stack, (counts.get(stack) ?? 0) + 1);
    }
  }
  return { counts, busy, idle };
}

interface Building {
  frame: number;
  self: number;
  total: number;
  kids: Map<number, Building>;
}

export function foldStacks(profile: Profile, options: FoldOptions = {}): CallTree {
  const { counts } = stackCounts(profile, options);
  const root: Building = { frame: -1, self: 0, total: 0, kids: new Map() };
  for (const [s, n] of counts) {
    const stack = profile.stacks[s] ?? [];
    let node = root;
    node.total += n;
    for (const f of stack) {
      let next = node.kids.get(f);
      if (!next) {
        next = { frame: f, self: 0, total: 0, kids: new Map() };
        node.kids.set(f, next);
      }
      next.total += n;
      node = next;
    }
    node.self += n;
  }
  const done = (b: Building): CallTree => ({
    frame: b.frame,
    self: b.self,
    total: b.total,
    children: [...b.kids.values()].map(done).sort((x, y) => y.total - x.total),
  });
  return done(root);
}

export interface LineStat {
  line: number;
  self: number;
  total: number;
}

export interface FunctionStat {
  module: string;
  function: string;
  arity: number;
  /** Display name (Elixir or Erlang notation). */
  name: string;
  file?: string;
  self: number;
  total: number;
  /** Of the counted samples, 0..1. */
  selfShare: number;
  totalShare: number;
  /** Lines of this function seen in stacks, most self samples first. */
  lines: LineStat[];
}

export interface ProcessSummary {
  pid: string;
  label: string;
  busy: number;
  idle: number;
  exited?: string;
}

export interface ProfileSummary {
  /** Samples counted in the shares (busy ones, plus idle ones when included). */
  counted: number;
  busy: number;
  idle: number;
  /** Largest total first (ties: largest self). */
  functions: FunctionStat[];
  /** Functions on every counted sample's stack, outermost first (e.g. proc_lib's entry): they tell nothing apart. */
  trunk: string[];
  processes: ProcessSummary[];
}

/** Self and total samples per function; a sample counts once per function even under recursion. */
export function summarize(profile: Profile, options: FoldOptions = {}): ProfileSummary {
  const { counts, busy, idle } = stackCounts(profile, options);
  const counted = [...counts.values()].reduce((a, b) => a + b, 0);
  const fnKey = (i: number): string => {
    const f = profile.frames[i];
    return f ? `${f.module}\u0000${f.function}\u0000${f.arity}` : '';
  };
  type Building = FunctionStat & { lineMap: Map<number, LineStat>; depthSum: number };
  const stats = new Map<string, Building>();
  const statOf = (frame: number): Building => {
    const key = fnKey(frame);
    let st = stats.get(key);
    if (!st) {
      const f = profile.frames[frame] as Profile['frames'][number];
      st = { module: f.module, function: f.function, arity: f.arity, name: functionName(f), ...(f.file ? { file: f.file } : {}), self: 0, total: 0, selfShare: 0, totalShare: 0, lines: [], lineMap: new Map(), depthSum: 0 };
      stats.set(key, st);
    }
    return st;
  };
  for (const [s, n] of counts) {
    const stack = profile.stacks[s] ?? [];
    const seenFn = new Set<string>();
    const seenLine = new Set<number>();
    for (let i = 0; i < stack.length; i++) {
      const frame = stack[i] as number;
      const st = statOf(frame);
      const line = profile.frames[frame]?.line ?? 0;
      let ls = st.lineMap.get(line);
      if (!ls) {
        ls = { line, self: 0, total: 0 };
        st.lineMap.set(line, ls);
      }
      if (!seenFn.has(fnKey(frame))) {
        seenFn.add(fnKey(frame));
        st.total += n;
        st.depthSum += i * n;
      }
      if (!seenLine.has(frame)) {
        seenLine.add(frame);
        ls.total += n;
      }
      if (i === stack.length - 1) {
        st.self += n;
        ls.self += n;
      }
    }
  }
  const depth = new Map<string, number>();
  const functions: FunctionStat[] = [...stats.values()].map(({ lineMap, depthSum, ...st }) => {
    const out = {
    ...st,
    selfShare: counted > 0 ? st.self / counted : 0,
    totalShare: counted > 0 ? st.total / counted : 0,
    lines: [...lineMap.values()].sort((a, b) => b.self - a.self || b.total - a.total || a.line - b.line),
    };
    depth.set(out.name, st.total > 0 ? depthSum / st.total : 0);
    return out;
  });
  // Equal totals (a caller and the callee doing all its work): the deeper, more specific one first.
  functions.sort((a, b) => b.total - a.total || (depth.get(b.name) ?? 0) - (depth.get(a.name) ?? 0) || b.self - a.self || a.name.localeCompare(b.name));
  const processes = profile.processes
    .filter((p) => !options.pids || options.pids.includes(p.pid))
    .map((p) => {
      const b = p.samples.reduce((acc, s) => acc + s[2], 0);
      return { pid: p.pid, label: processLabel(p), busy: b, idle: p.samples.length - b, ...(p.exited !== undefined ? { exited: p.exited } : {}) };
    });
  // Outermost first: in the order of any counted stack (every one holds them all).
  const everywhere = new Set(functions.filter((f) => counted > 0 && f.total === counted).map((f) => f.name));
  const trunk: string[] = [];
  const first = counts.keys().next();
  for (const frame of first.done ? [] : (profile.stacks[first.value] ?? [])) {
    const f = profile.frames[frame];
    const name = f ? functionName(f) : '';
    if (everywhere.has(name) && !trunk.includes(name)) trunk.push(name);
  }
  return { counted, busy, idle, functions, trunk, processes };
}

/** Functions ranked by total samples, leaving out the trunk (functions on every sample). */
export function byTotal(summary: ProfileSummary): FunctionStat[] {
  return summary.functions.filter((f) => f.total < summary.counted);
}

/** Functions ranked by self samples (largest first). */
export function bySelf(summary: ProfileSummary): FunctionStat[] {
  return [...summary.functions].filter((f) => f.self > 0).sort((a, b) => b.self - a.self || b.total - a.total || a.name.localeCompare(b.name));
}
