// Sampling profiles in the editor: the "Profile Process…" command (palette, sidebar, process
// detail, a hot-functions finding), the flame-graph panel per node, its lenses in the source
// (sent to the language server while the panel is open) and "save as speedscope". The run
// itself is core's (runProfile), audited and saved through the commands' runAudited.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { toSpeedscope } from '../core/profile/export';
import { profileFacts, profileSubject, toFlameProfile } from '../core/profile/flame';
import { definingFunction, functionName } from '../core/profile/names';
import { processLabel, type ProfileSession } from '../core/profile/profile';
import { runProfile } from '../core/profile/run';
import { busiestProcesses, resolveTargets, type ProfileTarget } from '../core/profile/targets';
import { LspMethods, type FindSourceParams, type ProfileFacts, type SourceLocationResult } from '../protocol/lsp';
import { assertNever, type FlameToHost } from '../protocol/webview';
import { formatModule } from '../etf';
import { pickNode, registerCommand, runAudited, type CommandDeps } from './commands';
import { askConsent } from './consent';
import type { AttachedNode } from './nodes';
import { Panel } from './panel';

/** What the profiler needs from the language client (absent when the server is off). */
export interface ProfileLsp {
  findSource(params: FindSourceParams): Promise<SourceLocationResult | null>;
  setProfile(facts: ProfileFacts): void;
  clearProfile(node: string): void;
}

interface Request {
  pid?: string;
  top?: number;
  search?: string;
}

function requestOf(arg: unknown): Request {
  if (typeof arg !== 'object' || arg === null) return {};
  const a = arg as { pid?: unknown; top?: unknown; search?: unknown };
  return {
    ...(typeof a.pid === 'string' ? { pid: a.pid } : {}),
    ...(typeof a.top === 'number' && Number.isInteger(a.top) && a.top >= 1 && a.top <= 20 ? { top: a.top } : {}),
    ...(typeof a.search === 'string' ? { search: a.search } : {}),
  };
}

class FlameView {
  readonly panel: Panel<'flame-graph'>;
  private ready = false;

  constructor(
    private readonly deps: CommandDeps,
    private readonly lsp: () => ProfileLsp | null,
    readonly node: string,
    private result: { session: ProfileSession; file: string | null; endReason: string; search?: string },
    private readonly again: () => Promise<void>,
  ) {
    this.panel = new Panel('flame-graph', `Profile: ${profileSubject(result.session.profile)}`, deps.context.extensionUri, (m) => this.onMessage(m));
    this.panel.onDidDispose(() => this.lsp()?.clearProfile(node));
    this.sendLenses();
  }

  show(result: FlameView['result']): void {
    this.result = result;
    this.panel.panel.title = `Profile: ${profileSubject(result.session.profile)}`;
    this.panel.reveal();
    this.post();
    this.sendLenses();
  }

  search(query: string | undefined): void {
    this.panel.reveal();
    if (query !== undefined) this.result = { ...this.result, search: query };
    this.post();
  }

  private sendLenses(): void {
    this.lsp()?.setProfile(profileFacts(this.result.session.profile, this.node, Date.now(), this.result.file ?? undefined));
  }

  private post(): void {
    if (!this.ready) return;
    const r = this.result;
    this.panel.post({
      type: 'profile',
      profile: toFlameProfile(r.session.profile, { node: this.node, title: profileSubject(r.session.profile), endReason: r.endReason, ...(r.file ? { sessionFile: r.file } : {}) }),
      ...(r.search !== undefined ? { search: r.search } : {}),
    });
  }

