// dist/server.js: the language server as its own process (the extension starts it over IPC;
// editors run `node dist/server.js --stdio` or `beam-lens lsp --stdio`).
import { ServerArgsError, parseServerArgs, startLanguageServer } from './standalone';

try {
  void startLanguageServer(parseServerArgs(process.argv.slice(2))).catch((err: unknown) => {
    process.stderr.write(`beam-lens lsp: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
} catch (err) {
  process.stderr.write(`beam-lens lsp: ${err instanceof ServerArgsError ? err.message : String(err)}\n`);
  process.exit(2);
}
