import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { diagnose, type Diagnosis } from '../../core/findings/diagnose';
import { buildReport } from '../../core/report/build';
import type { ReportDocument } from '../../core/report/document';
import { renderReportMarkdown } from '../../core/report/markdown';
import { reportChartFiles } from '../../core/report/chart-files';
import { fileAuditLog } from '../../core/records/audit';
import { factsFromDiagnosis } from '../../core/facts/saved-facts';
import { runAudited } from '../../core/runs/run';
import { UsageError, booleanFlag, numberFlag, stringFlag } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { printJson } from '../output';
import { probeFlags, progressLine, withAttachment } from '../attachment';

export const reportCommand: Command = {
  spec: {
    name: 'report',
    summary: 'Sample the node read-only for a while and write a diagnosis: findings, recommended changes, risk & validation.',
    usage: 'beam-lens report --node NAME --out FILE.md [--duration S] [--allow-trace --allow-probe] [--allow-gc] [--json]',
    flags: {
      ...connectionFlags,
      ...probeFlags,
      out: { type: 'string', value: 'FILE', description: 'where to write the Markdown report' },
      duration: { type: 'number', value: 'S', description: 'seconds to sample (default 10)', default: 10 },
      'allow-trace': { type: 'boolean', description: 'also count calls per function (call_count) over the window; needs --allow-probe' },
      'allow-gc': { type: 'boolean', description: 'after the window, garbage-collect the top binary holders and add what each freed to their findings (as `bin-leak`)' },
    },
  },
  async run({ args, output, signal, cwd }) {
    const out = stringFlag(args.flags, 'out');
    if (out === undefined) throw new UsageError('--out FILE.md is required (where to write the report)');
    const seconds = numberFlag(args.flags, 'duration') ?? 10;
    if (!(seconds >= 1 && seconds <= 3600)) throw new UsageError(`--duration must be from 1 to 3600 seconds, got ${seconds}`);
    const progress = progressLine(output);
    const trace = booleanFlag(args.flags, 'allow-trace');
    const gc = booleanFlag(args.flags, 'allow-gc');
    // Read-only sampling needs no audit; with --allow-trace it counts calls, with --allow-gc it collects processes: audited.
    const audit = trace || gc ? fileAuditLog({ cwd, actor: { face: 'cli' } }) : null;
    const { report, findings, samples, probe, note, sessionFile } = await withAttachment(args.flags, output, signal, async (s) => {
      let d: Diagnosis | undefined;
      let report: ReportDocument | undefined;
      // Saved so the editor can show lenses and diagnostics from it without a node.
      const run = await runAudited({
        session: s,
        kind: 'report',
        limits: { durationMs: seconds * 1000, trace, gcBinaries: gc },
        consent: [...(trace ? (['trace', 'probe'] as const) : []), ...(gc ? (['gc'] as const) : [])],
        audit,
        stop: signal,
        save: { cwd },
        body: async (runSignal) => {
          d = await diagnose(s, { durationMs: seconds * 1000, trace, gcBinaries: gc, onProgress: progress.report, signal: runSignal });
          report = buildReport({ samples: d.samples, findings: d.findings, env: s.env, probe: s.probe.state === 'loaded', ...(d.tracingNote ? { tracingNote: d.tracingNote } : {}), ...(d.scheduling ? { scheduling: d.scheduling } : {}) });
          return {
            // The facts for the editor's lenses without a node, and the document `session show` renders.
            value: { facts: factsFromDiagnosis(d, s.env), report },
            endReason: runSignal.aborted ? 'stopped' : 'completed',
            durationMs: d.samples.windowMs,
            ...(d.tracingNote ? { endDetail: d.tracingNote } : {}),
          };
        },
      });
      const diagnosis = d as Diagnosis;
      const probe = s.probe.state === 'loaded';
      return {
        samples: diagnosis.samples,
        findings: diagnosis.findings,
        probe,
        note: diagnosis.tracingNote,
        sessionFile: run.file as string,
        report: report as ReportDocument,
      };
    });
    if (note) output.err(`beam-lens: ${note}`);
    progress.done();
    const file = path.resolve(cwd, out);
    mkdirSync(path.dirname(file), { recursive: true });
    // The charts as SVG files next to the Markdown (X.charts/*.svg), linked from it as images.
    const charts = reportChartFiles(report, file);
    for (const c of charts) {
      mkdirSync(path.dirname(c.file), { recursive: true });
      writeFileSync(c.file, c.svg);
    }
    writeFileSync(file, renderReportMarkdown(report, { chartImages: new Map(charts.map((c) => [c.chart, c.relative])) }));
    if (booleanFlag(args.flags, 'json')) {
      printJson(output, { file, charts: charts.map((c) => c.file), session: sessionFile, node: samples.node, windowMs: samples.windowMs, probe, findings });
    } else {
      output.out(`report written to ${file}${charts.length > 0 ? ` with ${charts.length} chart${charts.length === 1 ? '' : 's'} in ${path.dirname(charts[0]?.file ?? file)}` : ''} (session saved in ${sessionFile})`);
      output.out(`${findings.length} findings on ${samples.node} over ${(samples.windowMs / 1000).toFixed(1)} s:`);
      for (const f of findings) output.out(`  [${f.severity}] ${f.title}`);
    }
    return ExitCode.ok;
  },
};
