import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { diagnose } from '../../core/diagnose';
import { buildReport } from '../../core/report';
import { renderReportMarkdown } from '../../core/report-markdown';
import { fileAuditLog } from '../../core/sessions/audit';
import { factsFromDiagnosis } from '../../core/sessions/saved-facts';
import { newSessionId, saveSession } from '../../core/sessions/store';
import { UsageError, booleanFlag, numberFlag, stringFlag } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { ExitCode } from '../exit-codes';
import { printJson } from '../output';
import { probeFlags, progressLine, withSession } from '../session';

export const reportCommand: Command = {
  spec: {
    name: 'report',
    summary: 'Sample the node read-only for a while and write a diagnosis: findings, recommended changes, risk & validation.',
    usage: 'beam-lens report --node NAME --out FILE.md [--duration S] [--json]',
    flags: {
      ...connectionFlags,
      ...probeFlags,
      out: { type: 'string', value: 'FILE', description: 'where to write the Markdown report' },
      duration: { type: 'number', value: 'S', description: 'seconds to sample (default 10)', default: 10 },
      'allow-trace': { type: 'boolean', description: 'also count calls per function (call_count) over the window; needs --allow-probe' },
    },
  },
  async run({ args, output, signal, cwd }) {
    const out = stringFlag(args.flags, 'out');
    if (out === undefined) throw new UsageError('--out FILE.md is required (where to write the report)');
    const seconds = numberFlag(args.flags, 'duration') ?? 10;
    if (!(seconds >= 1 && seconds <= 3600)) throw new UsageError(`--duration must be from 1 to 3600 seconds, got ${seconds}`);
    const progress = progressLine(output);
    const trace = booleanFlag(args.flags, 'allow-trace');
    const audit = fileAuditLog({ cwd });
    const started = new Date();
    const { report, findings, samples, probe, note, facts, env } = await withSession(args.flags, output, signal, async (s) => {
      if (trace) audit.append({ node: s.node, env: s.env, action: 'report with hot functions', limits: { durationMs: seconds * 1000 }, outcome: 'requested' });
      const d = await diagnose(s, { durationMs: seconds * 1000, trace, onProgress: progress.report, signal });
      if (trace) audit.append({ node: s.node, env: s.env, action: 'report with hot functions', limits: { durationMs: seconds * 1000 }, outcome: d.tracingNote ? 'error' : 'completed', ...(d.tracingNote ? { detail: d.tracingNote } : {}) });
      const probe = s.probe.state === 'loaded';
      return {
        samples: d.samples,
        findings: d.findings,
        probe,
        note: d.tracingNote,
        facts: factsFromDiagnosis(d, s.env),
        env: s.env,
        report: buildReport({ samples: d.samples, findings: d.findings, env: s.env, probe, ...(d.tracingNote ? { tracingNote: d.tracingNote } : {}) }),
      };
    });
    if (note) output.err(`beam-lens: ${note}`);
    progress.done();
    const file = path.resolve(cwd, out);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, renderReportMarkdown(report));
    // Saved so the editor can show lenses and diagnostics from it without a node.
    const sessionFile = saveSession(
      {
        format: 1,
        id: newSessionId('report', started),
        kind: 'report',
        node: samples.node,
        env,
        startedAt: started.toISOString(),
        endedAt: new Date().toISOString(),
        durationMs: samples.windowMs,
        limits: { durationMs: seconds * 1000, trace },
        endReason: 'completed',
        result: { facts, report },
      },
      { cwd },
    );
    if (booleanFlag(args.flags, 'json')) {
      printJson(output, { file, session: sessionFile, node: samples.node, windowMs: samples.windowMs, probe, findings });
    } else {
      output.out(`report written to ${file} (session saved in ${sessionFile})`);
      output.out(`${findings.length} findings on ${samples.node} over ${(samples.windowMs / 1000).toFixed(1)} s:`);
      for (const f of findings) output.out(`  [${f.severity}] ${f.title}`);
    }
    return ExitCode.ok;
  },
};
