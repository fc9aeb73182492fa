// The editor's telemetry command without vscode: the events offered, the checks on what was
// picked and typed, and the consent wording.
import { strict as assert } from 'node:assert';
import { checkPicked, eventPicks, watchPurpose, watchSecondsError } from '../../../../src/extension/model/telemetry';

describe('extension: telemetry command model', () => {
  it('offers each handled event with its handler count; nothing when telemetry does not run', () => {
    const picks = eventPicks({
      running: true,
      version: '1.4.1',
      total: 3,
      eventsTotal: 3,
      events: ['a.b', 'c.d', 'e.f'],
      handlers: [
        { id: 'x', event: 'a.b', function: 'f' },
        { id: 'y', event: 'a.b', function: 'g' },
        { id: 'z', event: 'c.d', function: 'h' },
      ],
    });
    assert.deepEqual(picks.map((p) => [p.label, p.description]), [['a.b', '2 handlers'], ['c.d', '1 handler'], ['e.f', 'handled']]);
    assert.deepEqual(eventPicks({ running: false }), []);
  });

  it('checks the picked events and the typed window', () => {
    assert.equal(checkPicked([]), 'no event chosen');
    assert.match(checkPicked(Array.from({ length: 101 }, (_, i) => `e.${i}`)) ?? '', /at most 100 events/);
    assert.equal(checkPicked(['a.b']), null);
    assert.equal(watchSecondsError('10'), null);
    assert.equal(watchSecondsError(' 3600 '), null);
    for (const bad of ['', '0', '3601', '1.5', 'ten', '-3']) assert.ok(watchSecondsError(bad), bad);
    assert.equal(watchPurpose(['a.b', 'c.d', 'e.f', 'g.h'], 10), 'attach a temporary telemetry handler to 4 events (a.b, c.d, e.f, …) for 10 s; it is detached when the window ends');
  });
});
