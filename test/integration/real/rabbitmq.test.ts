// RabbitMQ 3.x from Debian under load (publishers into a queue nobody consumes, a consumer that
// stops reading its socket): every number checked against the node's own answer, every finding
// against what the load does.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Atom, Pid, Tuple, isAtom, type Term } from '../../../src/etf';
import { waitFor } from '../harness';
import { factsCollector } from '../../../src/core/facts/runtime-facts';
import { ModuleSummarizer } from '../../../src/core/facts/module-summary';
import { attachTo, rabbitInstalled, rabbitLoad, rabbitReconnects, runCli, startRabbit, type Load, type RabbitServer } from './systems';

const root = path.join(__dirname, '../../..');

interface JsonFinding {
  id: string;
  rule: string;
  severity: string;
  title: string;
  evidence: string[];
  subject: { pid?: string; module?: string | null };
  recommendation: string;
}

// The node's own answers, computed independently of BEAM Lens's code.
const QUEUES = `[{P, N} || P <- erlang:processes(), {dictionary, D} <- [erlang:process_info(P, dictionary)],
               {process_name, {rabbit_amqqueue_process, {resource, _, queue, N}}} <- [lists:keyfind(process_name, 1, D)]].`;
const COUNT_BY_TYPE = `length([P || P <- erlang:processes(), {dictionary, D} <- [erlang:process_info(P, dictionary)],
               {process_name, {T, _}} <- [lists:keyfind(process_name, 1, D)], T =:= Type]).`;
const SUSPENDED_WRITERS = `[P || P <- erlang:processes(), erlang:process_info(P, status) =:= {status, suspended},
               {dictionary, D} <- [erlang:process_info(P, dictionary)], {process_name, {rabbit_writer, _}} <- [lists:keyfind(process_name, 1, D)]].`;
const STARTED_AS = `length([P || P <- erlang:processes(), {dictionary, D} <- [erlang:process_info(P, dictionary)],
               {'$initial_call', {M, _, _}} <- [lists:keyfind('$initial_call', 1, D)], M =:= Mod]).`;
const DEDUP_BINARY = `{binary, B} = erlang:process_info(P, binary), lists:sum([S || {_, S} <- lists:ukeysort(1, [{A, S} || {A, S, _} <- B])]).`;
const SOCKET_RECV = `[{erlang:port_to_list(P), R} || P <- erlang:ports(), erlang:port_info(P, name) =:= {name, "tcp_inet"},
               {ok, [{recv_oct, R}]} <- [inet:getstat(P, [recv_oct])]].`;

