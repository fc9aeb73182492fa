// Opening a maximum-size saved profile (1,000,000 samples: the largest run BEAM Lens records) as
// "BEAM: Open Saved Profile…" does in the extension host — read the file, build the flame graph's
// model and the lenses' facts — the blocking way it was (readFileSync, JSON.parse, checks, folds in
// one go: `sliceMs: Infinity` and the sync folds) and the way it runs now (thread-pool read, then
// parse, checks and folds in slices of ≤ 8 ms), side by side in one run, for a saved profile
// session and for its speedscope file. What counts is how long the event loop stalls: a 1 ms
// timer chain runs throughout and records the gaps between its ticks.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { toSpeedscope } from '../src/core/profile/export';
import { profileFacts, profileFactsSteps, toFlameProfile, toFlameProfileSteps } from '../src/core/profile/flame';
import { ProfileBuilder, type RawFrame } from '../src/core/profile/profile';
import { readSavedProfile } from '../src/core/profile/saved';
import { saveSession } from '../src/core/records/store';
import { runStepsYielding } from '../src/core/records/steps';
import { fmt, heading, median, row } from './util';

const SAMPLES = 1_000_000;
const ROUNDS = 3;

function maxProfileFiles(dir: string): { session: string; speedscope: string } {
  const b = new ProfileBuilder();
  const P = 10;
  for (let p = 0; p < P; p++) b.addProcess({ pid: `<0.${100 + p}.0>`, name: p === 0 ? 'Elixir.Demo.PricingWorker' : null, initialCall: 'proc_lib:init_p/5' });
  // 3,000 distinct stacks of 8-32 frames over 600 functions, as in profile-cost.ts.
  const fr = Array.from({ length: 600 }, (_, i): RawFrame => ({ module: `Elixir.Demo.M${i % 60}`, function: `f${i}`, arity: i % 4, line: i + 1 }));
  const stacks = Array.from({ length: 3000 }, (_, i) => Array.from({ length: 8 + (i % 25) }, (_, k) => b.frame(fr[(i * 7 + k * 13) % 600] as RawFrame)));
  let t = 0;
  for (let i = 0; i < SAMPLES; i++) {
    t += 1000;
    b.add(`<0.${100 + (i % P)}.0>`, t, i % 10 !== 0, stacks[i % 3000] ?? []);
  }
  const profile = b.profile({ mode: 'probe', stats: { hz: 1000, intervalUs: 1000, samples: b.count, ticks: b.count, lateTicks: 0, backoffs: 0, costUsPerSample: 20, costUsMax: 80 }, durationMs: t / 1000 });
  const session = saveSession(
    { format: 1, id: '20260101T000000Z-profile-abcdef', kind: 'profile', node: 'demo@host', env: 'local', startedAt: '2026-01-01T00:00:00.000Z', endedAt: '2026-01-01T00:16:40.000Z', durationMs: t / 1000, limits: { hz: 1000 }, endReason: 'completed', result: { profile, selection: { top: 10 } } },
    { cwd: dir },
  );
  const speedscope = path.join(dir, 'max.speedscope.json');
  writeFileSync(speedscope, JSON.stringify(toSpeedscope(profile, 'BEAM Lens profile of 10 processes on demo@host')));
  return { session, speedscope };
}

interface Run {
  wallMs: number;
  /** The longest the event loop did not turn. */
  longestStallMs: number;
  /** Timer ticks during it (1 ms timer). */
  ticks: number;
}

async function measured(f: () => Promise<unknown>): Promise<Run> {
  let ticks = 0;
  let last = performance.now();
  let longest = 0;
  let on = true;
  const tick = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    ticks++;
    if (on) timer = setTimeout(tick, 1);
  };
  let timer = setTimeout(tick, 1);
  const t0 = performance.now();
  last = t0;
  await f();
  const wallMs = performance.now() - t0;
  // The stall that ends with the read's end counts too.
  longest = Math.max(longest, performance.now() - last);
  on = false;
  clearTimeout(timer);
  return { wallMs, longestStallMs: longest, ticks };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bl-bench-saved-'));
  try {
    const files = maxProfileFiles(dir);
    heading(`Opening a saved profile of ${SAMPLES.toLocaleString('en-US')} samples (read + flame model + lens facts): event-loop stalls, blocking vs sliced (median of ${ROUNDS}, same run)`);
    row(['file', 'way', 'wall', 'longest stall', '1 ms timer ticks meanwhile', 'of it: the read alone (wall)']);
    row(['---', '---', '---', '---', '---', '---']);
    for (const [what, file] of [['profile session', files.session], ['speedscope file', files.speedscope]] as const) {
      const mb = `${(statSync(file).size / 1024 / 1024).toFixed(0)} MB`;
      const runs: Record<'blocking' | 'sliced', Run[]> = { blocking: [], sliced: [] };
      const readMs: Record<'blocking' | 'sliced', number[]> = { blocking: [], sliced: [] };
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate the order: neither way always runs on a warmer heap.
        for (const way of r % 2 === 0 ? (['blocking', 'sliced'] as const) : (['sliced', 'blocking'] as const)) {
          runs[way].push(
            await measured(async () => {
              const t0 = performance.now();
              const saved = await readSavedProfile(file, way === 'blocking' ? { sliceMs: Infinity } : {});
              readMs[way].push(performance.now() - t0);
              const meta = { node: 'demo@host', title: 't', endReason: saved.endReason, sessionFile: file };
              if (way === 'blocking') {
                toFlameProfile(saved.profile, meta);
                profileFacts(saved.profile, `saved:${file}`, Date.now(), file);
              } else {
                await runStepsYielding(toFlameProfileSteps(saved.profile, meta));
                await runStepsYielding(profileFactsSteps(saved.profile, `saved:${file}`, Date.now(), file));
              }
            }),
          );
          global.gc?.();
        }
      }
      for (const way of ['blocking', 'sliced'] as const) {
        const rs = runs[way];
        row([`${what} (${mb})`, way === 'blocking' ? 'blocking (before)' : 'sliced (now)', fmt(median(rs.map((x) => x.wallMs))), fmt(median(rs.map((x) => x.longestStallMs))), median(rs.map((x) => x.ticks)).toFixed(0), fmt(median(readMs[way]))]);
      }
      const b = median(runs.blocking.map((x) => x.longestStallMs));
      const s = median(runs.sliced.map((x) => x.longestStallMs));
      process.stdout.write(`\n${what}: longest stall ${fmt(b)} → ${fmt(s)} (${(b / s).toFixed(0)}x shorter); wall ${(median(runs.sliced.map((x) => x.wallMs)) / median(runs.blocking.map((x) => x.wallMs))).toFixed(2)}x the blocking way's\n\n`);
    }
    process.stdout.write(`load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} cores\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
