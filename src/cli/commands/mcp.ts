// `beam-lens mcp`: serves the Model Context Protocol on stdin/stdout for an AI agent's client.
// The connection flags attach at start; --allow-probe/--allow-trace (with --confirm-node on
// production) pre-approve intrusive tools for clients that cannot show a consent form.
import { Session } from '../../core/session';
import type { EnvTag } from '../../core/consent';
import { createMcpServer, serveStdio } from '../../mcp/server';
import type { AttachRequest } from '../../mcp/nodes';
import { booleanFlag, stringFlag, type FlagValues } from '../args';
import type { Command } from '../command';
import { connectionFlags } from '../command';
import { connectFromFlags } from '../connection';
import { ExitCode } from '../exit-codes';

const { json: _json, ...mcpConnectionFlags } = connectionFlags;

async function attachFor(request: AttachRequest): Promise<Session> {
  const flags: FlagValues = {
    node: request.node,
    ...(request.host !== undefined ? { host: request.host } : {}),
    ...(request.port !== undefined ? { port: request.port } : {}),
    ...(request.cookie !== undefined ? { cookie: request.cookie } : {}),
    ...(request.cookieFile !== undefined ? { 'cookie-file': request.cookieFile } : {}),
    ...(request.env !== undefined ? { env: request.env } : {}),
    ...(request.timeoutMs !== undefined ? { timeout: request.timeoutMs } : {}),
  };
  const { target, connection } = await connectFromFlags(flags);
  return new Session(connection, { env: target.env as EnvTag });
}

export const mcpCommand: Command = {
  spec: {
    name: 'mcp',
    summary: 'Serve BEAM Lens to an AI agent over the Model Context Protocol (stdio).',
    usage: 'beam-lens mcp [--node NAME [--cookie-file F] [--env ENV]] [--allow-probe] [--allow-trace] [--confirm-node NAME]',
    flags: {
      ...mcpConnectionFlags,
      'allow-probe': { type: 'boolean', description: 'pre-approve loading the probe (for clients without consent forms)' },
      'allow-trace': { type: 'boolean', description: 'pre-approve tracing tools (bounded; undone when each ends)' },
      'confirm-node': { type: 'string', value: 'NAME', description: 'on a production node: its name, to pre-approve intrusive tools there' },
      audit: { type: 'string', value: 'FILE', description: 'audit log (default .beam-lens/audit.log)' },
    },
  },
  async run({ args, output, cwd, signal }) {
    const f = args.flags;
    const cookie = stringFlag(f, 'cookie');
    const cookieFile = stringFlag(f, 'cookie-file');
    const confirmNode = stringFlag(f, 'confirm-node');
    const audit = stringFlag(f, 'audit');
    const mcp = createMcpServer(
      {
        cwd,
        preapproved: { allowProbe: booleanFlag(f, 'allow-probe'), allowTrace: booleanFlag(f, 'allow-trace'), ...(confirmNode !== undefined ? { confirmNode } : {}) },
        defaultCookie: { ...(cookie !== undefined ? { cookie } : {}), ...(cookieFile !== undefined ? { cookieFile } : {}) },
        ...(audit !== undefined ? { auditFile: audit } : {}),
      },
      attachFor,
    );
    const node = stringFlag(f, 'node');
    if (node !== undefined) {
      try {
        const { session } = await mcp.context.nodes.attach({
          node,
          ...(stringFlag(f, 'host') !== undefined ? { host: stringFlag(f, 'host') as string } : {}),
          ...(typeof f.port === 'number' ? { port: f.port } : {}),
          ...(cookie !== undefined ? { cookie } : {}),
          ...(cookieFile !== undefined ? { cookieFile } : {}),
          ...(stringFlag(f, 'env') !== undefined ? { env: stringFlag(f, 'env') as string } : {}),
          ...(typeof f.timeout === 'number' ? { timeoutMs: f.timeout } : {}),
        });
        output.err(`beam-lens mcp: attached to ${session.node} [${session.env}]`);
      } catch (err) {
        // Keep serving: the agent sees the node is not attached and can call `attach` itself.
        output.err(`beam-lens mcp: could not attach to ${node} at start: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    await serveStdio(mcp, (line) => output.err(line), signal);
    return ExitCode.ok;
  },
};
