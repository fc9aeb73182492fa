// The audit log: every intrusive action (loading the probe, setting trace patterns or flags,
// taking the system monitor) is appended as one JSON line. Never a cookie or other secret.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export interface AuditEntry {
  time: string;
  node: string;
  env: string;
  action: string;
  limits?: Record<string, unknown>;
  outcome: string;
  detail?: string;
}

export interface AuditLog {
  append(entry: Omit<AuditEntry, 'time'>): void;
}

/** An audit log in `.beam-lens/audit.log` under `cwd` (or the file given). */
export function fileAuditLog(options: { cwd: string; file?: string }): AuditLog & { file: string } {
  const file = options.file ? path.resolve(options.cwd, options.file) : path.join(options.cwd, '.beam-lens', 'audit.log');
  return {
    file,
    append(entry) {
      mkdirSync(path.dirname(file), { recursive: true });
      appendFileSync(file, JSON.stringify({ time: new Date().toISOString(), ...entry }) + '\n');
    },
  };
}

export const noAudit: AuditLog = { append: () => undefined };
