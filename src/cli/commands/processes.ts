import { formatModule } from '../../etf';
import { probeSkipReason, processSorts, type ProcessRow, type ProcessSort } from '../../core/inspect/processes';
import { UsageError, booleanFlag, countFlag, numberFlag, stringFlag } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { formatBytes, formatCount, printJson, renderTable, tableOr } from '../output';
import { probeFlags, progressLine, withAttachment } from '../attachment';
import { clusterTopProcesses, type ClusterProcessRow } from '../../core/cluster/cluster';
import { clusterFlags, withCluster } from './cluster';
import { displayMfa } from '../../core/findings/thresholds';
import { processTitle } from '../../core/inspect/identity';

export const processesCommand: Command = {
  spec: {
    name: 'processes',
    summary: 'Processes sorted on the target by memory, reductions, mailbox or reduction rate, one page at a time.',
    usage: 'beam-lens processes --node NAME [--sort memory|reductions|mailbox|reduction-rate] [--limit 50] [--offset 0] [--cluster [--via entry|direct]] [--json]',
    flags: {
      ...connectionFlags,
      ...probeFlags,
      'allow-probe': {
        type: 'boolean',
        description:
          'load the probe for --sort reduction-rate only: memory, reductions and mailbox are sorted in one compiled pass on the node without it, as fast as the probe, and purging the probe again would scan every process (stderr says which way ran)',
      },
      ...clusterFlags,
      cluster: { type: 'boolean', description: 'the top N of the whole cluster of --node (each row names its node; ranked on each member, merged here)' },
      sort: { type: 'string', value: 'KEY', description: 'memory | reductions | mailbox | reduction-rate', default: 'memory' },
      limit: { type: 'number', value: 'N', description: 'rows per page (default 50, at most 1000)', default: 50 },
      offset: { type: 'number', value: 'N', description: 'rows to skip (default 0)', default: 0 },
      window: { type: 'number', value: 'MS', description: 'window for reduction-rate (default 1000)' },
    },
  },
  async run({ args, output, signal }) {
    const sort = stringFlag(args.flags, 'sort') ?? 'memory';
    if (!processSorts.includes(sort as ProcessSort)) throw new UsageError(`--sort must be one of ${processSorts.join(', ')}, got "${sort}"`);
    const limit = countFlag(args.flags, 'limit', 50, { max: 1000 });
    const offset = countFlag(args.flags, 'offset', 0, { min: 0 });
    const windowMs = numberFlag(args.flags, 'window');
    if (booleanFlag(args.flags, 'cluster')) {
      if (offset !== 0) throw new UsageError('--offset is not available with --cluster: the merged table is the top --limit of every member');
      const page = await withAttachment(args.flags, output, signal, (s) => withCluster(s, args.flags, (view) => clusterTopProcesses(view, sort as ProcessSort, limit)));
      if (booleanFlag(args.flags, 'json')) {
        printJson(output, page);
        return ExitCode.ok;
      }
      output.out(
        renderTable(
          [
            { header: 'NODE', cell: (r: ClusterProcessRow) => r.node },
            { header: 'PID', cell: (r) => r.pid },
            { header: 'NAME / MODULE', max: 40, cell: (r) => processTitle({ name: r.name, module: r.module ?? null, label: r.label ?? null, initialCall: r.initialCall }) },
            { header: 'MEMORY', align: 'right', cell: (r) => formatBytes(r.memory) },
            { header: 'REDS', align: 'right', cell: (r) => formatCount(r.reductions) },
            { header: 'MSGQ', align: 'right', cell: (r) => formatCount(r.messageQueueLen) },
          ],
          page.rows,
        ),
      );
      for (const m of page.members) if (m.status !== 'ok') output.out(`  ${m.node}: ${m.status}${m.error ? ` (${m.error})` : ''}`);
      output.out(`top ${page.rows.length} of ${page.total} processes on ${page.members.filter((m) => m.status === 'ok').length} of ${page.members.length} nodes by ${page.sort}`);
      return ExitCode.ok;
    }
    const progress = progressLine(output);
    const page = await withAttachment(args.flags, output, signal, (s) =>
      s.processes({ sort: sort as ProcessSort, limit, offset, ...(windowMs !== undefined ? { windowMs } : {}), onProgress: progress.report, signal }),
      probeSkipReason(sort as ProcessSort),
    );
    progress.done();
    if (booleanFlag(args.flags, 'json')) {
      printJson(output, {
        total: page.total,
        sort: page.sort,
        offset: page.offset,
        via: page.via,
        rows: page.rows.map((r) => ({
          pid: r.pid,
          name: r.name,
          memory: r.memory,
          reductions: r.reductions,
          messageQueueLen: r.messageQueueLen,
          currentFunction: r.currentFunction,
          initialCall: r.initialCall,
          module: r.module ?? null,
          label: r.label ?? null,
          ...(r.reductionRate !== undefined ? { reductionRate: r.reductionRate } : {}),
        })),
      });
      return ExitCode.ok;
    }
    output.out(
      tableOr(
        page.total === 0 ? 'no processes' : `no processes at offset ${page.offset}: there are ${page.total} (offsets 0 to ${page.total - 1})`,
        [
          { header: 'PID', cell: (r: ProcessRow) => r.pid },
          { header: 'NAME / MODULE', max: 48, cell: (r) => processTitle({ name: r.name, module: r.module ?? null, label: r.label ?? null, initialCall: r.initialCall }) },
          { header: 'MEMORY', align: 'right', cell: (r) => formatBytes(r.memory) },
          { header: sort === 'reduction-rate' ? 'REDS/S' : 'REDS', align: 'right', cell: (r) => formatCount(r.reductionRate ?? r.reductions) },
          { header: 'MSGQ', align: 'right', cell: (r) => formatCount(r.messageQueueLen) },
          { header: 'CURRENT FUNCTION', cell: (r) => (r.currentFunction ? displayMfa(r.currentFunction) : '') },
        ],
        page.rows,
      ),
    );
    if (page.rows.length > 0) output.out(`${page.offset + 1}-${page.offset + page.rows.length} of ${page.total} processes by ${page.sort} (${page.via === 'probe' ? 'sorted by the probe' : 'zero-install'})`);
    return ExitCode.ok;
  },
};

