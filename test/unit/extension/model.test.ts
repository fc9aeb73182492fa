// Pure parts of the extension and its webviews: attach picker and input validation, sidebar
// shaping, tree shaping for d3, virtualized table paging, dashboard series, and the
// webview message sanitizing on the host side.
import { strict as assert } from 'node:assert';
import type { ProcessRow } from '../../../src/core/inspect/processes';
import type { ApplicationTree, TreeNode } from '../../../src/core/inspect/tree';
import type { DashboardSample } from '../../../src/protocol/webview';
import { attachItems, fullNodeName, nodeNameError, parseHostPort, rememberConnection, type SavedConnection } from '../../../src/extension/model/connections';
import { MAX_CHILDREN_SHOWN, overviewStats, processDescription, processLabel, restartHealth, treeChildren, treeDescription } from '../../../src/extension/model/sidebar';
import { GROUP_THRESHOLD, defaultCollapsed, findPath, matchFocus, shapeTree, visible, type VNode } from '../../../webview/supervision-tree/model';
import { MAX_SAMPLES, domains, ioSeries, memorySeries, pushSample, utilizationSeries } from '../../../webview/dashboard/model';

const worker = (pid: string, module: string, name: string | null = null, id = pid): TreeNode => ({ pid, name, id, module, type: 'worker', childCount: 0, children: [] });
const sup = (pid: string, name: string, children: TreeNode[], over: Partial<TreeNode> = {}): TreeNode => ({
  pid, name, module: name, type: 'supervisor', strategy: 'one_for_one', intensity: 3, period: 5, restarts: 0, childCount: children.length, children, ...over,
});
const row = (pid: string, over: Partial<ProcessRow> = {}): ProcessRow => ({ pid, name: null, memory: 100, reductions: 10, messageQueueLen: 0, currentFunction: 'gen_server:loop/7', initialCall: 'Elixir.Demo.EventSink:init/1', ...over });

describe('attach: validation and the picker', () => {
  it('validates node names and host:port with actionable messages', () => {
    assert.equal(nodeNameError('demo@localhost'), null);
    assert.equal(nodeNameError('demo'), null);
    assert.match(nodeNameError('') ?? '', /a node name is required/);
    assert.match(nodeNameError('a@b@c') ?? '', /more than one @/);
    assert.match(nodeNameError('de mo@x') ?? '', /is not a node name/);
    assert.equal(fullNodeName('demo', 'myhost'), 'demo@myhost');
    assert.deepEqual(parseHostPort('db1.internal'), { host: 'db1.internal' });
    assert.deepEqual(parseHostPort('localhost:9100'), { host: 'localhost', port: 9100 });
    assert.deepEqual(parseHostPort('[::1]:9100'), { host: '::1', port: 9100 });
    assert.match((parseHostPort('h:70000') as { error: string }).error, /TCP port \(1-65535\)/);
    assert.match((parseHostPort('') as { error: string }).error, /SSH tunnel/);
  });

  it('lists saved connections first, EPMD nodes not saved, then remote', () => {
    const saved: SavedConnection[] = [{ node: 'a@h', env: 'staging', cookie: { kind: 'file', path: '/tmp/c' } }];
    const items = attachItems([{ name: 'a', port: 1 }, { name: 'b', port: 2 }], 'h', saved, new Set(['b@h']));
    assert.deepEqual(items.map((i) => i.label), ['a@h', 'b@h', 'Remote node…', 'Remote node with TLS…']);
    assert.match(items[0]!.description, /saved · staging/);
    assert.match(items[0]!.detail ?? '', /cookie from \/tmp\/c/);
    assert.match(items[1]!.description, /attached/);
    const again = rememberConnection(saved, { node: 'a@h', env: 'production', cookie: { kind: 'secret' } });
    assert.equal(again.length, 1);
    assert.equal(again[0]!.env, 'production');
    assert.ok(!JSON.stringify(again).includes('cookie":"'), 'saved connections never hold a cookie value');
  });
});

