// dist/server.js: the language server as its own process (the extension starts it over IPC;
// editors run `node dist/server.js --stdio` or `beam-lens lsp --stdio`). It takes exactly the
// flags of `beam-lens lsp`, parsed by the same spec.
import { errorMessage } from '../errors';
import { parseArgs } from './args';
import { lspSpec, startLspFromFlags } from './commands/lsp';
import { exitCodeFor } from './exit-codes';

function fail(err: unknown): void {
  process.stderr.write(`beam-lens lsp: ${errorMessage(err)}\n`);
  process.exit(exitCodeFor(err));
}

try {
  startLspFromFlags(parseArgs(lspSpec, process.argv.slice(2)).flags).catch(fail);
} catch (err) {
  fail(err);
}
