import { strict as assert } from 'node:assert';
import { BeamLensError } from '../../../../src/errors';
import { expandPrefix, parseEventPrefixes, resolveEvents, type TelemetryListing } from '../../../../src/core/runs/telemetry';

const listing: TelemetryListing = {
  running: true,
  version: '1.4.1',
  total: 4,
  handlers: [],
  events: ['phoenix.endpoint.start', 'phoenix.endpoint.stop', 'phoenix.router_dispatch.stop', 'my_app.repo.query'],
  eventsTotal: 4,
};

describe('telemetry event prefixes', () => {
  it('parses dotted, comma-separated prefixes (Elixir colons tolerated)', () => {
    assert.deepEqual(parseEventPrefixes('phoenix.endpoint, :my_app.:repo'), [['phoenix', 'endpoint'], ['my_app', 'repo']]);
    assert.throws(() => parseEventPrefixes(' , '), (e: unknown) => e instanceof BeamLensError && e.kind === 'usage');
    assert.throws(() => parseEventPrefixes('a..b'), /bad event prefix "a\.\.b"/);
  });

  it('expands a prefix by whole segments only', () => {
    assert.deepEqual(expandPrefix(['phoenix', 'endpoint'], listing.running ? listing.events : []), ['phoenix.endpoint.start', 'phoenix.endpoint.stop']);
    assert.deepEqual(expandPrefix(['phoenix', 'end'], listing.running ? listing.events : []), []);
    assert.deepEqual(expandPrefix(['my_app', 'repo', 'query'], listing.running ? listing.events : []), ['my_app.repo.query']);
  });

  it('resolves to sorted, distinct names; an unknown prefix names what exists; --exact takes names as given', () => {
    assert.deepEqual(resolveEvents(listing, [['phoenix'], ['phoenix', 'endpoint', 'stop']], 'n@h'), ['phoenix.endpoint.start', 'phoenix.endpoint.stop', 'phoenix.router_dispatch.stop']);
    assert.throws(
      () => resolveEvents(listing, [['ecto']], 'n@h'),
      (e: unknown) => e instanceof BeamLensError && e.kind === 'usage' && /no telemetry event on n@h starts with "ecto" \(events with handlers: phoenix\.endpoint\.start, .*my_app\.repo\.query\)/.test(e.message) && /--exact/.test(e.message),
    );
    assert.deepEqual(resolveEvents(listing, [['ecto', 'repo', 'query']], 'n@h', true), ['ecto.repo.query']);
    assert.throws(() => resolveEvents({ running: false }, [['a']], 'n@h'), (e: unknown) => e instanceof BeamLensError && e.kind === 'capability');
  });
});
