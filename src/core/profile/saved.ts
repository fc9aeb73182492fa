// Saved profiles read back: a profile session BEAM Lens saved (`.beam-lens/sessions/*-profile-*.json`)
// or a speedscope file (`beam-lens profile --out X.speedscope.json`, or another BEAM tool's sampled
// profile with Erlang/Elixir frame names). The one reader for `beam-lens session show` and the
// editor's "Open Saved Profile…": everything in the file is checked before it becomes a Profile.
import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseJsonSteps } from '../records/json-steps';
import { runSteps, runStepsYielding, WorkBudget, type Steps } from '../records/steps';
import { SessionFileError, SESSION_FILE_MAX_BYTES, parseJsonFile, readBoundedBytes, readBoundedFile, sessionOf, sessionsDir, type SessionRecord } from '../records/store';
import { SPEEDSCOPE_SCHEMA } from './export';
import { profileCheckSteps, type Profile, type ProfiledProcess, type ProfileFrame, type ProfileSession, type ProfileSample } from './profile';
import type { FunctionRef } from './names';

export interface SavedProfile {
  /** A BEAM Lens profile session, or a speedscope file. */
  source: 'session' | 'speedscope';
  file: string;
  /** The profiled node; null when a speedscope file does not say. */
  node: string | null;
  /** When it was recorded (ISO): the session's start, else the file's modification time. */
  at: string;
  endReason: string;
  endDetail?: string;
  /** What was profiled (sessions only): the same choice profiles it again. */
  selection?: ProfileSession['selection'];
  profile: Profile;
}

export interface ReadProfileOptions {
  maxBytes?: number;
  /**
   * The longest the reader runs before the event loop gets a turn (default 8 ms): the file is read
   * by the thread pool, decoded, parsed and checked in slices, so an extension host reading a
   * maximum-size file keeps answering. Infinity reads it the blocking way (readFileSync, then
   * one go), for comparison in bench/.
   */
  sliceMs?: number;
  /** Stops the read at its next pause (a 'cancelled' error); the sliced way only. */
  signal?: AbortSignal;
}

/**
 * Reads a saved profile session or a speedscope file without blocking the event loop for long
 * (see ReadProfileOptions.sliceMs); a usage error says what is wrong with the file.
 */
export async function readSavedProfile(file: string, options: ReadProfileOptions = {}): Promise<SavedProfile> {
  const maxBytes = options.maxBytes ?? SESSION_FILE_MAX_BYTES;
  if (options.sliceMs === Infinity) {
    const data = parseJsonFile(file, readBoundedFile(file, maxBytes, 'profile file'));
    return runSteps(savedProfileSteps(file, { data }, () => mtime(file)));
  }
  const { bytes, mtime: at } = await readBoundedBytes(file, maxBytes, 'profile file');
  return runStepsYielding(savedProfileSteps(file, { bytes }, () => at.toISOString()), options.sliceMs, options.signal);
}

/** The reader's work once the file is in memory (its bytes, or the blocking way its parsed JSON), in steps. */
export function* savedProfileSteps(file: string, content: { bytes: Uint8Array } | { data: unknown }, at: () => string): Steps<SavedProfile> {
  let data: unknown;
  if ('data' in content) data = content.data;
  else {
    try {
      data = yield* parseJsonSteps(content.bytes);
    } catch {
      throw new SessionFileError(`${file} is not a BEAM Lens session file (not JSON)`);
    }
  }
  const o = asObj(data);
  if (o && typeof o.$schema === 'string' && o.$schema === SPEEDSCOPE_SCHEMA) return yield* speedscopeProfile(file, o, at);
  if (o && o.format === undefined && (o.shared !== undefined || o.profiles !== undefined)) {
    throw new SessionFileError(`${file} looks like a speedscope file but has no "$schema": "${SPEEDSCOPE_SCHEMA}": re-export it from speedscope, or record it with \`beam-lens profile --out FILE.speedscope.json\``);
  }
  const r = sessionOf(file, data);
  return yield* sessionProfile(file, r, at);
}

