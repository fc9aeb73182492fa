import { formatModule } from '../../etf';
import { runAudited } from '../../core/runs/run';
import { watchMailboxes, type MailboxRow, type MailboxWatchResult } from '../../core/runs/mailbox-watch';
import { UsageError, booleanFlag, countFlag, numberFlag, stringFlag } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { formatCount, printJson, renderTable, tableOr } from '../output';
import { probeFlags, progressLine, withAttachment } from '../attachment';
import { processTitle } from '../../core/inspect/identity';

export const mailboxesCommand: Command = {
  spec: {
    name: 'mailboxes',
    summary: 'Watch message queues over a window (read-only): which grow, which drain, and how fast.',
    usage: 'beam-lens mailboxes --node NAME [--duration S] [--limit N] [--save FILE] [--json]',
    flags: {
      ...connectionFlags,
      ...probeFlags,
      duration: { type: 'number', value: 'S', description: 'seconds to watch (default 5)', default: 5 },
      interval: { type: 'number', value: 'MS', description: 'time between samples (default 500)', default: 500 },
      limit: { type: 'number', value: 'N', description: 'rows (default 20)', default: 20 },
      save: { type: 'string', value: 'FILE', description: 'where to save the session (default .beam-lens/sessions/ID.json)' },
    },
  },
  async run({ args, output, signal, cwd }) {
    const seconds = numberFlag(args.flags, 'duration') ?? 5;
    if (!(seconds >= 1 && seconds <= 3600)) throw new UsageError(`--duration must be from 1 to 3600 seconds, got ${seconds}`);
    const limit = countFlag(args.flags, 'limit', 20, { max: 1000 });
    const interval = countFlag(args.flags, 'interval', 500, { min: 100, max: 60_000 });
    const progress = progressLine(output);
    const saveFile = stringFlag(args.flags, 'save');
    // Read-only: saved like every session, not audited (it sets nothing on the target).
    const run = await withAttachment(args.flags, output, signal, (s) =>
      runAudited<MailboxWatchResult>({
        session: s,
        kind: 'mailboxes',
        limits: { durationMs: seconds * 1000, intervalMs: interval, rows: limit },
        consent: [],
        audit: null,
        stop: signal,
        save: { cwd, ...(saveFile !== undefined ? { file: saveFile } : {}) },
        body: async (runSignal) => {
          const value = await watchMailboxes(s, { durationMs: seconds * 1000, intervalMs: interval, limit, onProgress: progress.report, signal: runSignal });
          return { value, endReason: 'completed', durationMs: value.durationMs };
        },
      }),
    );
    progress.done();
    const result = run.value;
    const file = run.file as string;
    if (booleanFlag(args.flags, 'json')) {
      printJson(output, {
        durationMs: result.durationMs,
        session: file,
        rows: result.rows.map((r) => ({ pid: r.pid, name: r.name, messageQueueLen: r.messageQueueLen, growthPerSec: r.growthPerSec, trend: r.trend, ...(r.suspendedIn ? { suspendedIn: r.suspendedIn } : {}) })),
      });
      return ExitCode.ok;
    }
    output.out(renderMailboxes(result.rows));
    output.out(`${result.rows.length} queues over ${(result.durationMs / 1000).toFixed(1)} s of ${result.processesSeen} processes; saved ${file}`);
    return ExitCode.ok;
  },
};

export function renderMailboxes(rows: MailboxRow[]): string {
  return tableOr(
    'no process had messages queued in the window',
    [
      { header: 'PID', cell: (r: MailboxRow) => r.pid },
      { header: 'NAME / MODULE', max: 48, cell: (r) => processTitle({ name: r.name, module: r.module ?? null, label: r.label ?? null, initialCall: r.initialCall }) },
      { header: 'QUEUE', align: 'right', cell: (r) => formatCount(r.messageQueueLen) },
      { header: 'GROWTH/S', align: 'right', cell: (r) => `${r.growthPerSec > 0 ? '+' : ''}${r.growthPerSec}` },
      { header: 'TREND', cell: (r) => (r.trend === 'growing' ? 'growing, not draining' : r.trend === 'blocked' ? `blocked in ${r.suspendedIn ?? '?'}` : r.trend) },
    ],
    rows,
  );
}
