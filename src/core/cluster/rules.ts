// Cluster findings: what no single-node view can see. Pure functions over each member's facts
// (unit-tested), each finding with evidence, a recommendation, its risk and how to validate, like
// every finding. The thresholds are in one table.
import type { Finding, Severity } from '../findings/rules';
import type { MemberFacts } from './facts';

export const CLUSTER_THRESHOLDS = {
  /** A node is an outlier when its value is at least this many times the median of its peers… */
  outlierFactor: 3,
  /** …and above these floors (so three idle nodes do not make a finding). */
  outlierMemoryBytes: 256 * 1024 * 1024,
  outlierRunQueue: 10,
  outlierProcesses: 20_000,
  /** A registered process's mailbox on one node against the same name elsewhere. */
  outlierMailbox: 1000,
  /** Bytes queued on a distribution port towards one peer. */
  distQueueWarning: 1024 * 1024,
  distQueueCritical: 64 * 1024 * 1024,
} as const;

/** A cluster finding names the nodes it concerns (the overview counts findings per node). */
export interface ClusterFinding extends Finding {
  nodes: string[];
}

/** What a member adds besides its facts (from its overview). */
export interface MemberLoad {
  runQueue: number;
}

export function clusterFindings(facts: MemberFacts[], loads: Record<string, MemberLoad> = {}): ClusterFinding[] {
  const out = [...meshFindings(facts), ...versionFindings(facts), ...configFindings(facts), ...outlierFindings(facts, loads), ...distFindings(facts), ...globalFindings(facts)];
  const order: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
  return out.sort((a, b) => order[a.severity] - order[b.severity] || a.id.localeCompare(b.id));
}

function meshFindings(facts: MemberFacts[]): ClusterFinding[] {
  const answered = new Set(facts.map((f) => f.node));
  const universe = new Set<string>(answered);
  for (const f of facts) for (const n of f.connected) universe.add(n);
  const out: ClusterFinding[] = [];
  for (const f of facts) {
    const sees = new Set(f.connected);
    const missing = [...universe].filter((n) => n !== f.node && !sees.has(n)).sort();
    if (missing.length === 0) continue;
    const seenBy = (n: string): string[] => facts.filter((o) => o.connected.includes(n) && o.node !== n).map((o) => o.node);
    const oneWay = missing.filter((n) => facts.find((o) => o.node === n)?.connected.includes(f.node));
    out.push({
      id: `cluster-mesh:${f.node}`,
      rule: 'cluster-mesh',
      severity: 'warning',
      nodes: [f.node, ...missing],
      title: `${f.node} is not connected to ${missing.join(', ')} (the cluster is not a full mesh)`,
      evidence: [
        `nodes() on ${f.node}: ${f.connected.length ? f.connected.join(', ') : '(none)'}`,
        ...missing.map((n) => `${n} is seen by ${seenBy(n).join(', ') || 'no other member'}${oneWay.includes(n) ? `, and lists ${f.node} itself (asymmetric)` : ''}`),
      ],
      subject: { name: f.node },
      recommendation:
        `Find out why ${f.node} lost ${missing.length === 1 ? 'its connection' : 'its connections'}: a netsplit, a node started with ` +
        '`-connect_all false` or `dist_auto_connect never`, or a firewall between the hosts. On a partial mesh, `global` and ' +
        '`pg` see different clusters on different nodes (OTP 25 closes such overlapping partitions by disconnecting nodes). ' +
        `Reconnect with \`net_kernel:connect_node('${missing[0] ?? ''}')\` on ${f.node} once the cause is known, and make the ` +
        'cluster membership explicit (libcluster, a static node list) so it heals by itself.',
      risk: 'Reconnecting merges two halves that may have diverged (global names, Mnesia tables, leader election): expect name conflicts to be resolved by `global` killing one side.',
      validation: `\`beam-lens cluster --node ${f.node}\` shows every member seeing every other member; global name conflicts are gone.`,
    });
  }
  return out;
}