/** The profile of a profile session record (checked: a saved file is untrusted). */
export function profileOfRecord(r: SessionRecord, file: string): Profile {
  return runSteps(profileOfRecordSteps(r, file));
}

function* profileOfRecordSteps(r: SessionRecord, file: string): Steps<Profile> {
  if (r.kind !== 'profile') {
    throw new SessionFileError(`${file} is a ${r.kind} session, not a profile: open a profile session (${sessionsDir('.')}/*-profile-*.json) or a .speedscope.json file`);
  }
  const p = yield* profileCheckSteps(asObj(r.result)?.profile);
  if (!p) throw new SessionFileError(`${file} is a profile session without a readable profile (frames, stacks, processes, stats): the file is damaged or from another version`);
  return p;
}

function* sessionProfile(file: string, r: SessionRecord, at: () => string): Steps<SavedProfile> {
  const profile = yield* profileOfRecordSteps(r, file);
  const sel = asObj(asObj(r.result)?.selection);
  const selection = sel && typeof sel.process === 'string' ? { process: sel.process } : sel && Number.isInteger(sel.top) && typeof sel.top === 'number' ? { top: sel.top } : undefined;
  return {
    source: 'session',
    file,
    node: r.node,
    at: typeof r.startedAt === 'string' ? r.startedAt : at(),
    endReason: typeof r.endReason === 'string' ? r.endReason : 'completed',
    ...(typeof r.endDetail === 'string' ? { endDetail: r.endDetail } : {}),
    ...(selection ? { selection } : {}),
    profile,
  };
}

// ---- speedscope ------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function asObj(x: unknown): Obj | undefined {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Obj) : undefined;
}

const UNIT_US: Record<string, number> = { nanoseconds: 0.001, microseconds: 1, milliseconds: 1000, seconds: 1_000_000 };
/** As many samples as the largest profile BEAM Lens records. */
const MAX_SAMPLES = 1_000_000;
/** Processes of one profile (BEAM Lens samples at most 100). */
const MAX_PROFILES = 1000;

