// An Attachment is BEAM Lens attached to one target node: the connection, its environment tag, what we
// have set on the target (the probe), and the inspections. detach() undoes everything we set.
import { BeamLensError } from '../../errors';
import type { Disposable, LocalProcess } from '../../erldist';
import type { AttachTarget } from './target';
import type { ConsentGrants, EnvTag } from './consent';
import { ConsentRequiredError, requireConsent } from './consent';
import { getOverview, type Overview, type OverviewOptions } from '../inspect/overview';
import { parsePid, resolveProcess } from '../target/pids';
import { SharedModuleBaselines, nodeModuleBaselines, type ModulesRestored } from '../target/loaded-modules';
import { PROBE_MODULE, ProbeHandle, loadProbe, type ProbeRelease, type ProbeStatus } from '../probe/loader';
import { processDetail, type DetailOptions, type ProcessDetail } from '../inspect/process-detail';
import { topProcessesViaRpc, type ProcessPage, type ProcessQuery } from '../inspect/processes';
import { topProbeProcesses, warmProbeCache } from '../probe/calls';
import { topEtsTables, topPorts, type EtsRow, type PortRow } from '../inspect/ports-ets';
import { RemoteEvaluator, type RelayedEval } from '../target/remote-eval';
import type { RpcChannel } from '../target/rpc';
import { claimNode, type RunClaim } from './run-claim';
import { answerRecordRequests } from '../target/peer-records';
import { applicationTrees, walkSupervisor, type ApplicationTree, type TreeNode, type TreeOptions } from '../inspect/tree';

/** What an Attachment needs from a connection (src/erldist's NodeConnection satisfies it). */
export interface AttachmentConnection extends RpcChannel {
  /** Our own (hidden) node name, as the target sees it. */
  readonly localName: string;
  /** A local process (mailbox) on our node, e.g. to receive trace events. */
  spawn(): LocalProcess;
  /** Called once when the connection closes (the node went down, the network split, we detached). */
  onClose(listener: (reason: string) => void): Disposable;
  close(): Promise<void>;
  /** False once the connection has ended (NodeConnection has it). */
  readonly isOpen?: boolean;
  /** For a node reached through another one: evaluations are relayed (and linked) by that node's evaluator. */
  readonly relay?: RelayedEval;
}

export interface AttachmentOptions {
  env: EnvTag;
  /** Where we attached (node, host, port), as the attach service parsed it. */
  target?: AttachTarget;
  grants?: ConsentGrants;
  /** Where the probe's Erlang source and precompiled fallback live (default: found next to the bundle). */
  probeDir?: string;
  /**
   * For a node reached through another attachment (a cluster member through its entry): the
   * entry's holds on such nodes in the process's record of loaded modules (taken when the first
   * scope reaching the node begins, restored when the last ends).
   */
  sharedModules?: SharedModuleBaselines;
}

export class Attachment {
  readonly evaluator: RemoteEvaluator;
  private probeHandle: ProbeHandle | null = null;
  private probeStatus: ProbeStatus = { state: 'absent' };
  private probeLoading: Promise<ProbeStatus> | null = null;
  private detached = false;
  /** Modules loaded on the target when we attached (taken before our first evaluation). */
  private readonly modulesBefore: Promise<Set<string> | null>;
  private restored: ModulesRestored | null = null;
  private released: ProbeRelease | null = null;
  /** The loaded modules of the nodes reached through this one (cluster members through this entry). */
  readonly relayedModules = new SharedModuleBaselines();

  constructor(
    readonly connection: AttachmentConnection,
    readonly options: AttachmentOptions,
  ) {
    // One record per node for this process: restored when the last scope reaching the node ends.
    this.modulesBefore = (options.sharedModules ?? nodeModuleBaselines).acquire(connection);
    this.evaluator = new RemoteEvaluator(connection, this.modulesBefore);
    // Other BEAM Lens instances attaching later ask for that record (the earliest one counts).
    this.stopAnswering = answerRecordRequests(connection, this.modulesBefore);
  }

  private readonly stopAnswering: () => void;

  /** Settles once the target's loaded modules are recorded (null: they could not be read). */
  get modulesBaseline(): Promise<Set<string> | null> {
    return this.modulesBefore;
  }

  /** After detach: the OTP modules our work had loaded and that were removed again (or kept). */
  get modulesRestored(): ModulesRestored | null {
    return this.restored;
  }

