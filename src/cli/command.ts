import type { CommandSpec, FlagSpec, ParsedArgs } from './args';
import type { ExitCode } from './exit-codes';
import { attachFlags } from './connection';
import type { Output } from './output';

export interface CommandContext {
  output: Output;
  args: ParsedArgs;
  /** Aborted on SIGINT/SIGTERM so long work can end cleanly (and undo what it set on the target). */
  signal: AbortSignal;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  spec: CommandSpec;
  run(ctx: CommandContext): Promise<ExitCode>;
}

/** Flags shared by every command that talks to a node and prints a result: the connection flags and --json. */
export const connectionFlags: Record<string, FlagSpec> = {
  ...attachFlags,
  json: { type: 'boolean', description: 'machine-readable output' },
};
