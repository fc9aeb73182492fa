// Bounded decoding against a hostile fake node: each attack must end the CLI with a typed
// `protocol` error that says what the node sent (never a timeout), with the CLI's peak memory
// under 300 MB; in-process, the other connections of the same local node keep working.
import { strict as assert } from 'node:assert';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Cookie, DistError, connect } from '../../../src/erldist';
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
