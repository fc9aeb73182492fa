// The flame-graph webview's model (webview/flame-graph/model.ts) over a profile converted by
// core (src/core/profile/flame.ts): folding with d3-hierarchy, zoom, search, hover text, keys.
import { strict as assert } from 'node:assert';
import { profileFacts, toFlameProfile } from '../../../../src/core/profile/flame';
import { ProfileBuilder, type RawFrame } from '../../../../src/core/profile/profile';
import { bars, describe as describeBar, find, layout, neighbour, search, treeFor, withIds } from '../../../../webview/flame-graph/model';

const F = {
  init: { module: 'proc_lib', function: 'init_p_do_apply', arity: 3, line: 240 },
  handle: { module: 'Elixir.Demo.PricingWorker', function: 'handle_info', arity: 2, line: 46 },
  reprice: { module: 'Elixir.Demo.PricingWorker', function: 'reprice', arity: 4, line: 56 },
  compute: { module: 'Elixir.Demo.Pricing', function: 'compute', arity: 2, line: 13 },
  discount: { module: 'Elixir.Demo.Pricing', function: 'volume_discount', arity: 1, line: 17 },
  loop: { module: 'gen_server', function: 'loop', arity: 7, line: 871 },
  loopBusy: { module: 'gen_server', function: 'loop', arity: 7, line: 880 },
  fun: { module: 'Elixir.Demo.Pricing', function: '-compute/2-fun-0-', arity: 1, line: 14 },
} satisfies Record<string, RawFrame>;

function profile() {
  const b = new ProfileBuilder();
  b.addProcess({ pid: '<0.100.0>', name: 'Elixir.Demo.PricingWorker', initialCall: null });
  b.addProcess({ pid: '<0.200.0>', name: null, initialCall: 'Elixir.Demo.Session:init/1' });
  b.setFile('Elixir.Demo.Pricing', 'lib/demo/workers/pricing.ex');
  let t = 0;
  const add = (pid: string, stack: RawFrame[], n: number, busy = true): void => {
    for (let i = 0; i < n; i++) b.add(pid, (t += 10_000), busy, [...stack].reverse().map((f) => b.frame(f)));
  };
  add('<0.100.0>', [F.init, F.handle, F.reprice, F.compute, F.discount], 30);
  add('<0.100.0>', [F.init, F.handle, F.reprice, F.compute], 20);
  add('<0.100.0>', [F.init, F.handle, F.reprice, F.compute, F.fun], 10);
  add('<0.100.0>', [F.init, F.loopBusy], 5);
  add('<0.100.0>', [F.init, F.loop], 40, false);
  add('<0.200.0>', [F.init, F.compute], 35);
  const p = b.profile({ mode: 'probe', stats: { hz: 97, intervalUs: 10309, samples: b.count, ticks: 0, lateTicks: 0, backoffs: 0, costUsPerSample: 1, costUsMax: 2 }, durationMs: 1400 });
  return { core: p, flame: toFlameProfile(p, { node: 'demo@host', title: 'Demo.PricingWorker', endReason: 'completed' }) };
}

describe('flame graph model: folding', () => {
  it('lays out the folded tree with d3-hierarchy: width by total samples, one row per depth', () => {
    const { flame } = profile();
    assert.deepEqual(flame.processes.map((p) => [p.label, p.busy, p.idle]), [['Demo.PricingWorker <0.100.0>', 65, 40], ['Demo.Session.init/1 <0.200.0>', 35, 0]]);
    const root = layout(treeFor(flame, '<0.100.0>'));
    assert.equal(root.value, 65);
    const compute = root.descendants().find((n) => n.data.frame >= 0 && flame.frames[n.data.frame]?.name === 'Demo.Pricing.compute/2');
    assert.equal(compute?.value, 60);
    assert.equal(compute?.depth, 4);
    assert.ok(Math.abs((compute?.x1 ?? 0) - (compute?.x0 ?? 0) - 60 / 65) < 1e-9);
    // Siblings are laid side by side without overlap.
    const kids = compute?.children ?? [];
    assert.equal(kids.length, 2);
    assert.ok(Math.abs((kids[0]?.x1 ?? 0) - (kids[1]?.x0 ?? 0)) < 1e-9);
    // "All processes" folds both; the anonymous fun keeps its parent's name.
    assert.equal(layout(flame.all).value, 100);
    assert.ok(flame.frames.some((f) => f.name === 'fn in Demo.Pricing.compute/2'));
  });

  it('gives every node a stable path id', () => {
    const { flame } = profile();
    const ids = withIds(flame.all);
    assert.equal(ids.id, '');
    const first = ids.children[0];
    assert.equal(first?.id, String(first?.frame));
    assert.equal(first?.children[0]?.id, `${first?.frame}/${first?.children[0]?.frame}`);
  });
});

