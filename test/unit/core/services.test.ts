// The core services every face uses: target parsing, cookies, the attach error phase, the
// cancellation bridge, and the audited run (consent -> audit -> run -> save -> audit end).
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { attach, parseEnvTag, parseHostPort, parseNodeName, parseTarget, resolveAttachCookie } from '../../../src/core/attach';
import { linkSignals } from '../../../src/core/runs/cancel';
import { Attachment, type AttachmentConnection } from '../../../src/core/attach/attachment';
import { describeClaim } from '../../../src/core/attach/run-claim';
import { fileAuditLog, type AuditEntry } from '../../../src/core/records/audit';
import { printableLimits, runAudited, type RunOutcome } from '../../../src/core/runs/run';
import type { TraceResult } from '../../../src/core/runs/trace';
import { shortHostname } from '../../../src/erldist';
import { BeamLensError, errorKindOf, errorPhaseOf } from '../../../src/errors';
import { attachFlags, attachRequestFromFlags } from '../../../src/cli/connection';
import { lspSpec } from '../../../src/cli/commands/lsp';
import { parseArgs } from '../../../src/cli/args';

function usage(f: () => unknown, re: RegExp): void {
  assert.throws(f, (err: unknown) => err instanceof BeamLensError && err.kind === 'usage' && re.test(err.message));
}

