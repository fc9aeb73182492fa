// The "BEAM Lens" log output channel plus the audit log file: every intrusive action (probe
// load, tracing, detach) is written to both. Cookies never reach either.
import * as vscode from 'vscode';
import { fileAuditLog, type AuditInput, type AuditLog } from '../core/records/audit';

export interface Log extends vscode.Disposable {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** An intrusive action: to the output channel and the audit log. */
  audit(entry: AuditInput): void;
  show(): void;
}

export function createLog(auditDir: string | undefined): Log {
  const channel = vscode.window.createOutputChannel('BEAM Lens', { log: true });
  let audit: AuditLog | null = null;
  const auditLog = (): AuditLog => (audit ??= fileAuditLog({ cwd: auditDir ?? process.cwd(), actor: { face: 'vscode' } }));
  return {
    info: (m) => channel.info(m),
    warn: (m) => channel.warn(m),
    error: (m) => channel.error(m),
    audit(entry) {
      channel.info(`[audit] ${entry.action} on ${entry.node} (${entry.env}): ${entry.outcome}${entry.detail ? ` — ${entry.detail}` : ''}`);
      try {
        auditLog().append(entry);
      } catch (err) {
        channel.warn(`audit log not written: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
    show: () => channel.show(true),
    dispose: () => channel.dispose(),
  };
}
