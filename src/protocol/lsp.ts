// Custom messages between a language client (the VS Code extension, or any LSP editor) and the
// BEAM Lens language server. Runtime facts flow client -> server; the server turns them into code
// lenses, diagnostics and hovers over its tree-sitter index. Commands in lenses and code actions
// are executed by the client (see LensCommand).
import type { ErrorKind } from '../errors';
import type { Finding } from '../core/findings';
import type { HotFunction } from '../core/sessions/hot';

/** Module names are in Elixir's display form ("Demo.EventSink"); Erlang modules stay as atoms ("ets"). */
export interface ModuleRuntime {
  module: string;
  processes: number;
  memory: number;
  /** Sum of all its processes' queues and the largest single one. */
  messages: number;
  largestMailbox: number;
  largestMailboxPid?: string;
  /** Growth of the largest queue between the last two collections, messages/s (when known). */
  mailboxGrowthPerSec?: number;
  /** From the target's module_info(compile): where the module was compiled from. */
  sourceHint?: string;
}

export interface SupervisorRuntime {
  /** The callback module (for `Supervisor.start_link(children, opts)` this is Supervisor.Default). */
  module: string | null;
  /** Registered name in display form, when registered. */
  name: string | null;
  pid: string;
  app: string;
  strategy?: string;
  intensity?: number;
  period?: number;
  restarts?: number;
  childCount: number;
}

/** A function ranked by a hot-functions session (module in display form). */
export type HotRuntime = Pick<HotFunction, 'module' | 'function' | 'arity' | 'calls' | 'callsPerSec' | 'share' | 'usPerCall'>;

export interface RuntimeFacts {
  node: string;
  env: string;
  /** live: from an attached node; saved: from a session file (lenses say so, with the age). */
  source: 'live' | 'saved';
  /** When the facts were collected (epoch ms). */
  capturedAt: number;
  sessionFile?: string;
  modules: ModuleRuntime[];
  supervisors: SupervisorRuntime[];
  hot: HotRuntime[];
  findings: Finding[];
}

export interface IndexStatus {
  files: number;
  modules: number;
  functions: number;
  /** Files that had syntax errors (indexed as far as they parse). */
  filesWithErrors: number;
  /** Wall time of the initial workspace index. */
  coldIndexMs: number | null;
  /** Whether runtime facts are present, and for which node. */
  attached: { node: string; source: 'live' | 'saved'; capturedAt: number } | null;
}

export interface SourceLocationResult {
  uri: string;
  line: number;
  character: number;
}

/** Method names and their parameter/result types. */
export const LspMethods = {
  /** notification client -> server: replace the facts for a node. */
  facts: 'beamLens/facts',
  /** notification client -> server: forget the facts (detach); node omitted = all. */
  clearFacts: 'beamLens/clearFacts',
  /** request client -> server: index status. */
  indexStatus: 'beamLens/indexStatus',
  /** request client -> server: where a module (and optionally function/arity) is defined. */
  findSource: 'beamLens/findSource',
  /** notification server -> client: the standalone server attached or lost its node. */
  attachState: 'beamLens/attachState',
} as const;

export interface ClearFactsParams {
  node?: string;
}

export interface FindSourceParams {
  module: string;
  function?: string;
  arity?: number;
}

export interface AttachStateParams {
  node: string;
  state: 'attached' | 'detached' | 'error';
  message?: string;
  /** On 'error': what kind of failure (src/errors.ts), so a client can react (ask for the cookie, …). */
  kind?: ErrorKind;
}

/** Commands the server puts in lenses and code actions; the client implements them. */
export type LensCommand =
  | { command: 'beamLens.showSupervisionTree'; arguments: [{ node: string; pid?: string; name?: string; module?: string }] }
  | { command: 'beamLens.showProcesses'; arguments: [{ node: string; module: string }] }
  | { command: 'beamLens.showFinding'; arguments: [{ node: string; findingId: string }] }
  | { command: 'beamLens.showHotFunctions'; arguments: [{ node: string; module: string; function: string; arity: number }] };

export const LENS_COMMANDS: ReadonlyArray<LensCommand['command']> = [
  'beamLens.showSupervisionTree',
  'beamLens.showProcesses',
  'beamLens.showFinding',
  'beamLens.showHotFunctions',
];

export const DIAGNOSTIC_SOURCE = 'beam-lens';