export const processCommand: Command = {
  spec: {
    name: 'process',
    summary: 'One process in depth: status, heap, stack, links, monitors, dictionary keys, ancestors.',
    usage: 'beam-lens process PID|NAME --node NAME [--messages N] [--json]',
    positionals: ['pid'],
    flags: {
      ...connectionFlags,
      messages: { type: 'number', value: 'N', description: 'also show the first N queued messages (only from queues up to 10,000)' },
    },
  },
  async run({ args, output, signal }) {
    const pid = args.positionals[0] as string;
    const messages = numberFlag(args.flags, 'messages');
    if (messages !== undefined) countFlag(args.flags, 'messages', 0, { min: 0, max: 100 });
    const d = await withAttachment(args.flags, output, signal, (s) => s.processDetail(pid, messages ? { messages } : {}));
    if (booleanFlag(args.flags, 'json')) {
      printJson(output, d);
      return ExitCode.ok;
    }
    if (!d.alive) {
      output.err(`beam-lens: ${d.pid} is not alive on the node (it exited, or the pid is from an earlier run)`);
      return ExitCode.failure;
    }
    const lines = [
      `${d.pid}${d.name ? ` (${formatModule(d.name)})` : ''}  ${d.status ?? ''}`,
      `runs              ${processTitle({ name: null, module: d.module ?? null, label: d.label ?? null, initialCall: d.initialCall })}`,
      `initial call      ${d.initialCall ? displayMfa(d.initialCall) : '-'}`,
      `current function  ${d.currentFunction ? displayMfa(d.currentFunction) : '-'}`,
      `memory            ${formatBytes(d.memory)} (heap ${d.heapSize} words, total heap ${d.totalHeapSize}, stack ${d.stackSize})`,
      `reductions        ${d.reductions}`,
      `message queue     ${d.messageQueueLen}`,
      `trap_exit ${d.trapExit}, priority ${d.priority ?? '-'}, group leader ${d.groupLeader ?? '-'}`,
      `ancestors         ${d.ancestors.join(' < ') || '-'}`,
      `links             ${d.links.join(', ') || '-'}`,
      `monitors          ${d.monitors.join(', ') || '-'}`,
      `monitored by      ${d.monitoredBy.join(', ') || '-'}`,
      `dictionary keys   ${d.dictionaryKeys.join(', ') || '-'}`,
      'stack:',
      ...d.currentStacktrace.map((f) => `  ${f}`),
    ];
    if (d.messages) {
      lines.push(`messages (${d.messages.shown.length} of ${d.messages.total}):`, ...d.messages.shown.map((m) => `  ${m}`));
      if (d.messages.note) lines.push(`  (${d.messages.note})`);
    }
    output.out(lines.join('\n'));
    return ExitCode.ok;
  },
};
