// The report webview's Markdown reader (webview/report/markdown.ts): blocks and inline marks as
// plain data, hostile node data kept as text, and finding headings found for focus. Includes a
// report rendered by src/core/report.ts itself, so the reader keeps up with what it writes.
import { strict as assert } from 'node:assert';
import type { Finding } from '../../src/core/findings';
import { md } from '../../src/core/report';
import { MAX_DEPTH, findFindingHeading, inline, parseMarkdown, plainText, splitRow, type Block, type Inline } from '../../webview/report/markdown';

/** Every string anywhere in the AST (to check nothing became anything but text). */
function strings(x: unknown, out: string[] = []): string[] {
  if (typeof x === 'string') out.push(x);
  else if (Array.isArray(x)) for (const v of x) strings(v, out);
  else if (typeof x === 'object' && x !== null) for (const v of Object.values(x)) strings(v, out);
  return out;
}

function only<K extends Block['kind']>(blocks: Block[], kind: K): Extract<Block, { kind: K }> {
  assert.equal(blocks.length, 1, JSON.stringify(blocks));
  const b = blocks[0] as Block;
  assert.equal(b.kind, kind);
  return b as Extract<Block, { kind: K }>;
}

describe('report Markdown: blocks', () => {
  it('reads ATX and setext headings, paragraphs and rules', () => {
    const blocks = parseMarkdown('# Title #\n\nline one\nline two\n\nSub\n---\n\n***\n###### six\n#not a heading');
    assert.deepEqual(
      blocks.map((b) => [b.kind, 'level' in b ? b.level : null]),
      [
        ['heading', 1],
        ['paragraph', null],
        ['heading', 2],
        ['rule', null],
        ['heading', 6],
        ['paragraph', null],
      ],
    );
    assert.equal((blocks[0] as { text: string }).text, 'Title');
    assert.deepEqual((blocks[1] as { inline: Inline[] }).inline, [{ kind: 'text', text: 'line one line two' }]);
    assert.deepEqual((blocks[5] as { inline: Inline[] }).inline, [{ kind: 'text', text: '#not a heading' }]);
  });

  it('reads pipe tables: header, alignment, escaped pipes, pipes in code, short and long rows', () => {
    const t = only(parseMarkdown('| Name | Rows | Note |\n|:---|---:|:-:|\n| a\\|b | 1 | `x|y` |\n| short |\n| 1 | 2 | 3 | 4 |\n'), 'table');
    assert.deepEqual(t.header.map(plainText), ['Name', 'Rows', 'Note']);
    assert.deepEqual(t.align, ['left', 'right', 'center']);
    assert.equal(t.rows.length, 3);
    assert.deepEqual(t.rows[0]?.map(plainText), ['a|b', '1', 'x|y']);
    assert.deepEqual(t.rows[0]?.[2], [{ kind: 'code', text: 'x|y' }]);
    assert.deepEqual(t.rows[1]?.map(plainText), ['short', '', ''], 'missing cells are empty');
    assert.deepEqual(t.rows[2]?.map(plainText), ['1', '2', '3'], 'extra cells are dropped');
    assert.deepEqual(splitRow('| | |'), ['', '']);
  });

  it('reads the empty-header table of the report summary and ends a table at a blank line', () => {
    const blocks = parseMarkdown('| | |\n|---|---|\n| Node | `n@h` · OTP 26 |\n\nafter');
    assert.deepEqual(blocks.map((b) => b.kind), ['table', 'paragraph']);
    const t = blocks[0] as Extract<Block, { kind: 'table' }>;
    assert.deepEqual(t.header.map(plainText), ['', '']);
    assert.deepEqual(t.rows[0]?.[1], [{ kind: 'code', text: 'n@h' }, { kind: 'text', text: ' · OTP 26' }]);
  });

  it('needs a delimiter row for a table', () => {
    assert.deepEqual(parseMarkdown('a | b\nc | d').map((b) => b.kind), ['paragraph']);
  });

  it('reads bullet and ordered lists, nested lists and continuation lines', () => {
    const blocks = parseMarkdown('- Finding id: `x`\n- Evidence:\n  - queue 1 → 2\n  - more\n    continued\n- Last\n\n3. three\n4. four\n');
    assert.deepEqual(blocks.map((b) => b.kind), ['list', 'list']);
    const ul = blocks[0] as Extract<Block, { kind: 'list' }>;
    assert.equal(ul.ordered, false);
    assert.deepEqual(ul.items.map(plainText), ['Finding id: x', 'Evidence:', 'Last']);
    const nested = only(ul.children[1] ?? [], 'list');
    assert.deepEqual(nested.items.map(plainText), ['queue 1 → 2', 'more continued']);
    assert.deepEqual(ul.children[0], []);
    const ol = blocks[1] as Extract<Block, { kind: 'list' }>;
    assert.equal(ol.ordered, true);
    assert.equal(ol.start, 3);
    assert.deepEqual(ol.items.map(plainText), ['three', 'four']);
  });

  it('keeps a list across blank lines between its items, and splits lists of other markers', () => {
    const loose = only(parseMarkdown('- a\n\n- b\n'), 'list');
    assert.deepEqual(loose.items.map(plainText), ['a', 'b']);
    assert.deepEqual(parseMarkdown('- a\n* b\n').map((b) => b.kind), ['list', 'list']);
  });

  it('reads fenced code verbatim, with its language, unterminated to the end', () => {
    const blocks = parseMarkdown('```erlang\n**not bold** <b>x</b>\n\n  indented\n```\n~~~~\n```\nstill code\n');
    assert.deepEqual(blocks, [
      { kind: 'code', lang: 'erlang', text: '**not bold** <b>x</b>\n\n  indented' },
      { kind: 'code', lang: '', text: '```\nstill code\n' },
    ]);
  });

  it('reads block quotes', () => {
    const q = only(parseMarkdown('> **note**\n> - item'), 'quote');
    assert.deepEqual(q.blocks.map((b) => b.kind), ['paragraph', 'list']);
  });

  it('does not nest without bound', () => {
    const deep = parseMarkdown(`${'> '.repeat(5000)}deep\n\n${'- '.repeat(5000)}x\n\n${'*'.repeat(20000)}`);
    assert.ok(deep.length >= 2);
    let depth = 0;
    for (let b: Block | undefined = deep[0]; b?.kind === 'quote'; b = b.blocks[0]) depth++;
    assert.ok(depth <= MAX_DEPTH + 1, `quote depth ${depth}`);
  });
});

