// The process table webview's model (webview/process-table/model.ts): the block cache (what to
// fetch for a viewport, in-flight bookkeeping, invalidation, pruning), scroll scaling for a
// million rows, changed cells between refreshes, keyboard selection and page acceptance.
import { strict as assert } from 'node:assert';
import type { ProcessRow } from '../../../../src/core/inspect/processes';
import {
  BLOCK,
  BlockCache,
  CHANGE_FADE_MS,
  ChangeTracker,
  IN_FLIGHT_TIMEOUT_MS,
  MAX_SCROLL_PX,
  ROW_HEIGHT,
  blockQuery,
  cellKey,
  changedCells,
  firstRow,
  moveSelection,
  pageDecision,
  pageRows,
  planFetch,
  revealScrollTop,
  revealTop,
  rowPxAt,
  scrollSpace,
  scrollTopFor,
  summaryText,
  visibleColumns,
  visibleRows,
} from '../../../../webview/process-table/model';

const row = (i: number, over: Partial<ProcessRow> = {}): ProcessRow => ({
  pid: `<0.${i}.0>`,
  name: i % 3 === 0 ? `Elixir.Worker${i}` : null,
  memory: 1000 + i,
  reductions: 5000 - i,
  messageQueueLen: 0,
  currentFunction: 'gen_server:loop/7',
  initialCall: 'Elixir.Worker:init/1',
  ...over,
});
const rows = (offset: number, n: number): ProcessRow[] => Array.from({ length: n }, (_, k) => row(offset + k));

