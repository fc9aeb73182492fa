// The report webview's controller: runs the diagnosis (with consent when it traces), shows the
// report document in the view, focuses a finding, and saves the report as Markdown where the user says.
import { writeFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import { withLinkedSignal } from '../core/runs/cancel';
import { diagnose } from '../core/findings/diagnose';
import { buildReport } from '../core/report/build';
import type { ReportDocument } from '../core/report/document';
import { renderReportMarkdown } from '../core/report/markdown';
import { assertNever, type ReportToHost } from '../protocol/webview';
import { askConsent } from './consent';
import type { AttachedNode } from './nodes';
import { Panel } from './panel';
import { errorText, type ViewContext } from './views';

export class ReportView {
  readonly panel: Panel<'report'>;
  private document: ReportDocument | undefined;
  private focusFinding: string | undefined;
  /** Set when the node went away: the report stays (it is evidence) and can still be saved. */
  private goneAt: Date | null = null;

  constructor(
    private readonly ctx: ViewContext,
    private readonly n: AttachedNode,
    private readonly options: { durationMs: number; trace: boolean },
    focusFinding?: string,
  ) {
    this.focusFinding = focusFinding;
    this.panel = new Panel('report', `Report · ${n.node}`, ctx.extensionUri, (m) => this.onMessage(m), vscode.ViewColumn.Active, (text) => ctx.log.warn(text));
  }

  get nodeGone(): boolean {
    return this.goneAt !== null;
  }

  /** The node was detached or lost: keep the report, say so, keep Save working. */
  markNodeGone(): void {
    if (this.goneAt) return;
    this.goneAt = new Date();
    this.panel.panel.title = `Report · ${this.n.node} (not attached)`;
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
        if (this.n.diagnosis) this.render();
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
    if (this.options.trace && !(await askConsent(n, ['probe', 'trace'], `count calls per function for ${this.options.durationMs / 1000} s while sampling`, this.ctx.log))) {
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
            const d = await diagnose(n.session, {
              durationMs: this.options.durationMs,
              trace: this.options.trace,
              signal,
              onProgress: (done, total, what) => {
                const pct = Math.round((done / Math.max(1, total)) * 100);
                progress.report({ message: `${what} ${pct}%`, increment: pct - last });
                last = pct;
              },
            });
            if (this.options.trace) this.ctx.log.audit({ node: n.node, env: n.env, action: 'report with hot functions', limits: { durationMs: this.options.durationMs }, outcome: d.tracingNote ? 'error' : 'completed', ...(d.tracingNote ? { detail: d.tracingNote } : {}) });
            this.ctx.nodes.setDiagnosis(n, d);
            this.render();
          } catch (err) {
            this.panel.post({ type: 'error', message: signal.aborted ? 'Report cancelled.' : `report failed: ${errorText(err)}` });
          }
        }));
      },
    );
  }

  private render(): void {
    const d = this.n.diagnosis;
    if (!d) return;
    this.document = buildReport({ samples: d.samples, findings: d.findings, env: this.n.env, probe: this.n.session.hasProbe, ...(d.tracingNote ? { tracingNote: d.tracingNote } : {}) });
    this.post();
  }

  private post(): void {
    if (!this.document) return;
    this.panel.post({ type: 'report', document: this.document, ...(this.focusFinding ? { focusFinding: this.focusFinding } : {}) });
  }

  private async save(): Promise<void> {
    if (!this.document) return this.panel.postError('There is no report to save yet.');
    const markdown = renderReportMarkdown(this.document);
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri = await vscode.window.showSaveDialog({
      filters: { Markdown: ['md'] },
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, `beam-lens-report-${this.n.node.replace(/[^\w.-]/g, '_')}.md`) } : {}),
    });
    if (!uri) return;
    await writeFile(uri.fsPath, markdown);
    void vscode.window.showInformationMessage(`Report saved to ${uri.fsPath}`);
  }
}
