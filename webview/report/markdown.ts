// A small Markdown reader for the report preview (no DOM; unit-tested): headings, paragraphs,
// lists, tables, fenced code, inline code/bold/italic. It returns plain data; the view builds
// DOM nodes from it with textContent only, so nothing in a report is ever parsed as HTML.
export type Inline = { kind: 'text' | 'code' | 'bold' | 'italic'; text: string };
export type Block =
  | { kind: 'heading'; level: number; inline: Inline[]; text: string }
  | { kind: 'paragraph'; inline: Inline[] }
  | { kind: 'list'; ordered: boolean; items: Inline[][] }
  | { kind: 'code'; text: string }
  | { kind: 'table'; header: Inline[][]; rows: Inline[][][] }
  | { kind: 'rule' };

/** Undoes the report's Markdown escapes (\\[, \\*, …). */
function unescape(s: string): string {
  return s.replace(/\\([\\`*_{}[\]()#+\-.!|<>~])/g, '$1');
}

export function inline(text: string): Inline[] {
  const out: Inline[] = [];
  const re = /`([^`]+)`|\*\*((?:\\.|[^*])+)\*\*|(?<![\\\w])_((?:\\.|[^_])+)_(?!\w)/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > 0 && text[m.index - 1] === '\\') continue;
    if (m.index > last) out.push({ kind: 'text', text: unescape(text.slice(last, m.index)) });
    if (m[1] !== undefined) out.push({ kind: 'code', text: m[1] });
    else if (m[2] !== undefined) out.push({ kind: 'bold', text: unescape(m[2]) });
    else if (m[3] !== undefined) out.push({ kind: 'italic', text: unescape(m[3]) });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ kind: 'text', text: unescape(text.slice(last)) });
  return out;
}

function cells(line: string): string[] {
  const t = line.trim().replace(/^\|/, '').replace(/(?<!\\)\|$/, '');
  return t.split(/(?<!\\)\|/).map((c) => c.trim());
}

export function parseMarkdown(md: string): Block[] {
  const lines = md.replace(/\r\n/g, '\n').split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.trim() === '') {
      i++;
      continue;
    }
    if (line.startsWith('```')) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !(lines[i] as string).startsWith('```')) body.push(lines[i++] as string);
      i++;
      blocks.push({ kind: 'code', text: body.join('\n') });
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      const text = (heading[2] as string).trim();
      blocks.push({ kind: 'heading', level: (heading[1] as string).length, inline: inline(text), text: unescape(text).replace(/[`*]/g, '') });
      i++;
      continue;
    }
    if (/^(-{3,}|\*{3,})$/.test(line.trim())) {
      blocks.push({ kind: 'rule' });
      i++;
      continue;
    }
    if (line.trim().startsWith('|') && /^\s*\|?\s*:?-{3,}/.test(lines[i + 1] ?? '')) {
      const header = cells(line).map(inline);
      i += 2;
      const rows: Inline[][][] = [];
      while (i < lines.length && (lines[i] as string).trim().startsWith('|')) rows.push(cells(lines[i++] as string).map(inline));
      blocks.push({ kind: 'table', header, rows });
      continue;
    }
    const item = /^\s*([-*]|\d+\.)\s+(.*)$/.exec(line);
    if (item) {
      const ordered = /\d/.test(item[1] as string);
      const items: Inline[][] = [];
      while (i < lines.length) {
        const m = /^\s*([-*]|\d+\.)\s+(.*)$/.exec(lines[i] as string);
        if (!m) {
          // a continuation line of the previous item
          if ((lines[i] as string).startsWith('  ') && items.length > 0) {
            items[items.length - 1]?.push({ kind: 'text', text: ` ${unescape((lines[i] as string).trim())}` });
            i++;
            continue;
          }
          break;
        }
        items.push(inline(m[2] as string));
        i++;
      }
      blocks.push({ kind: 'list', ordered, items });
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && (lines[i] as string).trim() !== '' && !/^(#{1,6}\s|```|\s*[-*]\s|\s*\d+\.\s|\|)/.test(lines[i] as string)) para.push(lines[i++] as string);
    if (para.length === 0) {
      para.push(line);
      i++;
    }
    blocks.push({ kind: 'paragraph', inline: inline(para.join(' ')) });
  }
  return blocks;
}
