// Folding a profile: samples into a call tree (self and total samples per frame, where a frame is
// a function at a line, so two call sites of one function stay apart), and per function the
// self and total counts with their hottest lines. Idle samples (the process was waiting in a
// receive) are counted but left out of both unless asked for.
import { functionName } from './names';
import { processLabel, type Profile } from './profile';
import { runSteps, WorkBudget, type Steps } from '../records/steps';

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

type StackCounts = { counts: Map<number, number>; busy: number; idle: number };

/** Samples per stack index of the chosen processes. */
export function stackCounts(profile: Profile, options: FoldOptions = {}): StackCounts {
  return runSteps(stackCountsSteps(profile, options));
}

/** stackCounts, pausing every STEP_WORK samples (the folds below run in steps too: see records/steps.ts). */
function* stackCountsSteps(profile: Profile, options: FoldOptions): Steps<StackCounts> {
  const counts = new Map<number, number>();
  let busy = 0;
  let idle = 0;
  const budget = new WorkBudget();
  for (const p of profile.processes) {
    if (options.pids && !options.pids.includes(p.pid)) continue;
    for (const [, stack, isBusy] of p.samples) {
      if (budget.spend(1)) yield;
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

/** Children searched in order up to this many (few in practice: faster than a map per node). */
const WIDE = 8;

export function foldStacks(profile: Profile, options: FoldOptions = {}): CallTree {
  return runSteps(foldStacksSteps(profile, options));
}

export function* foldStacksSteps(profile: Profile, options: FoldOptions = {}): Steps<CallTree> {
  const { counts } = yield* stackCountsSteps(profile, options);
  const root: CallTree = { frame: -1, self: 0, total: 0, children: [] };
  // A node's children are searched in order while they are few; past WIDE, through a map (a file
  // of many frames under one caller would make the search quadratic).
  const wide = new Map<CallTree, Map<number, CallTree>>();
  // Pauses by frames walked, not by stacks: stacks may be deep.
  const budget = new WorkBudget();
  for (const [s, n] of counts) {
    const stack = profile.stacks[s] ?? [];
    if (budget.spend(4 + stack.length)) yield;
    let node = root;
    node.total += n;
    for (const f of stack) {
      let next: CallTree | undefined;
      const byFrame = node.children.length > WIDE ? wide.get(node) : undefined;
      if (byFrame) next = byFrame.get(f);
      else {
        for (const k of node.children) {
          if (k.frame === f) {
            next = k;
            break;
          }
        }
      }
      if (!next) {
        next = { frame: f, self: 0, total: 0, children: [] };
        node.children.push(next);
        if (byFrame) byFrame.set(f, next);
        else if (node.children.length > WIDE) wide.set(node, new Map(node.children.map((c) => [c.frame, c])));
      }
      next.total += n;
      node = next;
    }
    node.self += n;
  }
  // Largest total first, node by node: without recursion (a tree is as deep as its deepest stack).
  const todo: CallTree[] = [root];
  for (let t = todo.pop(); t; t = todo.pop()) {
    if (t.children.length > 1) t.children.sort((x, y) => y.total - x.total);
    for (const c of t.children) todo.push(c);
    if (budget.spend(4 + t.children.length)) yield;
  }
  return root;
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
  return runSteps(summarizeSteps(profile, options));
}

export function* summarizeSteps(profile: Profile, options: FoldOptions = {}): Steps<ProfileSummary> {
  const { counts, busy, idle } = yield* stackCountsSteps(profile, options);
  let counted = 0;
  for (const n of counts.values()) counted += n;
  // Function index per frame (frames are function + line), built once over the frames.
  const fnIndex = new Map<string, number>();
  const fnOfFrame = new Int32Array(profile.frames.length);
  const fnFirstFrame: number[] = [];
  // Pauses by work done (frames walked), not by items: stacks may be deep, frames many.
  const budget = new WorkBudget();
  for (let i = 0; i < profile.frames.length; i++) {
    const f = profile.frames[i] as Profile['frames'][number];
    if (budget.spend(16)) yield;
    const key = `${f.module}\u0000${f.function}\u0000${f.arity}`;
    let fi = fnIndex.get(key);
    if (fi === undefined) {
      fi = fnFirstFrame.length;
      fnIndex.set(key, fi);
      fnFirstFrame.push(i);
    }
    fnOfFrame[i] = fi;
  }
  const nFns = fnFirstFrame.length;
  const fnSelf = new Float64Array(nFns);
  const fnTotal = new Float64Array(nFns);
  const fnDepth = new Float64Array(nFns);
  const frameSelf = new Float64Array(profile.frames.length);
  const frameTotal = new Float64Array(profile.frames.length);
  // "Seen in this stack" stamps instead of a Set per stack.
  const fnStamp = new Int32Array(nFns).fill(-1);
  const frameStamp = new Int32Array(profile.frames.length).fill(-1);
  let stamp = 0;
  for (const [s, n] of counts) {
    const stack = profile.stacks[s] ?? [];
    stamp++;
    if (budget.spend(4 + stack.length)) yield;
    for (let i = 0; i < stack.length; i++) {
      const frame = stack[i] as number;
      const fi = fnOfFrame[frame] as number;
      if (fnStamp[fi] !== stamp) {
        fnStamp[fi] = stamp;
        fnTotal[fi] = (fnTotal[fi] as number) + n;
        fnDepth[fi] = (fnDepth[fi] as number) + i * n;
      }
      if (frameStamp[frame] !== stamp) {
        frameStamp[frame] = stamp;
        frameTotal[frame] = (frameTotal[frame] as number) + n;
      }
    }
    const top = stack[stack.length - 1];
    if (top !== undefined) {
      frameSelf[top] = (frameSelf[top] as number) + n;
      const fi = fnOfFrame[top] as number;
      fnSelf[fi] = (fnSelf[fi] as number) + n;
    }
  }
  const lines: LineStat[][] = Array.from({ length: nFns }, () => []);
  for (let i = 0; i < profile.frames.length; i++) {
    const f = profile.frames[i] as Profile['frames'][number];
    if ((frameTotal[i] as number) > 0) lines[fnOfFrame[i] as number]?.push({ line: f.line, self: frameSelf[i] as number, total: frameTotal[i] as number });
    if (budget.spend(4)) yield;
  }
  const depth = new Map<string, number>();
  const functions: FunctionStat[] = [];
  for (let fi = 0; fi < nFns; fi++) {
    const total = fnTotal[fi] as number;
    if (total === 0) continue;
    if (budget.spend(16)) yield;
    const f = profile.frames[fnFirstFrame[fi] as number] as Profile['frames'][number];
    const self = fnSelf[fi] as number;
    const name = functionName(f);
    depth.set(name, (fnDepth[fi] as number) / total);
    functions.push({
      module: f.module,
      function: f.function,
      arity: f.arity,
      name,
      ...(f.file ? { file: f.file } : {}),
      self,
      total,
      selfShare: counted > 0 ? self / counted : 0,
      totalShare: counted > 0 ? total / counted : 0,
      lines: (lines[fi] ?? []).sort((a, b) => b.self - a.self || b.total - a.total || a.line - b.line),
    });
  }
  // Equal totals (a caller and the callee doing all its work): the deeper, more specific one first.
  functions.sort((a, b) => b.total - a.total || (depth.get(b.name) ?? 0) - (depth.get(a.name) ?? 0) || b.self - a.self || a.name.localeCompare(b.name));
  // Outermost first: in the order of any counted stack (every one holds them all).
  const everywhere = new Set(functions.filter((f) => counted > 0 && f.total === counted).map((f) => f.name));
  const trunk: string[] = [];
  const first = counts.keys().next();
  for (const frame of first.done ? [] : (profile.stacks[first.value] ?? [])) {
    const f = profile.frames[frame];
    const name = f ? functionName(f) : '';
    if (everywhere.has(name) && !trunk.includes(name)) trunk.push(name);
  }
  const processes: ProcessSummary[] = [];
  for (const p of profile.processes) {
    if (options.pids && !options.pids.includes(p.pid)) continue;
    let b = 0;
    for (let i = 0; i < p.samples.length; i++) {
      b += p.samples[i]?.[2] ?? 0;
      if (budget.spend(1)) yield;
    }
    processes.push({ pid: p.pid, label: processLabel(p), busy: b, idle: p.samples.length - b, ...(p.exited !== undefined ? { exited: p.exited } : {}) });
  }
  return { counted, busy, idle, functions, trunk, processes };
}

/** Functions ranked by total samples (equal totals: the deeper callee first). */
export function byTotal(summary: ProfileSummary): FunctionStat[] {
  return summary.functions;
}

/** Functions ranked by self samples (largest first). */
export function bySelf(summary: ProfileSummary): FunctionStat[] {
  return [...summary.functions].filter((f) => f.self > 0).sort((a, b) => b.self - a.self || b.total - a.total || a.name.localeCompare(b.name));
}
