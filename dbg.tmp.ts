import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from './src/dist';
import { Atom } from './src/etf';
import { Session } from './src/core/session';
import { ModuleSummarizer } from './src/core/module-summary';
import { startNode } from './test/integration/harness';
(async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bl-idle-'));
  execFileSync('erlc', ['-o', dir, 'bench/fixtures/bl_idle.erl']);
  copyFileSync('bench/fixtures/bl_idle.app', path.join(dir, 'bl_idle.app'));
  const node = await startNode({ args: ['+P', '300000', '-pa', dir, '-eval', 'application:ensure_all_started(bl_idle)'] });
  try {
    const admin = await node.admin();
    await new Promise((r) => setTimeout(r, 1000));
    for (let i = 0; i < 5; i++) await admin.rpc('bl_idle', 'add', [20000], { timeoutMs: 600_000 });
    const conn = await connect({ node: node.node, cookie: node.cookie });
    const s = new Session(conn, { env: 'local' });
    const sum = new ModuleSummarizer(s.evaluator, s.node);
    for (let i = 0; i < 3; i++) {
      let t0 = performance.now();
      await sum.summarize();
      const a = performance.now() - t0;
      t0 = performance.now();
      await s.tree({ pageSize: 20, pageSort: 'none' });
      const b = performance.now() - t0;
      console.log(`summary ${a.toFixed(0)} ms ${JSON.stringify(sum.lastPass)}; tree ${b.toFixed(0)} ms; bytes in ${conn.traffic.bytesIn}`);
    }
    await s.detach();
  } finally { await node.stop(); }
})();
