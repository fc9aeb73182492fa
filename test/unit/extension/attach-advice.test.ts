// The editor's side of TLS attach and Reattach, without VS Code: the TLS dialog's validation and
// the flags it hands to core's attach service, what a failed attach says and offers (by the
// error's kind and TLS issue, with errors made by the real code paths: core's attach against a
// fake listener, the TLS classifier), the EPMD-unreachable → host:port offer, and the node
// manager's lost nodes that the sidebar lists with Reattach.
import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { attach } from '../../../src/core/attach';
import { Attachment, type AttachmentConnection } from '../../../src/core/attach/attachment';
import { DistError, tlsFromFlags, tlsIssueOf, type LocalProcess, type TlsOptions } from '../../../src/erldist';
import { tlsProblem } from '../../../src/erldist/tls';
import { errorKindOf } from '../../../src/errors';
import { Emitter, type IDisposable } from '../../../src/extension/lifecycle';
import { ACTION_LABELS, attachAdvice, reopenPlan, describeTls, savedTlsOf, stillDown, tlsFlagsOf, tlsPathProblem, tlsSettingsProblem, type FileState } from '../../../src/extension/model/attach-advice';
import { attachItems } from '../../../src/extension/model/connections';
import { SidebarData } from '../../../src/extension/model/sidebar-data';
import { NodeManager, type AttachTarget } from '../../../src/extension/nodes';

const adviceOf = (node: string, err: unknown, c: Parameters<typeof attachAdvice>[2] = {}) =>
  attachAdvice(node, { kind: errorKindOf(err), tlsIssue: tlsIssueOf(err), message: err instanceof Error ? err.message : String(err) }, c);