describe('report Markdown: inline', () => {
  it('reads code, bold and italic', () => {
    assert.deepEqual(
      inline('Some **bold** and `code` and _it_ and *it2*.').map((i) => i.kind),
      ['text', 'bold', 'text', 'code', 'text', 'italic', 'text', 'italic', 'text'],
    );
  });

  it('nests marks', () => {
    assert.deepEqual(inline('**bold _and italic_ `code`**'), [
      {
        kind: 'bold',
        text: 'bold and italic code',
        children: [
          { kind: 'text', text: 'bold ' },
          { kind: 'italic', text: 'and italic', children: [{ kind: 'text', text: 'and italic' }] },
          { kind: 'text', text: ' ' },
          { kind: 'code', text: 'code' },
        ],
      },
    ]);
    assert.deepEqual(inline('*a **b** c*')[0]?.kind, 'italic');
    assert.deepEqual((inline('*a **b** c*')[0] as { children: Inline[] }).children.map((c) => c.kind), ['text', 'bold', 'text']);
  });

  it('leaves unmatched marks, snake_case and spaced stars as text', () => {
    assert.deepEqual(inline('gen_server:loop/7 and max_restarts'), [{ kind: 'text', text: 'gen_server:loop/7 and max_restarts' }]);
    assert.deepEqual(inline('2 * 3 * 4'), [{ kind: 'text', text: '2 * 3 * 4' }]);
    assert.deepEqual(inline('**open only'), [{ kind: 'text', text: '**open only' }]);
    assert.deepEqual(inline('`unclosed code'), [{ kind: 'text', text: '`unclosed code' }]);
  });

  it('undoes backslash escapes, also the ones report.ts writes', () => {
    assert.deepEqual(inline('\\*not\\* \\_it\\_ \\[x\\](y) \\`z\\` a\\\\b \\q'), [{ kind: 'text', text: '*not* _it_ [x](y) `z` a\\b \\q' }]);
    const raw = 'weird *name* [x](javascript:alert(1)) `tick` <b>|</b> ~ _u_ \\';
    assert.deepEqual(inline(md(raw)), [{ kind: 'text', text: raw }]);
  });

  it('reads code spans with double backticks (a name with a backtick in it)', () => {
    assert.deepEqual(inline('`` a`b ``'), [{ kind: 'code', text: 'a`b' }]);
    assert.deepEqual(inline('`**x**`'), [{ kind: 'code', text: '**x**' }]);
  });

  it('keeps links as text with their address, and autolinks', () => {
    assert.deepEqual(inline('see [the **docs**](https://example.invalid/a "t") now'), [
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'the docs', href: 'https://example.invalid/a', children: [{ kind: 'text', text: 'the ' }, { kind: 'bold', text: 'docs', children: [{ kind: 'text', text: 'docs' }] }] },
      { kind: 'text', text: ' now' },
    ]);
    assert.deepEqual(inline('<https://x.invalid/>'), [{ kind: 'link', text: 'https://x.invalid/', href: 'https://x.invalid/', children: [{ kind: 'text', text: 'https://x.invalid/' }] }]);
    assert.deepEqual(inline('[not a link] (x)'), [{ kind: 'text', text: '[not a link] (x)' }]);
  });
});

