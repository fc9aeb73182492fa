// Status bar: the attached node(s) with their environment tag (production in the warning color),
// and a running-session indicator that stops the session when clicked.
import * as vscode from 'vscode';
import type { NodeManager } from './nodes';

export class StatusBar implements vscode.Disposable {
  private readonly node = vscode.window.createStatusBarItem('beamLens.node', vscode.StatusBarAlignment.Left, 50);
  private readonly task = vscode.window.createStatusBarItem('beamLens.task', vscode.StatusBarAlignment.Left, 49);
  private readonly disposables: vscode.Disposable[];

  constructor(private readonly nodes: NodeManager) {
    this.node.name = 'BEAM Lens: attached node';
    this.task.name = 'BEAM Lens: running session';
    this.task.command = 'beamLens.stopSession';
    this.disposables = [nodes.onDidChange(() => this.update()), nodes.onDidChangeTasks(() => this.update())];
    this.update();
  }

  private update(): void {
    const list = this.nodes.list();
    if (list.length === 0) {
      this.node.text = '$(plug) BEAM: not attached';
      this.node.tooltip = 'Attach to an Erlang/Elixir node';
      this.node.command = 'beamLens.attach';
      this.node.backgroundColor = undefined;
    } else {
      const production = list.some((n) => n.env === 'production');
      // Cluster members opened through an entry node are not attachments of their own: counted, not listed.
      const own = list.filter((n) => n.through === undefined);
      const members = list.length - own.length;
      this.node.text = `$(pulse) ${own.map((n) => `${n.node} · ${n.env}`).join(', ')}${members > 0 ? ` (+${members} cluster ${members === 1 ? 'member' : 'members'})` : ''}`;
      this.node.tooltip = production ? 'Attached to a PRODUCTION node: intrusive actions ask you to type its name' : 'Attached: click for the dashboard';
      this.node.command = 'beamLens.showDashboard';
      this.node.backgroundColor = production ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    }
    this.node.show();
    const tasks = this.nodes.runningTasks();
    if (tasks.length === 0) this.task.hide();
    else {
      this.task.text = `$(loading~spin) ${tasks.map((t) => t.label).join(', ')} $(debug-stop)`;
      this.task.tooltip = 'Click to stop the running session (everything it set is removed)';
      this.task.show();
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
    this.node.dispose();
    this.task.dispose();
  }
}
