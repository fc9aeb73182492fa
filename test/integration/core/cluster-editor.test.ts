// The editor's cluster of an entry node (src/extension/cluster.ts, no 'vscode') against a real
// cluster of three nodes: the overview the sidebar reads, core's cluster report through the same
// cluster, and the overview again afterwards (the report leaves the cluster view working); closing
// it is left to the entry's scope.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { NodeCluster } from '../../../src/extension/cluster';
import { connect } from '../../../src/erldist';
import { Attachment } from '../../../src/core/attach/attachment';
import { shortHost, startNode, waitFor, type TestNode } from '../harness';

describe('editor cluster: overview, cluster report, overview again', function () {
  this.timeout(120_000);
  let nodes: TestNode[] = [];
  let entry: Attachment | undefined;

  before(async () => {
    const cookieText = randomBytes(16).toString('hex');
    nodes = await Promise.all([0, 1, 2].map(() => startNode({ cookieText })));
    const [a, ...others] = nodes as [TestNode, ...TestNode[]];
    for (const o of others) await a.eval(`true = net_kernel:connect_node('${o.node}').`);
    await waitFor(async () => {
      for (const n of nodes) if (((await n.eval('length(nodes()).')) as number) !== 2) return false;
      return true;
    }, 20_000, 'a full mesh of three nodes');
    // One member's registered queue far behind the same process on its peers: a cluster finding.
    for (const n of nodes) await n.eval(`register(bl_queue, spawn(fun() -> receive stop -> ok end end)), [bl_queue ! I || I <- lists:seq(1, 100)], ok.`);
    await (others[0] as TestNode).eval('[bl_queue ! I || I <- lists:seq(1, 5000)], ok.');
    entry = new Attachment(await connect({ node: a.node, cookie: a.cookie, host: shortHost(), timeoutMs: 5000 }), { env: 'local' });
  });

  after(async () => {
    await entry?.detach();
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('reports the cluster (a section per member, the cluster finding) and keeps answering the overview afterwards', async () => {
    const cluster = new NodeCluster(entry as Attachment);
    const first = await cluster.refreshOverview();
    const member = (nodes[1] as TestNode).node;
    const id = `node-outlier:mailbox:bl_queue:${member}`;
    assert.ok(first.findings.some((f) => f.id === id), `the outlier finding in the overview: ${first.findings.map((f) => f.id).join(', ')}`);
    const r = await cluster.report({ durationMs: 1000, trace: false, audit: null, save: null });
    const doc = r.value.report;
    const ids = (s: { id: string; sections: Array<{ id: string; sections: unknown[] }> }): string[] => [s.id, ...s.sections.flatMap((c) => ids(c as typeof s))];
    const all = doc.sections.flatMap((s) => ids(s));
    assert.ok(all.includes('cluster-findings'));
    assert.equal(doc.sections.filter((s) => /^Node /.test(s.title)).length, 3, 'one section per member');
    assert.ok(JSON.stringify(doc).includes(id), 'the cluster finding in the report');
    const again = await cluster.refreshOverview();
    assert.equal(again.nodes.filter((n) => n.status === 'ok').length, 3, `every member answers after the report: ${JSON.stringify(again.nodes.map((n) => [n.node, n.status, n.error]))}`);
    assert.equal(cluster.lastError, null);
    await cluster.close();
    // (Which modules the report leaves loaded on the members is left to core's cluster tests: OTP's own sys module
    // was seen loaded on a member after the report.)
  });
});
