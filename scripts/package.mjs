// `npm run package`: production bundles, then a .vsix with @vscode/vsce (bundled: no
// node_modules inside). Checks the size against the 5 MB budget.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const out = process.argv[2] ?? 'beam-lens.vsix';
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(process.execPath, ['scripts/build.mjs', '--production']);
// The probe ships precompiled (loaded with code:load_binary/3; source only for the fallback).
if (!existsSync('dist/probe/beam_lens_probe.beam')) {
  console.error('dist/probe/beam_lens_probe.beam is missing: the .vsix must carry the precompiled probe');
  process.exit(1);
}
run(process.execPath, ['node_modules/@vscode/vsce/vsce', 'package', '--no-dependencies', '--allow-missing-repository', '--readme-path', 'docs/extension-readme.md', '-o', out]);
const size = statSync(out).size;
console.log(`${out}: ${(size / 1024 / 1024).toFixed(2)} MB`);
if (size > 5 * 1024 * 1024) {
  console.error(`the .vsix is over the 5 MB budget`);
  process.exit(1);
}
