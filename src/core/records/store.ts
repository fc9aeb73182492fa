// Saved session results: `.beam-lens/sessions/ID.json` in the working directory (or a path
// given), so a session can be reopened offline and compared with a later one.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { BeamLensError } from '../../errors';

export type SessionKind = 'hot' | 'mailboxes' | 'trace' | 'trace-messages' | 'monitor' | 'report' | 'profile' | 'telemetry' | 'bin-leak';

export type EndReason = 'completed' | 'deadline' | 'cap' | 'stopped' | 'breaker' | 'owner_down' | 'process_down' | 'taken_over' | 'error';

export interface SessionRecord<R = unknown> {
  /** Format version of this file. */
  format: 1;
  id: string;
  kind: SessionKind;
  node: string;
  env: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  limits: Record<string, unknown>;
  endReason: EndReason;
  /** Human-readable detail of why it ended (e.g. which breaker threshold). */
  endDetail?: string;
  result: R;
}

export function newSessionId(kind: SessionKind, at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${kind}-${randomBytes(3).toString('hex')}`;
}

export function sessionsDir(cwd: string): string {
  return path.join(cwd, '.beam-lens', 'sessions');
}

/** Writes the record as JSON; returns the file written. */
export function saveSession(record: SessionRecord, options: { cwd: string; file?: string }): string {
  const file = options.file ? path.resolve(options.cwd, options.file) : path.join(sessionsDir(options.cwd), `${record.id}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
  return file;
}

/** A session file that cannot be read or is not ours (kind 'usage': the user named the file). */
export class SessionFileError extends BeamLensError {
  constructor(message: string) {
    super('usage', message);
    this.name = 'SessionFileError';
  }
}

/**
 * The largest session file read back. The largest run BEAM Lens records (a profile of 1,000,000
 * samples) saves about 85 MB; a bigger file is not one of ours or would exhaust the editor's memory.
 */
export const SESSION_FILE_MAX_BYTES = 256 * 1024 * 1024;

/** The text of a file named by the user, refused past `maxBytes` before it is read. */
export function readBoundedFile(file: string, maxBytes: number, what = 'session file'): string {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw notAFile(file, what);
    size = st.size;
  } catch (err) {
    throw readError(err, file, what);
  }
  checkSize(file, size, maxBytes, what);
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw readError(err, file, what);
  }
}

/**
 * readBoundedFile's checks without blocking: the bytes of the file (read by the thread pool; the
 * caller decodes them as it parses, see json-steps.ts) and its modification time.
 */
export async function readBoundedBytes(file: string, maxBytes: number, what = 'session file'): Promise<{ bytes: Buffer; mtime: Date }> {
  let st: Stats;
  try {
    st = await stat(file);
    if (!st.isFile()) throw notAFile(file, what);
  } catch (err) {
    throw readError(err, file, what);
  }
  checkSize(file, st.size, maxBytes, what);
  try {
    return { bytes: await readFile(file), mtime: st.mtime };
  } catch (err) {
    throw readError(err, file, what);
  }
}

function notAFile(file: string, what: string): SessionFileError {
  return new SessionFileError(`${file} is not a file: give the path of a ${what}`);
}

function readError(err: unknown, file: string, what: string): SessionFileError {
  if (err instanceof SessionFileError) return err;
  return new SessionFileError(`cannot read ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
}

function checkSize(file: string, size: number, maxBytes: number, what: string): void {
  if (size > maxBytes) {
    throw new SessionFileError(`${file} is ${mb(size)}, more than the ${mb(maxBytes)} BEAM Lens reads as a ${what}: is it the right file? (record a shorter profile with a lower --hz or --duration)`);
  }
}

function mb(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

export function loadSession(file: string, options: { maxBytes?: number } = {}): SessionRecord {
  return sessionOf(file, parseJsonFile(file, readBoundedFile(file, options.maxBytes ?? SESSION_FILE_MAX_BYTES)));
}

/** JSON text of a file named by the user; not JSON is a usage error naming the file. */
export function parseJsonFile(file: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SessionFileError(`${file} is not a BEAM Lens session file (not JSON)`);
  }
}

/** A parsed session file checked for the record's header fields. */
export function sessionOf(file: string, data: unknown): SessionRecord {
  const r = (typeof data === 'object' && data !== null && !Array.isArray(data) ? data : {}) as Partial<SessionRecord>;
  if (r.format !== 1 || typeof r.kind !== 'string' || typeof r.node !== 'string' || r.result === undefined) {
    throw new SessionFileError(`${file} is not a BEAM Lens session file (missing format/kind/node/result)`);
  }
  return r as SessionRecord;
}
