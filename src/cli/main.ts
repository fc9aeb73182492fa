// The `beam-lens` command line: a table of commands over the shared core.
import { errorKindOf, errorMessage } from '../errors';
import { VERSION } from '../version';
import { UsageError, helpText, parseArgs } from './args';
import type { Command } from './command';
import { binLeakCommand } from './commands/bin-leak';
import { clusterCommand } from './commands/cluster';
import { findingsCommand } from './commands/findings';
import { lspCommand } from './commands/lsp';
import { mailboxesCommand } from './commands/mailboxes';
import { mcpCommand } from './commands/mcp';
import { nodesCommand } from './commands/nodes';
import { sessionCommand } from './commands/session-files';
import { overviewCommand } from './commands/overview';
import { pingCommand } from './commands/ping';
import { etsCommand, portsCommand } from './commands/ports-ets';
import { processCommand, processesCommand } from './commands/processes';
import { profileCommand } from './commands/profile';
import { reportCommand } from './commands/report';
import { telemetryCommand } from './commands/telemetry';
import { treeCommand } from './commands/tree';
import { trendsCommand } from './commands/trends';
import { hotCommand, monitorCommand, traceCommand, traceMessagesCommand } from './commands/tracing';
import { ExitCode, exitCodeFor, exitCodeHelp } from './exit-codes';
import { processOutput, type Output } from './output';

const commands: Command[] = [
  nodesCommand,
  pingCommand,
  overviewCommand,
  clusterCommand,
  processesCommand,
  processCommand,
  treeCommand,
  portsCommand,
  etsCommand,
  reportCommand,
  mailboxesCommand,
  hotCommand,
  profileCommand,
  traceCommand,
  traceMessagesCommand,
  monitorCommand,
  telemetryCommand,
  findingsCommand,
  trendsCommand,
  binLeakCommand,
  sessionCommand,
  lspCommand,
  mcpCommand,
];

export async function runCli(argv: readonly string[], output: Output, signal: AbortSignal): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    output.out(usage());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === '--version') {
    output.out(VERSION);
    return ExitCode.ok;
  }
  const command = commands.find((c) => c.spec.name === name);
  if (command === undefined) {
    output.err(`beam-lens: unknown command "${name}"\n\n${usage()}`);
    return ExitCode.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    output.out(`${helpText(command.spec)}\n\n${exitCodeHelp}`);
    return ExitCode.ok;
  }
  try {
    const args = parseArgs(command.spec, rest);
    return await command.run({ output, args, signal, cwd: process.cwd(), env: process.env });
  } catch (err) {
    return reportError(output, err);
  }
}

/** Prints the error and returns the exit code its kind and phase call for (see exit-codes.ts). */
function reportError(output: Output, err: unknown): number {
  if (err instanceof UsageError) {
    output.err(`beam-lens: ${err.message}\nRun \`beam-lens help\` for the list of commands.`);
    return ExitCode.usage;
  }
  output.err(`beam-lens: ${errorMessage(err)}`);
  if (errorKindOf(err) === 'internal' && err instanceof Error && process.env.BEAM_LENS_DEBUG) {
    output.err(err.stack ?? '');
  }
  return exitCodeFor(err);
}

function usage(): string {
  const width = Math.max(...commands.map((c) => c.spec.name.length)) + 2;
  return [
    'beam-lens: look inside a running Erlang/Elixir node (as a hidden node; installs nothing by default)',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
    '',
    'Run `beam-lens COMMAND --help` for its options.',
    exitCodeHelp,
  ].join('\n');
}

/** Runs the CLI on process.argv and sets the exit code (called by bin/beam-lens). */
export function main(): void {
  const controller = new AbortController();
  let interrupted = 0;
  const onSignal = (): void => {
    // First signal: end cleanly (sessions undo what they set). Second: leave now.
    if (++interrupted > 1) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  runCli(process.argv.slice(2), processOutput(), controller.signal).then(
    (code) => {
      process.exitCode = code;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
    (err: unknown) => {
      process.stderr.write(`beam-lens: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = ExitCode.failure;
    },
  );
}
