// Deeper runtime evidence on the demo node started with DEMO_EVIDENCE=1 (an atom leak, a growing
// process, a GC-heavy process, a labelled process, a one_for_all group over independent workers
// with a crash loop): scheduling and GC from microstate accounting, the supervision design
// review, crash reasons with consent — and the node exactly as it was afterwards.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Atom, type Term } from '../../../src/etf';
import { startNode, waitFor, type TestNode } from '../harness';
import { clean } from '../target-state';
import { runCli, type CliRun } from '../cli-runner';
import { data, startMcp, text } from '../mcp/client';

const root = path.join(__dirname, '../../..');
const bin = path.join(root, 'bin/beam-lens');

const run = (args: string[], cwd: string): Promise<CliRun> => runCli(args, { cwd });

interface JsonFinding {
  id: string;
  rule: string;
  severity: string;
  evidence: string[];
}

/**
 * What must be the same before and after: our modules and the compiler's (the demo itself loads
 * modules as it runs: an exception's module on its first crash), logger handlers, microstate
 * accounting (its state has no reader: switch it on, and off again at once when it was off).
 */
const STATE = `Ours = [M || {M, F} <- code:all_loaded(), is_list(F), lists:prefix("beam_lens", atom_to_list(M)) orelse string:find(F, "/compiler-") =/= nomatch],
  Msacc = case erlang:system_flag(microstate_accounting, true) of false -> erlang:system_flag(microstate_accounting, false), false; true -> true end,
  {lists:sort(Ours), lists:sort(logger:get_handler_ids()), Msacc}.`;