/** A listener that answers every connection with `reply` (bytes) and closes. */
async function listener(reply: (socket: import('node:net').Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(reply);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  assert.ok(addr !== null && typeof addr === 'object');
  return { server, port: addr.port };
}

async function attachError(request: Parameters<typeof attach>[0]): Promise<unknown> {
  try {
    const a = await attach(request);
    await a.detach();
  } catch (err) {
    return err;
  }
  assert.fail('attach should have failed');
}

describe('attach dialog: TLS settings (paths only)', () => {
  const states: Record<string, FileState> = { '/certs/client.pem': 'file', '/certs': 'directory', '/certs/secret.key': 'unreadable' };
  const state = (p: string): FileState => states[p] ?? 'missing';

  it('checks each path as it is typed: full path, an existing readable file; empty only where optional', () => {
    assert.equal(tlsPathProblem('/certs/client.pem', 'client certificate', false, state), null);
    assert.equal(tlsPathProblem('', 'key', true, state), null);
    assert.match(tlsPathProblem('', 'ssl_dist optfile', false, state) ?? '', /Enter the path of the ssl_dist optfile/);
    assert.match(tlsPathProblem('certs/client.pem', 'CA file', true, state) ?? '', /full path/);
    assert.match(tlsPathProblem('/certs', 'CA file', true, state) ?? '', /is a folder/);
    assert.match(tlsPathProblem('/certs/nope.pem', 'CA file', true, state) ?? '', /does not exist/);
    assert.match(tlsPathProblem('/certs/secret.key', 'key', true, state) ?? '', /cannot be read/);
  });

  it('checks a whole setting: optfile or files, a key needs its certificate, full paths', () => {
    assert.equal(tlsSettingsProblem({ cert: '/c.pem', key: '/k.pem', ca: '/ca.pem' }), null);
    assert.equal(tlsSettingsProblem({ optfile: '/ssl_dist.conf' }), null);
    assert.equal(tlsSettingsProblem({ insecure: true }), null);
    assert.match(tlsSettingsProblem({ optfile: '/o.conf', ca: '/ca.pem' }) ?? '', /either the ssl_dist optfile or the certificate files/);
    assert.match(tlsSettingsProblem({ key: '/k.pem' }) ?? '', /needs its client certificate/);
    assert.match(tlsSettingsProblem({}) ?? '', /Give the certificate files or the ssl_dist optfile/);
    assert.match(tlsSettingsProblem({ cert: 'c.pem' }) ?? '', /full paths/);
  });

  it('hands core the CLI\'s TLS flags, and a lost node\'s flags turn back into the same setting', () => {
    const t = { cert: '/c.pem', key: '/k.pem', ca: '/ca.pem' };
    assert.deepEqual(tlsFlagsOf(t), { tlsCert: '/c.pem', tlsKey: '/k.pem', tlsCa: '/ca.pem' });
    assert.deepEqual(tlsFlagsOf({ optfile: '/o.conf', insecure: true }), { sslDistOptfile: '/o.conf', tlsInsecure: true });
    assert.equal(tlsFlagsOf(undefined), undefined);
    for (const s of [t, { optfile: '/o.conf' }, { insecure: true }]) assert.deepEqual(savedTlsOf(tlsFlagsOf(s) ?? {}), s);
    assert.equal(describeTls(undefined), 'plain TCP');
    assert.equal(describeTls(t), 'TLS with c.pem');
    assert.equal(describeTls({ insecure: true }), 'TLS without a client certificate · node certificate NOT checked');
  });

  it('core reads the files the dialog named (the same path as --tls-…); insecure warns, and no key bytes reach a message', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bl-tls-dialog-'));
    try {
      const cert = path.join(dir, 'c.pem');
      const key = path.join(dir, 'k.pem');
      writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
      writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n', { mode: 0o644 });
      const warnings: string[] = [];
      const opts = (await tlsFromFlags(tlsFlagsOf({ cert, key, insecure: true }) ?? {}, (m) => warnings.push(m))) as TlsOptions;
      assert.equal(opts.verify, false);
      assert.ok(warnings.some((w) => /not checked/.test(w)), 'insecure is warned about');
      assert.ok(warnings.some((w) => /can be read by other users/.test(w)), 'a key file others can read is warned about');
      assert.ok(!JSON.stringify(opts).includes('SECRETKEYBYTES') && !warnings.join().includes('SECRETKEYBYTES'));
      mkdirSync(path.join(dir, 'd'));
      await assert.rejects(tlsFromFlags(tlsFlagsOf({ cert: path.join(dir, 'missing.pem') }) ?? {}, () => undefined), /does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('attach errors: what the editor says and offers', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  it('a TLS node attached without TLS (a real attach through core against a listener that answers with a TLS alert) → "Set Up TLS…"', async () => {
    const { server, port } = await listener((s) => s.end(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])));
    servers.push(server);
    const err = await attachError({ node: 'tlsnode@localhost', host: '127.0.0.1', port, cookie: { kind: 'value', value: 'c' }, timeoutMs: 3000 });
    assert.equal(tlsIssueOf(err), 'tlsRequired');
    const a = adviceOf('tlsnode@localhost', err, { port });
    assert.deepEqual(a.actions, ['setUpTls']);
    assert.match(a.text, /uses TLS distribution.*client certificate, its key and the CA/);
    assert.doesNotMatch(a.text, /--tls/, 'the editor speaks of files, not of CLI flags');
  });

  it('TLS against a plain TCP node (a real TLS attempt against a listener that closes on the ClientHello, as a plain node does) → "Attach Without TLS"', async () => {
    const { server, port } = await listener((s) => s.once('data', () => s.destroy()));
    servers.push(server);
    const err = await attachError({ node: 'plain@localhost', host: '127.0.0.1', port, cookie: { kind: 'value', value: 'c' }, tls: { tlsInsecure: true }, timeoutMs: 3000, warn: () => undefined });
    assert.equal(tlsIssueOf(err), 'notTls', String(err));
    assert.deepEqual(adviceOf('plain@localhost', err, { port, tls: { insecure: true } }).actions, ['withoutTls', 'setUpTls']);
  });

  it('an untrusted server certificate → "Choose CA File…" (not with an optfile: its cacertfile is to fix); a missing or rogue client certificate → "Set Up TLS…"', () => {
    const files: TlsOptions = { verify: true, source: '--tls-ca', cert: Buffer.from('x') };
    const untrusted = tlsProblem(Object.assign(new Error('unable to verify the first certificate'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }), 'n@h', 'h:1', files);
    const a = adviceOf('n@h', untrusted, { tls: { cert: '/c.pem', ca: '/rogue-ca.pem' } });
    assert.deepEqual(a.actions, ['chooseCa', 'setUpTls']);
    assert.match(a.text, /not trusted \(not signed by a CA in rogue-ca\.pem\)\. Choose the CA file/);
    assert.deepEqual(adviceOf('n@h', untrusted, { tls: { optfile: '/ssl_dist.conf' } }).actions, ['setUpTls']);
    assert.match(adviceOf('n@h', untrusted, { tls: { optfile: '/ssl_dist.conf' } }).text, /fix cacertfile in ssl_dist\.conf/);

    const alert = (code: string) => Object.assign(new Error(code), { code });
    const missing = tlsProblem(alert('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'), 'n@h', 'h:1', { verify: true, source: '--tls-ca' });
    assert.equal(tlsIssueOf(missing), 'clientCertMissing');
    assert.match(adviceOf('n@h', missing).text, /requires a client certificate and none was given/);
    const rogue = tlsProblem(alert('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'), 'n@h', 'h:1', files);
    assert.equal(tlsIssueOf(rogue), 'clientCertRejected');
    const r = adviceOf('n@h', rogue, { tls: { cert: '/rogue.pem' } });
    assert.deepEqual(r.actions, ['setUpTls']);
    assert.match(r.text, /rejected our client certificate rogue\.pem/);
    // Every TLS failure is kind 'auth' in core: none of them may offer the cookie again.
    for (const e of [untrusted, missing, rogue]) assert.ok(!adviceOf('n@h', e).actions.includes('cookieAgain'));
  });

  it('a wrong cookie → "Enter the Cookie Again…"', () => {
    const a = adviceOf('n@h', new DistError('auth', 'node n@h rejected the cookie: check --cookie, --cookie-file or ~/.erlang.cookie'));
    assert.deepEqual(a.actions, ['cookieAgain']);
    assert.match(a.text, /cannot attach to n@h: .*cookie/);
    assert.equal(ACTION_LABELS.cookieAgain, 'Enter the Cookie Again…');
  });

  it('issue 13: EPMD unreachable → "Use host:port…", only when no port was given (a refused port is not EPMD\'s fault)', async () => {
    const unreachable = new DistError('unreachable', 'cannot reach EPMD on db1:4369 (connection refused)');
    const a = adviceOf('app@db1', unreachable, {});
    assert.deepEqual(a.actions, ['hostPort']);
    assert.match(a.text, /If EPMD is not reachable \(firewall, SSH tunnel\), give the node's own distribution port/);
    assert.equal(ACTION_LABELS.hostPort, 'Use host:port…');
    // A real refused port through core's attach (the port given, so no EPMD): no host:port offer.
    const { server, port } = await listener(() => undefined);
    await new Promise((r) => server.close(r));
    const refused = await attachError({ node: 'app@localhost', host: '127.0.0.1', port, cookie: { kind: 'value', value: 'c' }, timeoutMs: 3000 });
    assert.equal(errorKindOf(refused), 'unreachable');
    assert.deepEqual(adviceOf('app@localhost', refused, { port }).actions, []);
    assert.deepEqual(adviceOf('app@localhost', new DistError('noSuchNode', 'no node named app'), {}).actions, []);
  });

  it('after a lost node, "not back yet" kinds ask to Reattach later; settings problems go to the dialog', () => {
    for (const k of ['noSuchNode', 'unreachable', 'nodeDown', 'timeout'] as const) assert.ok(stillDown(k), k);
    for (const k of ['auth', 'usage', 'capability', 'protocol'] as const) assert.ok(!stillDown(k), k);
  });
});

class FakeConnection implements AttachmentConnection {
  isOpen = true;
  private readonly listeners = new Set<(r: string) => void>();
  constructor(readonly peer: string) {}
  readonly localName = 'beam_lens_test@h';
  rpc(): Promise<never> {
    return Promise.reject(new Error('no rpc in this test'));
  }
  spawn(): LocalProcess {
    throw new Error('no spawn in this test');
  }
  async close(): Promise<void> {
    this.drop('closed by us');
  }
  onClose(l: (r: string) => void): IDisposable {
    this.listeners.add(l);
    return { dispose: () => this.listeners.delete(l) };
  }
  drop(reason: string): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    for (const l of [...this.listeners]) l(reason);
    this.listeners.clear();
  }
}

describe('lost nodes: listed with Reattach until reattached or forgotten', () => {
  function setup() {
    let conn = new FakeConnection('demo@h');
    const told: string[] = [];
    const nodes = new NodeManager({
      attach: async (t) => {
        if (!conn.isOpen) conn = new FakeConnection('demo@h');
        return new Attachment(conn, { env: t.env });
      },
      info: () => undefined,
      warn: () => undefined,
      lost: (node, reason) => told.push(`${node}: ${reason}`),
    });
    const target: AttachTarget = { node: 'demo@vm', env: 'staging', cookie: { kind: 'file', path: '/c' }, tls: { tlsCert: '/c.pem', tlsKey: '/k.pem', tlsCa: '/ca.pem' } };
    return { nodes, target, told, conn: () => conn };
  }

  it('a dropped connection makes a lost node (reason, how it was attached incl. TLS), told once; reattaching removes it', async () => {
    const { nodes, target, told, conn } = setup();
    await nodes.attach(target);
    const detached = new Promise((r) => nodes.onDidDetach(r));
    conn().drop('node demo@h went down');
    await detached;
    assert.deepEqual(told, ['demo@h: node demo@h went down']);
    const [lost] = nodes.lost();
    assert.equal(lost?.node, 'demo@h');
    assert.equal(lost?.reason, 'node demo@h went down');
    assert.equal(lost?.env, 'staging');
    assert.deepEqual(lost?.target.tls, target.tls, 'Reattach can use the same TLS files');
    assert.deepEqual(lost?.target.cookie, { kind: 'file', path: '/c' }, 'and the cookie from where it was');

    const data = new SidebarData(nodes, () => 5000, () => []);
    assert.deepEqual((await data.children()).map((i) => `${i.kind}:${i.node}`), ['lostNode:demo@h']);

    const again = await nodes.attach(lost!.target);
    assert.equal(again.node, 'demo@h');
    assert.deepEqual(nodes.lost(), [], 'attached again: no longer lost');
    assert.deepEqual((await data.children()).map((i) => `${i.kind}:${i.node}`), ['node:demo@h']);
    data.dispose();
    await nodes.shutdown();
  });

  it('a detach by the user is not a loss; a lost node can be forgotten (the sidebar is told)', async () => {
    const { nodes, target, told, conn } = setup();
    const n = await nodes.attach(target);
    await nodes.detach(n.node);
    assert.deepEqual(nodes.lost(), []);
    assert.deepEqual(told, []);
    await nodes.attach(target);
    const detached = new Promise((r) => nodes.onDidDetach(r));
    conn().drop('lost the connection to demo@h: nothing received for 75 s');
    await detached;
    const changes = new Emitter<void>();
    let fired = 0;
    changes.event(() => fired++);
    nodes.onDidChange((c) => c === undefined && changes.fire());
    assert.equal(nodes.forgetLost('demo@h'), true);
    assert.equal(fired, 1);
    assert.equal(nodes.forgetLost('demo@h'), false);
    assert.deepEqual(nodes.lost(), []);
    await nodes.shutdown();
  });

  it('reopens every view after a dropped connection; after a restart, not the process views (their pids named the previous run)', () => {
    const specs = [{ kind: 'tree' }, { kind: 'detail', pid: '<0.90.0>' }, { kind: 'table', sort: 'memory' }, { kind: 'dashboard' }];
    const lostAt = 1_000_000;
    const dropped = reopenPlan(specs, lostAt, lostAt + 30_000, 3_600_000);
    assert.equal(dropped.restarted, false);
    assert.deepEqual(dropped.reopen, specs);
    assert.deepEqual(dropped.keepStale, []);
    const restarted = reopenPlan(specs, lostAt, lostAt + 30_000, 12_000);
    assert.equal(restarted.restarted, true);
    assert.deepEqual(restarted.reopen.map((s) => s.kind), ['tree', 'table', 'dashboard']);
    assert.deepEqual(restarted.keepStale, [specs[1]]);
    assert.equal(reopenPlan(specs, lostAt, lostAt + 30_000, null).restarted, false, 'no overview: nothing is assumed');
  });

  it('the attach picker offers "Remote node with TLS…" and shows a saved connection\'s TLS', () => {
    const items = attachItems([], 'h', [{ node: 'app@db1', host: 'db1', env: 'production', cookie: { kind: 'secret' }, tls: { cert: '/c.pem', ca: '/ca.pem' } }], new Set());
    assert.deepEqual(items.map((i) => i.label), ['app@db1', 'Remote node…', 'Remote node with TLS…']);
    assert.match(items[0]?.detail ?? '', /cookie in secret storage · TLS with c\.pem/);
    assert.deepEqual(items[2]?.action, { kind: 'remote', tls: true });
  });
});
