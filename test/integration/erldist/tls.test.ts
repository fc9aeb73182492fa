// TLS distribution against real nodes started with -proto_dist inet_tls -ssl_dist_optfile
// (mutual TLS, certificates made with openssl here): every read-only command, a trace with
// cleanup, the options file, a tunnel, and the errors a person can act on.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Tuple, isAtom } from '../../../src/etf';
import { TlsSecret } from '../../../src/erldist';
import { startNode, waitFor, type TestNode } from '../harness';
import { LspTestClient } from '../lsp-client';
import { makeCerts, type TestCerts } from '../tls-certs';
import { runCli, type CliRun } from '../cli-runner';

const root = path.join(__dirname, '../../..');
const bin = path.join(root, 'bin/beam-lens');

const run = (args: string[], cwd?: string): Promise<CliRun> => runCli(args, cwd !== undefined ? { cwd } : {});

const BEAT = `-module(bl_tls_beat).\n-export([beat/1]).\nbeat(N) -> N + 1.\n`;

describe('TLS distribution (inet_tls_dist, mutual TLS)', function () {
  this.timeout(240_000);
  let certs: TestCerts;
  let node: TestNode;
  let plain: TestNode;
  let tlsFlags: string[];

  before(async () => {
    if (!existsSync(path.join(root, 'dist/cli.js'))) execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    certs = makeCerts();
    const adminTls = {
      cert: readFileSync(certs.clientCert),
      key: new TlsSecret(readFileSync(certs.clientKey)),
      ca: readFileSync(certs.ca),
      verify: true,
      source: 'test',
    };
    [node, plain] = await Promise.all([startNode({ args: ['-proto_dist', 'inet_tls', '-ssl_dist_optfile', certs.nodeOptfile], tls: adminTls }), startNode()]);
    tlsFlags = ['--tls-cert', certs.clientCert, '--tls-key', certs.clientKey, '--tls-ca', certs.ca];
    await node.loadModule(BEAT);
    await node.eval(`spawn(fun Loop() -> bl_tls_beat:beat(1), timer:sleep(20), Loop() end), ok.`);
  });
  after(async () => {
    await Promise.all([node?.stop(), plain?.stop()]);
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  it('attaches with --tls-cert/--tls-key/--tls-ca and runs every read-only command', async () => {
    const conn = ['--node', node.node, '--cookie-file', node.cookieFile, ...tlsFlags];
    const ping = await run(['ping', ...conn, '--json']);
    assert.equal(ping.code, 0, ping.stderr);
    assert.equal((JSON.parse(ping.stdout) as { node: string }).node, node.node);
    assert.equal(ping.stderr, '', 'no warning for verified TLS with private keys');
    for (const args of [['overview', '--window', '200'], ['processes', '--limit', '5'], ['tree'], ['mailboxes', '--duration', '1'], ['ports'], ['ets'], ['findings', '--duration', '1']]) {
      const r = await run([...args, ...conn, '--json']);
      assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
      JSON.parse(r.stdout);
    }
  });

  it('runs a trace session over TLS and the node is left clean', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bl-tls-trace-'));
    try {
      const r = await run(['trace', 'bl_tls_beat:beat/1', '--node', node.node, '--cookie-file', node.cookieFile, ...tlsFlags, '--allow-trace', '--allow-probe', '--limit', '5', '--duration', '20'], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /bl_tls_beat:beat\(1\)/);
      await waitFor(
        async () => {
          const t = (await node.eval(`{erlang:trace_info({bl_tls_beat, beat, 1}, traced), whereis(beam_lens_tracer), code:is_loaded(beam_lens_probe)}.`)) as Tuple;
          const [traced, tracer, loaded] = t.elements;
          return traced instanceof Tuple && isAtom(traced.elements[1], 'false') && isAtom(tracer, 'undefined') && isAtom(loaded, 'false');
        },
        10_000,
        'the node to be clean after the trace',
      );
      const audit = readFileSync(path.join(dir, '.beam-lens/audit.log'), 'utf8');
      assert.match(audit, /"action":"trace start"/);
      const keyLine = readFileSync(certs.clientKey, 'utf8').split('\n')[1] as string;
      for (const text of [audit, r.stdout, r.stderr]) {
        assert.ok(!text.includes(keyLine) && !text.includes(node.cookieText), 'key material or cookie in the output or audit log');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads the client options of an -ssl_dist_optfile, and works through --host/--port (a tunnel)", async () => {
    const viaOptfile = await run(['ping', '--node', node.node, '--cookie-file', node.cookieFile, '--ssl-dist-optfile', certs.clientOptfile]);
    assert.equal(viaOptfile.code, 0, viaOptfile.stderr);
    const tunnel = await run(['ping', '--node', node.node, '--host', '127.0.0.1', '--port', String(node.port), '--cookie-file', node.cookieFile, ...tlsFlags]);
    assert.equal(tunnel.code, 0, tunnel.stderr);
  });

  it('says what to do: untrusted node certificate, --tls-insecure warns, a key others can read warns', async () => {
    const conn = ['--node', node.node, '--cookie-file', node.cookieFile];
    const untrusted = await run(['ping', ...conn, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey]);
    assert.equal(untrusted.code, 3, untrusted.stderr);
    assert.match(untrusted.stderr, /the TLS certificate of node \S+ is not trusted .*pass --tls-ca FILE/);
    const wrongCa = await run(['ping', ...conn, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey, '--tls-ca', certs.rogueCa]);
    assert.equal(wrongCa.code, 3);
    assert.match(wrongCa.stderr, /is not trusted/);
    const insecure = await run(['ping', ...conn, '--tls-cert', certs.clientCert, '--tls-key', certs.clientKey, '--tls-insecure']);
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.match(insecure.stderr, /warning: the node's TLS certificate is not checked \(--tls-insecure\)/);
    const shared = path.join(certs.dir, 'shared.key');
    copyFileSync(certs.clientKey, shared);
    chmodSync(shared, 0o644);
    const loose = await run(['ping', ...conn, '--tls-cert', certs.clientCert, '--tls-key', shared, '--tls-ca', certs.ca]);
    assert.equal(loose.code, 0, loose.stderr);
    assert.match(loose.stderr, /warning: the TLS key file \S+shared\.key can be read by other users \(mode 644\): run chmod 600/);
    const keyText = readFileSync(certs.clientKey, 'utf8').split('\n')[1] as string;
    for (const r of [untrusted, wrongCa, insecure, loose]) assert.ok(!r.stderr.includes(keyText) && !r.stdout.includes(keyText), 'key material printed');
  });

  it('a client certificate the node does not trust, or none, is rejected clearly', async () => {
    const conn = ['--node', node.node, '--cookie-file', node.cookieFile, '--tls-ca', certs.ca];
    const rogue = await run(['ping', ...conn, '--tls-cert', certs.rogueCert, '--tls-key', certs.rogueKey]);
    assert.equal(rogue.code, 3, rogue.stderr);
    assert.match(rogue.stderr, /rejected our TLS client certificate/);
    const none = await run(['ping', ...conn]);
    assert.equal(none.code, 3, none.stderr);
    assert.match(none.stderr, /rejected our TLS client certificate .*requires a client certificate and we sent none: pass --tls-cert/);
  });

  it('plain TCP against a TLS node, and TLS against a plain node, each say which to use', async () => {
    const plainToTls = await run(['ping', '--node', node.node, '--cookie-file', node.cookieFile]);
    assert.equal(plainToTls.code, 3, plainToTls.stderr);
    assert.match(plainToTls.stderr, /uses TLS distribution.*pass --tls-ca/);
    const tlsToPlain = await run(['ping', '--node', plain.node, '--cookie-file', plain.cookieFile, ...tlsFlags, '--timeout', '3000']);
    assert.equal(tlsToPlain.code, 3, tlsToPlain.stderr);
    assert.match(tlsToPlain.stderr, /plain TCP distribution.*drop the TLS options/);
  });

  it('the language server takes the same flags and attaches over TLS', async () => {
    const ws = mkdtempSync(path.join(tmpdir(), 'bl-tls-lsp-'));
    const lsp = await LspTestClient.start([bin, 'lsp', '--stdio', '--node', node.node, '--cookie-file', node.cookieFile, ...tlsFlags, '--no-saved-sessions'], ws);
    try {
      const state = await waitFor(() => lsp.attachStates.find((s) => s.state === 'attached' || s.state === 'error'), 30_000, 'the language server to attach');
      assert.equal(state.state, 'attached', state.message);
    } finally {
      await lsp.stop();
      rmSync(ws, { recursive: true, force: true });
    }
  });
});
