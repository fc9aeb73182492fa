// A small Markdown reader for the report preview (no DOM; unit-tested in
// test/unit/webview-report.test.ts). Blocks: ATX and setext headings, paragraphs, bullet and
// ordered lists (nested), GFM pipe tables, fenced code, block quotes, rules; inline marks are
// read by inline.ts (re-exported here). It returns plain data: the view builds DOM nodes from it
// with textContent only, so nothing in a report (process names, atoms, printed terms) is ever
// parsed as HTML. Raw HTML stays text.
import { MAX_DEPTH, findRun, inline, plainText, type Inline } from './inline';

export { MAX_DEPTH, inline, plainText, type Inline } from './inline';

export type Align = 'left' | 'center' | 'right' | null;

export type Block =
  | { kind: 'heading'; level: number; inline: Inline[]; text: string }
  | { kind: 'paragraph'; inline: Inline[] }
  /** items[i]: the first paragraph of item i; children[i]: the blocks after it (nested lists…). */
  | { kind: 'list'; ordered: boolean; start: number; items: Inline[][]; children: Block[][] }
  | { kind: 'code'; lang: string; text: string }
  | { kind: 'table'; align: Align[]; header: Inline[][]; rows: Inline[][][] }
  | { kind: 'quote'; blocks: Block[] }
  | { kind: 'rule' };

// ---- Blocks --------------------------------------------------------------------------------

const FENCE = /^( {0,3})(`{3,}|~{3,})[ \t]*([^\s`]*)[^`]*$/;
const ATX = /^ {0,3}(#{1,6})(?=[ \t]|$)(.*)$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])(?:( +)(.*))?$/;
const DELIMITER_ROW = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

interface Item {
  indent: number;
  marker: string;
  ordered: boolean;
  content: string;
  contentIndent: number;
}

function listItem(line: string): Item | null {
  const m = ITEM.exec(line);
  if (!m) return null;
  const indent = (m[1] as string).length;
  const marker = m[2] as string;
  const spaces = (m[3] ?? '').length;
  const content = m[4] ?? '';
  const gap = content === '' ? 1 : spaces > 4 ? 1 : spaces;
  return { indent, marker, ordered: /\d/.test(marker), content: spaces > 4 ? ' '.repeat(spaces - 1) + content : content, contentIndent: indent + marker.length + gap };
}

function sameList(a: Item, b: Item): boolean {
  return a.ordered === b.ordered && (a.ordered ? a.marker.slice(-1) === b.marker.slice(-1) : a.marker === b.marker);
}

function blank(line: string): boolean {
  return line.trim() === '';
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/** Splits a table row on unescaped pipes outside code spans. */
export function splitRow(line: string): string[] {
  let t = line.trim();
  if (t.startsWith('|')) t = t.slice(1);
  const cells: string[] = [];
  let cell = '';
  for (let i = 0; i < t.length; i++) {
    const ch = t[i] as string;
    if (ch === '\\' && i + 1 < t.length) {
      // `\|` is a pipe in the cell; other escapes stay for inline().
      cell += t[i + 1] === '|' ? '|' : ch + t[i + 1];
      i++;
    } else if (ch === '`') {
      let k = 1;
      while (t[i + k] === '`') k++;
      const close = findRun(t, '`', k, i + k, t.length);
      const stop = close < 0 ? i + k : close + k;
      // Pipes inside code spans do not split cells; `\|` there is a pipe too (as in GFM).
      cell += t.slice(i, stop).replace(/\\\|/g, '|');
      i = stop - 1;
    } else if (ch === '|') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  if (cell.trim() !== '' || !t.endsWith('|')) cells.push(cell);
  return cells.map((c) => c.trim());
}

function tableStart(lines: readonly string[], i: number): boolean {
  const line = lines[i] as string;
  const next = lines[i + 1];
  if (next === undefined || !line.includes('|') || !next.includes('|') || !DELIMITER_ROW.test(next)) return false;
  return splitRow(line).length === splitRow(next).length;
}

/** Whether the line starts a block that ends a paragraph. */
function interrupts(lines: readonly string[], i: number): boolean {
  const line = lines[i] as string;
  if (ATX.test(line) || FENCE.test(line) || RULE.test(line) || QUOTE.test(line) || tableStart(lines, i)) return true;
  const item = listItem(line);
  return item !== null && item.content.trim() !== '' && (!item.ordered || parseInt(item.marker, 10) === 1);
}

