// The cluster of one attached entry node, as the editor shows it (sidebar section, cluster
// webview): core's ClusterView reached through the entry's own distribution (one connection, nothing
// opened to the members, nothing loaded), its last overview, and the merged top processes. Owned
// by the entry's scope: close() (awaited before the entry's connection goes) undoes what our
// evaluations loaded on every member. No 'vscode' import: unit-tested with fakes.
import { Atom, type Term } from '../etf';
import { ClusterView, clusterOverview, clusterTopProcesses, type ClusterOverview, type ClusterProcessPage } from '../core/cluster/cluster';
import type { ProcessSort } from '../core/inspect/processes';
import type { Attachment } from '../core/attach/attachment';
import { asList } from '../core/target/terms';
import { runClusterReport, type ClusterReportRequest, type ClusterReportSession } from '../core/cluster/report';
import type { RunResult } from '../core/runs/run';

/** Rows of the cluster-wide process list. */
export const CLUSTER_PROCESS_LIMIT = 50;

/** The members' names as the entry node lists them (its nodes()), sorted. */
export async function memberNames(entry: Attachment): Promise<string[]> {
  const t: Term = await entry.connection.rpc('erlang', 'nodes', [], { timeoutMs: 5000 });
  return asList(t)
    .map((n) => (n instanceof Atom ? n.name : String(n)))
    .sort();
}

export class NodeCluster {
  overview: ClusterOverview | null = null;
  overviewAt = 0;
  lastError: string | null = null;
  /** How long the last overview took (a refresh backs off to a multiple of it). */
  lastCostMs = 0;
  private view: ClusterView | null = null;
  private overviewInFlight: Promise<ClusterOverview> | null = null;
  private readonly pending = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly entry: Attachment,
    private readonly timeoutMs = 5000,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** One current() at a time, so two callers never open two views. */
  private opening: Promise<unknown> = Promise.resolve();

  /** The view of the current members: opened again (and the old one closed) when the membership changed. */
  private current(): Promise<ClusterView> {
    const next = this.opening.then(() => this.currentNow());
    this.opening = next.catch(() => undefined);
    return next;
  }

  private async currentNow(): Promise<ClusterView> {
    const names = await memberNames(this.entry);
    const view = this.view;
    if (view && view.nodes.slice(1).join('\n') === names.join('\n')) return view;
    const next = await ClusterView.open(this.entry, { via: 'entry', timeoutMs: this.timeoutMs });
    if (this.closed) {
      await next.close();
      throw new Error(`the cluster view of ${this.entry.node} is closed`);
    }
    this.view = next;
    if (view) await view.close();
    return next;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    void p.catch(() => undefined).finally(() => this.pending.delete(p));
    return p;
  }

  /** Every member's health, who sees whom and the cluster findings (one at a time: a second caller shares it). */
  refreshOverview(): Promise<ClusterOverview> {
    if (this.closed) return Promise.reject(new Error(`the cluster view of ${this.entry.node} is closed`));
    this.overviewInFlight ??= this.track(
      (async () => {
        const started = Date.now();
        try {
          const o = await clusterOverview(await this.current());
          this.overview = o;
          this.overviewAt = Date.now();
          this.lastError = null;
          return o;
        } catch (err) {
          this.lastError = err instanceof Error ? err.message : String(err);
          throw err;
        } finally {
          this.lastCostMs = Date.now() - started;
          this.overviewInFlight = null;
        }
      })(),
    );
    return this.overviewInFlight;
  }

  /** The cluster-wide top processes by `sort`: each member ranks its own and sends its top rows only. */
  topProcesses(sort: ProcessSort, limit = CLUSTER_PROCESS_LIMIT): Promise<ClusterProcessPage> {
    if (this.closed) return Promise.reject(new Error(`the cluster view of ${this.entry.node} is closed`));
    return this.track((async () => clusterTopProcesses(await this.current(), sort, limit))());
  }

  /**
   * The cluster report (core's, the one `beam-lens report --cluster` runs): every member sampled
   * read-only over the same window through the entry, one section per member and the cluster findings.
   */
  report(req: ClusterReportRequest): Promise<RunResult<ClusterReportSession>> {
    if (this.closed) return Promise.reject(new Error(`the cluster view of ${this.entry.node} is closed`));
    return this.track((async () => runClusterReport(await this.current(), req))());
  }

  /** Waits for the questions in flight, then undoes what our evaluations loaded on the members. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.pending]);
    const view = this.view;
    this.view = null;
    if (view) await view.close();
  }
}
