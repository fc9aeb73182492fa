// One webview panel: strict CSP (default-src 'none', nonce script, styles from the extension
// only), the bundle of its view from dist/webview/, and typed messages both ways. Messages from
// the webview are untrusted: each is checked by its view's type guard (model/messages.ts) before
// it reaches the controller; anything else is dropped and logged.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import type { WebviewMessages, WebviewName } from '../protocol/webview';
import { Disposable, Emitter } from './lifecycle';
import { MESSAGE_GUARDS } from './model/messages';

export class Panel<N extends WebviewName> extends Disposable {
  readonly panel: vscode.WebviewPanel;
  private readonly disposedEmitter = new Emitter<void>();
  readonly onDidDispose = this.disposedEmitter.event;
  /** Dropped messages (failed the guard), for the log and tests. */
  rejected = 0;

  constructor(
    readonly name: N,
    title: string,
    extensionUri: vscode.Uri,
    onMessage: (message: WebviewMessages[N]['toHost']) => void | Promise<void>,
    column: vscode.ViewColumn = vscode.ViewColumn.Active,
    onReject: (message: string) => void = () => undefined,
  ) {
    super();
    const dist = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    this.panel = vscode.window.createWebviewPanel(`beamLens.${name}`, title, column, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [dist],
    });
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'beam.svg');
    this.panel.webview.html = html(this.panel.webview, dist, name, title);
    const guard = MESSAGE_GUARDS[name];
    this._register(
      this.panel.webview.onDidReceiveMessage((m: unknown) => {
        if (!guard(m)) {
          this.rejected++;
          onReject(`${name}: dropped a message that is not a valid ${name} message: ${JSON.stringify(m)?.slice(0, 200)}`);
          return;
        }
        void Promise.resolve(onMessage(m)).catch((err: unknown) => this.postError(err instanceof Error ? err.message : String(err)));
      }),
    );
    this._register(this.panel.onDidDispose(() => this.dispose()));
  }

  get visible(): boolean {
    return !this.isDisposed && this.panel.visible;
  }

  post(message: WebviewMessages[N]['toView']): void {
    if (!this.isDisposed) void this.panel.webview.postMessage(message);
  }

  /** Every view's union has `{type: 'error', message}`; shown in its status line. */
  postError(message: string): void {
    if (!this.isDisposed) void this.panel.webview.postMessage({ type: 'error', message });
  }

  reveal(): void {
    this.panel.reveal();
  }

  override dispose(): void {
    if (this.isDisposed) return;
    try {
      super.dispose();
    } finally {
      this.panel.dispose();
      this.disposedEmitter.fire();
      this.disposedEmitter.dispose();
    }
  }
}

function escapeAttr(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page: our own bundle and stylesheet only; no node data is ever put into this HTML. */
export function html(webview: vscode.Webview, dist: vscode.Uri, name: string, title: string): string {
  const nonce = randomBytes(18).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, `${name}.js`));
  const cssFile = vscode.Uri.joinPath(dist, `${name}.css`);
  const css = existsSync(cssFile.fsPath) ? `<link rel="stylesheet" href="${escapeAttr(webview.asWebviewUri(cssFile).toString())}">` : '';
  const csp = [`default-src 'none'`, `img-src ${webview.cspSource} data:`, `style-src ${webview.cspSource}`, `font-src ${webview.cspSource}`, `script-src 'nonce-${nonce}'`].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${css}
<title>${escapeAttr(title)}</title>
</head>
<body>
<div id="root"></div>
<script nonce="${nonce}" src="${escapeAttr(script.toString())}"></script>
</body>
</html>`;
}
