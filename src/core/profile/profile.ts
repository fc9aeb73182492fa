// A sampled profile: shared frames (function and line), shared stacks (root first), and per
// process the samples in time order. This is what a profile session saves and what folding,
// the speedscope and folded-stacks writers and comparisons read.
import { functionName, type FunctionRef } from './names';
import { runSteps, WorkBudget, type Steps } from '../records/steps';

/** One frame: a function at a line (the call site for callers, the current line for the top). */
export interface ProfileFrame extends FunctionRef {
  /** 0 when the node does not know it. */
  line: number;
  /** Source file as the module was compiled (e.g. lib/demo/pricing.ex), when known. */
  file?: string;
}

/** [time since the start in µs, stack index, 1 busy / 0 idle (waiting in receive)]. */
export type ProfileSample = [number, number, 0 | 1];

export interface ProfiledProcess {
  pid: string;
  /** Registered name (raw atom, e.g. Elixir.Demo.PricingWorker), when registered. */
  name: string | null;
  initialCall: string | null;
  samples: ProfileSample[];
  /** How the process ended during the profile (its exit reason), when it did. */
  exited?: string;
}

export interface ProfileStats {
  /** Sampling rate asked for, and the interval in effect at the end (after back-off). */
  hz: number;
  intervalUs: number;
  samples: number;
  ticks: number;
  lateTicks: number;
  backoffs: number;
  /** Mean and largest time of one process_info call (probe) or rpc round trip (zero-install). */
  costUsPerSample: number;
  costUsMax: number;
  /** Reductions the sampler itself did (probe mode). */
  samplerReductions?: number;
}

/** How it was sampled: in the probe, over rpc, or elsewhere (read from a speedscope file). */
export type ProfileMode = 'probe' | 'rpc' | 'speedscope';

export interface Profile {
  mode: ProfileMode;
  frames: ProfileFrame[];
  /** Frame indices, root (outermost) first. */
  stacks: number[][];
  processes: ProfiledProcess[];
  stats: ProfileStats;
  durationMs: number;
}

/** The label of a profiled process: its registered name, else its initial call, plus the pid. */
export function processLabel(p: Pick<ProfiledProcess, 'pid' | 'name' | 'initialCall'>): string {
  if (p.name) return `${displayAtomName(p.name)} ${p.pid}`;
  if (p.initialCall) {
    const m = /^(.+):([^:/]+)\/(\d+)$/.exec(p.initialCall);
    const call = m ? functionName({ module: m[1] as string, function: m[2] as string, arity: Number(m[3]) }) : p.initialCall;
    return `${call} ${p.pid}`;
  }
  return p.pid;
}

function displayAtomName(name: string): string {
  return name.startsWith('Elixir.') ? name.slice('Elixir.'.length) : name;
}

/** A frame as it arrives: innermost first from the node. */
export interface RawFrame {
  module: string;
  function: string;
  arity: number;
  line: number;
}

/** Interns frames and stacks while samples arrive; `profile()` gives the result. */
export class ProfileBuilder {
  private readonly frames: ProfileFrame[] = [];
  /** module -> function -> arity * 2^20 + line -> frame index (no string built per frame). */
  private readonly frameIndex = new Map<string, Map<string, Map<number, number>>>();
  private readonly stacks: number[][] = [];
  private readonly stackIndex = new Map<string, number>();
  private readonly files = new Map<string, string>();
  private readonly processes = new Map<string, ProfiledProcess>();
  /** Innermost frames (function and line) where a process was seen waiting: receive points. */
  private readonly waitingAt = new Set<number>();
  count = 0;

  addProcess(p: Omit<ProfiledProcess, 'samples'>): void {
    if (!this.processes.has(p.pid)) this.processes.set(p.pid, { ...p, samples: [] });
  }

  process(pid: string): ProfiledProcess | undefined {
    return this.processes.get(pid);
  }

  setFile(module: string, file: string): void {
    if (file !== '' && !this.files.has(module)) this.files.set(module, file);
  }

  frame(f: RawFrame): number {
    let byFun = this.frameIndex.get(f.module);
    if (!byFun) this.frameIndex.set(f.module, (byFun = new Map()));
    let byPlace = byFun.get(f.function);
    if (!byPlace) byFun.set(f.function, (byPlace = new Map()));
    const key = f.arity * 1_048_576 + f.line;
    let i = byPlace.get(key);
    if (i === undefined) {
      i = this.frames.length;
      this.frames.push({ module: f.module, function: f.function, arity: f.arity, line: f.line });
      byPlace.set(key, i);
    }
    return i;
  }

  /** The index of a stack given by its frames, innermost first (as the node lists them). */
  stack(innermost: readonly number[]): number {
    const key = innermost.join(',');
    let s = this.stackIndex.get(key);
    if (s === undefined) {
      s = this.stacks.length;
      this.stacks.push([...innermost].reverse());
      this.stackIndex.set(key, s);
    }
    return s;
  }

