import { strict as assert } from 'node:assert';
import type { ClusterOverview } from '../../../../src/protocol/webview';
import { meshSummary, processList, tiles } from '../../../../webview/cluster/model';

const base: ClusterOverview = {
  entry: 'a@h',
  via: 'entry',
  nodes: [
    { node: 'b@h', status: 'ok', otpRelease: '25', uptimeMs: 1000, processCount: 100, memoryTotal: 40 * 1024 * 1024, runQueue: 0, schedulerUtilization: 0.95, connectedNodes: ['a@h', 'c@h'], findings: 0, elapsedMs: 10 },
    { node: 'a@h', status: 'ok', otpRelease: '25', uptimeMs: 1000, processCount: 400, memoryTotal: 80 * 1024 * 1024, runQueue: 1, schedulerUtilization: 0.1, connectedNodes: ['b@h', 'c@h'], findings: 1, elapsedMs: 10 },
    { node: 'c@h', status: 'timeout', error: 'c@h did not answer within 5000 ms', elapsedMs: 5000 },
  ],
  topology: [
    { a: 'a@h', b: 'b@h', aSeesB: true, bSeesA: true },
    { a: 'a@h', b: 'c@h', aSeesB: true, bSeesA: null },
    { a: 'b@h', b: 'c@h', aSeesB: true, bSeesA: null },
  ],
  findings: [
    { id: 'config-drift:net_ticktime', rule: 'config-drift', severity: 'critical', nodes: ['a@h'], title: 't', evidence: [], subject: {}, recommendation: 'r', risk: 'k', validation: 'v' },
  ],
};

describe('cluster overview model (webview)', () => {
  it('puts the entry first and colors each tile by what it shows', () => {
    const t = tiles(base);
    assert.deepEqual(t.map((x) => [x.node, x.health]), [['a@h', 'critical'], ['b@h', 'warning'], ['c@h', 'down']]);
    assert.equal(t[0]?.isEntry, true);
    assert.match(t[1]?.reason ?? '', /95% busy/);
    assert.match(t[2]?.reason ?? '', /timeout: c@h did not answer/);
    assert.deepEqual(t[2]?.readouts, []);
  });

  it('scales the bars to the largest member', () => {
    const [a, b] = tiles(base);
    assert.equal(a?.readouts.find((r) => r.label === 'memory')?.fraction, 1);
    assert.equal(b?.readouts.find((r) => r.label === 'memory')?.fraction, 0.5);
    assert.equal(a?.readouts.find((r) => r.label === 'sees')?.value, '2 of 2');
  });

  it('summarizes the mesh, saying when members did not answer', () => {
    assert.equal(meshSummary(base), '3 nodes, 2 answered · reached through a@h · full mesh among the members that answered');
    const split = { ...base, topology: [{ a: 'a@h', b: 'b@h', aSeesB: true, bSeesA: false }, { a: 'a@h', b: 'c@h', aSeesB: false, bSeesA: false }] };
    assert.match(meshSummary(split), /1 one-way and 1 missing connections/);
  });

  it('lists the cluster-wide top processes with their node, as text, and names the members that did not answer', () => {
    const row = (node: string, pid: string, memory: number, extra: Record<string, unknown> = {}) => ({ node, pid, name: null, memory, reductions: 10, messageQueueLen: 3, currentFunction: 'gen_server:loop/7', initialCall: 'proc_lib:init_p/5', ...extra });
    const l = processList({
      sort: 'memory',
      total: 1234,
      rows: [row('b@h', '<9.1.0>', 4096, { title: 'Demo.Cache' }), row('a@h', '<0.7.0>', 2048, { name: '<img src=x onerror=alert(1)>' })],
      members: [{ node: 'a@h', status: 'ok', total: 600 }, { node: 'b@h', status: 'ok', total: 634 }, { node: 'c@h', status: 'timeout', error: 'late' }],
    });
    assert.deepEqual(l.lines.map((x) => [x.node, x.name, x.memory]), [['b@h', 'Demo.Cache', '4.0 KiB'], ['a@h', '<img src=x onerror=alert(1)>', '2.0 KiB']]);
    assert.equal(l.caption, 'Top 2 of 1234 processes by memory across 2 nodes · c@h: timeout');
  });
});
