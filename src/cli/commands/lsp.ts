// `beam-lens lsp --stdio`: the language server for any LSP editor. With --node it attaches
// itself and refreshes runtime facts; without, it shows the newest saved session of the workspace.
import type { EnvTag } from '../../core/consent';
import { startLanguageServer } from '../../server/standalone';
import { UsageError, booleanFlag, numberFlag, stringFlag, type FlagSpec } from '../args';
import { tlsFlagValues } from '../../dist';
import { connectionFlags, tlsFlagSpecs, type Command } from '../command';
import { targetFromFlags } from '../connection';

export const lspCommand: Command = {
  spec: {
    name: 'lsp',
    summary: 'Run the language server (code lenses, diagnostics, hovers from the running node) over stdio or IPC.',
    usage: 'beam-lens lsp --stdio [--node NAME --cookie-file F --env ENV --refresh S]',
    flags: {
      stdio: { type: 'boolean', description: 'talk LSP over stdin/stdout' },
      'node-ipc': { type: 'boolean', description: 'talk LSP over Node IPC (when started by a Node client)' },
      node: { ...connectionFlags.node, description: 'attach to this node and refresh facts periodically' } as FlagSpec,
      'cookie-file': connectionFlags['cookie-file'] as FlagSpec,
      host: connectionFlags.host as FlagSpec,
      port: connectionFlags.port as FlagSpec,
      env: connectionFlags.env as FlagSpec,
      ...tlsFlagSpecs(),
      refresh: { type: 'number', value: 'S', description: 'seconds between fact collections (default 10)', default: 10 },
      'no-saved-sessions': { type: 'boolean', description: 'do not show lenses from saved sessions when no node is attached' },
    },
  },
  async run({ args }) {
    const f = args.flags;
    if (!booleanFlag(f, 'stdio') && !booleanFlag(f, 'node-ipc')) {
      throw new UsageError('lsp needs a transport: --stdio (editors) or --node-ipc (a Node client)');
    }
    const refresh = numberFlag(f, 'refresh') ?? 10;
    if (!(refresh >= 1 && refresh <= 3600)) throw new UsageError(`--refresh must be from 1 to 3600 seconds, got ${refresh}`);
    const target = stringFlag(f, 'node') !== undefined ? targetFromFlags(f) : null;
    const cookieFile = stringFlag(f, 'cookie-file');
    const tls = tlsFlagValues((n) => f[n]);
    await startLanguageServer({
      ...(Object.keys(tls).length > 0 ? { tls } : {}),
      ...(target ? { node: target.node, host: target.host, env: target.env as EnvTag, ...(target.port !== undefined ? { port: target.port } : {}) } : {}),
      ...(cookieFile !== undefined ? { cookieFile } : {}),
      refreshMs: refresh * 1000,
      savedSessions: !booleanFlag(f, 'no-saved-sessions'),
    });
    // The server ends the process when the client sends `exit` or closes the stream.
    return new Promise<never>(() => undefined);
  },
};
