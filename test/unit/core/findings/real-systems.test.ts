// The rules issue 12 found missing or wrong on RabbitMQ and ejabberd, on samples shaped like
// theirs: one naming rule, kind-aware advice, memory growth, blocked senders, unique ids, shares.
import { strict as assert } from 'node:assert';
import { Atom, Pid, Tuple } from '../../../../src/etf';
import { computeFindings, uniqueIds, type Finding } from '../../../../src/core/findings/rules';
import { identityFrom, identityKey, labelText, processTitle, processWho } from '../../../../src/core/inspect/identity';
import type { Overview } from '../../../../src/core/inspect/overview';
import { kindOf } from '../../../../src/core/findings/process-kind';
import type { NodeSamples, ProcessStat } from '../../../../src/core/findings/sampler';
import { utilizationFrom } from '../../../../src/core/inspect/overview';

const MiB = 1024 * 1024;

function overview(total: number, binary: number, processes = 50 * MiB): Overview {
  return {
    node: 'rabbit@localhost', otpRelease: '25', ertsVersion: '13.1.5', systemVersion: 'x', uptimeMs: 60_000, wordSize: 8,
    schedulers: { online: 2, total: 2, dirtyCpu: 2, dirtyIo: 10 },
    schedulerUtilization: null,
    runQueue: { total: 0, perScheduler: [0, 0], dirtyCpu: 0, dirtyIo: 0 },
    memory: { total, processes, processesUsed: processes, system: total - processes, atom: MiB, atomUsed: MiB, binary, code: 10 * MiB, ets: 5 * MiB },
    limits: { processes: { count: 300, limit: 1_048_576 }, ports: { count: 15, limit: 65536 }, atoms: { count: 40_000, limit: 5_000_000 }, etsTables: { count: 140, limit: null } },
    io: { inputBytes: 0, outputBytes: 0 },
    reductions: 0,
    garbageCollections: { count: 0, wordsReclaimed: 0 },
  };
}

function proc(pid: string, o: { module?: string; label?: string; initialCall?: string; name?: string; memory?: [number, number]; binary?: [number, number]; queue?: [number, number]; suspended?: [string?, string?] }): ProcessStat {
  const [ms, me] = o.memory ?? [10_000, 10_000];
  const [bs, be] = o.binary ?? [0, 0];
  const [qs, qe] = o.queue ?? [0, 0];
  return {
    pid,
    row: { pid, name: o.name ?? null, memory: me, reductions: 0, messageQueueLen: qe, currentFunction: 'gen_server2:process_next_msg/1', initialCall: o.initialCall ?? null, module: o.module ?? null, label: o.label ?? null },
    reductionsPerSec: 10,
    memoryStart: ms,
    memoryEnd: me,
    binaryStart: bs,
    binaryEnd: be,
    queueStart: qs,
    queueEnd: qe,
    ...(o.suspended?.[0] ? { suspendedStart: o.suspended[0] } : {}),
    ...(o.suspended?.[1] ? { suspendedEnd: o.suspended[1] } : {}),
  };
}

function samples(over: Partial<NodeSamples>): NodeSamples {
  return {
    node: 'rabbit@localhost', windowMs: 10_000, startedAt: new Date(0).toISOString(),
    overviewStart: overview(400 * MiB, 200 * MiB), overviewEnd: overview(400 * MiB, 200 * MiB),
    processCount: 300, totalReductionsPerSec: 1_000_000, processes: [], mailboxes: [], treesStart: [], treesEnd: [], ets: [], sources: {}, callees: [], ...over,
  };
}

const queue = (pid: string, name: string, o: Parameters<typeof proc>[1] = {}): ProcessStat =>
  proc(pid, { module: 'rabbit_amqqueue_process', label: `queue '${name}' in vhost '/'`, initialCall: 'rabbit_prequeue:init/1', ...o });

