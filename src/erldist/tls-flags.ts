// Turns the TLS connection flags (--tls-cert, --tls-key, --tls-ca, --tls-insecure,
// --ssl-dist-optfile) into TlsOptions. Self-contained so every face (CLI, language server, MCP)
// can plug it into its connection flags. Reads only the files named; warns about key files others
// can read; never puts key material in a message.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DistError } from './errors';
import { ErlTextError, proplist, readTerms, textOf, type ErlText } from './erl-term-text';
import { TlsSecret, type TlsOptions } from './tls';

export interface TlsFlagValues {
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsInsecure?: boolean;
  sslDistOptfile?: string;
}

/** The flag names, as the CLI and the language server spell them. */
export const TLS_FLAG_NAMES = ['tls-cert', 'tls-key', 'tls-ca', 'tls-insecure', 'ssl-dist-optfile'] as const;

export const TLS_FLAG_HELP: Record<(typeof TLS_FLAG_NAMES)[number], { value?: string; description: string }> = {
  'tls-cert': { value: 'F', description: 'TLS distribution: our client certificate (PEM)' },
  'tls-key': { value: 'F', description: 'TLS distribution: the key of --tls-cert (PEM; default: in the --tls-cert file)' },
  'tls-ca': { value: 'F', description: "TLS distribution: CA certificates that sign the node's certificate (PEM)" },
  'tls-insecure': { description: "TLS distribution without checking the node's certificate (warns; not for production)" },
  'ssl-dist-optfile': { value: 'F', description: "TLS distribution with the client options of the node's -ssl_dist_optfile" },
};

/** Reads the four values from flags named as in TLS_FLAG_NAMES (CLI style). */
export function tlsFlagValues(get: (name: string) => string | boolean | number | undefined): TlsFlagValues {
  const s = (n: string): string | undefined => {
    const v = get(n);
    return typeof v === 'string' ? v : undefined;
  };
  const out: TlsFlagValues = {};
  const cert = s('tls-cert');
  const key = s('tls-key');
  const ca = s('tls-ca');
  const opt = s('ssl-dist-optfile');
  if (cert !== undefined) out.tlsCert = cert;
  if (key !== undefined) out.tlsKey = key;
  if (ca !== undefined) out.tlsCa = ca;
  if (opt !== undefined) out.sslDistOptfile = opt;
  if (get('tls-insecure') === true) out.tlsInsecure = true;
  return out;
}

/** TlsOptions from the flags, or undefined when none is given (plain TCP distribution). */
export async function tlsFromFlags(f: TlsFlagValues, warn: (message: string) => void): Promise<TlsOptions | undefined> {
  const direct = f.tlsCert !== undefined || f.tlsKey !== undefined || f.tlsCa !== undefined;
  if (!direct && f.sslDistOptfile === undefined && f.tlsInsecure !== true) return undefined;
  if (direct && f.sslDistOptfile !== undefined) throw new DistError('usage', 'give either --ssl-dist-optfile or --tls-cert/--tls-key/--tls-ca, not both');
  if (f.tlsKey !== undefined && f.tlsCert === undefined) throw new DistError('usage', '--tls-key needs --tls-cert (the certificate the key belongs to)');
  let files: { cert?: string; key?: string; ca?: string; password?: string; verify: boolean; serverName?: string | false };
  let source: string;
  if (f.sslDistOptfile !== undefined) {
    files = await readOptfile(f.sslDistOptfile);
    source = f.sslDistOptfile;
  } else {
    files = { verify: true, ...(f.tlsCert !== undefined ? { cert: f.tlsCert } : {}), ...(f.tlsKey !== undefined ? { key: f.tlsKey } : {}), ...(f.tlsCa !== undefined ? { ca: f.tlsCa } : {}) };
    source = '--tls-ca';
  }
  if (f.tlsInsecure === true) files.verify = false;
  if (!files.verify) {
    warn(
      `warning: the node's TLS certificate is not checked (${f.tlsInsecure === true ? '--tls-insecure' : `{verify, verify_none} in ${source}`}): ` +
        'anyone between you and the node can pose as it. Use only on a network you trust.',
    );
  }
  const out: TlsOptions = { verify: files.verify, source };
  if (files.serverName !== undefined) out.serverName = files.serverName;
  if (files.cert !== undefined) out.cert = await readPem(files.cert, 'certificate', /-----BEGIN CERTIFICATE-----/);
  const keyFile = files.key ?? files.cert;
  if (keyFile !== undefined) {
    await warnIfShared(keyFile, 'TLS key file', warn);
    const key = await readPem(keyFile, 'key', /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/, files.key === undefined ? ' (no --tls-key given, so the key must be in the --tls-cert file)' : '');
    out.key = new TlsSecret(key);
  }
  if (files.password !== undefined) out.passphrase = new TlsSecret(Buffer.from(files.password, 'utf8'));
  if (files.ca !== undefined) out.ca = await readPem(files.ca, 'CA certificate', /-----BEGIN CERTIFICATE-----/);
  return out;
}

