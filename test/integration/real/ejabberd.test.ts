// ejabberd from Debian with 15 XMPP clients chatting: client sessions named as the tree names
// them (ejabberd_c2s, not the xmpp_stream_in they start through), counts and socket bytes equal
// to the node's own answers, and no finding that the load does not justify.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Term, Tuple } from '../../../src/etf';
import { waitFor } from '../harness';
import { factsCollector } from '../../../src/core/facts/runtime-facts';
import { attachTo, ejabberdInstalled, runCli, startEjabberd, xmppLoad, xmppReconnects, type EjabberdServer, type Load } from './systems';

const root = path.join(__dirname, '../../..');
const CLIENTS = 15;

const C2S_COUNT = `length([P || P <- erlang:processes(), {dictionary, D} <- [erlang:process_info(P, dictionary)],
               {'$initial_call', {xmpp_stream_in, init, 1}} <- [lists:keyfind('$initial_call', 1, D)]]).`;
const SOCKET_BYTES = `[{erlang:port_to_list(P), R, S} || P <- erlang:ports(), erlang:port_info(P, name) =:= {name, "tcp_inet"},
               {ok, [{recv_oct, R}, {send_oct, S}]} <- [inet:getstat(P, [recv_oct, send_oct])]].`;

describe('real system: ejabberd with chatting XMPP clients', function () {
  this.timeout(240_000);
  let ej: EjabberdServer | null = null;
  let load: Load | null = null;
  let cwd: string;
  let conn: string[];

  before(async function () {
    const missing = ejabberdInstalled();
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    if (!existsSync(path.join(root, 'dist/cli.js'))) execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    cwd = mkdtempSync(path.join(tmpdir(), 'bl-ejabberd-cwd-'));
    ej = await startEjabberd();
    conn = ['--node', ej.node, '--cookie-file', ej.cookieFile];
    load = await xmppLoad(ej.c2sPort, CLIENTS, 100);
    const l = load;
    await waitFor(() => (l.stats().received ?? 0) > CLIENTS * 10, 60_000, 'messages to flow between the clients', 200);
  });

  after(async () => {
    await load?.stop().catch(() => undefined);
    await ej?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('counts client sessions as ejabberd_c2s in processes, tree and the saved report, as many as the node runs', async () => {
    const e = ej as EjabberdServer;
    const procs = await runCli(['processes', ...conn, '--sort', 'reductions', '--limit', '40', '--json'], cwd);
    assert.equal(procs.code, 0, procs.stderr);
    const rows = (JSON.parse(procs.stdout) as { rows: Array<{ module: string | null; initialCall: string | null; reductions: number }> }).rows;
    const c2s = rows.filter((r) => r.initialCall === 'xmpp_stream_in:init/1');
    assert.ok(c2s.length > 0 && c2s.every((r) => r.module === 'ejabberd_c2s'), JSON.stringify(rows.slice(0, 5)));
    for (let i = 1; i < rows.length; i++) assert.ok((rows[i - 1] as { reductions: number }).reductions >= (rows[i] as { reductions: number }).reductions);
    const tree = await runCli(['tree', ...conn, '--app', 'ejabberd', '--json'], cwd);
    assert.equal(tree.code, 0, tree.stderr);
    assert.match(tree.stdout, /"module": "ejabberd_c2s"/);
    const out = path.join(cwd, 'report.md');
    const rep = await runCli(['report', ...conn, '--out', out, '--duration', '4', '--json'], cwd);
    assert.equal(rep.code, 0, rep.stderr);
    const json = JSON.parse(rep.stdout) as { session: string; findings: Array<{ rule: string; severity: string; title: string; id: string }> };
    const facts = (JSON.parse(readFileSync(json.session, 'utf8')) as { result: { facts: { modules: Array<{ module: string; processes: number }> } } }).result.facts;
    const expected = (await e.eval(C2S_COUNT)) as number;
    assert.equal(expected, CLIENTS);
    assert.equal(facts.modules.find((m) => m.module === 'ejabberd_c2s')?.processes, expected, JSON.stringify(facts.modules.slice(0, 8)));
    assert.equal(facts.modules.find((m) => m.module === 'xmpp_stream_in'), undefined);
    // The editor's facts (lenses, diagnostics) count them the same way.
    const session = await attachTo(e);
    try {
      const live = await factsCollector(session).collect();
      assert.equal(live.modules.find((m) => m.module === 'ejabberd_c2s')?.processes, await e.eval(C2S_COUNT), JSON.stringify(live.modules.slice(0, 8)));
      assert.equal(live.modules.find((m) => m.module === 'xmpp_stream_in'), undefined);
    } finally {
      await session.detach();
    }
    // Chatting clients are healthy load: nothing critical, nothing blocked, no share above 100%.
    const titles = json.findings.map((f) => `${f.severity} ${f.rule}: ${f.title}`).join('\n');
    assert.ok(!json.findings.some((f) => f.severity === 'critical' || f.rule === 'blocked-sender' || f.rule === 'mailbox-growth'), titles);
    assert.equal(new Set(json.findings.map((f) => f.id)).size, json.findings.length, titles);
    const md = readFileSync(out, 'utf8');
    for (const m of md.matchAll(/(\d+)% of the node/g)) assert.ok(Number(m[1]) <= 100, m[0]);
    assert.doesNotMatch(md, /xmpp_stream_in:init\/1 \(/);
  });

  it('ports: client sockets show the bytes inet:getstat/2 counts (port_info input stays 0 for passive sockets)', async () => {
    const e = ej as EjabberdServer;
    const read = async (): Promise<Map<string, [number, number]>> =>
      new Map(((await e.eval(SOCKET_BYTES)) as Tuple[]).map((t) => [String.fromCharCode(...(t.at(0) as number[])), [t.at(1) as number, t.at(2) as number]]));
    const before = await read();
    const res = await runCli(['ports', ...conn, '--limit', '100', '--json'], cwd);
    const after = await read();
    assert.equal(res.code, 0, res.stderr);
    const rows = (JSON.parse(res.stdout) as { rows: Array<{ port: string; input: number; output: number; ownerTitle: string | null; local: string | null }> }).rows;
    const clients = rows.filter((r) => r.ownerTitle === 'ejabberd_c2s');
    assert.equal(clients.length, CLIENTS, JSON.stringify(rows.slice(0, 3)));
    for (const p of clients) {
      const a = before.get(p.port) as [number, number];
      const b = after.get(p.port) as [number, number];
      assert.ok(a && b, p.port);
      assert.ok(p.input > 0 && p.input >= a[0] && p.input <= b[0], `${p.port} in ${p.input} not within ${a[0]}..${b[0]}`);
      assert.ok(p.output >= a[1] && p.output <= b[1], `${p.port} out ${p.output} not within ${a[1]}..${b[1]}`);
    }
    // The text table keeps the whole address, port number included.
    const text = await runCli(['ports', ...conn, '--limit', '5'], cwd);
    assert.match(text.stdout, new RegExp(`127\\.0\\.0\\.1:${e.c2sPort}\\b`));
  });

  it('overview: the run queue line counts normal schedulers only', async () => {
    const e = ej as EjabberdServer;
    const res = await runCli(['overview', ...conn, '--json'], cwd);
    assert.equal(res.code, 0, res.stderr);
    const o = JSON.parse(res.stdout) as { runQueue: { perScheduler: number[] }; schedulers: { total: number } };
    assert.equal(o.runQueue.perScheduler.length, (await e.eval('erlang:system_info(schedulers).')) as Term);
    assert.equal(o.runQueue.perScheduler.length, o.schedulers.total);
  });

  it('connection churn: XMPP clients logging in and out in a loop are found under ejabberd_c2s, within what the clients did', async () => {
    const e = ej as EjabberdServer;
    const churn = await xmppReconnects(e.c2sPort, 3, 1500);
    try {
      await waitFor(() => (churn.stats().closed ?? 0) >= 3, 30_000, 'clients to log in and out', 100);
      const before = churn.stats();
      const c2sBefore = (await e.eval(C2S_COUNT)) as number;
      const res = await runCli(['findings', ...conn, '--duration', '6', '--json'], cwd);
      const after = churn.stats();
      const c2sAfter = (await e.eval(C2S_COUNT)) as number;
      assert.equal(res.code, 0, res.stderr);
      const f = (JSON.parse(res.stdout) as { findings: Array<{ rule: string; title: string; evidence: string[]; recommendation: string }> }).findings;
      const found = f.find((x) => x.rule === 'connection-churn');
      assert.ok(found, f.map((x) => `${x.rule}: ${x.title}`).join('\n'));
      const m = /^Connections of ejabberd_c2s churn: (\d+) opened and (\d+) closed in/.exec(found.title);
      assert.ok(m, found.title);
      const opened = Number(m[1]);
      const closed = Number(m[2]);
      console.log(`      sampled ${opened} opened / ${closed} closed; clients logged in ${(after.opened ?? 0) - (before.opened ?? 0)} / out ${(after.closed ?? 0) - (before.closed ?? 0)} during the run`);
      // No more than the clients did during the run, and some of it.
      assert.ok(opened >= 2 && opened <= (after.opened ?? 0) - (before.opened ?? 0) + 3, `${opened} vs clients ${JSON.stringify([before, after])}`);
      assert.ok(closed >= 2 && closed <= (after.closed ?? 0) - (before.closed ?? 0) + 3, `${closed} vs clients ${JSON.stringify([before, after])}`);
      // The sessions open at the first sample: the chatting clients plus at most the 3 looping ones, as the node counts them.
      const atStart = Number(/: (\d+) open at the first sample/.exec(found.evidence.join('\n'))?.[1]);
      for (const n of [c2sBefore, c2sAfter, atStart]) assert.ok(n >= CLIENTS && n <= CLIENTS + 3, `${n} sessions (node: ${c2sBefore}, ${c2sAfter})`);
      assert.match(found.recommendation, /Closing c2s session/);
    } finally {
      await churn.stop();
    }
  });
});
