// The profiler in a real VS Code workbench (code-server) against the demo node: Profile Process…
// from the palette on Demo.PricingWorker (probe consent), the flame graph webview (bars, search,
// zoom), a click through to the source of Demo.Pricing.compute/2, the profile's lens on it, and
// the target left clean. Screenshots land in test/e2e/artifacts/.
import { strict as assert } from 'node:assert';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Atom, Pid, Tuple, formatTerm, isAtom, type Term } from '../../src/etf';
import { toSpeedscope } from '../../src/core/profile/export';
import { readSavedProfile } from '../../src/core/profile/saved';
import { startNode, type TestNode } from '../integration/harness';
import { Workbench, until } from './driver';

const root = path.join(__dirname, '../..');
const vsix = process.env.BEAM_LENS_VSIX;

describe('VS Code: profile a process into a flame graph and click through to the source', function () {
  this.timeout(600_000);
  let demo: TestNode;
  let wb: Workbench;
  let folder: string;

  before(async function () {
    if (!vsix) throw new Error('BEAM_LENS_VSIX is not set: run test/e2e/run.sh, which packages the extension first');
    demo = await startNode({ command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie] }, startTimeoutMs: 240_000 });
    await until('the demo application', async () => (await demo.eval(`whereis('Elixir.Demo.PricingWorker').`)) instanceof Pid, 60_000);
    folder = mkdtempSync(path.join(tmpdir(), 'beam-lens-e2e-ws-'));
    cpSync(path.join(root, 'test/fixtures/demo/lib'), path.join(folder, 'lib'), { recursive: true });
    cpSync(path.join(root, 'test/fixtures/demo/mix.exs'), path.join(folder, 'mix.exs'));
    wb = await Workbench.start({ vsix, folder, settings: { 'beamLens.profile.durationSeconds': 4, 'beamLens.refreshIntervalSeconds': 5 } });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) await wb.screenshot(`profile-failed-${(this.currentTest.title ?? 'test').replace(/[^\w]+/g, '-').slice(0, 60)}`).catch(() => undefined);
  });

  after(async () => {
    await wb?.close();
    await demo?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('attaches, profiles Demo.PricingWorker after consent and shows its flame graph', async () => {
    await wb.openViewContainer('BEAM');
    await wb.attachWithCookieFile(demo.node, demo.cookieFile);
    await wb.runCommand('BEAM: Profile Process…');
    await wb.quickPick('A process…');
    await wb.answer('Profile a process on', 'Demo.PricingWorker');
    const dialog = wb.page.locator('.monaco-dialog-box', { hasText: 'Allow BEAM Lens to change' });
    await dialog.waitFor({ timeout: 30_000 });
    await dialog.locator('.monaco-button', { hasText: 'Allow' }).first().click();
    const view = wb.webview();
    await view.locator('.summary', { hasText: /Demo\.PricingWorker · \d+ samples at 97 Hz/ }).waitFor({ timeout: 90_000 });
    await view.locator('.bar', { hasText: 'Demo.Pricing.compute/2' }).first().waitFor({ timeout: 30_000 });
    // Search marks compute/2 and says how much of the samples sit under it.
    await view.locator('input.search').fill('Pricing.compute');
    const info = await until('the search result', async () => {
      const t = (await view.locator('.toolbar [role="status"]').textContent()) ?? '';
      return /\d+ frames? · [\d.]+% of samples/.test(t) ? t : undefined;
    });
    assert.ok(Number(/([\d.]+)% of samples/.exec(info)?.[1]) > 30, info);
    assert.ok((await view.locator('.bar.match').count()) >= 1);
    await wb.screenshot('20-flame-graph');
  });

  it('zooms into Demo.Pricing.compute/2 and opens its source from the flame graph', async () => {
    const view = wb.webview();
    const bar = view.locator('.bar', { hasText: 'Demo.Pricing.compute/2' }).first();
    await bar.click();
    await view.locator('.bar.selected', { hasText: 'Demo.Pricing.compute/2' }).waitFor({ timeout: 10_000 });
    // Zoomed: the selected frame fills the width.
    await until('the zoom', async () => ((await view.locator('.bar.selected').getAttribute('style')) ?? '').includes('width: 100%'), 10_000);
    assert.match((await view.locator('.detail').textContent()) ?? '', /Demo\.Pricing\.compute\/2 — lib\/demo\/workers\/pricing\.ex:\d+\n\d+ samples/);
    await wb.screenshot('21-flame-graph-zoomed');
    await view.locator('button', { hasText: 'Go to source' }).click();
    await wb.page.locator('.tabs-container .tab.active', { hasText: 'pricing.ex' }).waitFor({ timeout: 30_000 });
    // The profile's lens on compute/2's definition.
    const lens = wb.page.locator('.codelens-decoration', { hasText: /self \d+% · total \d+% of Demo\.PricingWorker's samples/ }).first();
    await lens.waitFor({ timeout: 60_000 });
    await wb.screenshot('22-profile-lens');
  });

  const savedProfiles = (): string[] => {
    try {
      return readdirSync(path.join(folder, '.beam-lens', 'sessions')).filter((f) => /-profile-[0-9a-f]+\.json$/.test(f));
    } catch {
      return [];
    }
  };

  it('the connection drops: the flame graph stays with its profile; after Reattach, Profile again works', async () => {
    const admin = (await demo.admin()).localName;
    const ours = ((await demo.eval('nodes(hidden).')) as Term[]).map((t) => (t instanceof Atom ? t.name : formatTerm(t))).filter((n) => n !== admin && n.startsWith('beam_lens_'));
    assert.equal(ours.length, 1, `our hidden node on the demo: ${ours.join(', ')}`);
    assert.equal(savedProfiles().length, 1);
    await demo.eval('erlang:disconnect_node(N).', { N: Atom.of(ours[0] as string) });
    const toast = wb.page.locator('.notifications-toasts .notification-toast', { hasText: `lost the connection to ${demo.node}` }).first();
    await toast.waitFor({ timeout: 60_000 });
    // The panel stays, still showing its profile, and says what profiling again needs.
    await wb.page.locator('.tabs-container .tab', { hasText: 'Profile: Demo.PricingWorker' }).first().click();
    const view = wb.webview();
    await view.locator('.status', { hasText: `${demo.node} is gone` }).waitFor({ timeout: 30_000 });
    await view.locator('.bar', { hasText: 'Demo.Pricing.compute/2' }).first().waitFor({ timeout: 10_000 });
    await toast.locator('.monaco-button', { hasText: 'Reattach' }).first().click();
    await until('the node attached again (no longer lost)', async () => {
      const rows = wb.page.locator('.sidebar .monaco-list-row', { hasText: demo.node });
      return (await rows.count()) > 0 && (await rows.filter({ hasText: 'lost' }).count()) === 0;
    }, 60_000);
    await wb.page.locator('.tabs-container .tab', { hasText: 'Profile: Demo.PricingWorker' }).first().click();
    await until('the status line cleared', async () => !(await wb.webview().locator('.status', { hasText: 'is gone' }).isVisible()), 30_000);
    await wb.webview().locator('button', { hasText: 'Profile again' }).click();
    // The probe went with the connection (its guardian unloads it): consent again.
    const dialog = wb.page.locator('.monaco-dialog-box', { hasText: 'Allow BEAM Lens to change' });
    await dialog.waitFor({ timeout: 30_000 });
    await dialog.locator('.monaco-button', { hasText: 'Allow' }).first().click();
    await until('a second profile session saved', () => savedProfiles().length === 2, 90_000);
    await wb.webview().locator('.bar', { hasText: 'Demo.Pricing.compute/2' }).first().waitFor({ timeout: 30_000 });
  });

  it('leaves no trace flag on the target; detaching unloads the probe', async () => {
    const flagged = (await demo.eval(`length([P || P <- erlang:processes(), {flags, F} <- [erlang:trace_info(P, flags)], F =/= []]).`)) as number;
    assert.equal(flagged, 0);
    await wb.runCommand('BEAM: Detach');
    await until('the probe to unload', async () => {
      const t = (await demo.eval(`{code:is_loaded(beam_lens_probe), whereis(beam_lens_sampler)}.`)) as Tuple;
      const [loaded, sampler] = t.elements as [Term, Term];
      return isAtom(loaded, 'false') && isAtom(sampler, 'undefined');
    }, 60_000);
  });

  it('with no node attached, "BEAM: Open Saved Profile…" reopens the saved session as a flame graph: source, lenses, save as speedscope', async () => {
    // The live panel closed with the detach; start from no editor at all.
    await until('the live flame graph closed', async () => (await wb.page.locator('.tabs-container .tab', { hasText: 'Profile: Demo.PricingWorker' }).count()) === 0, 30_000);
    await wb.runCommand('View: Close All Editors');
    await until('no editor open', async () => (await wb.page.locator('.tabs-container .tab').count()) === 0, 30_000);
    const newest = savedProfiles().sort().reverse()[0] ?? '';
    await wb.runCommand('BEAM: Open Saved Profile…');
    await wb.quickPick(newest);
    await wb.page.locator('.tabs-container .tab', { hasText: new RegExp(`Saved profile: Demo\\.PricingWorker · ${demo.node.replace(/[.]/g, '\\.')} · \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC`) }).first().waitFor({ timeout: 30_000 });
    const view = wb.webview();
    await view.locator('.summary', { hasText: new RegExp(`^Saved session ${newest.replace(/[.]/g, '\\.')} · ${demo.node.replace(/[.]/g, '\\.')} · .* UTC · Demo\\.PricingWorker · \\d+ samples at 97 Hz`) }).waitFor({ timeout: 30_000 });
    // The top frame by total under the worker's own code is Demo.Pricing.compute/2, as live.
    await view.locator('input.search').fill('Pricing.compute');
    const info = await until('the search result', async () => {
      const t = (await view.locator('.toolbar [role="status"]').textContent()) ?? '';
      return /\d+ frames? · [\d.]+% of samples/.test(t) ? t : undefined;
    });
    assert.ok(Number(/([\d.]+)% of samples/.exec(info)?.[1]) > 30, info);
    await wb.screenshot('23-saved-profile');
    // Profile again needs the node: the panel says so instead of failing.
    await view.locator('button', { hasText: 'Profile again' }).click();
    await wb.notification(new RegExp(`profiling again needs ${demo.node.replace(/[.]/g, '\\.')} attached`), 30_000);
    await wb.page.keyboard.press('Escape');
    await view.locator('.bar', { hasText: 'Demo.Pricing.compute/2' }).first().click();
    await view.locator('.bar.selected', { hasText: 'Demo.Pricing.compute/2' }).waitFor({ timeout: 10_000 });
    await view.locator('button', { hasText: 'Go to source' }).click();
    await wb.page.locator('.tabs-container .tab.active', { hasText: 'pricing.ex' }).waitFor({ timeout: 30_000 });
    // The saved profile's lens on compute/2's definition (the live one went with the detach).
    const lens = wb.page.locator('.codelens-decoration', { hasText: /self \d+% · total \d+% of the saved Demo\.PricingWorker profile's samples/ }).first();
    await lens.waitFor({ timeout: 60_000 });
    assert.equal(await wb.page.locator('.codelens-decoration', { hasText: /of Demo\.PricingWorker's samples/ }).count(), 0, 'no live lens left');
    await wb.screenshot('24-saved-profile-lens');
    // The lens leads back to the saved flame graph, searching for its function.
    await lens.locator('a').first().click();
    await wb.page.locator('.tabs-container .tab.active', { hasText: 'Saved profile: Demo.PricingWorker' }).waitFor({ timeout: 30_000 });
    await until('the search for compute/2', async () => (await wb.webview().locator('input.search').inputValue()) === 'Demo.Pricing.compute/2', 30_000);
    // Save as speedscope works without the node: beside the session file, named for its node.
    await wb.webview().locator('button', { hasText: 'Save as speedscope…' }).click();
    const dialog = wb.page.locator('.quick-input-widget', { hasText: 'Save the profile for speedscope' });
    await dialog.waitFor({ timeout: 20_000 });
    const target = path.join(folder, '.beam-lens', 'sessions', newest.replace(/\.json$/, '.speedscope.json'));
    await until('the dialog to offer the speedscope name', async () => (await dialog.locator('input').inputValue()).endsWith(path.basename(target)), 20_000);
    await dialog.locator('input').press('Enter');
    const written = await until('the speedscope file written', async () => {
      try {
        return await readSavedProfile(target);
      } catch {
        return undefined;
      }
    }, 30_000);
    assert.equal(written.node, demo.node);
    assert.ok(written.profile.frames.some((f) => f.module === 'Elixir.Demo.Pricing' && f.function === 'compute'));
  });

  it('"Open a file…" reopens a speedscope file as a flame graph (no node attached)', async () => {
    const newest = savedProfiles().sort().reverse()[0] ?? '';
    const saved = await readSavedProfile(path.join(folder, '.beam-lens', 'sessions', newest));
    const file = path.join(folder, 'worker.speedscope.json');
    writeFileSync(file, JSON.stringify(toSpeedscope(saved.profile, `BEAM Lens profile of Demo.PricingWorker on ${demo.node}`)));
    await wb.runCommand('View: Close All Editors');
    await until('no editor open', async () => (await wb.page.locator('.tabs-container .tab').count()) === 0, 30_000);
    await wb.runCommand('BEAM: Open Saved Profile…');
    await wb.quickPick('Open a file…');
    // code-server's own open dialog: a quick input holding a path (it fills in the folder first).
    const input = wb.page.locator('.quick-input-widget', { hasText: 'Open a saved profile' }).locator('input');
    const typePath = async (p: string): Promise<void> => {
      await wb.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: '..' }).first().waitFor({ timeout: 20_000 });
      await until('the dialog to take the path', async () => {
        await input.fill(p);
        await new Promise((r) => setTimeout(r, 300));
        return (await input.inputValue()) === p;
      }, 15_000, 50);
      await input.press('Enter');
    };
    await typePath(file);
    await wb.page.locator('.tabs-container .tab', { hasText: `Saved profile: Demo.PricingWorker · ${demo.node}` }).first().waitFor({ timeout: 30_000 });
    const view = await wb.webviewWith('.summary');
    await view.view.locator('.summary', { hasText: /^Saved speedscope file worker\.speedscope\.json · .* · Demo\.PricingWorker · \d+ samples at \d+ Hz .*\(from a speedscope file\)/ }).waitFor({ timeout: 30_000 });
    await view.view.locator('.bar', { hasText: 'Demo.Pricing.compute/2' }).first().waitFor({ timeout: 10_000 });
    // A file that is not a profile: told what is wrong, no panel.
    const bad = path.join(folder, 'notes.json');
    writeFileSync(bad, 'not a profile');
    await wb.runCommand('BEAM: Open Saved Profile…');
    await wb.quickPick('Open a file…');
    await typePath(bad);
    await wb.notification(/notes\.json is not a BEAM Lens session file \(not JSON\)/, 30_000);
  });
});
