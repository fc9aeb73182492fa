// The supervision tree webview's model (webview/supervision-tree/model.ts): shaping for d3, stable
// ids, grouping, paging, health, focus/search lookup, collapse state and keyboard moves.
import { strict as assert } from 'node:assert';
import type { ApplicationTree, TreeNode } from '../../../../src/core/inspect/tree';
import {
  GROUP_THRESHOLD,
  columnOffsets,
  defaultCollapsed,
  effectiveCollapsed,
  expandPath,
  findPath,
  focusPath,
  mailboxHealth,
  navigate,
  nodeById,
  pagedChildPath,
  prunePrefs,
  restartHealth,
  searchPaths,
  setExpanded,
  shapeTree,
  shorten,
  siblingKeys,
  visible,
  type CollapsePrefs,
  type VNode,
} from '../../../../webview/supervision-tree/model';

const worker = (pid: string | null, module: string | null, over: Partial<TreeNode> = {}): TreeNode => ({ pid, name: null, module, type: 'worker', childCount: 0, children: [], ...over });
const sup = (pid: string, name: string | null, children: TreeNode[], over: Partial<TreeNode> = {}): TreeNode => ({
  pid,
  name,
  module: name,
  type: 'supervisor',
  strategy: 'one_for_one',
  intensity: 3,
  period: 5,
  restarts: 0,
  childCount: children.length,
  children,
  ...over,
});
const app = (name: string, supervisor: TreeNode | null): ApplicationTree => ({ name, description: '', version: '1.0.0', supervisor });

function ids(v: VNode): string[] {
  return [v.id, ...v.children.flatMap(ids)];
}

function byLabel(root: VNode, label: string): VNode {
  const path = findPath(root, (v) => v.label === label);
  assert.ok(path, `no node labelled ${label}`);
  const n = nodeById(root, path[path.length - 1] ?? '');
  assert.ok(n);
  return n;
}

/** A demo node; `p` varies every pid below the top so restarts can be simulated. */
function demo(p: number, sessions = 3): ApplicationTree[] {
  return [
    app(
      'demo',
      sup('<0.100.0>', 'Elixir.Demo.Supervisor', [
        sup(`<0.${p}.1>`, 'Elixir.Demo.Flaky.Supervisor', [worker(`<0.${p}.2>`, 'Elixir.Demo.FlakyWorker', { id: 'Elixir.Demo.FlakyWorker' })], { id: 'Elixir.Demo.Flaky.Supervisor', restarts: 2 }),
        sup(
          `<0.${p}.3>`,
          'Elixir.Demo.SessionSupervisor',
          // DynamicSupervisor children: every child id is `undefined`.
          Array.from({ length: sessions }, (_, i) => worker(`<0.${p}.${10 + i}>`, 'Elixir.Demo.Session', { id: 'undefined' })),
          { id: 'Elixir.Demo.SessionSupervisor', strategy: 'one_for_one' },
        ),
        worker(`<0.${p}.4>`, 'Elixir.Demo.EventSink', { id: 'Elixir.Demo.EventSink', name: 'Elixir.Demo.EventSink' }),
      ]),
    ),
    app('kernel', sup('<0.5.0>', 'kernel_sup', [worker('<0.6.0>', 'code_server', { id: 'code_server', name: 'code_server' })])),
    app('stdlib', null),
  ];
}