describe('process table model: block cache', () => {
  it('asks for the blocks covering a viewport once, then nothing while they are in flight', () => {
    const cache = new BlockCache();
    cache.reset('memory', '');
    assert.deepEqual(cache.missing(150, 260, 1000, 0), [0, 1]);
    assert.deepEqual(cache.missing(150, 260, 1000, 10), [], 'no duplicate fetch while in flight');
    assert.deepEqual(cache.missing(0, 450, 1000, 20), [2]);
    cache.store(0, BLOCK, rows(0, BLOCK), 30);
    assert.equal(cache.row(199)?.pid, '<0.199.0>');
    assert.equal(cache.row(200), undefined);
    assert.deepEqual(cache.missing(0, 450, 1000, 40), [], 'block 0 cached, 1 and 2 still in flight');
  });

  it('clamps to the rows that exist and asks nothing for an empty table', () => {
    const cache = new BlockCache();
    cache.reset('memory', '');
    assert.deepEqual(cache.missing(-50, 10_000, 450, 0), [0, 1, 2]);
    assert.deepEqual(new BlockCache().missing(0, 100, 0, 0), []);
  });

  it('asks again for a block whose answer never came', () => {
    const cache = new BlockCache();
    cache.reset('memory', '');
    assert.deepEqual(cache.missing(0, 10, 1000, 0), [0]);
    assert.deepEqual(cache.missing(0, 10, 1000, IN_FLIGHT_TIMEOUT_MS - 1), []);
    assert.deepEqual(cache.missing(0, 10, 1000, IN_FLIGHT_TIMEOUT_MS), [0]);
    cache.clearInFlight();
    assert.deepEqual(cache.missing(0, 10, 1000, IN_FLIGHT_TIMEOUT_MS + 1), [0], 'after an error: asked at once');
  });

  it('drops everything when the sort or the filter changes, not otherwise', () => {
    const cache = new BlockCache();
    assert.equal(cache.reset('memory', ''), true);
    cache.store(0, BLOCK, rows(0, BLOCK), 0);
    cache.missing(200, 210, 1000, 0);
    assert.equal(cache.reset('memory', ''), false);
    assert.equal(cache.row(5)?.pid, '<0.5.0>');
    assert.equal(cache.reset('mailbox', ''), true);
    assert.equal(cache.row(5), undefined);
    assert.deepEqual(cache.missing(0, 210, 1000, 1), [0, 1], 'in-flight marks went with the cache');
    cache.store(0, BLOCK, rows(0, BLOCK), 2);
    assert.equal(cache.reset('mailbox', 'Demo'), true);
    assert.equal(cache.row(5), undefined);
    assert.equal(cache.rememberedPids, 0);
  });

  it('replaces a refreshed block (exited processes go) and reports the previous row per pid', () => {
    const cache = new BlockCache();
    cache.reset('mailbox', '');
    cache.store(0, BLOCK, rows(0, BLOCK), 0);
    const refreshed = [row(1, { messageQueueLen: 7 }), row(0)];
    const previous = cache.store(0, BLOCK, refreshed, 1);
    assert.equal(previous.get('<0.1.0>')?.messageQueueLen, 0);
    assert.equal(cache.row(0)?.pid, '<0.1.0>');
    assert.equal(cache.row(2), undefined, 'the rest of the block was replaced');
    assert.equal(cache.loaded(2), true, 'but the block counts as fetched');
  });

  it('finds the previous row of a pid that moved to another block', () => {
    const cache = new BlockCache();
    cache.reset('mailbox', '');
    cache.store(0, BLOCK, rows(0, BLOCK), 0);
    cache.store(200, BLOCK, rows(200, BLOCK), 0);
    const moved = rows(200, BLOCK);
    moved[0] = row(5, { messageQueueLen: 3 });
    const previous = cache.store(200, BLOCK, moved, 1);
    assert.equal(previous.get('<0.5.0>')?.messageQueueLen, 0);
  });

  it('stores a page that is not aligned to blocks into the blocks it covers', () => {
    const cache = new BlockCache();
    cache.reset('memory', '');
    cache.store(100, BLOCK, rows(100, BLOCK), 0);
    assert.equal(cache.row(100)?.pid, '<0.100.0>');
    assert.equal(cache.row(299)?.pid, '<0.299.0>');
    assert.equal(cache.row(99), undefined);
  });

  it('keeps only the blocks nearest to the viewport, and forgets their pids', () => {
    const cache = new BlockCache();
    cache.reset('memory', '');
    for (let b = 0; b < 10; b++) cache.store(b * BLOCK, BLOCK, rows(b * BLOCK, BLOCK), 0);
    assert.equal(cache.rememberedPids, 10 * BLOCK);
    // 0 and 4 are as far from 2: the one further down goes first.
    assert.deepEqual(cache.prune(2, 4), [4, 5, 6, 7, 8, 9]);
    assert.deepEqual(cache.cachedBlocks(), [0, 1, 2, 3]);
    assert.equal(cache.rememberedPids, 4 * BLOCK);
    assert.deepEqual(cache.prune(2, 4), []);
  });

  it('plans the missing blocks with the viewport center last, and moves the refresh to a cached block in view', () => {
    const cache = new BlockCache();
    cache.reset('memory', '');
    assert.deepEqual(planFetch(cache, { first: 150, last: 450, center: 300 }, 10_000, null, 0), [0, 2, 1]);
    for (const b of [0, 1, 2]) cache.store(b * BLOCK, BLOCK, rows(b * BLOCK, BLOCK), 1);
    // The host refreshes block 2 (the last query); the viewport is on block 1: while scrolling
    // nothing is asked, once settled block 1 is (once).
    assert.deepEqual(planFetch(cache, { first: 150, last: 450, center: 300 }, 10_000, 2, 2, false), []);
    assert.deepEqual(planFetch(cache, { first: 150, last: 450, center: 300 }, 10_000, 2, 2), [1]);
    assert.deepEqual(planFetch(cache, { first: 150, last: 450, center: 300 }, 10_000, 2, 3), [], 'already asked');
    assert.deepEqual(planFetch(cache, { first: 150, last: 450, center: 300 }, 10_000, 1, 4), []);
    // With blocks missing, those come first and the refresh is not moved.
    assert.deepEqual(planFetch(cache, { first: 150, last: 650, center: 300 }, 10_000, 2, 5), [3]);
  });

  it('builds block queries', () => {
    assert.deepEqual(blockQuery('reductions', 'Demo', 3), { sort: 'reductions', filter: 'Demo', offset: 3 * BLOCK, limit: BLOCK });
  });
});

