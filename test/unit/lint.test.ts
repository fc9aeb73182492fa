import { strict as assert } from 'node:assert';
import { ESLint } from 'eslint';

describe('architecture lint rule', function () {
  this.timeout(60000);
  const eslint = new ESLint({ cwd: process.cwd() });
  const code = "import * as vscode from 'vscode';\nexport const window = vscode.window;\n";

  it("rejects importing 'vscode' outside src/extension", async () => {
    for (const filePath of ['src/core/session.ts', 'src/dist/x.ts', 'src/cli/main.ts', 'src/server/main.ts']) {
      const [result] = await eslint.lintText(code, { filePath });
      const messages = result?.messages.filter((m) => m.ruleId === 'no-restricted-imports') ?? [];
      assert.equal(messages.length, 1, `${filePath} should be rejected`);
      assert.match(messages[0]?.message ?? '', /Only src\/extension may import 'vscode'/);
    }
  });

  it("allows importing 'vscode' in src/extension", async () => {
    const [result] = await eslint.lintText(code, { filePath: 'src/extension/commands.ts' });
    assert.deepEqual(result?.messages.filter((m) => m.ruleId === 'no-restricted-imports'), []);
  });

  it('rejects `any` in src/', async () => {
    const [result] = await eslint.lintText('export const x: any = 1;\n', { filePath: 'src/core/x.ts' });
    assert.ok(result?.messages.some((m) => m.ruleId === '@typescript-eslint/no-explicit-any'));
  });
});
