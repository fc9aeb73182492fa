// Loads web-tree-sitter and the tree-sitter-elixir grammar (both WebAssembly) once per process.
// In the bundle the .wasm files sit next to dist/server.js (scripts/build.mjs copies them); from
// sources (tests, tsx) they are found in node_modules.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Language, Parser } from 'web-tree-sitter';
import { BeamLensError } from '../../errors';

const RUNTIME_WASM = 'web-tree-sitter.wasm';
const ELIXIR_WASM = 'tree-sitter-elixir.wasm';

/** The tree-sitter runtime or grammar is missing or broken: an install problem (kind 'internal'). */
export class GrammarLoadError extends BeamLensError {
  constructor(message: string) {
    super('internal', message);
    this.name = 'GrammarLoadError';
  }
}

function locate(file: string, packageName: string, dirs: string[]): string {
  for (const dir of dirs) {
    const candidate = path.join(dir, file);
    if (existsSync(candidate)) return candidate;
  }
  try {
    return require.resolve(`${packageName}/${file}`);
  } catch {
    throw new GrammarLoadError(`cannot find ${file} (looked in ${dirs.join(', ')} and node_modules/${packageName}); reinstall BEAM Lens or run npm ci`);
  }
}

let loading: Promise<Language> | null = null;

/** The Elixir language, loaded once. `wasmDir` overrides where the .wasm files are looked for first. */
export function loadElixir(wasmDir?: string): Promise<Language> {
  loading ??= (async () => {
    const dirs = [wasmDir, __dirname, path.join(__dirname, '..'), path.join(__dirname, 'wasm')].filter((d): d is string => d !== undefined);
    const runtime = locate(RUNTIME_WASM, 'web-tree-sitter', dirs);
    const grammar = locate(ELIXIR_WASM, 'tree-sitter-elixir', dirs);
    await Parser.init({ locateFile: () => runtime });
    return Language.load(grammar);
  })();
  loading.catch(() => {
    loading = null;
  });
  return loading;
}

/** A parser for Elixir. Parsers are cheap; each owner deletes its own (`parser.delete()`). */
export async function elixirParser(wasmDir?: string): Promise<Parser> {
  const language = await loadElixir(wasmDir);
  const parser = new Parser();
  parser.setLanguage(language);
  return parser;
}
