// The cluster report as a run: the same rules as the single-node report (read-only sampling needs
// no consent and no audit; counting calls needs both), once, here. Every member is sampled over
// the same window, each member's own report is built as on one node, and the cluster document
// holds them with the cluster findings. The run is the entry node's: one audit line, one record.
import type { AuditLog } from '../records/audit';
import type { StopSource } from '../runs/cancel';
import { runAudited, type RunResult } from '../runs/run';
import { buildReport } from '../report/build';
import { buildClusterReport } from '../report/cluster';
import type { ReportDocument } from '../report/document';
import { sampleCluster, type ClusterView } from './cluster';
import type { MemberStatus, Via } from './members';
import type { ClusterFinding } from './rules';

export interface ClusterReportRequest {
  durationMs: number;
  /** Also count calls and watch the system monitor on every member (direct connections, the probe on each). */
  trace: boolean;
  /** Where to audit; used only with `trace` (read-only sampling changes nothing on the members). */
  audit: AuditLog | null;
  stop?: StopSource;
  save: { cwd: string; file?: string } | null;
  generatedAt?: Date;
}

/** What the saved record of a cluster report holds. */
export interface ClusterReportSession {
  report: ReportDocument;
  cluster: {
    entry: string;
    via: Via;
    windowMs: number;
    nodes: Array<{ node: string; status: MemberStatus; error?: string; findings?: number; tracingNote?: string }>;
    clusterFindings: ClusterFinding[];
  };
}

export async function runClusterReport(view: ClusterView, req: ClusterReportRequest): Promise<RunResult<ClusterReportSession>> {
  const entry = view.entrySession;
  return runAudited<ClusterReportSession>({
    session: entry,
    kind: 'report',
    limits: { durationMs: req.durationMs, trace: req.trace, cluster: true, via: view.via, members: view.nodes },
    consent: req.trace ? ['trace', 'probe'] : [],
    audit: req.trace ? req.audit : null,
    ...(req.stop ? { stop: req.stop } : {}),
    save: req.save,
    body: async (signal) => {
      const { answers, overview } = await sampleCluster(view, { durationMs: req.durationMs, trace: req.trace, signal });
      const rows = new Map(overview.nodes.map((r) => [r.node, r]));
      const sessions = new Map(view.reachable.map((m) => [m.node, m.session]));
      const members = answers.map((a) => {
        const row = rows.get(a.node);
        const d = a.value;
        const s = sessions.get(a.node);
        const report = d
          ? buildReport({
              samples: d.samples,
              findings: d.findings,
              env: entry.env,
              probe: s?.probe.state === 'loaded',
              ...(d.tracingNote ? { tracingNote: d.tracingNote } : {}),
              ...(d.scheduling ? { scheduling: d.scheduling } : {}),
              ...(req.generatedAt ? { generatedAt: req.generatedAt } : {}),
            })
          : undefined;
        return {
          node: a.node,
          status: a.status,
          ...(a.error ? { error: a.error } : {}),
          ...(report ? { report } : {}),
          ...(row?.otpRelease !== undefined ? { otpRelease: row.otpRelease } : {}),
          ...(row?.processCount !== undefined ? { processCount: row.processCount } : {}),
          ...(row?.memoryTotal !== undefined ? { memoryTotal: row.memoryTotal } : {}),
          ...(row?.runQueue !== undefined ? { runQueue: row.runQueue } : {}),
          ...(row?.connectedNodes ? { connectedNodes: row.connectedNodes } : {}),
          ...(d?.tracingNote ? { tracingNote: d.tracingNote } : {}),
        };
      });
      // Members the entry does not reach but others see (a partition) are listed too.
      for (const r of overview.nodes) {
        if (!members.some((m) => m.node === r.node)) members.push({ node: r.node, status: r.status, ...(r.error ? { error: r.error } : {}) });
      }
      const missingLinks = overview.topology.flatMap((e) => [
        ...(e.aSeesB === false ? [{ from: e.a, to: e.b }] : []),
        ...(e.bSeesA === false ? [{ from: e.b, to: e.a }] : []),
      ]);
      const report = buildClusterReport({
        entry: view.entry,
        via: view.via,
        env: entry.env,
        windowMs: req.durationMs,
        members,
        clusterFindings: overview.findings,
        missingLinks,
        ...(req.generatedAt ? { generatedAt: req.generatedAt } : {}),
      });
      const notes = members.flatMap((m) => ('tracingNote' in m && m.tracingNote ? [`${m.node}: ${m.tracingNote}`] : []));
      return {
        value: {
          report,
          cluster: {
            entry: view.entry,
            via: view.via,
            windowMs: req.durationMs,
            nodes: members.map((m) => ({
              node: m.node,
              status: m.status,
              ...(m.error ? { error: m.error } : {}),
              ...('report' in m && m.report ? { findings: m.report.findingCounts.total } : {}),
              ...('tracingNote' in m && m.tracingNote ? { tracingNote: m.tracingNote } : {}),
            })),
            clusterFindings: overview.findings,
          },
        },
        endReason: signal.aborted ? 'stopped' : 'completed',
        durationMs: req.durationMs,
        ...(notes.length ? { endDetail: notes.join('; ') } : {}),
      };
    },
  });
}
