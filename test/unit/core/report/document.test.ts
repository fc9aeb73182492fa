// Spans of the report document (src/core/report/document.ts): code marks of finding texts.
import { strict as assert } from 'node:assert';
import { spansOfMarkedText } from '../../../../src/core/report/document';

describe('code marks in finding texts', () => {
  it('reads backtick runs as code spans, with the run length as in Markdown', () => {
    assert.deepEqual(spansOfMarkedText('use `:binary.copy/1` now'), [
      { kind: 'text', text: 'use ' },
      { kind: 'code', text: ':binary.copy/1' },
      { kind: 'text', text: ' now' },
    ]);
    assert.deepEqual(spansOfMarkedText('`` a`b `` and ``x` y'), [{ kind: 'code', text: 'a`b' }, { kind: 'text', text: ' and ``x` y' }]);
    assert.deepEqual(spansOfMarkedText("a name with a ` backtick"), [{ kind: 'text', text: 'a name with a ` backtick' }]);
    assert.deepEqual(spansOfMarkedText('``'), [{ kind: 'text', text: '``' }]);
    assert.deepEqual(spansOfMarkedText(''), []);
  });
});

