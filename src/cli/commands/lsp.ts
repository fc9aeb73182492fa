// `beam-lens lsp --stdio`: the language server for any LSP editor (dist/server.js runs the same
// command). With --node it attaches itself, with exactly the connection flags of every other
// command, and refreshes runtime facts; without, it shows the newest saved session of the workspace.
import { startLanguageServer } from '../../server/standalone';
import { UsageError, booleanFlag, numberFlag, stringFlag, type CommandSpec, type FlagValues } from '../args';
import type { Command } from '../command';
import { attachFlags, attachRequestFromFlags } from '../connection';

/** The flags of `beam-lens lsp` (and of dist/server.js): transports, the shared connection flags, --refresh. */
export const lspSpec: CommandSpec = {
  name: 'lsp',
  summary: 'Run the language server (code lenses, diagnostics, hovers from the running node) over stdio or IPC.',
  usage: 'beam-lens lsp --stdio [--node NAME [--cookie-file F | --cookie C] [--host H[:P]] [--env ENV] [--refresh S]]',
  flags: {
    stdio: { type: 'boolean', description: 'talk LSP over stdin/stdout' },
    'node-ipc': { type: 'boolean', description: 'talk LSP over Node IPC (when started by a Node client)' },
    socket: { type: 'number', value: 'PORT', description: 'talk LSP over a TCP socket on this port' },
    pipe: { type: 'string', value: 'NAME', description: 'talk LSP over a named pipe' },
    clientProcessId: { type: 'number', value: 'PID', description: 'set by LSP clients: exit when that process exits' },
    ...attachFlags,
    node: { ...attachFlags.node, description: 'attach to this node and refresh facts periodically (name@host; a bare name means this host)' } as (typeof attachFlags)[string],
    refresh: { type: 'number', value: 'S', description: 'seconds between fact collections (default 10)', default: 10 },
    'no-saved-sessions': { type: 'boolean', description: 'do not show lenses from saved sessions when no node is attached' },
  },
};

/** Starts the server from parsed `lsp` flags (also used by dist/server.js). Resolves when it listens. */
export async function startLspFromFlags(f: FlagValues): Promise<void> {
  if (!booleanFlag(f, 'stdio') && !booleanFlag(f, 'node-ipc') && numberFlag(f, 'socket') === undefined && stringFlag(f, 'pipe') === undefined) {
    throw new UsageError('lsp needs a transport: --stdio (editors), --node-ipc (a Node client), --socket PORT or --pipe NAME');
  }
  const refresh = numberFlag(f, 'refresh') ?? 10;
  if (!(refresh >= 1 && refresh <= 3600)) throw new UsageError(`--refresh must be from 1 to 3600 seconds, got ${refresh}`);
  // Checked before the server starts, so a bad flag is a usage error (exit 2), not an LSP message.
  const attach = stringFlag(f, 'node') !== undefined ? attachRequestFromFlags(f) : undefined;
  await startLanguageServer({
    ...(attach ? { attach } : {}),
    refreshMs: refresh * 1000,
    savedSessions: !booleanFlag(f, 'no-saved-sessions'),
  });
}

export const lspCommand: Command = {
  spec: lspSpec,
  async run({ args }) {
    await startLspFromFlags(args.flags);
    // The server ends the process when the client sends `exit` or closes the stream.
    return new Promise<never>(() => undefined);
  },
};
