// The sidebar's refresh (pure part, model/sidebar-data.ts) and the guards at the extension's
// boundary: command arguments and webview messages.
import { strict as assert } from 'node:assert';
import type { ProcessPage, ProcessSort } from '../../../../src/core/inspect/processes';
import { Attachment, type AttachmentConnection } from '../../../../src/core/attach/attachment';
import type { LocalProcess } from '../../../../src/erldist';
import { Emitter } from '../../../../src/extension/lifecycle';
import { appOf, findingOf, focusOf, nodeOf, pidOf, profileFileOf, sortOf } from '../../../../src/extension/model/args';
import { MESSAGE_GUARDS } from '../../../../src/extension/model/messages';
import { SidebarData, type SidebarSource } from '../../../../src/extension/model/sidebar-data';
import type { SidebarItem } from '../../../../src/extension/model/sidebar';
import { AttachedNode } from '../../../../src/extension/node-scope';
import type { NodeChange } from '../../../../src/extension/nodes';

const conn: AttachmentConnection = {
  peer: 'rabbit@localhost',
  localName: 'beam_lens_x@h',
  rpc: () => Promise.reject(new Error('no rpc')),
  spawn: (): LocalProcess => {
    throw new Error('no spawn');
  },
  close: async () => undefined,
  onClose: () => ({ dispose: () => undefined }),
};

function fakeSource() {
  const n = new AttachedNode(new Attachment(conn, { env: 'local' }), { node: 'rabbit@vm', env: 'local', cookie: { kind: 'value', value: 'c' } });
  const changed = new Emitter<NodeChange>();
  const calls = { refresh: 0, sorts: [] as ProcessSort[] };
  const page = (sort: ProcessSort): ProcessPage => ({ total: 1, rows: [{ pid: '<0.1.0>', name: `top_${sort}`, memory: 1, reductions: 1, messageQueueLen: 0, currentFunction: null, initialCall: null }], via: 'rpc' }) as ProcessPage;
  const source: SidebarSource = {
    list: () => [n],
    get: (name) => (name === n.node ? n : undefined),
    refresh: async (x) => {
      calls.refresh++;
      x.overview = x.overview ?? null;
      changed.fire({ node: x, what: 'data' });
    },
    refreshSort: async (x, sort) => {
      calls.sorts.push(sort);
      await new Promise((r) => setImmediate(r));
      x.processes.set(sort, page(sort));
      changed.fire({ node: x, what: 'sorts' });
    },
    refreshCluster: async () => undefined,
    onDidChange: changed.event,
  };
  return { n, source, calls, changed };
}

describe('sidebar refresh: expanding a section refreshes that section only', () => {
  it('serves an expanded "Top by memory" from its cache and refreshes only that item, never the whole tree', async () => {
    let now = 0;
    const { n, source, calls } = fakeSource();
    n.lastError = 'x'; // no refresh on first expand of the node in this test
    const data = new SidebarData(source, () => 5000, () => [], () => now);
    const fired: Array<SidebarItem | undefined> = [];
    const record = (item: SidebarItem | undefined): number => fired.push(item);
    data.onDidChange(record);
    const [nodeItem] = await data.children();
    assert.equal(nodeItem?.node, 'rabbit@localhost', 'the node is shown under its own name');
    const sections = await data.children(nodeItem);
    const processes = sections.find((s) => s.kind === 'section' && s.section === 'processes')!;
    const sorts = await data.children(processes);
    const memory = sorts.find((s) => s.kind === 'processSort' && s.sort === 'memory')!;
    // First expand: the rows are fetched once and returned; no change event (the tree is already waiting).
    data.setExpanded(memory, true);
    const rows = await data.children(memory);
    assert.equal(rows.length, 1);
    assert.deepEqual(calls.sorts, ['memory']);
    assert.deepEqual(fired, []);
    // VS Code asks again (as it would after any render): cached, no second fetch.
    await data.children(memory);
    await data.children(memory);
    assert.deepEqual(calls.sorts, ['memory']);
    // Once stale, the next ask shows the cache at once and the fetch fires that item alone.
    now = 6000;
    await data.children(memory);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(calls.sorts, ['memory', 'memory']);
    assert.deepEqual(fired, [memory], 'only the "Top by memory" item changed — not the tree (undefined), not another section');
    assert.equal(await data.children(memory).then(() => calls.sorts.length), 2, 'the change it fired does not cause another fetch (no loop)');
    // The periodic refresh: overview and applications of that node, plus the expanded sort, each named.
    fired.length = 0;
    now = 12_000;
    await data.refreshNode(n);
    const names = fired.map((f: SidebarItem | undefined) => (f === undefined ? 'ALL' : f.kind === 'section' ? f.section : f.kind === 'processSort' ? `sort:${f.sort}` : f.kind));
    assert.ok(!names.includes('ALL'), 'a refresh of one node never refreshes the whole tree');
    assert.deepEqual(names.filter((x) => x !== 'node').sort(), ['applications', 'overview', 'sort:memory']);
    assert.equal(calls.refresh, 1);
    // Collapsed: no longer kept fresh.
    data.setExpanded(memory, false);
    now = 20_000;
    await data.refreshNode(n);
    assert.equal(calls.sorts.filter((s) => s === 'memory').length, 3);
    assert.ok(data.sortItem(n.node, 'memory') === memory, 'items are stable objects, so a change can name them');
  });
});

