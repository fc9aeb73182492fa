// BEAM Lens in code-server against a real TLS distribution node (-proto_dist inet_tls, mutual TLS,
// certificates made with openssl in the test): attached from the EPMD list without TLS it says the
// node uses TLS and offers the TLS files; a rogue client certificate is rejected and an untrusted
// CA named, each with the action that fixes it; then attached. The node is stopped (rpc
// init:stop): the sidebar lists it as lost with Reattach, its open views stay and say it is gone;
// the node is started again under the same name, and Reattach (saved cookie in secret storage and
// saved TLS files) attaches it and reopens the views. Last, a connection cut by a TCP proxy (the
// node keeps running): Reattach through the same host:port reopens even the process view. And
// (issue 13) an unreachable EPMD offers host:port, which then attaches.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as connectTcp, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Atom, formatTerm, type Term } from '../../src/etf';
import { TlsSecret, type TlsOptions } from '../../src/erldist';
import { startNode, type TestNode } from '../integration/harness';
import { makeCerts, type TestCerts } from '../integration/tls-certs';
import { Workbench, until } from './driver';

const vsix = process.env.BEAM_LENS_VSIX;

/** Hidden nodes on the target other than the test's own admin connection. */
async function ourNodes(node: TestNode): Promise<string[]> {
  const admin = (await node.admin()).localName;
  const list = (await node.eval('nodes(hidden).')) as Term[];
  return list.map((t) => (t instanceof Atom ? t.name : formatTerm(t))).filter((n) => n !== admin && n.startsWith('beam_lens_'));
}

/** Clicks a button of the notification whose text matches. */
function clickInToast(wb: Workbench, text: RegExp, button: string): Promise<string> {
  return wb.clickNotification(text, button);
}

/** The three file steps of "TLS with certificate files…". */
async function tlsFiles(wb: Workbench, cert: string, key: string, ca: string): Promise<void> {
  await wb.quickPick('TLS with certificate files…');
  await wb.answer('Path of your client certificate', cert);
  await wb.answer('Path of its private key', key);
  await wb.answer("Path of the CA certificate(s) that signed the node's certificate (PEM); leave empty", ca);
}

