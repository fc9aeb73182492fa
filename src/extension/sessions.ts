// Bounded sessions started from the editor (hot functions, mailbox watch, message trace): the
// user's consent asked in a dialog, then core's audited run service (consent check -> audit start
// -> run with stop -> save JSON and .beamtrace -> audit end). The node's scope owns the run (detach
// stops it and awaits its cleanup); the progress toast and the status bar can stop it too.
import * as vscode from 'vscode';
import { withLinkedSignal } from '../core/runs/cancel';
import type { IntrusiveAction } from '../core/attach/consent';
import { printableLimits, runAudited, type RunOutcome, type RunResult } from '../core/runs/run';
import type { SessionKind } from '../core/records/store';
import { parseRate, runTrace, type TraceResult } from '../core/runs/trace';
import { traceLine } from '../core/records/trace-log';
import type { AuditLog } from '../core/records/audit';
import type { Log } from './log';
import type { AttachedNode } from './nodes';
import { askConsent } from './consent';

export interface SessionDeps {
  log: Log;
  workspaceDir(): string | undefined;
  config(): vscode.WorkspaceConfiguration;
}

/** Work of the node's scope with a cancellable progress toast (the scope aborts it on detach). */
export function withCancellableProgress<T>(n: AttachedNode, title: string, label: string, body: (signal: AbortSignal) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (_p, token) =>
    n.runTask(label, (signal) => withLinkedSignal([signal, token], body)),
  );
}

/** The editor's audit log as core's AuditLog (entries also go to the output channel). */
export function auditLogOf(log: Log): AuditLog {
  return { append: (entry) => log.audit(entry) };
}

/** One audited, saved session: core's run service, cancellable from the toast and the status bar. */
export async function runSession<T>(
  deps: SessionDeps,
  n: AttachedNode,
  kind: SessionKind,
  consent: readonly IntrusiveAction[],
  limits: Record<string, unknown>,
  label: string,
  body: (signal: AbortSignal) => Promise<RunOutcome<T>>,
  traceLog?: (value: T) => { target: string; limits: Record<string, string | number>; result: TraceResult },
): Promise<RunResult<T>> {
  const dir = deps.workspaceDir();
  const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `BEAM Lens: ${label}`, cancellable: true }, (_p, token) =>
    n.runTask(label, (signal) =>
      runAudited<T>({
        session: n.session,
        kind,
        limits,
        consent,
        audit: auditLogOf(deps.log),
        stop: [signal, token],
        save: dir ? { cwd: dir } : null,
        ...(traceLog ? { traceLog } : {}),
        body,
      }),
    ),
  );
  if (r.file) deps.log.info(`session saved: ${r.file}${r.traceLogFile ? ` and ${r.traceLogFile}` : ''}`);
  return r;
}

export async function traceMessages(deps: SessionDeps, n: AttachedNode, pid: string): Promise<void> {
  const cfg = deps.config();
  const rate = parseRate(cfg.get<string>('trace.rate', '10/1s'));
  const cap = cfg.get<number>('trace.limit', 100);
  const seconds = cfg.get<number>('trace.durationSeconds', 30);
  if (!(await askConsent(n, ['probe', 'trace'], `trace the messages ${pid} sends and receives (at most ${cap} events, ${seconds} s)`, deps.log))) return;
  const doc = await vscode.workspace.openTextDocument({ language: 'beamtrace', content: `# tracing messages of ${pid} on ${n.node}…\n` });
  await vscode.window.showTextDocument(doc, { preview: false });
  const lines: string[] = [];
  const limits = { rate: `${rate.count}/${rate.perMs}ms`, limit: cap, duration: `${seconds}s`, pid };
  const r = await runSession<TraceResult>(
    deps,
    n,
    'trace-messages',
    ['trace', 'probe'],
    limits,
    `tracing messages of ${pid}`,
    async (signal) => {
      const t = await runTrace(n.session, { kind: 'messages', pid }, { rate, cap, deadlineMs: seconds * 1000, maxChars: 300 }, (e) => lines.push(traceLine(e)), signal);
      return { value: t, endReason: t.endReason };
    },
    (result) => ({ target: `messages of ${pid}`, limits: printableLimits(limits), result }),
  );
  const editor = vscode.window.visibleTextEditors.find((e) => e.document === doc);
  if (editor && r.traceLog !== null) {
    const text = r.traceLog;
    await editor.edit((b) => b.replace(new vscode.Range(0, 0, doc.lineCount, 0), text));
  }
}
