// Runs the built `beam-lens` binary (bin/beam-lens -> dist/cli.js) for a test and resolves with its
// exit code and output; never rejects. A run that ended without an exit code (killed by a signal
// or its timeout) gets -1, so it can never pass for an expected exit code.
import { execFile } from 'node:child_process';
import path from 'node:path';

export const root = path.join(__dirname, '../..');
export const bin = path.join(root, 'bin/beam-lens');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(bin, args, { cwd: options.cwd ?? root, env: { ...process.env, NO_COLOR: '1', ...(options.env ?? {}) }, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : err ? -1 : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
