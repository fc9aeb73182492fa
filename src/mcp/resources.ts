// Saved sessions and reports as MCP resources: beam-lens://sessions/<id> (the JSON record) and
// beam-lens://reports/<id> (the Markdown report), read from the server's working directory.
import path from 'node:path';
import { ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { isSavedId, loadReport, reportsDir, savedIds } from '../core/records/reports';
import { loadSession, sessionsDir } from '../core/records/store';
import { RESULT_BYTES, boundText } from './bounds';
import type { McpContext } from './context';
import { BeamLensError } from '../errors';

export const sessionUri = (id: string): string => `beam-lens://sessions/${id}`;
export const reportUri = (id: string): string => `beam-lens://reports/${id}`;

function variable(v: string | string[] | undefined): string {
  const id = Array.isArray(v) ? v[0] : v;
  if (id === undefined || !isSavedId(id)) throw new BeamLensError('usage', `"${String(id)}" is not a saved session or report id`);
  return id;
}

export function registerResources(ctx: McpContext): void {
  const cwd = ctx.options.cwd;
  ctx.server.registerResource(
    'sessions',
    new ResourceTemplate('beam-lens://sessions/{id}', {
      list: () => ({
        resources: savedIds(sessionsDir(cwd), '.json').map((id) => ({ uri: sessionUri(id), name: id, mimeType: 'application/json', description: 'saved BEAM Lens session' })),
      }),
      complete: { id: (prefix) => savedIds(sessionsDir(cwd), '.json').filter((id) => id.startsWith(prefix)).slice(0, 50) },
    }),
    { title: 'Saved sessions', description: 'Sessions saved by BEAM Lens tools (hot functions, traces, mailbox watches, reports), newest first; compare two with compare_sessions.', mimeType: 'application/json' },
    (uri, vars): ReadResourceResult => {
      const id = variable(vars.id);
      const record = loadSession(path.join(sessionsDir(cwd), `${id}.json`));
      const text = JSON.stringify(record, null, 1);
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: boundText(text, RESULT_BYTES, `the whole file is ${path.join(sessionsDir(cwd), `${id}.json`)}`) }] };
    },
  );
  ctx.server.registerResource(
    'reports',
    new ResourceTemplate('beam-lens://reports/{id}', {
      list: () => ({
        resources: savedIds(reportsDir(cwd), '.md').map((id) => ({ uri: reportUri(id), name: id, mimeType: 'text/markdown', description: 'BEAM Lens report' })),
      }),
      complete: { id: (prefix) => savedIds(reportsDir(cwd), '.md').filter((id) => id.startsWith(prefix)).slice(0, 50) },
    }),
    { title: 'Reports', description: 'Markdown reports written by the report tool: findings, recommended changes, risk and validation.', mimeType: 'text/markdown' },
    (uri, vars): ReadResourceResult => {
      const id = variable(vars.id);
      const text = loadReport(id, cwd);
      if (text === null) throw new BeamLensError('notFound', `no report ${id}; list resources to see the saved ones`);
      return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text: boundText(text, RESULT_BYTES, `the whole report is ${path.join(reportsDir(cwd), `${id}.md`)}`) }] };
    },
  );
}
