import { strict as assert } from 'node:assert';
import { computeFindings, growth } from '../../../../src/core/findings/rules';
import type { Overview } from '../../../../src/core/inspect/overview';
import { topIndices } from '../../../../src/core/inspect/processes';
import type { NodeSamples, ProcessStat } from '../../../../src/core/findings/sampler';
import type { ApplicationTree } from '../../../../src/core/inspect/tree';

const MiB = 1024 * 1024;

function overview(memoryTotal = 200 * MiB, binary = 10 * MiB): Overview {
  return {
    node: 'demo@host', otpRelease: '25', ertsVersion: '13.1.5', systemVersion: 'x', uptimeMs: 60_000, wordSize: 8,
    schedulers: { online: 2, total: 2, dirtyCpu: 2, dirtyIo: 10 },
    schedulerUtilization: { windowMs: 500, total: 0.5, perScheduler: [0.9, 0.1], dirtyCpu: 0 },
    runQueue: { total: 1, perScheduler: [1, 0, 0] },
    memory: { total: memoryTotal, processes: 50 * MiB, processesUsed: 50 * MiB, system: 50 * MiB, atom: MiB, atomUsed: MiB, binary, code: 10 * MiB, ets: 30 * MiB },
    limits: {
      processes: { count: 1000, limit: 262144 },
      ports: { count: 10, limit: 65536 },
      atoms: { count: 20000, limit: 1048576 },
      etsTables: { count: 30, limit: null },
    },
    io: { inputBytes: 0, outputBytes: 0 },
    reductions: 0,
    garbageCollections: { count: 0, wordsReclaimed: 0 },
  };
}

function stat(pid: string, over: Partial<ProcessStat> & { name?: string | null; initialCall?: string | null }): ProcessStat {
  return {
    pid,
    row: {
      pid, name: over.name ?? null, memory: over.memoryEnd ?? 10_000, reductions: 0, messageQueueLen: over.queueEnd ?? 0,
      currentFunction: 'gen_server:loop/7', initialCall: over.initialCall ?? null,
    },
    reductionsPerSec: over.reductionsPerSec ?? 10,
    memoryStart: over.memoryStart ?? 10_000,
    memoryEnd: over.memoryEnd ?? 10_000,
    binaryEnd: over.binaryEnd ?? 0,
    queueStart: over.queueStart ?? 0,
    queueEnd: over.queueEnd ?? 0,
    ...(over.hotFunctions ? { hotFunctions: over.hotFunctions } : {}),
  };
}

function tree(restarts: number, flakyPid: string): ApplicationTree[] {
  return [{
    name: 'demo', description: 'demo', version: '0.1.0',
    supervisor: {
      pid: '<0.100.0>', name: 'Elixir.Demo.Supervisor', module: 'Elixir.Demo.Supervisor', type: 'supervisor', strategy: 'one_for_one',
      intensity: 3, period: 5, restarts, childCount: 1,
      children: [{ pid: flakyPid, name: null, id: "'Elixir.Demo.FlakyWorker'", module: 'Elixir.Demo.FlakyWorker', type: 'worker', childCount: 0, children: [] }],
    },
  }];
}

function samples(over: Partial<NodeSamples>): NodeSamples {
  return {
    node: 'demo@host', windowMs: 5000, startedAt: new Date(0).toISOString(), overviewStart: overview(), overviewEnd: overview(),
    processCount: 1000, totalReductionsPerSec: 1_000_000, processes: [], mailboxes: [], treesStart: tree(0, '<0.5.0>'),
    treesEnd: tree(0, '<0.5.0>'), ets: [], sources: {}, callees: [], ...over,
  };
}

