// Clusters from one entry node, against a real local cluster of four nodes sharing one cookie: the
// demo application on two, plain Erlang on two (one of them with another version of a test
// application). Members are reached through the entry node's own distribution and directly.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Atom } from '../../../src/etf';
import { ClusterView, clusterOverview, clusterTopProcesses, type ClusterOverview } from '../../../src/core/cluster/cluster';
import { connect } from '../../../src/erldist';
import { Attachment } from '../../../src/core/attach/attachment';
import { shortHost, startNode, waitFor, type TestNode } from '../harness';
import { clean } from '../target-state';
import { runCli, type CliRun } from '../cli-runner';

const root = path.join(__dirname, '../../..');
const bin = path.join(root, 'bin/beam-lens');

const run = (args: string[]): Promise<CliRun> => runCli(args);

/** An application with no code, only a version: which_applications/0 reports it once started. */
function appDir(vsn: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'beam-lens-app-'));
  mkdirSync(path.join(dir, 'ebin'));
  writeFileSync(path.join(dir, 'ebin', 'bl_cluster_app.app'), `{application, bl_cluster_app, [{vsn, "${vsn}"}, {modules, []}, {registered, []}, {applications, [kernel, stdlib]}]}.\n`);
  return path.join(dir, 'ebin');
}

describe('clusters from one entry node (four real nodes)', function () {
  this.timeout(240_000);
  const cookieText = randomBytes(16).toString('hex');
  const dirs: string[] = [];
  let demo1: TestNode;
  let demo2: TestNode;
  let plain1: TestNode;
  let plain2: TestNode;
  let entry: Attachment;

  before(async () => {
    if (!existsSync(path.join(root, 'dist/cli.js'))) execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    const v1 = appDir('1.0.0');
    const v2 = appDir('1.1.0');
    dirs.push(path.dirname(v1), path.dirname(v2));
    const demo = { command: { file: 'test/fixtures/demo/start.sh', args: (name: string, cookie: string) => [name, cookie] }, cookieText };
    [demo1, demo2, plain1, plain2] = await Promise.all([
      startNode(demo),
      startNode(demo),
      startNode({ cookieText, args: ['-pa', v1], erlangEval: 'application:start(bl_cluster_app).' }),
      startNode({ cookieText, args: ['-pa', v2], erlangEval: 'application:start(bl_cluster_app).' }),
    ]);
    for (const d of [demo1, demo2]) {
      await waitFor(async () => (await d.eval(`is_pid(whereis('Elixir.Demo.EventSink')).`)) === Atom.of('true'), 60_000, `${d.node}'s demo application`);
    }
    // A full mesh: the entry connects to all, and transitive connection does the rest.
    for (const other of [demo2, plain1, plain2]) await demo1.eval(`true = net_kernel:connect_node('${other.node}').`);
    await waitFor(async () => {
      for (const n of [demo1, demo2, plain1, plain2]) {
        const seen = (await n.eval('length(nodes()).')) as number;
        if (seen !== 3) return false;
      }
      return true;
    }, 20_000, 'a full mesh of four nodes');
    entry = new Attachment(await connect({ node: demo1.node, cookie: demo1.cookie, host: shortHost(), timeoutMs: 5000 }), { env: 'local' });
  });

  after(async () => {
    await entry?.detach();
    await Promise.all([demo1, demo2, plain1, plain2].map((n) => n?.stop()));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const byNode = (o: ClusterOverview, node: string) => o.nodes.find((n) => n.node === node);

  it('gives an overview of every member through the entry node, with the version drift finding', async () => {
    const view = await ClusterView.open(entry, { via: 'entry', timeoutMs: 5000 });
    const o = await clusterOverview(view);
    await view.close();
    assert.equal(o.entry, demo1.node);
    assert.deepEqual(o.nodes.map((n) => n.node).sort(), [demo1, demo2, plain1, plain2].map((n) => n.node).sort());
    for (const n of o.nodes) {
      assert.equal(n.status, 'ok', `${n.node}: ${n.error}`);
      assert.equal(n.otpRelease, '25');
      assert.equal(n.connectedNodes?.length, 3, `${n.node} sees ${n.connectedNodes?.join(', ')}`);
      assert.ok((n.processCount ?? 0) > 30 && (n.memoryTotal ?? 0) > 1_000_000);
    }
    // Each number against the member's own answer.
    const plainCount = (await plain1.eval('erlang:system_info(process_count).')) as number;
    assert.ok(Math.abs((byNode(o, plain1.node)?.processCount ?? 0) - plainCount) <= 5, `${byNode(o, plain1.node)?.processCount} vs ${plainCount}`);
    assert.ok(o.topology.every((e) => e.aSeesB === true && e.bSeesA === true), 'full mesh');
    const drift = o.findings.find((f) => f.id === 'version-drift:app:bl_cluster_app');
    assert.ok(drift, o.findings.map((f) => f.id).join(', '));
    assert.match(drift.evidence.join('\n'), /1\.0\.0: .*\n?.*1\.1\.0: /s);
    assert.deepEqual([...drift.nodes].sort(), [plain1.node, plain2.node].sort());
    assert.ok(!o.findings.some((f) => f.rule === 'cluster-mesh'), 'no mesh finding on a full mesh');
  });

  it('merges the top N by mailbox across members: the growing sinks of both demo nodes', async () => {
    const view = await ClusterView.open(entry, { via: 'entry', timeoutMs: 10_000 });
    const page = await clusterTopProcesses(view, 'mailbox', 5);
    await view.close();
    assert.equal(page.rows.length, 5);
    assert.ok(page.members.every((m) => m.status === 'ok'));
    const sinks = page.rows.filter((r) => r.name === 'Elixir.Demo.EventSink').map((r) => r.node).sort();
    assert.deepEqual(sinks, [demo1.node, demo2.node].sort(), JSON.stringify(page.rows.map((r) => [r.node, r.name, r.messageQueueLen])));
    for (let i = 1; i < page.rows.length; i++) assert.ok((page.rows[i - 1]?.messageQueueLen ?? 0) >= (page.rows[i]?.messageQueueLen ?? 0), 'sorted');
  });

  it('reports a frozen member as timeout within the deadline while the others answer', async () => {
    const pid = plain2.process.pid as number;
    process.kill(pid, 'SIGSTOP');
    try {
      // The live members must answer within the deadline on a loaded machine (the demo nodes are
      // busy by design): 5 s, not the 1.5 s a quiet machine would do with.
      const view = await ClusterView.open(entry, { via: 'entry', timeoutMs: 5000 });
      const t0 = Date.now();
      const o = await clusterOverview(view);
      const elapsed = Date.now() - t0;
      await view.close();
      assert.equal(byNode(o, plain2.node)?.status, 'timeout', JSON.stringify(byNode(o, plain2.node)));
      assert.match(byNode(o, plain2.node)?.error ?? '', /did not answer within 5000 ms/);
      for (const n of [demo1, demo2, plain1]) assert.equal(byNode(o, n.node)?.status, 'ok', JSON.stringify(byNode(o, n.node)));
      // Bounded by the deadline, not by the frozen member (which would never answer).
      assert.ok(elapsed < 5000 + 20_000, `the overview took ${elapsed} ms`);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });

  it('reports a member that goes down mid fan-out and keeps the others', async () => {
    const extra = await startNode({ cookieText });
    await demo1.eval(`true = net_kernel:connect_node('${extra.node}').`);
    const view = await ClusterView.open(entry, { via: 'entry', timeoutMs: 10_000 });
    assert.ok(view.nodes.includes(extra.node));
    // Every member sleeps 3 s (long enough that the kill lands first on a loaded machine); the
    // extra node is killed meanwhile.
    const answers = view.ask((session) => session.connection.rpc('timer', 'sleep', [3000]));
    setTimeout(() => extra.process.kill('SIGKILL'), 200);
    const got = await answers;
    await view.close();
    await extra.stop();
    const lost = got.find((a) => a.node === extra.node);
    assert.equal(lost?.status, 'unreachable', JSON.stringify(lost));
    assert.equal(got.filter((a) => a.status === 'ok').length, 4);
  });

  it('finds the partial mesh after two members disconnect', async () => {
    await plain1.eval(`erlang:disconnect_node('${plain2.node}').`);
    try {
      // global reacts to the lost connection asynchronously (and may cut more connections):
      // poll until the members' views show the partition.
      const o = await waitFor(async () => {
        const view = await ClusterView.open(entry, { via: 'entry', timeoutMs: 5000 });
        const r = await clusterOverview(view);
        await view.close();
        return r.findings.some((f) => f.rule === 'cluster-mesh') ? r : false;
      }, 15_000, 'a cluster-mesh finding', 200);
      // OTP 25's global (prevent_overlapping_partitions) reacts by cutting more connections of
      // plain1 and may reconnect some: whichever members answer say they lack plain1 (or it them).
      const mesh = o.findings.filter((f) => f.rule === 'cluster-mesh');
      assert.ok(mesh.some((f) => f.nodes.includes(plain1.node)), o.findings.map((f) => f.title).join('\n'));
      assert.ok(mesh.every((f) => f.evidence.length > 0 && f.recommendation.includes('net_kernel:connect_node')));
      assert.ok(o.topology.some((e) => (e.a === plain1.node || e.b === plain1.node) && (e.aSeesB === false || e.bSeesA === false)), JSON.stringify(o.topology));
      assert.ok(o.nodes.some((n) => n.node === plain1.node), 'a member the entry lost is still listed');
    } finally {
      for (const other of [demo1, demo2, plain2]) await plain1.eval(`net_kernel:connect_node('${other.node}').`);
      await waitFor(async () => {
        for (const n of [demo1, demo2, plain1, plain2]) if (((await n.eval('length(nodes()).')) as number) !== 3) return false;
        return true;
      }, 20_000, 'the full mesh again');
    }
  });

  it('beam-lens cluster --json, through the entry and directly, agree on the members', async () => {
    const conn = ['--node', demo1.node, '--cookie-file', demo1.cookieFile];
    const viaEntry = await run(['cluster', ...conn, '--json']);
    assert.equal(viaEntry.code, 0, viaEntry.stderr);
    const direct = await run(['cluster', ...conn, '--via', 'direct', '--json']);
    assert.equal(direct.code, 0, direct.stderr);
    const a = JSON.parse(viaEntry.stdout) as ClusterOverview;
    const b = JSON.parse(direct.stdout) as ClusterOverview;
    assert.equal(a.via, 'entry');
    assert.equal(b.via, 'direct');
    for (const o of [a, b]) {
      assert.equal(o.nodes.length, 4);
      assert.ok(o.nodes.every((n) => n.status === 'ok'), JSON.stringify(o.nodes));
    }
    assert.deepEqual(a.findings.map((f) => f.id).sort(), b.findings.map((f) => f.id).sort());
    const text = await run(['cluster', ...conn]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /NODE +STATUS +OTP/);
    assert.match(text.stdout, /4 nodes \(4 answered\) reached through /);
    assert.match(text.stdout, /Application bl_cluster_app runs in different versions/);
    const top = await run(['processes', ...conn, '--cluster', '--sort', 'mailbox', '--limit', '3', '--json']);
    assert.equal(top.code, 0, top.stderr);
    const rows = (JSON.parse(top.stdout) as { rows: Array<{ node: string }> }).rows;
    assert.equal(rows.length, 3);
    assert.ok(rows.every((r) => typeof r.node === 'string'));
  });

  it('findings --cluster: each member sampled over one window, the demo pathologies on both demo nodes, and the cluster findings', async () => {
    const conn = ['--node', demo1.node, '--cookie-file', demo1.cookieFile];
    const r = await run(['findings', ...conn, '--cluster', '--duration', '3', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const d = JSON.parse(r.stdout) as { nodes: Array<{ node: string; status: string; findings?: Array<{ id: string }> }>; clusterFindings: Array<{ id: string }> };
    assert.equal(d.nodes.length, 4);
    for (const demo of [demo1, demo2]) {
      const ids = d.nodes.find((n) => n.node === demo.node)?.findings?.map((f) => f.id) ?? [];
      assert.ok(ids.some((id) => id.startsWith('mailbox-growth:')), `${demo.node}: ${ids.join(', ')}`);
    }
    assert.ok(d.clusterFindings.some((f) => f.id === 'version-drift:app:bl_cluster_app'));
    const text = await run(['findings', ...conn, '--cluster', '--duration', '2']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /== cluster: \d+ findings/);
  });

  it('tree --cluster lists each member with its applications', async () => {
    const r = await run(['tree', '--node', demo1.node, '--cookie-file', demo1.cookieFile, '--cluster', '--app', 'kernel', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const t = JSON.parse(r.stdout) as { nodes: Array<{ node: string; status: string; applications?: Array<{ name: string }> }> };
    assert.equal(t.nodes.length, 4);
    for (const n of t.nodes) assert.deepEqual(n.applications?.map((a) => a.name), ['kernel'], n.node);
  });

  const COMPUTE: [string, string, number] = ['Elixir.Demo.Pricing', 'compute', 2];

  it('hot --cluster: one consent, counts on every member, every node clean afterwards', async () => {
    const conn = ['--node', demo1.node, '--cookie-file', demo1.cookieFile];
    const dir = mkdtempSync(path.join(tmpdir(), 'beam-lens-cluster-hot-'));
    dirs.push(dir);
    const refused = await run(['hot', ...conn, '--cluster', '--duration', '2', '--allow-probe', '--audit', path.join(dir, 'audit.log'), '--save', path.join(dir, 's0.json')]);
    assert.equal(refused.code, 4, refused.stderr);
    for (const n of [demo1, demo2, plain1, plain2]) await clean(n, [COMPUTE]);
    const r = await run(['hot', ...conn, '--cluster', '--duration', '2', '--allow-trace', '--allow-probe', '--json', '--audit', path.join(dir, 'audit.log'), '--save', path.join(dir, 's1.json')]);
    assert.equal(r.code, 0, r.stderr);
    const hot = JSON.parse(r.stdout) as { nodes: Array<{ node: string; status: string; error?: string }>; functions: Array<{ node: string; module: string; function: string }> };
    assert.equal(hot.nodes.length, 4);
    for (const d of [demo1, demo2]) assert.equal(hot.nodes.find((n) => n.node === d.node)?.status, 'ok', JSON.stringify(hot.nodes));
    // Plain nodes run no application of their own: said, not hidden.
    assert.match(hot.nodes.find((n) => n.node === plain1.node)?.error ?? '', /no application of its own/);
    const pricing = hot.functions.filter((f) => f.module === 'Elixir.Demo.Pricing').map((f) => f.node);
    assert.ok(pricing.includes(demo1.node) && pricing.includes(demo2.node), JSON.stringify(hot.functions.slice(0, 5)));
    // Audited per member: a start and an end on every member's own line (the entry's is the run itself).
    const audit = readFileSync(path.join(dir, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { node: string; action: string; outcome: string; limits?: { cluster?: unknown } });
    for (const n of [demo1, demo2, plain1, plain2]) {
      const lines = audit.filter((e) => e.node === n.node && e.outcome !== 'refused');
      assert.deepEqual(lines.map((e) => e.action), ['hot start', 'hot end'], `${n.node}: ${JSON.stringify(lines)}`);
    }
    for (const n of [demo2, plain1, plain2]) {
      assert.ok(audit.some((e) => e.node === n.node && e.action === 'hot end' && e.limits?.cluster === demo1.node), `${n.node}'s run names the cluster's entry`);
    }
    assert.equal(audit.find((e) => e.node === plain1.node && e.action === 'hot end')?.outcome, 'error', 'a member that counted nothing ends as an error, said');
    for (const n of [demo1, demo2, plain1, plain2]) await clean(n, [COMPUTE]);
  });

  it('hot --cluster killed with SIGKILL mid-session: every member cleans itself', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'beam-lens-cluster-kill-'));
    dirs.push(dir);
    const child = spawn(bin, ['hot', '--node', demo1.node, '--cookie-file', demo1.cookieFile, '--cluster', '--duration', '60', '--allow-trace', '--allow-probe', '--audit', path.join(dir, 'audit.log'), '--save', path.join(dir, 's.json')], { cwd: root, stdio: 'ignore' });
    try {
      // Mid-session: the probe is on every member and counting has started on both demo nodes.
      await waitFor(async () => {
        for (const n of [demo1, demo2, plain1, plain2]) if ((await n.eval('code:is_loaded(beam_lens_probe).')) === Atom.of('false')) return false;
        for (const d of [demo1, demo2]) if (((await d.eval(`element(2, erlang:trace_info({'Elixir.Demo.Pricing', compute, 2}, call_count)).`)) as unknown) === Atom.of('false')) return false;
        return true;
      }, 60_000, 'the probe on every member and call counting on both demo nodes', 200);
    } finally {
      child.kill('SIGKILL');
    }
    // Each member's guardian sees our node go down and removes everything (5 s each; the four run
    // at once on a shared two-core machine).
    await Promise.all([demo1, demo2, plain1, plain2].map((n) => clean(n, [COMPUTE], 30_000)));
  });
});
