// A minimal LSP client for tests: spawns a server process, speaks JSON-RPC over its stdio, records
// published diagnostics and server notifications, and waits for conditions with deadlines.
import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection, type MessageConnection } from 'vscode-jsonrpc/node';
import type { CodeAction, CodeLens, Diagnostic, Hover, PublishDiagnosticsParams } from 'vscode-languageserver/node';
import { LspMethods, type AttachStateParams, type IndexStatus, type RuntimeFacts } from '../../src/protocol/lsp';
import { waitFor } from './harness';

export class LspTestClient {
  readonly diagnostics = new Map<string, Diagnostic[]>();
  readonly attachStates: AttachStateParams[] = [];
  readonly logs: string[] = [];
  lensRefreshes = 0;
  private exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly connection: MessageConnection,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    connection.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      this.diagnostics.set(p.uri, p.diagnostics);
    });
    connection.onNotification(LspMethods.attachState, (p: AttachStateParams) => {
      this.attachStates.push(p);
    });
    connection.onNotification('window/logMessage', (p: { message: string }) => {
      this.logs.push(p.message);
    });
    connection.onRequest('workspace/codeLens/refresh', () => {
      this.lensRefreshes++;
      return null;
    });
    connection.onRequest('client/registerCapability', () => null);
    connection.listen();
  }

  /** Starts `node <args>` (e.g. dist/server.js --stdio) and initializes it on `root`. */
  static async start(args: string[], root: string, env: NodeJS.ProcessEnv = process.env): Promise<LspTestClient> {
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const client = new LspTestClient(child, connection);
    const rootUri = pathToFileURL(root).toString();
    try {
      await connection.sendRequest('initialize', {
        processId: process.pid,
        rootUri,
        workspaceFolders: [{ uri: rootUri, name: 'ws' }],
        capabilities: { workspace: { codeLens: { refreshSupport: true }, didChangeWatchedFiles: { dynamicRegistration: true } }, textDocument: { codeLens: {}, hover: {} } },
      });
    } catch (err) {
      child.kill('SIGKILL');
      throw new Error(`initialize failed: ${err instanceof Error ? err.message : String(err)}; server stderr: ${stderr}`);
    }
    await connection.sendNotification('initialized', {});
    return client;
  }

  indexStatus(): Promise<IndexStatus> {
    return this.connection.sendRequest(LspMethods.indexStatus);
  }

  sendFacts(facts: RuntimeFacts): Promise<void> {
    return this.connection.sendNotification(LspMethods.facts, facts);
  }

  clearFacts(node?: string): Promise<void> {
    return this.connection.sendNotification(LspMethods.clearFacts, node === undefined ? {} : { node });
  }

  codeLenses(uri: string): Promise<CodeLens[]> {
    return this.connection.sendRequest('textDocument/codeLens', { textDocument: { uri } });
  }

  hover(uri: string, line: number, character: number): Promise<Hover | null> {
    return this.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line, character } });
  }

  codeActions(uri: string, diagnostics: Diagnostic[]): Promise<CodeAction[]> {
    const range = diagnostics[0]?.range ?? { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
    return this.connection.sendRequest('textDocument/codeAction', { textDocument: { uri }, range, context: { diagnostics } });
  }

  open(uri: string, text: string, version = 1): Promise<void> {
    return this.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'elixir', version, text } });
  }

  change(uri: string, text: string, version: number): Promise<void> {
    return this.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
  }

  close(uri: string): Promise<void> {
    return this.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  /** Waits for lenses on `uri` satisfying `test` (lenses are computed from facts, so this polls). */
  async waitLenses(uri: string, test: (titles: string[]) => boolean, what: string, timeoutMs = 60_000): Promise<string[]> {
    let last: string[] = [];
    return waitFor(
      async () => {
        last = (await this.codeLenses(uri)).map((l) => l.command?.title ?? '');
        return test(last) ? last : undefined;
      },
      timeoutMs,
      `${what} (last lenses: ${JSON.stringify(last)})`,
      100,
    );
  }

  async waitDiagnostics(uri: string, test: (d: Diagnostic[]) => boolean, what: string, timeoutMs = 60_000): Promise<Diagnostic[]> {
    return waitFor(() => {
      const d = this.diagnostics.get(uri);
      return d !== undefined && test(d) ? d : undefined;
    }, timeoutMs, `${what} (last: ${JSON.stringify(this.diagnostics.get(uri)?.map((x) => x.message))})`);
  }

  /** shutdown + exit, then waits for the process; kills it only if it does not leave. */
  async stop(): Promise<number | null> {
    try {
      await Promise.race([this.connection.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 3000))]);
      await this.connection.sendNotification('exit');
    } catch {
      // already gone
    }
    const code = await Promise.race([this.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000))]);
    this.connection.dispose();
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      throw new Error('language server did not exit within 5 s of `exit`');
    }
    return code;
  }
}
