// What core needs from a connection: rpc with a timeout. NodeConnection (src/erldist) provides it;
// keeping core on this narrow interface lets a probe-backed or recorded channel stand in.
import type { Term } from '../../etf';

export interface RpcOptions {
  timeoutMs?: number;
}

export interface RpcChannel {
  /** The target's node name, e.g. `demo@host`. */
  readonly peer: string;
  rpc(module: string, fun: string, args: Term[], options?: RpcOptions): Promise<Term>;
}

/** Progress of long work, for a progress line in the CLI or `withProgress` in the editor. */
export type ProgressReporter = (done: number, total: number, what: string) => void;
