// Bounded decoding against a hostile fake node: each attack must end the CLI with a typed
// `protocol` error that says what the node sent (never a timeout), with the CLI's peak memory
// under 300 MB; in-process, the other connections of the same local node keep working.
import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Cookie, DistError, connect, limitsForMessageMb, listNodes } from '../../../src/erldist';
import { makeLocalNode } from '../../../src/erldist/connect';
import { attacks, startFakeNode, type FakeNode } from '../fake-node';
import { shortHost, startNode, type TestNode } from '../harness';

const root = path.join(__dirname, '../../..');
const bin = path.join(root, 'bin/beam-lens');
const maxRss = path.join(root, 'test/fixtures/max-rss.cjs');

interface Measured {
  attack: string;
  code: number;
  peakMb: number;
  secondsToError: number;
  message: string;
}
const results: Measured[] = [];

function runCli(args: string[]): Promise<{ code: number; stderr: string; endedAt: number }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--require', maxRss, bin, ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000, maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
      const code = err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : err ? -1 : 0;
      resolve({ code, stderr, endedAt: Date.now() });
    });
  });
}

describe('hostile fake node: bounded decoding', function () {
  this.timeout(120_000);
  let dir: string;
  let cookieText: string;
  let cookieFile: string;
  let real: TestNode;

  before(async () => {
    if (!existsSync(path.join(root, 'dist/cli.js'))) execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    dir = mkdtempSync(path.join(tmpdir(), 'beam-lens-hostile-'));
    cookieText = randomBytes(16).toString('hex');
    cookieFile = path.join(dir, 'cookie');
    writeFileSync(cookieFile, cookieText, { mode: 0o600 });
    real = await startNode();
  });
  after(async () => {
    await real?.stop();
    rmSync(dir, { recursive: true, force: true });
    if (results.length > 0) {
      console.log('\n    attack | exit | peak MB | s to error | message');
      for (const r of results) console.log(`    ${r.attack} | ${r.code} | ${r.peakMb} | ${r.secondsToError} | ${r.message}`);
    }
  });

  for (const [name, attack] of Object.entries(attacks)) {
    it(`${name}: the CLI ends with a protocol error naming what was sent, under 300 MB`, async () => {
      const fake: FakeNode = await startFakeNode({ cookie: cookieText, attack });
      try {
        const r = await runCli(['ping', '--node', fake.node, '--cookie-file', cookieFile]);
        const rss = /MAX_RSS_KB=(\d+)/.exec(r.stderr);
        const message = r.stderr.replace(/\n?MAX_RSS_KB=\d+\n?/, '').trim();
        assert.ok(rss, `no peak memory reported: ${r.stderr}`);
        const peakMb = Math.round(Number(rss[1]) / 1024);
        const started = fake.attackStarts[0];
        assert.ok(started !== undefined, `the attack never started: ${message}`);
        results.push({ attack: name, code: r.code, peakMb, secondsToError: Math.round((r.endedAt - started) / 100) / 10, message });
        assert.equal(r.code, 1, message);
        assert.match(message, new RegExp(`node ${fake.node} sent .+; BEAM Lens closed the connection`), message);
        assert.doesNotMatch(message, /did not answer/);
        assert.ok(peakMb < 300, `peak memory ${peakMb} MB`);
      } finally {
        await fake.stop();
      }
    });
  }

  it('the message cap is configurable: a real 2 MiB reply passes by default and is refused at --max-message-mb 1', async () => {
    const big = await connect({ node: real.node, cookie: real.cookie, timeoutMs: 5000 });
    const small = await connect({ node: real.node, cookie: real.cookie, timeoutMs: 5000, limits: limitsForMessageMb(1) });
    try {
      const reply = await big.rpc('binary', 'copy', [Buffer.from('x'), 2 * 1024 * 1024]);
      assert.ok(Buffer.isBuffer(reply) && reply.length === 2 * 1024 * 1024);
      await assert.rejects(small.rpc('binary', 'copy', [Buffer.from('x'), 2 * 1024 * 1024]), (e: unknown) => e instanceof DistError && e.kind === 'protocol' && /sent a frame of \d+ bytes; the limit is 1048576 bytes/.test(e.message));
    } finally {
      await Promise.all([big.close(), small.close()]);
    }
    const r = await runCli(['ping', '--node', real.node, '--cookie-file', real.cookieFile, '--max-message-mb', '0']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /message size limit must be from 1 to 4095 MiB/);
  });

  it('a peer that floods during the handshake is cut off with a protocol error, not buffered', async () => {
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      // A status message, then megabytes at once where the challenge should be.
      const junk = Buffer.alloc(8 << 20, 0x41);
      const pump = (): void => {
        while (!socket.destroyed && socket.write(junk));
      };
      socket.once('data', () => socket.write(Buffer.from([0, 3, 115, 111, 107])));
      socket.on('drain', pump);
      socket.once('data', pump);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const err = await connect({ node: 'flood@127.0.0.1', cookie: new Cookie('x'), port, timeoutMs: 5000 }).then(
        () => assert.fail('connected to a flood'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof DistError);
      assert.equal(err.kind, 'protocol', err.message);
      assert.match(err.message, /sent (a malformed challenge|more than 1048576 bytes nobody asked for)/);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('an EPMD that never stops listing names is cut off after 1 MiB', async () => {
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      const names = Buffer.from('name x at port 1\n'.repeat(60_000));
      const pump = (): void => {
        while (!socket.destroyed && socket.write(names));
      };
      socket.on('drain', pump);
      socket.once('data', () => {
        socket.write(Buffer.from([0, 0, 17, 17]));
        pump();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const epmdPort = (server.address() as net.AddressInfo).port;
      await assert.rejects(listNodes('127.0.0.1', { epmdPort, timeoutMs: 10_000 }), (e: unknown) => e instanceof DistError && e.kind === 'protocol' && /more than 1048576 bytes/.test(e.message));
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('in one process, every attack ends only its own connection: the real node keeps answering', async () => {
    const local = makeLocalNode(shortHost());
    const good = await connect({ node: real.node, cookie: real.cookie, localNode: local, timeoutMs: 5000 });
    try {
      for (const [name, attack] of Object.entries(attacks)) {
        const fake = await startFakeNode({ cookie: cookieText, attack });
        try {
          const bad = await connect({ node: fake.node, cookie: new Cookie(cookieText), localNode: local, timeoutMs: 5000, adoptTickTime: false });
          const err = await bad.rpc('erlang', 'node', [], { timeoutMs: 30_000 }).then(
            () => assert.fail(`${name}: the fake node's rpc succeeded`),
            (e: unknown) => e,
          );
          assert.ok(err instanceof DistError, `${name}: ${String(err)}`);
          assert.equal(err.kind, 'protocol', `${name}: ${err.message}`);
          assert.equal(bad.closeError?.kind, 'protocol');
          assert.ok(good.isOpen, `${name} closed the good connection`);
          assert.equal(String(await good.rpc('erlang', 'node', [])), real.node, `after ${name}`);
        } finally {
          await fake.stop();
        }
      }
    } finally {
      await good.close();
    }
  });
});