function versionFindings(facts: MemberFacts[]): ClusterFinding[] {
  const out: ClusterFinding[] = [];
  const spread = (key: (f: MemberFacts) => string | undefined): Map<string, string[]> => {
    const by = new Map<string, string[]>();
    for (const f of facts) {
      const v = key(f);
      if (v === undefined) continue;
      by.set(v, [...(by.get(v) ?? []), f.node]);
    }
    return by;
  };
  // Versions in order (1.9.0 before 1.10.0), whichever member answered first.
  const describe = (by: Map<string, string[]>): string[] => [...by].sort(([x], [y]) => x.localeCompare(y, 'en', { numeric: true })).map(([v, nodes]) => `${v}: ${nodes.join(', ')}`);
  for (const [what, key] of [
    ['OTP release', (f: MemberFacts) => f.otpRelease],
    ['ERTS version', (f: MemberFacts) => f.ertsVersion],
  ] as const) {
    const by = spread(key);
    if (by.size < 2) continue;
    out.push({
      id: `version-drift:${what === 'OTP release' ? 'otp' : 'erts'}`,
      rule: 'version-drift',
      severity: 'warning',
      nodes: facts.map((f) => f.node),
      title: `Members run different ${what}s (${[...by.keys()].join(', ')})`,
      evidence: describe(by),
      subject: { name: what },
      recommendation: `Finish the rolling upgrade so every member runs the same ${what}: mixed releases limit the distribution features both sides use, and behaviour differences between releases show up as bugs on some nodes only.`,
      risk: 'Upgrading a member restarts it: drain it first (take it out of the load balancer, let its work finish).',
      validation: `\`beam-lens cluster\` shows one ${what} on every member.`,
    });
  }
  const apps = new Set(facts.flatMap((f) => Object.keys(f.applications)));
  for (const app of [...apps].sort()) {
    const by = spread((f) => f.applications[app]);
    if (by.size < 2) continue;
    out.push({
      id: `version-drift:app:${app}`,
      rule: 'version-drift',
      severity: 'warning',
      nodes: [...by.values()].flat(),
      title: `Application ${app} runs in different versions (${[...by.keys()].join(', ')})`,
      evidence: describe(by),
      subject: { name: app },
      recommendation:
        `The members run different code of ${app}. If a deploy is in progress, finish it; if not, a member was left behind ` +
        '(a failed deploy, a node restarted from an old release). Messages between versions must stay compatible while they coexist.',
      risk: 'Redeploying the old member restarts it; state held only in its processes is lost unless handed over.',
      validation: `\`beam-lens cluster\` shows no version drift for ${app}.`,
    });
  }
  return out;
}