describe('supervision tree model: shape and stable ids', () => {
  it('has a root per node, one child per application with a supervisor, and the top supervisor under it', () => {
    const root = shapeTree('demo@host', demo(200), {});
    assert.equal(root.kind, 'root');
    assert.equal(root.label, 'demo@host');
    assert.deepEqual(
      root.children.map((c) => [c.kind, c.label]),
      [
        ['app', 'demo'],
        ['app', 'kernel'],
      ],
    );
    assert.match(root.detail, /3 applications \(1 without a supervisor\)/);
    const top = root.children[0]?.children[0];
    assert.equal(top?.kind, 'supervisor');
    assert.equal(top?.label, 'Demo.Supervisor');
    assert.equal(top?.pid, '<0.100.0>');
  });

  it('keeps every id when children restart with new pids', () => {
    const a = shapeTree('n', demo(200), {});
    const b = shapeTree('n', demo(777), {});
    assert.deepEqual(ids(a), ids(b));
    assert.notEqual(byLabel(a, 'Demo.FlakyWorker').pid, byLabel(b, 'Demo.FlakyWorker').pid);
    // and the ids do not contain any pid
    for (const id of ids(b)) assert.doesNotMatch(id, /<0\.\d+\.\d+>/);
  });

  it('gives siblings with the same child id (DynamicSupervisor children) distinct ids', () => {
    const root = shapeTree('n', demo(200), {});
    const all = ids(root);
    assert.equal(new Set(all).size, all.length, 'ids are unique');
    const sessions = byLabel(root, 'Demo.SessionSupervisor').children;
    assert.equal(sessions.length, 3);
    assert.equal(new Set(sessions.map((s) => s.id)).size, 3);
    assert.deepEqual(siblingKeys([worker('<0.1.0>', 'M', { id: 'undefined' }), worker('<0.2.0>', 'M', { id: 'undefined' }), worker('<0.3.0>', 'N', { id: 'x' })]), ['module:M', 'module:M#2', 'x']);
  });

  it('does not let a child id containing "/" collide with a deeper path', () => {
    const tricky = sup('<0.1.0>', 'Top', [sup('<0.2.0>', 'a', [worker('<0.3.0>', 'W', { id: 'b' })], { id: 'a' }), worker('<0.4.0>', 'W', { id: 'a/b' })]);
    const root = shapeTree('n', [app('x', tricky)], {});
    const all = ids(root);
    assert.equal(new Set(all).size, all.length);
  });

  it('labels by registered name, else module, else pid, and describes supervisors', () => {
    const root = shapeTree('n', [app('x', sup('<0.1.0>', null, [worker('<0.2.0>', null), worker('<0.3.0>', 'Elixir.Demo.W', { name: 'Elixir.Demo.Named' })], { module: 'Elixir.X.Sup', restarts: 1 }))], {});
    const top = root.children[0]?.children[0];
    assert.equal(top?.label, 'X.Sup');
    assert.deepEqual(
      top?.children.map((c) => c.label),
      ['<0.2.0>', 'Demo.Named'],
    );
    assert.equal(top?.detail, 'one_for_one · 2 children · 1 restarts/5 s of 3 allowed');
    assert.equal(byLabel(shapeTree('n', demo(1), {}), 'Demo.Flaky.Supervisor').detail, 'one_for_one · 1 child · 2 restarts/5 s of 3 allowed');
  });
});

describe('supervision tree model: aggregation and paging', () => {
  const many = (n: number, over: Partial<TreeNode> = {}): TreeNode[] => Array.from({ length: n }, (_, i) => worker(`<0.${i + 10}.0>`, 'Elixir.Demo.Session', { id: 'undefined', ...over }));

  it(`groups more than ${GROUP_THRESHOLD} listed children of one module, not ${GROUP_THRESHOLD}`, () => {
    const at = shapeTree('n', [app('a', sup('<0.2.0>', 'S', many(GROUP_THRESHOLD)))], {});
    assert.ok(at.children[0]?.children[0]?.children.every((c) => c.kind === 'worker'));
    const over = shapeTree('n', [app('a', sup('<0.2.0>', 'S', [worker('<0.9.0>', 'Elixir.Demo.Other', { id: 'other' }), ...many(GROUP_THRESHOLD + 1)]))], {});
    const kids = over.children[0]?.children[0]?.children ?? [];
    assert.deepEqual(
      kids.map((c) => c.kind),
      ['worker', 'group'],
    );
    assert.equal(kids[1]?.label, `Demo.Session × ${GROUP_THRESHOLD + 1}`);
    assert.equal(kids[1]?.children.length, GROUP_THRESHOLD + 1);
    assert.equal(kids[1]?.pid, null);
  });

  it('groups 300 children of one module into one node and keeps member ids as when ungrouped', () => {
    const grouped = shapeTree('n', [app('a', sup('<0.2.0>', 'S', many(300)))], {});
    const group = grouped.children[0]?.children[0]?.children[0];
    assert.equal(group?.kind, 'group');
    assert.equal(group?.label, 'Demo.Session × 300');
    const flat = shapeTree('n', [app('a', sup('<0.2.0>', 'S', many(3)))], {});
    assert.deepEqual(
      group?.children.slice(0, 3).map((c) => c.id),
      flat.children[0]?.children[0]?.children.map((c) => c.id),
    );
    // the group is collapsed by default, so the layout sees one node for 300 children
    const shown = visible(grouped, defaultCollapsed(grouped));
    assert.equal(shown.children[0]?.children[0]?.children[0]?.children.length, 0);
  });

  it('groups supervisor children of one module too', () => {
    const subs = Array.from({ length: 25 }, (_, i) => sup(`<0.${i + 10}.0>`, 'Elixir.Demo.RoomSup', [], { id: 'undefined', name: null }));
    const root = shapeTree('n', [app('a', sup('<0.2.0>', 'S', subs))], {});
    assert.equal(root.children[0]?.children[0]?.children[0]?.label, 'Demo.RoomSup × 25');
  });

  it('adds a "more children" node with the next offset when only a page is listed', () => {
    const root = shapeTree('n', [app('a', sup('<0.2.0>', 'Elixir.Demo.SessionSupervisor', many(100), { childCount: 300, truncated: true }))], {});
    const kids = root.children[0]?.children[0]?.children ?? [];
    const more = kids[kids.length - 1];
    assert.equal(more?.kind, 'more');
    assert.equal(more?.label, '200 more children');
    assert.deepEqual(more?.page, { supervisorPid: '<0.2.0>', offset: 100 });
    assert.match(kids[0]?.detail ?? '', /100 of 300 children listed/);
    const complete = shapeTree('n', [app('a', sup('<0.2.0>', 'S', many(3)))], {});
    assert.ok(!ids(complete).some((id) => id.endsWith('…more')));
  });

  it('finds the first child of the next page after the host added it', () => {
    const before = shapeTree('n', [app('a', sup('<0.2.0>', 'S', many(100), { childCount: 300 }))], {});
    assert.equal(pagedChildPath(before, '<0.2.0>', 100), null);
    const after = shapeTree('n', [app('a', sup('<0.2.0>', 'S', many(200), { childCount: 300 }))], {});
    const path = pagedChildPath(after, '<0.2.0>', 100);
    assert.ok(path);
    const group = nodeById(after, path[path.length - 2] ?? '');
    assert.equal(group?.kind, 'group');
    assert.equal(nodeById(after, path[path.length - 1] ?? '')?.pid, '<0.110.0>');
    assert.equal(nodeById(after, path[path.length - 1] ?? '')?.index, 100);
  });
});

