// The cluster view in a real VS Code workbench (code-server) against a real cluster of three
// Erlang nodes sharing one cookie: attach to one of them, the sidebar's Cluster section lists
// every member with its state, Show Cluster opens the cluster webview with a tile per member and
// the cluster-wide top processes (a node column), a member's tile opens that member's view
// (reached through the entry), a row opens that process on its node, a cluster finding shows in the
// entry's Findings section and opens the cluster report at it, and detaching the entry
// leaves every member as it was (no module of ours or the compiler's, no hidden connection).
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Atom, type Term } from '../../src/etf';
import { startNode, uniqueName, type TestNode } from '../integration/harness';
import { ARTIFACTS, Workbench, until } from './driver';

const root = path.join(__dirname, '../..');
const vsix = process.env.BEAM_LENS_VSIX;

// Some work on each member, so the tiles and the process list have something to show: a
// registered cache holding binaries, and a queue process whose mailbox grows.
const WORK = `
register(order_cache, spawn(fun() -> Bins = [binary:copy(<<I:64>>, 2000) || I <- lists:seq(1, 200)], receive stop -> Bins end end)),
register(order_queue, spawn(fun() -> receive stop -> ok end end)),
[order_queue ! {job, I} || I <- lists:seq(1, 300)],
ok.`;

const STATE = `{lists:sort([M || {M, _} <- code:all_loaded()]), length(nodes(hidden)), code:is_loaded(beam_lens_probe)}.`;

interface NodeState {
  modules: string[];
  hidden: number;
  probe: boolean;
}

async function stateOf(n: TestNode): Promise<NodeState> {
  const t = (await n.eval(STATE)) as { elements: Term[] };
  const [mods, hidden, probe] = t.elements as [Term[], number, Term];
  return { modules: mods.map((m) => (m instanceof Atom ? m.name : String(m))), hidden, probe: !(probe instanceof Atom && probe.name === 'false') };
}