function parseBlocks(lines: readonly string[], depth: number): Block[] {
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (blank(line)) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const indent = (fence[1] as string).length;
      const marker = fence[2] as string;
      const body: string[] = [];
      i++;
      while (i < lines.length) {
        const l = lines[i] as string;
        const close = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(l);
        if (close && (close[1] as string)[0] === marker[0] && (close[1] as string).length >= marker.length) {
          i++;
          break;
        }
        body.push(l.slice(Math.min(indent, indentOf(l))));
        i++;
      }
      blocks.push({ kind: 'code', lang: fence[3] ?? '', text: body.join('\n') });
      continue;
    }
    const atx = ATX.exec(line);
    if (atx) {
      const raw = (atx[2] as string).trim().replace(/(?:^|[ \t]+)#+[ \t]*$/, '');
      const parts = inline(raw);
      blocks.push({ kind: 'heading', level: (atx[1] as string).length, inline: parts, text: plainText(parts) });
      i++;
      continue;
    }
    if (RULE.test(line)) {
      blocks.push({ kind: 'rule' });
      i++;
      continue;
    }
    const quote = QUOTE.exec(line);
    if (quote && depth < MAX_DEPTH) {
      const inner: string[] = [];
      for (let m = QUOTE.exec(lines[i] ?? ''); i < lines.length && m; m = QUOTE.exec(lines[i] ?? '')) {
        inner.push(m[1] as string);
        i++;
      }
      blocks.push({ kind: 'quote', blocks: parseBlocks(inner, depth + 1) });
      continue;
    }
    if (tableStart(lines, i)) {
      const header = splitRow(line);
      const align: Align[] = splitRow(lines[i + 1] as string).map((d) => (d.startsWith(':') && d.endsWith(':') ? 'center' : d.endsWith(':') ? 'right' : d.startsWith(':') ? 'left' : null));
      i += 2;
      const rows: Inline[][][] = [];
      const ends = (l: string): boolean => blank(l) || ATX.test(l) || FENCE.test(l) || QUOTE.test(l) || listItem(l) !== null;
      while (i < lines.length && !ends(lines[i] as string)) {
        const cells = splitRow(lines[i] as string);
        rows.push(header.map((_, k) => inline(cells[k] ?? '')));
        i++;
      }
      blocks.push({ kind: 'table', align, header: header.map(inline), rows });
      continue;
    }
    const first = listItem(line);
    if (first && depth < MAX_DEPTH) {
      const items: Inline[][] = [];
      const children: Block[][] = [];
      while (i < lines.length) {
        const item = listItem(lines[i] as string);
        if (!item || !sameList(first, item)) break;
        const body = [item.content];
        i++;
        while (i < lines.length) {
          const l = lines[i] as string;
          if (blank(l)) {
            let j = i;
            while (j < lines.length && blank(lines[j] as string)) j++;
            if (j < lines.length && indentOf(lines[j] as string) >= item.contentIndent) {
              for (; i < j; i++) body.push('');
              continue;
            }
            break;
          }
          if (indentOf(l) >= item.contentIndent) {
            body.push(l.slice(item.contentIndent));
            i++;
            continue;
          }
          // A lazy continuation of the item's paragraph.
          const prev = body[body.length - 1] ?? '';
          if (!blank(prev) && !interrupts(lines, i) && !FENCE.test(prev) && listItem(l) === null) {
            body.push(l.trim());
            i++;
            continue;
          }
          break;
        }
        const inner = parseBlocks(body, depth + 1);
        const head = inner[0];
        if (head?.kind === 'paragraph') {
          items.push(head.inline);
          children.push(inner.slice(1));
        } else {
          items.push([]);
          children.push(inner);
        }
        // Blank lines between items of the same list.
        let j = i;
        while (j < lines.length && blank(lines[j] as string)) j++;
        const next = j < lines.length ? listItem(lines[j] as string) : null;
        if (j > i && next && sameList(first, next)) i = j;
      }
      blocks.push({ kind: 'list', ordered: first.ordered, start: first.ordered ? parseInt(first.marker, 10) : 1, items, children });
      continue;
    }
    // A paragraph, possibly underlined into a setext heading.
    const para: string[] = [line.trim()];
    i++;
    let level = 0;
    while (i < lines.length && !blank(lines[i] as string)) {
      const setext = SETEXT.exec(lines[i] as string);
      if (setext) {
        level = (setext[1] as string).startsWith('=') ? 1 : 2;
        i++;
        break;
      }
      if (interrupts(lines, i)) break;
      para.push((lines[i] as string).trim());
      i++;
    }
    const parts = inline(para.join(' '));
    blocks.push(level > 0 ? { kind: 'heading', level, inline: parts, text: plainText(parts) } : { kind: 'paragraph', inline: parts });
  }
  return blocks;
}

export function parseMarkdown(md: string): Block[] {
  const lines = md.split(/\r\n|\r|\n/).map((l) => l.replace(/^[ \t]+/, (ws) => ws.replace(/\t/g, '    ')));
  return parseBlocks(lines, 0);
}

// ---- Finding focus -------------------------------------------------------------------------

function norm(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function codeTexts(blocks: readonly Block[], out: string[] = []): string[] {
  const walk = (parts: readonly Inline[]): void => {
    for (const p of parts) {
      if (p.kind === 'code') out.push(p.text);
      else if (p.kind !== 'text') walk(p.children);
    }
  };
  for (const b of blocks) {
    if (b.kind === 'paragraph') walk(b.inline);
    else if (b.kind === 'list') {
      b.items.forEach(walk);
      for (const c of b.children) codeTexts(c, out);
    } else if (b.kind === 'quote') codeTexts(b.blocks, out);
  }
  return out;
}

/**
 * The index (in `blocks`) of the heading of a finding: the heading that ends with its title;
 * among several, the one whose section names the finding id (`Finding id: \`…\``). Without a
 * heading of that title, the heading of the section naming the id. -1 when neither is found.
 */
export function findFindingHeading(blocks: readonly Block[], finding: { id: string; title: string }): number {
  const title = norm(finding.title);
  const headings = blocks.flatMap((b, i) => (b.kind === 'heading' ? [i] : []));
  const sectionHasId = (h: number): boolean => {
    const next = headings.find((k) => k > h) ?? blocks.length;
    return codeTexts(blocks.slice(h + 1, next)).includes(finding.id);
  };
  const byTitle = title === '' ? [] : headings.filter((i) => norm((blocks[i] as { text: string }).text).endsWith(title));
  if (byTitle.length === 1) return byTitle[0] as number;
  if (byTitle.length > 1) return byTitle.find(sectionHasId) ?? (byTitle[0] as number);
  return headings.find(sectionHasId) ?? -1;
}