describe('process table model: scroll space', () => {
  const viewport = 600;

  it('is the natural height for small tables', () => {
    assert.deepEqual(scrollSpace(1000), { height: 1000 * ROW_HEIGHT, scale: 1 });
    assert.equal(firstRow(22 * 37, 1000, viewport).index, 37);
    assert.equal(scrollTopFor(37, 1000, viewport), 37 * 22);
  });

  it('scales a million rows under the browser limit', () => {
    const { height, scale } = scrollSpace(1_000_000);
    assert.ok(scale > 1);
    assert.equal(height * scale, 1_000_000 * ROW_HEIGHT);
    assert.ok(height <= MAX_SCROLL_PX && height < 16_000_000);
  });

  it('round-trips row index -> whole-pixel scrollTop -> row index for 1,000,000 rows', () => {
    const total = 1_000_000;
    const lastTop = total - pageRows(viewport) - 1;
    const samples = [0, 1, 2, 3, 7, 199, 200, 12_345, 499_999, 500_000, 777_777, 999_000, lastTop];
    for (let i = 0; i < 2000; i++) samples.push(Math.floor((i * 7919 * 104729) % lastTop));
    for (const index of samples) {
      const top = scrollTopFor(index, total, viewport);
      assert.equal(top, Math.round(top), 'a whole pixel (browsers round scrollTop)');
      const back = firstRow(top, total, viewport);
      assert.equal(back.index, index, `row ${index} -> scrollTop ${top} -> row ${back.index}`);
      assert.ok(back.offsetPx <= 0 && back.offsetPx > -ROW_HEIGHT / 2, `offset ${back.offsetPx}`);
    }
  });

  it('shows the first row at the top and the last row at the bottom of the scaled space', () => {
    const total = 1_000_000;
    const { height } = scrollSpace(total);
    const top = visibleRows(0, total, viewport, 0);
    assert.equal(top.first, 0);
    const bottom = visibleRows(height - viewport, total, viewport, 0);
    assert.equal(bottom.last, total - 1);
    assert.equal(rowPxAt(height - viewport, total, viewport), total * ROW_HEIGHT - viewport);
    // Scrolling past the end (or before the start) clamps.
    assert.equal(visibleRows(height * 2, total, viewport, 0).last, total - 1);
    assert.equal(visibleRows(-100, total, viewport, 0).first, 0);
  });

  it('moves monotonically: a larger scrollTop never shows an earlier row', () => {
    const total = 1_000_000;
    let last = -1;
    for (let top = 0; top < scrollSpace(total).height; top += 997) {
      const { index } = firstRow(top, total, viewport);
      assert.ok(index >= last);
      last = index;
    }
  });

  it('renders a bounded number of rows with overscan, and knows which are entirely shown', () => {
    const v = visibleRows(22 * 100 + 5, 1_000_000, viewport, 8);
    assert.ok(v.last - v.first + 1 <= Math.ceil(viewport / ROW_HEIGHT) + 1 + 16);
    assert.ok(v.first <= v.top && v.top <= v.fullFirst && v.fullFirst <= v.fullLast && v.fullLast <= v.last);
    const exact = visibleRows(22 * 100, 10_000, 220, 0);
    assert.deepEqual([exact.top, exact.fullFirst, exact.fullLast, exact.first, exact.last], [100, 100, 109, 100, 109]);
    const partial = visibleRows(22 * 100 + 11, 10_000, 220, 0);
    assert.deepEqual([partial.fullFirst, partial.fullLast, partial.last], [101, 109, 110]);
    assert.equal(visibleRows(0, 0, viewport).last, -1);
  });
});

describe('process table model: keyboard selection', () => {
  it('moves by one, by a page, to the ends, and clamps', () => {
    assert.equal(moveSelection('ArrowDown', 0, 10, 5), 1);
    assert.equal(moveSelection('ArrowUp', 0, 10, 5), 0);
    assert.equal(moveSelection('ArrowDown', 9, 10, 5), 9);
    assert.equal(moveSelection('PageDown', 0, 1_000_000, 27), 26);
    assert.equal(moveSelection('PageUp', 30, 1_000_000, 27), 4);
    assert.equal(moveSelection('PageUp', 3, 100, 27), 0);
    assert.equal(moveSelection('Home', 500, 1000, 27), 0);
    assert.equal(moveSelection('End', 5, 1_000_000, 27), 999_999);
    assert.equal(moveSelection('a', 5, 10, 5), null);
    assert.equal(moveSelection('ArrowDown', 0, 0, 5), null);
  });

  it('scrolls only as far as needed to reveal the selection', () => {
    const view = { fullFirst: 100, fullLast: 126 };
    assert.equal(revealTop(110, view), null);
    assert.equal(revealTop(99, view), 99);
    assert.equal(revealTop(127, view), 101, 'the new row becomes the last one shown');
    assert.equal(revealTop(999_999, view), 999_973);
  });

  it('keeps a revealed row entirely in view, at the end of a million rows too', () => {
    const total = 1_000_000;
    const viewport = 600;
    for (const selected of [0, 5_000, 999_999, 123_457]) {
      const before = visibleRows(scrollTopFor(500_000, total, viewport), total, viewport, 0);
      const top = revealScrollTop(selected, before, total, viewport);
      assert.notEqual(top, null);
      assert.equal(top, Math.round(top ?? 0.5));
      const after = visibleRows(top ?? 0, total, viewport, 0);
      assert.ok(after.fullFirst <= selected && selected <= after.fullLast, `${selected} in [${after.fullFirst}, ${after.fullLast}]`);
    }
  });
});