describe('one naming rule (src/core/identity.ts)', () => {
  it("names a RabbitMQ queue by process_name's type and its queue, not by rabbit_prequeue:init/1", () => {
    const resource = new Tuple([Atom.of('resource'), Buffer.from('/'), Atom.of('queue'), Buffer.from('backlog.orders')]);
    const id = identityFrom(new Tuple([Atom.of('rabbit_amqqueue_process'), resource, new Tuple([Atom.of('rabbit_prequeue'), Atom.of('init'), 1])]), undefined, null, 'rabbit_prequeue:init/1');
    assert.equal(id.module, 'rabbit_amqqueue_process');
    assert.equal(id.label, "queue 'backlog.orders' in vhost '/'");
    assert.equal(processTitle(id), "rabbit_amqqueue_process queue 'backlog.orders' in vhost '/'");
    assert.equal(processWho({ ...id, pid: '<0.698.0>' }), "rabbit_amqqueue_process queue 'backlog.orders' in vhost '/' (<0.698.0>)");
    assert.equal(identityKey({ ...id, pid: '<0.698.0>' }), "rabbit_amqqueue_process:queue 'backlog.orders' in vhost '/'");
  });

  it('names a simple_one_for_one child by its spec module (ejabberd_c2s, not xmpp_stream_in), a supervisor by its callback', () => {
    const c2s = identityFrom(new Tuple([Atom.of('undefined'), Atom.of('undefined'), new Tuple([Atom.of('xmpp_stream_in'), Atom.of('init'), 1])]), Atom.of('ejabberd_c2s'), null, 'xmpp_stream_in:init/1');
    assert.equal(processTitle(c2s), 'ejabberd_c2s');
    const sup = identityFrom(new Tuple([Atom.of('undefined'), Atom.of('undefined'), new Tuple([Atom.of('supervisor'), Atom.of('ejabberd_tmp_sup'), 1])]), undefined, null, 'supervisor:ejabberd_tmp_sup/1');
    assert.equal(sup.module, 'ejabberd_tmp_sup');
    assert.equal(processTitle(identityFrom(undefined, undefined, 'Elixir.Demo.Sink', null)), 'Demo.Sink');
  });

  it('labels: channels as connection + number, pids in the node\'s own notation, large labels not shipped', () => {
    assert.equal(labelText(new Tuple([Buffer.from('127.0.0.1:40808 -> 127.0.0.1:5672'), 1])), '127.0.0.1:40808 -> 127.0.0.1:5672 channel 1');
    const pid = new Pid(Atom.of('rabbit@localhost'), 493, 0, 1);
    assert.equal(labelText(new Tuple([Atom.of('x'), pid]), 'rabbit@localhost'), '{x,<0.493.0>}');
    assert.equal(labelText(Atom.of('too_large')), '(label too large to show)');
    assert.equal(labelText(Buffer.from('a\nb')), 'a?b');
  });
});

