// Members reached through the entry node are left exactly as they were: a real cluster of three
// plain Erlang nodes where the members have neither `sys` nor erl_eval's helpers (erl_scan, ...)
// loaded; after cluster commands through the entry (the CLI) and after the editor's cluster view
// (members opened again when the membership changes, a member opened by itself while the view
// reads it), each member's erlang:loaded() is the set it had before, and no process of ours is
// left there. The test reads the members with plain rpc only (erlang:loaded/0, BIFs: nothing
// of the test is loaded there), and the cluster is joined by rpc on the entry (no -eval, no
// erl_eval on the members), so the comparison is exact.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Atom, ErlMap, type Term } from '../../../src/etf';
import { connect } from '../../../src/erldist';
import { Attachment } from '../../../src/core/attach/attachment';
import { memberThroughEntry } from '../../../src/core/cluster/cluster';
import { NodeCluster } from '../../../src/extension/cluster';
import { shortHost, startNode, waitFor, type TestNode } from '../harness';
import { bin, root, runCli } from '../cli-runner';
import { clean } from '../target-state';

/** The node's loaded modules, read by one rpc of a BIF (loads nothing). */
async function loaded(n: TestNode): Promise<Set<string>> {
  const list = (await (await n.admin()).rpc('erlang', 'loaded', [], { timeoutMs: 10_000 })) as Term[];
  return new Set(list.map((t) => (t instanceof Atom ? t.name : String(t))));
}

async function processCount(n: TestNode): Promise<number> {
  return (await (await n.admin()).rpc('erlang', 'system_info', [Atom.of('process_count')], { timeoutMs: 10_000 })) as number;
}

async function visible(n: TestNode): Promise<string[]> {
  return ((await (await n.admin()).rpc('erlang', 'nodes', [], { timeoutMs: 10_000 })) as Term[]).map((t) => (t instanceof Atom ? t.name : String(t))).sort();
}

/** The sum of every microstate accounting counter (they move only while accounting is on). */
async function msaccTotal(n: TestNode): Promise<number> {
  const threads = (await (await n.admin()).rpc('erlang', 'statistics', [Atom.of('microstate_accounting')], { timeoutMs: 10_000 })) as Term[];
  let total = 0;
  for (const t of threads) {
    const counters = t instanceof ErlMap ? t.getAtom('counters') : undefined;
    if (counters instanceof ErlMap) for (const [, v] of counters.entries) total += typeof v === 'number' ? v : Number(v);
  }
  return total;
}

/** Microstate accounting is off: its counters stand still between two reads. */
async function msaccOff(n: TestNode, withinMs: number): Promise<void> {
  let last = await msaccTotal(n);
  await waitFor(async () => {
    const now = await msaccTotal(n);
    const still = now === last;
    last = now;
    return still;
  }, withinMs, `microstate accounting off again on ${n.node}`, 300);
}

function diff(before: Set<string>, now: Set<string>): string {
  const appeared = [...now].filter((m) => !before.has(m)).sort();
  const gone = [...before].filter((m) => !now.has(m)).sort();
  return `appeared [${appeared.join(', ')}], gone [${gone.join(', ')}]`;
}

