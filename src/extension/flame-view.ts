// One flame-graph panel: a profile (just recorded on an attached node, or read from a saved
// session or speedscope file), go to source through the language server's index, "save as
// speedscope", and "profile again" (the controller decides what that needs). A live panel's
// lenses are in the source while it is open; a saved one needs no node at all.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { toSpeedscope } from '../core/profile/export';
import { profileFactsSteps, profileSubject, toFlameProfileSteps, type FlameProfile } from '../core/profile/flame';
import { runStepsYielding } from '../core/records/steps';
import { definingFunction, functionName } from '../core/profile/names';
import type { Profile } from '../core/profile/profile';
import { LspMethods, type FindSourceParams, type ProfileFacts, type SourceLocationResult } from '../protocol/lsp';
import { assertNever, type FlameSaved, type FlameToHost } from '../protocol/webview';
import { formatModule } from '../etf';
import type { CommandDeps } from './commands';
import { Panel } from './panel';

/** What the profiler needs from the language client (absent when the server is off). */
export interface ProfileLsp {
  findSource(params: FindSourceParams): Promise<SourceLocationResult | null>;
  setProfile(facts: ProfileFacts): void;
  clearProfile(node: string): void;
}

export interface FlameResult {
  profile: Profile;
  /** The session file it was saved to or read from. */
  file: string | null;
  endReason: string;
  endDetail?: string;
  search?: string;
}

/** Where a panel's profile comes from: a run on the attached node, or a file. */
export type FlameOrigin = { kind: 'live' } | { kind: 'saved'; source: FlameSaved['source']; at: string };

/** "2026-12-01 16:05 UTC" */
export function shortTime(iso: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : iso;
}

/** The language server's key of a saved profile's lenses (their command names it as `node`). */
export function savedLensKey(file: string): string {
  return `saved:${file}`;
}

export class FlameView {
  readonly panel: Panel<'flame-graph'>;
  private ready = false;
  /** Why "profile again" cannot run now (saved panels whose node is not attached; a lost node). */
  private againNeeds: string | undefined;
  /** The status line (the node is gone…), sent again when a hidden panel's page is reloaded. */
  private status = '';
  /** Stops the folds still running for this panel when it closes (they are dropped at their next slice); aborted = disposed. */
  private readonly work = new AbortController();
  /**
   * Bumped by each lenses request and when a live panel's node is lost (the language server dropped
   * its lenses): facts computed for an older generation are not sent.
   */
  private lensGeneration = 0;
  /**
   * The flame model of the profile shown, once per profile and meta: folded in slices (a saved
   * profile of a million samples takes ~0.1 s to fold; the extension host keeps answering).
   */
  private model: { profile: Profile; key: string; flame: Promise<FlameProfile> } | undefined;

  constructor(
    private readonly deps: CommandDeps,
    private readonly lsp: () => ProfileLsp | null,
    /** The profiled node; null for a speedscope file that does not name it. */
    readonly node: string | null,
    private result: FlameResult,
    readonly origin: FlameOrigin,
    private readonly again: () => Promise<void>,
  ) {
    this.panel = new Panel('flame-graph', this.title(), deps.context.extensionUri, (m) => this.onMessage(m));
    this.panel.onDidDispose(() => this.work.abort());
    const key = this.lensKey();
    if (key !== null) this.panel.onDidDispose(() => this.lsp()?.clearProfile(key));
    this.sendLenses();
  }

  private title(): string {
    const who = profileSubject(this.result.profile);
    if (this.origin.kind === 'live') return `Profile: ${who}`;
    return `Saved profile: ${who} · ${this.node ?? 'speedscope file'} · ${shortTime(this.origin.at)}`;
  }

  show(result: FlameResult): void {
    this.result = result;
    this.panel.panel.title = this.title();
    this.panel.reveal();
    this.post();
    this.sendLenses();
  }

  search(query: string | undefined): void {
    this.panel.reveal();
    if (query !== undefined) this.result = { ...this.result, search: query };
    this.post();
  }

