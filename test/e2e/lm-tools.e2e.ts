// BEAM Lens's language-model tools in a real VS Code workbench (code-server): a test-only
// extension (test/e2e/lm-caller) invokes them through vscode.lm.invokeTool as a chat would, on
// the node the user attached in the sidebar. A read-only tool answers at once; an intrusive one
// shows VS Code's confirmation naming what it sets, then returns its result; the node is clean
// after detach.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startNode, waitFor, type TestNode } from '../integration/harness';
import { clean } from '../integration/target-state';
import { Workbench } from './driver';

const root = path.join(__dirname, '../..');
const vsix = process.env.BEAM_LENS_VSIX;

interface LmResult {
  ok: boolean;
  known?: boolean;
  text?: string;
  error?: string;
}

describe('VS Code language-model tools end to end (code-server + chromium, demo node)', function () {
  this.timeout(600_000);
  let demo: TestNode;
  let wb: Workbench;
  let folder: string;
  let tmp: string;

  /** Asks the caller extension to invoke `name` with `input`; `whileWaiting` runs before the result (e.g. to confirm). */
  async function invoke(name: string, input: Record<string, unknown>, whileWaiting?: () => Promise<void>): Promise<LmResult> {
    const out = path.join(folder, 'lm-result.json');
    rmSync(out, { force: true });
    writeFileSync(path.join(folder, 'lm-request.json'), JSON.stringify({ name, input }));
    const result = (ms: number): Promise<LmResult> => waitFor(() => (existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as LmResult) : undefined), ms, `the result of ${name}`, 200);
    const run = async (): Promise<void> => {
      // Focus may still be in the sidebar or a closing input: give it to the editor area first.
      await wb.page.locator('.monaco-workbench .part.editor').first().click({ timeout: 10_000 }).catch(() => undefined);
      await wb.runCommand('BEAM E2E: Invoke Language-Model Tool').catch(async () => {
        await wb.page.keyboard.press('Escape');
        await wb.runCommand('BEAM E2E: Invoke Language-Model Tool');
      });
    };
    await run();
    if (whileWaiting) {
      await whileWaiting();
      return result(120_000);
    }
    // A read-only call may be asked again if the palette swallowed the first Enter (the caller
    // extension is activated by that first command).
    return result(30_000).catch(async () => {
      await run();
      return result(90_000);
    });
  }

  before(async function () {
    if (!vsix) throw new Error('BEAM_LENS_VSIX is not set: run test/e2e/run.sh, which packages the extension first');
    tmp = mkdtempSync(path.join(tmpdir(), 'beam-lens-e2e-lm-'));
    const caller = path.join(tmp, 'lm-caller.vsix');
    const packed = spawnSync(process.execPath, [path.join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', caller], { cwd: path.join(__dirname, 'lm-caller'), encoding: 'utf8' });
    if (packed.status !== 0) throw new Error(`packaging the caller extension failed: ${packed.stderr || packed.stdout}`);
    demo = await startNode({ command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie] }, startTimeoutMs: 240_000 });
    folder = mkdtempSync(path.join(tmpdir(), 'beam-lens-e2e-lm-ws-'));
    cpSync(path.join(root, 'test/fixtures/demo/mix.exs'), path.join(folder, 'mix.exs'));
    wb = await Workbench.start({ vsix, extraVsix: [caller], folder });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) await wb.screenshot(`lm-failed-${(this.currentTest.title ?? 'test').replace(/[^\w]+/g, '-').slice(0, 60)}`).catch(() => undefined);
  });

  after(async () => {
    await wb?.close();
    await demo?.stop();
    for (const d of [folder, tmp]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('a read-only tool answers on the node attached in the sidebar', async () => {
    await wb.openViewContainer('BEAM');
    await wb.page.locator('.welcome-view-content', { hasText: 'No Erlang/Elixir node attached' }).waitFor({ timeout: 60_000 });
    await wb.runCommand('BEAM: Attach to Node…');
    await wb.quickPick(demo.node);
    await wb.quickPick('local');
    await wb.quickPick('Cookie file…');
    await wb.answer('Path of the file holding the cookie', demo.cookieFile);
    await wb.page.locator('.statusbar', { hasText: `${demo.node} · local` }).waitFor({ timeout: 60_000 });
    const r = await invoke('beam_lens_processes', { sort: 'mailbox', limit: 3 });
    assert.ok(r.ok, r.error);
    assert.equal(r.known, true, 'the tool is registered with vscode.lm');
    assert.match(r.text ?? '', /Demo\.EventSink/);
  });

  it('an intrusive tool shows the confirmation naming what it sets, then returns its result (audited, face vscode)', async () => {
    const r = await invoke('beam_lens_hot_functions', { durationS: 2, limit: 5 }, async () => {
      const dialog = wb.page.locator('.monaco-dialog-box', { hasText: 'Allow BEAM Lens to change' });
      await dialog.waitFor({ timeout: 60_000 });
      assert.match((await dialog.innerText()) ?? '', /call_count trace patterns/);
      await wb.screenshot('lm-01-confirmation');
      const buttons = dialog.locator('.monaco-button');
      const labels = await buttons.allInnerTexts();
      const confirm = labels.findIndex((l) => !/cancel/i.test(l));
      await buttons.nth(confirm).click();
    });
    assert.ok(r.ok, r.error);
    assert.match(r.text ?? '', /Demo\.Pricing:compute\/2 \d+ calls\/s/);
    const auditLines = readFileSync(path.join(folder, '.beam-lens/audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { face: string; action: string });
    assert.ok(auditLines.some((l) => l.face === 'vscode' && l.action === 'hot start'), 'audited with face vscode');
    await clean(demo, [['Elixir.Demo.Pricing', 'compute', 2]], 15_000);
  });

  it('on a node tagged production the node name must be typed after the confirmation; then the node is clean after detach', async () => {
    await wb.runCommand('BEAM: Set Environment Tag…');
    await wb.quickPick('production');
    await wb.page.locator('.statusbar', { hasText: `${demo.node} · production` }).waitFor({ timeout: 30_000 });
    const r = await invoke('beam_lens_hot_functions', { durationS: 1, limit: 3 }, async () => {
      const dialog = wb.page.locator('.monaco-dialog-box', { hasText: 'Allow BEAM Lens to change' });
      await dialog.waitFor({ timeout: 60_000 });
      assert.match(await dialog.innerText(), /tagged production/);
      const buttons = dialog.locator('.monaco-button');
      const labels = await buttons.allInnerTexts();
      await buttons.nth(labels.findIndex((l) => !/cancel/i.test(l))).click();
      await wb.answer('is tagged production', demo.node);
    });
    assert.ok(r.ok, r.error);
    assert.match(r.text ?? '', /calls\/s/);
    await wb.runCommand('BEAM: Detach');
    await wb.quickPick(demo.node, 5000).catch(() => undefined);
    await clean(demo, [['Elixir.Demo.Pricing', 'compute', 2]], 15_000);
  });
});