/** Warns when a secret file (cookie, key) can be read by users other than its owner. */
export async function warnIfShared(file: string, what: string, warn: (message: string) => void): Promise<void> {
  try {
    const st = await stat(file);
    if ((st.mode & 0o077) !== 0) {
      warn(`warning: the ${what} ${file} can be read by other users (mode ${(st.mode & 0o777).toString(8).padStart(3, '0')}): run chmod 600 ${file}`);
    }
  } catch {
    // A missing file is reported by the reader with a better message.
  }
}

async function readPem(file: string, what: string, marker: RegExp, hint = ''): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DistError('usage', `the TLS ${what} file ${file} ${code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : `cannot be read (${code})`}`);
  }
  if (bytes.length > 1024 * 1024) throw new DistError('usage', `the TLS ${what} file ${file} is over 1 MiB: not a PEM file`);
  // Only the marker is looked at: the content (a key) never goes into a message.
  if (!marker.test(bytes.toString('latin1'))) throw new DistError('usage', `the TLS ${what} file ${file} holds no PEM ${what}${hint}`);
  return bytes;
}

async function readOptfile(file: string): Promise<{ cert?: string; key?: string; ca?: string; password?: string; verify: boolean; serverName?: string | false }> {
  let text: string;
  try {
    const st = await stat(file);
    if (st.size > 256 * 1024) throw new DistError('usage', `the ssl_dist_optfile ${file} is over 256 KiB: not an options file`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof DistError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new DistError('usage', `the ssl_dist_optfile ${file} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}`);
  }
  let terms: ErlText[];
  try {
    terms = readTerms(text);
  } catch (err) {
    if (err instanceof ErlTextError) throw new DistError('usage', `the ssl_dist_optfile ${file} is not Erlang terms (${err.message})`);
    throw err;
  }
  // The file holds one list [{server, Opts}, {client, Opts}] (as -ssl_dist_optfile expects).
  const top = terms.length === 1 ? terms[0] : { t: 'list' as const, items: terms };
  const sections = proplist(top);
  const client = sections.get('client');
  if (client === undefined) {
    throw new DistError('usage', `the ssl_dist_optfile ${file} has no {client, [...]} options; BEAM Lens connects as a client (add them, or pass --tls-cert/--tls-key/--tls-ca)`);
  }
  const opts = proplist(client);
  const rel = (p: string | undefined): string | undefined => (p === undefined ? undefined : path.resolve(path.dirname(file), p));
  const verify = opts.get('verify');
  const sni = opts.get('server_name_indication');
  const out: { cert?: string; key?: string; ca?: string; password?: string; verify: boolean; serverName?: string | false } = {
    // BEAM Lens checks the node's certificate unless the file says {verify, verify_none} (as OTP 26+ does).
    verify: !(verify?.t === 'atom' && verify.v === 'verify_none'),
  };
  const cert = rel(textOf(opts.get('certfile')));
  const key = rel(textOf(opts.get('keyfile')));
  const ca = rel(textOf(opts.get('cacertfile')));
  const password = textOf(opts.get('password'));
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  if (ca !== undefined) out.ca = ca;
  if (password !== undefined) out.password = password;
  if (sni?.t === 'atom' && sni.v === 'disable') out.serverName = false;
  else if (textOf(sni) !== undefined) out.serverName = textOf(sni) as string;
  return out;
}
