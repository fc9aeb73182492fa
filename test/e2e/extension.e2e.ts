// BEAM Lens in a real VS Code workbench (code-server) against the demo node, as a new user would
// use it: install the .vsix, attach from the palette, see the node and the application's
// supervisor in the sidebar, open the supervision tree, the process table sorted by mailbox and
// the dashboard, see code lenses on a supervisor, run a hot-functions session with consent, detach
// and find the target clean. Screenshots of each step land in test/e2e/artifacts/.
import { strict as assert } from 'node:assert';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Atom, Pid, Tuple, isAtom, type Term } from '../../src/etf';
import { pidText } from '../../src/core/target/pids';
import { startNode, type TestNode } from '../integration/harness';
import { Workbench, until } from './driver';

const root = path.join(__dirname, '../..');
const vsix = process.env.BEAM_LENS_VSIX;

const LEFTOVERS = `
Flagged = [P || P <- erlang:processes(), {flags, F} <- [erlang:trace_info(P, flags)], F =/= []],
Counted = [MFA || MFA <- MFAs, {call_count, C} <- [erlang:trace_info(MFA, call_count)], C =/= false],
{length(Flagged), length(Counted), code:is_loaded(beam_lens_probe), whereis(beam_lens_tracer), length(nodes(hidden))}.`;

