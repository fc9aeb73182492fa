import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Atom } from '../../../src/etf';
import { shortHost, startNode, waitFor, type TestNode } from '../harness';
import { runCli, type CliRun } from '../cli-runner';

const root = path.join(__dirname, '../../..');
const bin = path.join(root, 'bin/beam-lens');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const run = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> => runCli(args, { env });

describe('beam-lens CLI', function () {
  this.timeout(180_000);
  let node: TestNode;
  let conn: string[];

  before(async () => {
    if (!existsSync(path.join(root, 'dist/cli.js'))) execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    node = await startNode();
    conn = ['--node', node.node, '--cookie-file', node.cookieFile];
  });
  after(async () => node?.stop());

  it('nodes --json lists the node registered in EPMD', async () => {
    const r = await run(['nodes', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { nodes: Array<{ name: string; node: string; port: number }> };
    const me = out.nodes.find((n) => n.name === node.name);
    assert.equal(me?.port, node.port);
    assert.equal(me?.node, `${node.name}@${shortHost()}`);
  });

  it('ping --json reports OTP release, ERTS version and round trip', async () => {
    const r = await run(['ping', ...conn, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(out.node, node.node);
    assert.match(String(out.otpRelease), /^\d+$/);
    assert.match(String(out.ertsVersion), /^\d+\.\d+/);
    // A positive figure in ms (not s or µs); the bound has room for a loaded machine.
    assert.ok(typeof out.rttMs === 'number' && out.rttMs > 0 && out.rttMs < 10_000, String(out.rttMs));
    const text = await run(['ping', ...conn]);
    assert.match(text.stdout, new RegExp(`${node.node}: OTP \\d+, ERTS [\\d.]+, rpc round trip [\\d.]+ ms`));
  });

  it('exit 3 for a wrong cookie or an unknown node; the cookie never printed', async () => {
    const secret = 'wrong-cookie-value-xyz';
    const r = await run(['ping', '--node', node.node, '--cookie', secret]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /rejected the cookie/);
    assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret));
    const missing = await run(['ping', '--node', `nobody@${shortHost()}`, '--cookie-file', node.cookieFile]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /no node named nobody on .*; nodes there: .*/);
  });

  it('exit 1 (not 3) for a timeout after attaching; 3 for a node that goes down mid-run', async () => {
    const doomed = await startNode();
    try {
      const hidden = async (): Promise<number> => Number(String(await doomed.eval('length(nodes(hidden)).')));
      const before = await hidden(); // our own admin connection
      const watch = (): Promise<Run> => run(['mailboxes', '--node', doomed.node, '--cookie-file', doomed.cookieFile, '--duration', '120', '--interval', '200']);
      // The node stops answering mid-run (SIGSTOP): an rpc times out, which is a failure (1), not "cannot connect" (3).
      const frozen = watch();
      await waitFor(async () => (await hidden()) > before, 30_000, 'the CLI to attach');
      // Freeze it once the CLI samples queues every 200 ms (short rpc timeouts), not during its
      // first snapshot of every process (a long one): wait until it has sent 30 KB of requests.
      const received = async (): Promise<number> =>
        Number(String(await doomed.eval("lists:sum([case erlang:port_info(P, input) of {input, N} -> N; _ -> 0 end || {N0, P} <- erlang:system_info(dist_ctrl), lists:member(N0, nodes(hidden)), is_port(P), N0 =/= Admin]).", { Admin: Atom.of((await doomed.admin()).localName) })));
      await waitFor(async () => (await received()) > 30_000, 30_000, 'the CLI to sample queues', 100);
      doomed.process.kill('SIGSTOP');
      const timedOut = await frozen;
      doomed.process.kill('SIGCONT');
      assert.equal(timedOut.code, 1, timedOut.stderr);
      assert.match(timedOut.stderr, /did not answer within/);
      // The node goes away mid-run.
      await waitFor(async () => (await hidden()) === before, 30_000, 'the first CLI to be gone');
      const lost = watch();
      await waitFor(async () => (await hidden()) > before, 30_000, 'the CLI to attach');
      await doomed.stop();
      const r = await lost;
      assert.equal(r.code, 3, r.stderr);
      // Mid-rpc or between two samples: either way the message says the node went down.
      assert.match(r.stderr, new RegExp(`beam-lens: (not connected to ${doomed.node} \\()?node ${doomed.node} went down`));
    } finally {
      doomed.process.kill('SIGCONT');
      await doomed.stop();
    }
  });

  it('exit 2 for usage errors, with what to do', async () => {
    const noNode = await run(['ping']);
    assert.equal(noNode.code, 2);
    assert.match(noNode.stderr, /--node NAME is required/);
    const typo = await run(['processes', ...conn, '--srot', 'memory']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /did you mean --sort\?/);
    const badSort = await run(['processes', ...conn, '--sort', 'size']);
    assert.equal(badSort.code, 2);
    assert.match(badSort.stderr, /--sort must be one of memory, reductions, mailbox, reduction-rate/);
    assert.equal((await run(['frobnicate'])).code, 2);
    const noCookie = await run(['ping', '--node', node.node, '--cookie-file', '/nonexistent/cookie']);
    assert.equal(noCookie.code, 2);
    assert.match(noCookie.stderr, /cookie file \/nonexistent\/cookie does not exist/);
  });

  it('processes --json keeps the documented keys', async () => {
    const r = await run(['processes', ...conn, '--sort', 'reductions', '--limit', '5', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { total: number; sort: string; rows: Array<Record<string, unknown>> };
    assert.equal(out.sort, 'reductions');
    assert.ok(out.total > 10);
    assert.equal(out.rows.length, 5);
    for (const row of out.rows) {
      assert.deepEqual(Object.keys(row).sort(), ['currentFunction', 'initialCall', 'label', 'memory', 'messageQueueLen', 'module', 'name', 'pid', 'reductions']);
      assert.match(String(row.pid), /^<0\.\d+\.\d+>$/);
    }
  });

  it('tree --json follows the TreeNode contract', async () => {
    const r = await run(['tree', ...conn, '--app', 'kernel', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { applications: Array<{ name: string; supervisor: Record<string, unknown> | null }> };
    const kernel = out.applications[0];
    assert.equal(kernel?.name, 'kernel');
    assert.equal(kernel?.supervisor?.type, 'supervisor');
    assert.equal(kernel?.supervisor?.strategy, 'one_for_all');
    assert.ok(Array.isArray(kernel?.supervisor?.children));
    assert.equal(typeof kernel?.supervisor?.childCount, 'number');
  });

  it('overview, ports, ets and process print tables that fit 100 columns', async () => {
    for (const args of [['overview'], ['ports'], ['ets'], ['processes', '--sort', 'mailbox'], ['tree']]) {
      const r = await run([...args, ...conn]);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      const wide = r.stdout.split('\n').filter((l) => l.length > 100);
      assert.deepEqual(wide, [], `${args.join(' ')} has lines over 100 columns`);
      assert.ok(!r.stdout.includes('\x1b['), 'no colors when NO_COLOR is set or not a terminal');
    }
  });

  it('tracing needs consent: exit 4 with exactly what to add; refused patterns are usage errors', async () => {
    const noTrace = await run(['hot', ...conn, '--duration', '1']);
    assert.equal(noTrace.code, 4);
    assert.match(noTrace.stderr, /add --allow-trace/);
    const noProbe = await run(['trace', 'lists:seq/2', ...conn, '--allow-trace']);
    assert.equal(noProbe.code, 4);
    assert.match(noProbe.stderr, /add --allow-probe/);
    const prod = await run(['monitor', ...conn, '--env', 'production', '--allow-trace', '--allow-probe']);
    assert.equal(prod.code, 4);
    assert.match(prod.stderr, new RegExp(`--confirm-node ${node.node}`));
    const everything = await run(['trace', 'lists:_/1', ...conn, '--allow-trace', '--allow-probe']);
    assert.equal(everything.code, 2);
    const stdlib = await run(['hot', ...conn, '--module', 'lists', '--duration', '1', '--allow-trace', '--allow-probe']);
    assert.equal(stdlib.code, 2, stdlib.stderr);
    assert.match(stdlib.stderr, /refused/);
  });

  it('mailboxes --json keeps the documented keys and saves a session that session show reopens', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bl-mbox-'));
    try {
      const file = path.join(dir, 's.json');
      const r = await run(['mailboxes', ...conn, '--duration', '1', '--save', file, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { rows: Array<Record<string, unknown>> };
      for (const row of out.rows) for (const k of ['pid', 'name', 'messageQueueLen', 'growthPerSec']) assert.ok(k in row, k);
      const shown = await run(['session', 'show', file]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.match(shown.stdout, /mailboxes session .* ended: completed/);
      const bad = await run(['session', 'show', path.join(dir, 'missing.json')]);
      assert.equal(bad.code, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('report writes Markdown with the required sections', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bl-report-'));
    try {
      const file = path.join(dir, 'r.md');
      const r = await run(['report', ...conn, '--duration', '2', '--out', file]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /report written to/);
      const md = readFileSync(file, 'utf8');
      for (const h of ['## Diagnostic summary', '## Findings', '## Recommended changes', '## Risk & validation plan']) assert.ok(md.includes(h), h);
      assert.ok(!md.includes(node.cookieText), 'no cookie in the report');
      // Memory by type is always charted: its SVG next to the Markdown, linked as an image.
      assert.ok(readFileSync(path.join(dir, 'r.charts/memory.svg'), 'utf8').startsWith('<?xml'), 'memory chart written');
      assert.ok(md.includes('](r.charts/memory.svg)'), 'memory chart linked');
      // The saved session carries the report as a typed document (what `session show` can render).
      const sessionFile = /session saved in (.+)\)$/m.exec(r.stdout)?.[1] ?? '';
      const saved = JSON.parse(readFileSync(sessionFile, 'utf8')) as { result: { report?: { version?: unknown; node?: unknown; sections?: Array<{ id?: unknown }> } } };
      rmSync(sessionFile, { force: true });
      assert.equal(saved.result.report?.version, 1);
      assert.equal(saved.result.report?.node, node.node);
      assert.deepEqual(saved.result.report?.sections?.map((x) => x.id), ['summary', 'findings', 'recommended-changes', 'risk-and-validation', 'appendix']);
      const noOut = await run(['report', ...conn]);
      assert.equal(noOut.code, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