describe('report Markdown: hostile node data', () => {
  const evil = '<img src=x onerror=alert(1)>';

  it('keeps an HTML-looking process name a plain string, raw or escaped as report.ts writes it', () => {
    for (const source of [evil, md(evil)]) {
      const blocks = parseMarkdown(`### 1. [WARNING] ${source} grows\n\n- Process: \`<0.1.0>\` (${source})\n\n| Process | Name |\n|---|---|\n| \`<0.1.0>\` | ${source} |\n`);
      const heading = blocks[0] as Extract<Block, { kind: 'heading' }>;
      assert.equal(heading.text, `1. [WARNING] ${evil} grows`);
      assert.deepEqual(heading.inline, [{ kind: 'text', text: `1. [WARNING] ${evil} grows` }]);
      const list = blocks[1] as Extract<Block, { kind: 'list' }>;
      assert.deepEqual(list.items[0], [
        { kind: 'text', text: 'Process: ' },
        { kind: 'code', text: '<0.1.0>' },
        { kind: 'text', text: ` (${evil})` },
      ]);
      const table = blocks[2] as Extract<Block, { kind: 'table' }>;
      assert.deepEqual(table.rows[0]?.[1], [{ kind: 'text', text: evil }]);
    }
  });

  it('has only text/code/bold/italic/link nodes and plain strings in the AST', () => {
    const blocks = parseMarkdown(`# ${evil}\n\n<script>alert(1)</script>\n\n\`\`\`\n${evil}\n\`\`\`\n`);
    assert.deepEqual(blocks[1], { kind: 'paragraph', inline: [{ kind: 'text', text: '<script>alert(1)</script>' }] });
    assert.ok(strings(blocks).every((s) => typeof s === 'string'));
    assert.ok(strings(blocks).includes(evil));
  });
});

describe('report Markdown: finding focus', () => {
  const finding = (id: string, title: string): Pick<Finding, 'id' | 'title'> => ({ id, title });
  const report = [
    '# BEAM Lens report: `n@h`',
    '## Findings',
    `### 1. [CRITICAL] ${md("Demo.EventSink's mailbox grows by 670 messages/s")}`,
    '- Finding id: `mailbox-growth:Elixir.Demo.EventSink`',
    `### 2. [INFO] ${md('ETS table demo_cache holds 200,000 rows')}`,
    '- Finding id: `large-ets:demo_cache`',
    `### 3. [INFO] ${md('ETS table demo_cache holds 200,000 rows')}`,
    '- Finding id: `large-ets:other`',
    '## Recommended changes',
    `1. **${md('ETS table demo_cache holds 200,000 rows')}**: bound it`,
  ].join('\n\n');
  const blocks = parseMarkdown(report);
  const headingText = (i: number): string => (blocks[i] as { text: string }).text;

  it('finds the heading of a finding by its title (escaped in the Markdown)', () => {
    const i = findFindingHeading(blocks, finding('mailbox-growth:Elixir.Demo.EventSink', "Demo.EventSink's mailbox grows by 670 messages/s"));
    assert.equal(headingText(i), "1. [CRITICAL] Demo.EventSink's mailbox grows by 670 messages/s");
  });

  it('tells headings of the same title apart by the finding id', () => {
    assert.match(headingText(findFindingHeading(blocks, finding('large-ets:other', 'ETS table demo_cache holds 200,000 rows'))), /^3\./);
    assert.match(headingText(findFindingHeading(blocks, finding('large-ets:demo_cache', 'ETS table demo_cache holds 200,000 rows'))), /^2\./);
  });

  it('falls back to the id when the title changed, and says -1 when neither is there', () => {
    assert.match(headingText(findFindingHeading(blocks, finding('large-ets:other', 'a title from an older run'))), /^3\./);
    assert.equal(findFindingHeading(blocks, finding('nope', 'nothing like it')), -1);
  });
});
