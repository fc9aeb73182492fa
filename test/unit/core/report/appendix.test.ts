// The report appendix's helpers (src/core/report/appendix.ts): the text sparkline of a series.
import { strict as assert } from 'node:assert';
import { sparkline } from '../../../../src/core/report/appendix';

describe('sparkline', () => {
  it('scales from zero to the largest value and resamples long series', () => {
    assert.equal(sparkline([0, 1, 2, 4, 8]), '▁▁▂▄█');
    assert.equal(sparkline([0, 0]), '▁▁');
    assert.equal(sparkline([]), '');
    assert.equal(sparkline(Array.from({ length: 1000 }, (_, i) => i), 10).length, 10);
  });
});

