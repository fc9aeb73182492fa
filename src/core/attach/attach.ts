// Attaching to a node, for every face: parse the target, find the cookie, connect as a hidden
// node, wrap the connection in an Attachment with its environment tag and grants. Every error that
// leaves `attach` is a BeamLensError marked phase 'attach' (the CLI exits 3 for a timeout,
// protocol or capability error then, and 1 for the same kinds once attached; see cli/exit-codes.ts).
import { Cookie, connect, limitsForMessageMb, resolveCookie, tlsFromFlags, type NodeConnection, type TlsFlagValues } from '../../erldist';
import { BeamLensError, toBeamLensError } from '../../errors';
import type { ConsentGrants, EnvTag } from './consent';
import { Attachment } from './attachment';
import { parseTarget, type AttachTarget, type TargetInput } from './target';

/** Default bound on each attach step (EPMD, TCP connect, each handshake message). */
export const DEFAULT_ATTACH_TIMEOUT_MS = 5000;

/**
 * Where the cookie comes from. A face that holds a secret (VS Code SecretStorage, an MCP
 * client's configuration) passes the value; BEAM Lens never stores it.
 */
export type CookieInput =
  /** The cookie itself: `--cookie C` or a secret the face keeps. */
  | { kind: 'value'; value: string }
  /** A file holding it (first line, as Erlang reads it). */
  | { kind: 'file'; path: string }
  /** ~/.erlang.cookie of `home` (default: the user's home directory). */
  | { kind: 'default' }
  /** Already resolved (e.g. a face checked it before asking more questions). */
  | { kind: 'resolved'; cookie: Cookie };

/** Everything needed to attach. */
export interface AttachRequest extends TargetInput {
  /** Default: ~/.erlang.cookie. */
  cookie?: CookieInput;
  /** Environment tag (default 'local'); production asks for the node name before any change. */
  env?: EnvTag;
  /** Consent given up front (CLI flags; an MCP pre-approval). */
  grants?: ConsentGrants;
  /** Bound on each attach step in ms (default 5000). */
  timeoutMs?: number;
  /** Home directory for ~/.erlang.cookie (default os.homedir()). */
  home?: string;
  /** Where the probe's files are (default: next to the bundle). */
  probeDir?: string;
  /** TLS distribution (file paths, never key contents): --tls-cert/--tls-key/--tls-ca/--tls-insecure/--ssl-dist-optfile. */
  tls?: TlsFlagValues;
  /** Largest message the node may send, in MiB (default 64; what it may decode to is 1.5x that). */
  maxMessageMb?: number;
  /** Told about risks that do not stop the attach: a cookie or key file others can read, --tls-insecure. */
  warn?: (message: string) => void;
}

/** The cookie for a request. Throws 'usage' with what to do (which file is missing, that it is empty). */
export async function resolveAttachCookie(input: CookieInput | undefined, home?: string, warn?: (message: string) => void): Promise<Cookie> {
  const c = input ?? { kind: 'default' };
  const w = warn !== undefined ? { warn } : {};
  switch (c.kind) {
    case 'value':
      return resolveCookie({ cookie: c.value });
    case 'file':
      return resolveCookie({ cookieFile: c.path, ...w });
    case 'default':
      return resolveCookie({ ...(home !== undefined ? { home } : {}), ...w });
    case 'resolved':
      return c.cookie;
  }
}

/** Checks a timeout given by a person (flag, setting). Throws 'usage'. */
export function checkTimeoutMs(ms: number): number {
  if (!Number.isFinite(ms) || ms < 100 || ms > 600_000) throw new BeamLensError('usage', `the connection timeout must be from 100 to 600000 ms, got ${ms}`);
  return ms;
}

/** Marks any error raised while attaching with phase 'attach' (non-BeamLens errors become 'internal'). */
export function attachError(err: unknown): BeamLensError {
  const e = toBeamLensError(err);
  e.phase = 'attach';
  return e;
}

/**
 * Attaches to a node and returns the Attachment (detach() undoes everything we set and closes the
 * connection). Throws a BeamLensError with phase 'attach': 'usage' (bad name, port, cookie file),
 * 'auth', 'noSuchNode', 'unreachable', 'timeout', 'protocol', 'capability', 'nodeDown'.
 */
export async function attach(request: AttachRequest): Promise<Attachment> {
  try {
    const target: AttachTarget = parseTarget(request);
    const timeoutMs = checkTimeoutMs(request.timeoutMs ?? DEFAULT_ATTACH_TIMEOUT_MS);
    const warn = request.warn ?? ((): void => undefined);
    const tls = request.tls !== undefined ? await tlsFromFlags(request.tls, warn) : undefined;
    const cookie = await resolveAttachCookie(request.cookie, request.home, warn);
    const connection: NodeConnection = await connect({
      node: target.node,
      cookie,
      host: target.host,
      ...(target.port !== undefined ? { port: target.port } : {}),
      ...(tls !== undefined ? { tls } : {}),
      ...(request.maxMessageMb !== undefined ? { limits: limitsForMessageMb(request.maxMessageMb) } : {}),
      timeoutMs,
    });
    return new Attachment(connection, {
      env: request.env ?? 'local',
      grants: { ...(request.grants ?? {}) },
      target,
      ...(request.probeDir !== undefined ? { probeDir: request.probeDir } : {}),
    });
  } catch (err) {
    throw attachError(err);
  }
}
