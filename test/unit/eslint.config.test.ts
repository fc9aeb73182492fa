// The architecture's layer rules are lint errors (eslint.config.mjs, docs/ARCHITECTURE.md): one
// case per forbidden edge shows the rule fails, and the allowed edges show it does not over-reach.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: process.cwd() });

/** Lints a file at `file` (it need not exist) that imports the module at `target` (a real file, no extension). */
async function importMessages(file: string, target: string): Promise<string[]> {
  let spec = path.relative(path.dirname(file), target).split(path.sep).join('/');
  if (!spec.startsWith('.')) spec = `./${spec}`;
  const [result] = await eslint.lintText(`import * as m from '${spec}';\nexport const x = m;\n`, { filePath: file });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'import-x/no-restricted-paths').map((m) => m.message);
}

// A real module in each folder, imported by the cases below.
const mod = {
  etf: 'src/etf/index',
  erldist: 'src/erldist/index',
  core: 'src/core/attach/attachment',
  protocol: 'src/protocol/lsp',
  cli: 'src/cli/main',
  extension: 'src/extension/extension',
  server: 'src/server/server',
  mcpServer: 'src/mcp/server',
  mcpTools: 'src/mcp/tools/inspect',
  webviewCommon: 'webview/common/dom',
  webviewReport: 'webview/report/main',
  webviewTree: 'webview/supervision-tree/model',
} as const;

const forbidden: Array<[from: string, to: keyof typeof mod]> = [
  ['src/etf/x.ts', 'erldist'],
  ['src/etf/x.ts', 'core'],
  ['src/etf/x.ts', 'protocol'],
  ['src/etf/x.ts', 'cli'],
  ['src/erldist/x.ts', 'core'],
  ['src/erldist/x.ts', 'protocol'],
  ['src/erldist/x.ts', 'extension'],
  ['src/core/x.ts', 'protocol'],
  ['src/core/x.ts', 'cli'],
  ['src/core/x.ts', 'extension'],
  ['src/core/x.ts', 'server'],
  ['src/core/sessions/x.ts', 'cli'],
  ['src/protocol/x.ts', 'cli'],
  ['src/protocol/x.ts', 'extension'],
  ['src/protocol/x.ts', 'server'],
  ['src/extension/x.ts', 'cli'],
  ['src/extension/x.ts', 'server'],
  ['src/server/x.ts', 'cli'],
  ['src/server/x.ts', 'extension'],
  ['src/cli/x.ts', 'extension'],
  ['src/extension/x.ts', 'mcpTools'],
  ['src/mcp/x.ts', 'extension'],
  ['src/mcp/x.ts', 'cli'],
  ['webview/report/x.ts', 'core'],
  ['webview/report/x.ts', 'etf'],
  ['webview/report/x.ts', 'extension'],
  ['webview/report/x.ts', 'webviewTree'],
  ['webview/common/x.ts', 'core'],
  ['src/extension/x.ts', 'webviewCommon'],
  ['src/core/x.ts', 'webviewReport'],
];

const allowed: Array<[from: string, to: keyof typeof mod]> = [
  ['src/erldist/x.ts', 'etf'],
  ['src/core/x.ts', 'erldist'],
  ['src/core/x.ts', 'etf'],
  ['src/protocol/x.ts', 'core'],
  ['src/cli/x.ts', 'core'],
  ['src/cli/x.ts', 'server'],
  ['src/extension/x.ts', 'core'],
  ['src/extension/x.ts', 'protocol'],
  ['src/extension/x.ts', 'mcpServer'],
  ['src/cli/x.ts', 'mcpServer'],
  ['src/mcp/x.ts', 'core'],
  ['src/server/x.ts', 'protocol'],
  ['webview/report/x.ts', 'protocol'],
  ['webview/report/x.ts', 'webviewCommon'],
  ['webview/report/x.ts', 'webviewReport'],
];

