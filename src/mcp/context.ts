// What every tool of the MCP face shares: the attached nodes, the pre-approval given on the
// command line, where sessions and the audit log go, and who the client is. Plus the small
// helpers a tool needs from the protocol: progress notifications and error results.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { AttachRequest, CookieInput } from '../core/attach';
import type { ConsentGrants } from '../core/attach/consent';
import type { Attachment } from '../core/attach/attachment';
import type { AuditFace } from '../core/records/audit';
import { errorResult } from './errors';
import type { NodeRegistry } from './nodes';

export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface McpOptions {
  /** Where `.beam-lens/sessions`, reports and the audit log live (the server's working directory). */
  cwd: string;
  /** Pre-approval from the command line (--allow-probe, --allow-trace, --confirm-node). */
  preapproved: ConsentGrants;
  /** What every `attach` call adds (the server's TLS flags, where warnings go). */
  attachDefaults?: Pick<AttachRequest, 'tls' | 'warn' | 'timeoutMs'>;
  /** Cookie source for `attach` calls that give none (the server's --cookie / --cookie-file, else ~/.erlang.cookie). */
  defaultCookie: CookieInput;
  /** Audit log file (default .beam-lens/audit.log under cwd). */
  auditFile?: string;
  /** The face in the audit log: 'mcp' (default), or 'vscode' when the editor serves its language-model tools through this server. */
  face?: AuditFace;
  /** Sessions a host owns (the editor's attached nodes), usable by the tools and never detached by them. */
  hostedSessions?: () => readonly Attachment[];
}

export interface McpContext {
  readonly server: McpServer;
  readonly nodes: NodeRegistry;
  readonly options: McpOptions;
  /** Aborted when the server shuts down (client gone, signal): running tools end and clean up. */
  readonly stopping: AbortSignal;
  /** The client as it introduced itself (name and version), for the audit log. */
  client(): { name: string; version: string };
  /** Whether the client can show an elicitation form. */
  canElicit(): boolean;
}

/** Sends MCP progress for the current request, if the client asked for it (a progressToken). */
export function progressFor(extra: Extra): (progress: number, total?: number, message?: string) => void {
  const token = extra._meta?.progressToken;
  if (token === undefined) return () => undefined;
  let last = -1;
  return (progress, total, message) => {
    if (progress <= last) return;
    last = progress;
    void extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, ...(total !== undefined ? { total } : {}), ...(message !== undefined ? { message } : {}) },
      })
      .catch(() => undefined);
  };
}

/** Runs a tool body; any error becomes an `isError` result (the server keeps serving). */
export async function guarded(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (err) {
    return errorResult(err);
  }
}
