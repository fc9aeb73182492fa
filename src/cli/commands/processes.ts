import { formatModule } from '../../etf';
import { displayMfa } from '../../core/findings';
import { processTitle } from '../../core/identity';
import { processSorts, type ProcessRow, type ProcessSort } from '../../core/processes';
import { UsageError, booleanFlag, countFlag, numberFlag, stringFlag } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { formatBytes, formatCount, printJson, renderTable } from '../output';
import { probeFlags, progressLine, withSession } from '../session';

export const processesCommand: Command = {
  spec: {
    name: 'processes',
    summary: 'Processes sorted on the target by memory, reductions, mailbox or reduction rate, one page at a time.',
    usage: 'beam-lens processes --node NAME [--sort memory|reductions|mailbox|reduction-rate] [--limit 50] [--offset 0] [--json]',
    flags: {
      ...connectionFlags,
      ...probeFlags,
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
    const progress = progressLine(output);
    const page = await withSession(args.flags, output, signal, (s) =>
      s.processes({ sort: sort as ProcessSort, limit, offset, ...(windowMs !== undefined ? { windowMs } : {}), onProgress: progress.report, signal }),
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
      renderTable(
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
    output.out(`${page.offset + 1}-${page.offset + page.rows.length} of ${page.total} processes by ${page.sort} (${page.via === 'probe' ? 'sorted by the probe' : 'zero-install'})`);
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
    const d = await withSession(args.flags, output, signal, (s) => s.processDetail(pid, messages ? { messages } : {}));
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
      `initial call      ${d.initialCall ? formatModule(d.initialCall) : '-'}`,
      `current function  ${d.currentFunction ? formatModule(d.currentFunction) : '-'}`,
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