describe('sidebar shaping', () => {
  it('bounds a supervisor with many children and says how many more', () => {
    const many = sup('<0.1.0>', 'Big', Array.from({ length: 80 }, (_, i) => worker(`<0.${i + 10}.0>`, 'W')), { childCount: 100_000 });
    const items = treeChildren('n', 'app', many);
    assert.equal(items.length, MAX_CHILDREN_SHOWN + 1);
    assert.deepEqual(items[items.length - 1], { kind: 'more', node: 'n', label: '99,950 more children (open the supervision tree to page through them)' });
    assert.equal(treeDescription(many), 'one_for_one · 100,000 children · 0/3 restarts per 5 s');
    // The same rule as the restart-storm finding: 1 of 3 is a warning, 2 of 3 is critical (an error mark).
    assert.equal(restartHealth({ ...many, restarts: 0 }), 'ok');
    assert.equal(restartHealth({ ...many, restarts: 1 }), 'warning');
    assert.equal(restartHealth({ ...many, restarts: 2 }), 'error');
    assert.equal(restartHealth({ ...many, restarts: 3 }), 'error');
    assert.equal(restartHealth({ ...many, error: 'timeout' }), 'error');
  });

  it('labels processes by name or module and describes them by the sort', () => {
    assert.equal(processLabel(row('<0.1.0>', { name: 'Elixir.Demo.EventSink' })), 'Demo.EventSink');
    assert.equal(processLabel(row('<0.1.0>')), 'Demo.EventSink');
    assert.equal(processDescription(row('<0.1.0>', { messageQueueLen: 12345 }), 'mailbox'), '12,345 messages · <0.1.0>');
    assert.equal(processDescription(row('<0.1.0>', { memory: 3 * 1024 * 1024 }), 'memory'), '3.0 MiB · <0.1.0>');
  });

  it('flags limits under pressure in the overview', () => {
    const o = {
      otpRelease: '25', ertsVersion: '13', uptimeMs: 3_600_000, memory: { total: 1, processes: 1, binary: 1, ets: 1 },
      limits: { processes: { count: 900, limit: 1000 }, ports: { count: 1, limit: 10 }, atoms: { count: 1, limit: 10 }, etsTables: { count: 1, limit: null } },
      schedulers: { online: 2 }, schedulerUtilization: { total: 0.5 }, runQueue: { total: 10 },
    } as unknown as Parameters<typeof overviewStats>[1];
    const stats = overviewStats('n', o);
    const byLabel = new Map(stats.map((s) => [(s as { label: string }).label, s as { warn?: boolean; value: string }]));
    assert.equal(byLabel.get('Processes')?.warn, true);
    assert.equal(byLabel.get('Run queue')?.warn, true);
    assert.equal(byLabel.get('Atoms')?.warn, undefined);
  });
});

