// VS Code entry point. The full client (attach, sidebar, webviews, language client) is built on
// this activation; for now it offers the EPMD node list from the shared core.
import * as vscode from 'vscode';
import { listNodes } from '../dist';

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('beamLens.listLocalNodes', async () => {
      try {
        const nodes = await listNodes('localhost', { timeoutMs: 3000 });
        if (nodes.length === 0) {
          void vscode.window.showInformationMessage('No Erlang nodes are registered in EPMD on this machine.');
          return;
        }
        await vscode.window.showQuickPick(
          nodes.map((n) => ({ label: n.name, description: `port ${n.port}` })),
          { title: 'Nodes registered in EPMD on this machine' },
        );
      } catch (err) {
        void vscode.window.showErrorMessage(err instanceof Error ? err.message : String(err));
      }
    }),
  );
}

export function deactivate(): void {}
