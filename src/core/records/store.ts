// Saved session results: `.beam-lens/sessions/ID.json` in the working directory (or a path
// given), so a session can be reopened offline and compared with a later one.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

export function loadSession(file: string): SessionRecord {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SessionFileError(`cannot read session file ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new SessionFileError(`${file} is not a BEAM Lens session file (not JSON)`);
  }
  const r = data as Partial<SessionRecord>;
  if (r.format !== 1 || typeof r.kind !== 'string' || typeof r.node !== 'string' || r.result === undefined) {
    throw new SessionFileError(`${file} is not a BEAM Lens session file (missing format/kind/node/result)`);
  }
  return r as SessionRecord;
}