describe('real system: RabbitMQ under load', function () {
  this.timeout(300_000);
  let rabbit: RabbitServer | null = null;
  let load: Load | null = null;
  let cwd: string;
  let conn: string[];
  let backlogPid: Pid;

  before(async function () {
    const missing = rabbitInstalled();
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    if (!existsSync(path.join(root, 'dist/cli.js'))) execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
    cwd = mkdtempSync(path.join(tmpdir(), 'bl-rabbit-cwd-'));
    rabbit = await startRabbit();
    conn = ['--node', rabbit.node, '--cookie-file', rabbit.cookieFile];
    load = await rabbitLoad(rabbit.amqpPort, { publishers: 3, ratePerPublisher: 400 });
    const r = rabbit;
    // Load built up: the backlog queue holds megabytes and the stalled consumer's writer is blocked.
    backlogPid = await waitFor(
      async () => {
        const qs = (await r.eval(QUEUES)) as Term[];
        const q = qs.find((t) => t instanceof Tuple && Buffer.isBuffer(t.at(1)) && (t.at(1) as Buffer).toString() === 'backlog.orders');
        if (!(q instanceof Tuple) || !(q.at(0) instanceof Pid)) return undefined;
        const mem = await r.eval(`{memory, M} = erlang:process_info(P, memory), M.`, { P: q.at(0) as Pid });
        return typeof mem === 'number' && mem > 8 * 1024 * 1024 ? (q.at(0) as Pid) : undefined;
      },
      90_000,
      'the backlog queue to grow',
      500,
    );
    await waitFor(async () => ((await r.eval(SUSPENDED_WRITERS)) as Term[]).length > 0, 60_000, 'a rabbit_writer blocked on the stalled consumer', 250);
  });

  after(async () => {
    await load?.stop().catch(() => undefined);
    await rabbit?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it('report names the backlog queue, the blocked writer and the memory growth, with advice for a message queue; no figure above the node\'s', async () => {
    const r = rabbit as RabbitServer;
    const out = path.join(cwd, 'report.md');
    const binBefore = (await r.eval(DEDUP_BINARY, { P: backlogPid })) as number;
    const res = await runCli(['report', ...conn, '--out', out, '--duration', '6', '--json'], cwd);
    assert.equal(res.code, 0, res.stderr);
    const json = JSON.parse(res.stdout) as { findings: JsonFinding[]; session: string };
    const md = readFileSync(out, 'utf8');
    const f = json.findings;
    const titles = f.map((x) => `${x.rule}: ${x.title}`).join('\n');
    // The backlog queue by its name, with advice for a message queue (not an Elixir cache's).
    const queue = f.find((x) => ['binary-holder', 'memory-hog'].includes(x.rule) && x.title.includes("queue 'backlog.orders'"));
    assert.ok(queue, `no finding names queue 'backlog.orders':\n${titles}`);
    assert.match(queue.recommendation, /max-length/);
    assert.match(queue.recommendation, /consumers/);
    assert.doesNotMatch(queue.recommendation, /binary\.copy|:binary/);
    assert.equal(queue.subject.pid, (await r.eval('erlang:pid_to_list(P).', { P: backlogPid }) as number[]).map((c) => String.fromCharCode(c)).join(''));
    // The writer blocked on the socket of the consumer that stopped reading.
    const blocked = f.find((x) => x.rule === 'blocked-sender' && x.title.startsWith('rabbit_writer'));
    assert.ok(blocked, `no blocked-sender finding for a rabbit_writer:\n${titles}`);
    assert.match(blocked.title, /suspended in erts_internal:port_command\/3/);
    assert.match(blocked.recommendation, /stopped reading its socket/);
    // The memory growth the load causes.
    const growth = f.find((x) => x.rule === 'memory-growth');
    assert.ok(growth, `no memory-growth finding:\n${titles}`);
    assert.match(growth.evidence.join('\n'), /queue '(backlog\.orders|stalled\.events)'/);
    assert.match(md, /queue 'backlog\.orders'/);
    assert.match(md, /rabbit_writer/);
    assert.match(md, /Node memory grew by/);
    // Ids are unique; no share above 100%; no raw Elixir notation for Erlang functions.
    assert.equal(new Set(f.map((x) => x.id)).size, f.length, titles);
    for (const m of md.matchAll(/(\d+)% of the node/g)) assert.ok(Number(m[1]) <= 100, m[0]);
    assert.doesNotMatch(md, /gen_server2\.process_next_msg/);
    // The binary figure is the node's own (de-duplicated by address), below erlang:memory(binary).
    const bin = f.find((x) => x.rule === 'binary-holder' && x.subject.pid === queue.subject.pid);
    if (bin) {
      // The queue only grows (nobody consumes it): the figure lies between two reads of the node.
      const bytes = Number(/holds ([\d.]+) MiB/.exec(bin.title)?.[1]) * 1024 * 1024;
      const nodeBinary = (await r.eval('erlang:memory(binary).')) as number;
      const binAfter = (await r.eval(DEDUP_BINARY, { P: backlogPid })) as number;
      assert.ok(bytes <= nodeBinary, `${bytes} > node binary ${nodeBinary}`);
      assert.ok(bytes >= binBefore * 0.95 && bytes <= binAfter * 1.05, `${bytes} bytes not within ${binBefore}..${binAfter} (de-duplicated by address)`);
    }
    // The run queue line lists normal schedulers only (dirty queues apart).
    const schedulers = (await r.eval('erlang:system_info(schedulers).')) as number;
    const perScheduler = /\(per scheduler: ([\d, ]+)/.exec(md)?.[1]?.split(',') ?? [];
    assert.equal(perScheduler.length, schedulers, md.split('\n').find((l) => l.includes('Run queue')));
    // Counts per module in the saved session are the node's own, not of the sampled processes.
    const facts = (JSON.parse(readFileSync(json.session, 'utf8')) as { result: { facts: { modules: Array<{ module: string; processes: number }> } } }).result.facts;
    const queues = facts.modules.find((m) => m.module === 'rabbit_amqqueue_process');
    assert.equal(queues?.processes, await r.eval(COUNT_BY_TYPE, { Type: Atom.of('rabbit_amqqueue_process') }));
    const readers = facts.modules.find((m) => m.module === 'rabbit_reader')?.processes ?? 0;
    assert.ok(readers >= 4, `rabbit_reader processes: ${readers} (3 publishers + 1 consumer)`);
    // The saved session reopens as text (findings and counts), not raw JSON; two compare.
    const shown = await runCli(['session', 'show', json.session], cwd);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /finding/);
    assert.match(shown.stdout, /rabbit_reader\s+\d+/);
    assert.doesNotMatch(shown.stdout, /^supervisor2 /m);
    assert.doesNotMatch(shown.stdout, /"facts"|"findings":/);
    const cmp = await runCli(['session', 'compare', json.session, json.session], cwd);
    assert.equal(cmp.code, 0, cmp.stderr);
    assert.match(cmp.stdout, /rabbit_amqqueue_process processes/);
  });

  it('mailboxes calls the blocked writer blocked and ranks it first; process takes a registered name; offsets past the end say so', async () => {
    const r = rabbit as RabbitServer;
    await waitFor(async () => ((await r.eval(SUSPENDED_WRITERS)) as Term[]).length > 0, 60_000, 'a blocked rabbit_writer', 250);
    const mb = await runCli(['mailboxes', ...conn, '--duration', '2', '--json'], cwd);
    assert.equal(mb.code, 0, mb.stderr);
    const rows = (JSON.parse(mb.stdout) as { rows: Array<{ trend: string; suspendedIn?: string; messageQueueLen: number }> }).rows;
    assert.equal(rows[0]?.trend, 'blocked', JSON.stringify(rows.slice(0, 3)));
    assert.equal(rows[0]?.suspendedIn, 'erts_internal:port_command/3');
    const byName = await runCli(['process', 'rabbit_node_monitor', ...conn], cwd);
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.stdout, /\(rabbit_node_monitor\)/);
    const bad = await runCli(['process', '<0.99999.0>', ...conn], cwd);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /is not a pid that can exist on/);
    assert.doesNotMatch(bad.stderr, /EXIT|badarg/);
    const far = await runCli(['processes', ...conn, '--offset', '100000'], cwd);
    assert.equal(far.code, 0, far.stderr);
    assert.match(far.stdout, /no processes at offset 100000: there are \d+/);
    assert.doesNotMatch(far.stdout, /PID\s+NAME/);
  });

  it('ports counts socket bytes with inet:getstat/2 (sockets read passively), between two reads of the node', async () => {
    const r = rabbit as RabbitServer;
    const read = async (): Promise<Map<string, number>> =>
      new Map(((await r.eval(SOCKET_RECV)) as Tuple[]).map((t) => [String.fromCharCode(...(t.at(0) as number[])), t.at(1) as number]));
    const before = await read();
    const res = await runCli(['ports', ...conn, '--limit', '200', '--json'], cwd);
    const after = await read();
    assert.equal(res.code, 0, res.stderr);
    const rows = (JSON.parse(res.stdout) as { rows: Array<{ port: string; input: number; counters: string; peer: string | null }> }).rows;
    const busiest = rows.filter((p) => p.counters === 'getstat').sort((a, b) => b.input - a.input)[0];
    assert.ok(busiest && busiest.input > 1024 * 1024, `a publisher's socket received megabytes: ${JSON.stringify(rows.slice(0, 5))}`);
    let checked = 0;
    for (const p of rows) {
      const a = before.get(p.port);
      const b = after.get(p.port);
      if (a === undefined || b === undefined) continue;
      assert.ok(p.input >= a && p.input <= b, `${p.port}: ${p.input} not within ${a}..${b}`);
      checked++;
    }
    assert.ok(checked >= 3, `checked ${checked} sockets`);
    // Ranked by bytes: the publishers' inbound sockets come first, not last.
    assert.equal(rows[0]?.counters, 'getstat');
  });

  it('tree, processes and findings name the queue process alike (module + label)', async () => {
    const tree = await runCli(['tree', ...conn, '--app', 'rabbit', '--json'], cwd);
    assert.equal(tree.code, 0, tree.stderr);
    assert.match(tree.stdout, /"module": "rabbit_amqqueue_process",\s+"label": "queue 'backlog\.orders' in vhost '\/'"/);
    const procs = await runCli(['processes', ...conn, '--sort', 'memory', '--limit', '5', '--json'], cwd);
    assert.equal(procs.code, 0, procs.stderr);
    const rows = (JSON.parse(procs.stdout) as { rows: Array<{ module: string; label: string | null; memory: number }> }).rows;
    assert.ok(rows.some((x) => x.module === 'rabbit_amqqueue_process' && x.label === "queue 'backlog.orders' in vhost '/'"), JSON.stringify(rows));
    // The sorted column is monotonic.
    for (let i = 1; i < rows.length; i++) assert.ok((rows[i - 1] as { memory: number }).memory >= (rows[i] as { memory: number }).memory);
    const text = await runCli(['processes', ...conn, '--sort', 'memory', '--limit', '5'], cwd);
    assert.match(text.stdout, /rabbit_amqqueue_process queue/);
  });

  it('hot counts calls in all of RabbitMQ\'s own modules (more than 200) and leaves the node clean; an unknown module is a usage error', async () => {
    const r = rabbit as RabbitServer;
    const res = await runCli(['hot', ...conn, '--duration', '2', '--allow-trace', '--allow-probe'], cwd);
    assert.equal(res.code, 0, res.stderr + res.stdout);
    assert.doesNotMatch(res.stderr, /MaxListeners/);
    const modules = Number(/of (\d+) modules/.exec(res.stdout)?.[1]);
    assert.ok(modules > 200, res.stdout);
    assert.match(res.stdout, /\(completed\)/);
    assert.doesNotMatch(res.stdout, /µ/); // no empty call-time column without --call-time
    assert.match(res.stdout, /[a-z_0-9]+:[a-z_0-9]+\/\d/); // Erlang notation: lqueue:is_empty/1, not lqueue.is_empty/1
    assert.ok(isAtom(await r.eval(`code:is_loaded(beam_lens_probe).`), 'false'));
    const patterns = await r.eval(`erlang:trace_info({rabbit_writer, mainloop1, 2}, call_count).`);
    assert.ok(patterns instanceof Tuple && isAtom(patterns.at(1), 'false'), String(patterns));
    const bad = await runCli(['hot', ...conn, '--duration', '1', '--module', 'no_such_mod', '--allow-trace', '--allow-probe'], cwd);
    assert.equal(bad.code, 2, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /no module no_such_mod/);
    // findings with tracing counts calls too (the default modules no longer refused); what could
    // not run (RabbitMQ's sysmon_handler holds the system monitor for good) is said in the output.
    const withTrace = await runCli(['findings', ...conn, '--duration', '2', '--allow-trace', '--allow-probe', '--json'], cwd);
    assert.equal(withTrace.code, 0, withTrace.stderr);
    const ft = JSON.parse(withTrace.stdout) as { tracingNote?: string };
    assert.doesNotMatch(ft.tracingNote ?? '', /hot functions not counted|modules given/);
    if (ft.tracingNote) assert.match(ft.tracingNote, /sysmon_handler|system monitor/);
    assert.ok(isAtom(await r.eval(`code:is_loaded(beam_lens_probe).`), 'false'));
  });

  it('editor facts (what lenses and diagnostics show) count 150 queues as rabbit_amqqueue_process, as the node does, naming only trampoline processes', async () => {
    const r = rabbit as RabbitServer;
    const amqp = await import('amqplib');
    const c = await amqp.connect(`amqp://guest:guest@127.0.0.1:${r.amqpPort}`);
    const queueCount = (): Promise<Term> => r.eval(COUNT_BY_TYPE, { Type: Atom.of('rabbit_amqqueue_process') });
    const extra = Array.from({ length: 150 - ((await queueCount()) as number) }, (_, i) => `lens.q.${i}`);
    const session = await attachTo(r);
    try {
      const ch = await c.createChannel();
      for (const q of extra) await ch.assertQueue(q, { durable: false });
      await waitFor(async () => (await queueCount()) === 150, 30_000, '150 queue processes', 250);
      const facts = await factsCollector(session).collect();
      const counts = Object.fromEntries(facts.modules.map((m) => [m.module, m.processes]));
      assert.equal(counts.rabbit_amqqueue_process, await queueCount(), JSON.stringify(facts.modules.slice(0, 8)));
      assert.equal(counts.rabbit_prequeue, undefined, 'no queue left under the module it starts in');
      assert.equal(counts.rabbit_reader, await r.eval(COUNT_BY_TYPE, { Type: Atom.of('rabbit_reader') }));
      // The naming rule ran for the processes that start in a trampoline only, once each.
      const summarizer = new ModuleSummarizer(session.evaluator, session.node);
      await summarizer.summarize();
      const startedAsPrequeue = (await r.eval(STARTED_AS, { Mod: Atom.of('rabbit_prequeue') })) as number;
      assert.equal(summarizer.lastPass.trampolines, startedAsPrequeue);
      assert.ok(startedAsPrequeue * 3 < summarizer.lastPass.processes, `${startedAsPrequeue} of ${summarizer.lastPass.processes} processes`);
      const firstPass = summarizer.lastPass;
      await summarizer.summarize();
      assert.equal(summarizer.lastPass.trampolines, 0, 'named once, never asked again');
      console.log(`      ${firstPass.processes} processes, ${firstPass.trampolines} named by the rule: first pass one-off ${firstPass.newPidsNodeMs.toFixed(1)} ms on the node; next pass ${summarizer.lastPass.nodeMs.toFixed(1)} ms`);
      for (const q of extra) await ch.deleteQueue(q);
    } finally {
      await session.detach();
      await c.close().catch(() => undefined);
    }
  });

  it('the circuit breaker stops `hot` when the node\'s run queue stays over its limit, and says so in words; the node is left clean', async () => {
    const r = rabbit as RabbitServer;
    const limit = 4 * ((await r.eval('erlang:system_info(schedulers_online).')) as number);
    const spinners = limit + 8;
    // Busy processes, each ending by itself within 60 s; killed by pid as soon as the run is over.
    const pids = (await r.eval(
      `End = erlang:monotonic_time(millisecond) + 60000,
       Spin = fun S() -> case erlang:monotonic_time(millisecond) > End of true -> done; false -> S() end end,
       [spawn(Spin) || _ <- lists:seq(1, N)].`,
      { N: spinners },
    )) as Pid[];
    try {
      await waitFor(async () => ((await r.eval('erlang:statistics(total_run_queue_lengths).')) as number) > limit, 30_000, 'the run queue over the limit', 250);
      const res = await runCli(['hot', ...conn, '--module', 'rabbit_writer,rabbit_reader', '--duration', '60', '--allow-trace', '--allow-probe'], cwd);
      assert.equal(res.code, 0, res.stderr + res.stdout);
      const m = /\(stopped by the circuit breaker: run queue at (\d+), over the limit of (\d+) for 3 checks in a row\); saved (\S+)/.exec(res.stdout);
      assert.ok(m, res.stdout);
      assert.equal(Number(m[2]), limit, 'the limit is 4 x the schedulers online');
      // What it read is the queue our busy processes make (the load's own processes add a few).
      assert.ok(Number(m[1]) > limit && Number(m[1]) <= spinners + 32, m[0]);
      const saved = JSON.parse(readFileSync(path.resolve(cwd, m[3] as string), 'utf8')) as { endReason: string; endDetail?: string };
      assert.equal(saved.endReason, 'breaker');
      assert.equal(saved.endDetail, `run queue at ${m[1]}, over the limit of ${limit} for 3 checks in a row`);
    } finally {
      await r.eval('[exit(P, kill) || P <- Ps], ok.', { Ps: pids });
    }
    assert.ok(isAtom(await r.eval(`code:is_loaded(beam_lens_probe).`), 'false'));
    const patterns = await r.eval(`erlang:trace_info({rabbit_writer, mainloop1, 2}, call_count).`);
    assert.ok(patterns instanceof Tuple && isAtom(patterns.at(1), 'false'), String(patterns));
  });

  it('connection churn without a crash: clients reconnecting in a loop are found by sampling sockets, counts within what RabbitMQ itself counted', async () => {
    const r = rabbit as RabbitServer;
    // RabbitMQ's own counters of connections created and closed on this node (rabbit_core_metrics).
    const CHURN = `case ets:lookup(connection_churn_metrics, node()) of [T] -> {element(2, T), element(3, T)}; [] -> none end.`;
    const churn = await rabbitReconnects(r.amqpPort, 3, 1500);
    try {
      await waitFor(() => (churn.stats().closed ?? 0) >= 3, 30_000, 'clients to reconnect', 100);
      const before = (await r.eval(CHURN)) as Tuple;
      const t0 = Date.now();
      const res = await runCli(['findings', ...conn, '--duration', '6', '--json'], cwd);
      const wallSecs = (Date.now() - t0) / 1000;
      const after = (await r.eval(CHURN)) as Tuple;
      assert.equal(res.code, 0, res.stderr);
      const created = (after.at(0) as number) - (before.at(0) as number);
      const ended = (after.at(1) as number) - (before.at(1) as number);
      const f = (JSON.parse(res.stdout) as { findings: JsonFinding[] }).findings;
      const found = f.find((x) => x.rule === 'connection-churn' && x.title.startsWith('Connections of rabbit_reader churn'));
      assert.ok(found, f.map((x) => `${x.rule}: ${x.title}`).join('\n'));
      const m = /: (\d+) opened and (\d+) closed in ([\d.]+) s \((\d+)\/min opened, (\d+)\/min closed\)/.exec(found.title);
      assert.ok(m, found.title);
      const [opened, closed, span, openedPerMin, closedPerMin] = m.slice(1).map(Number) as [number, number, number, number, number];
      console.log(`      sampled ${opened} opened / ${closed} closed in ${span} s; RabbitMQ counted ${created} created / ${ended} closed over the whole run; clients ${JSON.stringify(churn.stats())}`);
      // Sampling sees no more than happened, and most of what happened inside its window.
      assert.ok(opened >= 2 && opened <= created, `${opened} opened, node created ${created}`);
      assert.ok(closed >= 2 && closed <= ended, `${closed} closed, node closed ${ended}`);
      // The clients' rate is steady: the sampled rate is not far below the node's over the whole run.
      assert.ok(opened / span >= (0.4 * created) / wallSecs, `sampled ${opened} in ${span} s, node ${created} in ${wallSecs} s`);
      assert.ok(Math.abs(openedPerMin - (opened * 60) / span) <= 60 / span + 1, found.title);
      assert.ok(Math.abs(closedPerMin - (closed * 60) / span) <= 60 / span + 1, found.title);
      assert.match(found.evidence.join('\n'), /new connections came from 127\.0\.0\.1 \(\d+\)/);
      assert.match(found.evidence.join('\n'), /lower bound/);
      assert.match(found.recommendation, /closing AMQP connection/);
      assert.match(found.recommendation, /list_connections/);
      assert.equal(found.subject.module, 'rabbit_reader');
    } finally {
      await churn.stop();
    }
  });
});
