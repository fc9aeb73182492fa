// Telemetry against the real library (telemetry 1.4.1 from ../shared/testdeps/telemetry, compiled
// with erlc into a temporary directory and put on the test node's code path): listing the
// handlers, bad input, consent, a watch with known durations, and the node left as it was
// (the same handlers, the same loaded modules, no watcher, no probe) after the window and
// after our node vanished mid-window (the probe's guardian detaches).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatTerm, isAtom, type Term } from '../../../src/etf';
import { connect } from '../../../src/erldist';
import { Attachment } from '../../../src/core/attach/attachment';
import { listTelemetry, resolveEvents, watchTelemetry } from '../../../src/core/runs/telemetry';
import { startNode, waitFor, type TestNode } from '../harness';
import { runCli, type CliRun } from '../cli-runner';
import { FIXTURE, TELEMETRY_SRC, compileTelemetry } from '../telemetry-fixture';
import { data, startMcp, text } from '../mcp/client';

const root = path.join(__dirname, '../../..');
const bin = path.join(root, 'bin/beam-lens');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const run = (args: string[], cwd: string): Promise<CliRun> => runCli(args, { cwd });

const HANDLERS = `lists:sort([{Id, E, F} || #{id := Id, event_name := E, function := F} <- telemetry:list_handlers([])]).`;
const LOADED = `lists:sort([M || {M, _} <- code:all_loaded()]).`;