describe('sidebar refresh: unchanged data is not re-rendered', () => {
  it('a refresh that brings the same Overview and Applications fires neither (an open context menu stays open); a change fires only its section', async () => {
    const { n, source } = fakeSource();
    n.lastError = 'x';
    const data = new SidebarData(source, () => 5000, () => [], () => 0);
    const fired: string[] = [];
    data.onDidChange((f) => fired.push(f === undefined ? 'ALL' : f.kind === 'section' ? f.section : f.kind));
    const [nodeItem] = await data.children();
    const sections = await data.children(nodeItem);
    const overview = sections.find((s) => s.kind === 'section' && s.section === 'overview')!;
    const applications = sections.find((s) => s.kind === 'section' && s.section === 'applications')!;
    // Shown once, as VS Code asks when the sections are expanded.
    await data.children(overview);
    await data.children(applications);
    await data.refreshNode(n);
    assert.deepEqual(fired.filter((f) => f !== 'node'), [], 'nothing changed: nothing re-rendered');
    // The node's applications change: Applications alone is fired; once shown, the same data is quiet again.
    n.trees = [{ name: 'rabbit', description: 'RabbitMQ', version: '3.10.8', supervisor: null }];
    await data.refreshNode(n);
    assert.deepEqual(fired.filter((f) => f !== 'node'), ['applications']);
    await data.children(applications);
    fired.length = 0;
    await data.refreshNode(n);
    assert.deepEqual(fired.filter((f) => f !== 'node'), []);
  });
});

describe('sidebar refresh: a costly section backs off', () => {
  it('asks a sort again only after 5x what its last fetch cost (a million processes: seconds)', async () => {
    let now = 0;
    const { n, source, calls } = fakeSource();
    n.lastError = 'x';
    const slow: SidebarSource = { ...source, refreshSort: async (x, sort) => { now += 3000; await source.refreshSort(x, sort); } };
    const data = new SidebarData(slow, () => 5000, () => [], () => now);
    const memory = data.sortItem(n.node, 'memory');
    data.setExpanded(memory, true);
    await data.children(memory);
    assert.equal(calls.sorts.length, 1);
    now += 6000; // past the 5 s interval, not past 5 x 3 s
    await data.refreshNode(n);
    assert.equal(calls.sorts.length, 1, 'not asked again yet');
    now += 10_000;
    await data.refreshNode(n);
    assert.equal(calls.sorts.length, 2);
  });
});

