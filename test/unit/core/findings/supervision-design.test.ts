// The pure rules of src/core/findings/supervision-design.ts and src/core/findings/binary-gc.ts:
// the edges a real node does not easily show (platform apps, partition children, limits set,
// growth too small, mixed verdicts, a holder finding getting the collection's lines).
import { strict as assert } from 'node:assert';
import { applyBinaryCollections, verdictOf } from '../../../../src/core/findings/binary-gc';
import { dynamicGrowthFindings, growingSupervisors, partitionFindings, restartTypeFindings } from '../../../../src/core/findings/supervision-design';
import type { Finding } from '../../../../src/core/findings/rules';
import type { NodeSamples, ProcessStat } from '../../../../src/core/findings/sampler';
import type { Overview } from '../../../../src/core/inspect/overview';
import type { ApplicationTree, TreeNode } from '../../../../src/core/inspect/tree';
import type { BinaryCollection, BinLeakResult } from '../../../../src/core/runs/bin-leak';

const MiB = 1024 * 1024;

function overview(online = 2): Overview {
  return {
    node: 'n@h', otpRelease: '25', ertsVersion: '13', systemVersion: 'x', uptimeMs: 1, wordSize: 8,
    schedulers: { online, total: online, dirtyCpu: 2, dirtyIo: 10 },
    schedulerUtilization: { windowMs: 500, total: 0.5, perScheduler: [0.9, 0.1], dirtyCpu: 0 },
    runQueue: { total: 1, perScheduler: [1, 0, 0] },
    memory: { total: 200 * MiB, processes: 50 * MiB, processesUsed: 50 * MiB, system: 50 * MiB, atom: MiB, atomUsed: MiB, binary: 40 * MiB, code: 10 * MiB, ets: 30 * MiB },
    limits: { processes: { count: 1000, limit: 262144 }, ports: { count: 10, limit: 65536 }, atoms: { count: 20000, limit: 1048576 }, etsTables: { count: 30, limit: null } },
    io: { inputBytes: 0, outputBytes: 0 },
    reductions: 0,
    garbageCollections: { count: 0, wordsReclaimed: 0 },
  };
}

const worker = (pid: string, module: string, name: string | null = null): TreeNode => ({ pid, name, id: `'${module}'`, module, type: 'worker', childCount: 0, children: [] });

function app(name: string, children: TreeNode[], sup: Partial<TreeNode> = {}): ApplicationTree {
  return {
    name, description: name, version: '1',
    supervisor: { pid: '<0.100.0>', name: 'Elixir.My.Sup', module: 'Elixir.My.App', type: 'supervisor', strategy: 'one_for_one', intensity: 3, period: 5, restarts: 1, childCount: children.length, children, ...sup },
  };
}

function dyn(count: number, extra: Partial<TreeNode> = {}): TreeNode {
  return { pid: '<0.110.0>', name: 'Elixir.My.Sessions', module: 'Elixir.My.Sessions', type: 'supervisor', strategy: 'one_for_one', intensity: 3, period: 5, restarts: 0, childCount: count, children: [], ...extra };
}

function stat(pid: string, name: string, over: Partial<ProcessStat>): ProcessStat {
  return {
    pid,
    row: { pid, name, memory: 1, reductions: 0, messageQueueLen: over.queueEnd ?? 0, currentFunction: 'gen_server:loop/7', initialCall: null },
    reductionsPerSec: 0, memoryStart: 1, memoryEnd: 1, binaryEnd: 0, queueStart: 0, queueEnd: 0, ...over,
  };
}

function samples(over: Partial<NodeSamples>): NodeSamples {
  return {
    node: 'n@h', windowMs: 4000, startedAt: new Date(0).toISOString(), overviewStart: overview(), overviewEnd: overview(),
    processCount: 1000, totalReductionsPerSec: 1_000_000, processes: [], mailboxes: [], treesStart: [], treesEnd: [], ets: [], sources: {}, callees: [], ...over,
  };
}

