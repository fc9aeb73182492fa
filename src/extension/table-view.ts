// The process table's controller. On a large node it says what a query costs and offers the
// probe (with consent) when a query would be slow without it; a new sort or filter runs with a
// progress toast that can cancel it; the live refresh backs off to 5x the last query's cost so
// an open table never keeps a million-process node busy.
import * as vscode from 'vscode';
import { SLOW_FILTER_PROCESSES, WARM_CACHE_PROCESSES, filteredProcesses } from '../core/inspect/process-filter';
import { slowQuery } from './model/table';
import { assertNever, type TablePage, type TableQuery, type TableToHost } from '../protocol/webview';
import { askConsent } from './consent';
import { sanitizeQuery } from './model/messages';
import type { AttachedNode } from './nodes';
import { View, errorText, type ViewContext, type ViewSpec } from './views';

export class TableView extends View<'process-table'> {
  private query: TableQuery = { sort: 'mailbox', offset: 0, limit: 200, filter: '' };
  private lastCostMs = 0;
  private shown: { sort: string; filter: string } | null = null;
  /** Whether this table asked the probe to warm its cache, and what the pages say about it. */
  private warmAsked = false;
  private note: string | undefined;

  constructor(ctx: ViewContext, n: AttachedNode, initial?: Partial<TableQuery>) {
    super(ctx, n, 'process-table', `Processes · ${n.node}`);
    this.query = { ...this.query, ...initial };
    this.liveRefresh(() => this.run(this.query, false));
  }

  spec(): ViewSpec {
    return { kind: 'table', sort: this.query.sort, ...(this.query.filter ? { filter: this.query.filter } : {}) };
  }

  protected override refreshDelay(): number {
    return Math.max(this.ctx.refreshMs(), 5 * this.lastCostMs);
  }

  protected async onMessage(m: TableToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        await this.run(this.query, true);
        return;
      case 'query':
        await this.run(sanitizeQuery(m.query), true);
        return;
      case 'openProcess':
        this.ctx.openDetail(this.n, m.pid);
        return;
      case 'profile':
        await vscode.commands.executeCommand('beamLens.profileProcess', { node: this.n.node, pid: m.pid });
        return;
      default:
        assertNever(m);
    }
  }

  /** A new first query (the table was asked for again with another sort or filter). */
  requery(initial: { filter?: string; sort?: TableQuery['sort'] }): void {
    this.query = { ...this.query, offset: 0, ...(initial.sort ? { sort: initial.sort } : {}), ...(initial.filter !== undefined ? { filter: initial.filter } : {}) };
    void this.run(this.query, true);
  }

  private processCount(): number {
    return this.n.overview?.limits.processes.count ?? 0;
  }

  /** Offers the probe once per node when the query would be slow without it. */
  private async offerProbe(q: TableQuery): Promise<void> {
    const why = slowQuery(q, this.processCount(), this.n.session.hasProbe);
    // A cluster member reached through its entry cannot take the probe (its guardian watches our node).
    if (why === null || this.n.probeOffered || this.n.through !== undefined) return;
    this.n.probeOffered = true;
    if (await askConsent(this.n, ['probe'], `The process table of ${this.n.node}: ${why}.`, this.ctx.log)) {
      const status = await this.n.session.loadProbe();
      if (status.state !== 'loaded') this.panel.postError(`the probe could not be loaded (${status.state === 'unavailable' ? status.reason : status.state}); queries stay slow`);
    }
  }

  private async fetch(q: TableQuery, signal?: AbortSignal) {
    const filter = q.filter.trim();
    const work =
      filter !== ''
        ? filteredProcesses(this.n.session, { sort: q.sort, offset: q.offset, limit: q.limit }, filter)
        : this.n.session.processes({ sort: q.sort, offset: q.offset, limit: q.limit, windowMs: 500 }).then((p) => ({ ...p, matched: p.total }));
    if (!signal) return work;
    return Promise.race([work, new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('cancelled')), { once: true }))]);
  }

  /**
   * On a large node with the probe, the first page (by mailbox) is quick, but the first memory
   * sort or filter would read every process while the user waits: the probe starts that read in
   * the background now (once per table, low priority), and the page says so.
   */
  private async warmCache(q: TableQuery): Promise<boolean> {
    const count = this.processCount();
    if (this.warmAsked || count <= WARM_CACHE_PROCESSES || !this.n.session.hasProbe || q.sort === 'memory' || q.filter.trim() !== '') return false;
    this.warmAsked = true;
    const r = await this.n.session.warmProcessCache().catch((err: unknown) => {
      this.ctx.log.warn(`warming the probe's process cache on ${this.n.node} failed: ${errorText(err)}`);
      return 'failed' as const;
    });
    if (r !== 'started') return false;
    this.note = `reading the memory of ${count.toLocaleString('en-US')} processes in the background (one low-priority pass on the node) so that sorting by memory and filtering are quick`;
    return true;
  }

  private async run(q: TableQuery, asked: boolean): Promise<void> {
    this.query = q;
    const isNew = asked && (this.shown === null || this.shown.sort !== q.sort || this.shown.filter !== q.filter.trim());
    try {
      if (isNew) await this.offerProbe(q);
      const started = Date.now();
      const large = this.processCount() > SLOW_FILTER_PROCESSES;
      const what = q.filter.trim() !== '' ? `filtering ${this.processCount().toLocaleString('en-US')} processes for "${q.filter.trim()}"` : `sorting ${this.processCount().toLocaleString('en-US')} processes by ${q.sort}`;
      const page =
        isNew && large
          ? await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BEAM Lens: ${what} on ${this.n.node}…`, cancellable: true }, (_p, token) => {
              const c = new AbortController();
              const sub = token.onCancellationRequested(() => c.abort());
              return this.fetch(q, c.signal).finally(() => sub.dispose());
            })
          : await this.fetch(q);
      this.lastCostMs = Date.now() - started;
      if (this.query !== q) return; // a newer query was asked meanwhile
      this.shown = { sort: q.sort, filter: q.filter.trim() };
      if (isNew) this.note = undefined;
      const shown: TablePage = { query: q, total: page.total, matched: page.matched, rows: page.rows, via: page.via, refreshedAt: Date.now() };
      this.panel.post({ type: 'page', node: this.n.node, page: this.note !== undefined ? { ...shown, note: this.note } : shown });
      // Not awaited before the page: the probe's cache process answers between passes, and one
      // may be running for another table. Once it says it started, the page says so.
      void this.warmCache(q).then((started) => {
        if (started && this.note !== undefined && this.query === q) this.panel.post({ type: 'page', node: this.n.node, page: { ...shown, note: this.note } });
      });
    } catch (err) {
      const cancelled = err instanceof Error && err.message === 'cancelled';
      this.panel.postError(cancelled ? 'Query cancelled (the node finishes the pass it started; the table keeps the last rows).' : `could not read processes of ${this.n.node}: ${errorText(err)}`);
    }
  }
}