  private async onMessage(m: FlameToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.post();
        return;
      case 'openSource':
        await this.openSource(m.frame);
        return;
      case 'saveSpeedscope':
        await this.saveSpeedscope();
        return;
      case 'profileAgain':
        await this.again();
        return;
      default:
        assertNever(m);
    }
  }

  private async openSource(index: number): Promise<void> {
    const frame = Number.isInteger(index) ? this.result.session.profile.frames[index] : undefined;
    if (!frame) return;
    const def = definingFunction(frame);
    const where = (await this.lsp()?.findSource({ module: formatModule(frame.module), function: def.function, arity: def.arity }).catch(() => null)) ?? null;
    let uri: vscode.Uri | null = where ? vscode.Uri.parse(where.uri) : null;
    let line = where?.line ?? 0;
    // The sampled line when the file is the one the node compiled (lib/… relative to the project).
    if (frame.file && frame.line > 0) {
      if (uri && uri.fsPath.endsWith(frame.file)) line = frame.line - 1;
      else if (!uri) {
        const dir = this.deps.workspaceDir();
        const candidates = path.isAbsolute(frame.file) ? [frame.file] : dir ? [path.join(dir, frame.file)] : [];
        for (const c of candidates) {
          try {
            await vscode.workspace.fs.stat(vscode.Uri.file(c));
            uri = vscode.Uri.file(c);
            line = frame.line - 1;
            break;
          } catch {
            // not there
          }
        }
      }
    }
    if (!uri) {
      void vscode.window.showInformationMessage(`BEAM Lens: the source of ${functionName(frame)} is not in this workspace${frame.file ? ` (compiled from ${frame.file})` : ''}.`);
      return;
    }
    const doc = await vscode.workspace.openTextDocument(uri);
    const pos = new vscode.Position(Math.max(0, line), where && line === where.line ? where.character : 0);
    await vscode.window.showTextDocument(doc, { selection: new vscode.Range(pos, pos), viewColumn: vscode.ViewColumn.One, preserveFocus: false });
  }

  private async saveSpeedscope(): Promise<void> {
    const r = this.result;
    const base = r.file ? r.file.replace(/\.json$/, '.speedscope.json') : path.join(this.deps.workspaceDir() ?? process.cwd(), 'profile.speedscope.json');
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(base), filters: { speedscope: ['json'] }, title: 'Save the profile for speedscope' });
    if (!target) return;
    writeFileSync(target.fsPath, JSON.stringify(toSpeedscope(r.session.profile, `BEAM Lens profile of ${profileSubject(r.session.profile)} on ${this.node}`)) + '\n');
    this.deps.log.info(`speedscope profile saved: ${target.fsPath}`);
    void vscode.window.showInformationMessage(`BEAM Lens: saved ${path.basename(target.fsPath)} (open it at speedscope.app or with \`npx speedscope\`).`);
  }
}

