// The report document as Markdown (src/core/report/markdown.ts), read back by a real
// CommonMark/GFM reader (markdown-it): headings, code spans (issue 12 item 17: no escaped
// backticks), escapes only where needed, rectangular tables with pipes in cells, a hostile process
// name that never becomes HTML, a link or emphasis, and any generated text that reads back as itself.
import { strict as assert } from 'node:assert';
import { createRequire } from 'node:module';
import type { ReportDocument } from '../../../../src/core/report/document';
import { codeSpan, escapeText, renderReportMarkdown } from '../../../../src/core/report/markdown';
import { HOSTILE, reportDocument as doc } from './fixture';

// markdown-it ships without types; this is the little of it the tests use.
interface MarkdownToken {
  type: string;
  tag: string;
  content: string;
  children: MarkdownToken[] | null;
}
interface MarkdownReader {
  parse(src: string, env: object): MarkdownToken[];
  render(src: string): string;
}
const MarkdownIt = createRequire(__filename)('markdown-it') as new (options: { html: boolean }) => MarkdownReader;
// html: true reads raw HTML as HTML, so any that got through unescaped shows up as html tokens.
const reader = new MarkdownIt({ html: true });

/** Every inline token of the Markdown, flattened (text, code_inline, strong_open, html_inline…). */
function inlineTokens(md: string): MarkdownToken[] {
  return reader.parse(md, {}).flatMap((t) => t.children ?? []);
}

/** Rows of each table as the reader sees them: cells' plain text. */
function tables(md: string): string[][][] {
  const out: string[][][] = [];
  let row: string[] | null = null;
  for (const t of reader.parse(md, {})) {
    if (t.type === 'table_open') out.push([]);
    else if (t.type === 'tr_open') row = [];
    else if (t.type === 'tr_close' && row) {
      out[out.length - 1]?.push(row);
      row = null;
    } else if (t.type === 'inline' && row) row.push((t.children ?? []).map((c) => c.content).join(''));
  }
  return out;
}