describe('findings rules', () => {
  it('flags a steadily growing mailbox with its rate and module, and not a draining one', () => {
    const sink = stat('<0.200.0>', { name: 'Elixir.Demo.EventSink', initialCall: 'Elixir.Demo.EventSink:init/1', queueStart: 1000, queueEnd: 3500 });
    const drain = stat('<0.201.0>', { name: 'Elixir.Demo.Drain', queueStart: 500, queueEnd: 0 });
    const s = samples({
      processes: [sink, drain],
      mailboxes: [
        { pid: '<0.200.0>', points: [[0, 1000], [1000, 1500], [2000, 2000], [3000, 2500], [4000, 3000], [5000, 3500]] },
        { pid: '<0.201.0>', points: [[0, 500], [1000, 400], [2000, 300], [3000, 200], [4000, 100], [5000, 0]] },
      ],
      sources: { 'Elixir.Demo.EventSink': '/app/lib/demo/event_sink.ex' },
    });
    const f = computeFindings(s).filter((x) => x.rule === 'mailbox-growth');
    assert.equal(f.length, 1);
    assert.match(f[0]?.title ?? '', /Demo\.EventSink's mailbox grows by 500 messages\/s/);
    assert.equal(f[0]?.severity, 'critical');
    assert.equal(f[0]?.location?.file, '/app/lib/demo/event_sink.ex');
    assert.match(f[0]?.recommendation ?? '', /back-pressure/);
  });

  it('computes growth by least squares and steadiness', () => {
    const g = growth({ pid: 'x', points: [[0, 0], [1000, 100], [2000, 200]] });
    assert.equal(Math.round(g.perSec), 100);
    assert.equal(g.steadiness, 1);
  });

  it('flags a reduction hog with its hot function', () => {
    const hog = stat('<0.300.0>', { initialCall: 'Elixir.Demo.Pricing.Loop:init/1', reductionsPerSec: 800_000, hotFunctions: [{ mfa: 'Elixir.Demo.Pricing:compute/2', share: 0.7 }] });
    const f = computeFindings(samples({ processes: [hog] })).find((x) => x.rule === 'reduction-hog');
    assert.ok(f);
    assert.equal(f.location?.module, 'Elixir.Demo.Pricing');
    assert.equal(f.location?.function, 'compute');
    assert.equal(f.location?.arity, 2);
    assert.match(f.title, /80% of the node's work/);
  });

  it('flags a binary holder by its share of binary memory', () => {
    const holder = stat('<0.400.0>', { name: 'Elixir.Demo.BlobCache', binaryEnd: 40 * MiB });
    const f = computeFindings(samples({ processes: [holder], overviewEnd: overview(200 * MiB, 45 * MiB) })).find((x) => x.rule === 'binary-holder');
    assert.ok(f);
    assert.match(f.title, /40\.0 MiB of off-heap binaries \(89%/);
  });

  it('flags a supervisor near its restart limit and a child replaced in the window', () => {
    const f = computeFindings(samples({ treesStart: tree(1, '<0.5.0>'), treesEnd: tree(2, '<0.6.0>') })).find((x) => x.rule === 'restart-storm');
    assert.ok(f);
    assert.equal(f.severity, 'critical');
    assert.match(f.title, /restarted children 2 times in its last 5 s \(gives up at more than 3\)/);
    assert.ok(f.evidence.some((e) => e.includes("'Elixir.Demo.FlakyWorker'")));
  });

  it('flags a process many callers are blocked on, and suggests partitioning', () => {
    const callee = { pid: '<0.77.0>', waiters: 12, row: { pid: '<0.77.0>', name: 'Elixir.Demo.Registry', memory: 1, reductions: 1, messageQueueLen: 11, currentFunction: 'Elixir.Demo.Registry:handle_call/3', initialCall: 'Elixir.Demo.Registry:init/1' } };
    const f = computeFindings(samples({ callees: [callee] })).find((x) => x.rule === 'bottleneck');
    assert.ok(f);
    assert.match(f.title, /12 processes were blocked calling Demo\.Registry at the same time/);
    assert.match(f.recommendation, /PartitionSupervisor/);
    assert.equal(f.location?.function, 'handle_call');
    assert.equal(computeFindings(samples({ callees: [{ ...callee, waiters: 3 }] })).filter((x) => x.rule === 'bottleneck').length, 0);
  });

  it('turns a hot-functions session into findings for functions with a large share of calls', () => {
    const hot = {
      durationMs: 5000, modules: ['Elixir.Demo.Pricing'], functionsCovered: 10, totalCalls: 1_600_000, endReason: 'completed' as const,
      functions: [
        { mfa: 'Elixir.Demo.Pricing:compute/2', module: 'Elixir.Demo.Pricing', function: 'compute', arity: 2, calls: 1_500_000, callsPerSec: 300_000, share: 0.94, usPerCall: 0.4 },
        { mfa: 'Elixir.Demo.Pricing:round/1', module: 'Elixir.Demo.Pricing', function: 'round', arity: 1, calls: 100, callsPerSec: 20, share: 0.0001 },
      ],
    };
    const f = computeFindings(samples({ hot, sources: { 'Elixir.Demo.Pricing': '/app/lib/pricing.ex' } })).filter((x) => x.rule === 'hot-function');
    assert.equal(f.length, 1);
    assert.match(f[0]?.title ?? '', /Demo\.Pricing\.compute\/2 takes 94% of calls \(300,000\/s\)/);
    assert.deepEqual(f[0]?.location, { module: 'Elixir.Demo.Pricing', file: '/app/lib/pricing.ex', function: 'compute', arity: 2 });
    assert.ok(f[0]?.evidence.some((e) => e.includes('0.4 µs per call')));
  });

  it('says nothing about a quiet node', () => {
    assert.deepEqual(computeFindings(samples({ processes: [stat('<0.1.0>', {})] })), []);
  });
});

describe('top-N selection', () => {
  it('keeps the n largest in order and skips dead (-1) entries', () => {
    const score = [5, -1, 9, 1, 9, 3];
    assert.deepEqual(topIndices(score, 3), [2, 4, 0]);
    assert.deepEqual(topIndices(score, 10), [2, 4, 0, 5, 3]);
    assert.deepEqual(topIndices(score, 0), []);
  });

  it('matches a full sort on random data', () => {
    const score = Array.from({ length: 5000 }, (_, i) => ((i * 7919) % 1000) - 10);
    const expected = score.map((v, i) => [v, i] as const).filter(([v]) => v >= 0).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 50).map(([, i]) => i);
    assert.deepEqual(topIndices(score, 50), expected);
  });
});