function* speedscopeProfile(file: string, o: Obj, at: () => string): Steps<SavedProfile> {
  const bad = (what: string): never => {
    throw new SessionFileError(`${file} is a speedscope file BEAM Lens cannot read: ${what}`);
  };
  const exporter = typeof o.exporter === 'string' ? o.exporter : 'another tool';
  const rawFrames = asObj(o.shared)?.frames;
  if (!Array.isArray(rawFrames)) return bad('no shared frames ("shared": {"frames": [...]})');
  const framesIn: unknown[] = rawFrames;
  const frames: ProfileFrame[] = [];
  // Pauses by work done (a sample's frames, a name's length), not by items: samples may be deep.
  const budget = new WorkBudget();
  for (let i = 0; i < framesIn.length; i++) {
    const f = asObj(framesIn[i]);
    if (!f || typeof f.name !== 'string') return bad(`frame ${i} has no name`);
    const ref = parseFunctionName(f.name);
    if (!ref) return bad(`frame ${i} "${f.name.slice(0, 80)}" is not an Erlang or Elixir function (written by ${exporter}); BEAM Lens opens profiles of BEAM processes, e.g. from \`beam-lens profile --out\` — open this one at https://www.speedscope.app`);
    const line = typeof f.line === 'number' && Number.isInteger(f.line) && f.line > 0 ? f.line : 0;
    frames.push({ ...ref, line, ...(typeof f.file === 'string' && f.file !== '' ? { file: f.file } : {}) });
    if (budget.spend(16 + (f.name.length >> 4))) yield;
  }
  if (!Array.isArray(o.profiles) || o.profiles.length === 0) return bad('no profiles');
  if (o.profiles.length > MAX_PROFILES) return bad(`${o.profiles.length} profiles, more than the ${MAX_PROFILES} (one per process) BEAM Lens shows`);
  const profilesIn: unknown[] = o.profiles;
  const stacks: number[][] = [];
  const stackIndex = new Map<string, number>();
  const processes: ProfiledProcess[] = [];
  const pids = new Set<string>();
  let total = 0;
  let durationUs = 0;
  const weightsUs: number[] = [];
  for (let i = 0; i < profilesIn.length; i++) {
    const p = asObj(profilesIn[i]);
    if (!p) return bad(`profile ${i} is not an object`);
    if (p.type !== 'sampled') return bad(`profile ${i} is ${typeof p.type === 'string' ? `an "${p.type}"` : 'not a sampled'} profile; BEAM Lens reads sampled profiles (samples and weights), as \`beam-lens profile --out\` writes`);
    const unit = typeof p.unit === 'string' ? UNIT_US[p.unit] : undefined;
    if (unit === undefined) return bad(`profile ${i} is measured in ${JSON.stringify(p.unit)}, not in time (nanoseconds … seconds)`);
    const samples: unknown = p.samples;
    const weights: unknown = p.weights;
    if (!Array.isArray(samples) || !Array.isArray(weights) || samples.length !== weights.length) return bad(`profile ${i} needs "samples" and "weights" of the same length`);
    total += samples.length;
    if (total > MAX_SAMPLES) return bad(`more than ${MAX_SAMPLES} samples`);
    const out: ProfileSample[] = [];
    let t = 0;
    for (let k = 0; k < samples.length; k++) {
      const s: unknown = samples[k];
      const w: unknown = weights[k];
      if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) return bad(`profile ${i} sample ${k} has no valid weight`);
      if (!Array.isArray(s) || !s.every((f: unknown) => typeof f === 'number' && Number.isInteger(f) && f >= 0 && f < frames.length)) return bad(`profile ${i} sample ${k} is not a list of frame indices`);
      const key = s.join(',');
      let si = stackIndex.get(key);
      if (si === undefined) {
        si = stacks.length;
        stacks.push(s.filter((f: unknown): f is number => typeof f === 'number'));
        stackIndex.set(key, si);
      }
      const us = w * unit;
      t += us;
      weightsUs.push(us);
      out.push([Math.round(t), si, 1]);
      if (budget.spend(4 + s.length)) yield;
    }
    durationUs = Math.max(durationUs, t);
    const who = processOf(typeof p.name === 'string' ? p.name : `profile ${i + 1}`);
    let pid = who.pid;
    for (let n = 2; pids.has(pid); n++) pid = `${who.pid} #${n}`;
    pids.add(pid);
    processes.push({ ...who, pid, samples: out });
  }
  // The rate is not in the file: the median time between samples (none: the process only waited).
  const intervalUs = weightsUs.length === 0 ? 0 : Math.max(1, Math.round(median(weightsUs)));
  const name = typeof o.name === 'string' ? o.name : '';
  const node = /\bon (\S+@\S+)$/.exec(name)?.[1] ?? null;
  const profile: Profile = {
    mode: 'speedscope',
    frames,
    stacks,
    processes,
    stats: { hz: intervalUs === 0 ? 0 : Math.round(1_000_000 / intervalUs), intervalUs, samples: total, ticks: Math.max(0, ...processes.map((p) => p.samples.length)), lateTicks: 0, backoffs: 0, costUsPerSample: 0, costUsMax: 0 },
    durationMs: Math.round(durationUs / 1000),
  };
  return { source: 'speedscope', file, node, at: at(), endReason: 'completed', profile };
}

/**
 * The median (the upper one of an even count). A native sort of a typed array (O(n log n) whatever
 * the order, ~0.1 s for a million): a hand-written quickselect with a fixed pivot rule is n² on
 * weights arranged against it, and a saved file is untrusted.
 */
function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const a = Float64Array.from(xs).sort();
  return a[a.length >> 1] ?? 0;
}

function mtime(file: string): string {
  try {
    return statSync(file).mtime.toISOString();
  } catch {
    return new Date(0).toISOString();
  }
}

/** A process label as processLabel writes it ("Demo.PricingWorker <0.1.0>", "lists:foldl/3 <0.1.0>") read back. */
function processOf(label: string): Pick<ProfiledProcess, 'pid' | 'name' | 'initialCall'> {
  const m = /^(.*?)\s*(<\d+\.\d+\.\d+>)$/.exec(label);
  const pid = m?.[2] ?? label;
  const who = m ? (m[1] ?? '') : '';
  if (who === '') return { pid, name: null, initialCall: null };
  const call = parseFunctionName(who);
  if (call) return { pid, name: null, initialCall: `${call.module}:${call.function}/${call.arity}` };
  return { pid, name: /^[A-Z]/.test(who) ? `Elixir.${who}` : who, initialCall: null };
}

