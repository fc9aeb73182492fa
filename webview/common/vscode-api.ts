// The webview side of the typed channel to the extension host. `acquireVsCodeApi` may be called
// once per webview; this module owns that call.
import type { WebviewMessages, WebviewName } from '../../src/protocol/webview';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export interface Channel<N extends WebviewName> {
  post(message: WebviewMessages[N]['toHost']): void;
  /**
   * Registers the handler for messages from the host and tells the host we are ready. Every
   * view's union has {type: 'error'}: those go to `onError` (the view's status line).
   */
  listen(handler: (message: Exclude<WebviewMessages[N]['toView'], { type: 'error' }>) => void, onError: (message: string) => void): void;
  /** Per-view UI state that survives the view being hidden (zoom, sort, selection). */
  getState<S>(): S | undefined;
  setState<S>(state: S): void;
}

let api: VsCodeApi | undefined;

export function channel<N extends WebviewName>(_name: N): Channel<N> {
  api ??= acquireVsCodeApi();
  const vscode = api;
  return {
    post: (message) => vscode.postMessage(message),
    listen(handler, onError) {
      window.addEventListener('message', (event: MessageEvent<unknown>) => {
        const data = event.data;
        if (typeof data !== 'object' || data === null || typeof (data as { type?: unknown }).type !== 'string') return;
        const m = data as WebviewMessages[N]['toView'];
        if (m.type === 'error') onError(String((m as { message?: unknown }).message ?? 'unknown error'));
        else handler(m as Exclude<WebviewMessages[N]['toView'], { type: 'error' }>);
      });
      vscode.postMessage({ type: 'ready' });
    },
    getState: <S>() => vscode.getState() as S | undefined,
    setState: (state) => vscode.setState(state),
  };
}
