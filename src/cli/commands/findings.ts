import { diagnose } from '../../core/findings/diagnose';
import { fileAuditLog } from '../../core/records/audit';
import { runAudited } from '../../core/runs/run';
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
    usage: 'beam-lens findings --node NAME [--duration S] [--allow-trace --allow-probe] [--allow-gc] [--cluster [--via entry|direct]] [--json]',
    flags: {
      ...connectionFlags,
      ...probeFlags,
      ...clusterFlags,
      cluster: { type: 'boolean', description: 'every member of the cluster of --node, sampled over the same window, plus the cluster findings' },
      duration: { type: 'number', value: 'S', description: 'seconds to sample (default 5)', default: 5 },
      'allow-trace': { type: 'boolean', description: 'also count calls per function over the window; needs --allow-probe' },
      'allow-gc': { type: 'boolean', description: 'after the window, garbage-collect the top binary holders and add what each freed to their findings' },
    },
  },
  async run({ args, output, signal, cwd }) {
    const seconds = numberFlag(args.flags, 'duration') ?? 5;
    if (!(seconds >= 1 && seconds <= 3600)) throw new UsageError(`--duration must be from 1 to 3600 seconds, got ${seconds}`);
    if (booleanFlag(args.flags, 'cluster')) {
      if (booleanFlag(args.flags, 'allow-trace') || booleanFlag(args.flags, 'allow-gc')) throw new UsageError('--allow-trace and --allow-gc are not available with --cluster yet: cluster findings are read-only');
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
    const trace = booleanFlag(args.flags, 'allow-trace');
    const gc = booleanFlag(args.flags, 'allow-gc');
    const d = await withAttachment(args.flags, output, signal, async (s) => {
      const opts = { durationMs: seconds * 1000, trace, gcBinaries: gc, onProgress: progress.report };
      if (!trace && !gc) return diagnose(s, { ...opts, signal });
      // Intrusive: audited (not saved; `report` saves its sessions).
      const run = await runAudited({
        session: s,
        kind: 'report',
        limits: { durationMs: seconds * 1000, trace, gcBinaries: gc },
        consent: [...(trace ? (['trace', 'probe'] as const) : []), ...(gc ? (['gc'] as const) : [])],
        audit: fileAuditLog({ cwd, actor: { face: 'cli' } }),
        stop: signal,
        save: null,
        body: async (runSignal) => {
          const value = await diagnose(s, { ...opts, signal: runSignal });
          return { value, endReason: runSignal.aborted ? 'stopped' : 'completed', durationMs: value.samples.windowMs };
        },
      });
      return run.value;
    });
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