  /** What "profile again" needs now (undefined: it can run); shown in the panel's status line. */
  setAgainNeeds(needs: string | undefined, status?: string): void {
    if (this.againNeeds === needs) return;
    this.againNeeds = needs;
    if (status !== undefined) this.status = status;
    if (needs !== undefined && this.origin.kind === 'live') this.lensGeneration++;
    this.post();
    // A reattached node's lenses come back (the language server dropped them with the node).
    if (needs === undefined) this.sendLenses();
  }

  /**
   * Whose lenses these are for the language server: the node's (cleared with it), or a saved
   * file's (`saved:FILE`, until its panel closes; its lenses lead back to this panel).
   */
  private lensKey(): string | null {
    if (this.origin.kind === 'live') return this.node;
    return this.result.file !== null ? savedLensKey(this.result.file) : null;
  }

  private sendLenses(): void {
    const key = this.lensKey();
    if (key === null) return;
    const r = this.result;
    const generation = ++this.lensGeneration;
    runStepsYielding(profileFactsSteps(r.profile, key, Date.now(), r.file ?? undefined), undefined, this.work.signal).then(
      (facts) => {
        // A closed panel's lenses were cleared; a newer request sends its own; a lost node's lenses
        // were dropped with it (they come back when it is reattached).
        if (this.work.signal.aborted || generation !== this.lensGeneration || this.result.profile !== r.profile) return;
        this.lsp()?.setProfile(this.origin.kind === 'live' ? facts : { ...facts, of: `the saved ${facts.of} profile` });
      },
      (err: unknown) => {
        if (!this.work.signal.aborted) this.deps.log.error(`profile lenses: ${String(err)}`);
      },
    );
  }

  private flameOf(r: FlameResult): Promise<FlameProfile> {
    const meta = { node: this.node ?? '', title: profileSubject(r.profile), endReason: r.endReason, ...(r.endDetail ? { endDetail: r.endDetail } : {}), ...(r.file ? { sessionFile: r.file } : {}) };
    const key = JSON.stringify(meta);
    if (this.model?.profile !== r.profile || this.model.key !== key) this.model = { profile: r.profile, key, flame: runStepsYielding(toFlameProfileSteps(r.profile, meta), undefined, this.work.signal) };
    return this.model.flame;
  }

  private post(): void {
    if (!this.ready) return;
    const r = this.result;
    this.flameOf(r).then(
      (flame) => {
        // A newer result (show, search) posts its own; what "profile again" needs is read now.
        if (this.work.signal.aborted || this.result !== r) return;
        const o = this.origin;
        this.panel.post({
          type: 'profile',
          profile: flame,
          ...(r.search !== undefined ? { search: r.search } : {}),
          ...(o.kind === 'saved' && r.file ? { saved: { source: o.source, file: r.file, at: o.at, ...(this.againNeeds !== undefined ? { againNeeds: this.againNeeds } : {}) } } : {}),
        });
        if (this.status !== '') this.panel.post({ type: 'progress', message: this.status });
      },
      (err: unknown) => {
        if (!this.work.signal.aborted) this.panel.postError(`the flame graph could not be built: ${String(err)}`);
      },
    );
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
    const frame = Number.isInteger(index) ? this.result.profile.frames[index] : undefined;
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
    const base = r.file ? (r.file.endsWith('.speedscope.json') ? r.file : r.file.replace(/\.json$/, '.speedscope.json')) : path.join(this.deps.workspaceDir() ?? process.cwd(), 'profile.speedscope.json');
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(base), filters: { speedscope: ['json'] }, title: 'Save the profile for speedscope' });
    if (!target) return;
    const who = profileSubject(r.profile);
    writeFileSync(target.fsPath, JSON.stringify(toSpeedscope(r.profile, `BEAM Lens profile of ${who}${this.node ? ` on ${this.node}` : ''}`)) + '\n');
    this.deps.log.info(`speedscope profile saved: ${target.fsPath}`);
    void vscode.window.showInformationMessage(`BEAM Lens: saved ${path.basename(target.fsPath)} (open it at speedscope.app or with \`npx speedscope\`).`);
  }
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