describe('supervision design review: restart types, dynamic growth, partitioning', () => {
  it('a permanent child exiting normal fires once per child; crashes and OTP apps do not', () => {
    const trees = [app('my_app', [worker('<0.200.0>', 'Elixir.My.OneShot')]), app('kernel', [], { pid: '<0.50.0>', name: 'kernel_sup' })];
    const watch = {
      watched: 3,
      windowMs: 4000,
      exits: [
        { supervisor: '<0.100.0>', childId: "'Elixir.My.OneShot'", module: 'Elixir.My.OneShot', pid: '<0.199.0>', reason: 'normal' },
        { supervisor: '<0.100.0>', childId: "'Elixir.My.OneShot'", module: 'Elixir.My.OneShot', pid: '<0.198.0>', reason: 'normal' },
        { supervisor: '<0.100.0>', childId: "'Elixir.My.Crashy'", module: 'Elixir.My.Crashy', pid: '<0.197.0>', reason: '{bad, 1}' },
      ],
    };
    const f = restartTypeFindings(watch, trees);
    assert.deepEqual(f.map((x) => x.id), ['supervision-restart-type:My.Sup:My.OneShot']);
    assert.match(f[0]?.evidence[1] ?? '', /started it again \(now <0\.200\.0>\)/);
    const erlang = restartTypeFindings({ ...watch, exits: [{ supervisor: '<0.100.0>', childId: 'worker1', module: 'my_worker', pid: '<0.1.0>', reason: 'normal' }] }, trees);
    assert.match(erlang[0]?.recommendation ?? '', /restart => transient/);
  });

  it('dynamic growth: only without a limit, above the growth thresholds, never in OTP apps', () => {
    const start = [app('my_app', [dyn(100)])];
    const end = [app('my_app', [dyn(180)])];
    assert.equal(growingSupervisors(start, end).length, 1);
    assert.equal(growingSupervisors(start, [app('my_app', [dyn(110)])]).length, 0, '+10 is below 20');
    assert.equal(growingSupervisors([app('my_app', [dyn(1000)])], [app('my_app', [dyn(1050)])]).length, 0, '+5 % is below 10 %');
    assert.equal(growingSupervisors([app('kernel', [dyn(100)])], [app('kernel', [dyn(180)])]).length, 0, 'OTP apps are not reviewed');
    const s = samples({ treesStart: start, treesEnd: end });
    assert.equal(dynamicGrowthFindings(s, { '<0.110.0>': 5000 }).length, 0, 'max_children set');
    assert.equal(dynamicGrowthFindings(s, { '<0.110.0>': 'none' }).length, 0, 'not a DynamicSupervisor and not simple_one_for_one');
    const [f] = dynamicGrowthFindings(s, { '<0.110.0>': 'infinity' });
    assert.equal(f?.id, 'supervision-dynamic-growth:My.Sessions');
    assert.match(f?.evidence[0] ?? '', /children 100 at the start of the window, 180 at the end: \+20\.0\/s/);
    const simple = samples({ treesStart: [app('my_app', [dyn(100, { strategy: 'simple_one_for_one', module: 'my_sessions' })])], treesEnd: [app('my_app', [dyn(180, { strategy: 'simple_one_for_one', module: 'my_sessions' })])] });
    assert.match(dynamicGrowthFindings(simple, { '<0.110.0>': 'none' })[0]?.recommendation ?? '', /supervisor:count_children\/1/);
  });

  it('partition: a busy supervised worker with a long mailbox; not under a PartitionSupervisor, not a bottleneck already, not on one scheduler', () => {
    const ledger = stat('<0.300.0>', 'Elixir.My.Ledger', { queueStart: 800, queueEnd: 1200, reductionsPerSec: 600_000 });
    const trees = [app('my_app', [worker('<0.300.0>', 'Elixir.My.Ledger', 'Elixir.My.Ledger')])];
    const s = samples({ processes: [ledger], treesEnd: trees });
    assert.deepEqual(partitionFindings(s, []).map((f) => [f.id, f.severity]), [['supervision-partition:My.Ledger', 'warning']]);
    assert.equal(partitionFindings(samples({ processes: [ledger], treesEnd: trees, overviewEnd: overview(1) }), []).length, 0, 'one scheduler: nothing to spread over');
    const bottleneck = { rule: 'bottleneck', subject: { pid: '<0.300.0>' } } as unknown as Finding;
    assert.equal(partitionFindings(s, [bottleneck]).length, 0);
    const partitioned = [app('my_app', [{ ...dyn(2, { module: 'Elixir.PartitionSupervisor', pid: '<0.120.0>' }), children: [worker('<0.300.0>', 'Elixir.My.Ledger')] }])];
    assert.equal(partitionFindings(samples({ processes: [ledger], treesEnd: partitioned }), []).length, 0, 'already partitioned');
    assert.equal(partitionFindings(samples({ processes: [ledger], treesEnd: [app('kernel', [worker('<0.300.0>', 'code_server')])] }), []).length, 0, 'OTP apps');
    assert.equal(partitionFindings(samples({ processes: [{ ...ledger, queueEnd: 100 }], treesEnd: trees }), []).length, 0, 'short mailbox');
    assert.equal(partitionFindings(samples({ processes: [{ ...ledger, reductionsPerSec: 100_000 }], treesEnd: trees }), []).length, 0, '10 % of the node');
  });
});

