// The client and the probe agree on the probe's API version: a BEAM Lens meeting a probe of
// another version never uses it (see src/core/probe/loader.ts), so a change to the probe's API
// must bump both, together.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROBE_VERSION, describeProbeRelease, describeProbeStays } from '../../../src/core/probe/loader';

describe('probe version and release wording', () => {
  it('PROBE_VERSION is what probe/beam_lens_probe.erl answers to version/0', () => {
    const src = readFileSync(path.join(__dirname, '../../../probe/beam_lens_probe.erl'), 'utf8');
    const m = /^version\(\) -> (\d+)\.$/m.exec(src);
    assert.ok(m, 'version() -> N. in the probe source');
    assert.equal(Number(m[1]), PROBE_VERSION);
  });

  it('names the other BEAM Lens instances the probe stays for', () => {
    assert.equal(describeProbeRelease('n@h', { state: 'unloaded', ms: 3 }), 'probe unloaded from n@h');
    assert.match(describeProbeStays('n@h', ['a@h']), /^the probe stays loaded on n@h because another BEAM Lens \(a@h\) still uses it; .*unloads itself when the last one leaves$/);
    assert.match(describeProbeRelease('n@h', { state: 'shared', others: ['a@h', 'b@h'], ms: 1 }), /because 2 other BEAM Lens instances \(a@h, b@h\) still use it;/);
  });
});
