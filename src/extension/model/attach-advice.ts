// Pure parts of attaching with TLS and of reacting to a failed attach (no 'vscode': unit-tested):
// the TLS settings of a saved connection (file paths only, never key contents), their
// validation for the dialog, and — by the error's kind and TLS issue, never its text — what the
// editor says and which actions it offers (cookie again, host:port, TLS files, CA file, plain TCP).
import path from 'node:path';
import type { ErrorKind } from '../../errors';
import type { TlsFlagValues, TlsIssue } from '../../erldist';

/** TLS distribution of a saved connection: paths of files the user named, and whether the node's certificate is checked. */
export interface SavedTls {
  /** Our client certificate (PEM). */
  cert?: string;
  /** Its key (PEM); absent: in the certificate file. */
  key?: string;
  /** CAs that sign the node's certificate (PEM); absent: the system's. */
  ca?: string;
  /** The node's -ssl_dist_optfile (its client options are used) instead of the three files. */
  optfile?: string;
  /** Do not check the node's certificate (warned on every attach). */
  insecure?: boolean;
}

/** What core's attach service takes (the same flags as the CLI's --tls-…). */
export function tlsFlagsOf(t: SavedTls | undefined): TlsFlagValues | undefined {
  if (t === undefined) return undefined;
  const f: TlsFlagValues = {};
  if (t.optfile !== undefined) f.sslDistOptfile = t.optfile;
  if (t.cert !== undefined) f.tlsCert = t.cert;
  if (t.key !== undefined) f.tlsKey = t.key;
  if (t.ca !== undefined) f.tlsCa = t.ca;
  if (t.insecure === true) f.tlsInsecure = true;
  return f;
}

/** The reverse of tlsFlagsOf (a lost node's target back into a saved connection). */
export function savedTlsOf(f: TlsFlagValues): SavedTls {
  return {
    ...(f.sslDistOptfile !== undefined ? { optfile: f.sslDistOptfile } : {}),
    ...(f.tlsCert !== undefined ? { cert: f.tlsCert } : {}),
    ...(f.tlsKey !== undefined ? { key: f.tlsKey } : {}),
    ...(f.tlsCa !== undefined ? { ca: f.tlsCa } : {}),
    ...(f.tlsInsecure === true ? { insecure: true } : {}),
  };
}

/** One line for the picker and the sidebar's tooltip. */
export function describeTls(t: SavedTls | undefined): string {
  if (t === undefined) return 'plain TCP';
  const what = t.optfile !== undefined ? `TLS with ${path.basename(t.optfile)}` : t.cert !== undefined ? `TLS with ${path.basename(t.cert)}` : 'TLS without a client certificate';
  return t.insecure === true ? `${what} · node certificate NOT checked` : what;
}

export type FileState = 'file' | 'directory' | 'missing' | 'unreadable';

/**
 * Checks a path typed into the TLS dialog (null when fine). Empty is fine when `optional`.
 * `state` says what is at the path (the caller looks; this stays pure).
 */
export function tlsPathProblem(text: string, what: string, optional: boolean, state: (p: string) => FileState): string | null {
  const p = text.trim();
  if (p === '') return optional ? null : `Enter the path of the ${what}`;
  if (!path.isAbsolute(p)) return `Give the full path of the ${what} (it starts with /)`;
  switch (state(p)) {
    case 'file':
      return null;
    case 'directory':
      return `${p} is a folder: give the ${what} file`;
    case 'missing':
      return `${p} does not exist`;
    case 'unreadable':
      return `${p} cannot be read by VS Code (check its permissions)`;
  }
}

/** Checks a whole TLS setting before attaching (null when fine); core checks the files' contents. */
export function tlsSettingsProblem(t: SavedTls): string | null {
  const direct = t.cert !== undefined || t.key !== undefined || t.ca !== undefined;
  if (direct && t.optfile !== undefined) return 'Give either the ssl_dist optfile or the certificate files, not both';
  if (t.key !== undefined && t.cert === undefined) return 'A key needs its client certificate';
  if (!direct && t.optfile === undefined && t.insecure !== true) return 'Give the certificate files or the ssl_dist optfile';
  for (const p of [t.cert, t.key, t.ca, t.optfile]) if (p !== undefined && !path.isAbsolute(p)) return `Give full paths (${p} is relative)`;
  return null;
}

/** What the user can do about a failed attach; each is a button of the error notification. */
export type AttachAction = 'cookieAgain' | 'hostPort' | 'setUpTls' | 'chooseCa' | 'withoutTls';

