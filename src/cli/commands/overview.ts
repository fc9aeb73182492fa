import type { Command } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { formatBytes, formatCount, formatDuration, printJson, renderTable } from '../output';
import { probeFlags, withAttachment } from '../attachment';

export const overviewCommand: Command = {
  spec: {
    name: 'overview',
    summary: 'Versions, uptime, schedulers and their utilization, run queues, memory by type, limits, IO.',
    usage: 'beam-lens overview --node NAME [--window MS] [--json]',
    flags: {
      ...connectionFlags,
      ...probeFlags,
      window: { type: 'number', value: 'MS', description: 'scheduler utilization window (default 500; 0 skips it)', default: 500 },
    },
  },
  async run({ args, output, signal }) {
    const windowMs = typeof args.flags.window === 'number' ? args.flags.window : 500;
    const o = await withAttachment(args.flags, output, signal, (s) => s.overview({ utilizationWindowMs: windowMs }));
    if (args.flags.json === true) {
      printJson(output, o);
      return ExitCode.ok;
    }
    const u = o.schedulerUtilization;
    const lines = [
      `${o.node}  OTP ${o.otpRelease}  ERTS ${o.ertsVersion}  up ${formatDuration(o.uptimeMs)}`,
      `schedulers ${o.schedulers.online}/${o.schedulers.total} online` +
        (u ? `, utilization ${(u.total * 100).toFixed(0)}% over ${u.windowMs} ms (${u.perScheduler.map((x) => `${(x * 100).toFixed(0)}%`).join(' ')})` : ''),
      `run queue ${o.runQueue.total} (per scheduler ${o.runQueue.perScheduler.join(' ')}` +
        (o.runQueue.dirtyCpu !== undefined ? `; dirty CPU ${o.runQueue.dirtyCpu}, dirty IO ${o.runQueue.dirtyIo ?? 0}` : '') +
        ')',
      '',
      renderTable(
        [
          { header: 'MEMORY', cell: (r: [string, number]) => r[0] },
          { header: 'BYTES', align: 'right', cell: (r) => formatBytes(r[1]) },
        ],
        [
          ['total', o.memory.total],
          ['processes', o.memory.processes],
          ['binary', o.memory.binary],
          ['ets', o.memory.ets],
          ['atom', o.memory.atom],
          ['code', o.memory.code],
          ['system', o.memory.system],
        ] as Array<[string, number]>,
      ),
      '',
      renderTable(
        [
          { header: 'COUNT', cell: (r: [string, { count: number; limit: number | null }]) => (r[0] === 'etsTables' ? 'ETS tables' : r[0]) },
          { header: 'USED', align: 'right', cell: (r) => formatCount(r[1].count) },
          { header: 'LIMIT', align: 'right', cell: (r) => (r[1].limit === null ? '-' : formatCount(r[1].limit)) },
          { header: '%', align: 'right', cell: (r) => (r[1].limit ? `${((r[1].count / r[1].limit) * 100).toFixed(1)}%` : '-') },
        ],
        Object.entries(o.limits),
      ),
      '',
      `io in ${formatBytes(o.io.inputBytes)}, out ${formatBytes(o.io.outputBytes)}; reductions ${formatCount(o.reductions)}; GCs ${formatCount(o.garbageCollections.count)}`,
    ];
    output.out(lines.join('\n'));
    return ExitCode.ok;
  },
};