describe('VS Code: the cluster view of a three-node cluster', function () {
  this.timeout(600_000);
  let nodes: TestNode[] = [];
  let entry: TestNode;
  let member: TestNode;
  let wb: Workbench;
  let folder: string;
  const initial = new Map<string, NodeState>();

  before(async function () {
    if (!vsix) throw new Error('BEAM_LENS_VSIX is not set: run test/e2e/run.sh, which packages the extension first');
    const cookieText = randomBytes(16).toString('hex');
    nodes = await Promise.all(['shop_a', 'shop_b', 'shop_c'].map((p) => startNode({ cookieText, name: uniqueName(p) })));
    [entry, member] = nodes as [TestNode, TestNode];
    for (const other of nodes.slice(1)) await entry.eval(`true = net_kernel:connect_node('${other.node}').`);
    for (const n of nodes) await n.eval(WORK);
    // Full mesh: every member sees the two others.
    for (const n of nodes) await until(`${n.node} to see the two others`, async () => ((await n.eval('length(nodes()).')) as number) === 2, 30_000);
    for (const n of nodes) initial.set(n.node, await stateOf(n));
    folder = mkdtempSync(path.join(tmpdir(), 'beam-lens-e2e-ws-'));
    wb = await Workbench.start({ vsix, folder, settings: { 'beamLens.refreshIntervalSeconds': 3, 'beamLens.languageServer.enabled': false, 'beamLens.hotFunctions.durationSeconds': 2, 'beamLens.report.durationSeconds': 2 } });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) await wb.screenshot(`cluster-failed-${(this.currentTest.title ?? 'test').replace(/[^\w]+/g, '-').slice(0, 60)}`).catch(() => undefined);
  });

  after(async () => {
    await wb?.close();
    await Promise.all(nodes.map((n) => n.stop()));
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('attaches to one node and lists every member of its cluster with its state in the sidebar', async () => {
    await wb.openViewContainer('BEAM');
    await wb.attachWithCookieFile(entry.node, entry.cookieFile);
    const section = wb.page.locator('.sidebar .monaco-list-row[aria-level="2"]', { hasText: 'Cluster' }).first();
    await section.waitFor({ timeout: 60_000 });
    await until('the Cluster section to say 3 nodes', async () => /3 nodes/.test((await section.textContent()) ?? ''), 30_000);
    if ((await section.getAttribute('aria-expanded')) !== 'true') await section.locator('.monaco-tl-twistie').click();
    for (const n of nodes) {
      const row = wb.page.locator('.sidebar .monaco-list-row[aria-level="3"]', { hasText: n.node }).first();
      await until(`${n.node}'s state in the sidebar`, async () => /procs · run queue \d+/.test((await row.textContent()) ?? ''), 60_000);
    }
    assert.match((await wb.page.locator('.sidebar .monaco-list-row[aria-level="3"]', { hasText: entry.node }).first().textContent()) ?? '', /entry/);
    await until('the Cluster section to say every member answered', async () => /3 answered · full mesh/.test((await section.textContent()) ?? ''), 30_000);
  });

  it('opens the cluster webview from the palette: a tile per member and the cluster-wide top processes with their node', async () => {
    await wb.runCommand('BEAM: Show Cluster');
    await wb.page.locator('.tabs-container .tab', { hasText: `Cluster · ${entry.node}` }).waitFor({ timeout: 30_000 });
    const view = wb.webview();
    await until('a tile per member', async () => (await view.locator('.tile').count()) === 3, 60_000);
    for (const n of nodes) {
      const tile = view.locator(`.tile[data-node="${n.node}"]`);
      await until(`${n.node}'s tile to answer`, async () => /memory/.test((await tile.textContent()) ?? ''), 30_000);
      assert.match((await tile.getAttribute('class')) ?? '', /\b(ok|warning)\b/, `${n.node} is healthy`);
    }
    assert.match((await view.locator(`.tile[data-node="${entry.node}"] .badge`).textContent()) ?? '', /entry/);
    assert.match((await view.locator('.toolbar').textContent()) ?? '', /3 nodes, 3 answered · reached through .* · full mesh/);
    // The cluster-wide top processes by mailbox: every member's order_queue, each row naming its node.
    await view.locator('.procs-toolbar button[data-sort="mailbox"]').click();
    await until('the mailbox ranking across the cluster', async () => {
      const rows = view.locator('table.processes tbody tr', { hasText: 'order_queue' });
      if ((await rows.count()) !== 3) return false;
      const owners = await view.locator('table.processes tbody tr:has-text("order_queue") td.node').allTextContents();
      return owners.sort().join(',') === nodes.map((n) => n.node).sort().join(',');
    }, 60_000);
    assert.match((await view.locator('table.processes caption').textContent()) ?? '', /by mailbox across 3 nodes/);
    await wb.screenshot('30-cluster-view');
    // The README's picture (the sidebar and the cluster view): written to docs/images when asked.
    const shot = path.join(ARTIFACTS, 'cluster-view-readme.png');
    await wb.page.screenshot({ path: shot, clip: { x: 0, y: 0, width: 1400, height: 660 } });
    if (process.env.BEAM_LENS_README_SHOTS) copyFileSync(shot, path.join(root, 'docs/images/cluster-view.png'));
  });

  it("opens a member's view from its tile, and a process row on its own node", async () => {
    const view = wb.webview();
    await view.locator(`.tile[data-node="${member.node}"] .actions button`, { hasText: 'processes' }).click();
    await wb.page.locator('.tabs-container .tab', { hasText: `Processes · ${member.node}` }).waitFor({ timeout: 30_000 });
    // The member is a node of its own in the sidebar now (reached through the entry).
    await wb.page.locator('.sidebar .monaco-list-row[aria-level="1"]', { hasText: member.node }).waitFor({ timeout: 30_000 });
    const table = wb.webview();
    await until(`${member.node}'s processes`, async () => (await table.locator('text=order_queue').count()) > 0, 60_000);
    // Back to the cluster view from the sidebar (a click on the entry's Cluster section); a click on
    // the tile itself opens the member's overview (its dashboard).
    await wb.page.locator('.sidebar .monaco-list-row[aria-level="2"]', { hasText: 'Cluster' }).first().locator('.label-name').click();
    await wb.page.locator('.tabs-container .tab.active', { hasText: `Cluster · ${entry.node}` }).waitFor({ timeout: 30_000 });
    const cluster = wb.webview();
    await cluster.locator(`.tile[data-node="${member.node}"] header`).click();
    await wb.page.locator('.tabs-container .tab', { hasText: `Dashboard · ${member.node}` }).waitFor({ timeout: 30_000 });
    // A row of the cluster's process list opens that process on its node.
    await wb.page.locator('.tabs-container .tab', { hasText: `Cluster · ${entry.node}` }).click();
    const third = nodes[2] as TestNode;
    const row = wb.webview().locator(`table.processes tbody tr[data-node="${third.node}"]`).first();
    await row.waitFor({ timeout: 60_000 });
    const pid = (await row.getAttribute('data-pid')) ?? '';
    assert.match(pid, /^<\d+\.\d+\.\d+>$/);
    await row.click();
    await wb.page.locator('.tabs-container .tab', { hasText: `${pid} · ${third.node}` }).waitFor({ timeout: 30_000 });
  });

  it('shows a frozen member as timeout while the others answer, and ok again once it runs', async () => {
    const frozen = nodes[2] as TestNode;
    await wb.page.locator('.tabs-container .tab', { hasText: `Cluster · ${entry.node}` }).click();
    const view = wb.webview();
    const tile = view.locator(`.tile[data-node="${frozen.node}"]`);
    frozen.process.kill('SIGSTOP');
    try {
      await view.locator('.toolbar button', { hasText: 'Refresh' }).click();
      await until(`${frozen.node}'s tile to say timeout`, async () => /\bdown\b/.test((await tile.getAttribute('class')) ?? '') && /timeout/.test((await tile.textContent()) ?? ''), 60_000);
      assert.match((await view.locator('.toolbar').textContent()) ?? '', /3 nodes, 2 answered/);
      for (const n of nodes.slice(0, 2)) assert.match((await view.locator(`.tile[data-node="${n.node}"]`).getAttribute('class')) ?? '', /\b(ok|warning)\b/);
    } finally {
      frozen.process.kill('SIGCONT');
    }
    await view.locator('.toolbar button', { hasText: 'Refresh' }).click();
    await until(`${frozen.node}'s tile to answer again`, async () => /\b(ok|warning)\b/.test((await tile.getAttribute('class')) ?? ''), 60_000);
  });

  it("lists a cluster finding in the entry's Findings section; a click opens the cluster report at it, saved as Markdown", async () => {
    // One member's order_queue far behind the same process on its peers: a cluster-only finding.
    await member.eval('[order_queue ! {job, I} || I <- lists:seq(1, 10000)], ok.');
    const findings = wb.page.locator('.sidebar .monaco-list-row[aria-level="2"]', { hasText: 'Findings' }).first();
    if ((await findings.getAttribute('aria-expanded')) !== 'true') await findings.locator('.monaco-tl-twistie').click();
    // (The Cluster section lists it too, unmarked: the Findings section's row says "cluster ·".)
    const row = wb.page.locator('.sidebar .monaco-list-row[aria-level="3"]', { hasText: `order_queue on ${member.node}` }).filter({ hasText: 'cluster · ' }).first();
    await row.waitFor({ timeout: 60_000 });
    await row.locator('.label-name').click();
    await wb.page.locator('.tabs-container .tab', { hasText: `Cluster Report · ${entry.node}` }).waitFor({ timeout: 30_000 });
    const view = wb.webview();
    await view.locator('h1', { hasText: 'cluster report' }).waitFor({ timeout: 90_000 });
    // Opened at the finding, and one section per member.
    await view.locator('section.finding.focused', { hasText: `node-outlier:mailbox:order_queue:${member.node}` }).waitFor({ timeout: 30_000 });
    for (const n of nodes) await view.locator('h2', { hasText: `Node ${n.node}` }).first().waitFor({ timeout: 10_000 });
    await view.locator('button', { hasText: 'Save as Markdown' }).click();
    const input = wb.page.locator('.quick-input-widget input');
    await until('the save dialog to propose the cluster report file', async () => /beam-lens-cluster-report-.*\.md$/.test(await input.inputValue({ timeout: 1000 })), 30_000);
    await input.press('Enter');
    const saved = await wb.notification(/Report saved to/, 30_000);
    // (Markdown escapes may sit inside names: compared without them.)
    const markdown = readFileSync(/Report saved to (\S+\.md)/.exec(saved)?.[1] ?? '', 'utf8').replace(/\\/g, '');
    assert.match(markdown, /^# BEAM Lens cluster report/);
    for (const n of nodes) assert.ok(markdown.includes(`Node ${n.node}`), `${n.node}'s section in the Markdown`);
    assert.ok(markdown.includes(`order_queue on ${member.node}`), 'the cluster finding in the Markdown');
    await wb.screenshot('31-cluster-report');
  });

  it('offers to attach a member directly for what needs our own connection (hot functions), and asks it there', async () => {
    const third = nodes[2] as TestNode;
    await wb.runCommand('BEAM: Start Hot-Functions Session');
    await wb.quickPick(third.node);
    await wb.clickNotification(new RegExp(`${third.node.replace(/[.]/g, '\\.')} is reached through ${entry.node.replace(/[.]/g, '\\.')}`), 'Attach Directly', 30_000);
    const dialog = wb.page.locator('.monaco-dialog-box', { hasText: 'Allow BEAM Lens to change' });
    await dialog.waitFor({ timeout: 60_000 });
    await dialog.locator('.monaco-button', { hasText: 'Allow' }).first().click();
    // It ran there: this plain Erlang node has no application of its own to count calls in, and says so.
    await wb.notification(/runs no application of its own to count calls in/, 90_000);
    // Attached by itself now: no longer "through" the entry in the sidebar.
    const row = wb.page.locator('.sidebar .monaco-list-row[aria-level="1"]', { hasText: third.node }).first();
    assert.doesNotMatch((await row.textContent()) ?? '', /through/);
  });

  it('detaching the entry detaches the members reached through it, and every node is as it was once all are detached', async () => {
    const third = nodes[2] as TestNode;
    await wb.runCommand('BEAM: Detach');
    await wb.quickPick(entry.node);
    // (What detach did is checked on the nodes themselves below, not in a toast that may be hidden.)
    // The member reached through the entry went with it; the one attached by itself stays until detached.
    await until('only the directly attached member to stay', async () => {
      const rows = await wb.page.locator('.sidebar .monaco-list-row[aria-level="1"]').allTextContents();
      return rows.length === 1 && rows[0]?.includes(third.node);
    }, 30_000);
    await wb.runCommand('BEAM: Detach');
    await until('every node to leave the sidebar', async () => (await wb.page.locator('.sidebar .monaco-list-row[aria-level="1"]').count()) === 0, 30_000);
    for (const n of nodes) {
      const was = initial.get(n.node) as NodeState;
      await until(`${n.node} to be as before`, async () => {
        const now = await stateOf(n);
        const added = now.modules.filter((m) => !was.modules.includes(m));
        return added.length === 0 && now.hidden === was.hidden && !now.probe ? true : (assert.fail(`${n.node}: new modules ${added.join(', ') || '-'}, hidden ${now.hidden} (was ${was.hidden}), probe ${now.probe}`), false);
      }, 30_000);
    }
  });
});
