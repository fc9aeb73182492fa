import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { Pid, Tuple, isAtom, type Term } from '../../../src/etf';
import { runCli } from '../../../src/cli/main';
import type { Output } from '../../../src/cli/output';
import { Attachment } from '../../../src/core/attach/attachment';
import { runProfile } from '../../../src/core/profile/run';
import { resolveTargets } from '../../../src/core/profile/targets';
import { connect } from '../../../src/erldist';
import { startNode, waitFor, type TestNode } from '../harness';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in this process (the current source, no build needed). */
async function cli(args: string[], cwd: string, signal = new AbortController().signal): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const output: Output = { out: (t) => out.push(t), err: (t) => err.push(t), color: false, progress: false };
  const saved = process.cwd();
  process.chdir(cwd);
  try {
    const code = await runCli(args, output, signal);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    process.chdir(saved);
  }
}

interface FnJson {
  name: string;
  module: string;
  function: string;
  arity: number;
  self: number;
  total: number;
  totalShare: number;
  selfShare: number;
}

interface ProfileJson {
  session: string;
  out?: string;
  endReason: string;
  endDetail?: string;
  mode: 'probe' | 'rpc';
  stats: { samples: number; hz: number; costUsPerSample: number };
  processes: Array<{ pid: string; label: string; busy: number; idle: number; exited?: string }>;
  busy: number;
  idle: number;
  trunk: string[];
  bySelf: FnJson[];
  byTotal: FnJson[];
}

/** Trace flags on any process, trace patterns on the sampled functions, our sampler, our probe. */
const LEFTOVERS = `
Flagged = [P || P <- erlang:processes(), {flags, F} <- [erlang:trace_info(P, flags)], F =/= []],
Patterns = [MFA || MFA <- MFAs, {traced, T} <- [erlang:trace_info(MFA, traced)], T =/= false],
{length(Flagged), length(Patterns), whereis(beam_lens_sampler), code:is_loaded(beam_lens_probe)}.`;

async function assertClean(node: TestNode, mfas: Array<[string, string, number]>): Promise<void> {
  const { Atom } = await import('../../../src/etf');
  let last = '';
  await waitFor(
    async () => {
      const t = (await node.eval(LEFTOVERS, { MFAs: mfas.map(([m, f, a]) => new Tuple([Atom.of(m), Atom.of(f), a])) })) as Tuple;
      const [flagged, patterns, sampler, loaded] = t.elements as [Term, Term, Term, Term];
      last = `flagged=${String(flagged)} patterns=${String(patterns)} sampler=${isAtom(sampler, 'undefined') ? 'none' : 'alive'} probe=${isAtom(loaded, 'false') ? 'gone' : 'loaded'}`;
      return flagged === 0 && patterns === 0 && isAtom(sampler, 'undefined') && isAtom(loaded, 'false');
    },
    10_000,
    'the node to be as before',
    100,
  ).catch(() => {
    throw new Error(`target not clean: ${last}`);
  });
}