export function registerProfiler(deps: CommandDeps, lsp: () => ProfileLsp | null): vscode.Disposable[] {
  const views = new Map<string, FlameView>();
  const cfg = (): { seconds: number; hz: number } => ({
    seconds: Math.min(600, Math.max(1, deps.config().get<number>('profile.durationSeconds', 10))),
    hz: Math.min(1000, Math.max(1, deps.config().get<number>('profile.hz', 97))),
  });

  async function chooseTargets(n: AttachedNode, req: Request): Promise<{ pid?: string; top?: number } | undefined> {
    if (req.pid !== undefined) return { pid: req.pid };
    if (req.top !== undefined) return { top: req.top };
    const pick = await vscode.window.showQuickPick(
      [
        { label: 'A process…', description: 'pid (<0.123.0>) or registered name', top: 0 },
        { label: 'The busiest process', description: 'most reductions over 1 s', top: 1 },
        { label: 'The 3 busiest processes', description: 'most reductions over 1 s', top: 3 },
      ],
      { title: `Profile on ${n.node}` },
    );
    if (!pick) return undefined;
    if (pick.top > 0) return { top: pick.top };
    const pid = await vscode.window.showInputBox({ title: `Profile a process on ${n.node}`, prompt: 'pid (<0.123.0>) or registered name (Demo.PricingWorker)', ignoreFocusOut: true });
    return pid?.trim() ? { pid: pid.trim() } : undefined;
  }

  async function profile(n: AttachedNode, choice: { pid?: string; top?: number }, search?: string): Promise<void> {
    const { seconds, hz: wantedHz } = cfg();
    let mode: 'probe' | 'rpc' = n.session.hasProbe ? 'probe' : 'rpc';
    // A cluster member reached through its entry is sampled zero-install (the probe's guardian needs our own connection).
    if (!n.session.hasProbe && n.through === undefined && (await askConsent(n, ['probe'], `sample the stacks of ${choice.pid ?? `the ${choice.top ?? 1} busiest processes`} at ${wantedHz} Hz for ${seconds} s (process_info only: no trace flag, no code change)`, deps.log))) {
      const status = await n.session.loadProbe();
      if (status.state === 'loaded') mode = 'probe';
      else deps.log.warn(`probe not loaded (${status.state === 'unavailable' ? status.reason : status.state}); sampling zero-install`);
    }
    const hz = mode === 'probe' ? wantedHz : Math.min(wantedHz, 10);
    if (mode === 'rpc') deps.log.info(`profiling ${n.node} zero-install over rpc at ${hz} Hz`);
    const limits: Record<string, unknown> = { mode, hz, durationMs: seconds * 1000, ...choice };
    const label = `profiling ${choice.pid ?? `the ${choice.top ?? 1} busiest`} on ${n.node} · ${seconds} s`;
    const { value, file } = await runAudited<ProfileSession & { endReason: string }>(deps, n, 'profile', limits, label, async (signal) => {
      const targets: ProfileTarget[] = choice.pid !== undefined ? await resolveTargets(n.session, [choice.pid]) : await busiestProcesses(n.session, choice.top ?? 1);
      limits.processes = targets.map((t) => processLabel({ pid: t.pidText, name: t.name, initialCall: t.initialCall }));
      const r = await runProfile(n.session, targets, { durationMs: seconds * 1000, hz, mode, signal });
      const session: ProfileSession = { profile: r.profile, selection: choice.pid !== undefined ? { process: choice.pid } : { top: choice.top ?? 1 } };
      return { value: { ...session, endReason: r.endReason }, endReason: r.endReason };
    });
    const result = { session: { profile: value.profile, selection: value.selection }, file, endReason: value.endReason, ...(search !== undefined ? { search } : {}) };
    const existing = views.get(n.node);
    if (existing) existing.show(result);
    else {
      const view: FlameView = new FlameView(deps, lsp, n.node, result, () => profile(n, choice));
      views.set(n.node, view);
      view.panel.onDidDispose(() => views.delete(n.node));
    }
    if (value.endReason !== 'completed') void vscode.window.showWarningMessage(`BEAM Lens: the profile ended early (${value.endReason}); the samples gathered so far are shown.`);
  }

  return [
    registerCommand(deps.log, 'beamLens.profileProcess', async (arg) => {
      const n = await pickNode(deps.nodes, arg);
      if (!n) return;
      const req = requestOf(arg);
      const choice = await chooseTargets(n, req);
      if (choice) await profile(n, choice, req.search);
    }),
    registerCommand(deps.log, 'beamLens.showFlameGraph', async (arg) => {
      const n = await pickNode(deps.nodes, arg);
      if (!n) return;
      const view = views.get(n.node);
      if (view) view.search(requestOf(arg).search);
      else await vscode.commands.executeCommand('beamLens.profileProcess', { node: n.node, ...requestOf(arg) });
    }),
    // A detached node's flame graph closes (its lenses go with it).
    deps.nodes.onDidChange(() => {
      for (const [node, view] of views) if (!deps.nodes.get(node)) view.panel.dispose();
    }),
    { dispose: () => views.forEach((v) => v.panel.dispose()) },
  ];
}

/** The language client's side of ProfileLsp. */
export function profileLspOf(client: { isRunning(): boolean; sendRequest<R>(method: string, params: unknown): Promise<R>; sendNotification(method: string, params: unknown): Promise<void> } | null): ProfileLsp | null {
  if (!client || !client.isRunning()) return null;
  return {
    findSource: (params) => client.sendRequest<SourceLocationResult | null>(LspMethods.findSource, params),
    setProfile: (facts) => void client.sendNotification(LspMethods.profile, facts).catch(() => undefined),
    clearProfile: (node) => void client.sendNotification(LspMethods.clearProfile, { node }).catch(() => undefined),
  };
}
