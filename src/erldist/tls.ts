// TLS distribution (inet_tls_dist): the same EPMD lookup, then TLS from the first byte on the
// node's port, and the usual distribution handshake inside it. Key material is held redacted.
import { inspect } from 'node:util';
import tls from 'node:tls';
import { DistError } from './errors';
import { whenReady } from './socket-util';

const secrets = new WeakMap<TlsSecret, Buffer>();

/** A private key or its passphrase: every printable form is redacted. */
export class TlsSecret {
  constructor(value: Buffer) {
    secrets.set(this, value);
  }
  /** The bytes themselves; only the TLS connect calls this. */
  reveal(): Buffer {
    return secrets.get(this) as Buffer;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'TlsSecret([redacted])';
  }
}

export interface TlsOptions {
  /** Our client certificate chain (PEM), when the node asks for one (mutual TLS). */
  cert?: Buffer;
  key?: TlsSecret;
  passphrase?: TlsSecret;
  /** CAs that may sign the node's certificate (PEM); default: Node's bundled roots. */
  ca?: Buffer;
  /** Check the node's certificate and host name (default true; false only for --tls-insecure). */
  verify: boolean;
  /** Name the node's certificate must carry (default: the host part of the node name); false skips the name check. */
  serverName?: string | false;
  /** Where these options came from, for messages (e.g. "--tls-cert/--tls-key/--tls-ca", "ssl_dist.conf"). */
  source: string;
}

const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
]);

/** Opens TLS to a node's distribution port; resolves once the TLS handshake is done. */
export function connectTls(host: string, port: number, node: string, nodeHost: string, options: TlsOptions, timeoutMs: number): Promise<tls.TLSSocket> {
  const serverName = options.serverName === undefined ? nodeHost : options.serverName;
  const socket = tls.connect({
    host,
    port,
    ...(options.cert ? { cert: options.cert } : {}),
    ...(options.key ? { key: options.key.reveal() } : {}),
    ...(options.passphrase ? { passphrase: options.passphrase.reveal().toString('utf8') } : {}),
    ...(options.ca ? { ca: options.ca } : {}),
    rejectUnauthorized: options.verify,
    // SNI only for names; the identity is checked against the node's host, not the address we dial (a tunnel).
    ...(serverName !== false && !/^[\d.:]+$/.test(serverName) ? { servername: serverName } : {}),
    checkServerIdentity: (_host, cert) => (serverName === false || !options.verify ? undefined : tls.checkServerIdentity(serverName, cert)),
  });
  return whenReady(
    socket,
    'secureConnect',
    timeoutMs,
    () =>
      new DistError(
        'timeout',
        `node ${node} at ${host}:${port} did not start a TLS session within ${timeoutMs} ms: it may use plain TCP distribution (drop the TLS options), or the port is not a node's`,
        'notTls',
      ),
    (err) => tlsProblem(err, node, `${host}:${port}`, options, serverName) ?? new DistError('unreachable', `cannot reach node ${node} at ${host}:${port} (${err.code ?? err.message})`),
  );
}

/** A person's reading of a TLS failure, or null when `err` is not about TLS. */
export function tlsProblem(err: NodeJS.ErrnoException, node: string, where: string, options: TlsOptions, serverName: string | false = false): DistError | null {
  const code = err.code ?? '';
  const fromFile = options.source.startsWith('--') ? '' : ` (or fix cacertfile in ${options.source})`;
  const caHint = `pass --tls-ca FILE with the CA that signed it${fromFile}; --tls-insecure skips the check (not for production)`;
  if (UNTRUSTED.has(code)) {
    return new DistError('auth', `the TLS certificate of node ${node} is not trusted (${err.message}): ${caHint}`, 'untrustedServer');
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return new DistError('auth', `the TLS certificate of node ${node} is not valid now (${err.message}); renew it on the node`, 'badServerCert');
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new DistError(
      'auth',
      `the TLS certificate of node ${node} is not for host "${serverName === false ? '' : serverName}" (${err.message}); give the certificate that name, or set server_name_indication in ${options.source}`,
      'badServerCert',
    );
  }
  if (/ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|ACCESS_DENIED|CERTIFICATE_EXPIRED|UNSUPPORTED_CERTIFICATE|CERTIFICATE_REVOKED|HANDSHAKE_FAILURE|DECRYPT_ERROR)/.test(code)) {
    const why =
      options.cert === undefined
        ? 'it requires a client certificate and we sent none: pass --tls-cert F --tls-key F (or --ssl-dist-optfile F)'
        : "check that the client certificate is signed by a CA in the node's cacertfile and is valid now";
    return new DistError('auth', `node ${node} rejected our TLS client certificate (${alertName(code)}): ${why}`, options.cert === undefined ? 'clientCertMissing' : 'clientCertRejected');
  }
  if (/ALERT/.test(code)) return new DistError('auth', `node ${node} refused the TLS connection (${alertName(code)}) — see its log`, 'tlsFailed');
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || /ECONNRESET|EPIPE/.test(code) || /before secure TLS connection/.test(err.message)) {
    return new DistError(
      'capability',
      `node ${node} at ${where} did not answer TLS (${err.message}): it probably uses plain TCP distribution; drop the TLS options`,
      'notTls',
    );
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code.startsWith('ERR_OSSL')) {
    return new DistError('auth', `TLS with node ${node} failed (${err.message})`, 'tlsFailed');
  }
  return null;
}

function alertName(code: string): string {
  const m = /ALERT_([A-Z_]+)/.exec(code);
  return m ? `TLS alert ${(m[1] as string).toLowerCase().replace(/_/g, ' ')}` : code;
}
