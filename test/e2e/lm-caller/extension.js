// Test-only: reads lm-request.json ({name, input}) from the workspace folder, invokes that
// language-model tool through vscode.lm.invokeTool (as a chat participant would), and writes
// lm-result.json ({ok, text} or {ok: false, error}) next to it.
'use strict';
const vscode = require('vscode');
const fs = require('node:fs');
const path = require('node:path');

exports.activate = (context) => {
  context.subscriptions.push(
    vscode.commands.registerCommand('beamLensE2e.invokeTool', async () => {
      const dir = vscode.workspace.workspaceFolders[0].uri.fsPath;
      const out = path.join(dir, 'lm-result.json');
      try {
        const req = JSON.parse(fs.readFileSync(path.join(dir, 'lm-request.json'), 'utf8'));
        const known = vscode.lm.tools.some((t) => t.name === req.name);
        const source = new vscode.CancellationTokenSource();
        const result = await vscode.lm.invokeTool(req.name, { input: req.input, toolInvocationToken: undefined }, source.token);
        const text = result.content.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : '')).join('\n');
        fs.writeFileSync(out, JSON.stringify({ ok: true, known, text }));
      } catch (err) {
        fs.writeFileSync(out, JSON.stringify({ ok: false, error: String(err && err.message ? err.message : err) }));
      }
    }),
  );
};