describe('supervision tree model (webview)', () => {
  const apps = (childPid: string): ApplicationTree[] => [
    { name: 'demo', description: '', version: '0.1.0', supervisor: sup('<0.100.0>', 'Elixir.Demo.Supervisor', [sup('<0.101.0>', 'Elixir.Demo.Flaky.Supervisor', [worker(childPid, 'Elixir.Demo.FlakyWorker', null, 'Elixir.Demo.FlakyWorker')], { restarts: 2 })]) },
    { name: 'kernel', description: '', version: '8', supervisor: sup('<0.5.0>', 'kernel_sup', []) },
  ];

  it('keeps ids stable when a child restarts with a new pid', () => {
    const a = shapeTree('n', apps('<0.200.0>'), {});
    const b = shapeTree('n', apps('<0.999.0>'), {});
    const ids = (v: VNode): string[] => [v.id, ...v.children.flatMap(ids)];
    assert.deepEqual(ids(a), ids(b));
    const flaky = findPath(a, (v) => v.label === 'Demo.Flaky.Supervisor');
    assert.ok(flaky);
  });

  it('colors by restarts and mailbox, and marks a supervisor that did not answer', () => {
    const root = shapeTree('n', apps('<0.200.0>'), { '<0.200.0>': { messageQueueLen: 5000 } });
    const find = (label: string): VNode => {
      const path = findPath(root, (v) => v.label === label) as string[];
      let v = root;
      for (const id of path.slice(1)) v = v.children.find((c) => c.id === id) as VNode;
      return v;
    };
    assert.equal(find('Demo.Flaky.Supervisor').health, 'error', '2 of 3 restarts: critical, as the finding');
    assert.equal(find('Demo.Flaky.Supervisor').detail, 'one_for_one · 1 child · 2 restarts/5 s of 3 allowed');
    assert.equal(find('Demo.FlakyWorker').health, 'warning');
    const broken = shapeTree('n', [{ name: 'x', description: '', version: '', supervisor: sup('<0.1.0>', 'S', [], { error: 'did not answer within 2000 ms' }) }], {});
    assert.equal(broken.children[0]!.children[0]!.health, 'error');
  });

  it('groups many children of one module and adds a paging node for truncated lists', () => {
    const kids = Array.from({ length: GROUP_THRESHOLD + 5 }, (_, i) => worker(`<0.${i + 10}.0>`, 'Elixir.Demo.Session'));
    const t = shapeTree('n', [{ name: 'demo', description: '', version: '', supervisor: sup('<0.2.0>', 'Elixir.Demo.SessionSupervisor', kids, { childCount: 300 }) }], {});
    const s = t.children[0]!.children[0]!;
    assert.deepEqual(s.children.map((c) => c.kind), ['group', 'more']);
    assert.equal(s.children[0]!.label, `Demo.Session × ${GROUP_THRESHOLD + 5}`);
    assert.deepEqual(s.children[1]!.page, { supervisorPid: '<0.2.0>', offset: GROUP_THRESHOLD + 5 });
    const collapsed = defaultCollapsed(t);
    assert.ok(collapsed.has(s.children[0]!.id));
    assert.equal(visible(t, collapsed).children[0]!.children[0]!.children[0]!.children.length, 0);
  });

  it('focuses by pid, name or module', () => {
    const root = shapeTree('n', apps('<0.200.0>'), {});
    assert.ok(findPath(root, matchFocus({ pid: '<0.200.0>' })));
    assert.ok(findPath(root, matchFocus({ name: 'Elixir.Demo.Flaky.Supervisor' })));
    assert.ok(findPath(root, matchFocus({ module: 'Demo.FlakyWorker' })));
    assert.equal(findPath(root, matchFocus({ pid: '<0.1.1>' })), null);
  });
});

describe('dashboard model (webview)', () => {
  const s = (at: number, util: number | null): DashboardSample => ({
    at,
    memory: { total: 100 + at, processes: 50, processesUsed: 40, system: 50, atom: 1, atomUsed: 1, binary: 10, code: 5, ets: 3 },
    schedulerUtilization: util === null ? null : { total: util, perScheduler: [util, util / 2] },
    runQueue: 1,
    processCount: 10,
    ioInPerSec: at,
    ioOutPerSec: 0,
  });
  it('keeps a bounded ring and extracts series', () => {
    let samples: DashboardSample[] = [];
    for (let i = 0; i < MAX_SAMPLES + 10; i++) samples = pushSample(samples, s(i, 0.5));
    assert.equal(samples.length, MAX_SAMPLES);
    assert.equal(samples[0]!.at, 10);
    assert.equal(memorySeries(samples).length, 7);
    const util = utilizationSeries([s(1, null), s(2, 0.5)]);
    assert.deepEqual(util[0]!.points, [[2, 50]]);
    assert.equal(util.length, 3);
    assert.deepEqual(ioSeries([s(1, 0), s(2, 0)])[0]!.points, [[2, 2]]);
    assert.deepEqual(domains([], 1), { x: [0, 1], y: [0, 1] });
    assert.deepEqual(domains(util, 100).y, [0, 100]);
  });
});

describe('host-side webview message checks', () => {
  it('clamps a table query from the webview', async () => {
    const { sanitizeQuery } = await import('../../../src/extension/model/messages');
    assert.deepEqual(sanitizeQuery({ sort: 'mailbox', offset: 200, limit: 200, filter: 'Demo' }), { sort: 'mailbox', offset: 200, limit: 200, filter: 'Demo' });
    const bad = sanitizeQuery({ sort: 'evil' as never, offset: -5, limit: 1e9, filter: 'x'.repeat(1000) });
    assert.deepEqual({ ...bad, filter: bad.filter.length }, { sort: 'memory', offset: 0, limit: 500, filter: 200 });
  });
});
