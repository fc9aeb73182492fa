// BEAM Lens in code-server against a real RabbitMQ from Debian (150 queues with messages made by
// amqplib): attach from the EPMD list (which names the node bl_rmq_…@<host> while it calls itself
// …@localhost) and from "Remote node…", the sidebar's sections and item actions, the supervision
// tree at a readable zoom with the rabbit application on screen, one application's view, paging a
// 150-child supervisor then a refresh, the process table, the report that outlives its node, and
// detach with the target checked (our hidden node gone from nodes(hidden)).
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import type { FrameLocator, Locator } from 'playwright-core';
import { Atom, formatTerm, isAtom, type Term } from '../../src/etf';
import { Workbench, until } from './driver';
import { makeQueues, startRabbit, type Rabbit } from './rabbit';

const vsix = process.env.BEAM_LENS_VSIX;
const QUEUES = 150;

/** Hidden nodes connected to the broker, as atom texts. */
async function hiddenNodes(r: Rabbit): Promise<string[]> {
  const list = (await r.eval('nodes(hidden).')) as Term[];
  return list.map((t) => (t instanceof Atom ? t.name : formatTerm(t)));
}

/** Expands or collapses the sidebar row whose whole text matches `label` (a section, not a stat row). */
async function setExpanded(wb: Workbench, label: RegExp, expanded: boolean): Promise<void> {
  const row = wb.page.locator('.sidebar .monaco-list-row', { hasText: label }).first();
  await row.waitFor({ timeout: 30_000 });
  const isSet = async (): Promise<boolean> => ((await row.getAttribute('aria-expanded')) === 'true') === expanded;
  // A sidebar refresh can re-render the row under the click and lose it: click again (after a
  // pause long enough for a click that did land to show) until the row is as wanted.
  for (let attempt = 1; attempt <= 3 && !(await isSet()); attempt++) {
    await row.locator('.monaco-tl-twistie').click();
    if (await until(`${String(label)} ${expanded ? 'expanded' : 'collapsed'}`, isSet, 5000).catch(() => false)) return;
  }
  await until(`${String(label)} ${expanded ? 'expanded' : 'collapsed'}`, isSet, 5000);
}

/** The zoom of the supervision tree (the scale of its zoomed layer). */
/** The h2 of every visible webview, joined (a detail view opened next to the tree is not always the last frame). */
async function visibleHeadings(wb: Workbench): Promise<string> {
  const frames = wb.page.locator('iframe.webview.ready:visible');
  const texts: string[] = [];
  for (let i = 0; i < (await frames.count()); i++) {
    const h2 = frames.nth(i).contentFrame().locator('iframe#active-frame').contentFrame().locator('h2').first();
    texts.push((await h2.textContent({ timeout: 1000 }).catch(() => null)) ?? '');
  }
  return texts.join(' | ');
}

