import type { EtsRow, PortRow } from '../../core/inspect/ports-ets';
import { UsageError, booleanFlag, countFlag, stringFlag } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { formatBytes, formatCount, printJson, renderTable, tableOr } from '../output';
import { withAttachment } from '../attachment';

export const portsCommand: Command = {
  spec: {
    name: 'ports',
    summary: 'Open ports and sockets: type, owner, local and peer address, bytes in/out.',
    usage: 'beam-lens ports --node NAME [--limit 50] [--json]',
    flags: { ...connectionFlags, limit: { type: 'number', value: 'N', description: 'rows (default 50)', default: 50 } },
  },
  async run({ args, output, signal }) {
    const limit = countFlag(args.flags, 'limit', 50, { max: 10_000 });
    const r = await withAttachment(args.flags, output, signal, (s) => s.ports(limit));
    if (booleanFlag(args.flags, 'json')) {
      printJson(output, r);
      return ExitCode.ok;
    }
    output.out(
      tableOr(
        'no ports',
        [
          { header: 'PORT', cell: (p: PortRow) => p.port },
          { header: 'NAME', max: 16, cell: (p) => p.name },
          { header: 'OWNER', max: 40, cell: (p) => p.ownerTitle ?? p.ownerName ?? p.owner ?? '' },
          { header: 'LOCAL', keep: true, cell: (p) => p.local ?? '' },
          { header: 'PEER', keep: true, cell: (p) => p.peer ?? '' },
          { header: 'IN', align: 'right', cell: (p) => formatBytes(p.input) },
          { header: 'OUT', align: 'right', cell: (p) => formatBytes(p.output) },
          { header: 'PENDING', align: 'right', cell: (p) => (p.sendPending !== undefined ? formatBytes(p.sendPending) : p.queueSize > 0 ? formatBytes(p.queueSize) : '') },
        ],
        r.rows,
        120,
      ),
    );
    output.out(`${r.rows.length} of ${r.total} ports, by bytes in + out (sockets counted by inet:getstat/2)`);
    return ExitCode.ok;
  },
};

export const etsCommand: Command = {
  spec: {
    name: 'ets',
    summary: 'ETS tables, largest first by memory or size: owner, type, protection.',
    usage: 'beam-lens ets --node NAME [--sort memory|size] [--limit 50] [--json]',
    flags: {
      ...connectionFlags,
      limit: { type: 'number', value: 'N', description: 'rows (default 50)', default: 50 },
      sort: { type: 'string', value: 'KEY', description: 'memory | size', default: 'memory' },
    },
  },
  async run({ args, output, signal }) {
    const limit = countFlag(args.flags, 'limit', 50, { max: 10_000 });
    const sort = stringFlag(args.flags, 'sort') ?? 'memory';
    if (sort !== 'memory' && sort !== 'size') throw new UsageError(`--sort must be memory or size, got "${sort}"`);
    const r = await withAttachment(args.flags, output, signal, (s) => s.ets(limit, sort));
    if (booleanFlag(args.flags, 'json')) {
      printJson(output, r);
      return ExitCode.ok;
    }
    output.out(
      tableOr(
        'no ETS tables',
        [
          { header: 'TABLE', max: 36, cell: (t: EtsRow) => t.name },
          { header: 'ROWS', align: 'right', cell: (t) => formatCount(t.size) },
          { header: 'MEMORY', align: 'right', cell: (t) => formatBytes(t.memoryBytes) },
          { header: 'TYPE', cell: (t) => t.type },
          { header: 'PROTECTION', cell: (t) => t.protection },
          { header: 'OWNER', cell: (t) => t.ownerName ?? t.owner ?? '' },
        ],
        r.rows,
      ),
    );
    output.out(`${r.rows.length} of ${r.total} tables, by ${sort}`);
    return ExitCode.ok;
  },
};
