import { TLS_FLAG_HELP, TLS_FLAG_NAMES } from '../dist';
import type { CommandSpec, FlagSpec, ParsedArgs } from './args';
import type { ExitCode } from './exit-codes';
import type { Output } from './output';

export interface CommandContext {
  output: Output;
  args: ParsedArgs;
  /** Aborted on SIGINT/SIGTERM so long work can end cleanly (and undo what it set on the target). */
  signal: AbortSignal;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  spec: CommandSpec;
  run(ctx: CommandContext): Promise<ExitCode>;
}

/** Flags shared by every command that talks to a node. */
export const connectionFlags: Record<string, FlagSpec> = {
  node: { type: 'string', value: 'NAME', description: 'target node, name@host (a bare name means this host)' },
  cookie: { type: 'string', value: 'C', description: 'cookie (prefer --cookie-file: a flag is visible in `ps`)' },
  'cookie-file': { type: 'string', value: 'F', description: 'file holding the cookie (default ~/.erlang.cookie)' },
  host: { type: 'string', value: 'H', description: 'host to reach (default: the host part of --node)' },
  port: { type: 'number', value: 'P', description: 'distribution port; skips EPMD (e.g. an SSH tunnel)' },
  env: { type: 'string', value: 'ENV', description: 'environment tag: local | staging | production', default: 'local' },
  timeout: { type: 'number', value: 'MS', description: 'connect timeout in milliseconds', default: 5000 },
  ...tlsFlagSpecs(),
  json: { type: 'boolean', description: 'machine-readable output' },
};

/** --tls-cert/--tls-key/--tls-ca/--tls-insecure/--ssl-dist-optfile as CLI flags. */
export function tlsFlagSpecs(): Record<string, FlagSpec> {
  const out: Record<string, FlagSpec> = {};
  for (const name of TLS_FLAG_NAMES) {
    const h = TLS_FLAG_HELP[name];
    out[name] = { type: h.value === undefined ? 'boolean' : 'string', description: h.description, ...(h.value !== undefined ? { value: h.value } : {}) };
  }
  return out;
}
