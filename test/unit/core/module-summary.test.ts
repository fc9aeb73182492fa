// The facts' per-module summary against a scripted node: each process's module is read once, the
// pid list travels only when it changed, and memory is read again only for processes that ran or
// got messages (our own reads each cost the process one reduction, and are not taken for work).
import { strict as assert } from 'node:assert';
import { Atom, Pid, Term, Tuple } from '../../../src/etf';
import { ModuleSummarizer } from '../../../src/core/facts/module-summary';
import type { RemoteEvaluator } from '../../../src/core/target/remote-eval';

const node = Atom.of('n@h');
const pid = (id: number): Pid => new Pid(node, id, 0, 1);
const t = (...xs: Term[]): Tuple => new Tuple(xs);
const a = Atom.of;

interface Proc {
  pid: Pid;
  module: string;
  /** What the naming rule says it runs (process_name's type or its child spec's module), when it differs. */
  runs?: string;
  q: number;
  reds: number;
  mem: number;
}

/** Answers the summarizer's four evaluations the way a node would, and counts what it was asked. */
function scriptedNode(procs: Proc[]): { evaluator: RemoteEvaluator; asked: { memoryOf: number[]; modulesOf: number[]; namedOf: number[]; pidsShipped: number; passes: number } } {
  const asked = { memoryOf: [] as number[], modulesOf: [] as number[], namedOf: [] as number[], pidsShipped: 0, passes: 0 };
  let index = new Map<string, Proc>();
  const byKey = (p: Pid): Proc => {
    if (index.size !== procs.length) index = new Map(procs.map((x) => [x.pid.key, x]));
    return index.get(p.key) as Proc;
  };
  const evaluator = {
    eval(source: string, bindings: Record<string, Term>): Promise<Term> {
      if (source.includes('[message_queue_len, reductions]')) {
        // The node's side of the chunked pass: hashes per chunk, the chunks that differ from KP/KV.
        const size = bindings.C as number;
        const max = bindings.Max as number;
        const kp = bindings.KP as number[];
        const kv = bindings.KV as number[];
        // What reaches the node is encoded: a hole (undefined) cannot be.
        for (const k of [kp, kv]) for (let i = 0; i < k.length; i++) if (typeof k[i] !== 'number') throw new Error('cannot encode as an Erlang term: unsupported value undefined');
        const h = (xs: number[]): number => xs.reduce((acc, x) => (acc * 31 + x) % 1_000_003, 7);
        const chunks: Proc[][] = [];
        for (let i = 0; i < Math.max(1, procs.length); i += size) chunks.push(procs.slice(i, i + size));
        const ph = chunks.map((c) => h(c.map((p) => p.pid.id)));
        const vh = chunks.map((c) => h(c.flatMap((p) => [p.q, p.reds])));
        const changed = chunks
          .map((c, i) => ({ c, i }))
          .filter(({ i }) => ph[i] !== kp[i] || vh[i] !== kv[i])
          .map(({ c, i }) => t(i + 1, ph[i] === kp[i] ? a('same') : c.map((p) => p.pid), c.map((p) => [t(a('message_queue_len'), p.q), t(a('reductions'), p.reds)])));
        const sent = changed.slice(0, max);
        asked.pidsShipped += sent.filter((c) => Array.isArray(c.at(1))).length;
        asked.passes++;
        return Promise.resolve(t(procs.length, ph, vh, sent, changed.length, 1000));
      }
      const ps = (bindings.Ps ?? []) as Pid[];
      if (source.includes('translate_initial_call')) {
        asked.modulesOf.push(ps.length);
        for (const p of ps) byKey(p).reds++; // the dictionary read
        return Promise.resolve(t(t(ps.map(() => t(a('initial_call'), t(a('proc_lib'), a('init_p'), 5))), ps.map((p) => t(a(byKey(p).module), a('init'), 1))), 500));
      }
      if (source.includes('SpecModule(P, Cache)')) {
        asked.namedOf.push(ps.length);
        return Promise.resolve(t(ps.map((p) => a(byKey(p).runs ?? 'undefined')), 200));
      }
      if (source.includes('lists:duplicate(length(Ps), memory)')) {
        asked.memoryOf.push(ps.length);
        const out = ps.map((p) => {
          const proc = byKey(p);
          proc.reds++; // answering the memory read
          return t(a('memory'), proc.mem);
        });
        return Promise.resolve(t(out, 300));
      }
      if (source.includes('module_info(compile)')) return Promise.resolve(((bindings.Mods ?? []) as Term[]).map(() => a('undefined')));
      throw new Error(`unexpected evaluation: ${source}`);
    },
  } as unknown as RemoteEvaluator;
  return { evaluator, asked };
}