describe('supervision tree model: health', () => {
  it('colors restarts against intensity as the restart-storm finding rates them: warning from 30%, error from 60%', () => {
    const s = (restarts: number, intensity: number): TreeNode => sup('<0.1.0>', 'S', [], { restarts, intensity });
    assert.equal(restartHealth(s(1, 5)), 'ok');
    assert.equal(restartHealth(s(2, 5)), 'warning');
    assert.equal(restartHealth(s(3, 5)), 'error');
    assert.equal(restartHealth(s(5, 5)), 'error');
    assert.equal(restartHealth(s(0, 5)), 'ok');
    assert.equal(restartHealth(s(1, 0)), 'ok', 'no intensity: nothing to compare');
    assert.equal(restartHealth(sup('<0.1.0>', 'S', [], { error: 'did not answer within 2000 ms' })), 'error');
  });

  it('colors mailboxes: 1,000 queued or growing faster than 10/s is a warning', () => {
    assert.equal(mailboxHealth(undefined), 'ok');
    assert.equal(mailboxHealth({ messageQueueLen: 999 }), 'ok');
    assert.equal(mailboxHealth({ messageQueueLen: 1000 }), 'warning');
    assert.equal(mailboxHealth({ messageQueueLen: 5, mailboxGrowth: 10 }), 'ok');
    assert.equal(mailboxHealth({ messageQueueLen: 5, mailboxGrowth: 10.5 }), 'warning');
    assert.equal(mailboxHealth({ messageQueueLen: 10_000 }), 'error');
  });

  it('marks nodes, explains why, and shows trouble inside collapsed ancestors', () => {
    const root = shapeTree('n', demo(200), { '<0.200.4>': { messageQueueLen: 4321, mailboxGrowth: 55 } });
    const sink = byLabel(root, 'Demo.EventSink');
    assert.equal(sink.health, 'warning');
    assert.deepEqual(sink.reasons, ['4,321 messages queued', 'mailbox growing 55/s']);
    assert.match(sink.detail, /4,321 queued \(\+55\/s\)/);
    const flaky = byLabel(root, 'Demo.Flaky.Supervisor');
    // 2 of 3 allowed restarts: the restart-storm finding is critical, the tree marks it an error.
    assert.equal(flaky.health, 'error');
    assert.deepEqual(flaky.reasons, ['2 of 3 allowed restarts in 5 s']);
    assert.equal(byLabel(root, 'Demo.Supervisor').health, 'ok');
    assert.equal(byLabel(root, 'Demo.Supervisor').inner, 'error');
    assert.equal(root.inner, 'error');
    assert.equal(byLabel(root, 'kernel').inner, 'ok');

    const broken = shapeTree('n', [app('x', sup('<0.1.0>', 'S', [], { error: 'did not answer within 2000 ms' }))], {});
    const s = broken.children[0]?.children[0];
    assert.equal(s?.health, 'error');
    assert.match(s?.detail ?? '', /not answering: did not answer within 2000 ms/);
    assert.equal(broken.inner, 'error');
  });

  it('marks a restarting child as a warning', () => {
    const root = shapeTree('n', [app('x', sup('<0.1.0>', 'S', [worker(null, 'Elixir.W', { id: 'w', status: 'restarting' })]))], {});
    const w = root.children[0]?.children[0]?.children[0];
    assert.equal(w?.health, 'warning');
    assert.equal(w?.detail, 'restarting');
  });
});

