// One rule set: the report's path (a sampled window) and the editor's path (runtime facts) give
// the same observation the same finding id and severity, and the sidebar's health mark follows
// the same restart rule.
import { strict as assert } from 'node:assert';
import { FINDING_THRESHOLDS, rateMailbox, rateRestarts } from '../../../../src/core/findings/thresholds';
import { computeFindings } from '../../../../src/core/findings/rules';
import type { Overview } from '../../../../src/core/inspect/overview';
import { factFindings, supervisorsOf } from '../../../../src/core/facts/runtime-facts';
import type { NodeSamples, ProcessStat } from '../../../../src/core/findings/sampler';
import { factsFromDiagnosis } from '../../../../src/core/facts/saved-facts';
import type { ApplicationTree } from '../../../../src/core/inspect/tree';
import { restartHealth } from '../../../../src/extension/model/sidebar';

const MiB = 1024 * 1024;

function overview(): Overview {
  return {
    node: 'demo@host', otpRelease: '25', ertsVersion: '13.1.5', systemVersion: 'x', uptimeMs: 60_000, wordSize: 8,
    schedulers: { online: 2, total: 2, dirtyCpu: 2, dirtyIo: 10 },
    schedulerUtilization: null,
    runQueue: { total: 1, perScheduler: [1, 0, 0] },
    memory: { total: 200 * MiB, processes: 50 * MiB, processesUsed: 50 * MiB, system: 50 * MiB, atom: MiB, atomUsed: MiB, binary: 10 * MiB, code: 10 * MiB, ets: 30 * MiB },
    limits: { processes: { count: 1000, limit: 262144 }, ports: { count: 10, limit: 65536 }, atoms: { count: 20000, limit: 1048576 }, etsTables: { count: 30, limit: null } },
    io: { inputBytes: 0, outputBytes: 0 },
    reductions: 0,
    garbageCollections: { count: 0, wordsReclaimed: 0 },
  };
}

function trees(restarts: number, intensity = 3): ApplicationTree[] {
  return [{
    name: 'demo', description: 'demo', version: '0.1.0',
    supervisor: {
      pid: '<0.100.0>', name: 'Elixir.Demo.Flaky.Supervisor', module: 'Elixir.Demo.Flaky.Supervisor', type: 'supervisor', strategy: 'one_for_one',
      intensity, period: 5, restarts, childCount: 1,
      children: [{ pid: '<0.5.0>', name: null, id: "'Elixir.Demo.FlakyWorker'", module: 'Elixir.Demo.FlakyWorker', type: 'worker', childCount: 0, children: [] }],
    },
  }];
}

function sink(queueEnd: number): ProcessStat {
  return {
    pid: '<0.200.0>',
    row: { pid: '<0.200.0>', name: 'Elixir.Demo.EventSink', memory: 10_000, reductions: 0, messageQueueLen: queueEnd, currentFunction: 'gen_server:loop/7', initialCall: 'Elixir.Demo.EventSink:init/1' },
    reductionsPerSec: 10, memoryStart: 10_000, memoryEnd: 10_000, binaryEnd: 0, queueStart: 0, queueEnd,
  };
}

function samples(over: Partial<NodeSamples>): NodeSamples {
  return {
    node: 'demo@host', windowMs: 5000, startedAt: new Date(0).toISOString(), overviewStart: overview(), overviewEnd: overview(),
    processCount: 1000, totalReductionsPerSec: 1_000_000, processes: [], mailboxes: [], treesStart: trees(0), treesEnd: trees(0),
    ets: [], sources: {}, callees: [], ...over,
  };
}

const pick = (fs: Array<{ id: string; rule: string; severity: string }>, rule: string): Array<[string, string]> =>
  fs.filter((f) => f.rule === rule).map((f) => [f.id, f.severity]);

describe('finding rules: one table, the same ids and severities on every path', () => {
  it('rates a supervisor the same from a sampled window, from runtime facts and in the sidebar', () => {
    for (const restarts of [0, 1, 2, 3]) {
      // Same supervisor, same remembered restarts, no child replaced during the window.
      const report = pick(computeFindings(samples({ treesStart: trees(restarts), treesEnd: trees(restarts) })), 'restart-storm');
      const facts = pick(factFindings('demo@host', [], supervisorsOf(trees(restarts))), 'restart-storm');
      assert.deepEqual(facts, report, `${restarts} of 3 restarts`);
      const sup = (trees(restarts)[0]?.supervisor) as NonNullable<ApplicationTree['supervisor']>;
      const mark = restartHealth(sup);
      const severity = report[0]?.[1];
      assert.equal(mark, severity === 'critical' ? 'error' : severity === 'warning' ? 'warning' : 'ok', `sidebar mark at ${restarts} of 3`);
    }
    assert.deepEqual(pick(computeFindings(samples({ treesStart: trees(2), treesEnd: trees(2) })), 'restart-storm'), [['restart-storm:Demo.Flaky.Supervisor', 'critical']]);
    assert.equal(rateRestarts({ restarts: 0 }), null);
    assert.equal(rateRestarts({ restarts: 1, intensity: 10 }), 'info');
    assert.equal(rateRestarts({ restarts: 6, intensity: 10 }), 'critical', `${FINDING_THRESHOLDS.restartStorm.criticalRatio} of the limit`);
  });

  it('rates a growing mailbox the same from a sampled series and from two fact collections', () => {
    for (const [perSec, end] of [[500, 3500], [50, 5000], [3, 200]] as const) {
      const start = end - perSec * 5;
      const points: Array<[number, number]> = Array.from({ length: 6 }, (_, i) => [i * 1000, start + perSec * i]);
      const report = pick(computeFindings(samples({ processes: [sink(end)], mailboxes: [{ pid: '<0.200.0>', points }] })), 'mailbox-growth');
      const facts = pick(factFindings('demo@host', [{ module: 'Demo.EventSink', processes: 1, memory: 1, messages: end, largestMailbox: end, largestMailboxPid: '<0.200.0>', mailboxGrowthPerSec: perSec }], []), 'mailbox-growth');
      assert.deepEqual(facts, report, `${perSec}/s to ${end}`);
    }
    assert.deepEqual(rateMailbox({ first: 1000, last: 3500, perSec: 500, steadiness: 1 }), { rule: 'mailbox-growth', severity: 'critical' });
    assert.deepEqual(rateMailbox({ first: 20_000, last: 20_000, perSec: 0, steadiness: 0 }), { rule: 'mailbox-backlog', severity: 'warning' });
  });

  it('saves one restart-storm finding per supervisor with a diagnosis (no duplicate under another id)', () => {
    const s = samples({ treesStart: trees(2), treesEnd: trees(2) });
    const facts = factsFromDiagnosis({ samples: s, findings: computeFindings(s) }, 'local');
    assert.deepEqual(pick(facts.findings, 'restart-storm'), [['restart-storm:Demo.Flaky.Supervisor', 'critical']]);
  });
});
