// attach / detach: the server's connections to nodes. Attaching changes nothing on the target
// (BEAM Lens is a hidden node); detaching undoes whatever BEAM Lens set (the probe, any trace).
import { z } from 'zod';
import { parseEnvTag, type CookieInput } from '../../core/attach';
import { envTags } from '../../core/attach/consent';
import { describeProbeStays } from '../../core/probe/loader';
import { toolResult } from '../bounds';
import { guarded, type McpContext } from '../context';

export function registerAttachTools(ctx: McpContext): void {
  const { server, nodes } = ctx;
  server.registerTool(
    'attach',
    {
      title: 'Attach to a node',
      description:
        "Connects to a running Erlang/Elixir node as a hidden distribution node (it does not join the cluster and installs nothing). The cookie comes from cookieFile, else the server's --cookie/--cookie-file, else ~/.erlang.cookie; a cookie is never passed as an argument. env tags the node (production makes every intrusive tool require the node name typed by the user). Cost on the node: one connection.",
      inputSchema: {
        node: z.string().min(1).max(255).describe('node name, name@host (a bare name means this host)'),
        host: z.string().min(1).max(255).optional().describe('host to reach (default: the host part of node)'),
        port: z.number().int().min(1).max(65535).optional().describe('distribution port; skips EPMD (e.g. an SSH tunnel)'),
        cookieFile: z.string().min(1).max(4096).optional().describe('file holding the cookie'),
        env: z.enum(envTags as [string, ...string[]]).optional().describe('environment tag: local | staging | production (default local)'),
      },
      outputSchema: { node: z.string(), env: z.string(), alreadyAttached: z.boolean(), attached: z.array(z.string()) },
      annotations: { title: 'Attach to a node', readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    },
    ({ node, host, port, cookieFile, env }) =>
      guarded(async () => {
        const cookie: CookieInput = cookieFile !== undefined ? { kind: 'file', path: cookieFile } : ctx.options.defaultCookie;
        const { session, already } = await nodes.attach({ ...(ctx.options.attachDefaults ?? {}), node, cookie, ...(host ? { host } : {}), ...(port ? { port } : {}), ...(env ? { env: parseEnvTag(env) } : {}) });
        const text = `${already ? 'already attached to' : 'attached to'} ${session.node} [${session.env}] as a hidden node; nothing was installed. Next: overview, supervision_tree, processes, findings.`;
        return toolResult({ node: session.node, env: session.env, alreadyAttached: already, attached: nodes.names() }, text);
      }),
  );

  server.registerTool(
    'detach',
    {
      title: 'Detach from a node',
      description: 'Ends the connection to a node after undoing everything BEAM Lens set there (stops a running trace, removes trace patterns and flags, unloads the probe — or leaves it loaded, with our part undone, while another BEAM Lens on the node still uses it).',
      inputSchema: { node: z.string().min(1).max(255).optional().describe('attached node (may be omitted when exactly one is attached)') },
      outputSchema: { detached: z.string(), attached: z.array(z.string()), probeStaysFor: z.array(z.string()).optional() },
      annotations: { title: 'Detach from a node', readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    },
    ({ node }) =>
      guarded(async () => {
        const { node: name, probe } = await nodes.detach(node ?? '');
        const stays = probe?.state === 'shared' ? probe.others : undefined;
        return toolResult(
          { detached: name, attached: nodes.names(), ...(stays ? { probeStaysFor: stays } : {}) },
          `detached from ${name}; everything BEAM Lens set there was undone${stays ? `; ${describeProbeStays(name, stays)}` : ''}`,
        );
      }),
  );
}
