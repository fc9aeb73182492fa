// Runs every benchmark in turn, each in its own process (they start their own nodes).
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const benches = ['rpc-roundtrip', 'etf-decode', 'top-processes', 'tree-walk', 'tracing-cost', 'profile-cost', 'probe-cost', 'lsp', 'cluster', 'table-1m', 'mcp', 'process-table', 'saved-profile'];
let failed = 0;
for (const name of process.argv.slice(2).length ? process.argv.slice(2) : benches) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, `${name}.ts`)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed > 0 ? 1 : 0;
