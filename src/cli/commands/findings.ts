import { diagnose } from '../../core/diagnose';
import type { Finding } from '../../core/findings';
import { UsageError, booleanFlag, numberFlag } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { printJson, renderTable } from '../output';
import { probeFlags, progressLine, withSession } from '../session';

export const findingsCommand: Command = {
  spec: {
    name: 'findings',
    summary: 'Sample the node and list findings with evidence and recommendations (add --allow-trace for hot functions).',
    usage: 'beam-lens findings --node NAME [--duration S] [--allow-trace --allow-probe] [--json]',
    flags: {
      ...connectionFlags,
      ...probeFlags,
      duration: { type: 'number', value: 'S', description: 'seconds to sample (default 5)', default: 5 },
      'allow-trace': { type: 'boolean', description: 'also count calls per function over the window; needs --allow-probe' },
    },
  },
  async run({ args, output, signal }) {
    const seconds = numberFlag(args.flags, 'duration') ?? 5;
    if (!(seconds >= 1 && seconds <= 3600)) throw new UsageError(`--duration must be from 1 to 3600 seconds, got ${seconds}`);
    const progress = progressLine(output);
    const d = await withSession(args.flags, output, signal, (s) =>
      diagnose(s, { durationMs: seconds * 1000, trace: booleanFlag(args.flags, 'allow-trace'), onProgress: progress.report, signal }),
    );
    progress.done();
    if (d.tracingNote) output.err(`beam-lens: ${d.tracingNote}`);
    if (booleanFlag(args.flags, 'json')) {
      printJson(output, { node: d.samples.node, windowMs: d.samples.windowMs, findings: d.findings });
      return ExitCode.ok;
    }
    output.out(
      renderTable(
        [
          { header: 'SEVERITY', cell: (f: Finding) => f.severity },
          { header: 'FINDING', max: 70, cell: (f) => f.title },
        ],
        d.findings,
      ),
    );
    for (const f of d.findings) output.out(`\n[${f.severity}] ${f.title}\n  ${f.evidence.join('\n  ')}\n  → ${f.recommendation}`);
    return ExitCode.ok;
  },
};
