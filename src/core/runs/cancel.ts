// One cancellation bridge for every face: AbortSignals (Ctrl-C in the CLI, a running task's Stop)
// and cancellation tokens (VS Code's progress toast, an LSP or MCP request) become one
// AbortSignal that core work listens to. Typed structurally, so core needs no 'vscode'.

/** A VS Code / vscode-languageserver CancellationToken, by shape. */
export interface CancellationLike {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => unknown): { dispose(): unknown };
}

/** Anything that can ask work to stop. */
export type StopSource = AbortSignal | CancellationLike | undefined;

/** A signal that aborts when any source does; dispose() removes the listeners it added. */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Aborts the linked signal itself (e.g. at a deadline). */
  abort(reason?: unknown): void;
  dispose(): void;
}

function isAbortSignal(s: AbortSignal | CancellationLike): s is AbortSignal {
  return typeof (s as AbortSignal).addEventListener === 'function' && 'aborted' in s;
}

/**
 * Links every source into one AbortSignal. Already-stopped sources abort it at once. Always call
 * dispose() when the work ends, so long-lived sources (an extension's task signal) keep no
 * listener of finished work.
 */
export function linkSignals(...sources: StopSource[]): LinkedSignal {
  const controller = new AbortController();
  const undo: Array<() => void> = [];
  const stop = (): void => controller.abort();
  for (const s of sources) {
    if (s === undefined) continue;
    if (isAbortSignal(s)) {
      if (s.aborted) stop();
      else {
        s.addEventListener('abort', stop, { once: true });
        undo.push(() => s.removeEventListener('abort', stop));
      }
    } else {
      if (s.isCancellationRequested) stop();
      else {
        const sub = s.onCancellationRequested(stop);
        undo.push(() => void sub.dispose());
      }
    }
  }
  return {
    signal: controller.signal,
    abort: (reason?: unknown) => controller.abort(reason),
    dispose: () => {
      for (const u of undo.splice(0)) u();
    },
  };
}

/** Runs `body` with one signal linked from `sources`; the listeners are removed when it settles. */
export async function withLinkedSignal<T>(sources: StopSource[], body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const linked = linkSignals(...sources);
  try {
    return await body(linked.signal);
  } finally {
    linked.dispose();
  }
}