const ERLANG_ATOM = String.raw`[a-z][a-zA-Z0-9_@]*|'(?:[^'\\]|\\.)*'`;
const ERLANG = new RegExp(`^(${ERLANG_ATOM}):(${ERLANG_ATOM})/(\\d+)$`);
const ELIXIR = /^([A-Z][^"]*?)\.([a-z_][a-zA-Z0-9_]*[?!]?|"(?:[^"\\]|\\.)*")\/(\d+)$/;
const GENERATED_KIND: Record<string, string> = { fn: 'fun-0', comprehension: 'lc$^0/1-0', inlined: 'inlined-0' };

function unquoteAtom(a: string): string {
  return a.startsWith("'") ? a.slice(1, -1).replace(/\\(.)/g, '$1') : a;
}

/**
 * A frame's display name (names.ts' functionName: `Demo.Pricing.compute/2`, `lists:foldl/3`,
 * `fn in Demo.Pricing.compute/2`) read back as a function; null when it is not one.
 */
export function parseFunctionName(name: string): FunctionRef | null {
  const gen = /^(fn|comprehension|inlined) in (.+)$/.exec(name);
  if (gen) {
    const parent = parseFunctionName(gen[2] ?? '');
    if (!parent) return null;
    return { module: parent.module, function: `-${parent.function}/${parent.arity}-${GENERATED_KIND[gen[1] ?? 'fn'] ?? 'fun-0'}-`, arity: 0 };
  }
  const e = ERLANG.exec(name);
  if (e) return { module: unquoteAtom(e[1] ?? ''), function: unquoteAtom(e[2] ?? ''), arity: Number(e[3]) };
  const x = ELIXIR.exec(name);
  if (x) {
    const fun = x[2] ?? '';
    let f = fun;
    if (fun.startsWith('"')) {
      try {
        const parsed: unknown = JSON.parse(fun);
        if (typeof parsed !== 'string') return null;
        f = parsed;
      } catch {
        return null;
      }
    }
    return { module: `Elixir.${x[1] ?? ''}`, function: f, arity: Number(x[3]) };
  }
  return null;
}

// ---- the saved profiles of a workspace ------------------------------------------------------

export interface SavedProfileEntry {
  file: string;
  id: string;
  /** From the record's header (read without the samples); null when it cannot be read. */
  node: string | null;
  env: string | null;
  startedAt: string | null;
}

/** The profile sessions saved under `cwd` (newest first, at most `limit`), read from their headers only. */
export function listSavedProfiles(cwd: string, limit = 50): SavedProfileEntry[] {
  const dir = sessionsDir(cwd);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /-profile-[0-9a-f]+\.json$/.test(n));
  } catch {
    return [];
  }
  return names
    .sort()
    .reverse()
    .slice(0, limit)
    .map((name) => ({ file: path.join(dir, name), id: name.replace(/\.json$/, ''), ...header(path.join(dir, name)) }));
}

/** node/env/startedAt from the first bytes of a record (saveSession writes the result last, indented by 2). */
function header(file: string): { node: string | null; env: string | null; startedAt: string | null } {
  let text = '';
  try {
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(16_384);
      const n = readSync(fd, buf, 0, buf.length, 0);
      text = buf.subarray(0, n).toString('utf8');
    } finally {
      closeSync(fd);
    }
  } catch {
    // unreadable: listed by its name
  }
  const cut = text.indexOf('\n  "result":');
  let o: Obj | undefined;
  if (cut > 0) {
    try {
      o = asObj(JSON.parse(`${text.slice(0, cut).replace(/,\s*$/, '')}}`));
    } catch {
      o = undefined;
    }
  }
  const s = (k: string): string | null => {
    const v = o?.[k];
    return typeof v === 'string' ? v : null;
  };
  return { node: s('node'), env: s('env'), startedAt: s('startedAt') };
}
