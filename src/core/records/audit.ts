// The audit log: every intrusive action (loading the probe, setting trace patterns or flags,
// taking the system monitor) is appended as one JSON line, saying which face asked (and which
// client, for the language server and MCP). Never a cookie or other secret.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { BeamLensError } from '../../errors';

/** The face that asked for an action. */
export type AuditFace = 'cli' | 'vscode' | 'lsp' | 'mcp';

/** Who asked: the face, and for LSP/MCP the client that said its name (and version). */
export interface AuditActor {
  face: AuditFace;
  client?: { name: string; version?: string };
}

/** One line of the audit log. */
export interface AuditEntry extends AuditActor {
  time: string;
  node: string;
  env: string;
  action: string;
  limits?: Record<string, unknown>;
  /** 'requested' at a start; at an end the session's end reason, 'refused' or 'error'. */
  outcome: string;
  detail?: string;
  /** The saved session record (file name), on an end line. */
  session?: string;
}

/** What a caller gives; the log adds the time and who asked. */
export type AuditInput = Omit<AuditEntry, 'time' | 'face' | 'client'>;

export interface AuditLog {
  /** Appends one entry. Throws a BeamLensError of kind 'io' when the file cannot be written. */
  append(entry: AuditInput): void;
}

/** An audit log in `.beam-lens/audit.log` under `cwd` (or the file given), written as `actor`. */
export function fileAuditLog(options: { cwd: string; file?: string; actor: AuditActor }): AuditLog & { file: string } {
  const file = options.file ? path.resolve(options.cwd, options.file) : path.join(options.cwd, '.beam-lens', 'audit.log');
  const { face, client } = options.actor;
  return {
    file,
    append(entry) {
      const line: AuditEntry = { time: new Date().toISOString(), face, ...(client ? { client } : {}), ...entry };
      try {
        mkdirSync(path.dirname(file), { recursive: true });
        appendFileSync(file, JSON.stringify(line) + '\n');
      } catch (err) {
        throw new BeamLensError('io', `cannot write the audit log ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}); intrusive actions are not run without it`, { cause: err });
      }
    },
  };
}