describe('extension boundary: command arguments', () => {
  const treeItem = { kind: 'tree', node: 'rabbit@localhost', app: 'rabbit', tree: { pid: '<0.300.0>', name: 'rabbit_sup', module: 'supervisor', type: 'supervisor', children: [] } };
  const procItem = { kind: 'process', node: 'n@h', row: { pid: '<0.9.0>', name: null }, sort: 'memory' };

  it('reads the target of a sidebar item: the supervisor of an inline action, the process of a context menu', () => {
    assert.deepEqual(focusOf(treeItem), { pid: '<0.300.0>', name: 'rabbit_sup' });
    assert.equal(pidOf(treeItem), '<0.300.0>');
    assert.equal(pidOf(procItem), '<0.9.0>');
    assert.equal(nodeOf(treeItem), 'rabbit@localhost');
    assert.equal(appOf({ kind: 'app', node: 'n@h', app: { name: 'rabbit' } }), 'rabbit');
    assert.equal(findingOf({ kind: 'finding', node: 'n@h', finding: { id: 'restart-storm:x' } }), 'restart-storm:x');
    assert.equal(findingOf({ node: 'n@h', findingId: 'f1' }), 'f1');
  });

  it('ignores what is not what it claims to be', () => {
    assert.equal(nodeOf(42), undefined);
    assert.equal(nodeOf({ node: ['x'] }), undefined);
    assert.equal(pidOf({ pid: 1 }), undefined);
    assert.equal(pidOf({ kind: 'tree', tree: 'x' }), undefined);
    assert.equal(sortOf({ sort: 'memory; rm -rf' }), undefined);
    assert.equal(sortOf({ sort: 'mailbox' }), 'mailbox');
    assert.equal(focusOf({ kind: 'node', node: 'n@h' }), undefined);
    assert.equal(nodeOf('x'.repeat(5000)), undefined);
  });

  it('reads the saved profile of "Open Saved Profile…": a sidebar session item, {file}, or an explorer file URI', () => {
    assert.equal(profileFileOf({ kind: 'session', node: 'n@h', file: '/w/.beam-lens/sessions/x-profile-abc.json' }), '/w/.beam-lens/sessions/x-profile-abc.json');
    assert.equal(profileFileOf({ file: '/tmp/p.speedscope.json' }), '/tmp/p.speedscope.json');
    assert.equal(profileFileOf({ scheme: 'file', fsPath: '/tmp/p.speedscope.json', path: '/tmp/p.speedscope.json' }), '/tmp/p.speedscope.json');
    assert.equal(profileFileOf({ scheme: 'untitled', fsPath: 'Untitled-1' }), undefined);
    assert.equal(profileFileOf({ kind: 'process', file: '/x' }), undefined);
    assert.equal(profileFileOf({ file: 42 }), undefined);
    assert.equal(profileFileOf(undefined), undefined);
  });
});

describe('extension boundary: webview messages', () => {
  it('accepts each view\'s own messages and drops malformed or foreign ones', () => {
    const g = MESSAGE_GUARDS;
    assert.ok(g['supervision-tree']({ type: 'page', supervisorPid: '<0.1.0>', offset: 100 }));
    assert.ok(!g['supervision-tree']({ type: 'page', supervisorPid: '<0.1.0>', offset: -1 }));
    assert.ok(!g['supervision-tree']({ type: 'page', supervisorPid: 7, offset: 0 }));
    assert.ok(!g['supervision-tree']({ type: 'save' }), 'a report message is not a tree message');
    assert.ok(g['process-table']({ type: 'query', query: { sort: 'memory', offset: 0, limit: 200, filter: 'code_server' } }));
    assert.ok(!g['process-table']({ type: 'query', query: { sort: 'evil', offset: 0, limit: 200, filter: '' } }));
    assert.ok(!g['process-table']({ type: 'query', query: { sort: 'memory', offset: 0.5, limit: 200, filter: '' } }));
    assert.ok(!g['process-table']({ type: 'openProcess', pid: { toString: 'x' } }));
    assert.ok(g['process-detail']({ type: 'showInTree', pid: '<0.5.0>' }));
    assert.ok(!g['process-detail']({ type: 'traceMessages' }));
    assert.ok(g.dashboard({ type: 'pause', paused: true }));
    assert.ok(!g.dashboard({ type: 'pause', paused: 'yes' }));
    assert.ok(g.report({ type: 'openFinding', findingId: 'a' }));
    assert.ok(!g.report({ type: 'openFinding' }));
    assert.ok(g.cluster({ type: 'openNode', node: 'b@h', view: 'tree' }));
    assert.ok(!g.cluster({ type: 'openNode', node: 'b@h', view: 'shell' }));
    assert.ok(g.cluster({ type: 'processes', sort: 'mailbox' }));
    assert.ok(!g.cluster({ type: 'processes', sort: 'evil' }));
    assert.ok(g.cluster({ type: 'openProcess', node: 'b@h', pid: '<0.9.0>' }));
    assert.ok(!g.cluster({ type: 'openProcess', node: 'b@h' }));
    assert.ok(!g.cluster({ type: 'openProcess', node: '', pid: '<0.9.0>' }));
    for (const bad of [null, 'ready', 42, [], { type: 1 }, { type: '__proto__' }]) for (const guard of Object.values(g)) assert.ok(!guard(bad));
  });
});

