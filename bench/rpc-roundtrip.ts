// rpc round trip on loopback: 1,000 sequential calls of erlang:node/0, median and p99.
import { performance } from 'node:perf_hooks';
import { connect } from '../src/erldist';
import { startNode } from '../test/integration/harness';
import { heading, median, percentile, row } from './util';

async function main(): Promise<void> {
  const node = await startNode();
  try {
    const conn = await connect({ node: node.node, cookie: node.cookie });
    for (let i = 0; i < 200; i++) await conn.rpc('erlang', 'node', []); // warm up
    const samples: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const s = performance.now();
      await conn.rpc('erlang', 'node', []);
      samples.push(performance.now() - s);
    }
    const c0 = performance.now();
    const fresh = await connect({ node: node.node, cookie: node.cookie });
    const connectMs = performance.now() - c0;
    await fresh.close();
    heading('rpc round trip on loopback (erlang:node/0 through rex), 1,000 sequential calls');
    row(['measure', 'value']);
    row(['---', '---']);
    row(['median', `${median(samples).toFixed(3)} ms`]);
    row(['p99', `${percentile(samples, 99).toFixed(3)} ms`]);
    row(['min', `${Math.min(...samples).toFixed(3)} ms`]);
    row(['connect (EPMD lookup + handshake)', `${connectMs.toFixed(1)} ms`]);
    process.stdout.write(`\nmedian ${median(samples).toFixed(3)} ms (goal < 1 ms)\n`);
    await conn.close();
  } finally {
    await node.stop();
  }
}

void main();
