import { diagnose } from '../../core/findings/diagnose';
import type { Finding } from '../../core/findings/rules';
import { UsageError, booleanFlag, numberFlag } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { printJson, renderTable, tableOr } from '../output';
import { probeFlags, progressLine, withAttachment } from '../attachment';
import { diagnoseCluster } from '../../core/cluster/cluster';
import { clusterFlags, withCluster } from './cluster';

export const findingsCommand: Command = {
  spec: {
    name: 'findings',
    summary: 'Sample the node and list findings with evidence and recommendations (add --allow-trace for hot functions).',
    usage: 'beam-lens findings --node NAME [--duration S] [--allow-trace --allow-probe] [--cluster [--via entry|direct]] [--json]',
    flags: {
      ...connectionFlags,
      ...probeFlags,
      ...clusterFlags,
      cluster: { type: 'boolean', description: 'every member of the cluster of --node, sampled over the same window, plus the cluster findings' },
      duration: { type: 'number', value: 'S', description: 'seconds to sample (default 5)', default: 5 },
      'allow-trace': { type: 'boolean', description: 'also count calls per function over the window; needs --allow-probe' },
    },
  },
  async run({ args, output, signal }) {
    const seconds = numberFlag(args.flags, 'duration') ?? 5;
    if (!(seconds >= 1 && seconds <= 3600)) throw new UsageError(`--duration must be from 1 to 3600 seconds, got ${seconds}`);
    if (booleanFlag(args.flags, 'cluster')) {
      if (booleanFlag(args.flags, 'allow-trace')) throw new UsageError('--allow-trace is not available with --cluster yet: cluster findings are read-only');
      const c = await withAttachment(args.flags, output, signal, (s) => withCluster(s, args.flags, (view) => diagnoseCluster(view, { durationMs: seconds * 1000, signal })));
      if (booleanFlag(args.flags, 'json')) {
        printJson(output, c);
        return ExitCode.ok;
      }
      for (const n of c.nodes) {
        output.out(`== ${n.node}${n.node === c.entry ? ' (entry)' : ''}: ${n.status === 'ok' ? `${n.findings?.length ?? 0} findings` : `${n.status} (${n.error ?? ''})`}`);
        for (const f of n.findings ?? []) output.out(`  [${f.severity}] ${f.title}`);
      }
      output.out(`== cluster: ${c.clusterFindings.length} findings`);
      for (const f of c.clusterFindings) output.out(`  [${f.severity}] ${f.title}\n    ${f.evidence.join('\n    ')}\n    → ${f.recommendation}`);
      return ExitCode.ok;
    }
    const progress = progressLine(output);
    const d = await withAttachment(args.flags, output, signal, (s) =>
      diagnose(s, { durationMs: seconds * 1000, trace: booleanFlag(args.flags, 'allow-trace'), onProgress: progress.report, signal }),
    );
    progress.done();
    if (d.tracingNote) output.err(`beam-lens: ${d.tracingNote}`);
    if (booleanFlag(args.flags, 'json')) {
      printJson(output, { node: d.samples.node, windowMs: d.samples.windowMs, findings: d.findings, ...(d.tracingNote ? { tracingNote: d.tracingNote } : {}) });
      return ExitCode.ok;
    }
    output.out(
      tableOr(
        `no findings over ${(d.samples.windowMs / 1000).toFixed(1)} s: nothing stood out (sample longer or under load to be sure)`,
        [
          { header: 'SEVERITY', cell: (f: Finding) => f.severity },
          { header: 'FINDING', max: 70, cell: (f) => f.title },
        ],
        d.findings,
      ),
    );
    for (const f of d.findings) output.out(`\n[${f.severity}] ${f.title}\n  ${f.evidence.join('\n  ')}\n  → ${f.recommendation}`);
    // What was asked for and did not run is part of the answer, not only a stderr line.
    if (d.tracingNote) output.out(`\nnot included: ${d.tracingNote}`);
    return ExitCode.ok;
  },
};