describe('supervision tree model: focus and search', () => {
  const root = shapeTree('n', demo(200, 30), {});

  it('focuses by pid first, then registered name, then module', () => {
    const last = (p: string[] | null): VNode | undefined => (p ? nodeById(root, p[p.length - 1] ?? '') : undefined);
    assert.equal(last(focusPath(root, { pid: '<0.200.2>' }))?.label, 'Demo.FlakyWorker');
    assert.equal(last(focusPath(root, { name: 'Elixir.Demo.Flaky.Supervisor' }))?.label, 'Demo.Flaky.Supervisor');
    assert.equal(last(focusPath(root, { name: 'Demo.EventSink' }))?.pid, '<0.200.4>');
    assert.equal(last(focusPath(root, { module: 'Elixir.Demo.FlakyWorker' }))?.label, 'Demo.FlakyWorker');
    // the pid wins over a name that points elsewhere
    assert.equal(last(focusPath(root, { pid: '<0.200.4>', name: 'Elixir.Demo.Flaky.Supervisor' }))?.label, 'Demo.EventSink');
    // a module is matched whole, not as a prefix
    assert.equal(focusPath(root, { module: 'Demo.Flaky' }), null);
    assert.equal(focusPath(root, { pid: '<0.1.1>' }), null);
  });

  it('finds a pid inside a collapsed group and opens the way to it', () => {
    const path = focusPath(root, { pid: '<0.200.25>' });
    assert.ok(path);
    const group = nodeById(root, path[path.length - 2] ?? '');
    assert.equal(group?.kind, 'group');
    const prefs: CollapsePrefs = { collapsed: [path[2] ?? ''], expanded: [] };
    assert.ok(effectiveCollapsed(root, prefs).has(group?.id ?? ''));
    const opened = expandPath(prefs, root, path);
    const shut = effectiveCollapsed(root, opened);
    for (const id of path.slice(0, -1)) assert.ok(!shut.has(id), `${id} open`);
  });

  it('searches name, module and pid case-insensitively in tree order', () => {
    const hits = searchPaths(root, 'flaky');
    assert.deepEqual(
      hits.map((p) => nodeById(root, p[p.length - 1] ?? '')?.label),
      ['Demo.Flaky.Supervisor', 'Demo.FlakyWorker'],
    );
    assert.equal(searchPaths(root, '<0.200.4>').length, 1);
    assert.equal(searchPaths(root, '  ').length, 0);
    assert.equal(searchPaths(root, 'no such thing').length, 0);
  });
});

