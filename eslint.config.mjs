// Lint rules that guard the architecture (docs/ARCHITECTURE.md, "Layers"): every forbidden edge
// between the source folders is an error, import cycles are errors, only src/extension may import
// 'vscode', and src/ stays free of `any`. test/unit/eslint.config.test.ts shows each rule failing.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const noVscode = {
  'no-restricted-imports': [
    'error',
    {
      paths: [{ name: 'vscode', message: "Only src/extension may import 'vscode' (see docs/ARCHITECTURE.md)." }],
    },
  ],
};

// One zone per forbidden edge: files under `target` may not import anything under `from`.
const layer = (target, from, why) => ({ target, from, message: `${why} (see docs/ARCHITECTURE.md, "Layers").` });
const faces = ['cli', 'extension', 'server', 'mcp'];
const zones = [
  // The codec knows nothing above it.
  ...['erldist', 'core', 'protocol', ...faces].map((f) => layer('./src/etf', `./src/${f}`, `src/etf is the bottom layer and may not import src/${f}`)),
  // The distribution client knows the codec only.
  ...['core', 'protocol', ...faces].map((f) => layer('./src/erldist', `./src/${f}`, `src/erldist may import only src/etf, not src/${f}`)),
  // Core never imports a face, nor the protocol (protocol imports core, not the other way).
  ...['protocol', ...faces].map((f) => layer('./src/core', `./src/${f}`, `src/core may not import src/${f}: faces and the protocol build on core`)),
  // The protocol is types shared by a face and its other side: it may use core types, not faces.
  ...faces.map((f) => layer('./src/protocol', `./src/${f}`, `src/protocol may not import src/${f}`)),
  // Faces do not reach into each other. (The CLI is the binary that starts the language server
  // and the MCP server, so it may import their entry points.)
  ...['cli', 'server'].map((f) => layer('./src/extension', `./src/${f}`, `src/extension may not import src/${f}`)),
  // The editor serves the MCP tools to its language models in-process (no second connection):
  // it may import the MCP server's entry point and the editor tool list, nothing else of src/mcp.
  { ...layer('./src/extension', './src/mcp', 'src/extension may import only src/mcp/server.ts and src/mcp/editor-tools.ts of src/mcp'), except: ['./server.ts', './editor-tools.ts'] },
  ...['cli', 'extension', 'mcp'].map((f) => layer('./src/server', `./src/${f}`, `src/server may not import src/${f}`)),
  ...['cli', 'extension', 'server'].map((f) => layer('./src/mcp', `./src/${f}`, `src/mcp may not import src/${f}`)),
  layer('./src/cli', './src/extension', 'src/cli may not import src/extension'),
  // Webviews run in a browser and see only the protocol and their shared helpers.
  {
    target: './webview',
    from: './src',
    except: ['./protocol'],
    message: 'webviews may import only src/protocol and webview/common (see docs/ARCHITECTURE.md, "Layers").',
  },
  ...['cluster', 'dashboard', 'process-detail', 'process-table', 'report', 'supervision-tree', 'flame-graph'].map((v) => ({
    target: `./webview/${v}`,
    from: './webview',
    except: [`./${v}`, './common'],
    message: `webview/${v} may import only its own folder, webview/common and src/protocol (see docs/ARCHITECTURE.md, "Layers").`,
  })),
  // The host side never imports browser code.
  ...['./src', './test/integration', './bench'].map((t) => ({
    target: t,
    from: './webview',
    except: [],
    message: 'only webviews and their unit tests import webview/ code (see docs/ARCHITECTURE.md, "Layers").',
  })),
];

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'out/**', 'dist/**', 'test/e2e/node_modules/**', 'test/fixtures/**', '**/*.mjs', '**/*.js'],
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'webview/**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    settings: {
      // no-cycle follows imports by parsing the imported files: it needs to know they are TypeScript.
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: ['tsconfig.json', 'webview/tsconfig.json'], noWarnOnMultipleProjects: true })],
    },
    rules: {
      ...noVscode,
      '@typescript-eslint/no-explicit-any': 'error',
      'import-x/no-restricted-paths': ['error', { zones }],
    },
  },
  {
    // Cycles are checked where they matter (the shipped code); tests may import freely.
    files: ['src/**/*.ts', 'webview/**/*.ts'],
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['src/extension/**/*.ts', 'test/e2e/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // Faces attach through core (src/core/attach): one parser, one cookie lookup, one set of errors.
    // They may still list EPMD's nodes or read a host name from the distribution layer.
    files: ['src/cli/**/*.ts', 'src/server/**/*.ts', 'src/mcp/**/*.ts', 'src/extension/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          ...(noVscode['no-restricted-imports'][1]),
          patterns: [
            {
              group: ['**/erldist', '**/erldist/*'],
              importNames: ['connect', 'resolveCookie', 'Cookie', 'NodeConnection'],
              message: 'faces attach through src/core/attach (attach, CookieInput), not the distribution layer (see docs/ARCHITECTURE.md).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/extension/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/erldist', '**/erldist/*'],
              importNames: ['connect', 'resolveCookie', 'Cookie', 'NodeConnection'],
              message: 'faces attach through src/core/attach (attach, CookieInput), not the distribution layer (see docs/ARCHITECTURE.md).',
            },
          ],
        },
      ],
    },
  },
);
