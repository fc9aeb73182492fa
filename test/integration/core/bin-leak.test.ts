// recon's bin_leak our way (src/core/runs/bin-leak.ts, `beam-lens bin-leak`): on a plain node with
// a fixture module, a process holding binaries it no longer uses (received in a message, then idle:
// nothing collects it) and one keeping binaries in its state. Consent, bounds, cancellation, the
// per-process numbers against erlang:memory(binary), the audit log, and nothing loaded afterwards.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Atom, type Term } from '../../../src/etf';
import { connect } from '../../../src/erldist';
import { Attachment } from '../../../src/core/attach/attachment';
import { collectBinaryHolders } from '../../../src/core/runs/bin-leak';
import { applyBinaryCollections, verdictOf } from '../../../src/core/findings/binary-gc';
import { BeamLensError } from '../../../src/errors';
import { startNode, waitFor, type TestNode } from '../harness';
import { runCli } from '../cli-runner';

const root = path.join(__dirname, '../../..');
const MiB = 1024 * 1024;

// binleak_router: gets 12 uploads of 1 MiB in one message from a short-lived reader, checksums
// them and waits: it allocates nothing more, so it is not collected and holds all 12.
// binleak_keeper: keeps 6 blobs of 1 MiB in its state (a collection frees nothing).
const FIXTURE = `
-module(binleak_fixture).
-export([start/0, refill/0, router/0, keeper/1]).
start() ->
    register(binleak_keeper, spawn(fun() -> binleak_fixture:keeper([binary:copy(<<7>>, 1048576) || _ <- lists:seq(1, 6)]) end)),
    refill().
%% A fresh router each time (an old one is stopped), fed one batch.
refill() ->
    case whereis(binleak_router) of undefined -> ok; Old -> unregister(binleak_router), exit(Old, kill) end,
    R = spawn(fun binleak_fixture:router/0),
    register(binleak_router, R),
    spawn(fun() -> R ! {uploads, [binary:copy(<<I>>, 1048576) || I <- lists:seq(1, 12)]} end),
    ok.
router() ->
    receive {uploads, L} -> _ = lists:foldl(fun(B, A) -> erlang:crc32(A, B) end, 0, L), router() end.
keeper(Blobs) -> receive stop -> Blobs end.
`;

const HELD = `case erlang:process_info(whereis(binleak_router), binary) of {binary, Bs} -> lists:sum([S || {_, S, _} <- Bs]) end.`;
const LOADED = `lists:sort([M || {M, _} <- code:all_loaded()]).`;