describe('supervision tree model: collapse state and keyboard', () => {
  it('collapses platform applications and groups by default, and remembers what the user changed', () => {
    const root = shapeTree('n', demo(200, 30), {});
    const kernel = byLabel(root, 'kernel').id;
    const group = byLabel(root, 'Demo.Session × 30').id;
    const flaky = byLabel(root, 'Demo.Flaky.Supervisor').id;
    const none: CollapsePrefs = { collapsed: [], expanded: [] };
    assert.deepEqual([...effectiveCollapsed(root, none)].sort(), [group, kernel].sort());
    let prefs = setExpanded(none, root, group, true);
    prefs = setExpanded(prefs, root, flaky, false);
    assert.deepEqual(prefs, { collapsed: [flaky], expanded: [group] });
    const shut = effectiveCollapsed(root, prefs);
    assert.ok(!shut.has(group) && shut.has(flaky) && shut.has(kernel));
    assert.deepEqual(setExpanded(prefs, root, flaky, true), { collapsed: [], expanded: [group] });
  });

  it('collapses a group that first appears in a later refresh', () => {
    const prefs: CollapsePrefs = { collapsed: [], expanded: [] };
    const small = shapeTree('n', demo(200, 3), {});
    assert.equal(effectiveCollapsed(small, prefs).size, 1, 'only kernel');
    const big = shapeTree('n', demo(201, 40), {});
    assert.ok(effectiveCollapsed(big, prefs).has(byLabel(big, 'Demo.Session × 40').id));
  });

  it('prunes preferences for nodes that left the tree', () => {
    const root = shapeTree('n', demo(200), {});
    const flaky = byLabel(root, 'Demo.Flaky.Supervisor').id;
    assert.deepEqual(prunePrefs({ collapsed: [flaky, 'gone'], expanded: ['also gone'] }, root), { collapsed: [flaky], expanded: [] });
  });

  it('moves with arrow keys among siblings, to the parent and first child, collapsing and expanding', () => {
    const root = shapeTree('n', demo(200), {});
    const collapsed = effectiveCollapsed(root, { collapsed: [], expanded: [] });
    const top = byLabel(root, 'Demo.Supervisor');
    const [flaky, sessions, sink] = top.children;
    assert.ok(flaky && sessions && sink);
    assert.deepEqual(navigate(root, collapsed, flaky.id, 'ArrowDown'), { kind: 'select', id: sessions.id });
    assert.deepEqual(navigate(root, collapsed, sessions.id, 'ArrowUp'), { kind: 'select', id: flaky.id });
    assert.equal(navigate(root, collapsed, flaky.id, 'ArrowUp'), null, 'no sibling above');
    assert.equal(navigate(root, collapsed, sink.id, 'ArrowDown'), null, 'no sibling below');
    assert.deepEqual(navigate(root, collapsed, flaky.id, 'ArrowRight'), { kind: 'select', id: flaky.children[0]?.id });
    assert.deepEqual(navigate(root, collapsed, flaky.id, 'ArrowLeft'), { kind: 'expand', id: flaky.id, expand: false });
    assert.deepEqual(navigate(root, collapsed, sink.id, 'ArrowLeft'), { kind: 'select', id: top.id });
    assert.equal(navigate(root, collapsed, sink.id, 'ArrowRight'), null, 'a worker has no children');
    const shut = new Set([...collapsed, flaky.id]);
    assert.deepEqual(navigate(root, shut, flaky.id, 'ArrowRight'), { kind: 'expand', id: flaky.id, expand: true });
    assert.deepEqual(navigate(root, shut, flaky.id, 'ArrowLeft'), { kind: 'select', id: top.id });
    assert.deepEqual(navigate(root, collapsed, sink.id, 'Enter'), { kind: 'activate', id: sink.id });
    assert.deepEqual(navigate(root, collapsed, sink.id, 'Home'), { kind: 'select', id: root.id });
    assert.equal(navigate(root, collapsed, sink.id, 'x'), null);
    // nothing selected yet, or the selection is gone: arrows start at the root
    assert.deepEqual(navigate(root, collapsed, null, 'ArrowDown'), { kind: 'select', id: root.id });
    assert.deepEqual(navigate(root, collapsed, 'gone', 'ArrowRight'), { kind: 'select', id: root.id });
    // a selection hidden in a collapsed node moves to that node
    const kernelWorker = byLabel(root, 'code_server');
    assert.deepEqual(navigate(root, collapsed, kernelWorker.id, 'ArrowDown'), { kind: 'select', id: byLabel(root, 'kernel').id });
  });
});

describe('supervision tree model: layout helpers', () => {
  it('sizes columns by their widest node and shortens very long labels', () => {
    const cols = columnOffsets(
      [
        { depth: 0, width: 30 },
        { depth: 1, width: 316 },
        { depth: 1, width: 20 },
        { depth: 2, width: 5 },
      ],
      100,
      40,
    );
    assert.deepEqual(cols, [0, 100 + 40, 140 + 316 + 40]);
    assert.deepEqual(columnOffsets([]), []);
    assert.equal(shorten('abc', 5), 'abc');
    assert.equal(shorten('abcdefgh', 5), 'abcd…');
  });
});