describe('deeper runtime evidence on the demo node (DEMO_EVIDENCE=1)', function () {
  this.timeout(240_000);
  let demo: TestNode;
  let cwd: string;
  let baseline: Term;

  before(async () => {
    if (!existsSync(path.join(root, 'dist/cli.js'))) execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    demo = await startNode({ command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie] }, env: { DEMO_EVIDENCE: '1' } });
    await waitFor(async () => (await demo.eval(`is_pid(whereis('Elixir.Demo.Evidence.Group')).`)) === Atom.of('true'), 60_000, 'the evidence pathologies');
    cwd = mkdtempSync(path.join(tmpdir(), 'beam-lens-evidence-'));
    baseline = await demo.eval(STATE);
  });
  after(async () => {
    await demo?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  const findings = async (extra: string[]): Promise<JsonFinding[]> => {
    const r = await run(['findings', '--node', demo.node, '--cookie-file', demo.cookieFile, '--duration', '4', '--json', ...extra], cwd);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { findings: JsonFinding[] }).findings;
  };

  it('read-only: GC-heavy process, supervision design review with the escalation path, and what crash reasons would need', async () => {
    const f = await findings([]);
    const ids = f.map((x) => x.id);
    assert.ok(ids.includes('gc-heavy:Demo.Evidence.GcChurner'), ids.join(', '));
    assert.ok(ids.includes('supervision-strategy:Demo.Evidence.Group'), ids.join(', '));
    assert.ok(ids.includes('supervision-intensity:Demo.Evidence.Group'), ids.join(', '));
    assert.ok(!ids.some((id) => id.startsWith('supervision-strategy:kernel')), 'OTP applications are not reviewed');
    // Its children that end do so by crashing or being shut down, its dynamic supervisor is seeded once, and no single process is saturated.
    assert.deepEqual(ids.filter((id) => /^supervision-(restart-type|dynamic-growth|partition):/.test(id)), []);
    const storm = f.find((x) => x.id === 'restart-storm:Demo.Flaky.Supervisor');
    assert.ok(storm, ids.join(', '));
    assert.ok(storm.evidence.some((e) => /^escalation: .*Demo\.Workers\.Supervisor .*the demo application stops/.test(e)), storm.evidence.join('\n'));
    assert.ok(storm.evidence.some((e) => /crash reasons: not gathered \(with --allow-trace --allow-probe/.test(e)), storm.evidence.join('\n'));
    assert.deepEqual(await demo.eval(STATE), baseline, 'loaded modules, logger handlers and microstate accounting as before');
  });

  it('with consent: the crash reason of the restarting children, and nothing left on the node', async () => {
    const f = await findings(['--allow-trace', '--allow-probe']);
    const storm = f.find((x) => x.id === 'restart-storm:Demo.Flaky.Supervisor');
    assert.ok(storm);
    assert.ok(
      storm.evidence.some((e) => /crash reasons seen by the supervisor over \d+\.\d s: RuntimeError "upstream inventory service returned 503" in Demo\.FlakyWorker\.handle_info\/2 \(lib\/demo\/workers\/flaky_worker\.ex:\d+\) × \d/.test(e)),
      storm.evidence.join('\n'),
    );
    await clean(demo, [['Elixir.Demo.Pricing', 'compute', 2]]);
    assert.deepEqual(await demo.eval(STATE), baseline, 'loaded modules, logger handlers and microstate accounting as before');
  });

  it('with --allow-gc: what the binary holders free when collected, as evidence with advice that fits', async () => {
    const f = await findings(['--allow-gc']);
    // It holds one or two batches (8 or 16 MiB): below the sampled binary-holder threshold it gets a binary-gc finding, above it the collection's lines go into its binary-holder finding.
    const uploads = f.find((x) => x.id === 'binary-gc:Demo.Evidence.Uploads') ?? f.find((x) => x.id === 'binary-holder:Demo.Evidence.Uploads');
    assert.ok(uploads, f.map((x) => x.id).join(', '));
    assert.ok(uploads.evidence.some((e) => /^forced GC \(--allow-gc\): it referenced \d+\.\d MiB in \d+ refc binaries, 0\.0 KiB in 0 after; dropped \d+ binaries/.test(e)), uploads.evidence.join('\n'));
    assert.match((uploads as unknown as { recommendation: string }).recommendation, /:erlang\.garbage_collect\(self\(\)\)|:hibernate/);
    // BlobCache keeps its blobs in its state: the sampled finding gets the collection's numbers and the advice for kept binaries.
    const cache = f.find((x) => x.id === 'binary-holder:Demo.BlobCache');
    assert.ok(cache, f.map((x) => x.id).join(', '));
    assert.ok(cache.evidence.some((e) => /^forced GC .*dropped 0 binaries/.test(e)), cache.evidence.join('\n'));
    assert.match((cache as unknown as { recommendation: string }).recommendation, /A forced collection freed little.*:binary\.copy\/1/);
    assert.deepEqual(await demo.eval(STATE), baseline, 'loaded modules, logger handlers and microstate accounting as before');
    // The report carries the same evidence.
    const r = await run(['report', '--node', demo.node, '--cookie-file', demo.cookieFile, '--duration', '2', '--allow-gc', '--out', 'gc-report.md'], cwd);
    assert.equal(r.code, 0, r.stderr);
    const md = readFileSync(path.join(cwd, 'gc-report.md'), 'utf8');
    assert.match(md, /Demo\.Evidence\.Uploads[\s\S]*forced GC \(--allow-gc\): it referenced/);
    assert.match(readFileSync(path.join(cwd, '.beam-lens/audit.log'), 'utf8'), /"action":"report start".*"gcBinaries":true/);
  });

  it('MCP binary_leak: the consent form (limits only lowered), per-process numbers; refused without a way to ask', async () => {
    const conn = ['--node', demo.node, '--cookie-file', demo.cookieFile];
    const mcp = await startMcp({ args: conn, elicit: () => ({ action: 'accept', content: { top: 3 } }) });
    try {
      const r = await mcp.call('binary_leak', { top: 5, timeLimitS: 20 });
      const d = data<{ top: number; session: { endReason: string }; collected: Array<{ name: string | null; droppedBytes: number; verdict: string }>; binaryBefore: number; binaryAfter: number }>(r);
      assert.equal(d.session.endReason, 'completed');
      // The form lowered the count to 3; fewer holders may be left after the collections of the tests before.
      assert.equal(d.top, 3, 'ran with the lowered count');
      assert.ok(d.collected.length >= 1 && d.collected.length <= 3, `${d.collected.length} collected`);
      assert.ok(d.collected.some((c) => c.name === 'Elixir.Demo.BlobCache' && c.verdict === 'retained'), text(r));
      assert.match(mcp.forms[0]?.message ?? '', /force a garbage collection of the 5 processes/);
      assert.doesNotMatch(mcp.forms[0]?.message ?? '', /probe/, 'nothing is loaded: the form does not speak of the probe');
    } finally {
      await mcp.close();
    }
    const plain = await startMcp({ args: conn });
    try {
      const r = await plain.call('binary_leak', {});
      assert.equal(r.isError, true);
      assert.match(text(r), /--allow-gc/);
    } finally {
      await plain.close();
    }
  });

  it('the labelled process is named by its label in the process table', async () => {
    const r = await run(['processes', '--node', demo.node, '--cookie-file', demo.cookieFile, '--sort', 'memory', '--limit', '1000', '--json'], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /orders\.csv/);
  });
});
