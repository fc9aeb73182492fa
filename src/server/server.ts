// The language server: wires the index and the runtime facts to LSP. Lenses, diagnostics and
// hovers are computed from memory; facts arrive by notification from the client (or from our own
// collector when started standalone with --node).
import { fileURLToPath } from 'node:url';
import type { Parser } from 'web-tree-sitter';
import { VERSION } from '../version';
import {
  CodeActionKind,
  CodeLensRefreshRequest,
  DiagnosticSeverity,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  TextDocumentSyncKind,
  TextDocuments,
  type CodeAction,
  type Connection,
  type Diagnostic,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { readFile } from 'node:fs/promises';
import {
  DIAGNOSTIC_SOURCE,
  LspMethods,
  type ClearFactsParams,
  type FindSourceParams,
  type IndexStatus,
  type ProfileFacts,
  type RuntimeFacts,
  type SourceLocationResult,
} from '../protocol/lsp';
import { codeLenses, diagnosticsByUri, hover, type BeamDiagnostic } from './features';
import { isProfileFacts, profileActionFor, profileLenses } from './profile-lenses';
import { WorkspaceIndex, indexFolders } from './index/workspace';

export interface ServerOptions {
  parser: Parser;
  /** Called once the workspace is indexed (tests, standalone attach). */
  onIndexed?: (status: IndexStatus) => void;
  log?: (message: string) => void;
}

export class BeamLensServer {
  readonly index: WorkspaceIndex;
  private readonly documents = new TextDocuments(TextDocument);
  private readonly facts = new Map<string, RuntimeFacts>();
  /** The latest profile per node, until cleared. */
  private readonly profiles = new Map<string, ProfileFacts>();
  private published = new Set<string>();
  private roots: string[] = [];
  private coldIndexMs: number | null = null;
  private indexing: Promise<void> | null = null;
  private lensRefreshSupported = false;
  private watchRegistration = false;

  constructor(
    private readonly connection: Connection,
    private readonly options: ServerOptions,
  ) {
    this.index = new WorkspaceIndex(options.parser);
    this.register();
  }

  private log(message: string): void {
    (this.options.log ?? ((m: string) => this.connection.console.log(m)))(message);
  }

  private register(): void {
    const c = this.connection;
    c.onInitialize((params): InitializeResult => {
      const folders = params.workspaceFolders?.map((f) => f.uri) ?? (params.rootUri ? [params.rootUri] : []);
      this.roots = folders.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u));
      this.lensRefreshSupported = params.capabilities.workspace?.codeLens?.refreshSupport === true;
      this.watchRegistration = params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
      return {
        capabilities: {
          textDocumentSync: TextDocumentSyncKind.Full,
          codeLensProvider: { resolveProvider: false },
          hoverProvider: true,
          codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        },
        serverInfo: { name: 'beam-lens', version: VERSION },
      };
    });
    c.onInitialized(() => {
      if (this.watchRegistration) {
        void c.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*.{ex,exs}' }] });
      }
      this.indexing = this.indexWorkspace();
    });
    this.documents.onDidChangeContent((e) => {
      this.index.indexText(e.document.uri, e.document.getText(), e.document.version);
      this.republish();
    });
    this.documents.onDidClose((e) => {
      // Back to what is on disk (the editor may have discarded changes).
      void this.reindexFromDisk(e.document.uri);
    });
    c.onDidChangeWatchedFiles((params) => {
      for (const change of params.changes) {
        if (this.documents.get(change.uri)) continue; // the open document's text wins
        if (change.type === FileChangeType.Deleted) this.index.remove(change.uri);
        else void this.reindexFromDisk(change.uri);
      }
      this.republish();
    });
    c.onCodeLens(async (params) => {
      await this.indexing;
      return [...codeLenses(params.textDocument.uri, this.index, this.facts.values()), ...profileLenses(params.textDocument.uri, this.index, this.profiles.values())].map((l) => ({
        range: l.range,
        command: { title: l.title, command: l.command.command, arguments: l.command.arguments },
      }));
    });
    c.onHover(async (params) => {
      await this.indexing;
      const text = hover(params.textDocument.uri, params.position.line, params.position.character, this.index, [...this.facts.values()]);
      return text === null ? null : { contents: { kind: 'markdown', value: text } };
    });
    c.onCodeAction((params) => {
      const actions: CodeAction[] = [];
      for (const d of params.context.diagnostics) {
        if (d.source !== DIAGNOSTIC_SOURCE) continue;
        const data = d.data as { node?: unknown; findingId?: unknown } | undefined;
        if (typeof data?.node !== 'string' || typeof data.findingId !== 'string') continue;
        actions.push({
          title: 'BEAM Lens: show this finding in the report',
          kind: CodeActionKind.QuickFix,
          diagnostics: [d],
          command: { title: 'Show finding', command: 'beamLens.showFinding', arguments: [{ node: data.node, findingId: data.findingId }] },
        });
        const findingId = data.findingId;
        const profile = profileActionFor(this.facts.get(data.node)?.findings.find((f) => f.id === findingId), data.node);
        if (profile) actions.push({ title: profile.title, kind: CodeActionKind.QuickFix, diagnostics: [d], command: { title: 'Profile', command: profile.command.command, arguments: profile.command.arguments } });
      }
      return actions;
    });
    c.onNotification(LspMethods.facts, (facts: RuntimeFacts) => this.setFacts(facts));
    c.onNotification(LspMethods.clearFacts, (params: ClearFactsParams | undefined) => this.clearFacts(params?.node));
    c.onNotification(LspMethods.profile, (params: unknown) => this.setProfile(params));
    c.onNotification(LspMethods.clearProfile, (params: ClearFactsParams | undefined) => this.clearProfile(params?.node));
    c.onRequest(LspMethods.indexStatus, async (): Promise<IndexStatus> => {
      await this.indexing;
      return this.status();
    });
    c.onRequest(LspMethods.findSource, async (params: FindSourceParams): Promise<SourceLocationResult | null> => {
      await this.indexing;
      const entry = this.index.module(params.module);
      if (!entry) return null;
      if (params.function !== undefined) {
        const fn = entry.module.functions.find((f) => f.name === params.function && (params.arity === undefined || (params.arity <= f.arity && params.arity >= f.minArity)));
        const at = fn?.clauses[0]?.range.start;
        if (at) return { uri: entry.uri, line: at.line, character: at.character };
      }
      return { uri: entry.uri, line: entry.module.range.start.line, character: entry.module.range.start.character };
    });
    this.documents.listen(c);
  }

  get workspaceRoots(): readonly string[] {
    return this.roots;
  }

  status(): IndexStatus {
    const s = this.index.stats();
    const first = [...this.facts.values()][0];
    return {
      files: s.files,
      modules: s.modules,
      functions: s.functions,
      filesWithErrors: s.filesWithErrors,
      coldIndexMs: this.coldIndexMs,
      attached: first ? { node: first.node, source: first.source, capturedAt: first.capturedAt } : null,
    };
  }

  private async indexWorkspace(): Promise<void> {
    const r = await indexFolders(this.index, this.roots, (uri) => this.documents.get(uri) !== undefined);
    this.coldIndexMs = r.ms;
    this.log(`indexed ${r.files} Elixir files in ${Math.round(r.ms)} ms`);
    this.republish();
    this.options.onIndexed?.(this.status());
  }

  private async reindexFromDisk(uri: string): Promise<void> {
    try {
      this.index.indexText(uri, await readFile(fileURLToPath(uri), 'utf8'));
    } catch {
      this.index.remove(uri);
    }
    this.republish();
  }

  setFacts(facts: RuntimeFacts): void {
    if (typeof facts?.node !== 'string' || !Array.isArray(facts.modules) || !Array.isArray(facts.supervisors) || !Array.isArray(facts.findings) || !Array.isArray(facts.hot)) {
      this.log('ignored malformed beamLens/facts notification');
      return;
    }
    this.facts.set(facts.node, facts);
    this.republish(true);
  }

  clearFacts(node?: string): void {
    if (node === undefined) this.facts.clear();
    else this.facts.delete(node);
    // A detached node's profile lenses go with it.
    this.clearProfile(node, false);
    this.republish(true);
  }

  setProfile(p: unknown): void {
    if (!isProfileFacts(p)) {
      this.log('ignored malformed beamLens/profile notification');
      return;
    }
    this.profiles.set(p.node, p);
    if (this.lensRefreshSupported) void this.connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
  }

  clearProfile(node?: string, refresh = true): void {
    if (node === undefined) this.profiles.clear();
    else this.profiles.delete(node);
    if (refresh && this.lensRefreshSupported) void this.connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
  }

  /** Publishes diagnostics for every file that has some, and empty lists where they went away. */
  private republish(factsChanged = false): void {
    const byUri = diagnosticsByUri(this.index, this.facts.values());
    for (const uri of this.published) if (!byUri.has(uri)) void this.connection.sendDiagnostics({ uri, diagnostics: [] });
    for (const [uri, list] of byUri) void this.connection.sendDiagnostics({ uri, diagnostics: list.map(toLsp) });
    this.published = new Set(byUri.keys());
    if (factsChanged && this.lensRefreshSupported) void this.connection.sendRequest(CodeLensRefreshRequest.type).catch(() => undefined);
  }
}

function toLsp(d: BeamDiagnostic): Diagnostic {
  return {
    range: d.range,
    severity: d.severity === 'warning' ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information,
    message: d.message,
    code: d.code,
    source: d.source,
    data: d.data,
  };
}