describe('VS Code extension end to end (code-server + chromium, demo node)', function () {
  this.timeout(600_000);
  let demo: TestNode;
  let wb: Workbench;
  let folder: string;
  let hiddenBefore = 0;

  before(async function () {
    if (!vsix) throw new Error('BEAM_LENS_VSIX is not set: run test/e2e/run.sh, which packages the extension first');
    demo = await startNode({ command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie] }, startTimeoutMs: 240_000 });
    hiddenBefore = ((await demo.eval('length(nodes(hidden)).')) as number) ?? 0;
    folder = mkdtempSync(path.join(tmpdir(), 'beam-lens-e2e-ws-'));
    cpSync(path.join(root, 'test/fixtures/demo/lib'), path.join(folder, 'lib'), { recursive: true });
    cpSync(path.join(root, 'test/fixtures/demo/mix.exs'), path.join(folder, 'mix.exs'));
    wb = await Workbench.start({
      vsix,
      folder,
      settings: { 'beamLens.trace.durationSeconds': 120, 'beamLens.trace.limit': 10, 'beamLens.report.durationSeconds': 2, 'beamLens.hotFunctions.durationSeconds': 3, 'beamLens.refreshIntervalSeconds': 2, 'beamLens.factsIntervalSeconds': 3 },
    });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) await wb.screenshot(`failed-${(this.currentTest.title ?? 'test').replace(/[^\w]+/g, '-').slice(0, 60)}`).catch(() => undefined);
  });

  after(async () => {
    await wb?.close();
    await demo?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('shows the BEAM view with a welcome and an Attach button', async () => {
    await wb.openViewContainer('BEAM');
    await wb.page.locator('.welcome-view-content', { hasText: 'No Erlang/Elixir node attached' }).waitFor({ timeout: 30_000 });
    await wb.page.locator('.welcome-view-content a, .welcome-view-content .monaco-button', { hasText: 'Attach to Node' }).first().waitFor();
    await wb.screenshot('01-welcome');
  });

  it('attaches from the command palette (EPMD list, environment, cookie file)', async () => {
    await wb.attachWithCookieFile(demo.node, demo.cookieFile);
    await wb.page.locator('.statusbar', { hasText: `${demo.node} · local` }).waitFor({ timeout: 30_000 });
    await wb.screenshot('02-attached');
  });

  it("shows the node and the application's supervisor in the sidebar", async () => {
    await wb.treeItem('Applications').waitFor({ timeout: 30_000 });
    const app = wb.page.locator('.sidebar .monaco-list-row[aria-level="3"]', { hasText: /^demo/ }).first();
    await app.waitFor({ timeout: 30_000 });
    if ((await app.getAttribute('aria-expanded')) !== 'true') await app.locator('.monaco-tl-twistie').click();
    await wb.expand('Demo.Supervisor');
    await wb.treeItem('Demo.Workers.Supervisor').waitFor({ timeout: 30_000 });
    await wb.expand('Demo.Workers.Supervisor');
    await wb.treeItem('Demo.Flaky.Supervisor').waitFor({ timeout: 30_000 });
    await wb.screenshot('03-sidebar');
  });

  it('opens the supervision tree webview and finds the supervisor in it', async () => {
    await wb.runCommand('BEAM: Show Supervision Tree');
    const view = wb.webview();
    await view.locator('g.node[data-label="Demo.Flaky.Supervisor"]').waitFor({ timeout: 60_000 });
    const detail = await view.locator('g.node[data-label="Demo.Flaky.Supervisor"] text.detail').textContent();
    assert.match(detail ?? '', /^one_for_one · 1 child · \d+ restarts\/5 s of 3 allowed$/);
    await view.locator('g.node[data-label="Demo.SessionSupervisor"]').waitFor();
    // Search centers and selects the node.
    await view.locator('input[type="search"]').fill('Flaky.Supervisor');
    await view.locator('g.node.selected[data-label="Demo.Flaky.Supervisor"]').waitFor({ timeout: 10_000 });
    await wb.screenshot('04-supervision-tree');
    // Live refresh (every 2 s here) keeps the zoom/pan and the selection.
    const transform = await view.locator('svg > g').first().getAttribute('transform');
    const refreshed = await view.locator('.toolbar .muted').first().textContent();
    await until('a live refresh', async () => (await view.locator('.toolbar .muted').first().textContent()) !== refreshed, 30_000);
    assert.equal(await view.locator('svg > g').first().getAttribute('transform'), transform);
    await view.locator('g.node.selected[data-label="Demo.Flaky.Supervisor"]').waitFor({ timeout: 5000 });
    // Paging a large DynamicSupervisor (300 sessions, 100 per page) survives the next refresh.
    await view.locator('g.node[data-label="200 more children"]').first().click();
    await view.locator('g.node[data-label="100 more children"]').first().waitFor({ timeout: 30_000 });
    const pagedAt = await view.locator('.toolbar .muted').first().textContent();
    await until('another live refresh', async () => (await view.locator('.toolbar .muted').first().textContent()) !== pagedAt, 30_000);
    assert.equal(await view.locator('g.node[data-label="200 more children"]').count(), 0, 'the paged children stay after a refresh');
    await view.locator('g.node[data-label="100 more children"]').first().waitFor({ timeout: 5000 });
  });

  it('opens the process table sorted by mailbox with the growing GenServer first', async () => {
    await wb.runCommand('BEAM: Show Processes by Mailbox');
    const view = wb.webview();
    const first = view.locator('.row[data-index="0"] [data-col="name"]');
    await until('Demo.EventSink to lead the table', async () => /Demo\.EventSink/.test((await first.textContent({ timeout: 2000 })) ?? ''), 60_000);
    const header = await view.locator('.toolbar .muted').textContent();
    assert.match(header ?? '', /sorted by mailbox on the target/);
    await wb.screenshot('05-process-table');
    // Click the row: the process detail opens.
    await view.locator('.row[data-index="0"]').click();
    // In whichever visible webview it opened (not necessarily the last frame).
    const { view: detail } = await wb.webviewWith('text=Place in the supervision tree', 30_000);
    await until('the detail of the sink', async () => /Demo\.EventSink/.test((await detail.locator('h2').textContent({ timeout: 2000 })) ?? ''), 30_000);
    await wb.screenshot('05b-process-detail');
  });

  it('opens the dashboard with live readouts', async () => {
    await wb.runCommand('BEAM: Show Dashboard');
    const view = wb.webview();
    await until('two samples on the dashboard', async () => ((await view.locator('[data-readout="processes"]').textContent({ timeout: 2000 })) ?? '').includes('processes') && (await view.locator('[data-chart="memory"] path.line').count()) >= 7, 60_000);
    await until('a scheduler readout', async () => /busy|not measured/.test((await view.locator('[data-readout="schedulers"]').textContent({ timeout: 2000 })) ?? ''), 30_000);
    await wb.screenshot('06-dashboard');
  });

  it('says clearly when a process cannot be shown', async () => {
    await wb.runCommand('BEAM: Show Process…');
    await wb.answer('Show process on', 'no_such_process_name');
    const status = (await wb.webviewWith('.status.error', 30_000)).view.locator('.status.error');
    assert.match((await status.textContent()) ?? '', /could not read no_such_process_name on/);
  });

  it('shows code lenses on a supervisor in the Elixir source', async () => {
    await wb.openFile('flaky_supervisor.ex');
    const lens = wb.page.locator('.contentWidgets .codelens-decoration, .codelens-decoration', { hasText: /one_for_one · 1 child · \d+ restarts\/5 s of 3 allowed/ }).first();
    await lens.waitFor({ timeout: 90_000 });
    await wb.screenshot('07-code-lens-supervisor');
    // Clicking the lens opens the supervision tree focused on that supervisor.
    await lens.locator('a').first().click();
    await wb.webviewWith('g.node.selected[data-label="Demo.Flaky.Supervisor"]', 30_000);
  });

  it('generates the report in its webview', async () => {
    await wb.runCommand('BEAM: Generate Report');
    const view = wb.webview();
    await view.locator('h1').first().waitFor({ timeout: 90_000 });
    await until('the mailbox finding in the report', async () => /Demo\.EventSink/.test((await view.locator('.report').textContent({ timeout: 2000 })) ?? ''), 30_000);
    await wb.screenshot('07b-report');
    // Findings are addressed by id: a recommended change's link scrolls to its finding and marks it.
    await view.locator('button.finding-link', { hasText: 'Demo.EventSink' }).first().click();
    await view.locator('section.finding.focused', { hasText: 'mailbox-growth:Demo.EventSink' }).waitFor({ timeout: 10_000 });
    // Code marks of the advice are code elements, not backticks.
    await view.locator('.report li code', { hasText: ':binary.copy/1' }).first().waitFor({ timeout: 10_000 });
    // Save as Markdown: the workbench's save dialog proposes a file in the workspace.
    await view.locator('button', { hasText: 'Save as Markdown' }).click();
    const input = wb.page.locator('.quick-input-widget input');
    await until('the save dialog to propose the report file', async () => /beam-lens-report-.*\.md$/.test(await input.inputValue({ timeout: 1000 })), 30_000);
    await input.press('Enter');
    const saved = await wb.notification(/Report saved to/, 30_000);
    const file = /Report saved to (\S+\.md)/.exec(saved)?.[1] ?? '';
    const markdown = readFileSync(file, 'utf8');
    assert.match(markdown, /^# BEAM Lens report/);
    assert.ok(markdown.includes('`:binary.copy/1`') && !markdown.includes('\\`'), 'code spans, no escaped backticks');
  });

  it('tags the node production: the status bar warns and consent asks for the node name', async () => {
    await wb.runCommand('BEAM: Set Environment Tag…');
    await wb.quickPick('production');
    await wb.page.locator('.statusbar', { hasText: `${demo.node} · production` }).waitFor({ timeout: 30_000 });
  });

  it('runs a hot-functions session after consent and shows the result', async () => {
    await wb.runCommand('BEAM: Start Hot-Functions Session');
    const dialog = wb.page.locator('.monaco-dialog-box', { hasText: 'Allow BEAM Lens to change' });
    await dialog.waitFor({ timeout: 30_000 });
    await wb.screenshot('08-consent');
    await dialog.locator('.monaco-button', { hasText: 'Allow' }).first().click();
    // Production: the node's name must be typed.
    await wb.answer('is tagged production', demo.node);
    const text = await wb.notification(/hot functions on .*\(completed\)/, 90_000);
    assert.match(text, /Demo\.Pricing\.compute\/2/);
    await wb.screenshot('09-hot-functions');
  });

  it('stops a running session from the status bar', async () => {
    // A message trace of an idle process runs until its 120 s deadline unless stopped (far past
    // the UI steps below on a loaded machine, so the end reason tells the two apart).
    const pid = pidText((await demo.eval("whereis('Elixir.Demo.Settings').")) as Pid, demo.node);
    await wb.runCommand('BEAM: Trace Messages of Process…');
    await wb.answer('Trace messages of which process?', pid);
    const stop = wb.page.locator('.statusbar-item', { hasText: `tracing messages of ${pid}` }).first();
    await stop.waitFor({ timeout: 30_000 });
    await wb.screenshot('09a-session-running');
    await stop.click();
    await wb.page.locator('.monaco-editor .view-lines', { hasText: '# end reason=stopped' }).first().waitFor({ timeout: 30_000 });
    await until('the status bar item to go', async () => (await stop.count()) === 0, 30_000);
  });

  it('writes the audit log and the session file, never the cookie', async () => {
    const audit = readFileSync(path.join(folder, '.beam-lens/audit.log'), 'utf8');
    assert.match(audit, /"action":"consent for probe\+trace","outcome":"granted"/);
    assert.match(audit, /"action":"hot start"/);
    assert.match(audit, /"action":"hot end"[^\n]*"outcome":"completed"/);
    assert.ok(!audit.includes(demo.cookieText), 'no cookie in the audit log');
    assert.ok(readdirSync(path.join(folder, '.beam-lens/sessions')).some((f) => /-hot-/.test(f)));
  });

  it('traces the messages of a process from its detail view into a .beamtrace log', async () => {
    await wb.runCommand('BEAM: Show Processes by Mailbox');
    const table = wb.webview();
    await until('Demo.EventSink to lead the table', async () => /Demo\.EventSink/.test((await table.locator('.row[data-index="0"] [data-col="name"]').textContent({ timeout: 2000 })) ?? ''), 60_000);
    await table.locator('.row[data-index="0"]').click();
    const { view: detail } = await wb.webviewWith('button:has-text("Trace messages")', 30_000);
    await detail.locator('button', { hasText: 'Trace messages' }).click();
    // Consent was given for this attachment (and the name typed): no second dialog.
    const editor = wb.page.locator('.monaco-editor .view-lines', { hasText: '# end reason=' }).first();
    await editor.waitFor({ timeout: 60_000 });
    const text = (await editor.textContent()) ?? '';
    assert.match(text, /receive/);
    await wb.screenshot('09b-trace-messages');
  });

  it('attaches a second node at once through host:port (no EPMD), then detaches it', async () => {
    const other = await startNode({});
    try {
      await wb.runCommand('BEAM: Attach to Remote Node…');
      await wb.answer('(1/4)', `localhost:${other.port}`);
      await wb.answer('(2/4)', other.node);
      await wb.quickPick('Cookie file…');
      await wb.answer('Path of the file holding the cookie', other.cookieFile);
      await wb.quickPick('staging');
      await wb.treeItem(other.node).waitFor({ timeout: 60_000 });
      await wb.treeItem(demo.node).waitFor();
      await wb.page.locator('.statusbar', { hasText: `${other.node} · staging` }).waitFor({ timeout: 30_000 });
      await wb.screenshot('09c-two-nodes');
      await wb.runCommand('BEAM: Detach');
      await wb.quickPick(other.node);
      await wb.notification(new RegExp(`detached from ${other.node}`), 60_000);
      await until('the second node to leave the sidebar', async () => (await wb.treeItem(other.node).count()) === 0, 30_000);
    } finally {
      await other.stop();
    }
  });

  it('detaches and leaves the target clean', async () => {
    await wb.runCommand('BEAM: Detach');
    await wb.notification(/detached from/, 60_000);
    const mfas = [new Tuple([Atom.of('Elixir.Demo.Pricing'), Atom.of('compute'), 2])];
    const state = await until(
      'the target to be clean',
      async () => {
        const t = (await demo.eval(LEFTOVERS, { MFAs: mfas })) as Tuple;
        const [flagged, counted, loaded, tracer, hidden] = t.elements as Term[];
        return flagged === 0 && counted === 0 && isAtom(loaded, 'false') && isAtom(tracer, 'undefined') && hidden === hiddenBefore ? t : undefined;
      },
      30_000,
      250,
    );
    assert.ok(state);
    await wb.openViewContainer('BEAM');
    await wb.page.locator('.welcome-view-content', { hasText: 'No Erlang/Elixir node attached' }).waitFor({ timeout: 30_000 });
    await wb.screenshot('10-detached');
  });
});
