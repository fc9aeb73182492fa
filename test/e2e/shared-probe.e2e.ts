// The editor and an agent's `beam-lens mcp` on one node, as a person and their agent would use
// them: both use the probe; detaching in VS Code leaves the probe to the agent and says so (naming
// the agent's node); the agent keeps working; its detach removes the probe and the node is clean.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Atom, Tuple, isAtom, type Term } from '../../src/etf';
import { startNode, type TestNode } from '../integration/harness';
import { data, startMcp, text, type McpTestClient } from '../integration/mcp/client';
import { Workbench, until } from './driver';

const vsix = process.env.BEAM_LENS_VSIX;

const STATE = `
Counted = [MFA || MFA <- MFAs, {call_count, C} <- [erlang:trace_info(MFA, call_count)], C =/= false],
Owners = case whereis(beam_lens_guardian) of undefined -> []; _ -> maps:get(owners, beam_lens_probe:status()) end,
{length(Counted), erlang:module_loaded(beam_lens_probe), Owners}.`;

describe('VS Code and beam-lens mcp share the probe on one node (code-server + chromium, demo node)', function () {
  this.timeout(600_000);
  let demo: TestNode;
  let wb: Workbench;
  let mcp: McpTestClient | undefined;
  let folder: string;

  before(async function () {
    if (!vsix) throw new Error('BEAM_LENS_VSIX is not set: run test/e2e/run.sh, which packages the extension first');
    demo = await startNode({ command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie] }, startTimeoutMs: 240_000 });
    folder = mkdtempSync(path.join(tmpdir(), 'beam-lens-e2e-ws-'));
    wb = await Workbench.start({ vsix, folder, settings: { 'beamLens.hotFunctions.durationSeconds': 3 } });
  });

  after(async () => {
    await mcp?.close().catch(() => undefined);
    await wb?.close();
    await demo?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  async function state(): Promise<{ counted: number; loaded: boolean; owners: string[] }> {
    const t = (await demo.eval(STATE, { MFAs: [new Tuple([Atom.of('Elixir.Demo.Pricing'), Atom.of('compute'), 2])] })) as Tuple;
    const [counted, loaded, owners] = t.elements as Term[];
    return { counted: counted as number, loaded: isAtom(loaded, 'true'), owners: (owners as Atom[]).map((o) => o.name).sort() };
  }

  it('detaching the editor leaves the probe to the agent, says so, and the agent detaching leaves the node clean', async () => {
    mcp = await startMcp({ args: ['--node', demo.node, '--cookie-file', demo.cookieFile, '--allow-probe'] });
    data(await mcp.call('processes', { sort: 'reduction_rate', limit: 3 }));
    const [agent] = (await state()).owners;
    assert.ok(agent, 'the agent owns the probe');

    await wb.attachWithCookieFile(demo.node, demo.cookieFile);
    await wb.runCommand('BEAM: Start Hot-Functions Session');
    const dialog = wb.page.locator('.monaco-dialog-box', { hasText: 'Allow BEAM Lens to change' });
    await dialog.waitFor({ timeout: 30_000 });
    await dialog.locator('.monaco-button', { hasText: 'Allow' }).first().click();
    await wb.notification(/hot functions on .*\(completed\)/, 90_000);
    assert.equal((await state()).owners.length, 2, 'the editor shares the probe');

    await wb.runCommand('BEAM: Detach');
    const said = await wb.notification(/detached from/, 60_000);
    await wb.screenshot('shared-probe-detached');
    assert.match(said, new RegExp(`the probe stays loaded on ${demo.node} because another BEAM Lens \\(${agent}\\) still uses it`));
    assert.match(said, /unloads itself when the last one leaves/);
    assert.deepEqual(await state(), { counted: 0, loaded: true, owners: [agent] });

    // The agent's probe still answers; its detach is the last one out.
    data(await mcp.call('processes', { sort: 'reduction_rate', limit: 3 }));
    const r = await mcp.call('detach', {});
    assert.doesNotMatch(text(r), /stays loaded/);
    await until('the probe to be gone', async () => !(await state()).loaded, 30_000);
    assert.deepEqual(await state(), { counted: 0, loaded: false, owners: [] });
  });
});