export const ACTION_LABELS: Record<AttachAction, string> = {
  cookieAgain: 'Enter the Cookie Again…',
  hostPort: 'Use host:port…',
  setUpTls: 'Set Up TLS…',
  chooseCa: 'Choose CA File…',
  withoutTls: 'Attach Without TLS',
};

export interface AttachAdvice {
  text: string;
  actions: AttachAction[];
}

/**
 * The notification for a failed attach. `kind` and `tlsIssue` come from the error (core's closed
 * union); `message` is core's text, used only as the detail. TLS failures speak of files in the
 * editor (core's own text names the CLI's flags).
 */
export function attachAdvice(node: string, err: { kind: ErrorKind; tlsIssue?: TlsIssue; message: string }, c: { port?: number; tls?: SavedTls }): AttachAdvice {
  const head = `BEAM Lens: cannot attach to ${node}`;
  switch (err.tlsIssue) {
    case 'tlsRequired':
      return { text: `${head}: it uses TLS distribution (-proto_dist inet_tls). Give your client certificate, its key and the CA that signed the node's certificate, or the node's ssl_dist optfile.`, actions: ['setUpTls'] };
    case 'maybeTls':
      return {
        text: `${head}: the node closed the connection before the handshake started. It may use TLS distribution (set up TLS for it), refuse hidden nodes, or need a distribution capability BEAM Lens lacks; the node's log says why.`,
        actions: ['setUpTls'],
      };
    case 'notTls':
      return { text: `${head}: it did not answer TLS; it probably uses plain TCP distribution. Attach without TLS, or check the node's -proto_dist.`, actions: ['withoutTls', 'setUpTls'] };
    case 'untrustedServer':
      return {
        text: `${head}: the node's TLS certificate is not trusted (${c.tls?.ca !== undefined ? `not signed by a CA in ${path.basename(c.tls.ca)}` : 'no CA file given'}). Choose the CA file that signed it${c.tls?.optfile !== undefined ? ` (or fix cacertfile in ${path.basename(c.tls.optfile)})` : ''}.`,
        actions: c.tls?.optfile !== undefined ? ['setUpTls'] : ['chooseCa', 'setUpTls'],
      };
    case 'badServerCert':
      return { text: `${head}: ${err.message}`, actions: ['setUpTls'] };
    case 'clientCertMissing':
      return { text: `${head}: the node requires a client certificate and none was given. Give your client certificate and its key.`, actions: ['setUpTls'] };
    case 'clientCertRejected':
      return { text: `${head}: the node rejected our client certificate${c.tls?.cert !== undefined ? ` ${path.basename(c.tls.cert)}` : ''}. Use a certificate signed by a CA in the node's cacertfile, valid now.`, actions: ['setUpTls'] };
    case 'tlsFailed':
      return { text: `${head}: ${err.message}`, actions: ['setUpTls'] };
    case undefined:
      break;
  }
  if (err.kind === 'auth') return { text: `${head}: the node rejected the cookie. Enter the right cookie (the node's ~/.erlang.cookie or its -setcookie).`, actions: ['cookieAgain'] };
  if (err.kind === 'unreachable' && c.port === undefined) {
    return { text: `${head}: ${err.message}. If EPMD is not reachable (firewall, SSH tunnel), give the node's own distribution port.`, actions: ['hostPort'] };
  }
  return { text: `${head}: ${err.message}`, actions: [] };
}

/** After a lost node: a failure that means "still not back" (try again later) rather than a setting to fix. */
export function stillDown(kind: ErrorKind): boolean {
  return kind === 'noSuchNode' || kind === 'unreachable' || kind === 'nodeDown' || kind === 'timeout';
}

/**
 * Which views of a lost node to reopen once it is attached again. The node restarted when its
 * uptime is shorter than the time since it was lost (with a second of slack): then a process view
 * is not reopened, since its pid named a process of the previous run (another process now, or none).
 */
export function reopenPlan<S extends { kind: string }>(specs: S[], lostAt: number, now: number, uptimeMs: number | null): { restarted: boolean; reopen: S[]; keepStale: S[] } {
  const restarted = uptimeMs !== null && uptimeMs < now - lostAt + 1000;
  const reopen = specs.filter((s) => !(restarted && s.kind === 'detail'));
  return { restarted, reopen, keepStale: specs.filter((s) => !reopen.includes(s)) };
}
