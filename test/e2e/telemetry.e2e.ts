// Telemetry in a real VS Code workbench (code-server) against a node running the real telemetry
// 1.4.1 (compiled from ../shared/testdeps/telemetry; skipped with a line when absent): "BEAM:
// Telemetry Handlers & Events…" lists the handlers in its view (read-only), then counts the picked
// event after the consent dialog and shows p50/p95/p99; the handler is detached afterwards.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatTerm } from '../../src/etf';
import { startNode, type TestNode } from '../integration/harness';
import { FIXTURE, TELEMETRY_SRC, compileTelemetry } from '../integration/telemetry-fixture';
import { Workbench, until } from './driver';

const vsix = process.env.BEAM_LENS_VSIX;
const HANDLERS = `lists:sort([{Id, E} || #{id := Id, event_name := E} <- telemetry:list_handlers([])]).`;

describe('VS Code: telemetry handlers and a watch of picked events', function () {
  this.timeout(600_000);
  let node: TestNode;
  let wb: Workbench;
  let work: string;
  let handlersBefore: string;

  before(async function () {
    if (!existsSync(path.join(TELEMETRY_SRC, 'src', 'telemetry.erl'))) {
      console.log(`    skipped: telemetry's source is not at ${TELEMETRY_SRC}`);
      this.skip();
    }
    if (!vsix) throw new Error('BEAM_LENS_VSIX is not set: run test/e2e/run.sh, which packages the extension first');
    work = mkdtempSync(path.join(tmpdir(), 'beam-lens-e2e-telemetry-'));
    node = await startNode({ args: ['-pa', compileTelemetry(work)] });
    await node.loadModule(FIXTURE);
    await node.eval('ok = tele_fixture:start().');
    handlersBefore = formatTerm(await node.eval(HANDLERS), { maxLength: 100_000 });
    wb = await Workbench.start({ vsix, folder: work, settings: { 'beamLens.refreshIntervalSeconds': 5 } });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) await wb.screenshot(`telemetry-failed-${(this.currentTest.title ?? 'test').replace(/[^\w]+/g, '-').slice(0, 60)}`).catch(() => undefined);
  });

  after(async () => {
    await wb?.close();
    await node?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('lists the handlers, counts the picked event after consent, and leaves the handlers as they were', async () => {
    await wb.openViewContainer('BEAM');
    await wb.attachWithCookieFile(node.node, node.cookieFile);
    await wb.runCommand('BEAM: Telemetry Handlers & Events…');
    const view = wb.webview();
    await view.locator('td', { hasText: 'fixture_handler' }).first().waitFor({ timeout: 60_000 });
    assert.match((await view.locator('article').textContent()) ?? '', /telemetry 1\.4\.1: 3 handlers on 3 events/);
    await wb.screenshot('40-telemetry-handlers');
    // The offer to watch: pick one event (a multi-select pick), then the window, then consent.
    await wb.quickPick('test_app.other.done', 60_000);
    await wb.page.locator('.quick-input-widget input').press('Enter');
    await wb.answer('Watch for how many seconds?', '2');
    const dialog = wb.page.locator('.monaco-dialog-box', { hasText: 'Allow BEAM Lens to change' });
    await dialog.waitFor({ timeout: 30_000 });
    assert.match((await dialog.textContent()) ?? '', /attach a temporary telemetry handler to 1 event \(test_app\.other\.done\) for 2 s/);
    await dialog.locator('.monaco-button', { hasText: 'Allow' }).first().click();
    await view.locator('th', { hasText: 'p99' }).first().waitFor({ timeout: 60_000 });
    const text = (await view.locator('article').textContent()) ?? '';
    assert.match(text, /temporary handler \(detached at the end\) counted [\d,]+ events? on 1 event name/);
    assert.match(text, /duration(4\.9|5\.0|5\.1) ms/);
    await wb.screenshot('41-telemetry-watch');
    await until('our handler detached', async () => formatTerm(await node.eval(HANDLERS), { maxLength: 100_000 }) === handlersBefore, 30_000);
  });
});
