// The connection flags every command that talks to a node takes (`beam-lens lsp` and `mcp`
// included), and their one parser into a core AttachRequest. Parsing, cookie lookup and error
// texts live in the core attach service; this file only maps flags to it.
import { attach, type AttachRequest, type CookieInput } from '../core/attach';
import { parseEnvTag } from '../core/attach';
import type { Attachment } from '../core/attach/attachment';
import { TLS_FLAG_HELP, TLS_FLAG_NAMES, tlsFlagValues } from '../erldist';
import { BeamLensError } from '../errors';
import { UsageError, numberFlag, stringFlag, type FlagSpec, type FlagValues } from './args';

/** The connection flags: the same for every command that attaches (ping … lsp, mcp). */
export const attachFlags: Record<string, FlagSpec> = {
  node: { type: 'string', value: 'NAME', description: 'target node, name@host (a bare name means this host)' },
  cookie: { type: 'string', value: 'C', description: 'cookie (prefer --cookie-file: a flag is visible in `ps`)' },
  'cookie-file': { type: 'string', value: 'F', description: 'file holding the cookie, safer than --cookie (default ~/.erlang.cookie)' },
  host: { type: 'string', value: 'H', description: 'host to reach, or host:port (default: the host part of --node)' },
  port: { type: 'number', value: 'P', description: 'distribution port; skips EPMD (e.g. an SSH tunnel)' },
  env: { type: 'string', value: 'ENV', description: 'environment tag: local | staging | production', default: 'local' },
  timeout: { type: 'number', value: 'MS', description: 'connect timeout in milliseconds', default: 5000 },
  'max-message-mb': { type: 'number', value: 'N', description: 'largest message the node may send, in MiB (default 64; raise for nodes with millions of processes)' },
  ...tlsFlagSpecs(),
};

/** --tls-cert/--tls-key/--tls-ca/--tls-insecure/--ssl-dist-optfile as CLI flags. */
function tlsFlagSpecs(): Record<string, FlagSpec> {
  const out: Record<string, FlagSpec> = {};
  for (const name of TLS_FLAG_NAMES) {
    const h = TLS_FLAG_HELP[name];
    out[name] = { type: h.value === undefined ? 'boolean' : 'string', description: h.description, ...(h.value !== undefined ? { value: h.value } : {}) };
  }
  return out;
}

/** Re-throws a core 'usage' error as a CLI UsageError naming the flag. */
function asFlag<T>(flag: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof BeamLensError && err.kind === 'usage') throw new UsageError(`--${flag}: ${err.message}`);
    throw err;
  }
}

/** The cookie the flags name (--cookie or --cookie-file; neither: ~/.erlang.cookie). */
export function cookieFromFlags(flags: FlagValues): CookieInput {
  const value = stringFlag(flags, 'cookie');
  const file = stringFlag(flags, 'cookie-file');
  if (value !== undefined && file !== undefined) throw new UsageError('give either --cookie or --cookie-file, not both');
  if (value !== undefined) return { kind: 'value', value };
  if (file !== undefined) return { kind: 'file', path: file };
  return { kind: 'default' };
}

/** Reads the connection flags into an AttachRequest; checks what can be checked without the network. */
export function attachRequestFromFlags(flags: FlagValues): AttachRequest {
  const node = stringFlag(flags, 'node');
  if (node === undefined || node.trim() === '') throw new UsageError('--node NAME is required (e.g. --node demo@localhost; `beam-lens nodes` lists local nodes)');
  const env = asFlag('env', () => parseEnvTag(stringFlag(flags, 'env') ?? 'local'));
  const host = stringFlag(flags, 'host');
  const port = numberFlag(flags, 'port');
  const timeoutMs = numberFlag(flags, 'timeout');
  const maxMessageMb = numberFlag(flags, 'max-message-mb');
  const tls = tlsFlagValues((n) => flags[n]);
  return {
    ...(Object.keys(tls).length > 0 ? { tls } : {}),
    // Warnings (a cookie or key file others can read, --tls-insecure) go to stderr, never into --json output.
    warn: (m: string) => process.stderr.write(`beam-lens: ${m}\n`),
    node,
    env,
    cookie: cookieFromFlags(flags),
    ...(host !== undefined ? { host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(maxMessageMb !== undefined ? { maxMessageMb } : {}),
  };
}

/** Attaches with the connection flags (plus consent grants from the command's own flags). */
export async function attachFromFlags(flags: FlagValues, extra: Pick<AttachRequest, 'grants'> = {}): Promise<Attachment> {
  return attach({ ...attachRequestFromFlags(flags), ...extra });
}