describe('cluster members reached through the entry are left as they were (three real nodes)', function () {
  this.timeout(180_000);
  const cookieText = randomBytes(16).toString('hex');
  let a: TestNode;
  let b: TestNode;
  let c: TestNode;
  let work: string;
  const members = (): TestNode[] => [b, c];
  const baseline = new Map<TestNode, { modules: Set<string>; processes: number }>();

  /** Each member's modules are exactly the baseline and its process count is back to it. */
  async function membersAsBefore(what: string, processesNow?: Map<TestNode, number>, which: TestNode[] = members()): Promise<void> {
    for (const m of which) {
      const first = baseline.get(m);
      assert.ok(first);
      const before = { modules: first.modules, processes: processesNow?.get(m) ?? first.processes };
      let last = '';
      await waitFor(
        async () => {
          const [mods, procs] = await Promise.all([loaded(m), processCount(m)]);
          last = `${diff(before.modules, mods)}; processes ${procs} (before ${before.processes})`;
          return mods.size === before.modules.size && [...mods].every((x) => before.modules.has(x)) && procs === before.processes;
        },
        10_000,
        `${m.node} as it was`,
        200,
      ).catch(() => assert.fail(`${what}: ${m.node} is not as it was: ${last}\n${m.output()}`));
    }
  }

  before(async () => {
    if (!existsSync(path.join(root, 'dist/cli.js'))) execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    [a, b, c] = await Promise.all([startNode({ cookieText }), startNode({ cookieText }), startNode({ cookieText })]);
    const admin = await a.admin();
    for (const o of [b, c]) assert.ok(((await admin.rpc('net_kernel', 'connect_node', [Atom.of(o.node)])) as Atom).name === 'true');
    await waitFor(async () => (await visible(b)).includes(c.node) && (await visible(c)).includes(b.node), 20_000, 'a full mesh of three nodes');
    // The entry too: the CLI's own connection to it is gone after each command.
    baseline.set(a, { modules: await loaded(a), processes: await processCount(a) });
    for (const m of members()) {
      const modules = await loaded(m);
      // The premise: what our zero-install work loads is not loaded on a plain member yet.
      for (const x of ['sys', 'erl_scan', 'erl_anno', 'erl_internal', 'ordsets']) assert.ok(!modules.has(x), `${x} not loaded on ${m.node} before`);
      baseline.set(m, { modules, processes: await processCount(m) });
    }
    work = mkdtempSync(path.join(tmpdir(), 'beam-lens-cluster-restore-'));
  });

  after(async () => {
    await Promise.all([a, b, c].map((n) => n?.stop()));
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('CLI tree, processes and report --cluster through the entry leave every member as it was', async () => {
    const conn = ['--node', a.node, '--cookie-file', a.cookieFile, '--cluster', '--via', 'entry'];
    const tree = await runCli(['tree', ...conn, '--json'], { cwd: work });
    assert.equal(tree.code, 0, tree.stderr);
    // The trees were read (supervisor state through sys:get_state on every member).
    assert.ok(JSON.parse(tree.stdout) !== null);
    await membersAsBefore('tree --cluster', undefined, [a, b, c]);
    const procs = await runCli(['processes', ...conn, '--sort', 'memory', '--limit', '5', '--json'], { cwd: work });
    assert.equal(procs.code, 0, procs.stderr);
    await membersAsBefore('processes --cluster', undefined, [a, b, c]);
    const report = await runCli(['report', ...conn, '--duration', '1', '--out', path.join(work, 'r.md'), '--json'], { cwd: work });
    assert.equal(report.code, 0, report.stderr);
    assert.ok((JSON.parse(report.stdout) as { nodes: Array<{ status: string }> }).nodes.every((n) => n.status === 'ok'), report.stdout);
    await membersAsBefore('report --cluster', undefined, [a, b, c]);
  });

  it('Ctrl-C of report --cluster mid-window: the work relayed to the members stops with it (no worker left running there)', async () => {
    const child = spawn(bin, ['report', '--node', a.node, '--cookie-file', a.cookieFile, '--cluster', '--duration', '40', '--out', path.join(work, 'stopped.md'), '--json'], {
      cwd: work,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
    try {
      // The window is running on every member: an evaluation of ours is a process there.
      await waitFor(async () => {
        for (const m of members()) if ((await processCount(m)) <= (baseline.get(m)?.processes ?? 0)) return false;
        return true;
      }, 30_000, 'sampling running on every member', 100);
      // The premise: microstate accounting is on for the window (its counters move).
      for (const n of [a, b, c]) {
        const t0 = await msaccTotal(n);
        await waitFor(async () => (await msaccTotal(n)) !== t0, 10_000, `microstate accounting on during the window on ${n.node}`, 100);
      }
      child.kill('SIGINT');
      const code = await exited;
      assert.ok(code === 0 || code === 130, `exit ${code}: ${stderr}`);
      // Well before the 40 s window would have ended on the members.
      await membersAsBefore('report --cluster stopped', undefined, [a, b, c]);
      // Microstate accounting, on for the window only, is off again everywhere (the entry too).
      for (const n of [a, b, c]) await msaccOff(n, 10_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('a member attached directly while the cluster view reads it through the entry, the view ending first: the member ends as it was', async () => {
    const entry = new Attachment(await connect({ node: a.node, cookie: a.cookie, host: shortHost(), timeoutMs: 5000 }), { env: 'local' });
    let direct: Attachment | undefined;
    try {
      const cluster = new NodeCluster(entry);
      await cluster.refreshOverview();
      assert.ok((await loaded(c)).has('erl_scan'), 'the view\'s work loaded erl_eval\'s helpers on the member');
      // "Attach Directly" from the cluster view: the member's record is the one from before the view.
      direct = new Attachment(await connect({ node: c.node, cookie: c.cookie, host: shortHost(), timeoutMs: 5000 }), { env: 'local' });
      assert.ok((await direct.tree()).length > 0);
      await cluster.close();
      assert.ok((await loaded(c)).has('erl_scan'), 'the view ended first: nothing taken away under the direct attachment');
      await direct.overview();
      await direct.detach();
      const removed = direct.modulesRestored?.removed ?? [];
      assert.ok(removed.includes('erl_scan') && removed.includes('sys'), JSON.stringify(direct.modulesRestored));
      await membersAsBefore('the cluster view closed, then the direct attachment detached');
    } finally {
      await direct?.detach();
      await entry.detach();
    }
  });

  it('the editor cluster view (opened again when a node joins, a member opened by itself meanwhile) leaves every member as it was', async () => {
    const entry = new Attachment(await connect({ node: a.node, cookie: a.cookie, host: shortHost(), timeoutMs: 5000 }), { env: 'local' });
    let d: TestNode | undefined;
    try {
      const cluster = new NodeCluster(entry);
      const first = await cluster.refreshOverview();
      assert.equal(first.nodes.filter((n) => n.status === 'ok').length, 3, JSON.stringify(first.nodes));
      // A member opened by itself through the entry (a tile clicked) reads its tree: sys on it.
      const member = memberThroughEntry(entry, c.node);
      const trees = await member.tree();
      assert.ok(trees.length > 0);
      assert.ok((await loaded(c)).has('sys'), 'reading the tree loaded sys on the member (the premise of the check below)');
      // A node joins: the view is opened again for the new membership while the old one goes.
      d = await startNode({ cookieText });
      assert.equal(((await (await a.admin()).rpc('net_kernel', 'connect_node', [Atom.of(d.node)])) as Atom).name, 'true');
      const joined = d.node;
      await waitFor(async () => (await cluster.refreshOverview()).nodes.some((n) => n.node === joined && n.status === 'ok'), 20_000, `${joined} in the cluster view`);
      await waitFor(async () => (await visible(b)).includes(joined) && (await visible(c)).includes(joined), 20_000, `${joined} connected to every member`);
      // The connection to the joined node is processes of its own on each member (nothing of ours runs now).
      const withJoined = new Map<TestNode, number>();
      for (const m of members()) withJoined.set(m, await processCount(m));
      await member.detach();
      await cluster.refreshOverview();
      await cluster.close();
      // Checked with the joined node still there: its leaving makes global warn on the members
      // (overlapping partitions), and logging that loads io_lib_format & co. (the test's doing).
      await membersAsBefore('the editor cluster view closed', withJoined);
      // The member detached while the cluster view still read it took nothing away under it; the view's close did.
      assert.equal(member.modulesRestored, null);
      const restored = new Map(entry.relayedModulesRestored.map((r) => [r.node, r.restored]));
      for (const m of members()) assert.ok(restored.get(m.node)?.removed.includes('erl_scan'), `${m.node}: ${JSON.stringify(restored.get(m.node))}`);
      assert.ok(restored.get(c.node)?.removed.includes('sys'), JSON.stringify(restored.get(c.node)));
      assert.equal(entry.relayedModulesRestored.filter((r) => r.node === c.node).length, 1, 'each member restored once');
    } finally {
      await entry.detach();
      await d?.stop();
    }
  });

  // Last: read with the harness's own evaluations (which load erl_eval's helpers, so not before the exact checks above).
  it('no trace flags, patterns, tracer or system monitor on any node afterwards', async () => {
    for (const n of [a, b, c]) await clean(n, [['erlang', 'send', 2], ['sys', 'get_state', 2]]);
  });
});