async function treeScale(view: FrameLocator): Promise<number> {
  const t = (await view.locator('svg > g').first().getAttribute('transform')) ?? '';
  const m = /scale\(([\d.]+)/.exec(t);
  return m ? Number(m[1]) : 1;
}

/** True when the element is inside the visible part of the webview (`frame`, the view's own iframe). */
async function onScreen(frameOf: Locator, view: FrameLocator, selector: string): Promise<boolean> {
  const box = await view.locator(selector).first().boundingBox();
  const frame = await frameOf.boundingBox();
  if (!box || !frame) return false;
  return box.x >= frame.x && box.y >= frame.y && box.x + Math.min(box.width, 50) <= frame.x + frame.width && box.y + box.height <= frame.y + frame.height;
}

describe('VS Code extension end to end against RabbitMQ (code-server + chromium)', function () {
  this.timeout(900_000);
  let rabbit: Rabbit;
  let wb: Workbench;
  let folder: string;
  let ours = '';

  before(async function () {
    if (!vsix) throw new Error('BEAM_LENS_VSIX is not set: run test/e2e/run.sh, which packages the extension first');
    rabbit = await startRabbit();
    await makeQueues(rabbit.amqpUrl, QUEUES, (i) => (i === 0 ? 2000 : i % 10));
    folder = mkdtempSync(path.join(tmpdir(), 'beam-lens-e2e-rmq-ws-'));
    wb = await Workbench.start({ vsix, folder, settings: { 'beamLens.refreshIntervalSeconds': 2, 'beamLens.factsIntervalSeconds': 30, 'beamLens.report.durationSeconds': 2 } });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) await wb.screenshot(`rmq-failed-${(this.currentTest.title ?? 'test').replace(/[^\w]+/g, '-').slice(0, 60)}`).catch(() => undefined);
  });

  after(async () => {
    await wb?.close();
    await rabbit?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('attaches from the EPMD list: the node is filed under the name it gives (…@localhost), not EPMD\'s …@host', async () => {
    const listed = `${rabbit.name}@${hostname().split('.')[0]}`;
    await wb.openViewContainer('BEAM');
    await wb.attachWithCookieFile(listed, rabbit.cookieFile, rabbit.node);
    await wb.page.locator('.statusbar', { hasText: `${rabbit.node} · local` }).waitFor({ timeout: 30_000 });
    const admin = await rabbit.adminName();
    ours = await until('our hidden node on the broker', async () => (await hiddenNodes(rabbit)).find((n) => n !== admin && n.startsWith('beam_lens_')), 30_000);
    // Every view works under that identity: the sidebar's applications list rabbit.
    await wb.treeItem('Applications').waitFor({ timeout: 30_000 });
    await wb.page.locator('.sidebar .monaco-list-row[aria-level="3"]', { hasText: /^rabbit\d/ }).first().waitFor({ timeout: 60_000 });
    await wb.screenshot('rmq-01-attached');
  });

  it('sidebar: "Top by memory" lists processes and every click on one opens it', async () => {
    // Applications (30 of them on RabbitMQ) pushes Processes out of the rendered list: fold it.
    await setExpanded(wb, /^Applications$/, false);
    await setExpanded(wb, /^Processes$/, true);
    await setExpanded(wb, /^Top by memory$/, true);
    const rows = wb.page.locator('.sidebar .monaco-list-row[aria-level="4"]');
    await until('top processes under "Top by memory"', async () => (await rows.count()) >= 5, 60_000);
    await wb.screenshot('rmq-02-sidebar-top');
    for (let i = 0; i < 3; i++) {
      const row = wb.page.locator('.sidebar .monaco-list-row[aria-level="4"]').nth(i);
      const pid = /<\d+\.\d+\.\d+>/.exec((await row.textContent()) ?? '')?.[0];
      assert.ok(pid, 'the row shows its pid');
      await row.locator('.label-name').first().click();
      await wb.page.locator('.tabs-container .tab', { hasText: pid }).first().waitFor({ timeout: 30_000 });
    }
    await setExpanded(wb, /^Top by memory$/, false);
    await setExpanded(wb, /^Processes$/, false);
    await setExpanded(wb, /^Applications$/, true);
  });

  it('sidebar actions keep their target: the inline tree action on rabbit_sup, the context menu\'s Show Process…', async () => {
    await setExpanded(wb, /^Applications$/, true);
    const app = wb.page.locator('.sidebar .monaco-list-row[aria-level="3"]', { hasText: /^rabbit\d/ }).first();
    if ((await app.getAttribute('aria-expanded')) !== 'true') await app.locator('.monaco-tl-twistie').click();
    const sup = wb.treeItem('rabbit_sup');
    await sup.waitFor({ timeout: 30_000 });
    await sup.hover();
    await sup.locator('.action-label[aria-label="Show Supervision Tree"]').click();
    const view = wb.webview();
    await view.locator('g.node.selected[data-label="rabbit_sup"]').waitFor({ timeout: 60_000 });
    await until('a readable zoom on the focused supervisor', async () => (await treeScale(view)) >= 0.9, 10_000);
    // Context menu on the same item: Show Process… opens it without asking for a pid. The sidebar
    // refreshes while the broker changes, which can close an open context menu before the click
    // lands: open it again (at most three times) until a detail view shows rabbit_sup.
    let shown = false;
    for (let attempt = 1; attempt <= 3 && !shown; attempt++) {
      // A click that did not land leaves the menu open, and an open menu takes the next right-click: close it first.
      if (attempt > 1 && (await wb.page.locator('.context-view .monaco-menu').count()) > 0) {
        await wb.page.keyboard.press('Escape');
        await until('the context menu closed', async () => (await wb.page.locator('.context-view .monaco-menu').count()) === 0, 5_000);
      }
      await sup.click({ button: 'right' });
      const item = wb.page.locator('.context-view .action-label', { hasText: 'Show Process…' }).first();
      await item.waitFor({ timeout: 10_000 });
      await item.click();
      shown = await until('the detail of rabbit_sup', async () => /rabbit_sup/.test(await visibleHeadings(wb)), 15_000).catch(() => false);
      if (!shown) process.stdout.write(`      (attempt ${attempt}: no detail of rabbit_sup yet; the context menu is opened again)\n`);
    }
    assert.ok(shown, `a detail view of rabbit_sup (visible headings: ${JSON.stringify(await visibleHeadings(wb))})`);
    assert.equal(await wb.page.locator('.quick-input-widget:visible').count(), 0, 'no pid was asked for');
  });

  it('tree: the rabbit application on screen first, search zooms to a readable scale, one application\'s view', async () => {
    await wb.runCommand('BEAM: Show Supervision Tree');
    // The detail of rabbit_sup may still be visible beside the tree: find the tree's own frame.
    const { view, frame } = await wb.webviewWith('g.node[data-label="rabbit"]', 60_000);
    await view.locator('input[type="search"]').fill('rabbit_amqqueue_sup_sup');
    await view.locator('g.node.selected[data-label="rabbit_amqqueue_sup_sup"]').waitFor({ timeout: 30_000 });
    assert.ok((await treeScale(view)) >= 0.9, `zoom ${await treeScale(view)} is readable`);
    // Focusing pans and zooms with a transition: poll until it has settled on screen.
    assert.ok(await until('the found node on screen', () => onScreen(frame, view, 'g.node.selected[data-label="rabbit_amqqueue_sup_sup"]'), 10_000).catch(() => false), 'the found node is on screen');
    await wb.screenshot('rmq-03-tree-readable');
    // One application's tree.
    await view.locator('select[aria-label="Application"]').selectOption('rabbit');
    await until('only the rabbit application', async () => (await view.locator('g.node[data-kind="app"]').count()) === 1 || (await view.locator('g.node[data-label="kernel"]').count()) === 0, 10_000);
    assert.equal(await view.locator('g.node[data-label="kernel"]').count(), 0);
    assert.ok(await until('the rabbit application on screen', () => onScreen(frame, view, 'g.node[data-label="rabbit"]'), 10_000).catch(() => false), 'the rabbit application is on screen');
    await wb.screenshot('rmq-04-tree-one-app');
  });

  it('tree: paging the 150 queue supervisors keeps their queue processes across the next refresh', async () => {
    const { view } = await wb.webviewWith('g.node[data-label="rabbit"]', 30_000);
    const more = view.locator('g.node[data-label="50 more children"]').first();
    await view.locator('input[type="search"]').fill('50 more children');
    await more.waitFor({ timeout: 30_000 });
    await more.dispatchEvent('click');
    await until('the paged group to hold all 150', async () => (await view.locator('g.node[data-label^="rabbit_amqqueue_sup × 150"]').count()) === 1, 60_000);
    const pagedAt = await view.locator('.toolbar .muted').first().textContent();
    await until('a live refresh after paging', async () => (await view.locator('.toolbar .muted').first().textContent()) !== pagedAt, 30_000);
    await view.locator('button', { hasText: 'Expand all' }).click();
    await until('the queue supervisors expanded', async () => (await view.locator('g.node').count()) > 2 * QUEUES, 30_000);
    assert.equal(await view.locator('g.node[data-label="1 more child"]').count(), 0, 'no queue supervisor lost its queue process');
  });

  it('table: the processes of the broker, filtered', async () => {
    await wb.runCommand('BEAM: Show Processes');
    const { view } = await wb.webviewWith('.row[data-index="0"]', 60_000);
    await view.locator('input[type="search"]').fill('rabbit_amqqueue');
    await until('matches of rabbit_amqqueue', async () => /\d+ of \d+|match/.test((await view.locator('.toolbar .muted').textContent({ timeout: 2000 })) ?? ''), 60_000);
    await wb.screenshot('rmq-05-table');
  });

  it('detach tells the truth and really closes: our hidden node leaves the broker', async () => {
    await wb.runCommand('BEAM: Detach');
    const text = await wb.notification(/detached from/, 60_000);
    assert.match(text, /connection closed/);
    await until('our hidden node gone from nodes(hidden)', async () => !(await hiddenNodes(rabbit)).includes(ours), 30_000);
    // The node's panels went with it (its scope owned them).
    await until('the node\'s panels closed', async () => (await wb.page.locator('.tabs-container .tab', { hasText: rabbit.node }).count()) === 0, 30_000);
    await wb.page.locator('.welcome-view-content', { hasText: 'No Erlang/Elixir node attached' }).waitFor({ timeout: 30_000 });
    const leftovers = await rabbit.eval("{code:is_loaded(beam_lens_probe), [P || P <- erlang:processes(), {flags, F} <- [erlang:trace_info(P, flags)], F =/= []]}.");
    assert.equal(formatTerm(leftovers), '{false,[]}');
  });

  it('attaches from "Remote node…"; the report stays open when its node goes away and can still be saved', async () => {
    await wb.runCommand('BEAM: Attach to Remote Node…');
    await wb.answer('(1/4)', 'localhost');
    await wb.answer('(2/4)', rabbit.node);
    await wb.quickPick('Cookie file…');
    await wb.answer('Path of the file holding the cookie', rabbit.cookieFile);
    await wb.quickPick('staging');
    await wb.treeItem(rabbit.node).waitFor({ timeout: 60_000 });
    await wb.runCommand('BEAM: Generate Report');
    const view = wb.webview();
    await view.locator('h1').first().waitFor({ timeout: 120_000 });
    await wb.runCommand('BEAM: Detach');
    await wb.notification(/detached from/, 60_000);
    const report = wb.page.locator('.tabs-container .tab', { hasText: 'Report' }).first();
    await report.waitFor({ timeout: 10_000 });
    await report.click();
    const status = wb.webview().locator('.status.error');
    await until('the report to say its node is gone', async () => /no longer attached/.test((await status.textContent({ timeout: 2000 })) ?? ''), 30_000);
    await wb.webview().locator('button', { hasText: 'Save as Markdown' }).click();
    const input = wb.page.locator('.quick-input-widget input');
    await until('the save dialog', async () => /beam-lens-report-.*\.md$/.test(await input.inputValue({ timeout: 1000 })), 30_000);
    await input.press('Enter');
    const saved = await wb.notification(/Report saved to/, 30_000);
    const file = /Report saved to (\S+\.md)/.exec(saved)?.[1] ?? '';
    assert.match(readFileSync(file, 'utf8'), /^# BEAM Lens report/);
    await wb.screenshot('rmq-06-report-after-detach');
    assert.ok(!isAtom(await rabbit.eval('code:is_loaded(beam_lens_probe).'), 'true'));
  });

  it('a wrong cookie offers to enter it again, and attaching then works', async () => {
    const wrong = path.join(folder, 'wrong.cookie');
    writeFileSync(wrong, 'not-the-cookie', { mode: 0o600 });
    await wb.runCommand('BEAM: Attach to Remote Node…');
    await wb.answer('(1/4)', 'localhost');
    await wb.answer('(2/4)', rabbit.node);
    await wb.quickPick('Cookie file…');
    await wb.answer('Path of the file holding the cookie', wrong);
    await wb.quickPick('local');
    await wb.clickNotification(/cannot attach to .*cookie/, 'Enter the Cookie Again');
    await wb.answer(`Cookie for ${rabbit.node}`, rabbit.cookieText);
    await wb.treeItem(rabbit.node).waitFor({ timeout: 60_000 });
    await wb.runCommand('BEAM: Detach');
    await wb.notification(/detached from/, 60_000);
  });
});
