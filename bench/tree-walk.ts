// Supervision tree walk of the demo node started with 100,000 children under one
// DynamicSupervisor (Demo.SessionSupervisor): time and bytes on the wire, against
// supervisor:which_children/1 of that one supervisor timed on the target.
import { connect } from '../src/erldist';
import { RemoteEvaluator } from '../src/core/target/remote-eval';
import { Attachment } from '../src/core/attach/attachment';
import { walkTree } from '../src/core/inspect/tree';
import { startNode, waitFor } from '../test/integration/harness';
import { heading, kib, median, row, timeMs } from './util';

const CHILDREN = Number(process.env.BENCH_CHILDREN ?? 100_000);

async function main(): Promise<void> {
  process.env.DEMO_SESSIONS = String(CHILDREN);
  const demo = await startNode({
    command: { file: 'test/fixtures/demo/start.sh', args: (name, cookie) => [name, cookie, '+P', String(CHILDREN * 2 + 100_000)] },
    startTimeoutMs: 300_000,
  });
  try {
    const admin = new RemoteEvaluator(await demo.admin());
    await waitFor(
      async () => {
        const n = await admin.eval(`try proplists:get_value(active, supervisor:count_children('Elixir.Demo.SessionSupervisor')) catch _:_ -> 0 end.`);
        return typeof n === 'number' && n >= CHILDREN;
      },
      300_000,
      `${CHILDREN} sessions`,
      500,
    );
    const measure = async (allowProbe: boolean): Promise<{ ms: number; wire: number; nodes: number; childCount: number; listed: number }> => {
      const conn = await connect({ node: demo.node, cookie: demo.cookie });
      const session = new Attachment(conn, { env: 'local', grants: { allowProbe } });
      if (allowProbe) await session.loadProbe();
      const times: number[] = [];
      let wire = 0;
      let nodes = 0;
      let childCount = 0;
      let listed = 0;
      for (let i = 0; i < 5; i++) {
        const before = conn.traffic.bytesIn + conn.traffic.bytesOut;
        const { ms, value } = await timeMs(() => session.tree({ app: 'demo', pageSize: 100 }));
        times.push(ms);
        wire = conn.traffic.bytesIn + conn.traffic.bytesOut - before;
        nodes = 0;
        const root = value[0]?.supervisor;
        if (root) {
          for (const { node } of walkTree(root)) {
            nodes++;
            if (node.name === 'Elixir.Demo.SessionSupervisor') {
              childCount = node.childCount;
              listed = node.children.length;
            }
          }
        }
      }
      await session.detach();
      return { ms: median(times), wire, nodes, childCount, listed };
    };
    const withProbe = await measure(true);
    const zeroInstall = await measure(false);
    const whichChildren = (await admin.eval(`element(1, timer:tc(supervisor, which_children, ['Elixir.Demo.SessionSupervisor'])).`)) as number;
    heading(`Supervision tree walk of the demo application with ${CHILDREN.toLocaleString('en-US')} children under one DynamicSupervisor`);
    row(['measure', 'with the probe', 'zero-install']);
    row(['---', '---', '---']);
    row(['walk of the whole demo tree (median of 5)', `${withProbe.ms.toFixed(0)} ms`, `${zeroInstall.ms.toFixed(0)} ms`]);
    row(['bytes on the wire per walk', kib(withProbe.wire), kib(zeroInstall.wire)]);
    row(['tree nodes returned', String(withProbe.nodes), String(zeroInstall.nodes)]);
    row(['Demo.SessionSupervisor children (listed)', `${withProbe.childCount} (${withProbe.listed})`, `${zeroInstall.childCount} (${zeroInstall.listed})`]);
    row(['supervisor:which_children/1 alone, on the target', `${(whichChildren / 1000).toFixed(0)} ms`, '']);
    process.stdout.write(`\nwith the probe: ${withProbe.ms.toFixed(0)} ms (goal < 1 s), ${kib(withProbe.wire)} on the wire (goal < 1 MB)\n`);
  } finally {
    await demo.stop();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exitCode = 1;
});