describe('telemetry (the real library on a test node)', function () {
  this.timeout(240_000);
  let node: TestNode;
  let plain: TestNode;
  let work: string;
  let conn: string[];

  before(async function () {
    if (!existsSync(path.join(TELEMETRY_SRC, 'src', 'telemetry.erl'))) {
      console.log(`    skipped: telemetry's source is not at ${TELEMETRY_SRC} (see docs/findings.md, Telemetry)`);
      this.skip();
    }
    if (!existsSync(path.join(root, 'dist/cli.js'))) execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    work = mkdtempSync(path.join(tmpdir(), 'beam-lens-telemetry-'));
    const ebin = compileTelemetry(work);
    node = await startNode({ args: ['-pa', ebin] });
    await node.loadModule(FIXTURE);
    await node.eval('ok = tele_fixture:start().');
    conn = ['--node', node.node, '--cookie-file', node.cookieFile];
  });
  after(async () => {
    await node?.stop();
    await plain?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function state(): Promise<{ handlers: string; loaded: string; watcher: boolean }> {
    const [handlers, loaded, watcher] = await Promise.all([node.eval(HANDLERS), node.eval(LOADED), node.eval('whereis(beam_lens_telemetry).')]);
    return { handlers: formatTerm(handlers, { maxLength: 100_000 }), loaded: formatTerm(loaded, { maxLength: 100_000 }), watcher: !isAtom(watcher, 'undefined') };
  }

  it('lists the handlers and their events (read-only), from the CLI and in JSON', async () => {
    const r = await run(['telemetry', ...conn, '--json'], work);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { running: boolean; version: string; total: number; events: string[]; handlers: Array<{ id: string; event: string; function: string }> };
    assert.equal(out.running, true);
    assert.equal(out.version, '1.4.1');
    assert.equal(out.total, 3);
    assert.deepEqual(out.events, ['test_app.other.done', 'test_app.work.start', 'test_app.work.stop']);
    assert.ok(out.handlers.every((h) => h.id === 'fixture_handler' && h.function === 'fun tele_fixture:handle/4'), r.stdout);
    const text = await run(['telemetry', ...conn], work);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /test_app\.work\.stop\s+fixture_handler\s+fun tele_fixture:handle\/4/);
    assert.match(text.stdout, /telemetry 1\.4\.1: 3 handlers on 3 events/);
  });

  it('an unknown prefix gets a clear answer naming the events that exist; no consent, exit 4', async () => {
    const before = await state();
    const r = await run(['telemetry', ...conn, '--events', 'nope.x', '--allow-probe', '--allow-trace'], work);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no telemetry event on \S+ starts with "nope\.x" \(events with handlers: test_app\.other\.done, test_app\.work\.start, test_app\.work\.stop\)/);
    assert.match(r.stderr, /--exact/);
    const refused = await run(['telemetry', ...conn, '--events', 'test_app.work', '--duration', '1'], work);
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /--allow-probe|--allow-trace/);
    const audit = readFileSync(path.join(work, '.beam-lens', 'audit.log'), 'utf8');
    assert.match(audit, /telemetry start.*refused/);
    assert.deepEqual(await state(), before);
  });

  it('watches events: counts, p50/p95/p99 of durations in µs, audited and saved; nothing left afterwards', async () => {
    const before = await state();
    const r = await run(['telemetry', ...conn, '--events', 'test_app.work,test_app.other.done', '--duration', '2', '--allow-probe', '--allow-trace', '--json'], work);
    assert.equal(r.code, 0, r.stderr);
    type Out = { session: string; endReason: string; dropped: number; events: Array<{ event: string; count: number; perSec: number; measurements: Array<{ key: string; n: number; duration: boolean; mean?: number; p50Us?: number; p95Us?: number; p99Us?: number; maxUs?: number }> }> };
    const out = JSON.parse(r.stdout) as Out;
    assert.equal(out.endReason, 'completed');
    assert.equal(out.dropped, 0);
    assert.deepEqual(out.events.map((e) => e.event), ['test_app.other.done', 'test_app.work.start', 'test_app.work.stop']);
    const byName = new Map(out.events.map((e) => [e.event, e]));
    const done = byName.get('test_app.other.done');
    const stop = byName.get('test_app.work.stop');
    const start = byName.get('test_app.work.start');
    assert.ok(done && stop && start);
    assert.ok(done.count > 10, `${done.count} events`);
    // One span per loop, one execute per loop: the counts differ by at most the one in flight.
    assert.ok(Math.abs(done.count - stop.count) <= 1 && Math.abs(start.count - stop.count) <= 1, r.stdout);
    const d = done.measurements.find((m) => m.key === 'duration');
    assert.ok(d && d.duration && d.n === done.count);
    // Exactly 5 ms in native units, converted: the histogram's buckets are within 2 %.
    for (const p of [d.p50Us, d.p95Us, d.p99Us, d.maxUs]) assert.ok(p !== undefined && Math.abs(p - 5000) <= 100, JSON.stringify(d));
    assert.equal(d.mean, 5000);
    const size = done.measurements.find((m) => m.key === 'size');
    assert.ok(size && !size.duration && size.mean === 10 && size.p50Us === undefined, JSON.stringify(size));
    // A span around timer:sleep(1): at least 1 ms, and the percentiles ordered.
    const sd = stop.measurements.find((m) => m.key === 'duration');
    assert.ok(sd && sd.p50Us !== undefined && sd.p95Us !== undefined && sd.p99Us !== undefined && sd.maxUs !== undefined, JSON.stringify(stop));
    assert.ok(sd.p50Us >= 950 && sd.p50Us <= sd.p95Us && sd.p95Us <= sd.p99Us && sd.p99Us <= sd.maxUs, JSON.stringify(sd));
    // The start event's monotonic_time/system_time are timestamps, not durations.
    assert.ok(start.measurements.every((m) => !m.duration), JSON.stringify(start));
    const saved = JSON.parse(readFileSync(out.session, 'utf8')) as { kind: string; endReason: string; result: Out };
    assert.equal(saved.kind, 'telemetry');
    assert.equal(saved.result.events.length, 3);
    const audit = readFileSync(path.join(work, '.beam-lens', 'audit.log'), 'utf8');
    assert.match(audit, /telemetry end.*completed/);
    await waitFor(async () => JSON.stringify(await state()) === JSON.stringify(before), 10_000, 'the same handlers and loaded modules as before');
    const text = await run(['telemetry', ...conn, '--events', 'test_app.other', '--duration', '1', '--allow-probe', '--allow-trace'], work);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /test_app\.other\.done\s+[\d,]+\s+[\d.]+\s+duration\s+(4\.9|5\.0|5\.1) ms/);
    assert.match(text.stdout, /handler detached/);
  });

  it('our node vanishing mid-window: the guardian detaches the handler and the probe goes', async () => {
    const before = await state();
    const open = async (): Promise<Attachment> => new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local', grants: { allowProbe: true, allowTrace: true } });
    // Listing (read-only, through erl_eval) on one attachment that detaches as usual.
    const reader = await open();
    const events = resolveEvents(await listTelemetry(reader), [['test_app', 'work']], reader.node);
    await reader.detach();
    assert.deepEqual(events, ['test_app.work.start', 'test_app.work.stop']);
    const s = await open();
    const watching = watchTelemetry(s, { events, prefixes: ['test_app.work'], durationMs: 60_000 }).catch((err: unknown) => err);
    await waitFor(async () => (await state()).handlers !== before.handlers, 20_000, 'our handler attached');
    const ours = (await node.eval(`[Id || #{id := {beam_lens_probe, _} = Id} <- telemetry:list_handlers([test_app, work])].`)) as Term[];
    assert.equal(ours.length, 2, 'one handler id, attached to both events');
    // Drop the connection without detaching: the guardian sees nodedown.
    await s.connection.close();
    assert.ok((await watching) instanceof Error);
    let last = '';
    await waitFor(async () => {
      const now = await state();
      last = `${now.handlers === before.handlers ? '' : `handlers ${now.handlers}`} ${now.loaded === before.loaded ? '' : `loaded ${now.loaded}`} ${now.watcher ? 'watcher alive' : ''}`.trim();
      return last === '';
    }, 20_000, 'the handler detached and the probe unloaded by the guardian').catch((err: unknown) => {
      throw new Error(`${String(err)}: ${last}`);
    });
    assert.ok(isAtom(await node.eval(`erlang:module_loaded(beam_lens_probe).`), 'false'));
  });

  it('a stop (Ctrl-C, a cancelled run) ends the window early with what was counted, detached', async () => {
    const before = await state();
    const s = new Attachment(await connect({ node: node.node, cookie: node.cookie }), { env: 'local', grants: { allowProbe: true, allowTrace: true } });
    try {
      const stop = new AbortController();
      const watching = watchTelemetry(s, { events: ['test_app.other.done'], prefixes: ['test_app.other'], durationMs: 60_000, signal: stop.signal });
      await waitFor(async () => (await state()).handlers !== before.handlers, 20_000, 'our handler attached');
      stop.abort();
      const r = await watching;
      assert.equal(r.endReason, 'stopped');
      assert.ok(r.durationMs < 60_000);
      assert.equal(r.events[0]?.event, 'test_app.other.done');
      assert.equal((await state()).handlers, before.handlers);
    } finally {
      await s.detach();
    }
    await waitFor(async () => JSON.stringify(await state()) === JSON.stringify(before), 10_000, 'the node as before');
  });

  it('the report: handlers read-only without consent (saying what consent adds); with it, counts and p50/p95/p99 over the window', async () => {
    const before = await state();
    const plainRun = await run(['report', ...conn, '--out', 'plain.md', '--duration', '1'], work);
    assert.equal(plainRun.code, 0, plainRun.stderr);
    const plainMd = readFileSync(path.join(work, 'plain.md'), 'utf8');
    assert.match(plainMd, /## Telemetry\n\ntelemetry 1\.4\.1: 3 handlers on 3 events \(listed read-only/);
    assert.match(plainMd, /\| `test_app\.work\.stop` \| `fixture_handler` \| `fun tele_fixture:handle\/4` \|/);
    assert.match(plainMd, /Event counts and p50\/p95\/p99 of durations over the window need consent/);
    assert.deepEqual(await state(), before, 'listing changed nothing');
    const traced = await run(['report', ...conn, '--out', 'traced.md', '--duration', '2', '--allow-probe', '--allow-trace'], work);
    assert.equal(traced.code, 0, traced.stderr);
    const md = readFileSync(path.join(work, 'traced.md'), 'utf8');
    assert.match(md, /Over 2\.\d s a temporary handler \(detached at the end\) counted [\d,]+ events on 3 event names/);
    // The fixed 5 ms event reads 5.0 ms (± a histogram bucket) at every percentile.
    assert.match(md, /\| `test_app\.other\.done` \| [\d,]+ \| [\d,]+ \| duration \| (4\.9|5\.0|5\.1) ms \| (4\.9|5\.0|5\.1) ms \| (4\.9|5\.0|5\.1) ms \| (4\.9|5\.0|5\.1) ms \|/);
    assert.match(md, /\| `test_app\.work\.stop` \| [\d,]+ \| [\d,]+ \| duration \| [\d.]+ ms \|/);
    assert.ok(!md.includes('need consent'), 'no consent note once counted');
    // And charted: p50/p95/p99 per event next to the Markdown.
    assert.ok(md.includes('](traced.charts/telemetry.svg)'), 'the telemetry chart linked');
    assert.match(readFileSync(path.join(work, 'traced.charts', 'telemetry.svg'), 'utf8'), /<title id="title">Telemetry durations over 2\.\d s: p50, p95, p99 per event<\/title>/);
    // Our handler detached, the watcher gone, the probe unloaded, and the same modules loaded: the
    // hot-function count of the same run sets call_count only on loaded modules (telemetry's
    // unloaded telemetry_pt/telemetry_test stay unloaded).
    await waitFor(async () => JSON.stringify(await state()) === JSON.stringify(before), 10_000, 'the same handlers and loaded modules as before, no watcher, no probe');
  });

  it('MCP: telemetry lists read-only; telemetry_watch asks consent and counts; an unknown prefix is answered before any form', async () => {
    const before = await state();
    const mcp = await startMcp({ args: ['--node', node.node, '--cookie-file', node.cookieFile], elicit: () => ({ action: 'accept', content: { durationS: 1 } }), cwd: work });
    try {
      const listed = data<{ running: boolean; version: string; events: string[]; handlers: Array<{ id: string }> }>(await mcp.call('telemetry', {}));
      assert.equal(listed.running, true);
      assert.equal(listed.version, '1.4.1');
      assert.deepEqual(listed.events, ['test_app.other.done', 'test_app.work.start', 'test_app.work.stop']);
      assert.equal(mcp.forms.length, 0, 'listing asks nothing');
      const unknown = await mcp.call('telemetry_watch', { events: 'nope.x' });
      assert.equal(unknown.isError, true);
      assert.match(text(unknown), /no telemetry event on \S+ starts with "nope\.x" \(events with handlers: test_app\.other\.done/);
      assert.equal(mcp.forms.length, 0, 'refused before consent was asked');
      const r = await mcp.call('telemetry_watch', { events: 'test_app.other', durationS: 5 });
      const w = data<{ session: { uri: string }; durationMs: number; events: Array<{ event: string; count: number; measurements: Array<{ key: string; p50Us?: number; p99Us?: number }> }> }>(r);
      assert.equal(mcp.forms.length, 1);
      assert.match(String(mcp.forms[0]?.message), /attach a temporary telemetry handler to 1 event \(test_app\.other\.done\)/);
      // The form lowered the window to 1 s.
      assert.ok(w.durationMs < 3000, String(w.durationMs));
      const done = w.events[0];
      assert.equal(done?.event, 'test_app.other.done');
      const d = done.measurements.find((m) => m.key === 'duration');
      assert.ok(d?.p50Us !== undefined && Math.abs(d.p50Us - 5000) <= 100, JSON.stringify(done));
      assert.match(text(r), /test_app\.other\.done: \d+ events, [\d.]+\/s\n  duration: p50 (4\.9|5\.0|5\.1) ms/);
      assert.match(w.session.uri, /^beam-lens:\/\/sessions\//);
    } finally {
      await mcp.close();
    }
    await waitFor(async () => JSON.stringify(await state()) === JSON.stringify(before), 10_000, 'the node as before after MCP');
  });

  it('a node without telemetry: listing says so; watching is refused with the reason', async () => {
    plain = await startNode();
    const r = await run(['telemetry', '--node', plain.node, '--cookie-file', plain.cookieFile], work);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /telemetry is not running on this node/);
    const w = await run(['telemetry', '--node', plain.node, '--cookie-file', plain.cookieFile, '--events', 'a.b', '--allow-probe', '--allow-trace'], work);
    assert.equal(w.code, 1, w.stderr);
    assert.match(w.stderr, /the telemetry application is not running on/);
    assert.ok(isAtom(await plain.eval(`erlang:module_loaded(beam_lens_probe).`), 'false'));
  });
});
