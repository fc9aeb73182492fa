// A profile as the flame-graph webview takes it (src/protocol/webview.ts): display names, one
// folded tree per process and one for all, busy samples only. Also the lens facts of a profile.
import { formatModule } from '../../etf/format';
import { foldStacksSteps, summarizeSteps, type CallTree } from './fold';
import { runSteps, WorkBudget, type Steps } from '../records/steps';
import { definingFunction, functionName, generatedParent } from './names';
import { processLabel, type Profile, type ProfileMode } from './profile';

/** A frame of the profile: a function (display name in Erlang or Elixir notation) at a line. */
export interface FlameFrame {
  name: string;
  /** Raw module atom (Elixir.Demo.Pricing) and function, for finding the source. */
  module: string;
  function: string;
  arity: number;
  line: number;
  file?: string;
}

/** A call tree: frame index (-1 at the root), self and total samples, children largest first. */
export type FlameTree = CallTree;

export interface FlameProcess {
  pid: string;
  label: string;
  busy: number;
  idle: number;
  exited?: string;
  tree: FlameTree;
}

export interface FlameProfile {
  node: string;
  title: string;
  mode: ProfileMode;
  hz: number;
  durationMs: number;
  samples: number;
  endReason: string;
  endDetail?: string;
  sessionFile?: string;
  frames: FlameFrame[];
  processes: FlameProcess[];
  /** All processes folded together. */
  all: FlameTree;
}

/** A function seen in a sampling profile: its shares of the profile's busy samples (0..1). */
export interface ProfiledRuntime {
  /** Display form ("Demo.Pricing"), like ModuleRuntime.module. */
  module: string;
  function: string;
  arity: number;
  /** Display name, e.g. "fn in Demo.Pricing.compute/2" for a generated function. */
  name: string;
  /** The function whose definition holds it (itself unless generated). */
  definedIn: { function: string; arity: number };
  self: number;
  total: number;
}

/** The lenses of one profile, until its flame graph is closed or the node detached. */
export interface ProfileFacts {
  node: string;
  /** Whose samples: "Demo.PricingWorker" or "3 processes". */
  of: string;
  capturedAt: number;
  sessionFile?: string;
  functions: ProfiledRuntime[];
}


export interface FlameMeta {
  node: string;
  title: string;
  endReason: string;
  endDetail?: string;
  sessionFile?: string;
}

export function toFlameProfile(profile: Profile, meta: FlameMeta): FlameProfile {
  return runSteps(toFlameProfileSteps(profile, meta));
}

/** toFlameProfile in steps (a saved profile of a million samples folds in slices in the editor). */
export function* toFlameProfileSteps(profile: Profile, meta: FlameMeta): Steps<FlameProfile> {
  const s = yield* summarizeSteps(profile);
  const processes: FlameProcess[] = [];
  for (const p of profile.processes) {
    const sp = s.processes.find((x) => x.pid === p.pid);
    const tree = yield* foldStacksSteps(profile, { pids: [p.pid] });
    processes.push({ pid: p.pid, label: processLabel(p), busy: sp?.busy ?? 0, idle: sp?.idle ?? 0, ...(p.exited !== undefined ? { exited: p.exited } : {}), tree });
  }
  const all = yield* foldStacksSteps(profile);
  const frames: FlameProfile['frames'] = [];
  const budget = new WorkBudget();
  for (const f of profile.frames) {
    frames.push({ name: functionName(f), module: f.module, function: f.function, arity: f.arity, line: f.line, ...(f.file ? { file: f.file } : {}) });
    if (budget.spend(32)) yield;
  }
  return {
    node: meta.node,
    title: meta.title,
    mode: profile.mode,
    hz: profile.stats.hz,
    durationMs: profile.durationMs,
    samples: profile.stats.samples,
    endReason: meta.endReason,
    ...(meta.endDetail ? { endDetail: meta.endDetail } : {}),
    ...(meta.sessionFile ? { sessionFile: meta.sessionFile } : {}),
    frames,
    processes,
    all,
  };
}

/** Whose samples, for lens titles: "Demo.PricingWorker" or "3 processes". */
export function profileSubject(profile: Profile): string {
  const [only] = profile.processes;
  if (profile.processes.length !== 1 || !only) return `${profile.processes.length} processes`;
  return processLabel(only).replace(/ <[^>]+>$/, '');
}

/** The functions of a profile with at least `minShare` of total samples, for lenses. */
export function profileFacts(profile: Profile, node: string, capturedAt: number, sessionFile?: string, minShare = 0.01): ProfileFacts {
  return runSteps(profileFactsSteps(profile, node, capturedAt, sessionFile, minShare));
}

export function* profileFactsSteps(profile: Profile, node: string, capturedAt: number, sessionFile?: string, minShare = 0.01): Steps<ProfileFacts> {
  const s = yield* summarizeSteps(profile);
  return {
    node,
    of: profileSubject(profile),
    capturedAt,
    ...(sessionFile ? { sessionFile } : {}),
    functions: s.functions
      .filter((f) => f.totalShare >= minShare)
      .slice(0, 500)
      .map((f) => {
        const def = definingFunction(f);
        return {
          module: formatModule(f.module),
          function: f.function,
          arity: f.arity,
          name: generatedParent(f.function) ? functionName(f) : f.name,
          definedIn: { function: def.function, arity: def.arity },
          self: f.selfShare,
          total: f.totalShare,
        };
      }),
  };
}