describe('core attach: targets', () => {
  it('parses name@host, bare names (this host, once) and host:port', () => {
    assert.equal(parseNodeName('demo@localhost'), 'demo@localhost');
    assert.equal(parseNodeName(' demo '), `demo@${shortHostname()}`);
    assert.ok(!shortHostname().includes('.'));
    assert.deepEqual(parseHostPort('localhost:9100'), { host: 'localhost', port: 9100 });
    assert.deepEqual(parseHostPort('[::1]:9100'), { host: '::1', port: 9100 });
    assert.deepEqual(parseHostPort('db.example.com'), { host: 'db.example.com' });
    assert.deepEqual(parseTarget({ node: 'demo@box', host: 'localhost:9100' }), { node: 'demo@box', host: 'localhost', port: 9100 });
    assert.deepEqual(parseTarget({ node: 'demo@box' }), { node: 'demo@box', host: 'box' });
    assert.deepEqual(parseTarget({ node: 'demo@box', port: 4370 }), { node: 'demo@box', host: 'box', port: 4370 });
  });

  it('says what is wrong with a bad target, as a usage error', () => {
    usage(() => parseNodeName(''), /a node name is required/);
    usage(() => parseNodeName('a@b@c'), /more than one @/);
    usage(() => parseNodeName('bad name@h'), /is not a node name/);
    usage(() => parseHostPort('h:99999'), /TCP port \(1-65535\)/);
    usage(() => parseTarget({ node: 'a@h', host: 'h:1', port: 2 }), /two ports given/);
    usage(() => parseEnvTag('prod'), /local, staging or production, got "prod"/);
  });

  it('reads the cookie from a value, a file or ~/.erlang.cookie, with one set of texts', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'bl-home-'));
    try {
      await assert.rejects(resolveAttachCookie({ kind: 'default' }, home), /no cookie given and .*\.erlang\.cookie does not exist: pass --cookie-file FILE \(or --cookie C\)/);
      writeFileSync(path.join(home, '.erlang.cookie'), 'from-home\n');
      assert.equal((await resolveAttachCookie(undefined, home)).reveal(), 'from-home');
      assert.equal((await resolveAttachCookie({ kind: 'value', value: 's3cret' })).reveal(), 's3cret');
      assert.equal((await resolveAttachCookie({ kind: 'file', path: path.join(home, '.erlang.cookie') })).reveal(), 'from-home');
      await assert.rejects(resolveAttachCookie({ kind: 'file', path: path.join(home, 'nope') }), /the cookie file .*nope does not exist/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('marks every attach failure with phase attach (usage stays usage)', async () => {
    const err = await attach({ node: 'x@@y' }).then(() => null, (e: unknown) => e);
    assert.equal(errorKindOf(err), 'usage');
    assert.equal(errorPhaseOf(err), 'attach');
    const home = mkdtempSync(path.join(tmpdir(), 'bl-home-'));
    try {
      const noCookie = await attach({ node: 'x@localhost', home }).then(() => null, (e: unknown) => e);
      assert.equal(errorKindOf(noCookie), 'usage');
      assert.equal(errorPhaseOf(noCookie), 'attach');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
    assert.equal(errorPhaseOf(new BeamLensError('timeout', 'x')), 'run');
  });
});

describe('CLI connection flags: one spec for every command', () => {
  it('lsp takes exactly the shared connection flags, --cookie included', () => {
    for (const name of Object.keys(attachFlags)) assert.ok(name in lspSpec.flags, `lsp --${name}`);
    const { flags } = parseArgs(lspSpec, ['--stdio', '--node', 'demo', '--cookie', 'c', '--host', 'localhost:9100', '--env', 'staging']);
    const req = attachRequestFromFlags(flags);
    assert.deepEqual(req.cookie, { kind: 'value', value: 'c' });
    assert.equal(req.env, 'staging');
    assert.equal(req.host, 'localhost:9100');
    assert.match(attachFlags['cookie-file']?.description ?? '', /safer/);
    // What LSP clients add to the command line is accepted.
    parseArgs(lspSpec, ['--node-ipc', '--clientProcessId=123']);
  });

  it('rejects --cookie with --cookie-file, and a bad --env, as usage errors naming the flag', () => {
    assert.throws(() => attachRequestFromFlags({ node: 'a@h', cookie: 'x', 'cookie-file': 'f' }), /either --cookie or --cookie-file/);
    assert.throws(() => attachRequestFromFlags({ node: 'a@h', env: 'prod' }), /--env: the environment must be/);
    assert.throws(() => attachRequestFromFlags({}), /--node NAME is required/);
  });
});

describe('cancellation bridge', () => {
  it('links abort signals and cancellation tokens, and removes its listeners', () => {
    const a = new AbortController();
    let listener: (() => unknown) | null = null;
    let disposed = false;
    const token = { isCancellationRequested: false, onCancellationRequested: (l: () => unknown) => ((listener = l), { dispose: () => (disposed = true) }) };
    const linked = linkSignals(a.signal, token, undefined);
    assert.equal(linked.signal.aborted, false);
    (listener as unknown as () => void)();
    assert.equal(linked.signal.aborted, true);
    linked.dispose();
    assert.ok(disposed);
    const again = linkSignals(a.signal);
    a.abort();
    assert.equal(again.signal.aborted, true);
    assert.equal(linkSignals({ isCancellationRequested: true, onCancellationRequested: () => ({ dispose: () => undefined }) }).signal.aborted, true);
  });
});

describe('audited run', () => {
  let dir: string;
  // A real Attachment (consent, the one-intrusive-run lock) over a connection that is never used.
  // The node's claim across instances (run-claim.ts, tested on real nodes) is one shared holder here.
  let nodeClaim: string | null = null;
  const session = (grants: Record<string, unknown> = { allowProbe: true, allowTrace: true }, instance = 'beam_lens_a@h'): Attachment => {
    const s = new Attachment({ peer: 'demo@h' } as unknown as AttachmentConnection, { env: 'local', grants });
    s.claimNode = async (kind) => {
      if (nodeClaim !== null) throw new BeamLensError('targetBusy', describeClaim('demo@h', { node: nodeClaim, kind: 'trace', startedAt: new Date(0) }, '<0.1.0>'));
      nodeClaim = instance;
      void kind;
      return { release: async () => void (nodeClaim = null) };
    };
    return s;
  };
  const audit = (): AuditEntry[] => readFileSync(path.join(dir, '.beam-lens/audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditEntry);
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'bl-run-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const trace: TraceResult = { events: [], forwarded: 0, dropped: 0, endReason: 'cap', durationMs: 5 } as unknown as TraceResult;

  it('audits start and end with the face and client, saves JSON and .beamtrace', async () => {
    const log = fileAuditLog({ cwd: dir, actor: { face: 'mcp', client: { name: 'inspector', version: '1.0' } } });
    const r = await runAudited({
      session: session(),
      kind: 'trace',
      limits: { rate: { count: 10, perMs: 1000 }, cap: 100 },
      consent: ['trace', 'probe'],
      audit: log,
      save: { cwd: dir },
      traceLog: (v) => ({ target: 'm:f/1', limits: printableLimits({ rate: { count: 10, perMs: 1000 }, cap: 100 }), result: v }),
      body: async () => ({ value: trace, endReason: 'cap', durationMs: 5 }),
    });
    assert.equal(r.endReason, 'cap');
    assert.ok(r.file && existsSync(r.file));
    assert.ok(r.traceLogFile && readFileSync(r.traceLogFile, 'utf8').includes('# target: m:f/1 rate=10/1000ms cap=100'));
    const lines = audit();
    assert.deepEqual(lines.map((l) => [l.action, l.outcome, l.face, l.client?.name]), [['trace start', 'requested', 'mcp', 'inspector'], ['trace end', 'cap', 'mcp', 'inspector']]);
    assert.equal(lines[1]?.session, path.basename(r.file));
  });

  it('refuses without consent (audited as refused, the body never runs)', async () => {
    let ran = false;
    await assert.rejects(
      runAudited({ session: session({}), kind: 'hot', limits: {}, consent: ['trace'], audit: fileAuditLog({ cwd: dir, actor: { face: 'cli' } }), save: null, body: async () => ((ran = true), { value: 1, endReason: 'completed' }) }),
      (err: unknown) => errorKindOf(err) === 'consentRequired',
    );
    assert.equal(ran, false);
    assert.deepEqual(audit().map((l) => [l.action, l.outcome]), [['hot start', 'refused']]);
  });

  it('runs one intrusive session per node: the next is refused naming the running one (audited); per-run grants end with the run', async () => {
    const s = session({});
    const log = fileAuditLog({ cwd: dir, actor: { face: 'mcp' } });
    let release!: () => void;
    const first = runAudited({ session: s, kind: 'trace', limits: {}, consent: ['trace', 'probe'], grants: { allowProbe: true, allowTrace: true }, audit: log, save: null, body: () => new Promise<RunOutcome<number>>((r) => (release = () => r({ value: 1, endReason: 'completed' }))) });
    await new Promise((r) => setImmediate(r));
    assert.equal(s.running?.kind, 'trace');
    await assert.rejects(
      runAudited({ session: s, kind: 'hot', limits: {}, consent: ['trace', 'probe'], grants: { allowProbe: true, allowTrace: true }, audit: log, save: null, body: async () => ({ value: 2, endReason: 'completed' }) }),
      (err: unknown) => errorKindOf(err) === 'targetBusy' && /a trace session is already running on demo@h/.test(String(err)),
    );
    release();
    assert.equal((await first).endReason, 'completed');
    assert.equal(s.running, null);
    assert.deepEqual(s.options.grants, {}, 'the run\'s consent did not stay on the attachment');
    assert.deepEqual(audit().map((l) => [l.action, l.outcome]), [['trace start', 'requested'], ['hot start', 'refused'], ['trace end', 'completed']]);
  });

  it('refuses a run while another BEAM Lens instance holds the node\'s claim, naming it (audited; the body never runs); the claim ends with the run', async () => {
    const log = fileAuditLog({ cwd: dir, actor: { face: 'cli' } });
    const a = session({ allowProbe: true, allowTrace: true }, 'beam_lens_a@h');
    const b = session({ allowProbe: true, allowTrace: true }, 'beam_lens_b@h');
    let release!: () => void;
    const first = runAudited({ session: a, kind: 'trace', limits: {}, consent: ['trace', 'probe'], audit: log, save: null, body: () => new Promise<RunOutcome<number>>((r) => (release = () => r({ value: 1, endReason: 'completed' }))) });
    await new Promise((r) => setImmediate(r));
    let ran = false;
    await assert.rejects(
      runAudited({ session: b, kind: 'hot', limits: {}, consent: ['trace', 'probe'], audit: log, save: null, body: async () => ((ran = true), { value: 2, endReason: 'completed' }) }),
      (err: unknown) => errorKindOf(err) === 'targetBusy' && /another BEAM Lens \(beam_lens_a@h\) is running a trace session on demo@h .*nothing was set/.test(String(err)),
    );
    assert.equal(ran, false);
    release();
    await first;
    assert.equal(nodeClaim, null);
    // A run that needs no consent (read-only) takes no claim.
    nodeClaim = 'beam_lens_c@h';
    assert.equal((await runAudited({ session: b, kind: 'profile', limits: {}, consent: [], audit: null, save: null, body: async () => ({ value: 3, endReason: 'completed' }) })).value, 3);
    nodeClaim = null;
    assert.deepEqual(audit().map((l) => [l.action, l.outcome]), [['trace start', 'requested'], ['hot start', 'refused'], ['trace end', 'completed']]);
  });

  it('audits an error as the end, and a deadline as deadline', async () => {
    const log = fileAuditLog({ cwd: dir, actor: { face: 'vscode' } });
    await assert.rejects(runAudited({ session: session(), kind: 'hot', limits: {}, consent: [], audit: log, save: null, body: async () => { throw new BeamLensError('nodeDown', 'gone'); } }), /gone/);
    const r = await runAudited({
      session: session(),
      kind: 'hot',
      limits: {},
      consent: [],
      audit: log,
      save: null,
      deadlineMs: 20,
      body: (signal) => new Promise<RunOutcome<number>>((resolve) => signal.addEventListener('abort', () => resolve({ value: 0, endReason: 'stopped' }))),
    });
    assert.equal(r.endReason, 'deadline');
    assert.equal(r.file, null);
    assert.deepEqual(audit().map((l) => [l.action, l.outcome, l.detail ?? '']), [['hot start', 'requested', ''], ['hot end', 'error', 'gone'], ['hot start', 'requested', ''], ['hot end', 'deadline', '']]);
  });

  it('stops when the face stops it', async () => {
    const stop = new AbortController();
    const pending = runAudited({
      session: session(), kind: 'monitor', limits: {}, consent: [], audit: null, save: null, stop: stop.signal,
      body: (signal) => new Promise<RunOutcome<number>>((resolve) => signal.addEventListener('abort', () => resolve({ value: 0, endReason: 'stopped' }))),
    });
    stop.abort();
    assert.equal((await pending).endReason, 'stopped');
  });
});
