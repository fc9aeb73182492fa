// Secrets: a cookie file others can read is warned about; the cookie never reaches the audit log,
// saved sessions, JSON output or error messages (good runs, failing runs, a hostile node); no
// process we start gets a cookie on its command line.
import { strict as assert } from 'node:assert';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { attacks, startFakeNode } from './fake-node';
import { startNode, waitFor, type TestNode } from './harness';
import { LspTestClient } from './lsp-client';
import { runCli, type CliRun } from './cli-runner';

const root = path.join(__dirname, '../..');
const bin = path.join(root, 'bin/beam-lens');
const BEAT = `-module(bl_sec_beat).\n-export([beat/1]).\nbeat(N) -> N + 1.\n`;

const run = (args: string[], cwd: string): Promise<CliRun> => runCli(args, { cwd });

/** Every file under dir, as text. */
function allFiles(dir: string): Array<{ file: string; text: string }> {
  if (!existsSync(dir)) return [];
  const out: Array<{ file: string; text: string }> = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...allFiles(p));
    else out.push({ file: p, text: readFileSync(p, 'latin1') });
  }
  return out;
}

describe('secrets stay secret', function () {
  this.timeout(180_000);
  let node: TestNode;
  let cwd: string;

  before(async () => {
    node = await startNode();
    await node.loadModule(BEAT);
    await node.eval(`spawn(fun Loop() -> bl_sec_beat:beat(1), timer:sleep(20), Loop() end), ok.`);
    cwd = mkdtempSync(path.join(tmpdir(), 'bl-secrets-'));
  });
  after(async () => {
    await node?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('warns when the cookie file can be read by others, and not when it is private', async () => {
    const shared = path.join(cwd, 'shared-cookie');
    copyFileSync(node.cookieFile, shared);
    chmodSync(shared, 0o644);
    const loose = await run(['ping', '--node', node.node, '--cookie-file', shared], cwd);
    assert.equal(loose.code, 0, loose.stderr);
    assert.match(loose.stderr, new RegExp(`warning: the cookie file ${shared} can be read by other users \\(mode 644\\): run chmod 600 `));
    const tight = await run(['ping', '--node', node.node, '--cookie-file', node.cookieFile], cwd);
    assert.equal(tight.stderr, '');
  });

  it('the cookie is in no output, audit log, saved session or error, whatever the command and outcome', async () => {
    const conn = ['--node', node.node, '--cookie-file', node.cookieFile];
    const outputs: string[] = [];
    const keep = (r: { code: number; stdout: string; stderr: string }, expect: number, what: string): void => {
      assert.equal(r.code, expect, `${what}: ${r.stderr}`);
      outputs.push(r.stdout, r.stderr);
    };
    keep(await run(['ping', ...conn, '--json'], cwd), 0, 'ping');
    keep(await run(['overview', ...conn, '--json', '--window', '200'], cwd), 0, 'overview');
    keep(await run(['processes', ...conn, '--json', '--limit', '3'], cwd), 0, 'processes');
    keep(await run(['mailboxes', ...conn, '--json', '--duration', '1', '--save', path.join(cwd, 'mailboxes.json')], cwd), 0, 'mailboxes');
    keep(await run(['trace', 'bl_sec_beat:beat/1', ...conn, '--allow-trace', '--allow-probe', '--limit', '3', '--duration', '10'], cwd), 0, 'trace');
    keep(await run(['report', ...conn, '--out', path.join(cwd, 'report.md'), '--duration', '1', '--json'], cwd), 0, 'report');
    // Failures: a cookie given on the command line that is wrong, a node that is not there.
    const wrong = `wrong-${node.cookieText.slice(0, 8)}-secret`;
    const bad = await run(['ping', '--node', node.node, '--cookie', wrong, '--json'], cwd);
    keep(bad, 3, 'wrong cookie');
    assert.ok(!bad.stdout.includes(wrong) && !bad.stderr.includes(wrong));
    keep(await run(['ping', '--node', `nobody_${process.pid}@localhost`, '--cookie-file', node.cookieFile], cwd), 3, 'no such node');
    // A hostile node that knows the cookie: its protocol error does not echo it.
    const fake = await startFakeNode({ cookie: node.cookieText, attack: attacks['garbage after the handshake'] as (typeof attacks)[string] });
    try {
      keep(await run(['ping', '--node', fake.node, '--cookie-file', node.cookieFile, '--json'], cwd), 1, 'hostile node');
    } finally {
      await fake.stop();
    }
    const files = allFiles(cwd).filter((f) => !f.file.endsWith('shared-cookie'));
    assert.ok(files.some((f) => f.file.endsWith(path.join('.beam-lens', 'audit.log'))), 'the trace wrote an audit log');
    assert.ok(files.some((f) => f.file.includes(path.join('.beam-lens', 'sessions'))), 'a session was saved');
    for (const text of outputs) assert.ok(!text.includes(node.cookieText), `cookie printed: ${text.slice(0, 300)}`);
    for (const f of files) assert.ok(!f.text.includes(node.cookieText), `cookie in ${f.file}`);
  });

  it('the language server takes the cookie from a file: the process we start has no secret on its command line', async () => {
    const ws = mkdtempSync(path.join(cwd, 'ws-'));
    writeFileSync(path.join(ws, 'mix.exs'), 'defmodule M.MixProject do\nend\n');
    const lsp = await LspTestClient.start([bin, 'lsp', '--stdio', '--node', node.node, '--cookie-file', node.cookieFile, '--no-saved-sessions'], ws);
    try {
      await waitFor(() => lsp.attachStates.find((s) => s.state === 'attached'), 30_000, 'the language server to attach');
      // Every process on this machine whose command line mentions the node: none carries the cookie.
      const cmdlines = readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .map((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'latin1').replace(/\0/g, ' ');
          } catch {
            return '';
          }
        })
        .filter((c) => c.includes(node.node) && c.includes(' lsp '));
      assert.ok(cmdlines.length > 0, 'the language server process is visible');
      for (const c of cmdlines) assert.ok(!c.includes(node.cookieText), 'cookie on a command line');
    } finally {
      await lsp.stop();
    }
    // The extension starts its language server through Node IPC with no arguments at all (it sends
    // facts; the server never connects to a node for it): no cookie can be on that command line.
    const ext = readFileSync(path.join(root, 'src/extension/extension.ts'), 'utf8');
    assert.match(ext, /run: \{ module, transport: TransportKind\.ipc \}, debug: \{ module, transport: TransportKind\.ipc \}/);
    const spawning = allSources(path.join(root, 'src')).filter((f) => /from 'node:child_process'|require\('child_process'\)/.test(f.text));
    for (const f of spawning) assert.doesNotMatch(f.text, /cookie/i, `${f.file} starts processes and mentions cookies: pass secrets by env or stdin`);
  });
});

function allSources(dir: string): Array<{ file: string; text: string }> {
  return allFiles(dir).filter((f) => f.file.endsWith('.ts'));
}
