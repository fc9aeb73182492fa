// Bundles every entry point with esbuild. Type checking is separate (`npm run typecheck`).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';

const production = process.argv.includes('--production');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

// web-tree-sitter's ESM build reads import.meta.url, which is empty in a CommonJS bundle: give it
// the bundle's own file URL.
const nodeCommon = {
  ...common,
  define: { 'import.meta.url': '__beamLensImportMetaUrl' },
  banner: { js: "var __beamLensImportMetaUrl = require('url').pathToFileURL(__filename).href;" },
};

const entries = [
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js' },
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', external: ['vscode'] },
  { entryPoints: ['src/cli/lsp-main.ts'], outfile: 'dist/server.js' },
  { entryPoints: ['src/server/index/worker.ts'], outfile: 'dist/index-worker.js' },
];

const webviews = ['supervision-tree', 'process-table', 'process-detail', 'dashboard', 'report', 'cluster', 'flame-graph'];

await Promise.all([
  ...entries.filter((e) => existsSync(e.entryPoints[0])).map((e) => build({ ...nodeCommon, ...e })),
  ...webviews
    .filter((name) => existsSync(`webview/${name}/main.ts`))
    .map((name) =>
      build({
        ...common,
        platform: 'browser',
        target: 'es2022',
        format: 'iife',
        entryPoints: [`webview/${name}/main.ts`],
        outfile: `dist/webview/${name}.js`,
      }),
    ),
]);

// The language server parses Elixir with tree-sitter compiled to WebAssembly: ship both .wasm
// files next to the bundles that load them (dist/server.js and dist/cli.js).
mkdirSync('dist', { recursive: true });
copyFileSync('node_modules/web-tree-sitter/web-tree-sitter.wasm', 'dist/web-tree-sitter.wasm');
copyFileSync('node_modules/tree-sitter-elixir/tree-sitter-elixir.wasm', 'dist/tree-sitter-elixir.wasm');

// The probe is loaded precompiled: dist/probe/beam_lens_probe.beam, next to dist/cli.js and in the
// .vsix, sent with code:load_binary/3 (no compiler on the target). It loads on the OTP release
// that built it and newer ones; an older node refuses it (badfile) and gets the source compiled
// there instead. Build with the oldest OTP you support.
if (spawnSync('erlc', ['-v'], { stdio: 'ignore' }).error === undefined) {
  mkdirSync('dist/probe', { recursive: true });
  const r = spawnSync('erlc', ['+deterministic', '-o', 'dist/probe', 'probe/beam_lens_probe.erl'], { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
} else if (production) {
  console.error('erlc not found: a production build needs it to precompile the probe (dist/probe/beam_lens_probe.beam)');
  process.exitCode = 1;
} else {
  console.warn('erlc not found: no precompiled probe; nodes will compile it from source (slower, loads the compiler there)');
}
