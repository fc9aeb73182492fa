// Bounded sessions started from the editor (hot functions, mailbox watch, message trace): consent,
// progress with cancel, the node's scope as owner (detach stops them and awaits their cleanup),
// audit and saving.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { newSessionId, saveSession, type SessionKind } from '../core/sessions/store';
import { renderTraceLog, traceLine } from '../core/sessions/trace-log';
import { parseRate, runTrace, type TraceResult } from '../core/sessions/trace';
import { askConsent } from './consent';
import type { Log } from './log';
import type { AttachedNode } from './nodes';

export interface SessionDeps {
  log: Log;
  workspaceDir(): string | undefined;
  config(): vscode.WorkspaceConfiguration;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Work of the node's scope with a cancellable progress toast (the scope aborts it on detach). */
export function withCancellableProgress<T>(n: AttachedNode, title: string, label: string, body: (signal: AbortSignal) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (_p, token) =>
    n.runTask(label, (signal) => {
      const c = new AbortController();
      const sub = token.onCancellationRequested(() => c.abort());
      const onAbort = (): void => c.abort();
      signal.addEventListener('abort', onAbort);
      return body(c.signal).finally(() => {
        sub.dispose();
        signal.removeEventListener('abort', onAbort);
      });
    }),
  );
}

/** A bounded session, cancellable from the status bar and the progress toast, audited and saved. */
export async function runAudited<T>(
  deps: SessionDeps,
  n: AttachedNode,
  kind: SessionKind,
  limits: Record<string, unknown>,
  label: string,
  body: (signal: AbortSignal) => Promise<{ value: T; endReason: string }>,
): Promise<{ value: T; file: string | null }> {
  const { log } = deps;
  const started = new Date();
  log.audit({ node: n.node, env: n.env, action: `${kind} start`, limits, outcome: 'requested' });
  try {
    const r = await withCancellableProgress(n, `BEAM Lens: ${label}`, label, body);
    log.audit({ node: n.node, env: n.env, action: `${kind} end`, limits, outcome: r.endReason });
    const dir = deps.workspaceDir();
    let file: string | null = null;
    if (dir) {
      file = saveSession(
        { format: 1, id: newSessionId(kind, started), kind, node: n.node, env: n.env, startedAt: started.toISOString(), endedAt: new Date().toISOString(), durationMs: Date.now() - started.getTime(), limits, endReason: r.endReason as never, result: r.value },
        { cwd: dir },
      );
      log.info(`session saved: ${file}`);
    }
    return { value: r.value, file };
  } catch (err) {
    const refused = typeof err === 'object' && err !== null && 'kind' in err && err.kind === 'consentRequired';
    log.audit({ node: n.node, env: n.env, action: `${kind} end`, limits, outcome: refused ? 'refused' : 'error', detail: errorText(err) });
    throw err;
  }
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
  const { value: result, file } = await runAudited<TraceResult>(deps, n, 'trace-messages', limits, `tracing messages of ${pid}`, async (signal) => {
    const r = await runTrace(n.session, { kind: 'messages', pid }, { rate, cap, deadlineMs: seconds * 1000, maxChars: 300 }, (e) => lines.push(traceLine(e)), signal);
    return { value: r, endReason: r.endReason };
  });
  const log = renderTraceLog(n.node, path.basename(file ?? 'unsaved', '.json'), `messages of ${pid}`, { rate: limits.rate, limit: cap, duration: limits.duration }, result);
  if (file) writeFileSync(file.replace(/\.json$/, '.beamtrace'), log);
  const editor = vscode.window.visibleTextEditors.find((e) => e.document === doc);
  if (editor) await editor.edit((b) => b.replace(new vscode.Range(0, 0, doc.lineCount, 0), log));
}
