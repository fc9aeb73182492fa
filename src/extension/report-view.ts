// The report webview's controller: runs the diagnosis (with consent when it traces), shows the
// report document in the view, focuses a finding, and saves the report as Markdown where the user says.
// With `cluster`, the same view shows core's cluster report of an entry node (one section per member
// and the cluster findings), run through the entry's cluster (nodes.clusterOf), saved the same way.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { withLinkedSignal } from '../core/runs/cancel';
import type { Diagnosis } from '../core/findings/diagnose';
import { TREND_THRESHOLDS } from '../core/findings/trends';
import { reportDocumentOf, runReport, type ReportExtras } from '../core/report/gather';
import type { ReportDocument } from '../core/report/document';
import { renderReportMarkdown } from '../core/report/markdown';
import { reportChartFiles } from '../core/report/chart-files';
import { assertNever, type ReportToHost } from '../protocol/webview';
import { askConsent } from './consent';
import type { AttachedNode } from './nodes';
import { Panel } from './panel';
import { errorText, type ViewContext } from './views';

export class ReportView {
  readonly panel: Panel<'report'>;
  private document: ReportDocument | undefined;
  private focusFinding: string | undefined;
  /** Telemetry (and trends) gathered with the diagnosis this view ran; a diagnosis from elsewhere has none. */
  private extras: { of: Diagnosis; extras: ReportExtras } | null = null;
  /** Set when the node went away: the report stays (it is evidence) and can still be saved. */
  private goneAt: Date | null = null;

  constructor(
    private readonly ctx: ViewContext,
    private readonly n: AttachedNode,
    private readonly options: { durationMs: number; trace: boolean; trends?: boolean; cluster?: boolean },
    focusFinding?: string,
  ) {
    this.focusFinding = focusFinding;
    this.panel = new Panel('report', `${this.kindTitle} · ${n.node}`, ctx.extensionUri, (m) => this.onMessage(m), vscode.ViewColumn.Active, (text) => ctx.log.warn(text));
  }

  private get kindTitle(): string {
    return this.options.cluster === true ? 'Cluster Report' : 'Report';
  }

  get nodeGone(): boolean {
    return this.goneAt !== null;
  }

  /** The node was detached or lost: keep the report, say so, keep Save working. */
  markNodeGone(): void {
    if (this.goneAt) return;
    this.goneAt = new Date();
    this.panel.panel.title = `${this.kindTitle} · ${this.n.node} (not attached)`;
    this.panel.postError(this.goneMessage());
  }

  private goneMessage(): string {
    return `${this.n.node} is no longer attached (since ${this.goneAt?.toLocaleTimeString() ?? '?'}): this report stays as it was and can still be saved; attach again to regenerate it.`;
  }

  showFinding(findingId: string): void {
    this.focusFinding = findingId;
    this.panel.reveal();
    this.post();
  }

