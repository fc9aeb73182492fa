// A real MCP client (the SDK's Client over stdio) driving `beam-lens mcp` as an agent's client
// would: optional elicitation support with a scripted answer, progress, cancellation, and a way
// to vanish (close stdin, or kill the server) mid-call.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema, type CallToolResult, type ElicitRequest, type ElicitResult, type Progress } from '@modelcontextprotocol/sdk/types.js';

export const root = path.join(__dirname, '../../..');
const bin = path.join(root, 'bin/beam-lens');

/** Builds dist/cli.js when it is missing or older than a source file of the MCP face. */
export function ensureBuilt(): void {
  const out = path.join(root, 'dist/cli.js');
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).mtimeMs)));
  if (!existsSync(out) || statSync(out).mtimeMs < newest(path.join(root, 'src'))) execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
}

export type ElicitAnswer = (request: ElicitRequest['params']) => ElicitResult | Promise<ElicitResult>;

export interface McpTestClient {
  client: Client;
  transport: StdioClientTransport;
  /** The server's working directory (sessions, reports, audit log). */
  cwd: string;
  stderr(): string;
  /** Forms the server asked for, in order. */
  forms: Array<ElicitRequest['params']>;
  call(name: string, args?: Record<string, unknown>, options?: { signal?: AbortSignal; onprogress?: (p: Progress) => void; timeout?: number }): Promise<CallToolResult>;
  close(): Promise<void>;
  /** The server's process id. */
  pid(): number;
  /** Ends the server's stdin as a client that goes away does (without killing it). */
  closeStdin(): void;
}

export async function startMcp(options: { args: string[]; elicit?: ElicitAnswer; cwd?: string; clientName?: string }): Promise<McpTestClient> {
  const cwd = options.cwd ?? mkdtempSync(path.join(tmpdir(), 'beam-lens-mcp-'));
  const home = mkdtempSync(path.join(tmpdir(), 'beam-lens-home-'));
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [bin, 'mcp', ...options.args],
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: home },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const client = new Client(
    { name: options.clientName ?? 'beam-lens-test-client', version: '9.8.7' },
    { capabilities: options.elicit ? { elicitation: { form: {} } } : {} },
  );
  const forms: Array<ElicitRequest['params']> = [];
  if (options.elicit) {
    const answer = options.elicit;
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      forms.push(req.params);
      return answer(req.params);
    });
  }
  await client.connect(transport);
  return {
    client,
    transport,
    cwd,
    forms,
    stderr: () => err,
    async call(name, args = {}, o = {}) {
      const r = await client.callTool({ name, arguments: args }, undefined, {
        timeout: o.timeout ?? 120_000,
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.onprogress ? { onprogress: o.onprogress, resetTimeoutOnProgress: true } : {}),
      });
      return r as CallToolResult;
    },
    close: () => client.close(),
    pid: () => transport.pid ?? -1,
    closeStdin: () => (transport as unknown as { _process?: ChildProcess })._process?.stdin?.end(),
  };
}

/** The text of a tool result. */
export function text(r: CallToolResult): string {
  return r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
}

/** The structured content of a successful result (throws with its text otherwise). */
export function data<T = Record<string, unknown>>(r: CallToolResult): T {
  if (r.isError) throw new Error(`tool failed: ${text(r)}`);
  if (r.structuredContent === undefined) throw new Error('no structuredContent');
  return r.structuredContent as T;
}

/** Size of a whole result as a client receives it (JSON bytes). */
export function resultBytes(r: CallToolResult): number {
  return Buffer.byteLength(JSON.stringify({ content: r.content, structuredContent: r.structuredContent }));
}
