// "BEAM: Telemetry Handlers & Events…": the node's telemetry handlers and events (read-only) in
// the report webview (the same typed messages, text-only rendering), then, if the user picks events
// and consents, a watch through core's audited run: counts and p50/p95/p99/max shown in the view.
// Save as Markdown writes the same document as the CLI would render it. The view is owned by the
// node's scope (closed when the node goes); the watch is a task of the scope (detach stops it).
import { writeFile } from 'node:fs/promises';
import * as vscode from 'vscode';
import type { ReportDocument } from '../core/report/document';
import { renderReportMarkdown } from '../core/report/markdown';
import { telemetryDocument, type ReportTelemetry } from '../core/report/telemetry-section';
import { listTelemetry, watchTelemetry, type TelemetryWatchResult } from '../core/runs/telemetry';
import { assertNever, type ReportToHost } from '../protocol/webview';
import { askConsent } from './consent';
import { checkPicked, eventPicks, watchPurpose, watchSecondsError } from './model/telemetry';
import type { AttachedNode } from './nodes';
import { Panel } from './panel';
import { runSession, withCancellableProgress, type SessionDeps } from './sessions';
import { errorText, type ViewContext } from './views';

export class TelemetryView {
  readonly panel: Panel<'report'>;
  private document: ReportDocument | undefined;

  constructor(
    private readonly ctx: ViewContext,
    private readonly deps: SessionDeps,
    private readonly n: AttachedNode,
  ) {
    this.panel = n.own(new Panel('report', `Telemetry · ${n.node}`, ctx.extensionUri, (m) => this.onMessage(m), vscode.ViewColumn.Active, (text) => ctx.log.warn(text)));
  }

  private async onMessage(m: ReportToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        if (this.document) this.panel.post({ type: 'report', document: this.document });
        return;
      case 'regenerate':
        await this.show();
        return;
      case 'save':
        await this.save();
        return;
      case 'openFinding':
        return;
      default:
        assertNever(m);
    }
  }

  private post(telemetry: ReportTelemetry): void {
    this.document = telemetryDocument({ node: this.n.node, env: this.n.env, telemetry });
    this.panel.post({ type: 'report', document: this.document });
  }

  /** Lists the handlers (read-only) and shows them; then offers a watch of the events the user picks. */
  async show(): Promise<void> {
    this.panel.post({ type: 'progress', message: `Listing telemetry handlers on ${this.n.node}…` });
    let listing;
    try {
      listing = await withCancellableProgress(this.n, `BEAM Lens: listing telemetry handlers on ${this.n.node}`, 'telemetry listing', () => listTelemetry(this.n.session));
    } catch (err) {
      this.panel.postError(`could not list telemetry handlers: ${errorText(err)}`);
      return;
    }
    this.post({ listing });
    if (!listing.running) {
      void vscode.window.showInformationMessage(`BEAM Lens: the telemetry application is not running on ${this.n.node}: nothing to list or watch.`);
      return;
    }
    const picks = eventPicks(listing);
    if (picks.length === 0) return;
    const chosen = await vscode.window.showQuickPick(picks, {
      title: `Watch telemetry events on ${this.n.node}? (counts and p50/p95/p99 over a window; asks consent)`,
      placeHolder: 'pick the events to count, or press Escape to only list them',
      canPickMany: true,
      ignoreFocusOut: true,
    });
    if (!chosen || chosen.length === 0) return;
    const events = chosen.map((c) => c.event);
    const wrong = checkPicked(events);
    if (wrong) return void vscode.window.showErrorMessage(`BEAM Lens: ${wrong}.`);
    const typed = await vscode.window.showInputBox({ title: 'Watch for how many seconds?', value: '10', validateInput: watchSecondsError, ignoreFocusOut: true });
    if (typed === undefined || watchSecondsError(typed) !== null) return;
    const seconds = Number(typed.trim());
    if (!(await askConsent(this.n, ['probe', 'trace'], watchPurpose(events, seconds), this.ctx.log))) return;
    this.panel.post({ type: 'progress', message: `Counting ${events.length} telemetry events on ${this.n.node} for ${seconds} s…` });
    try {
      const { value } = await runSession<TelemetryWatchResult>(this.deps, this.n, 'telemetry', ['probe', 'trace'], { durationMs: seconds * 1000, events }, `telemetry on ${this.n.node} · ${seconds} s`, async (signal) => {
        const r = await watchTelemetry(this.n.session, { events, prefixes: events, durationMs: seconds * 1000, signal });
        return { value: r, endReason: r.endReason, durationMs: r.durationMs };
      });
      this.post({ listing, watch: value });
      this.panel.reveal();
    } catch (err) {
      this.panel.postError(`telemetry watch failed: ${errorText(err)}`);
    }
  }

  private async save(): Promise<void> {
    if (!this.document) return this.panel.postError('There is nothing to save yet.');
    const doc = this.document;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const uri = await vscode.window.showSaveDialog({
      filters: { Markdown: ['md'] },
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, `beam-lens-telemetry-${this.n.node.replace(/[^\w.-]/g, '_')}.md`) } : {}),
    });
    if (!uri) return;
    await writeFile(uri.fsPath, renderReportMarkdown(doc));
    void vscode.window.showInformationMessage(`Telemetry saved to ${uri.fsPath}`);
  }
}