describe('flame graph model: zoom', () => {
  it('zooming into a frame fills the width with its subtree; ancestors stay as full-width bars; siblings go', () => {
    const { flame } = profile();
    const root = layout(treeFor(flame, '<0.100.0>'));
    const compute = root.descendants().find((n) => n.data.frame >= 0 && flame.frames[n.data.frame]?.function === 'compute');
    const drawn = bars(flame, root, compute?.data.id ?? '', new Set());
    const focus = drawn.find((b) => b.id === compute?.data.id);
    assert.deepEqual([focus?.x, focus?.width, focus?.ancestor], [0, 1, false]);
    const ancestors = drawn.filter((b) => b.ancestor);
    assert.deepEqual(ancestors.map((b) => [b.name, b.width]), [['all samples', 1], ['proc_lib:init_p_do_apply/3', 1], ['Demo.PricingWorker.handle_info/2', 1], ['Demo.PricingWorker.reprice/4', 1]]);
    assert.ok(!drawn.some((b) => b.name === 'gen_server:loop/7'), 'the sibling subtree is not drawn');
    const discount = drawn.find((b) => b.name === 'Demo.Pricing.volume_discount/1');
    assert.ok(Math.abs((discount?.width ?? 0) - 30 / 60) < 1e-9);
    // An unknown focus (a refold without it) falls back to the root.
    assert.equal(bars(flame, root, 'nope/1', new Set())[0]?.width, 1);
  });

  it('leaves out bars narrower than the minimum width so the DOM stays bounded', () => {
    const { flame } = profile();
    const root = layout(treeFor(flame, '<0.100.0>'));
    const all = bars(flame, root, '', new Set(), 0);
    const some = bars(flame, root, '', new Set(), 0.1);
    assert.ok(some.length < all.length);
    assert.ok(some.every((b) => b.width >= 0.1));
  });
});

describe('flame graph model: search, hover, keys', () => {
  it('marks matching frames and counts each sample once under nested matches', () => {
    const { flame } = profile();
    const root = layout(treeFor(flame, '<0.100.0>'));
    const r = search(flame, root, 'demo.pricing.');
    // compute/2, volume_discount/1 and the fn under compute: samples only once (60 of 65).
    assert.equal(r.frames, 3);
    assert.equal(r.samples, 60);
    assert.ok(Math.abs(r.share - 60 / 65) < 1e-9);
    assert.equal(search(flame, root, 'pricing.ex').frames, 3, 'file names match too');
    assert.equal(search(flame, root, '  ').frames, 0);
    assert.equal(search(flame, root, 'no-such').samples, 0);
    const drawn = bars(flame, root, '', r.ids);
    assert.equal(drawn.filter((b) => b.match).length, 3);
  });

  it('describes a frame with its place, samples and shares of all and of its parent', () => {
    const { flame } = profile();
    const root = layout(treeFor(flame, '<0.100.0>'));
    const discount = root.descendants().find((n) => n.data.frame >= 0 && flame.frames[n.data.frame]?.function === 'volume_discount');
    const text = describeBar(flame, root, discount?.data.id ?? '');
    assert.equal(text, 'Demo.Pricing.volume_discount/1 — lib/demo/workers/pricing.ex:17\n30 samples (46.2% of all · 50.0% of Demo.Pricing.compute/2) · self 30 (46.2%)');
    assert.equal(find(root, 'x/y'), undefined);
  });

  it('moves with arrow keys: up to the caller, down to the widest callee, along a row', () => {
    const { flame } = profile();
    const root = layout(treeFor(flame, '<0.100.0>'));
    const drawn = bars(flame, root, '', new Set());
    const init = drawn.find((b) => b.name === 'proc_lib:init_p_do_apply/3');
    const down = neighbour(drawn, init?.id ?? '', 'down');
    assert.equal(drawn.find((b) => b.id === down)?.name, 'Demo.PricingWorker.handle_info/2');
    assert.equal(neighbour(drawn, down ?? '', 'up'), init?.id);
    assert.equal(drawn.find((b) => b.id === neighbour(drawn, down ?? '', 'right'))?.name, 'gen_server:loop/7');
    assert.equal(neighbour(drawn, '', 'up'), null);
  });
});

describe('profile lens facts', () => {
  it('lists functions with their shares; generated functions name their defining function', () => {
    const { core } = profile();
    const facts = profileFacts(core, 'demo@host', 1, undefined, 0.05);
    assert.equal(facts.of, '2 processes');
    const compute = facts.functions.find((f) => f.function === 'compute');
    assert.equal(compute?.module, 'Demo.Pricing');
    assert.ok(Math.abs((compute?.total ?? 0) - 95 / 100) < 1e-9);
    const fn = facts.functions.find((f) => f.function === '-compute/2-fun-0-');
    assert.deepEqual(fn?.definedIn, { function: 'compute', arity: 2 });
    assert.equal(fn?.name, 'fn in Demo.Pricing.compute/2');
  });
});
