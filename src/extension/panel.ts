// One webview panel: strict CSP (default-src 'none', nonce script, styles from the extension
// only), the bundle of its view from dist/webview/, and typed messages both ways. Messages from
// the webview are untrusted: checked for shape before they reach the controller.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { isMessageFromView, type WebviewMessages, type WebviewName } from '../protocol/webview';

export class Panel<N extends WebviewName> implements vscode.Disposable {
  readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposedEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposedEmitter.event;
  private disposed = false;

  constructor(
    readonly name: N,
    title: string,
    extensionUri: vscode.Uri,
    onMessage: (message: WebviewMessages[N]['toHost']) => void | Promise<void>,
    column: vscode.ViewColumn = vscode.ViewColumn.Active,
  ) {
    const dist = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    this.panel = vscode.window.createWebviewPanel(`beamLens.${name}`, title, column, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [dist],
    });
    this.panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'beam.svg');
    this.panel.webview.html = html(this.panel.webview, dist, name, title);
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((m: unknown) => {
        if (!isMessageFromView(m)) return;
        void Promise.resolve(onMessage(m as WebviewMessages[N]['toHost'])).catch((err: unknown) =>
          this.post({ type: 'error', message: err instanceof Error ? err.message : String(err) } as WebviewMessages[N]['toView']),
        );
      }),
      this.panel.onDidDispose(() => this.dispose()),
    );
  }

  get visible(): boolean {
    return !this.disposed && this.panel.visible;
  }

  post(message: WebviewMessages[N]['toView']): void {
    if (!this.disposed) void this.panel.webview.postMessage(message);
  }

  reveal(): void {
    this.panel.reveal();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
    this.disposedEmitter.fire();
    this.disposedEmitter.dispose();
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
