// `beam-lens cluster`: the whole cluster from one entry node — each member's health, who sees
// whom, and the cluster findings. `processes --cluster` (processes.ts) merges the top N.
import { ClusterView, clusterOverview, type ClusterNodeRow, type ClusterOptions } from '../../core/cluster/cluster';
import type { Via } from '../../core/cluster/members';
import type { Attachment } from '../../core/attach/attachment';
import { UsageError, booleanFlag, numberFlag, stringFlag, type FlagSpec, type FlagValues } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { attachFromFlags } from '../connection';
import { ExitCode } from '../exit-codes';
import { formatBytes, formatCount, formatDuration, printJson, renderTable } from '../output';
import { withAttachment } from '../attachment';

export const clusterFlags: Record<string, FlagSpec> = {
  via: {
    type: 'string',
    value: 'HOW',
    description: "entry (through the entry node's own distribution: one connection is enough) | direct (a hidden connection to each member; needed for the probe and tracing). Default: entry, or direct with --allow-probe",
  },
  hidden: { type: 'boolean', description: 'also hidden nodes connected to the entry node (other than BEAM Lens)' },
};

/** Reads --via/--timeout/--hidden (--timeout is also each member's deadline); direct members are attached with the entry's cookie and flags. */
export function clusterOptions(flags: FlagValues): ClusterOptions {
  const probe = booleanFlag(flags, 'allow-probe');
  const via = stringFlag(flags, 'via') ?? (probe ? 'direct' : 'entry');
  if (via !== 'entry' && via !== 'direct') throw new UsageError(`--via must be entry or direct, got "${via}"`);
  if (probe && via === 'entry') throw new UsageError('the probe is loaded on each member over a direct connection (its guardian watches BEAM Lens): use --via direct with --allow-probe');
  const timeoutMs = numberFlag(flags, 'timeout') ?? 5000;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 120_000) throw new UsageError(`--timeout must be between 100 and 120000 ms, got ${timeoutMs}`);
  return {
    via: via as Via,
    timeoutMs,
    includeHidden: booleanFlag(flags, 'hidden'),
    // The member's own host (from its name) through EPMD there; --host/--port named the entry only.
    connectDirect: (node) => attachFromFlags({ ...flags, node, host: undefined, port: undefined, timeout: timeoutMs }),
  };
}

/** Opens the cluster view of an attached entry node for the body, and closes what it opened. */
export async function withCluster<T>(session: Attachment, flags: FlagValues, body: (view: ClusterView) => Promise<T>, options: { loadProbes?: boolean } = {}): Promise<T> {
  const view = await ClusterView.open(session, clusterOptions(flags));
  try {
    // Sessions that check consent first load the probe themselves, on the members that agreed.
    if (booleanFlag(flags, 'allow-probe') && options.loadProbes !== false) await view.loadProbes();
    return await body(view);
  } finally {
    await view.close();
  }
}

export const clusterCommand: Command = {
  spec: {
    name: 'cluster',
    summary: 'The whole cluster from one entry node: each member (status, versions, memory, run queue), who sees whom, cluster findings.',
    usage: 'beam-lens cluster --node ENTRY [--via entry|direct] [--timeout MS] [--hidden] [--json]',
    // --timeout is the connect timeout and each member's deadline.
    flags: { ...connectionFlags, ...clusterFlags },
  },
  async run({ args, output, signal }) {
    const result = await withAttachment(args.flags, output, signal, (s) => withCluster(s, args.flags, (view) => clusterOverview(view)));
    if (booleanFlag(args.flags, 'json')) {
      printJson(output, result);
      return ExitCode.ok;
    }
    const down = result.nodes.filter((n) => n.status !== 'ok').length;
    output.out(
      renderTable(
        [
          { header: 'NODE', cell: (r: ClusterNodeRow) => r.node + (r.node === result.entry ? ' (entry)' : '') },
          { header: 'STATUS', cell: (r) => r.status },
          { header: 'OTP', cell: (r) => r.otpRelease ?? '' },
          { header: 'UPTIME', align: 'right', cell: (r) => (r.uptimeMs !== undefined ? formatDuration(r.uptimeMs) : '') },
          { header: 'PROCS', align: 'right', cell: (r) => (r.processCount !== undefined ? formatCount(r.processCount) : '') },
          { header: 'MEMORY', align: 'right', cell: (r) => (r.memoryTotal !== undefined ? formatBytes(r.memoryTotal) : '') },
          { header: 'RUNQ', align: 'right', cell: (r) => (r.runQueue !== undefined ? String(r.runQueue) : '') },
          { header: 'SCHED', align: 'right', cell: (r) => (r.schedulerUtilization !== undefined ? `${Math.round(r.schedulerUtilization * 100)}%` : '') },
          { header: 'SEES', align: 'right', cell: (r) => (r.connectedNodes ? String(r.connectedNodes.length) : '') },
          { header: 'FINDINGS', align: 'right', cell: (r) => (r.findings !== undefined ? String(r.findings) : '') },
        ],
        result.nodes,
      ),
    );
    for (const n of result.nodes) if (n.error) output.out(`  ${n.node}: ${n.error}`);
    const oneWay = result.topology.filter((e) => e.aSeesB !== e.bSeesA && e.aSeesB !== null && e.bSeesA !== null);
    const apart = result.topology.filter((e) => e.aSeesB === false && e.bSeesA === false);
    output.out(
      `${result.nodes.length} nodes (${result.nodes.length - down} answered${down ? `, ${down} did not` : ''}) reached ${result.via === 'entry' ? `through ${result.entry}` : 'directly'}; ` +
        (oneWay.length || apart.length ? `mesh: ${oneWay.length} one-way and ${apart.length} missing connections` : 'full mesh'),
    );
    if (result.findings.length) {
      output.out('');
      for (const f of result.findings) output.out(`[${f.severity}] ${f.title}`);
    }
    return ExitCode.ok;
  },
};
