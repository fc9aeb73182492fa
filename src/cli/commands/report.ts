import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runReport, type ReportRun } from '../../core/report/gather';
import type { ReportDocument } from '../../core/report/document';
import { planWindow } from '../../core/findings/trends';
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
import { runClusterReport } from '../../core/cluster/report';
import { clusterFlags, withCluster } from './cluster';

export const reportCommand: Command = {
  spec: {
    name: 'report',
    summary: 'Sample the node read-only for a while and write a diagnosis: findings, recommended changes, risk & validation.',
    usage: 'beam-lens report --node NAME --out FILE.md [--duration S] [--trends] [--allow-probe --allow-trace] [--allow-gc] [--cluster [--via entry|direct]] [--json]',
    flags: {
      ...connectionFlags,
      ...probeFlags,
      ...clusterFlags,
      cluster: { type: 'boolean', description: 'every member of the cluster of --node over the same window: one section per member plus the cluster findings' },
      out: { type: 'string', value: 'FILE', description: 'where to write the Markdown report' },
      duration: { type: 'number', value: 'S', description: 'seconds to sample (default 10)', default: 10 },
      'allow-trace': { type: 'boolean', description: 'also count calls per function (call_count), gather crash reasons and count telemetry events over the window; needs --allow-probe' },
      trends: { type: 'boolean', description: 'also watch leak trends over the window (read-only; at least 10 s) and chart their projections' },
      'allow-gc': { type: 'boolean', description: 'after the window, garbage-collect the top binary holders and add what each freed to their findings (as `bin-leak`)' },
    },
  },
  async run({ args, output, signal, cwd }) {
    const out = stringFlag(args.flags, 'out');
    if (out === undefined) throw new UsageError('--out FILE.md is required (where to write the report)');
    const seconds = numberFlag(args.flags, 'duration') ?? 10;
    if (!(seconds >= 1 && seconds <= 3600)) throw new UsageError(`--duration must be from 1 to 3600 seconds, got ${seconds}`);
    if (booleanFlag(args.flags, 'trends') && booleanFlag(args.flags, 'cluster')) throw new UsageError('--trends watches one node: run it without --cluster (or `beam-lens trends` per member)');
    if (booleanFlag(args.flags, 'trends')) {
      // A window too short for a trend is refused before connecting, with what would work.
      try {
        planWindow(seconds * 1000);
      } catch (err) {
        throw new UsageError(`--trends: ${err instanceof Error ? err.message.replace('--duration 2m', '--duration 120') : String(err)}`);
      }
    }
    const progress = progressLine(output);
    const trace = booleanFlag(args.flags, 'allow-trace');
    const gc = booleanFlag(args.flags, 'allow-gc');
    // Read-only sampling needs no audit; with --allow-trace it counts calls, with --allow-gc it collects processes: audited.
    const audit = trace || gc ? fileAuditLog({ cwd, actor: { face: 'cli' } }) : null;
    if (booleanFlag(args.flags, 'cluster')) {
      if (gc) throw new UsageError('--allow-gc collects processes of one node: run `beam-lens report --node MEMBER --allow-gc` on the member you want');
      const run = await withAttachment(args.flags, output, signal, (s) =>
        withCluster(s, args.flags, (view) => runClusterReport(view, { durationMs: seconds * 1000, trace, audit, stop: signal, save: { cwd } })),
      );
      const c = run.value.cluster;
      const { file, charts } = writeReport(run.value.report, path.resolve(cwd, out));
      if (booleanFlag(args.flags, 'json')) {
        printJson(output, { file, charts: charts.map((x) => x.file), session: run.file, ...c });
        return ExitCode.ok;
      }
      output.out(`cluster report written to ${file}${chartsText(charts.map((x) => x.file))} (session saved in ${run.file ?? '(not saved)'})`);
      for (const n of c.nodes) {
        output.out(`  ${n.node}${n.node === c.entry ? ' (entry)' : ''}: ${n.status === 'ok' ? `${n.findings ?? 0} findings` : `${n.status} (${n.error ?? ''})`}`);
        if (n.tracingNote) output.out(`    not included: ${n.tracingNote}`);
      }
      output.out(`  cluster: ${c.clusterFindings.length} findings`);
      for (const f of c.clusterFindings) output.out(`    [${f.severity}] ${f.title}`);
      return ExitCode.ok;
    }
    const { report, findings, samples, probe, note, sessionFile } = await withAttachment(args.flags, output, signal, async (s) => {
      let r: ReportRun | undefined;
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
          r = await runReport(s, { durationMs: seconds * 1000, trace, trends: booleanFlag(args.flags, 'trends'), gcBinaries: gc, onProgress: progress.report, signal: runSignal });
          const d = r.diagnosis;
          const report = r.document;
          return {
            // The facts for the editor's lenses without a node, and the document `session show` renders.
            value: { facts: factsFromDiagnosis(d, s.env), report },
            endReason: runSignal.aborted ? 'stopped' : 'completed',
            durationMs: d.samples.windowMs,
            ...(d.tracingNote ? { endDetail: d.tracingNote } : {}),
          };
        },
      });
      const done = r as ReportRun;
      const probe = s.probe.state === 'loaded';
      return {
        samples: done.diagnosis.samples,
        findings: done.findings,
        probe,
        note: done.diagnosis.tracingNote,
        sessionFile: run.file as string,
        report: done.document,
      };
    });
    if (note) output.err(`beam-lens: ${note}`);
    progress.done();
    const { file, charts } = writeReport(report, path.resolve(cwd, out));
    if (booleanFlag(args.flags, 'json')) {
      printJson(output, { file, charts: charts.map((c) => c.file), session: sessionFile, node: samples.node, windowMs: samples.windowMs, probe, findings });
    } else {
      output.out(`report written to ${file}${chartsText(charts.map((c) => c.file))} (session saved in ${sessionFile})`);
      output.out(`${findings.length} findings on ${samples.node} over ${(samples.windowMs / 1000).toFixed(1)} s:`);
      for (const f of findings) output.out(`  [${f.severity}] ${f.title}`);
    }
    return ExitCode.ok;
  },
};

/** Writes the Markdown and, next to it, the charts as SVG files (X.charts/*.svg) linked from it as images. */
function writeReport(report: ReportDocument, file: string): { file: string; charts: Array<{ file: string }> } {
  mkdirSync(path.dirname(file), { recursive: true });
  const charts = reportChartFiles(report, file);
  for (const c of charts) {
    mkdirSync(path.dirname(c.file), { recursive: true });
    writeFileSync(c.file, c.svg);
  }
  writeFileSync(file, renderReportMarkdown(report, { chartImages: new Map(charts.map((c) => [c.chart, c.relative])) }));
  return { file, charts };
}

function chartsText(files: string[]): string {
  return files.length > 0 ? ` with ${files.length} chart${files.length === 1 ? '' : 's'} in ${path.dirname(files[0] ?? '')}` : '';
}
