// Sampling profiles in the editor: the "Profile Process…" command (palette, sidebar, process
// detail, a hot-functions finding), the flame-graph panel per node (flame-view.ts) with its lenses
// in the source while it is open, and saved profiles reopened as flame graphs with no node
// attached ("BEAM: Open Saved Profile…", read by core's one reader). The run itself is core's
// (runProfile), audited and saved through the commands' runAudited.
import * as vscode from 'vscode';
import { processLabel, type ProfileSession } from '../core/profile/profile';
import { runProfile } from '../core/profile/run';
import type { SavedProfile } from '../core/profile/saved';
import { busiestProcesses, resolveTargets, type ProfileTarget } from '../core/profile/targets';
import { pickNode, registerCommand, runAudited, type CommandDeps } from './commands';
import { askConsent } from './consent';
import { FlameView, savedLensKey, type ProfileLsp } from './flame-view';
import { nodeOf } from './model/args';
import type { AttachedNode } from './nodes';

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

/** The profiler's commands and panels; `openSaved` shows a saved profile (BEAM: Open Saved Profile…). */
export interface Profiler {
  disposables: vscode.Disposable[];
  openSaved(saved: SavedProfile): void;
}

export function registerProfiler(deps: CommandDeps, lsp: () => ProfileLsp | null): Profiler {
  /** Live panels by node (kept while the node is lost, until reattached or forgotten). */
  const views = new Map<string, FlameView>();
  /** Panels of saved profiles by file: they need no node and outlive every attachment. */
  const saved = new Map<string, FlameView>();
  /** What a node's live panel profiled last: "profile again" profiles the same. */
  const lastChoice = new Map<string, { pid?: string; top?: number }>();
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
    }, mode === 'probe' ? ['probe'] : []);
    const result = { profile: value.profile, file, endReason: value.endReason, ...(search !== undefined ? { search } : {}) };
    lastChoice.set(n.node, choice);
    const existing = views.get(n.node);
    if (existing) {
      existing.setAgainNeeds(undefined, '');
      existing.show(result);
    } else {
      const node = n.node;
      const view: FlameView = new FlameView(deps, lsp, node, result, { kind: 'live' }, () => again(node, lastChoice.get(node)));
      views.set(node, view);
      view.panel.onDidDispose(() => {
        if (views.get(node) === view) views.delete(node);
      });
    }
    if (value.endReason !== 'completed') void vscode.window.showWarningMessage(`BEAM Lens: the profile ended early (${value.endReason}); the samples gathered so far are shown.`);
  }

  /** Profile again on the node by its name: the attachment of now (after a Reattach, a new one). */
  async function again(node: string | null, choice: { pid?: string; top?: number } | undefined, from?: string): Promise<void> {
    const n = node !== null ? deps.nodes.get(node) : undefined;
    if (!n) return explainAgain(node, from);
    const c = choice ?? (await chooseTargets(n, {}));
    if (c) await profile(n, c);
  }

  async function explainAgain(node: string | null, from?: string): Promise<void> {
    const source = from ? `this profile was read from ${from}; ` : '';
    if (node === null) {
      void vscode.window.showInformationMessage(`BEAM Lens: ${source}the file does not name its node. Attach to the node and run "BEAM: Profile Process…".`);
      return;
    }
    const lost = deps.nodes.getLost(node);
    const action = lost ? 'Reattach' : 'Attach to Node…';
    const pick = await vscode.window.showInformationMessage(`BEAM Lens: ${source}profiling again needs ${node} attached${lost ? ` (the connection was lost: ${lost.reason})` : ''}.`, action);
    if (pick === 'Reattach') await vscode.commands.executeCommand('beamLens.reattach', { node });
    else if (pick) await vscode.commands.executeCommand('beamLens.attach');
  }

  const needsOf = (node: string | null): string | undefined => (node === null ? 'the file does not name its node' : deps.nodes.get(node) ? undefined : `needs ${node} attached`);

  function openSaved(s: SavedProfile): void {
    const result = { profile: s.profile, file: s.file, endReason: s.endReason, ...(s.endDetail ? { endDetail: s.endDetail } : {}) };
    const existing = saved.get(s.file);
    if (existing) {
      existing.show(result);
      return;
    }
    const choice = s.selection ? ('process' in s.selection ? { pid: s.selection.process } : { top: s.selection.top }) : undefined;
    const view: FlameView = new FlameView(deps, lsp, s.node, result, { kind: 'saved', source: s.source, at: s.at }, () => again(s.node, choice, s.file));
    view.setAgainNeeds(needsOf(s.node));
    saved.set(s.file, view);
    view.panel.onDidDispose(() => {
      if (saved.get(s.file) === view) saved.delete(s.file);
    });
  }

  const disposables = [
    registerCommand(deps.log, 'beamLens.profileProcess', async (arg) => {
      const n = await pickNode(deps.nodes, arg);
      if (!n) return;
      const req = requestOf(arg);
      const choice = await chooseTargets(n, req);
      if (choice) await profile(n, choice, req.search);
    }),
    registerCommand(deps.log, 'beamLens.showFlameGraph', async (arg) => {
      // A saved profile's lens leads back to its panel.
      const key = nodeOf(arg);
      const fromSaved = [...saved.entries()].find(([file]) => savedLensKey(file) === key)?.[1];
      if (fromSaved) return fromSaved.search(requestOf(arg).search);
      const n = await pickNode(deps.nodes, arg);
      if (!n) return;
      const view = views.get(n.node);
      if (view) view.search(requestOf(arg).search);
      else await vscode.commands.executeCommand('beamLens.profileProcess', { node: n.node, ...requestOf(arg) });
    }),
    // A detached node's flame graph closes (its lenses go with it); a lost node's stays, showing
    // its profile, and profiles again once the node is reattached. Saved panels follow whether
    // their node is attached.
    deps.nodes.onDidChange((change) => {
      if (change !== undefined) return;
      for (const [node, view] of views) {
        const lost = deps.nodes.getLost(node);
        if (deps.nodes.get(node)) view.setAgainNeeds(undefined, '');
        else if (lost) view.setAgainNeeds(`needs ${node} attached`, `${node} is gone (${lost.reason}): this profile stays; Reattach from the BEAM sidebar to profile again.`);
        else view.panel.dispose();
      }
      for (const view of saved.values()) view.setAgainNeeds(needsOf(view.node));
    }),
    { dispose: () => [...views.values(), ...saved.values()].forEach((v) => v.panel.dispose()) },
  ];
  return { disposables, openSaved };
}
