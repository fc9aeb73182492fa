import { strict as assert } from 'node:assert';
import type { MemberFacts } from '../../../../src/core/cluster/facts';
import { CLUSTER_THRESHOLDS, clusterFindings } from '../../../../src/core/cluster/rules';

const MiB = 1024 * 1024;

function member(node: string, connected: string[], over: Partial<MemberFacts> = {}): MemberFacts {
  return {
    node,
    connected,
    hidden: [],
    otpRelease: '25',
    ertsVersion: '13.1.5',
    applications: { kernel: '8.5.3', stdlib: '4.2', app: '1.0.0' },
    schedulersOnline: 2,
    netTicktime: 60,
    processLimit: 262144,
    processCount: 100,
    memoryTotal: 30 * MiB,
    mailboxes: { worker: 0 },
    distQueue: {},
    globals: {},
    ...over,
  };
}

const abc = (over: Record<string, Partial<MemberFacts>> = {}): MemberFacts[] => [
  member('a@h', ['b@h', 'c@h'], over['a@h']),
  member('b@h', ['a@h', 'c@h'], over['b@h']),
  member('c@h', ['a@h', 'b@h'], over['c@h']),
];

describe('cluster findings rules', () => {
  it('finds nothing on a homogeneous full mesh', () => {
    assert.deepEqual(clusterFindings(abc()), []);
  });

  it('finds an asymmetric mesh and names both sides', () => {
    const facts = abc({ 'c@h': { connected: ['a@h'] } });
    const f = clusterFindings(facts);
    assert.deepEqual(f.map((x) => x.id), ['cluster-mesh:c@h']);
    assert.deepEqual(f[0]?.nodes, ['c@h', 'b@h']);
    assert.match(f[0]?.evidence.join('\n') ?? '', /b@h is seen by a@h, and lists c@h itself \(asymmetric\)/);
  });

  it('finds a member missing from some views', () => {
    const facts = [member('a@h', ['b@h', 'd@h']), member('b@h', ['a@h'])];
    const ids = clusterFindings(facts).map((x) => x.id);
    assert.deepEqual(ids, ['cluster-mesh:b@h']);
  });

  it('finds OTP, ERTS and application version drift', () => {
    const facts = abc({ 'b@h': { otpRelease: '26', ertsVersion: '14.0', applications: { kernel: '9.0', stdlib: '5.0', app: '1.1.0' } } });
    const ids = clusterFindings(facts).map((x) => x.id);
    for (const id of ['version-drift:otp', 'version-drift:erts', 'version-drift:app:app', 'version-drift:app:kernel']) assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
  });

  it('finds config drift, net_ticktime as a warning', () => {
    const f = clusterFindings(abc({ 'a@h': { netTicktime: 10 }, 'b@h': { schedulersOnline: 8 } }));
    assert.equal(f.find((x) => x.id === 'config-drift:net_ticktime')?.severity, 'warning');
    assert.equal(f.find((x) => x.id === 'config-drift:schedulers')?.severity, 'info');
  });

  it('finds a node far above its peers, above the floors only', () => {
    const big = clusterFindings(abc({ 'b@h': { memoryTotal: 2048 * MiB } }), { 'a@h': { runQueue: 0 }, 'b@h': { runQueue: 0 }, 'c@h': { runQueue: 40 } });
    assert.deepEqual(big.map((x) => x.id).sort(), ['node-outlier:memory:b@h', 'node-outlier:run-queue:c@h']);
    // Three times a tiny median is still tiny: no finding under the floor.
    assert.deepEqual(clusterFindings(abc({ 'b@h': { memoryTotal: CLUSTER_THRESHOLDS.outlierMemoryBytes - 1 } })), []);
  });

  it('finds the same registered process drowning on one node only', () => {
    const f = clusterFindings(abc({ 'a@h': { mailboxes: { worker: 150_000 } }, 'b@h': { mailboxes: { worker: 3 } } }));
    assert.equal(f[0]?.id, 'node-outlier:mailbox:worker:a@h');
    assert.equal(f[0]?.severity, 'critical');
  });

  it('finds busy distribution queues and global name conflicts', () => {
    const f = clusterFindings(
      abc({
        'a@h': { distQueue: { 'b@h': 2 * MiB }, globals: { leader: '<a@h.80.0>' } },
        'b@h': { globals: { leader: '<b@h.91.0>' } },
        'c@h': { globals: { leader: '<a@h.80.0>' } },
      }),
    );
    assert.deepEqual(f.map((x) => x.id).sort(), ['dist-busy:a@h:b@h', 'global-conflict:leader']);
    assert.ok(f.every((x) => x.recommendation.length > 0 && x.risk.length > 0 && x.validation.length > 0));
  });
});
