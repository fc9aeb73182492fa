// Custom messages between a language client (the VS Code extension, or any LSP editor) and the
// BEAM Lens language server. Runtime facts flow client -> server; the server turns them into code
// lenses, diagnostics and hovers over its tree-sitter index. Commands in lenses and code actions
// are executed by the client (see LensCommand).
import type { ErrorKind } from '../errors';

// The facts themselves are core's model (src/core/runtime-facts.ts); they cross to the server as is.
export type { HotRuntime, ModuleRuntime, RuntimeFacts, SupervisorRuntime } from '../core/facts/runtime-facts';

// A profile's lens facts are core's model too (src/core/profile/flame.ts).
export type { ProfileFacts, ProfiledRuntime } from '../core/profile/flame';

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
  /** notification client -> server: lenses of a profile (replaces the node's previous profile). */
  profile: 'beamLens/profile',
  /** notification client -> server: the profile's lenses go (its flame graph closed). */
  clearProfile: 'beamLens/clearProfile',
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
  | { command: 'beamLens.showHotFunctions'; arguments: [{ node: string; module: string; function: string; arity: number }] }
  | { command: 'beamLens.showFlameGraph'; arguments: [{ node: string; search?: string }] }
  | { command: 'beamLens.profileProcess'; arguments: [{ node: string; top?: number; search?: string }] };

export const DIAGNOSTIC_SOURCE = 'beam-lens';