describe('profile on the demo node', function () {
  this.timeout(300_000);
  let demo: TestNode;
  let dir: string;
  let conn: string[];

  before(async () => {
    demo = await startNode({ command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie] }, startTimeoutMs: 240_000 });
    await waitFor(async () => (await demo.eval(`whereis('Elixir.Demo.PricingWorker').`)) instanceof Pid, 30_000, 'the demo application');
    dir = mkdtempSync(path.join(tmpdir(), 'bl-profile-'));
    conn = ['--node', demo.node, '--cookie-file', demo.cookieFile];
  });
  after(async () => {
    await demo?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('profiles the hot worker in the probe: the pricing path leads by total, Demo.Pricing by self; speedscope file valid; nothing left', async () => {
    const r = await cli(['profile', 'Demo.PricingWorker', ...conn, '--duration', '3', '--allow-probe', '--json', '--out', 'worker.speedscope.json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as ProfileJson;
    assert.equal(j.mode, 'probe');
    assert.equal(j.endReason, 'completed');
    assert.equal(j.stats.hz, 97);
    assert.ok(j.stats.samples > 100 && j.stats.samples <= 3 * 97 + 5, String(j.stats.samples));
    assert.equal(j.processes.length, 1);
    assert.match(j.processes[0]?.label ?? '', /^Demo\.PricingWorker <0\.\d+\.0>$/);
    assert.ok(j.busy > 10, `busy ${j.busy}`);
    assert.equal(j.busy + j.idle, j.stats.samples);
    // The worker's own code, by total: the re-pricing loop and compute/2 under it, on the same
    // path (reprice/4 calls compute/2 on every item; a tie goes to the deeper callee).
    const own = j.byTotal.filter((f) => f.module.startsWith('Elixir.Demo.'));
    assert.ok(['Demo.Pricing.compute/2', 'Demo.PricingWorker.reprice/4'].includes(own[0]?.name ?? ''), own.map((f) => f.name).join(', '));
    const compute = j.byTotal.find((f) => f.name === 'Demo.Pricing.compute/2');
    const reprice = [...j.byTotal, ...j.bySelf].find((f) => f.name === 'Demo.PricingWorker.reprice/4');
    assert.ok(compute && compute.totalShare > 0.5, JSON.stringify(compute));
    assert.ok(!reprice || compute.total >= 0.8 * reprice.total, 'compute/2 holds most of the loop');
    // By self: the work is inside Demo.Pricing (compute/2 and the helpers it calls).
    assert.equal(j.bySelf[0]?.module, 'Elixir.Demo.Pricing', j.bySelf.map((f) => f.name).join(', '));
    // The speedscope file: schema of the speedscope package, frames named for Elixir with files.
    const file = JSON.parse(readFileSync(path.join(dir, 'worker.speedscope.json'), 'utf8')) as { shared: { frames: Array<{ name: string; file?: string; line?: number }> }; profiles: Array<{ samples: number[][]; weights: number[] }> };
    const schema = JSON.parse(readFileSync(path.join(require.resolve('speedscope/package.json'), '..', 'dist', 'release', 'file-format-schema.json'), 'utf8')) as Record<string, unknown>;
    const validate = new Ajv().compile({ ...schema, $ref: '#/definitions/FileFormat.File' });
    assert.ok(validate(file), JSON.stringify(validate.errors));
    assert.equal(file.profiles[0]?.samples.length, j.busy);
    const frame = file.shared.frames.find((f) => f.name === 'Demo.Pricing.compute/2');
    assert.equal(frame?.file, 'lib/demo/workers/pricing.ex');
    assert.ok((frame?.line ?? 0) > 0);
    assert.ok(file.shared.frames.some((f) => f.name === 'gen_server:try_dispatch/4'));
    // Saved and audited like every session.
    const saved = JSON.parse(readFileSync(j.session, 'utf8')) as { kind: string; result: { profile: { frames: unknown[] } } };
    assert.equal(saved.kind, 'profile');
    assert.ok(saved.result.profile.frames.length > 3);
    const audit = readFileSync(path.join(dir, '.beam-lens', 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; outcome: string; limits?: Record<string, unknown> });
    assert.deepEqual(audit.slice(-2).map((e) => [e.action, e.outcome]), [['profile start', 'requested'], ['profile end', 'completed']]);
    assert.equal(audit.at(-1)?.limits?.mode, 'probe');
    await assertClean(demo, [['Elixir.Demo.Pricing', 'compute', 2], ['Elixir.Demo.PricingWorker', 'handle_info', 2]]);

    // session show reopens it; session compare compares two profiles frame by frame.
    const show = await cli(['session', 'show', j.session], dir);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /profile session .* on /);
    assert.match(show.stdout, /TOP BY SELF[\s\S]*Demo\.Pricing\./);
    // The speedscope file reopens too (core's one reader of saved profiles, as in the editor).
    const showSpeedscope = await cli(['session', 'show', 'worker.speedscope.json'], dir);
    assert.equal(showSpeedscope.code, 0, showSpeedscope.stderr);
    assert.match(showSpeedscope.stdout, /^speedscope profile worker\.speedscope\.json of \S+@\S+, \d{4}-/);
    assert.match(showSpeedscope.stdout, /read from a speedscope file[\s\S]*TOP BY TOTAL[\s\S]*Demo\.Pricing\.compute\/2/);
    const notAProfile = await cli(['session', 'show', 'worker.speedscope.json'.replace('worker', 'missing')], dir);
    assert.match(notAProfile.stderr, /cannot read profile file missing\.speedscope\.json \(ENOENT\)/);
    const again = await cli(['profile', 'Demo.PricingWorker', ...conn, '--duration', '1', '--allow-probe', '--json'], dir);
    assert.equal(again.code, 0, again.stderr);
    const cmp = await cli(['session', 'compare', j.session, (JSON.parse(again.stdout) as ProfileJson).session, '--json'], dir);
    assert.equal(cmp.code, 0, cmp.stderr);
    const c = JSON.parse(cmp.stdout) as { kind: string; before: { busy: number }; changes: Array<{ name: string; before: { total: number } | null; after: { total: number } | null }> };
    assert.equal(c.kind, 'profile');
    assert.equal(c.before.busy, j.busy);
    assert.ok(c.changes.some((x) => x.name === 'Demo.Pricing.compute/2' && x.before !== null && x.after !== null));
    const cmpText = await cli(['session', 'compare', j.session, (JSON.parse(again.stdout) as ProfileJson).session], dir);
    assert.match(cmpText.stdout, /FUNCTION\s+TOTAL BEFORE\s+AFTER\s+CHANGE/);
  });

  it('--top 3 profiles the three busiest processes, the pricing worker among them', async () => {
    const r = await cli(['profile', '--top', '3', ...conn, '--duration', '2', '--allow-probe', '--json'], dir);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as ProfileJson;
    assert.equal(j.processes.length, 3);
    assert.equal(new Set(j.processes.map((p) => p.pid)).size, 3);
    assert.ok(j.processes.some((p) => p.label.startsWith('Demo.PricingWorker ')), j.processes.map((p) => p.label).join(', '));
    assert.ok(j.processes.every((p) => p.busy + p.idle > 50), JSON.stringify(j.processes));
    await assertClean(demo, []);
  });

  it('zero-install over rpc: bounded rate, text tables, folded stacks, nothing loaded', async () => {
    const refused = await cli(['profile', 'Demo.PricingWorker', ...conn, '--hz', '97'], dir);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /zero-install sampling over rpc goes from 1 to 25 Hz; add --allow-probe/);
    const r = await cli(['profile', 'Demo.PricingWorker', ...conn, '--duration', '2', '--hz', '20'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /samples of Demo\.PricingWorker <0\.\d+\.0> at 20 Hz over 2\.\d s \(zero-install over rpc\)/);
    assert.match(r.stdout, /busy, \d+ idle \(waiting in receive\)/);
    assert.match(r.stdout, /cost per sample: [\d.]+ µs mean/);
    const folded = await cli(['profile', 'Demo.PricingWorker', ...conn, '--duration', '1', '--collapsed', '--include-idle'], dir);
    assert.equal(folded.code, 0, folded.stderr);
    const lines = folded.stdout.trim().split('\n');
    assert.ok(lines.length > 0 && lines.every((l) => /^Demo\.PricingWorker <0\.\d+\.0>;proc_lib:init_p_do_apply\/3;.* \d+$/.test(l)), folded.stdout);
    await assertClean(demo, []);
  });

  it('Ctrl-C ends a profile as stopped and saves the samples so far', async () => {
    const stop = new AbortController();
    const t0 = Date.now();
    const run = cli(['profile', 'Demo.PricingWorker', ...conn, '--duration', '60', '--allow-probe', '--json'], dir, stop.signal);
    // Once the sampler runs on the node and has ticked again after its first sample (its
    // reductions grow), not after a fixed pause.
    const reductions = async (): Promise<number | undefined> => {
      const r = await demo.eval(`case whereis(beam_lens_sampler) of undefined -> undefined; P -> element(2, erlang:process_info(P, reductions)) end.`);
      return typeof r === 'number' ? r : undefined;
    };
    const first = await waitFor(reductions, 60_000, 'the sampler to start', 100);
    await waitFor(async () => ((await reductions()) ?? 0) > first, 60_000, 'the sampler to take more samples', 100);
    stop.abort();
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as ProfileJson;
    assert.equal(j.endReason, 'stopped');
    assert.ok(j.stats.samples > 0 && Date.now() - t0 < 50_000, `${j.stats.samples} samples in ${Date.now() - t0} ms`);
    const saved = JSON.parse(readFileSync(j.session, 'utf8')) as { endReason: string };
    assert.equal(saved.endReason, 'stopped');
    await assertClean(demo, []);
  });

  it('refuses an unknown name, a dead pid and a bad option with clear messages', async () => {
    const unknown = await cli(['profile', 'Demo.NoSuchWorker', ...conn], dir);
    assert.equal(unknown.code, 1, 'not found once attached');
    assert.match(unknown.stderr, /no process is registered as Demo\.NoSuchWorker on /);
    // A mistyped name adds no atom to the node.
    assert.ok(isAtom(await demo.eval(`try binary_to_existing_atom(<<"Elixir.Demo.NoSuchWorker">>, utf8), created catch error:badarg -> absent end.`), 'absent'));
    const dead = await cli(['profile', '<0.9999.0>', ...conn], dir);
    assert.equal(dead.code, 1);
    assert.match(dead.stderr, /process <0\.9999\.0> is not alive on /);
    const both = await cli(['profile', 'Demo.PricingWorker', '--top', '2', ...conn], dir);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /name one process .* or give --top K/);
  });
});