  /**
   * After detach (or releaseProbe): what releasing the probe did — unloaded, or left loaded for
   * the other BEAM Lens instances that still use it (named). Null when we had no probe.
   */
  get probeRelease(): ProbeRelease | null {
    return this.released;
  }

  /** The nodes reached through this one (cluster members) restored so far: each when the last view or attachment reaching it ended, or with this one. */
  get relayedModulesRestored(): ReadonlyArray<{ node: string; restored: ModulesRestored }> {
    return this.relayedModules.restored;
  }

  get node(): string {
    return this.connection.peer;
  }

  get env(): EnvTag {
    return this.options.env;
  }

  get probe(): ProbeStatus {
    return this.probeStatus;
  }

  /** Adds consent given later (the editor asks when an action needs it). */
  grant(grants: ConsentGrants): void {
    this.options.grants = { ...(this.options.grants ?? {}), ...grants };
  }

  /**
   * Runs `body` with consent given for it alone (a face that asks per action, e.g. an MCP
   * elicitation form); the session's own grants are back when it settles.
   */
  async withGrants<T>(grants: ConsentGrants, body: () => Promise<T>): Promise<T> {
    const before = this.options.grants;
    this.options.grants = { ...(before ?? {}), ...grants };
    try {
      return await body();
    } finally {
      this.options.grants = before;
    }
  }

  private intrusive: { kind: string; startedAt: Date; deadlineMs?: number } | null = null;

  /** The intrusive session running on this node, if any (what it is, since when, until when at the latest). */
  get running(): { kind: string; startedAt: Date; deadlineMs?: number } | null {
    return this.intrusive;
  }

  /** Throws 'targetBusy', naming the running session, when an intrusive session runs (a face checks before asking the user). */
  assertIdle(): void {
    const r = this.intrusive;
    if (r === null) return;
    const ends = r.deadlineMs !== undefined ? `, ends by ${new Date(r.startedAt.getTime() + r.deadlineMs).toISOString()} at the latest` : '';
    throw new BeamLensError('targetBusy', `a ${r.kind} session is already running on ${this.node} (started ${r.startedAt.toISOString()}${ends}): one tracing session per node at a time; wait for it to end or stop it first`);
  }

  /**
   * One intrusive session (tracing, hot functions, the system monitor) per attached node at a
   * time: while one runs, the next is refused with kind 'targetBusy', naming the running one.
   */
  async exclusive<T>(kind: string, deadlineMs: number | undefined, body: () => Promise<T>): Promise<T> {
    this.assertIdle();
    this.intrusive = { kind, startedAt: new Date(), ...(deadlineMs !== undefined ? { deadlineMs } : {}) };
    try {
      return await body();
    } finally {
      this.intrusive = null;
    }
  }

  /**
   * Claims the node for one intrusive run across every BEAM Lens instance attached to it (see
   * run-claim.ts): throws 'targetBusy' naming the instance whose run holds it. The audited run
   * (runAudited) takes it after consent and releases it when the run ends, whatever the ending.
   */
  claimNode(kind: string, deadlineMs: number | undefined): Promise<RunClaim> {
    return claimNode(this.connection, this.evaluator, kind, deadlineMs, this.connection.relay !== undefined);
  }

  get hasProbe(): boolean {
    return this.probeHandle !== null;
  }

  /** Tracing needs consent and runs inside the probe (so the target cleans up if we vanish). */
  async prepareTracing(): Promise<void> {
    requireConsent('trace', this.node, this.env, this.options.grants ?? {});
    if (this.probeHandle === null) {
      if (this.options.grants?.allowProbe !== true) {
        throw new ConsentRequiredError(
          `tracing runs inside the beam_lens_probe module, which removes every trace flag and pattern if BEAM Lens disappears: add --allow-probe${this.env === 'production' ? ` --confirm-node ${this.node}` : ''}`,
          'probe',
        );
      }
      const status = await this.loadProbe();
      if (status.state !== 'loaded') {
        throw new BeamLensError('capability', `cannot trace ${this.node} without the probe: ${status.state === 'unavailable' ? status.reason : 'not loaded'}`);
      }
    }
  }

