// Starting the language server: over stdio, node IPC or a socket (vscode-languageserver picks the
// transport from --stdio / --node-ipc / --socket=N), optionally attaching itself to a node with
// --node when no client sends facts (any LSP editor can use it this way).
import { createConnection, ProposedFeatures, type Connection } from 'vscode-languageserver/node';
import { attach as attachNode, type AttachRequest } from '../core/attach';
import { factsCollector } from '../core/facts/runtime-facts';
import { startFactsLoop, type FactsLoop } from '../core/facts/schedule';
import type { Attachment } from '../core/attach/attachment';
import { latestSavedFacts } from '../core/facts/saved-facts';
import { errorKindOf, errorMessage } from '../errors';
import { LspMethods, type AttachStateParams } from '../protocol/lsp';
import { elixirParser } from './index/parser';
import { BeamLensServer } from './server';

/** How the standalone server runs; `beam-lens lsp` fills it from the shared connection flags. */
export interface StandaloneOptions {
  /** Attach to this node (the same request every face gives the core attach service) and collect facts every refreshMs. */
  attach?: AttachRequest;
  refreshMs?: number;
  /** Show lenses from the newest saved session under the workspace when no node is attached (default true). */
  savedSessions?: boolean;
  wasmDir?: string;
}

/** Runs until the client exits. Owns the connection, the parser and the standalone session. */
export async function startLanguageServer(options: StandaloneOptions, connection: Connection = createConnection(ProposedFeatures.all)): Promise<void> {
  const parser = await elixirParser(options.wasmDir);
  let loop: FactsLoop | null = null;
  let cleaned = false;
  let session: Attachment | null = null;
  const server = new BeamLensServer(connection, {
    parser,
    onIndexed: () => {
      if (options.attach !== undefined) void attach(options.attach);
      else if (options.savedSessions !== false) loadSaved();
    },
  });
  const state = (p: AttachStateParams): void => void connection.sendNotification(LspMethods.attachState, p);

  const loadSaved = (): void => {
    for (const root of server.workspaceRoots) {
      const facts = latestSavedFacts(root);
      if (facts) {
        server.setFacts(facts);
        return;
      }
    }
  };

  const attach = async (request: AttachRequest): Promise<void> => {
    let node = request.node;
    try {
      // Warnings (a cookie or key file others can read, --tls-insecure) go to the client's log.
      const attached = await attachNode({ ...request, warn: (m) => connection.console.warn(`beam-lens: ${m}`) });
      session = attached;
      node = attached.node;
      attached.connection.onClose((reason) => {
        loop?.stop();
        loop = null;
        session = null;
        server.clearFacts(node);
        connection.console.warn(`beam-lens: ${reason}`);
        state({ node, state: 'detached', message: reason });
      });
      const collector = factsCollector(attached);
      // The shared schedule (core/facts/schedule.ts): about 1% of one scheduler of the node at
      // most, backing off on failures; a collection that fails or overruns is stopped on the node.
      let first = true;
      await new Promise<void>((resolve) => {
        loop = startFactsLoop(
          async (signal) => {
            if (session === null) return;
            try {
              server.setFacts(await collector.collect(signal));
              return collector.lastNodeCostMs;
            } finally {
              if (first) {
                first = false;
                resolve();
              }
            }
          },
          {
            baseMs: options.refreshMs ?? 10_000,
            onError: (err, next) => {
              connection.console.warn(`beam-lens: collecting facts from ${node} failed: ${err instanceof Error ? err.message : String(err)}`);
              const timedOut = typeof err === 'object' && err !== null && 'kind' in err && err.kind === 'timeout';
              if (timedOut) connection.console.warn(`beam-lens: ${node} is overloaded; next refresh in ${Math.round(next / 1000)} s`);
            },
          },
        );
      });
      if (cleaned) loop?.stop();
      state({ node, state: 'attached' });
    } catch (err) {
      const message = `cannot attach to ${node}: ${errorMessage(err)}`;
      connection.console.error(`beam-lens: ${message}`);
      state({ node, state: 'error', message, kind: errorKindOf(err) });
      if (options.savedSessions !== false) loadSaved();
    }
  };

  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    loop?.stop();
    loop = null;
    const s = session;
    session = null;
    if (s) await s.detach().catch(() => undefined);
    parser.delete();
  };
  connection.onShutdown(cleanup);
  connection.onExit(() => {
    void cleanup().finally(() => process.exit(0));
  });
  connection.listen();
}