describe('profile of a process that exits', function () {
  this.timeout(120_000);
  let node: TestNode;
  let dir: string;

  before(async () => {
    node = await startNode();
    await node.loadModule(`
-module(bl_doomed).
-export([start/1]).
start(Ms) -> P = spawn(fun() -> End = erlang:monotonic_time(millisecond) + Ms, loop(End, 1) end), register(bl_doomed, P), P.
loop(End, N) ->
  case erlang:monotonic_time(millisecond) >= End of
    true -> exit({shutdown, done_working});
    false -> loop(End, lists:foldl(fun(X, A) -> (X + A) rem 7919 end, N, lists:seq(1, 100)))
  end.
`);
    dir = mkdtempSync(path.join(tmpdir(), 'bl-profile-'));
  });
  after(async () => {
    await node?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the circuit breaker ends a profile whose run queue stays over its limit, keeping the samples', async () => {
    await node.eval(`bl_doomed:start(20000), ok.`);
    const a = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local', grants: { allowProbe: true } });
    try {
      await a.loadProbe();
      const targets = await resolveTargets(a, ['bl_doomed']);
      // A limit below any run queue: the breaker trips on its third check (every 100 ms).
      const r = await runProfile(a, targets, { durationMs: 15_000, hz: 97, breaker: { runQueue: -1, checkMs: 100 } });
      assert.equal(r.endReason, 'breaker');
      assert.match(r.endDetail ?? '', /^run_queue \d+ over limit -1$/);
      assert.ok(r.profile.durationMs < 10_000, `ended early (${r.profile.durationMs} ms)`);
      assert.ok(r.profile.stats.samples > 0, 'the samples so far are kept');
    } finally {
      await node.eval(`case whereis(bl_doomed) of undefined -> ok; P -> exit(P, kill), ok end.`);
      await a.detach();
    }
    await assertClean(node, [['bl_doomed', 'loop', 2]]);
  });

  for (const mode of ['probe', 'rpc'] as const) {
    it(`ends the profile with a clear message and the samples so far (${mode})`, async () => {
      await node.eval(`bl_doomed:start(6000), ok.`);
      const conn = ['--node', node.node, '--cookie-file', node.cookieFile];
      const r = await cli(['profile', 'bl_doomed', ...conn, '--duration', '20', '--json', ...(mode === 'probe' ? ['--allow-probe'] : ['--hz', '20'])], dir);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.stdout) as ProfileJson;
      assert.equal(j.endReason, 'process_down');
      assert.match(j.endDetail ?? '', mode === 'probe' ? /<0\.\d+\.0> exited: \{shutdown,done_working\}/ : /<0\.\d+\.0> exited: \{shutdown,done_working\}/);
      assert.ok(j.stats.samples >= 5, String(j.stats.samples));
      assert.equal(j.processes[0]?.exited !== undefined, true);
      assert.ok(j.bySelf.some((f) => f.name.startsWith('fn in bl_doomed:loop/2') || f.name.startsWith('lists:')), j.bySelf.map((f) => f.name).join(', '));
      // The text says so too.
      const saved = await cli(['session', 'show', j.session], dir);
      assert.match(saved.stdout, /ended: process_down \(<0\.\d+\.0> exited: /);
      await assertClean(node, [['bl_doomed', 'loop', 2]]);
    });
  }
});
