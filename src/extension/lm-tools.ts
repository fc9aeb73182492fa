// BEAM Lens tools for VS Code's language models (contributes.languageModelTools +
// vscode.lm.registerTool): the MCP face's tools, served in-process over an in-memory transport
// and acting on the nodes the user attached in the sidebar (no second connection). Intrusive
// tools are confirmed by VS Code's tool confirmation (prepareInvocation names what will be set
// and how it is undone); on a production node the user also types the node's name.
import * as vscode from 'vscode';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema, type CallToolResult, type ElicitRequest, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import type { Attachment } from '../core/attach/attachment';
import { BeamLensError } from '../errors';
import { LM_TOOLS, intrusiveSummary, lmToolName, type LmToolInput } from '../mcp/editor-tools';
import { createMcpServer, type BeamLensMcp } from '../mcp/server';

/** The editor's answer to the server's consent form: the confirmation was given in prepareInvocation; production asks for the typed name. */
async function answerForm(request: ElicitRequest['params']): Promise<ElicitResult> {
  const schema = 'requestedSchema' in request ? request.requestedSchema : undefined;
  if (!schema?.required?.includes('confirmNode')) return { action: 'accept', content: {} };
  const node = /Type the node name \(([^)]+)\)/.exec(JSON.stringify(schema.properties.confirmNode ?? {}))?.[1] ?? '';
  const typed = await vscode.window.showInputBox({
    title: `${node} is tagged production`,
    prompt: `Type the node's name (${node}) to allow what the language model asked for`,
    ignoreFocusOut: true,
    validateInput: (v) => (v === node || v === '' ? null : `That is not ${node}`),
  });
  return typed === undefined ? { action: 'cancel' } : { action: 'accept', content: { confirmNode: typed } };
}

function resultText(r: CallToolResult): string {
  const text = r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  return r.structuredContent !== undefined && r.isError !== true ? `${text}\n\nstructured result:\n${JSON.stringify(r.structuredContent)}` : text;
}

export interface LmToolHost {
  /** The sessions of the nodes attached in the sidebar. */
  sessions(): readonly Attachment[];
  /** Where sessions, reports and the audit log go (the workspace folder, else the extension's storage). */
  cwd(): string;
}

/** Registers every BEAM Lens language-model tool; dispose to unregister and close the in-process server. */
export function registerLanguageModelTools(host: LmToolHost): vscode.Disposable {
  let started: Promise<{ mcp: BeamLensMcp; client: Client }> | null = null;
  const connect = (): Promise<{ mcp: BeamLensMcp; client: Client }> =>
    (started ??= (async () => {
      const mcp = createMcpServer(
        { cwd: host.cwd(), preapproved: {}, defaultCookie: { kind: 'default' }, face: 'vscode', hostedSessions: host.sessions },
        () => Promise.reject(new BeamLensError('usage', 'attach nodes in the BEAM sidebar (BEAM: Attach to Node…); language-model tools use the nodes attached there')),
      );
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await mcp.server.connect(serverSide);
      const client = new Client({ name: 'vscode-language-model-tools', version: vscode.version }, { capabilities: { elicitation: { form: {} } } });
      client.setRequestHandler(ElicitRequestSchema, (req) => answerForm(req.params));
      await client.connect(clientSide);
      return { mcp, client };
    })());

  const registrations = LM_TOOLS.map((tool) =>
    vscode.lm.registerTool<LmToolInput>(lmToolName(tool), {
      prepareInvocation(options) {
        const input = options.input ?? {};
        const sessions = host.sessions();
        const node = (typeof input.node === 'string' ? input.node : undefined) ?? (sessions.length === 1 ? sessions[0]?.node : undefined) ?? 'the attached node';
        const env = sessions.find((s) => s.node === node)?.env;
        const sets = intrusiveSummary(tool, input);
        if (sets === null) return { invocationMessage: `BEAM Lens: ${tool.replace(/_/g, ' ')} on ${node}` };
        return {
          invocationMessage: `BEAM Lens: ${tool.replace(/_/g, ' ')} on ${node}`,
          confirmationMessages: {
            title: `Allow BEAM Lens to change ${node}${env ? ` [${env}]` : ''}?`,
            message: new vscode.MarkdownString(
              `BEAM Lens will ${sets}\n\nIf VS Code disappears mid-run, the probe on the node removes everything by itself within seconds. The run is written to the audit log.${env === 'production' ? `\n\n**${node} is tagged production**: you will be asked to type its name.` : ''}`,
            ),
          },
        };
      },
      async invoke(options, token) {
        const { client } = await connect();
        const controller = new AbortController();
        const sub = token.onCancellationRequested(() => controller.abort());
        try {
          const r = (await client.callTool({ name: tool, arguments: options.input ?? {} }, undefined, { signal: controller.signal, timeout: 600_000 })) as CallToolResult;
          if (r.isError === true) throw new Error(resultText(r));
          return new vscode.LanguageModelToolResult([new vscode.LanguageModelTextPart(resultText(r))]);
        } finally {
          sub.dispose();
        }
      },
    }),
  );
  return new vscode.Disposable(() => {
    for (const r of registrations) r.dispose();
    void started?.then(async ({ mcp, client }) => {
      await client.close().catch(() => undefined);
      await mcp.shutdown();
    });
  });
}