describe('process table model: changed cells', () => {
  it('marks the cells whose value changed for the same pid, and nothing for new pids', () => {
    const before = new Map([
      ['<0.1.0>', row(1)],
      ['<0.2.0>', row(2)],
    ]);
    const after = [row(1, { memory: 5, messageQueueLen: 3 }), row(2), row(4, { memory: 1 })];
    assert.deepEqual([...changedCells(before, after)].sort(), [cellKey('<0.1.0>', 'mailbox'), cellKey('<0.1.0>', 'memory')].sort());
    assert.deepEqual([...changedCells(before, [row(2, { name: 'now_registered', pid: '<0.2.0>' })])], [cellKey('<0.2.0>', 'name')]);
    assert.deepEqual([...changedCells(new Map(), after)], []);
    assert.deepEqual([...changedCells(undefined, after)], []);
    assert.deepEqual([...changedCells(new Map([['<0.1.0>', row(1)]]), after, ['memory'])], [cellKey('<0.1.0>', 'memory')]);
  });

  it('fades a highlight out after CHANGE_FADE_MS', () => {
    const t = new ChangeTracker();
    t.mark([cellKey('<0.1.0>', 'memory')], 1000);
    assert.equal(t.age(cellKey('<0.1.0>', 'memory'), 1500), 500);
    assert.equal(t.age(cellKey('<0.1.0>', 'mailbox'), 1500), null);
    assert.equal(t.age(cellKey('<0.1.0>', 'memory'), 1000 + CHANGE_FADE_MS), null);
    assert.equal(t.prune(1000 + CHANGE_FADE_MS), 0);
  });
});

describe('process table model: pages, columns and header', () => {
  it('adopts the host’s first query, then accepts only answers to the current sort and filter', () => {
    const q = blockQuery('memory', 'Demo', 0);
    assert.equal(pageDecision({ sort: 'mailbox', filter: '', adopted: false }, q), 'adopt');
    assert.equal(pageDecision({ sort: 'mailbox', filter: '', adopted: true }, q), 'stale');
    assert.equal(pageDecision({ sort: 'memory', filter: 'Demo', adopted: true }, { ...q, offset: 400 }), 'accept');
    assert.equal(pageDecision({ sort: 'memory', filter: 'Dem', adopted: true }, q), 'stale');
  });

  it('shows the reduction rate column only when sorting by it', () => {
    assert.ok(!visibleColumns('memory').some((c) => c.id === 'reductionRate'));
    assert.ok(visibleColumns('reduction-rate').some((c) => c.id === 'reductionRate'));
    assert.deepEqual(
      visibleColumns('mailbox').map((c) => c.id),
      ['pid', 'name', 'memory', 'reductions', 'mailbox', 'currentFunction', 'initialCall'],
    );
  });

  it('says how many processes, how they are sorted, where, and how', () => {
    assert.equal(summaryText({ total: 1_000_000, matched: 1_000_000, filter: '', sort: 'mailbox', via: 'probe' }), '1,000,000 processes · sorted by mailbox on the target (probe)');
    assert.equal(summaryText({ total: 387, matched: 2, filter: 'Demo', sort: 'reduction-rate', via: 'rpc' }), '2 of 387 processes match “Demo” · sorted by reduction rate on the target (rpc)');
    // What the host started on the node for this table is said after it.
    assert.equal(
      summaryText({ total: 10, matched: 10, filter: '', sort: 'mailbox', via: 'probe', note: 'reading memory in the background' }),
      '10 processes · sorted by mailbox on the target (probe) · reading memory in the background',
    );
  });
});