  /** `innermost` frames as the node lists them (innermost first). */
  add(pid: string, timeUs: number, busy: boolean, innermost: readonly number[]): void {
    this.addStack(pid, timeUs, busy, this.stack(innermost));
  }

  /** A sample of a stack already interned with stack(). */
  addStack(pid: string, timeUs: number, busy: boolean, stack: number): void {
    const p = this.processes.get(pid);
    const frames = this.stacks[stack];
    if (!p || !frames) return;
    p.samples.push([timeUs, stack, busy ? 1 : 0]);
    const top = frames[frames.length - 1];
    if (!busy && top !== undefined) this.waitingAt.add(top);
    this.count++;
  }

  profile(rest: Pick<Profile, 'mode' | 'stats' | 'durationMs'>): Profile {
    // A process waiting in receive that our own process_info request wakes up answers "running"
    // at the receive (1 in 7 samples of an idle gen_server on OTP 25): a sample whose innermost
    // frame is a place where the process was also seen waiting is idle.
    for (const p of this.processes.values()) {
      for (const sample of p.samples) {
        if (sample[2] === 1) {
          const stack = this.stacks[sample[1]];
          const top = stack?.[stack.length - 1];
          if (top !== undefined && this.waitingAt.has(top)) sample[2] = 0;
        }
      }
    }
    const frames = this.frames.map((f) => {
      const file = this.files.get(f.module);
      return file ? { ...f, file } : f;
    });
    return { ...rest, frames, stacks: this.stacks, processes: [...this.processes.values()] };
  }
}

/** Checks the shape of a profile read from a session file (untrusted JSON). */
export function isProfile(x: unknown): x is Profile {
  return runSteps(profileCheckSteps(x)) !== null;
}

/** isProfile's check, pausing every few thousand frames, stacks or samples (a saved file's million samples): the profile, or null. */
export function* profileCheckSteps(x: unknown): Steps<Profile | null> {
  const p = record(x);
  if (!p || !Array.isArray(p.frames) || !Array.isArray(p.stacks) || !Array.isArray(p.processes)) return null;
  if (p.mode !== 'probe' && p.mode !== 'rpc' && p.mode !== 'speedscope') return null;
  if (!isCount(p.durationMs)) return null;
  const st = record(p.stats);
  if (!st || !['hz', 'intervalUs', 'samples', 'ticks', 'lateTicks', 'backoffs', 'costUsPerSample', 'costUsMax'].every((k) => isCount(st[k]))) return null;
  const nFrames = p.frames.length;
  const okFrame = (x: unknown): boolean => {
    const f = record(x);
    return !!f && typeof f.module === 'string' && typeof f.function === 'string' && Number.isInteger(f.arity) && Number.isInteger(f.line) && (f.file === undefined || typeof f.file === 'string');
  };
  const frames: unknown[] = p.frames;
  // Pauses by work done (a stack's frames), not by items: stacks may be deep.
  const budget = new WorkBudget();
  for (let i = 0; i < frames.length; i++) {
    if (!okFrame(frames[i])) return null;
    if (budget.spend(16)) yield;
  }
  const stacks: unknown[] = p.stacks;
  for (let i = 0; i < stacks.length; i++) {
    const s = stacks[i];
    if (!Array.isArray(s) || !s.every((f: unknown) => typeof f === 'number' && Number.isInteger(f) && f >= 0 && f < nFrames)) return null;
    if (budget.spend(4 + s.length)) yield;
  }
  const nStacks = stacks.length;
  const okSample = (s: unknown): boolean => Array.isArray(s) && s.length === 3 && Number.isFinite(s[0]) && typeof s[1] === 'number' && Number.isInteger(s[1]) && s[1] >= 0 && s[1] < nStacks && (s[2] === 0 || s[2] === 1);
  const nameOrNull = (v: unknown): boolean => v === undefined || v === null || typeof v === 'string';
  for (const x of p.processes as unknown[]) {
    const q = record(x);
    if (!q || typeof q.pid !== 'string' || !nameOrNull(q.name) || !nameOrNull(q.initialCall) || !(q.exited === undefined || typeof q.exited === 'string') || !Array.isArray(q.samples)) return null;
    const samples: unknown[] = q.samples;
    for (let i = 0; i < samples.length; i++) {
      if (!okSample(samples[i])) return null;
      if (budget.spend(8)) yield;
    }
  }
  return x as Profile;
}

function record(x: unknown): Record<string, unknown> | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : undefined;
}

function isCount(x: unknown): boolean {
  return typeof x === 'number' && Number.isFinite(x) && x >= 0;
}

/** What a profile session saves as its result. */
export interface ProfileSession {
  profile: Profile;
  selection: { process: string } | { top: number };
}