describe('report Markdown', () => {
  const md = renderReportMarkdown(doc());

  it('writes the headings of the document, findings one level under their section', () => {
    const headings = reader
      .parse(md, {})
      .map((t, i, all) => (t.type === 'heading_open' ? `${t.tag} ${all[i + 1]?.children?.map((c) => c.content).join('') ?? ''}` : null))
      .filter((x): x is string => x !== null);
    assert.deepEqual(headings.slice(0, 5), ['h1 BEAM Lens report: demo@host', 'h2 Diagnostic summary', 'h2 Findings', "h3 1. [CRITICAL] Demo.EventSink's mailbox grows by 98 messages/s", `h3 2. [WARNING] ${HOSTILE} holds 40.0 MiB of off-heap binaries`]);
    assert.deepEqual(headings.slice(5), ['h2 Recommended changes', 'h2 Risk & validation plan', 'h2 Appendix', 'h3 Busiest processes in the window', 'h3 Largest ETS tables', 'h3 Supervisors', 'h3 Mailbox lengths over the window', 'h3 Memory by type', 'h3 Scheduler utilization', 'h3 Method']);
    assert.ok(md.startsWith('# BEAM Lens report: `demo@host`\n\nGenerated 2026-12-01T10:00:00.000Z · environment **prod** · sampled read-only for 5.0 s'));
    assert.ok(md.endsWith('.\n') && !md.endsWith('\n\n'));
  });

  it('writes code marks of recommendations as code spans, not escaped backticks (issue 12 item 17)', () => {
    assert.ok(md.includes('- Recommendation: Add back-pressure: turn the hot `cast` into `GenServer.call` with a timeout. Measure first.'));
    assert.ok(md.includes('(`:binary.copy/1` of the slice you keep), or use ``a`b`` here.'));
    assert.ok(!/\\`:binary/.test(md), 'no escaped backticks around code');
    const code = inlineTokens(md).filter((t) => t.type === 'code_inline').map((t) => t.content);
    for (const c of ['cast', 'GenServer.call', ':binary.copy/1', 'a`b', 'beam-lens report', '<0.170.0>', 'Demo.EventSink.handle_cast/2', 'lib/demo/event_sink.ex']) assert.ok(code.includes(c), c);
  });

  it('escapes only what Markdown would read as markup', () => {
    assert.equal(escapeText('gen_server:loop/7 max_restarts <0.170.0> a > b & c', 'inline'), 'gen_server:loop/7 max_restarts <0.170.0> a > b & c');
    assert.equal(escapeText('_x_ *y* [z] <b> </b> <!-- &amp; &#60; a\\b ~', 'inline'), '\\_x\\_ \\*y\\* \\[z\\] \\<b> \\</b> \\<!-- \\&amp; \\&#60; a\\\\b \\~');
    assert.equal(escapeText('a|b\nc', 'inline'), 'a|b c');
    assert.equal(escapeText('a|b', 'table'), 'a\\|b');
    assert.ok(md.includes('| `<0.170.0>` | Demo.EventSink |'), 'pids and names in tables read as they are');
    assert.ok(md.includes('gen_server:loop/7'), 'no escapes inside snake_case');
  });

  it('fences code spans with more backticks than they hold, and pads when they start or end with one', () => {
    assert.equal(codeSpan('x', 'inline'), '`x`');
    assert.equal(codeSpan('a`b', 'inline'), '``a`b``');
    assert.equal(codeSpan('`x``', 'inline'), '``` `x`` ```');
    assert.equal(codeSpan(' padded ', 'inline'), '`  padded  `');
    assert.equal(codeSpan('a|b', 'table'), '`a\\|b`');
    for (const c of ['a`b', '`x``', ' padded ', '``', 'x\\y']) {
      assert.deepEqual(inlineTokens(codeSpan(c, 'inline')).map((t) => [t.type, t.content]), [['code_inline', c]], c);
    }
  });

  it('keeps every table rectangular, pipes in cells (text and code) included', () => {
    const all = tables(md);
    assert.equal(all.length, 8, 'summary, risk, busiest, ETS, supervisors, mailbox, memory and scheduler charts');
    for (const t of all) for (const r of t) assert.equal(r.length, t[0]?.length, JSON.stringify(r));
    const ets = all[3] ?? [];
    assert.deepEqual(ets[1]?.slice(0, 3), ['cache|table', '200,000', '23.0 MiB']);
    assert.equal(ets[1]?.[4], HOSTILE, 'a hostile owner name reads back as the same text');
    const risk = all[1] ?? [];
    assert.equal(risk[2]?.[2], ':binary.copy/1 costs a copy | per slice.');
    assert.match(md, /\|---:\|---\|---\|---\|/, 'number columns are right-aligned');
    assert.match(md, /\n\| \| \|\n\|---\|---\|\n\| Node \| `demo@host` · OTP 25 · ERTS 13\.1\.5 \|\n/);
  });

  it('never lets a hostile process name become HTML, a link, emphasis or a block', () => {
    const tokens = inlineTokens(md);
    assert.deepEqual(tokens.filter((t) => /^(html_inline|link_open|s_open|image)$/.test(t.type)), []);
    assert.ok(!reader.parse(md, {}).some((t) => t.type === 'html_block'));
    const html = reader.render(md);
    assert.ok(!/<img/i.test(html), 'no <img> element');
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the name is shown as text');
    // Evidence lines that look like a list item or a heading stay text in their item.
    assert.ok(md.includes('  - 1\\. looks like a list item\n  - \\# looks like a heading\n'));
    // The only emphasis is ours: the byline's environment and the summary count, and the recommended changes' titles.
    const strong = tokens.map((t, i) => (t.type === 'strong_open' ? tokens[i + 1]?.content : null)).filter((x) => x != null);
    assert.deepEqual(strong, ['prod', '2 findings', "Demo.EventSink's mailbox grows by 98 messages/s", `${HOSTILE} holds 40.0 MiB of off-heap binaries`]);
    assert.ok(!tokens.some((t) => t.type === 'em_open'));
  });

  it('writes a chart as its data table under its title', () => {
    assert.match(md, /### Mailbox lengths over the window\n\nMessages queued, sampled every second:\n\n\| Process \| Samples \| First \| Last \| Largest \| Over the window \|\n\|---\|---:\|---:\|---:\|---:\|---\|\n\| `<0\.170\.0>` Demo\.EventSink \| 4 \| 10 \| 500 \| 500 \| ▁▂▄█ \|/);
  });
});


describe('report Markdown: any text reads back as itself', () => {
  // Deterministic pseudo-random strings over the characters Markdown cares about.
  const alphabet = ['\\', '`', '*', '_', '[', ']', '(', ')', '<', '>', '|', '~', '&', '#', '!', '-', '+', '=', '.', ':', ';', ' ', 'a', 'b', '1', '\n', 'amp;', '#60;', 'http://x', '<b>', '</a>', '<!--', '1.', '- ', '> '];
  let seed = 7;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const samples = Array.from({ length: 400 }, () => Array.from({ length: 1 + next(12) }, () => alphabet[next(alphabet.length)] ?? '').join('')).filter((s) => s.trim() !== '');
  const flat = (s: string): string => s.replace(/\n/g, ' ');
  const squash = (s: string): string => flat(s).replace(/ +/g, ' ').trim();

  it('as a paragraph, a list item, a heading and table cells (text and code)', () => {
    for (const s of samples) {
      const d: ReportDocument = {
        ...doc(),
        title: [{ kind: 'text', text: s }],
        byline: [{ kind: 'text', text: s }],
        sections: [
          {
            id: 'x',
            title: 'x',
            sections: [],
            blocks: [
              { kind: 'list', ordered: false, items: [[{ kind: 'text', text: s }], [{ kind: 'strong', text: s }]] },
              { kind: 'table', table: { columns: [{ label: 'a', type: 'text' }, { label: 'b', type: 'text' }, { label: 'c', type: 'text' }], rows: [[{ kind: 'text', text: s }, { kind: 'code', text: s }, { kind: 'text', text: 'end' }]] } },
            ],
          },
        ],
      };
      const md = renderReportMarkdown(d);
      const tokens = reader.parse(md, {});
      const inlines = tokens.filter((t) => t.type === 'inline');
      const textOf = (t: MarkdownToken | undefined): string => (t?.children ?? []).filter((c) => c.type === 'text' || c.type === 'code_inline' || c.type === 'softbreak').map((c) => (c.type === 'softbreak' ? ' ' : c.content)).join('');
      const what = JSON.stringify(s);
      assert.ok(!tokens.some((t) => t.type === 'html_block') && !inlines.some((t) => (t.children ?? []).some((c) => c.type === 'html_inline' || c.type === 'link_open')), `${what}: no HTML or link`);
      assert.equal(squash(textOf(inlines[0])), squash(s), `${what} as the title`);
      assert.equal(squash(textOf(inlines[1])), squash(s), `${what} as a paragraph`);
      assert.equal(squash(textOf(inlines[3])), squash(s), `${what} as a list item`);
      const strongItem = inlines[4]?.children ?? [];
      assert.equal(strongItem.filter((c) => c.type === 'strong_open').length, 1, `${what} in bold`);
      assert.equal(squash(textOf(inlines[4])), squash(s), `${what} in bold`);
      // Table: header a b c, then the row.
      assert.equal(squash(textOf(inlines[8])), squash(s), `${what} in a table cell`);
      assert.equal(textOf(inlines[9]), flat(s), `${what} as code in a table cell`);
      assert.equal(textOf(inlines[10]), 'end', `${what}: the row keeps its cells`);
    }
  });
});