describe('module summary (facts)', () => {
  it('reads modules once, memory only where it can have changed, and ships pids only when they changed', async () => {
    const procs: Proc[] = [1, 2, 3, 4].map((id) => ({ pid: pid(id), module: id <= 3 ? 'Elixir.Demo.Session' : 'Elixir.Demo.Sink', q: 0, reds: 100, mem: 1000 * id }));
    const { evaluator, asked } = scriptedNode(procs);
    const s = new ModuleSummarizer(evaluator, 'n@h');

    const first = await s.summarize();
    assert.deepEqual(asked.modulesOf, [4]);
    assert.deepEqual(asked.memoryOf, [4]);
    assert.equal(asked.pidsShipped, 1);
    assert.deepEqual(first.map((r) => [r.module, r.processes, r.memory]), [['Demo.Session', 3, 6000], ['Demo.Sink', 1, 4000]]);
    assert.equal(s.lastPass.nodeMs, 1, 'the one-off reads of the first pass are not the recurring cost');

    // Idle: nothing ran (only our own reads changed the reductions): no memory read at all.
    await s.summarize();
    assert.deepEqual(asked.memoryOf, [4]);
    assert.deepEqual(asked.modulesOf, [4]);
    assert.equal(asked.pidsShipped, 1);
    assert.equal(s.lastPass.memoryReads, 0);

    // One process worked and grew, one got a message: only those two are read again.
    const p2 = procs[1] as Proc;
    const p4 = procs[3] as Proc;
    p2.reds += 50;
    p2.mem = 9000;
    p4.q = 3;
    p4.mem = 4500;
    const third = await s.summarize();
    assert.deepEqual(asked.memoryOf, [4, 2]);
    assert.deepEqual(third.map((r) => [r.module, r.memory, r.messages, r.largestMailbox]), [['Demo.Session', 13000, 0, 0], ['Demo.Sink', 4500, 3, 3]]);
    assert.equal(third.find((r) => r.module === 'Demo.Sink')?.largestMailboxPid, '<0.4.0>');

    // A new process: the pid list travels again, only the new one's module is read.
    procs.push({ pid: pid(5), module: 'Elixir.Demo.Sink', q: 0, reds: 10, mem: 500 });
    const fourth = await s.summarize();
    assert.equal(asked.pidsShipped, 2);
    assert.deepEqual(asked.modulesOf, [4, 1]);
    assert.deepEqual(asked.memoryOf, [4, 2, 1]);
    assert.equal(fourth.find((r) => r.module === 'Demo.Sink')?.processes, 2);
  });

  it('names trampoline processes by the naming rule (rabbit_prequeue -> rabbit_amqqueue_process), once each, asking again while not named yet', async () => {
    const procs: Proc[] = [
      ...[1, 2, 3].map((id) => ({ pid: pid(id), module: 'rabbit_prequeue', runs: 'rabbit_amqqueue_process', q: 0, reds: 100, mem: 1000 })),
      { pid: pid(4), module: 'rabbit_prequeue', q: 0, reds: 100, mem: 1000 }, // not become yet
      { pid: pid(5), module: 'xmpp_stream_in', runs: 'ejabberd_c2s', q: 0, reds: 100, mem: 1000 },
      { pid: pid(6), module: 'rabbit_reader', q: 0, reds: 100, mem: 1000 },
    ];
    const { evaluator, asked } = scriptedNode(procs);
    const s = new ModuleSummarizer(evaluator, 'n@h');
    const first = await s.summarize();
    assert.deepEqual(asked.namedOf, [5], 'only the trampolines are asked, not rabbit_reader');
    assert.deepEqual(first.map((r) => [r.module, r.processes]), [['rabbit_amqqueue_process', 3], ['rabbit_prequeue', 1], ['ejabberd_c2s', 1], ['rabbit_reader', 1]]);
    // The one not named yet is asked again (alone); once named it is never asked again.
    (procs[3] as Proc).runs = 'rabbit_amqqueue_process';
    const second = await s.summarize();
    assert.deepEqual(asked.namedOf, [5, 1]);
    assert.equal(second.find((r) => r.module === 'rabbit_amqqueue_process')?.processes, 4);
    await s.summarize();
    assert.deepEqual(asked.namedOf, [5, 1]);
    // One that never gets a name is asked a bounded number of times.
    procs.push({ pid: pid(7), module: 'rabbit_prequeue', q: 0, reds: 1, mem: 10 });
    for (let i = 0; i < 8; i++) await s.summarize();
    assert.deepEqual(asked.namedOf, [5, 1, 1, 1, 1, 1, 1]);
  });

  it('many processes (chunks of 2 here, at most 100 a reply, reads in slices of 100): replies are bounded, an idle pass ships nothing, one that ran ships one chunk', async () => {
    const procs: Proc[] = Array.from({ length: 250 }, (_, i) => ({ pid: pid(i + 1), module: i % 2 ? 'Elixir.Demo.Session' : 'Elixir.Demo.Sink', q: 0, reds: 100, mem: 1000 }));
    const { evaluator, asked } = scriptedNode(procs);
    const s = new ModuleSummarizer(evaluator, 'n@h', { chunk: 2, maxChunks: 100, read: 100 });
    const first = await s.summarize();
    // 125 chunks: two replies (100, then 25), every pid chunk once.
    assert.equal(asked.passes, 2);
    assert.equal(asked.pidsShipped, 125);
    assert.deepEqual(asked.modulesOf, [100, 100, 50]);
    assert.deepEqual(asked.memoryOf, [100, 100, 50]);
    assert.deepEqual(first.map((r) => [r.module, r.processes, r.memory]).sort(), [['Demo.Session', 125, 125_000], ['Demo.Sink', 125, 125_000]]);

    // Our own reads cost every process a reduction: the next pass ships their values once more
    // (no pids, no memory read); from then on an idle pass ships nothing.
    await s.summarize();
    assert.equal(asked.pidsShipped, 125);
    assert.deepEqual(asked.memoryOf, [100, 100, 50]);
    const passes = asked.passes;
    await s.summarize();
    assert.equal(asked.passes, passes + 1);

    // One process ran: one pass, no pid chunk, only that process's memory read again.
    (procs[131] as Proc).reds += 40;
    (procs[131] as Proc).mem = 5000;
    const second = await s.summarize();
    assert.equal(asked.passes, passes + 2);
    assert.equal(asked.pidsShipped, 125);
    assert.deepEqual(asked.memoryOf, [100, 100, 50, 1]);
    assert.equal(second.find((r) => r.module === 'Demo.Session')?.memory, 129_000);
    assert.equal(s.lastPass.processes, 250);
  });
});