  private async onMessage(m: ReportToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        if (this.options.cluster === true) {
          if (this.document) this.post();
          else await this.generate();
        } else if (this.n.diagnosis) this.render();
        else await this.generate();
        if (this.goneAt) this.panel.postError(this.goneMessage());
        return;
      case 'regenerate':
        await this.generate();
        return;
      case 'save':
        await this.save();
        return;
      case 'openFinding':
        this.focusFinding = m.findingId;
        this.post();
        return;
      default:
        assertNever(m);
    }
  }

  async generate(): Promise<void> {
    const n = this.n;
    if (this.goneAt) return this.panel.postError(this.goneMessage());
    if (this.options.cluster === true) return this.generateCluster();
    if (this.options.trace && !(await askConsent(n, ['probe', 'trace'], `count calls per function and telemetry events for ${this.options.durationMs / 1000} s while sampling`, this.ctx.log))) {
      this.options.trace = false;
    }
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `BEAM Lens: diagnosing ${n.node}`, cancellable: true },
      async (progress, token) => {
        await n.runTask('report', (taskSignal) => withLinkedSignal([taskSignal, token], async (signal) => {
          try {
            this.panel.post({ type: 'progress', message: `Sampling ${n.node} for ${this.options.durationMs / 1000} s…` });
            if (this.options.trace) this.ctx.log.audit({ node: n.node, env: n.env, action: 'report with hot functions', limits: { durationMs: this.options.durationMs }, outcome: 'requested' });
            let last = 0;
            const r = await runReport(n.session, {
              durationMs: this.options.durationMs,
              trace: this.options.trace,
              // Trends need a window of at least 10 s: a shorter report leaves them out rather than failing.
              trends: this.options.trends === true && this.options.durationMs >= TREND_THRESHOLDS.window.minDurationMs,
              signal,
              onProgress: (done, total, what) => {
                const pct = Math.round((done / Math.max(1, total)) * 100);
                progress.report({ message: `${what} ${pct}%`, increment: pct - last });
                last = pct;
              },
            });
            const d = r.diagnosis;
            if (this.options.trace) this.ctx.log.audit({ node: n.node, env: n.env, action: 'report with hot functions', limits: { durationMs: this.options.durationMs }, outcome: d.tracingNote ? 'error' : 'completed', ...(d.tracingNote ? { detail: d.tracingNote } : {}) });
            this.extras = { of: d, extras: r.extras };
            this.ctx.nodes.setDiagnosis(n, d);
            this.render();
          } catch (err) {
            this.panel.post({ type: 'error', message: signal.aborted ? 'Report cancelled.' : `report failed: ${errorText(err)}` });
          }
        }));
      },
    );
  }

  /**
   * Core's cluster report through the entry's distribution: read-only sampling of every member
   * (counting calls needs a direct connection to each: `beam-lens report --cluster --trace`).
   */
  private async generateCluster(): Promise<void> {
    const n = this.n;
    const cluster = this.ctx.nodes.clusterOf(n);
    const seconds = this.options.durationMs / 1000;
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `BEAM Lens: diagnosing ${n.node}'s cluster`, cancellable: true },
      async (_progress, token) => {
        await n.runTask('cluster report', (taskSignal) => withLinkedSignal([taskSignal, token], async (signal) => {
          try {
            this.panel.post({ type: 'progress', message: `Sampling every member of ${n.node}'s cluster for ${seconds} s…` });
            const r = await cluster.report({ durationMs: this.options.durationMs, trace: false, audit: null, stop: signal, save: null });
            this.document = r.value.report;
            this.post();
          } catch (err) {
            this.panel.post({ type: 'error', message: signal.aborted ? 'Cluster report cancelled.' : `cluster report failed: ${errorText(err)}` });
          }
        }));
      },
    );
  }

  private render(): void {
    if (this.options.cluster === true) return this.post();
    const d = this.n.diagnosis;
    if (!d) return;
    this.document = reportDocumentOf(this.n.session, d, this.extras?.of === d ? this.extras.extras : {}).document;
    this.post();
  }

  private post(): void {
    if (!this.document) return;
    this.panel.post({ type: 'report', document: this.document, ...(this.focusFinding ? { focusFinding: this.focusFinding } : {}) });
  }

  private async save(): Promise<void> {
    if (!this.document) return this.panel.postError('There is no report to save yet.');
    // The document shown when Save was pressed (a regeneration during the dialog does not change what is saved).
    const doc = this.document;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri = await vscode.window.showSaveDialog({
      filters: { Markdown: ['md'] },
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, `beam-lens-${this.options.cluster === true ? 'cluster-report' : 'report'}-${this.n.node.replace(/[^\w.-]/g, '_')}.md`) } : {}),
    });
    if (!uri) return;
    // The charts go next to the Markdown (X.charts/*.svg), as `beam-lens report --out` writes them.
    const charts = reportChartFiles(doc, uri.fsPath);
    for (const c of charts) {
      await mkdir(path.dirname(c.file), { recursive: true });
      await writeFile(c.file, c.svg);
    }
    await writeFile(uri.fsPath, renderReportMarkdown(doc, { chartImages: new Map(charts.map((c) => [c.chart, c.relative])) }));
    void vscode.window.showInformationMessage(`Report saved to ${uri.fsPath}`);
  }
}