describe('issue 13, smaller items', () => {
  it('the dashboard plots "other system", not system beside the binary memory it contains', async () => {
    const { memorySeries } = await import('../../../../webview/dashboard/model');
    const mem = { total: 3000, processes: 1000, processesUsed: 900, system: 2000, atom: 100, atomUsed: 90, binary: 1100, code: 300, ets: 200 };
    const series = memorySeries([{ at: 1, memory: mem, schedulerUtilization: null, runQueue: 0, processCount: 1, ioInPerSec: 0, ioOutPerSec: 0 }]);
    assert.deepEqual(series.map((s) => s.name), ['total', 'processes', 'binary', 'ets', 'atom', 'code', 'other system']);
    assert.deepEqual(series.find((s) => s.name === 'other system')?.points, [[1, 300]]);
  });

  it('labels an unnamed process by the module the tree knows, says "1 more child", and advises in the code\'s syntax', async () => {
    const { processLabel, treeChildren, treeModules } = await import('../../../../src/extension/model/sidebar');
    const { binaryCopy } = await import('../../../../src/core/findings/rules');
    const row = { pid: '<0.9.0>', name: null, memory: 1, reductions: 1, messageQueueLen: 0, currentFunction: 'gen_server2:process_next_msg/1', initialCall: 'proc_lib:init_p/5' };
    const trees = [{ name: 'rabbit', description: '', version: '1', supervisor: { pid: '<0.1.0>', name: 'rabbit_sup', module: 'supervisor2', type: 'supervisor' as const, childCount: 1, children: [{ pid: '<0.9.0>', name: null, id: 'q', module: 'rabbit_prequeue', type: 'worker' as const, childCount: 0, children: [] }] } }];
    assert.equal(processLabel(row, treeModules(trees).get(row.pid)), 'rabbit_prequeue');
    assert.equal(processLabel(row), 'proc_lib');
    const sup = { pid: '<0.2.0>', name: null, module: 'rabbit_amqqueue_sup', type: 'supervisor' as const, childCount: 1, children: [] };
    assert.match((treeChildren('n@h', 'rabbit', sup)[0] as { label: string }).label, /^1 more child \(/);
    assert.equal(binaryCopy('Elixir.Demo.Cache'), ':binary.copy/1');
    assert.equal(binaryCopy('rabbit_msg_store'), 'binary:copy/1');
  });

  it('the tree starts on the main application and shows one application on request', async () => {
    const { mainApp, onlyApp, shapeTree } = await import('../../../../webview/supervision-tree/model');
    const w = (pid: string) => ({ pid, name: null, id: pid, module: 'm', type: 'worker' as const, childCount: 0, children: [] });
    const app = (name: string, n: number) => ({ name, description: '', version: '1', supervisor: { pid: `<0.${name.length}.0>`, name: `${name}_sup`, module: 's', type: 'supervisor' as const, childCount: n, children: Array.from({ length: n }, (_, i) => w(`<0.${100 + i}.${name.length}>`)) } });
    const root = shapeTree('rabbit@localhost', [app('kernel', 30), app('rabbit', 12), app('ra', 3)], {});
    assert.equal(mainApp(root)?.label, 'rabbit', 'the largest application that is not the platform');
    assert.deepEqual(onlyApp(root, 'ra').children.map((c) => c.label), ['ra']);
    assert.equal(onlyApp(root, null), root);
    assert.equal(onlyApp(root, 'gone'), root, 'an application that left shows the whole tree');
  });

  it('says when a table query will be slow without the probe', async () => {
    const { slowQuery } = await import('../../../../src/extension/model/table');
    const q = { sort: 'memory' as const, offset: 0, limit: 200, filter: '' };
    assert.equal(slowQuery(q, 5000, false), null);
    assert.match(slowQuery(q, 1_000_000, false) ?? '', /sorting 1,000,000 processes without the probe.*under 2 s with the probe/);
    assert.match(slowQuery({ ...q, filter: 'code_server' }, 150_000, false) ?? '', /filtering 150,000 processes.*about a minute/);
    assert.equal(slowQuery({ ...q, filter: 'code_server' }, 1_000_000, true), null, 'with the probe nothing is slow');
  });
});

describe('attach picker: one entry per node, no dead local nodes', () => {
  it('drops duplicates and saved local nodes EPMD does not list, and matches EPMD names to saved …@localhost', async () => {
    const { attachItems } = await import('../../../../src/extension/model/connections');
    const saved = [
      { node: 'rabbit@localhost', host: 'vm', env: 'local' as const, cookie: { kind: 'default' as const } },
      { node: 'rabbit@localhost', env: 'staging' as const, cookie: { kind: 'default' as const } },
      { node: 'gone@vm', env: 'local' as const, cookie: { kind: 'default' as const } },
      { node: 'tunnel@db1', host: 'localhost', port: 9100, env: 'production' as const, cookie: { kind: 'secret' as const } },
    ];
    const items = attachItems([{ name: 'rabbit', port: 25672 }, { name: 'demo', port: 4000 }], 'vm', saved, new Set());
    assert.deepEqual(items.map((i) => i.label), ['rabbit@localhost', 'tunnel@db1', 'demo@vm', 'Remote node…', 'Remote node with TLS…']);
    // EPMD did not answer: saved local nodes stay (we cannot tell they are gone).
    assert.ok(attachItems([], 'vm', saved, new Set(), false).some((i) => i.label === 'gone@vm'));
  });
});

describe('sidebar: the Cluster section of an entry node', () => {
  it('appears when the node lists other nodes, asks the members on first expand and lists each with its state', async () => {
    const { n, source } = fakeSource();
    n.lastError = 'x';
    let asked = 0;
    source.refreshCluster = async (x) => {
      asked++;
      x.cluster = {
        overview: {
          entry: x.node,
          via: 'entry',
          nodes: [
            { node: 'z@h', status: 'timeout', error: 'z@h did not answer within 5000 ms', elapsedMs: 5000 },
            { node: x.node, status: 'ok', memoryTotal: 2048, processCount: 1200, runQueue: 0, otpRelease: '25', connectedNodes: ['b@h'], findings: 0, elapsedMs: 3 },
            { node: 'b@h', status: 'ok', memoryTotal: 1024, processCount: 80, runQueue: 2, otpRelease: '25', connectedNodes: [x.node], findings: 1, elapsedMs: 3 },
          ],
          topology: [],
          findings: [{ id: 'config-drift:net_ticktime', rule: 'config-drift', severity: 'warning', nodes: ['b@h', x.node], title: 'Members differ in net_ticktime (60 vs 20)', evidence: ['b@h: 20'], subject: {}, recommendation: 'r', risk: 'k', validation: 'v' }],
        },
        overviewAt: 1,
        lastCostMs: 1,
        lastError: null,
      } as unknown as NonNullable<typeof x.cluster>;
    };
    const data = new SidebarData(source, () => 5000, () => [], () => 2);
    const [nodeItem] = await data.children();
    const before = await data.children(nodeItem);
    assert.ok(!before.some((s) => s.kind === 'section' && s.section === 'cluster'), 'no cluster section for a lone node');
    n.members = ['b@h', 'z@h'];
    const sections = await data.children(nodeItem);
    const cluster = sections.find((s) => s.kind === 'section' && s.section === 'cluster');
    assert.ok(cluster, 'the cluster section is shown for a node with members');
    assert.equal(sections.indexOf(cluster), 1, 'right after the overview');
    const members = await data.children(cluster);
    assert.equal(asked, 1);
    assert.deepEqual(
      members.map((m) => (m.kind === 'member' ? [m.member, m.health, m.description] : m.kind)),
      [
        ['rabbit@localhost', 'ok', 'entry · 2.0 KiB · 1,200 procs · run queue 0'],
        ['b@h', 'warning', 'ok · 1.0 KiB · 80 procs · run queue 2 · 1 findings'],
        ['z@h', 'down', 'timeout · z@h did not answer within 5000 ms'],
        'clusterFinding',
      ],
    );
    await data.children(cluster);
    assert.equal(asked, 1, 'cached while fresh');
  });
});

describe('sidebar: the cluster findings in the Findings section of an entry node', () => {
  const overviewOf = (entry: string) => ({
    entry,
    via: 'entry',
    nodes: [
      { node: entry, status: 'ok', connectedNodes: ['b@h'], findings: 0, elapsedMs: 3 },
      { node: 'b@h', status: 'ok', connectedNodes: [entry], findings: 1, elapsedMs: 3 },
    ],
    topology: [],
    findings: [{ id: 'node-outlier:mailbox:order_queue:b@h', rule: 'node-outlier', severity: 'warning', nodes: ['b@h'], title: "order_queue's mailbox on b@h", evidence: ['b@h: 5300 messages'], subject: {}, recommendation: 'r', risk: 'k', validation: 'v' }],
  });

  it('lists the node\'s own findings, then the cluster findings (marked), read once for both sections and refreshed with the Cluster section', async () => {
    const { n, source, changed } = fakeSource();
    n.lastError = 'x';
    let now = 2;
    let asked = 0;
    source.refreshCluster = async (x) => {
      asked++;
      await new Promise((r) => setImmediate(r));
      x.cluster = { overview: overviewOf(x.node), overviewAt: now, lastCostMs: 1, lastError: null } as unknown as NonNullable<typeof x.cluster>;
      changed.fire({ node: x, what: 'cluster' });
    };
    const data = new SidebarData(source, () => 5000, () => [], () => now);
    const fired: Array<SidebarItem | undefined> = [];
    data.onDidChange((i) => fired.push(i));
    const [nodeItem] = await data.children();
    // A lone node: its findings only, nothing asked of a cluster.
    const lone = (await data.children(nodeItem)).find((s) => s.kind === 'section' && s.section === 'findings')!;
    assert.deepEqual((await data.children(lone)).map((i) => i.kind), ['message']);
    assert.equal(asked, 0);

    n.members = ['b@h'];
    const sections = await data.children(nodeItem);
    const findings = sections.find((s) => s.kind === 'section' && s.section === 'findings')!;
    const cluster = sections.find((s) => s.kind === 'section' && s.section === 'cluster')!;
    data.setExpanded(findings, true);
    // First ask: the node's own hint at once (never waiting for the members), the cluster read started.
    assert.deepEqual((await data.children(findings)).map((i) => i.kind), ['message']);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(asked, 1);
    assert.ok(fired.includes(findings), 'the cluster answer fires the Findings section');
    const items = await data.children(findings);
    assert.deepEqual(
      items.map((i) => (i.kind === 'clusterFinding' ? [i.kind, i.in, i.node, i.finding.id] : [i.kind])),
      [['clusterFinding', 'findings', 'rabbit@localhost', 'node-outlier:mailbox:order_queue:b@h']],
      'the hint gives way to the cluster finding, marked as listed in Findings',
    );
    assert.equal(findingOf(items[0]), 'node-outlier:mailbox:order_queue:b@h', 'a click names the finding');
    // The Cluster section serves the same read: no second question.
    const clusterItems = await data.children(cluster);
    assert.equal(asked, 1);
    assert.ok(clusterItems.some((i) => i.kind === 'clusterFinding' && i.in === undefined));

    // The node's own findings come first.
    n.diagnosis = { findings: [{ id: 'long-mailbox:<0.9.0>', rule: 'long-mailbox', severity: 'warning', title: 't', evidence: [], subject: {}, recommendation: 'r', risk: 'k', validation: 'v' }] } as unknown as NonNullable<typeof n.diagnosis>;
    assert.deepEqual((await data.children(findings)).map((i) => i.kind), ['finding', 'clusterFinding']);

    // The periodic refresh asks the cluster again while the Findings section is open, once when stale
    // (both sections open: still one read), and not at all once both are closed.
    data.setExpanded(cluster, true);
    await data.refreshNode(n);
    assert.equal(asked, 1, 'fresh: not asked again');
    now = 20_000;
    await data.refreshNode(n);
    assert.equal(asked, 2, 'stale: one read for both sections');
    data.setExpanded(findings, false);
    data.setExpanded(cluster, false);
    now = 40_000;
    await data.refreshNode(n);
    assert.equal(asked, 2, 'both closed: the cluster is not asked');
  });
});