  /** Loads the probe (with consent). Falls back to zero-install mode when the target cannot take it. */
  async loadProbe(): Promise<ProbeStatus> {
    requireConsent('probe', this.node, this.env, this.options.grants ?? {});
    if (this.probeHandle !== null) return this.probeStatus;
    // Concurrent sessions (hot functions and the system monitor in one report) share one load.
    this.probeLoading ??= loadProbe(this.connection, this.evaluator, this.options.probeDir !== undefined ? { probeDir: this.options.probeDir } : {}).then((result) => {
      this.probeStatus = result.status;
      this.probeHandle = result.handle;
      return result.status;
    });
    try {
      return await this.probeLoading;
    } finally {
      this.probeLoading = null;
    }
  }

  overview(options?: OverviewOptions): Promise<Overview> {
    return getOverview(this.evaluator, options);
  }

  async processes(query: ProcessQuery): Promise<ProcessPage> {
    if (this.probeHandle !== null) return topProbeProcesses(this.connection, this.evaluator, query);
    return topProcessesViaRpc(this.connection, this.evaluator, query);
  }

  /**
   * With the probe: starts its background read of every process's memory (see warmProbeCache),
   * for a face about to show a process table of a large node. Without the probe: 'no-probe'.
   */
  async warmProcessCache(): Promise<'started' | 'already' | 'unsupported' | 'no-probe'> {
    if (this.probeHandle === null) return 'no-probe';
    return warmProbeCache(this.connection);
  }

  /** One process by pid (`<0.123.0>`) or registered name. */
  async processDetail(pid: string, options?: DetailOptions): Promise<ProcessDetail> {
    return processDetail(this.evaluator, this.node, await resolveProcess(this.connection, this.evaluator, pid), options);
  }

  tree(options?: TreeOptions): Promise<ApplicationTree[]> {
    return applicationTrees(this.connection, this.evaluator, { ...options, useProbe: this.probeHandle !== null });
  }

  /**
   * One page of one supervisor's children (sorted on the target by memory), for paging large ones;
   * `depth` levels below it (2: the children's own children too, as the first tree had them).
   */
  async supervisorPage(pid: string, offset: number, limit: number, depth = 1): Promise<TreeNode> {
    const sup = await parsePid(this.connection, pid);
    return walkSupervisor(this.connection, this.evaluator, sup, { id: null, module: null, name: null }, { pageSize: limit, pageOffset: offset, maxDepth: depth, useProbe: this.probeHandle !== null }, 0);
  }

  ports(limit: number): Promise<{ total: number; rows: PortRow[] }> {
    return topPorts(this.evaluator, this.node, limit);
  }

  ets(limit: number, sortBy: 'memory' | 'size' = 'memory'): Promise<{ total: number; rows: EtsRow[] }> {
    return topEtsTables(this.evaluator, this.node, limit, sortBy);
  }

  /**
   * Releases our hold on the probe (undoing whatever we set through it) and stays attached: it
   * unloads when we were its last user, else stays for the other BEAM Lens instances using it.
   * Null when it was not loaded.
   */
  async releaseProbe(): Promise<ProbeRelease | null> {
    const handle = this.probeHandle;
    if (handle === null) return null;
    this.probeHandle = null;
    this.probeStatus = { state: 'absent' };
    this.released = await handle.release();
    return this.released;
  }

  /**
   * Undoes everything we set on the target, then closes the connection. Safe to call twice.
   * The probe is released, not forced off: another BEAM Lens using it keeps it (see probeRelease).
   */
  async detach(): Promise<{ probe: ProbeRelease | null }> {
    if (this.detached) return { probe: this.released };
    this.detached = true;
    try {
      if (this.probeHandle !== null) this.released = await this.probeHandle.release();
      // What our zero-install work (or the fallback compile) loaded goes again: the node's set
      // of loaded modules is what it was when we attached.
      const keep = new Set([PROBE_MODULE]);
      // Members reached through this node that a view left held (never closed) are restored
      // through it first, while its connection is there. A member reached through another node
      // is restored to its set when the first scope reaching it that way began, by the last to end.
      if (this.connection.isOpen !== false) await this.relayedModules.releaseAll(keep);
      const shared = this.options.sharedModules;
      this.restored = await (shared
        ? shared.release(this.node, keep)
        : nodeModuleBaselines.release(this.node, this.connection.isOpen !== false ? this.connection : null, keep)
      ).catch(() => null);
    } finally {
      this.stopAnswering();
      this.probeHandle = null;
      this.probeStatus = { state: 'absent' };
      await this.connection.close();
    }
    return { probe: this.released };
  }
}