function collection(pid: string, name: string | null, module: string | null, before: number, after: number): BinaryCollection {
  return {
    pid, name, module, label: null, initialCall: null,
    before: { count: before / MiB, bytes: before }, after: { count: after / MiB, bytes: after },
    droppedBytes: before - after, droppedCount: (before - after) / MiB, soleFreedBytes: before - after,
    node: { before: 50 * MiB, after: 50 * MiB - (before - after) }, gcMicros: 120,
  };
}

describe('binary collections as findings', () => {
  const result = (collected: BinaryCollection[]): BinLeakResult => ({
    node: 'n@h', top: 10, timeLimitMs: 30_000, processCount: 100, binaryBefore: 50 * MiB, binaryAfter: 30 * MiB, collected, gone: [], skipped: [], endReason: 'completed', durationMs: 300,
  });

  it('verdicts: garbage from 50 % freed, retained up to 20 %, mixed between', () => {
    assert.equal(verdictOf(collection('<0.1.0>', null, null, 10 * MiB, 0)), 'garbage');
    assert.equal(verdictOf(collection('<0.1.0>', null, null, 10 * MiB, 9 * MiB)), 'retained');
    assert.equal(verdictOf(collection('<0.1.0>', null, null, 10 * MiB, 7 * MiB)), 'mixed');
  });

  it('a holder finding gets the lines and fitting advice; others a binary-gc finding when they freed enough', () => {
    const holder: Finding = {
      id: 'binary-holder:My.Cache', rule: 'binary-holder', severity: 'warning', title: 'x', evidence: ['sampled'], subject: { pid: '<0.5.0>', name: 'Elixir.My.Cache', module: 'Elixir.My.Cache' },
      recommendation: 'old', risk: 'old', validation: 'old',
    };
    const findings = [holder];
    const added = applyBinaryCollections(findings, result([
      collection('<0.5.0>', 'Elixir.My.Cache', 'Elixir.My.Cache', 32 * MiB, 32 * MiB),
      collection('<0.6.0>', 'Elixir.My.Router', 'Elixir.My.Router', 20 * MiB, 0),
      collection('<0.7.0>', null, 'my_small', MiB / 2, 0),
    ]));
    assert.equal(holder.evidence.length, 3);
    assert.match(holder.evidence[1] ?? '', /^forced GC \(--allow-gc\): it referenced 32\.0 MiB in 32 refc binaries, 32\.0 MiB in 32 after; dropped 0 binaries/);
    assert.match(holder.evidence[1] ?? '', /collected in 120 µs/);
    assert.match(holder.recommendation, /freed little.*:binary\.copy\/1/);
    assert.deepEqual(added.map((f) => [f.id, f.severity]), [['binary-gc:My.Router', 'warning']], 'half a MiB freed is not a finding');
  });
});