describe('architecture lint rules', function () {
  this.timeout(120_000);

  it('imports real modules in its cases (an import that does not resolve is never flagged)', () => {
    for (const m of Object.values(mod)) assert.ok(existsSync(`${m}.ts`), `${m}.ts should exist`);
  });

  for (const [from, to] of forbidden) {
    it(`rejects ${from} importing ${mod[to]}`, async () => {
      const messages = await importMessages(from, mod[to]);
      assert.equal(messages.length, 1, `${from} -> ${mod[to]} should be a lint error`);
      assert.match(messages[0] ?? '', /docs\/ARCHITECTURE\.md/);
    });
  }

  it('allows the edges the layer map allows', async () => {
    for (const [from, to] of allowed) assert.deepEqual(await importMessages(from, mod[to]), [], `${from} -> ${mod[to]} should be allowed`);
  });

  it('rejects an import cycle', async () => {
    // src/etf/decode.ts imports ./tags; tags importing ./decode back closes a cycle.
    const [result] = await eslint.lintText("import { decode } from './decode';\nexport const x = decode;\n", { filePath: 'src/etf/tags.ts' });
    assert.ok(result?.messages.some((m) => m.ruleId === 'import-x/no-cycle'), 'a cycle should be a lint error');
  });

  const vscodeImport = "import * as vscode from 'vscode';\nexport const window = vscode.window;\n";

  it("rejects importing 'vscode' outside src/extension", async () => {
    for (const filePath of ['src/core/attach/attachment.ts', 'src/erldist/x.ts', 'src/cli/main.ts', 'src/server/server.ts', 'webview/report/x.ts']) {
      const [result] = await eslint.lintText(vscodeImport, { filePath });
      const messages = result?.messages.filter((m) => m.ruleId === 'no-restricted-imports') ?? [];
      assert.equal(messages.length, 1, `${filePath} should be rejected`);
      assert.match(messages[0]?.message ?? '', /Only src\/extension may import 'vscode'/);
    }
  });

  it("allows importing 'vscode' in src/extension", async () => {
    const [result] = await eslint.lintText(vscodeImport, { filePath: 'src/extension/commands.ts' });
    assert.deepEqual(result?.messages.filter((m) => m.ruleId === 'no-restricted-imports'), []);
  });

  it('rejects a face connecting by itself instead of attaching through core', async () => {
    for (const filePath of ['src/cli/x.ts', 'src/server/x.ts', 'src/mcp/x.ts', 'src/extension/x.ts']) {
      const spec = path.relative(path.dirname(filePath), 'src/erldist/index').split(path.sep).join('/');
      const [result] = await eslint.lintText(`import { connect } from '${spec}';\nexport const c = connect;\n`, { filePath });
      const messages = result?.messages.filter((m) => m.ruleId === 'no-restricted-imports') ?? [];
      assert.equal(messages.length, 1, `${filePath} importing connect should be rejected`);
      assert.match(messages[0]?.message ?? '', /attach through src\/core\/attach/);
      const [ok] = await eslint.lintText(`import { listNodes } from '${spec}';\nexport const l = listNodes;\n`, { filePath });
      assert.deepEqual(ok?.messages.filter((m) => m.ruleId === 'no-restricted-imports'), [], `${filePath} may list EPMD's nodes`);
    }
    // The face rule does not lift the vscode rule outside the extension.
    const [cli] = await eslint.lintText("import * as vscode from 'vscode';\nexport const w = vscode.window;\n", { filePath: 'src/cli/x.ts' });
    assert.equal(cli?.messages.filter((m) => m.ruleId === 'no-restricted-imports').length, 1);
  });

  it('rejects `any` in src/', async () => {
    const [result] = await eslint.lintText('export const x: any = 1;\n', { filePath: 'src/core/x.ts' });
    assert.ok(result?.messages.some((m) => m.ruleId === '@typescript-eslint/no-explicit-any'));
  });
});
