// Reading a report document back from JSON (src/core/report/validate.ts): what buildReport wrote
// is accepted as it is, a broken document is refused saying where.
import { strict as assert } from 'node:assert';
import type { ReportDocument } from '../../../../src/core/report/document';
import { readReportDocument } from '../../../../src/core/report/validate';
import { reportDocument as doc } from './fixture';

describe('reading a report document back from a session file', () => {
  it('accepts what buildReport wrote, through JSON', () => {
    const d = doc();
    assert.deepEqual(readReportDocument(JSON.parse(JSON.stringify(d))), d);
  });

  it('says where a document is broken', () => {
    const broken = (edit: (d: ReportDocument & Record<string, unknown>) => void): unknown => {
      const d = JSON.parse(JSON.stringify(doc())) as ReportDocument & Record<string, unknown>;
      edit(d);
      return d;
    };
    assert.throws(() => readReportDocument(null), /the document is not an object/);
    assert.throws(() => readReportDocument(broken((d) => Object.assign(d, { version: 2 }))), /version is 2, this BEAM Lens reads version 1/);
    assert.throws(() => readReportDocument(broken((d) => Object.assign(d.title[0] ?? {}, { kind: 'html' }))), /title\[0\]\.kind is not one of text, code/);
    assert.throws(
      () => readReportDocument(broken((d) => (d.sections[4]?.sections[0]?.blocks[0] as { table: { rows: unknown[][] } }).table.rows[0]?.pop())),
      /sections\[4\]\.sections\[0\]\.blocks\[0\]\.table\.rows\[0\] has 6 cells for 7 columns/,
    );
    assert.throws(() => readReportDocument(broken((d) => Object.assign((d.sections[1]?.blocks[0] as { finding: object }).finding, { severity: 'fatal' }))), /sections\[1\]\.blocks\[0\]\.finding\.severity is not one of/);
  });
});

