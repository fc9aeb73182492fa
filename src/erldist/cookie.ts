// The cookie is a secret: it is held in a Cookie whose every printable form is redacted, so it
// cannot end up in an error message, a log line, JSON output or a file by accident.
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { DistError } from './errors';

const secret = new WeakMap<Cookie, string>();

export class Cookie {
  constructor(value: string) {
    secret.set(this, value);
  }
  /** The secret itself; only the handshake digest calls this. */
  reveal(): string {
    return secret.get(this) as string;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'Cookie([redacted])';
  }
}

export interface CookieSource {
  cookie?: string;
  cookieFile?: string;
  /** Home directory to find .erlang.cookie in (default: os.homedir()). */
  home?: string;
  /** Told when the cookie file can be read by users other than its owner. */
  warn?: (message: string) => void;
}

/** The cookie from --cookie, else --cookie-file, else ~/.erlang.cookie (as Erlang itself reads it). */
export async function resolveCookie(source: CookieSource): Promise<Cookie> {
  if (source.cookie !== undefined) {
    if (source.cookie.length === 0) throw new DistError('usage', 'the cookie given with --cookie is empty');
    return new Cookie(source.cookie);
  }
  const file = source.cookieFile ?? path.join(source.home ?? homedir(), '.erlang.cookie');
  let text: string;
  try {
    text = await readFile(file, 'latin1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : `cannot be read (${code})`;
    throw new DistError(
      'usage',
      source.cookieFile !== undefined
        ? `the cookie file ${file} ${what}`
        : `no cookie given and ${file} ${what}: pass --cookie-file FILE (or --cookie C)`,
    );
  }
  if (source.warn) {
    const mode = await stat(file).then((st) => st.mode & 0o777, () => 0);
    if ((mode & 0o077) !== 0) {
      source.warn(`warning: the cookie file ${file} can be read by other users (mode ${mode.toString(8).padStart(3, '0')}): run chmod 600 ${file}`);
    }
  }
  // Erlang uses the first line, without trailing blanks.
  const value = (text.split(/\r?\n/)[0] ?? '').trim();
  if (value.length === 0) throw new DistError('usage', `the cookie file ${file} is empty`);
  return new Cookie(value);
}
