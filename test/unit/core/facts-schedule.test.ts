import { strict as assert } from 'node:assert';
import { Atom, Tuple } from '../../../src/etf';
import { budgetDelay, nextFactsDelay, startFactsLoop } from '../../../src/core/facts/schedule';
import { moduleOf } from '../../../src/core/facts/module-summary';

const mfa = (m: string, f: string, a: number): Tuple => new Tuple([Atom.of(m), Atom.of(f), a]);
const ic = (m: string, f: string, a: number): Tuple => new Tuple([Atom.of('initial_call'), mfa(m, f, a)]);

describe('facts schedule', () => {
  it('waits the base interval for cheap collections, 200x the cost for expensive ones (0.5% budget)', () => {
    assert.equal(nextFactsDelay(20, 0, { baseMs: 10_000 }), 10_000);
    assert.equal(nextFactsDelay(40, 0, { baseMs: 1000 }), 8_000);
    assert.equal(nextFactsDelay(3000, 0, { baseMs: 10_000 }), 600_000);
    assert.equal(nextFactsDelay(250, 0, { baseMs: 10_000, budget: 0.05 }), 10_000);
  });

  it('keeps facts at most 30 s old while that costs at most twice the budget (1%)', () => {
    // 200 ms: 0.5% would mean 40 s; 29.8 s is 0.67% of the wall time: lenses stay fresh.
    assert.equal(nextFactsDelay(200, 0, { baseMs: 10_000 }), 29_800);
    // 400 ms: 29.6 s would be 1.35% (more than twice the budget): the budget wins, 80 s.
    assert.equal(nextFactsDelay(400, 0, { baseMs: 10_000 }), 80_000);
  });

  it('counts the whole collection (transfer and our decoding) against the 30 s age, not only the node part', () => {
    // 200 ms on the node, 2.4 s for us in all: the next one starts after 27.6 s, so the facts are
    // at most ~30 s old when it lands.
    assert.equal(nextFactsDelay(200, 0, { baseMs: 10_000 }, 2400), 27_600);
    // The budget still follows the node's part only.
    assert.equal(nextFactsDelay(1000, 0, { baseMs: 10_000 }, 2400), 200_000);
  });

  it("a view's periodic refresh waits its base interval, or 200x what the last refresh cost the node", () => {
    assert.equal(budgetDelay(0, 10_000), 10_000);
    assert.equal(budgetDelay(50, 10_000), 10_000);
    assert.equal(budgetDelay(350, 10_000), 70_000);
    assert.equal(budgetDelay(350, 10_000, 0.05), 10_000);
  });

  it('backs off exponentially after failures, capped', () => {
    const d = [1, 2, 3, 4, 10].map((f) => nextFactsDelay(50, f, { baseMs: 10_000 }));
    assert.deepEqual(d, [20_000, 40_000, 80_000, 160_000, 600_000]);
  });

  it('the loop cancels a collection that overruns (its signal aborts) and backs off instead of retrying at once', async () => {
    const delays: number[] = [];
    const aborted: boolean[] = [];
    let calls = 0;
    await new Promise<void>((resolve) => {
      const loop = startFactsLoop(
        (signal) =>
          new Promise<void>((_, reject) => {
            calls++;
            signal.addEventListener('abort', () => {
              aborted.push(true);
              reject(signal.reason);
            });
          }),
        {
          baseMs: 1,
          budget: 1,
          timeoutMs: 5,
          onError: (_err, next) => {
            delays.push(next);
            if (delays.length === 3) {
              loop.stop();
              resolve();
            }
          },
        },
      );
    });
    assert.equal(calls, 3);
    assert.equal(aborted.length, 3);
    // The k-th failure in a row waits at least 2^k times what the overrun took (the 5 ms timeout;
    // a timer may fire up to a millisecond early by Date.now(), hence 4).
    delays.forEach((d, i) => assert.ok(d >= 4 * 2 ** (i + 1), JSON.stringify(delays)));
  });
});

describe('module of a process', () => {
  it("proc_lib's $initial_call first: GenServer callbacks, supervisors' callback module", () => {
    assert.equal(moduleOf(ic('proc_lib', 'init_p', 5), mfa('Elixir.Demo.Session', 'init', 1)), 'Elixir.Demo.Session');
    assert.equal(moduleOf(ic('proc_lib', 'init_p', 5), mfa('supervisor', 'my_sup', 1)), 'my_sup');
  });

  it('else the initial call (proc_lib answers {proc_lib, init_p, 5} when there is no $initial_call)', () => {
    assert.equal(moduleOf(ic('my_mod', 'loop', 0), mfa('proc_lib', 'init_p', 5)), 'my_mod');
    assert.equal(moduleOf(Atom.of('undefined'), mfa('proc_lib', 'init_p', 5)), null);
  });
});
