// Node samples and findings for the report tests (src/core/report*.ts, webview/report/render.ts):
// a small node with a growing mailbox, a binary holder and a supervisor, plus a hostile name.
import type { Finding } from '../../../../src/core/findings/rules';
import type { Overview } from '../../../../src/core/inspect/overview';
import type { NodeSamples, ProcessStat } from '../../../../src/core/findings/sampler';
import { buildReport } from '../../../../src/core/report/build';
import type { ReportDocument } from '../../../../src/core/report/document';

const MiB = 1024 * 1024;

export const HOSTILE = '<img src=x onerror=alert(1)> *b* _i_ [x](javascript:alert(1)) a|b `t` &amp; ~~s~~ \\';

function overview(total: number): Overview {
  return {
    node: 'demo@host',
    otpRelease: '25',
    ertsVersion: '13.1.5',
    systemVersion: 'x',
    uptimeMs: 3_725_000,
    wordSize: 8,
    schedulers: { online: 2, total: 2, dirtyCpu: 2, dirtyIo: 10 },
    schedulerUtilization: { windowMs: 500, total: 0.5, perScheduler: [0.9, 0.1], dirtyCpu: 0 },
    runQueue: { total: 1, perScheduler: [1, 0] },
    memory: { total, processes: 50 * MiB, processesUsed: 50 * MiB, system: 50 * MiB, atom: MiB, atomUsed: MiB, binary: 40 * MiB, code: 10 * MiB, ets: 30 * MiB },
    limits: { processes: { count: 1000, limit: 262144 }, ports: { count: 6, limit: 65536 }, atoms: { count: 18_948, limit: 1_048_576 }, etsTables: { count: 30, limit: null } },
    io: { inputBytes: 3 * MiB, outputBytes: MiB },
    reductions: 0,
    garbageCollections: { count: 0, wordsReclaimed: 0 },
  };
}

function stat(pid: string, name: string | null, over: Partial<ProcessStat> = {}): ProcessStat {
  return {
    pid,
    row: { pid, name, memory: 10_000, reductions: 0, messageQueueLen: 0, currentFunction: 'gen_server:loop/7', initialCall: null },
    reductionsPerSec: 1234.4,
    memoryStart: 10_000,
    memoryEnd: 2 * MiB,
    binaryEnd: 0,
    queueStart: 0,
    queueEnd: 0,
    ...over,
  };
}

export function reportSamples(): NodeSamples {
  return {
    node: 'demo@host',
    windowMs: 5000,
    startedAt: new Date(0).toISOString(),
    overviewStart: overview(200 * MiB),
    overviewEnd: overview(210 * MiB),
    processCount: 3,
    totalReductionsPerSec: 2_000_000,
    processes: [stat('<0.170.0>', 'Elixir.Demo.EventSink', { queueStart: 10, queueEnd: 500 }), stat('<0.9.0>', HOSTILE), stat('<0.10.0>', null, { row: { ...stat('<0.10.0>', null).row, initialCall: 'my_mod:init/1', currentFunction: 'my_mod:loop/2' } })],
    mailboxes: [
      { pid: '<0.170.0>', points: [[0, 10], [1000, 120], [2000, 250], [3000, 500]] },
      { pid: '<0.10.0>', points: [[0, 0], [1000, 0]] },
    ],
    treesStart: [],
    treesEnd: [
      {
        name: 'demo',
        description: 'demo',
        version: '0.1.0',
        supervisor: { pid: '<0.100.0>', name: 'Elixir.Demo.Supervisor', module: 'Elixir.Demo.Supervisor', type: 'supervisor', strategy: 'one_for_one', intensity: 3, period: 5, restarts: 2, childCount: 0, children: [] },
      },
    ],
    ets: [{ id: '1', name: 'cache|table', owner: '<0.9.0>', ownerName: HOSTILE, type: 'set', protection: 'public', size: 200_000, memoryBytes: 23 * MiB }],
    sources: {},
    callees: [],
  };
}

export function reportFindings(): Finding[] {
  return [
    {
      id: 'mailbox-growth:Elixir.Demo.EventSink',
      rule: 'mailbox-growth',
      severity: 'critical',
      title: "Demo.EventSink's mailbox grows by 98 messages/s",
      evidence: ['queue 10 → 500 messages over 5.0 s', 'process <0.170.0>, memory 2.0 MiB'],
      subject: { pid: '<0.170.0>', name: 'Elixir.Demo.EventSink', module: 'Elixir.Demo.EventSink' },
      location: { module: 'Elixir.Demo.EventSink', function: 'handle_cast', arity: 2, file: 'lib/demo/event_sink.ex', line: 12 },
      recommendation: 'Add back-pressure: turn the hot `cast` into `GenServer.call` with a timeout. Measure first.',
      risk: 'Producers block.',
      validation: 'Re-run `beam-lens report`: the queue should stay flat.',
    },
    {
      id: `binary-holder:${HOSTILE}`,
      rule: 'binary-holder',
      severity: 'warning',
      title: `${HOSTILE} holds 40.0 MiB of off-heap binaries`,
      evidence: [`binary references 40.0 MiB held by ${HOSTILE}`, '1. looks like a list item', '# looks like a heading'],
      subject: { pid: '<0.9.0>', name: HOSTILE, module: null },
      location: { module: 'gen_server2', function: 'process_next_msg', arity: 1 },
      recommendation: 'Store what is needed instead (`:binary.copy/1` of the slice you keep), or use `` a`b `` here.',
      risk: '`:binary.copy/1` costs a copy | per slice.',
      validation: 'Watch `binary` memory.',
    },
  ];
}

/** The report of the samples and findings above, generated at a fixed time. */
export function reportDocument(generatedAt = new Date('2026-12-01T10:00:00.000Z')): ReportDocument {
  return buildReport({ samples: reportSamples(), findings: reportFindings(), env: 'prod', probe: false, generatedAt });
}