describe('bin-leak: forced collection of the top binary holders', function () {
  this.timeout(120_000);
  let node: TestNode;
  let modules: Term;
  const attach = async (grants: { allowGc?: boolean }): Promise<Attachment> => new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local', grants });
  const filled = (): Promise<boolean> => waitFor(async () => (await node.eval(HELD)) === 12 * MiB, 10_000, 'the router to hold the 12 uploads');

  before(async () => {
    if (!existsSync(path.join(root, 'dist/cli.js'))) execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    node = await startNode();
    await node.loadModule(FIXTURE);
    await node.eval(`binleak_fixture:start().`);
    await filled();
    modules = await node.eval(LOADED);
  });
  after(async () => node?.stop());

  it('without consent: refused, naming --allow-gc, and nothing collected', async () => {
    const s = await attach({});
    try {
      await assert.rejects(collectBinaryHolders(s), (e: unknown) => e instanceof BeamLensError && e.kind === 'consentRequired' && /--allow-gc/.test(e.message));
      assert.equal(await node.eval(HELD), 12 * MiB);
    } finally {
      await s.detach();
    }
  });

  it('bad bounds get a usage error before anything runs', async () => {
    const s = await attach({ allowGc: true });
    try {
      await assert.rejects(collectBinaryHolders(s, { top: 0 }), (e: unknown) => e instanceof BeamLensError && e.kind === 'usage' && /from 1 to 50/.test(e.message));
      await assert.rejects(collectBinaryHolders(s, { timeLimitMs: 10 }), (e: unknown) => e instanceof BeamLensError && e.kind === 'usage');
      assert.equal(await node.eval(HELD), 12 * MiB);
    } finally {
      await s.detach();
    }
  });

  it('cancelled before the first collection: every holder is skipped, nothing collected', async () => {
    const s = await attach({ allowGc: true });
    try {
      const r = await collectBinaryHolders(s, { signal: AbortSignal.abort() });
      assert.equal(r.endReason, 'stopped');
      assert.equal(r.collected.length, 0);
      assert.ok(r.skipped.some((x) => x.who === 'binleak_router'), JSON.stringify(r.skipped));
      assert.equal(await node.eval(HELD), 12 * MiB);
    } finally {
      await s.detach();
    }
  });

  it('per process what it freed, matching erlang:memory(binary); garbage vs. kept; nothing loaded', async () => {
    const s = await attach({ allowGc: true });
    try {
      const r = await collectBinaryHolders(s, { top: 5 });
      assert.equal(r.endReason, 'completed');
      const router = r.collected.find((c) => c.name === 'binleak_router');
      const keeper = r.collected.find((c) => c.name === 'binleak_keeper');
      assert.ok(router && keeper, JSON.stringify(r.collected.map((c) => c.name)));
      assert.deepEqual(router.before, { count: 12, bytes: 12 * MiB });
      assert.deepEqual(router.after, { count: 0, bytes: 0 });
      assert.equal(router.droppedCount, 12);
      assert.equal(router.soleFreedBytes, 12 * MiB);
      // The node's own count drops by what the process alone referenced (the node is otherwise idle).
      const nodeDrop = router.node.before - router.node.after;
      assert.ok(Math.abs(nodeDrop - router.soleFreedBytes) < 256 * 1024, `node dropped ${nodeDrop}, process freed ${router.soleFreedBytes}`);
      assert.equal(verdictOf(router), 'garbage');
      assert.deepEqual(keeper.before, keeper.after);
      assert.equal(keeper.droppedBytes, 0);
      assert.equal(verdictOf(keeper), 'retained');
      assert.ok(r.binaryBefore - r.binaryAfter >= 12 * MiB - 256 * 1024, `${r.binaryBefore} → ${r.binaryAfter}`);
      // Ranked most bytes first.
      assert.equal(r.collected[0]?.name, 'binleak_router');
      const [f, ...rest] = applyBinaryCollections([], r);
      assert.equal(rest.length, 0, 'the keeper frees nothing: no finding of its own');
      assert.equal(f?.id, 'binary-gc:binleak_router');
      assert.match(f?.recommendation ?? '', /garbage_collect\(\)|hibernate/);
      assert.deepEqual(await node.eval(LOADED), modules, 'nothing loaded');
    } finally {
      await s.detach();
    }
  });

  it('CLI: `bin-leak --allow-gc` audited and saved; without --allow-gc exit 4', async () => {
    await node.eval(`binleak_fixture:refill().`);
    await filled();
    const cwd = mkdtempSync(path.join(tmpdir(), 'beam-lens-binleak-'));
    try {
      const conn = ['--node', node.node, '--cookie-file', node.cookieFile];
      const refused = await runCli(['bin-leak', ...conn], { cwd });
      assert.equal(refused.code, 4, refused.stderr);
      assert.match(refused.stderr, /--allow-gc/);
      const bad = await runCli(['bin-leak', ...conn, '--allow-gc', '--top', '99'], { cwd });
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /--top must be a whole number from 1 to 50/);
      const r = await runCli(['bin-leak', ...conn, '--allow-gc', '--top', '3', '--json'], { cwd });
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { session: string; collected: Array<{ name: string | null; droppedBytes: number }>; verdicts: Record<string, string>; findings: Array<{ id: string }> };
      assert.equal(out.collected.find((c) => c.name === 'binleak_router')?.droppedBytes, 12 * MiB);
      assert.ok(out.findings.some((f) => f.id === 'binary-gc:binleak_router'));
      assert.ok(existsSync(out.session));
      const audit = readFileSync(path.join(cwd, '.beam-lens/audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; outcome: string });
      assert.deepEqual(audit.map((a) => `${a.action}:${a.outcome}`), ['bin-leak start:refused', 'bin-leak start:requested', 'bin-leak end:completed']);
      const text = await runCli(['bin-leak', ...conn, '--allow-gc', '--top', '2'], { cwd });
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /binleak_keeper .* retained/);
      assert.deepEqual(await node.eval(LOADED), modules, 'nothing loaded');
      assert.equal(await node.eval(`is_pid(whereis(binleak_keeper)) andalso is_pid(whereis(binleak_router)).`), Atom.of('true'));
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
