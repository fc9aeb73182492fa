// `beam-lens mcp`: BEAM Lens as a Model Context Protocol server over stdio. A thin face: tools
// call the same core services as the CLI and the editor (attach, consent, audited runs, session
// files, findings); this file wires the SDK and owns the server's lifetime.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { McpContext, McpOptions } from './context';
import { NodeRegistry, type Attacher } from './nodes';
import { registerInvestigatePrompt } from './prompt';
import { registerResources } from './resources';
import { registerAttachTools } from './tools/attach';
import { registerInspectionTools } from './tools/inspect';
import { registerSessionTools } from './tools/sessions';
import { registerTrendTools } from './tools/trends';
import { registerBinLeakTool } from './tools/bin-leak';
import { registerTelemetryTools } from './tools/telemetry';

export const SERVER_NAME = 'beam-lens';
export const SERVER_VERSION = '0.1.0';

const INSTRUCTIONS = `BEAM Lens looks inside running Erlang/Elixir nodes as a hidden distribution node.
Start with list_nodes and attach (or the node given at server start), then overview, supervision_tree, processes, findings.
Read-only tools change nothing on the node. Intrusive tools (hot_functions, trace_calls, trace_messages, system_monitor, report with allowTrace, binary_leak) ask the user for consent, are bounded (rate, event cap, deadline) and undo what they set when they end.
Results are cut to 32 KB and say how to get the next page. The prompt "investigate" lays out a full investigation.`;

export interface BeamLensMcp {
  server: McpServer;
  context: McpContext;
  /** Stops running work, detaches every node (the targets are left clean) and closes the server. */
  shutdown(): Promise<void>;
}

export function createMcpServer(options: McpOptions, attacher: Attacher): BeamLensMcp {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION, title: 'BEAM Lens' },
    { capabilities: { tools: {}, resources: { listChanged: true }, prompts: {}, logging: {} }, instructions: INSTRUCTIONS },
  );
  // Pre-approval goes with every attachment; --allow-probe also loads the probe at once (faster
  // pages on large nodes; purged on detach), as the CLI does.
  const pre = options.preapproved;
  const nodes = new NodeRegistry(async (request) => {
    const session = await attacher({ ...request, grants: { ...pre, ...(request.grants ?? {}) } });
    if (pre.allowProbe === true) {
      try {
        await session.loadProbe();
      } catch {
        // Production without --confirm-node: the probe waits for consent like everything else.
      }
    }
    return session;
  }, options.hostedSessions);
  const stopping = new AbortController();
  const context: McpContext = {
    server,
    nodes,
    options,
    stopping: stopping.signal,
    client() {
      const v = server.server.getClientVersion();
      return { name: v?.name ?? 'unknown', version: v?.version ?? 'unknown' };
    },
    canElicit() {
      return server.server.getClientCapabilities()?.elicitation !== undefined;
    },
  };
  registerAttachTools(context);
  registerInspectionTools(context);
  registerSessionTools(context);
  registerTrendTools(context);
  registerBinLeakTool(context);
  registerTelemetryTools(context);
  registerResources(context);
  registerInvestigatePrompt(context);
  let done: Promise<void> | null = null;
  return {
    server,
    context,
    shutdown() {
      done ??= (async () => {
        stopping.abort();
        await nodes.detachAll();
        await server.close().catch(() => undefined);
      })();
      return done;
    },
  };
}

/**
 * Serves MCP on stdin/stdout until the client goes away (stdin ends or breaks) or a signal
 * arrives; then detaches every node so each target is left clean, and resolves.
 */
export async function serveStdio(mcp: BeamLensMcp, log: (line: string) => void, signal?: AbortSignal): Promise<void> {
  const transport = new StdioServerTransport();
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let ended = false;
  const end = (why: string): void => {
    if (ended) return;
    ended = true;
    log(`beam-lens mcp: ${why}; detaching from ${mcp.context.nodes.names().join(', ') || 'no node'}`);
    void mcp.shutdown().finally(finish);
  };
  process.stdin.once('end', () => end('client closed stdin'));
  process.stdin.once('close', () => end('stdin closed'));
  process.stdout.once('error', () => end('client gone (stdout broken)'));
  if (signal?.aborted) end('interrupted');
  signal?.addEventListener('abort', () => end('interrupted'), { once: true });
  transport.onclose = () => end('transport closed');
  await mcp.server.connect(transport);
  await finished;
  process.stdin.destroy();
}
