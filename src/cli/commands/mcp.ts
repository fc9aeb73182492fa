// `beam-lens mcp`: serves the Model Context Protocol on stdin/stdout for an AI agent's client.
// The connection flags attach at start; --allow-probe/--allow-trace (with --confirm-node on
// production) pre-approve intrusive tools for clients that cannot show a consent form.
import { attach } from '../../core/attach';
import { tlsFlagValues } from '../../erldist';
import { errorMessage } from '../../errors';
import { createMcpServer, serveStdio } from '../../mcp/server';
import { booleanFlag, stringFlag } from '../args';
import type { Command } from '../command';
import { attachFlags, attachRequestFromFlags, cookieFromFlags } from '../connection';
import { ExitCode } from '../exit-codes';

export const mcpCommand: Command = {
  spec: {
    name: 'mcp',
    summary: 'Serve BEAM Lens to an AI agent over the Model Context Protocol (stdio).',
    usage: 'beam-lens mcp [--node NAME [--cookie-file F] [--env ENV]] [--allow-probe] [--allow-trace] [--allow-gc] [--confirm-node NAME]',
    flags: {
      ...attachFlags,
      'allow-probe': { type: 'boolean', description: 'pre-approve loading the probe (for clients without consent forms)' },
      'allow-trace': { type: 'boolean', description: 'pre-approve tracing tools (bounded; undone when each ends)' },
      'allow-gc': { type: 'boolean', description: 'pre-approve binary_leak (forced garbage collection of the top binary holders; bounded)' },
      'confirm-node': { type: 'string', value: 'NAME', description: 'on a production node: its name, to pre-approve intrusive tools there' },
      audit: { type: 'string', value: 'FILE', description: 'audit log (default .beam-lens/audit.log)' },
    },
  },
  async run({ args, output, cwd, signal }) {
    const f = args.flags;
    const confirmNode = stringFlag(f, 'confirm-node');
    const audit = stringFlag(f, 'audit');
    const tls = tlsFlagValues((n) => f[n]);
    const mcp = createMcpServer(
      {
        cwd,
        preapproved: { allowProbe: booleanFlag(f, 'allow-probe'), allowTrace: booleanFlag(f, 'allow-trace'), allowGc: booleanFlag(f, 'allow-gc'), ...(confirmNode !== undefined ? { confirmNode } : {}) },
        defaultCookie: cookieFromFlags(f),
        attachDefaults: {
          ...(Object.keys(tls).length > 0 ? { tls } : {}),
          ...(typeof f.timeout === 'number' ? { timeoutMs: f.timeout } : {}),
          warn: (m: string) => output.err(`beam-lens mcp: ${m}`),
        },
        ...(audit !== undefined ? { auditFile: audit } : {}),
      },
      attach,
    );
    if (stringFlag(f, 'node') !== undefined) {
      const request = attachRequestFromFlags(f);
      try {
        const { session } = await mcp.context.nodes.attach(request);
        output.err(`beam-lens mcp: attached to ${session.node} [${session.env}]`);
      } catch (err) {
        // Keep serving: the agent sees the node is not attached and can call `attach` itself.
        output.err(`beam-lens mcp: could not attach to ${request.node} at start: ${errorMessage(err)}`);
      }
    }
    await serveStdio(mcp, (line) => output.err(line), signal);
    return ExitCode.ok;
  },
};
