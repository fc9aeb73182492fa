// The MCP tools an editor offers to its language models (VS Code's languageModelTools): their
// names there, and what an intrusive call will set, for the editor's confirmation. No vscode here:
// src/extension/lm-tools.ts registers them; tests check package.json against the MCP schemas.

/** The MCP tools offered to language models (attach/detach stay with the sidebar). */
export const LM_TOOLS = [
  'list_nodes', 'overview', 'processes', 'process_info', 'supervision_tree', 'ports', 'ets', 'findings',
  'mailbox_watch', 'hot_functions', 'trace_calls', 'trace_messages', 'system_monitor', 'report', 'compare_sessions',
] as const;
export type LmToolName = (typeof LM_TOOLS)[number];

/** The name a tool has in VS Code (package.json contributes.languageModelTools). */
export const lmToolName = (tool: LmToolName): string => `beam_lens_${tool}`;

/** A tool's input as the language model gives it (validated by the tool's schema on the server). */
export type LmToolInput = Record<string, unknown>;

const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** What an intrusive call sets on the node, for the confirmation; null for read-only calls. */
export function intrusiveSummary(tool: LmToolName, input: LmToolInput): string | null {
  const d = num(input.durationS, 10);
  const bounds = `at most ${num(input.rate, 10)} events/s, ${num(input.limit, 50)} events, ${num(input.durationS, 10)} s`;
  switch (tool) {
    case 'hot_functions':
      return `load the beam_lens_probe module and set call_count trace patterns on the modules of the node's own applications for ${num(input.durationS, 5)} s. The patterns are removed when the count ends.`;
    case 'trace_calls':
      return `load the beam_lens_probe module and set a call trace pattern on ${str(input.mfa) ?? 'the function'} (${bounds}; ${input.captureArgs === true ? 'argument and return terms are printed, truncated' : 'arity only, no terms'}). Removed at the cap, the deadline or on cancellation.`;
    case 'trace_messages':
      return `load the beam_lens_probe module and set send/receive trace flags on ${str(input.pid) ?? 'the process'} (${bounds}; messages printed, truncated). Removed at the end.`;
    case 'system_monitor':
      return `load the beam_lens_probe module and take erlang:system_monitor for ${d} s (refused if another tool holds it). Restored at the end.`;
    case 'report':
      return input.allowTrace === true ? `load the beam_lens_probe module, count calls per function, take the system monitor and attach a temporary telemetry handler for ${d} s. Removed at the end.` : null;
    default:
      return null;
  }
}