function configFindings(facts: MemberFacts[]): ClusterFinding[] {
  const out: ClusterFinding[] = [];
  const items: Array<[key: string, label: string, severity: Severity, value: (f: MemberFacts) => number | null, advice: string]> = [
    ['net_ticktime', 'net_ticktime', 'warning', (f) => f.netTicktime, 'Nodes with different net_ticktime disagree on when a peer is dead: set the same `-kernel net_ticktime` on every member.'],
    ['schedulers', 'schedulers online', 'info', (f) => f.schedulersOnline, 'Different scheduler counts mean different capacity per node: fine on mixed hardware, a mistake if one node runs with `+S` or a CPU quota it should not have.'],
    ['process_limit', 'process limit', 'info', (f) => f.processLimit, 'A lower `+P` on one node makes it the first to fail under load: give every member the same limit.'],
  ];
  for (const [key, label, severity, value, advice] of items) {
    const by = new Map<number, string[]>();
    for (const f of facts) {
      const v = value(f);
      if (v !== null) by.set(v, [...(by.get(v) ?? []), f.node]);
    }
    if (by.size < 2) continue;
    out.push({
      id: `config-drift:${key}`,
      rule: 'config-drift',
      severity,
      nodes: [...by.values()].flat(),
      title: `Members differ in ${label} (${[...by.keys()].join(' vs ')})`,
      evidence: [...by].map(([v, nodes]) => `${v}: ${nodes.join(', ')}`),
      subject: { name: key },
      recommendation: advice,
      risk: 'Changing these needs a restart of the member (net_ticktime can be changed at run time with net_kernel:set_net_ticktime/1, gradually).',
      validation: `\`beam-lens cluster --json\` shows one ${label} on every member.`,
    });
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? 0 : s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function outlierFindings(facts: MemberFacts[], loads: Record<string, MemberLoad>): ClusterFinding[] {
  const out: ClusterFinding[] = [];
  if (facts.length < 2) return out;
  const T = CLUSTER_THRESHOLDS;
  const MiB = 1024 * 1024;
  const metrics: Array<[key: string, label: string, value: (f: MemberFacts) => number | undefined, floor: number, show: (v: number) => string]> = [
    ['memory', 'memory', (f) => f.memoryTotal, T.outlierMemoryBytes, (v) => `${(v / MiB).toFixed(1)} MiB`],
    ['run-queue', 'run queue', (f) => loads[f.node]?.runQueue, T.outlierRunQueue, (v) => `${v}`],
    ['processes', 'process count', (f) => f.processCount, T.outlierProcesses, (v) => v.toLocaleString('en-US')],
  ];
  for (const [key, label, value, floor, show] of metrics) {
    for (const f of facts) {
      const v = value(f);
      if (v === undefined || v < floor) continue;
      const peers = facts.filter((o) => o !== f).map(value).filter((x): x is number => x !== undefined);
      if (peers.length === 0) continue;
      const m = median(peers);
      if (v < T.outlierFactor * Math.max(m, 1)) continue;
      out.push({
        id: `node-outlier:${key}:${f.node}`,
        rule: 'node-outlier',
        severity: 'warning',
        nodes: [f.node],
        title: `${f.node}'s ${label} is ${(v / Math.max(m, 1)).toFixed(1)}x its peers' (${show(v)} against a median of ${show(m)})`,
        evidence: facts.map((o) => `${o.node}: ${value(o) === undefined ? '-' : show(value(o) as number)}`),
        subject: { name: f.node },
        recommendation:
          `Work is not spread evenly: look at ${f.node} alone (\`beam-lens report --node ${f.node}\`) for what holds the ${label}. ` +
          'Typical causes: a singleton process (a registered GenServer, a global name) that lives on this node, uneven load balancing, or sharding by a skewed key.',
        risk: 'Moving a singleton or re-sharding changes where state lives; plan the handover.',
        validation: `\`beam-lens cluster\` shows ${f.node}'s ${label} within ${T.outlierFactor}x of its peers under the same load.`,
      });
    }
  }
  const names = new Set(facts.flatMap((f) => Object.keys(f.mailboxes)));
  for (const name of [...names].sort()) {
    const holders = facts.filter((f) => f.mailboxes[name] !== undefined);
    if (holders.length < 2) continue;
    for (const f of holders) {
      const q = f.mailboxes[name] as number;
      if (q < T.outlierMailbox) continue;
      const m = median(holders.filter((o) => o !== f).map((o) => o.mailboxes[name] as number));
      if (q < T.outlierFactor * Math.max(m, 1) * 10) continue;
      out.push({
        id: `node-outlier:mailbox:${name}:${f.node}`,
        rule: 'node-outlier',
        severity: q >= 100_000 ? 'critical' : 'warning',
        nodes: [f.node],
        title: `${name} on ${f.node} has ${q.toLocaleString('en-US')} messages queued; on its peers a median of ${m}`,
        evidence: holders.map((o) => `${o.node}: ${o.mailboxes[name]} messages`),
        subject: { name },
        recommendation: `The same process is fine elsewhere, so look at what only ${f.node} sends it: \`beam-lens mailboxes --node ${f.node}\` for its growth, then the producers on that node.`,
        risk: 'Restarting the process drops its queued messages.',
        validation: `Its queue on ${f.node} comes back to the level of its peers.`,
      });
    }
  }
  return out;
}

function distFindings(facts: MemberFacts[]): ClusterFinding[] {
  const out: ClusterFinding[] = [];
  const T = CLUSTER_THRESHOLDS;
  for (const f of facts) {
    for (const [peer, bytes] of Object.entries(f.distQueue)) {
      if (bytes < T.distQueueWarning) continue;
      out.push({
        id: `dist-busy:${f.node}:${peer}`,
        rule: 'dist-busy',
        severity: bytes >= T.distQueueCritical ? 'critical' : 'warning',
        nodes: [f.node, peer],
        title: `${f.node} has ${(bytes / 1024 / 1024).toFixed(1)} MiB queued on its distribution connection to ${peer}`,
        evidence: [`port_info(queue_size) of the distribution port ${f.node} -> ${peer}: ${bytes} bytes`],
        subject: { name: `${f.node} -> ${peer}` },
        recommendation:
          'Senders to that node are outrunning the connection: large messages (binaries, big terms) between nodes, or one process flooding a remote one. ' +
          'Once the queue passes the distribution buffer busy limit (`+zdbbl`, 1 MiB by default) every sender to that node is suspended (busy_dist_port). ' +
          'Send references instead of payloads, batch, or raise `+zdbbl` if the bursts are legitimate.',
        risk: 'Raising +zdbbl trades suspension for memory on the sending node.',
        validation: 'The queue drains to near zero between bursts; `beam-lens monitor` reports no busy_dist_port events.',
      });
    }
  }
  return out;
}

function globalFindings(facts: MemberFacts[]): ClusterFinding[] {
  const out: ClusterFinding[] = [];
  const names = new Set(facts.flatMap((f) => Object.keys(f.globals)));
  for (const name of [...names].sort()) {
    const by = new Map<string, string[]>();
    for (const f of facts) {
      const pid = f.globals[name];
      if (pid !== undefined) by.set(pid, [...(by.get(pid) ?? []), f.node]);
    }
    if (by.size < 2) continue;
    out.push({
      id: `global-conflict:${name}`,
      rule: 'global-conflict',
      severity: 'warning',
      nodes: [...by.values()].flat(),
      title: `Global name ${name} resolves to different processes on different members`,
      evidence: [...by].map(([pid, nodes]) => `${pid} on ${nodes.join(', ')}`),
      subject: { name },
      recommendation: 'Two partitions each registered the name: the cluster is (or was) split. Heal the partition; `global` then resolves the conflict by its resolve function (by default it kills one of the two processes).',
      risk: 'The process `global` kills loses its state; callers of the other may have diverged.',
      validation: 'Every member resolves the name to the same pid.',
    });
  }
  return out;
}