describe('advice follows what the process is', () => {
  it('kinds: broker queue, socket writer, client connection, supervisor, Erlang or Elixir process', () => {
    assert.equal(kindOf({ module: 'rabbit_amqqueue_process', label: null, initialCall: null }).kind, 'message-queue');
    assert.equal(kindOf({ module: 'rabbit_writer', label: null, initialCall: null }).kind, 'socket-writer');
    assert.equal(kindOf({ module: 'ejabberd_c2s', label: null, initialCall: 'xmpp_stream_in:init/1' }).kind, 'connection');
    assert.equal(kindOf({ module: 'ejabberd_tmp_sup', label: null, initialCall: 'supervisor:ejabberd_tmp_sup/1' }).kind, 'supervisor');
    assert.deepEqual(kindOf({ module: 'Elixir.MyApp.Cache', label: null, initialCall: null }), { kind: 'process', elixir: true });
  });

  it("a queue holding message bodies gets consumers / max-length / lazy queues, never an Elixir cache's :binary.copy; the share stays within 100%", () => {
    // 150 MiB held; the node reports 140 MiB of binaries read a moment later.
    const q = queue('<0.698.0>', 'backlog.orders', { binary: [100 * MiB, 150 * MiB], memory: [100 * MiB, 190 * MiB] });
    const f = computeFindings(samples({ processes: [q], overviewEnd: overview(420 * MiB, 140 * MiB) }));
    const bin = f.find((x) => x.rule === 'binary-holder') as Finding;
    assert.match(bin.title, /queue 'backlog\.orders'/);
    assert.match(bin.title, /\(100% of the node's binary memory\)/);
    assert.match(bin.recommendation, /consumers/);
    assert.match(bin.recommendation, /max-length/);
    assert.match(bin.recommendation, /lazy/);
    assert.doesNotMatch(bin.recommendation, /binary\.copy/);
    // An Erlang process caching binaries is told binary:copy/1, an Elixir one :binary.copy/1.
    const erl = computeFindings(samples({ processes: [proc('<0.9.0>', { module: 'my_cache', binary: [0, 100 * MiB] })] })).find((x) => x.rule === 'binary-holder') as Finding;
    assert.match(erl.recommendation, /`binary:copy\/1`/);
    const ex = computeFindings(samples({ processes: [proc('<0.9.0>', { module: 'Elixir.MyApp.Cache', binary: [0, 100 * MiB] })] })).find((x) => x.rule === 'binary-holder') as Finding;
    assert.match(ex.recommendation, /`:binary\.copy\/1`/);
  });
});

describe('problems a specialist writes down', () => {
  it('node memory growth, with who grew and the memory types', () => {
    const q = queue('<0.698.0>', 'backlog.orders', { memory: [100 * MiB, 160 * MiB], binary: [100 * MiB, 130 * MiB] });
    const s = samples({ processes: [q], overviewStart: overview(400 * MiB, 200 * MiB, 150 * MiB), overviewEnd: overview(495 * MiB, 235 * MiB, 210 * MiB) });
    const g = computeFindings(s).find((x) => x.rule === 'memory-growth') as Finding;
    assert.match(g.title, /Node memory grew by 95\.0 MiB in 10\.0 s/);
    assert.match(g.evidence.join('\n'), /processes \+60\.0 MiB, binary \+35\.0 MiB/);
    assert.match(g.evidence.join('\n'), /queue 'backlog\.orders'/);
    assert.match(g.recommendation, /max-length/);
    // A small or slow change is no finding.
    assert.equal(computeFindings(samples({ overviewEnd: overview(410 * MiB, 200 * MiB) })).some((x) => x.rule === 'memory-growth'), false);
  });

  it('a writer suspended in port_command is a blocked sender (one finding per connection, the longest queue first)', () => {
    const conn = '127.0.0.1:40808 -> 127.0.0.1:5672';
    const writer = proc('<0.1602.0>', { module: 'rabbit_writer', label: `${conn} channel 1`, queue: [188, 213], suspended: ['erts_internal:port_command/3', 'erts_internal:port_command/3'] });
    const beat = proc('<0.1597.0>', { module: 'heartbeat_sender', label: conn, suspended: [undefined, 'erts_internal:port_command/3'] });
    const s = samples({
      processes: [beat, writer],
      busyPorts: [{ port: '#Port<0.34>', name: 'tcp_inet', queueSize: 9682, sendPending: 9682, owner: '<0.1590.0>', ownerTitle: `rabbit_reader ${conn}`, peer: '::ffff:127.0.0.1:40808', distNode: null }],
    });
    const f = computeFindings(s).filter((x) => x.rule === 'blocked-sender');
    assert.equal(f.length, 1);
    assert.match(f[0]?.title ?? '', /^rabbit_writer .* is suspended in erts_internal:port_command\/3 \(blocked on a busy port\) with 213 messages queued/);
    assert.equal(f[0]?.severity, 'critical');
    assert.match(f[0]?.evidence.join('\n') ?? '', /also suspended: heartbeat_sender/);
    assert.match(f[0]?.evidence.join('\n') ?? '', /socket #Port<0\.34> to ::ffff:127\.0\.0\.1:40808 .*send_pend 9,682/);
    assert.match(f[0]?.recommendation ?? '', /The client at 127\.0\.0\.1:40808 stopped reading its socket/);
    // Its growing mailbox is a symptom: the mailbox finding says so instead of "add back-pressure".
    const m = computeFindings({ ...s, mailboxes: [{ pid: '<0.1602.0>', points: [[0, 1000], [5000, 3000], [10_000, 5000]] }] }).find((x) => x.rule.startsWith('mailbox'));
    assert.match(m?.recommendation ?? '', /suspended writing to a busy port/);
  });

  it('no hot spot is named after a receive loop or a function seen in few samples', () => {
    const p = { ...queue('<0.698.0>', 'backlog.orders'), reductionsPerSec: 800_000, hotFunctions: [{ mfa: 'rabbit_priority_queue:is_duplicate/2', share: 0.04 }] };
    const f = computeFindings(samples({ processes: [p], totalReductionsPerSec: 1_000_000 })).find((x) => x.rule === 'reduction-hog') as Finding;
    assert.doesNotMatch(f.recommendation, /hot spot in/);
    assert.match(f.recommendation, /no single function/);
  });

  it('finding ids are unique in one run', () => {
    const a = proc('<0.1.0>', { module: 'rabbit_prequeue', binary: [0, 100 * MiB] });
    const b = proc('<0.2.0>', { module: 'rabbit_prequeue', binary: [0, 100 * MiB] });
    const ids = computeFindings(samples({ processes: [a, b] })).map((f) => f.id);
    assert.equal(new Set(ids).size, ids.length, ids.join(' '));
    const same = { id: 'x', rule: 'memory-hog', severity: 'info', title: '', evidence: [], subject: {}, recommendation: '', risk: '', validation: '' } as Finding;
    assert.deepEqual(uniqueIds([same, same, same]).map((f) => f.id), ['x', 'x#2', 'x#3']);
  });
});

describe('dynamic children', () => {
  const dynTree = (restarts: number, pids: string[]): NodeSamples['treesEnd'] => [{
    name: 'ejabberd', description: '', version: '23.01',
    supervisor: {
      pid: '<0.449.0>', name: 'ejabberd_c2s_sup', module: 'ejabberd_tmp_sup', type: 'supervisor', strategy: 'simple_one_for_one', intensity: 10, period: 1, restarts, childCount: pids.length,
      children: pids.map((pid) => ({ pid, name: null, id: 'undefined', module: 'ejabberd_c2s', type: 'worker' as const, childCount: 0, children: [] })),
    },
  }];

  it('clients coming and going is no restart storm; dynamic children replaced while restarts are counted are its evidence', () => {
    const churn = computeFindings(samples({ treesStart: dynTree(0, ['<0.1.0>', '<0.2.0>', '<0.3.0>']), treesEnd: dynTree(0, ['<0.1.0>', '<0.2.0>', '<0.9.0>']) }));
    assert.equal(churn.some((f) => f.rule === 'restart-storm'), false, churn.map((f) => f.title).join('\n'));
    const loop = computeFindings(samples({ treesStart: dynTree(2, ['<0.1.0>', '<0.2.0>', '<0.3.0>']), treesEnd: dynTree(8, ['<0.1.0>', '<0.2.0>', '<0.9.0>']) }));
    const f = loop.find((x) => x.rule === 'restart-storm') as Finding;
    assert.equal(f.severity, 'critical');
    assert.match(f.evidence.join('\n'), /dynamic children: 1 of 3 exited and 1 new started/);
    assert.doesNotMatch(f.evidence.join('\n'), /children replaced during the .* undefined/);
  });
});

describe('overview figures', () => {
  it('scheduler utilization ignores dirty schedulers in the per-scheduler list', () => {
    const t = (id: number, a: number, tot: number): Tuple => new Tuple([id, a, tot]);
    const u = utilizationFrom(new Tuple([[t(1, 0, 0), t(2, 0, 0), t(3, 0, 0)], [t(1, 50, 100), t(2, 25, 100), t(3, 100, 100)]]), 2, 1, 500);
    assert.deepEqual(u?.perScheduler, [0.5, 0.25]);
  });
});