describe('VS Code: TLS distribution in the attach dialog, and Reattach of a lost node (code-server + chromium)', function () {
  this.timeout(600_000);
  let certs: TestCerts;
  let adminTls: TlsOptions;
  let node: TestNode;
  let wb: Workbench;
  let folder: string;
  const name = `bl_tls_e2e_${process.pid}`;
  let cookieText = '';
  const tlsArgs = (): string[] => ['-proto_dist', 'inet_tls', '-ssl_dist_optfile', certs.nodeOptfile];

  before(async function () {
    if (!vsix) throw new Error('BEAM_LENS_VSIX is not set: run test/e2e/run.sh, which packages the extension first');
    certs = makeCerts();
    adminTls = { cert: readFileSync(certs.clientCert), key: new TlsSecret(readFileSync(certs.clientKey)), ca: readFileSync(certs.ca), verify: true, source: 'test' };
    node = await startNode({ name, args: tlsArgs(), tls: adminTls });
    cookieText = node.cookieText;
    folder = mkdtempSync(path.join(tmpdir(), 'beam-lens-e2e-tls-ws-'));
    wb = await Workbench.start({ vsix, folder, settings: { 'beamLens.refreshIntervalSeconds': 2, 'beamLens.factsIntervalSeconds': 60 } });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && wb) {
      await wb.screenshot(`tls-failed-${(this.currentTest.title ?? 'test').replace(/[^\w]+/g, '-').slice(0, 60)}`).catch(() => undefined);
      console.log(`      the extension's log:\n${wb.extensionLog()}`);
    }
  });

  after(async () => {
    await wb?.close();
    await node?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  it('plain TCP to a TLS node → "uses TLS distribution" → Set Up TLS…; a rogue client certificate, then an untrusted CA, each told with its fix; then attached', async () => {
    await wb.openViewContainer('BEAM');
    await wb.runCommand('BEAM: Attach to Node…');
    await wb.quickPick(node.node);
    await wb.quickPick('local');
    await wb.quickPick('Enter the cookie…');
    await wb.answer('The Erlang cookie of the node', cookieText);

    const plain = await clickInToast(wb, /uses TLS distribution/, 'Set Up TLS…');
    assert.match(plain, /client certificate, its key and the CA/);
    assert.doesNotMatch(plain, /--tls/, 'the editor names files, not CLI flags');
    await wb.screenshot('tls-01-needs-tls');

    await tlsFiles(wb, certs.rogueCert, certs.rogueKey, certs.ca);
    const rogue = await clickInToast(wb, /rejected our client certificate/, 'Set Up TLS…');
    assert.match(rogue, /rogue\.pem/);
    await wb.screenshot('tls-02-rogue-client');

    await tlsFiles(wb, certs.clientCert, certs.clientKey, certs.rogueCa);
    const untrusted = await clickInToast(wb, /TLS certificate is not trusted/, 'Choose CA File…');
    assert.match(untrusted, /rogue-ca\.pem/);
    await wb.screenshot('tls-03-untrusted');
    await wb.answer("Path of the CA certificate(s) that signed the node's certificate (PEM)", certs.ca);

    await wb.treeItem(node.node).waitFor({ timeout: 60_000 });
    await wb.page.locator('.statusbar', { hasText: `${node.node} · local` }).waitFor({ timeout: 30_000 });
    await until('our hidden node on the TLS node', async () => (await ourNodes(node))[0], 30_000);
    await wb.treeItem('Applications').waitFor({ timeout: 30_000 });
    await wb.screenshot('tls-04-attached');
  });

  it('the node stops: the sidebar shows it lost with Reattach, open views say it is gone; started again, Reattach restores them', async () => {
    await wb.runCommand('BEAM: Show Supervision Tree');
    await wb.page.locator('.tabs-container .tab', { hasText: `Supervision tree · ${node.node}` }).first().waitFor({ timeout: 30_000 });
    await wb.runCommand('BEAM: Show Dashboard');
    await wb.page.locator('.tabs-container .tab', { hasText: `Dashboard · ${node.node}` }).first().waitFor({ timeout: 30_000 });
    await wb.webview().locator('body', { hasText: /Memory|memory/ }).first().waitFor({ timeout: 60_000 });

    const oldPid = node.process.pid;
    const stopAt = Date.now();
    await node.stop(); // rpc init:stop, then waits for the OS process to exit
    await wb.notification(new RegExp(`lost the connection to ${node.node}`), 60_000);
    console.log(`      init:stop → "lost the connection" notification: ${((Date.now() - stopAt) / 1000).toFixed(1)} s`);
    const lostRow = wb.page.locator('.sidebar .monaco-list-row', { hasText: node.node }).filter({ hasText: 'lost' }).first();
    await lostRow.waitFor({ timeout: 30_000 });
    await wb.page.locator('.tabs-container .tab', { hasText: `Dashboard · ${node.node} (node gone)` }).first().waitFor({ timeout: 30_000 });
    await wb.page.locator('.tabs-container .tab', { hasText: `Supervision tree · ${node.node} (node gone)` }).first().waitFor({ timeout: 30_000 });
    // The view on screen (the dashboard) says so in its own page.
    await wb.webview().locator('body', { hasText: /is gone/ }).first().waitFor({ timeout: 30_000 });
    await wb.screenshot('tls-05-lost');

    // Reattach while the node is still down: told it is not back yet (and nothing breaks).
    await lostRow.hover();
    await lostRow.locator('.action-label[aria-label="Reattach"]').click();
    await wb.notification(/is not back yet/, 60_000);
    await wb.page.keyboard.press('Escape');

    node = await startNode({ name, cookieText, args: tlsArgs(), tls: adminTls });
    assert.notEqual(node.process.pid, oldPid);
    await lostRow.hover();
    await lostRow.locator('.action-label[aria-label="Reattach"]').click();
    await until('the node attached again (no longer lost)', async () => {
      const rows = wb.page.locator('.sidebar .monaco-list-row', { hasText: node.node });
      return (await rows.count()) > 0 && (await rows.filter({ hasText: 'lost' }).count()) === 0;
    }, 60_000);
    await until('our hidden node on the restarted node', async () => (await ourNodes(node))[0], 30_000);
    // The views are open again, live (no "node gone" tab left).
    await wb.page.locator('.tabs-container .tab', { hasText: `Supervision tree · ${node.node}` }).first().waitFor({ timeout: 30_000 });
    await wb.page.locator('.tabs-container .tab', { hasText: `Dashboard · ${node.node}` }).first().waitFor({ timeout: 30_000 });
    await until('no tab says the node is gone', async () => (await wb.page.locator('.tabs-container .tab', { hasText: '(node gone)' }).count()) === 0, 30_000);
    await wb.page.locator('.tabs-container .tab', { hasText: `Supervision tree · ${node.node}` }).first().click();
    await wb.webview().locator('body', { hasText: 'kernel' }).first().waitFor({ timeout: 60_000 });
    await wb.screenshot('tls-06-reattached');
  });

  it('detaches: our hidden node leaves the TLS node', async () => {
    await wb.runCommand('BEAM: Detach');
    await wb.notification(/detached from/, 60_000);
    await until('our hidden node gone', async () => (await ourNodes(node)).length === 0, 30_000);
  });

  it('"Remote node with TLS…" without checking the node\'s certificate: a modal warning first, a warning on attach, then detached clean', async () => {
    await wb.runCommand('BEAM: Attach to Node…');
    await wb.quickPick('Remote node with TLS…');
    await wb.answer('(1/5)', 'localhost');
    await wb.answer('(2/5)', node.node);
    await wb.quickPick("TLS without checking the node's certificate");
    await wb.answer('Path of your client certificate', certs.clientCert);
    await wb.answer('Path of its private key', certs.clientKey);
    const dialog = wb.page.locator('.monaco-dialog-box', { hasText: 'without checking its TLS certificate' });
    await dialog.waitFor({ timeout: 30_000 });
    assert.match((await dialog.textContent()) ?? '', /pose as it/);
    await wb.screenshot('tls-07-insecure-warning');
    await dialog.locator('.monaco-button', { hasText: 'Attach Insecurely' }).click();
    await wb.quickPick('Enter the cookie…');
    await wb.answer('The Erlang cookie of the node', cookieText);
    await wb.quickPick('staging');
    await wb.notification(/TLS certificate is not checked/, 60_000);
    await wb.page.locator('.statusbar', { hasText: `${node.node} · staging` }).waitFor({ timeout: 60_000 });
    await until('our hidden node on the TLS node', async () => (await ourNodes(node))[0], 30_000);
    await wb.runCommand('BEAM: Detach');
    // Several toasts are up by now (the warnings): the status bar and the node tell the outcome.
    await wb.page.locator('.statusbar', { hasText: 'BEAM: not attached' }).waitFor({ timeout: 60_000 });
    await until('our hidden node gone', async () => (await ourNodes(node)).length === 0, 30_000);
  });

  it('the connection drops (a TCP proxy the test owns cuts it; the node keeps running): the notification\'s Reattach, through the same host:port, reopens the process view too', async () => {
    const plain = await startNode({});
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      const upstream = connectTcp(plain.port, '127.0.0.1');
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    try {
      await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
      const proxyPort = (proxy.address() as AddressInfo).port;
      await wb.runCommand('BEAM: Attach to Remote Node…');
      await wb.answer('(1/4)', `localhost:${proxyPort}`);
      await wb.answer('(2/4)', plain.node);
      await wb.quickPick('Cookie file…');
      await wb.answer('Path of the file holding the cookie', plain.cookieFile);
      await wb.quickPick('local');
      await wb.treeItem(plain.node).waitFor({ timeout: 60_000 });
      await wb.runCommand('BEAM: Show Process…');
      await wb.answer('pid (<0.123.0>) or registered name', 'code_server');
      const tab = `code_server · ${plain.node}`;
      await wb.page.locator('.tabs-container .tab', { hasText: tab }).first().waitFor({ timeout: 30_000 });
      await wb.webview().locator('body', { hasText: 'code_server' }).first().waitFor({ timeout: 60_000 });

      const cutAt = Date.now();
      for (const s of [...sockets]) s.destroy();
      await wb.page.locator('.tabs-container .tab', { hasText: `${tab} (node gone)` }).first().waitFor({ timeout: 60_000 });
      console.log(`      connection cut → the view says the node is gone: ${((Date.now() - cutAt) / 1000).toFixed(1)} s`);
      await wb.webview().locator('body', { hasText: /is gone/ }).first().waitFor({ timeout: 30_000 });
      const lostRow = wb.page.locator('.sidebar .monaco-list-row', { hasText: plain.node }).filter({ hasText: 'lost' }).first();
      await lostRow.waitFor({ timeout: 30_000 });
      await wb.screenshot('tls-08-dropped');
      // This time through the notification's own Reattach button.
      await clickInToast(wb, new RegExp(`lost the connection to ${plain.node}`), 'Reattach');
      const reattachAt = Date.now();
      await until('the node attached again through the proxy', async () => {
        const rows = wb.page.locator('.sidebar .monaco-list-row', { hasText: plain.node });
        return (await rows.count()) > 0 && (await rows.filter({ hasText: 'lost' }).count()) === 0 && sockets.size > 0;
      }, 60_000);
      // Same node instance (not restarted): the process view is reopened, live.
      await until('the process view reopened', async () => (await wb.page.locator('.tabs-container .tab', { hasText: tab }).count()) === 1 && (await wb.page.locator('.tabs-container .tab', { hasText: '(node gone)' }).count()) === 0, 30_000);
      await wb.webview().locator('body', { hasText: 'code_server' }).first().waitFor({ timeout: 60_000 });
      console.log(`      Reattach clicked → attached with the process view live again: ${((Date.now() - reattachAt) / 1000).toFixed(1)} s`);
      await wb.screenshot('tls-09-reattached-after-drop');
      await wb.runCommand('BEAM: Detach');
      await wb.page.locator('.statusbar', { hasText: 'BEAM: not attached' }).waitFor({ timeout: 60_000 });
    } finally {
      for (const s of [...sockets]) s.destroy();
      proxy.close();
      await plain.stop();
    }
  });

  it('issue 13: EPMD unreachable (a host that does not resolve) → "Use host:port…" → attached through the node\'s own port', async () => {
    const plain = await startNode({});
    try {
      await wb.runCommand('BEAM: Attach to Remote Node…');
      await wb.answer('(1/4)', 'bl-no-such-host.invalid');
      await wb.answer('(2/4)', plain.node);
      await wb.quickPick('Cookie file…');
      await wb.answer('Path of the file holding the cookie', plain.cookieFile);
      await wb.quickPick('local');
      const text = await clickInToast(wb, /EPMD is not reachable/, 'Use host:port…');
      assert.match(text, /give the node's own distribution port/);
      await wb.answer(`Attach to ${plain.node} through host:port`, `localhost:${plain.port}`);
      await wb.treeItem(plain.node).waitFor({ timeout: 60_000 });
      await wb.page.locator('.statusbar', { hasText: `${plain.node} · local` }).waitFor({ timeout: 60_000 });
      await wb.runCommand('BEAM: Detach');
      await wb.page.locator('.statusbar', { hasText: 'BEAM: not attached' }).waitFor({ timeout: 60_000 });
    } finally {
      await plain.stop();
    }
  });
});
