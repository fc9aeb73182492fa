// Long work in steps (core/records/steps.ts) run cooperatively can be stopped: an aborted signal
// ends it at its next pause with a 'cancelled' error, and no step runs after that.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readSavedProfile } from '../../../../src/core/profile/saved';
import { runStepsYielding, type Steps } from '../../../../src/core/records/steps';
import { errorKindOf } from '../../../../src/errors';

describe('work in steps, run cooperatively', () => {
  it('stops at the next pause once its signal aborts: a cancelled error, and no step after it', async () => {
    let steps = 0;
    function* endless(): Steps<number> {
      for (;;) {
        steps++;
        yield;
      }
    }
    const stop = new AbortController();
    // A slice of 0 ms: the event loop turns after every step, so the abort lands between steps.
    const run = runStepsYielding(endless(), 0, stop.signal);
    await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    const atAbort = steps;
    await assert.rejects(run, (err: unknown) => errorKindOf(err) === 'cancelled');
    assert.ok(atAbort > 0, 'it ran before the abort');
    assert.ok(steps <= atAbort + 1, `${steps - atAbort} steps ran after the abort`);
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(steps <= atAbort + 1, 'nothing runs later either');
    // Already aborted: not a single step.
    steps = 0;
    await assert.rejects(runStepsYielding(endless(), 0, stop.signal), (err: unknown) => errorKindOf(err) === 'cancelled');
    assert.equal(steps, 0);
  });

  it('a saved profile read with an aborted signal gives a cancelled error, not a profile', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bl-steps-'));
    try {
      const file = path.join(dir, 'p.speedscope.json');
      writeFileSync(file, '{}');
      const stop = new AbortController();
      stop.abort();
      await assert.rejects(readSavedProfile(file, { signal: stop.signal }), (err: unknown) => errorKindOf(err) === 'cancelled');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
