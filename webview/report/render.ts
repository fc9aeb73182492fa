// DOM of the report preview from the Markdown AST (markdown.ts): every piece of text goes in
// through text nodes; links are shown as their text (the address in a tooltip), never followed.
import { assertNever } from '../../src/protocol/webview';
import { h } from '../common/dom';
import type { Block, Inline } from './markdown';

function inlines(parts: readonly Inline[]): Node[] {
  return parts.map((p): Node => {
    switch (p.kind) {
      case 'text':
        return document.createTextNode(p.text);
      case 'code':
        return h('code', {}, p.text);
      case 'bold':
        return h('strong', {}, ...inlines(p.children));
      case 'italic':
        return h('em', {}, ...inlines(p.children));
      case 'link':
        return h('span', { class: 'link-text', title: p.href }, ...inlines(p.children));
      default:
        return assertNever(p);
    }
  });
}

const HEADINGS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'] as const;

function block(b: Block): HTMLElement {
  switch (b.kind) {
    case 'heading':
      return h(HEADINGS[Math.min(6, Math.max(1, b.level)) - 1] ?? 'h6', {}, ...inlines(b.inline));
    case 'paragraph':
      return h('p', {}, ...inlines(b.inline));
    case 'list': {
      const items = b.items.map((item, i) => h('li', {}, ...inlines(item), ...(b.children[i] ?? []).map(block)));
      return b.ordered ? h('ol', b.start !== 1 ? { attrs: { start: String(b.start) } } : {}, ...items) : h('ul', {}, ...items);
    }
    case 'code':
      return h('pre', b.lang ? { dataset: { lang: b.lang } } : {}, h('code', {}, b.text));
    case 'table': {
      const cell = (tag: 'th' | 'td', parts: Inline[], k: number): HTMLElement => {
        const el = h(tag, tag === 'th' ? { attrs: { scope: 'col' } } : {}, ...inlines(parts));
        const align = b.align[k];
        if (align) el.style.textAlign = align;
        return el;
      };
      const headed = b.header.some((c) => c.length > 0);
      return h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          {},
          headed ? h('thead', {}, h('tr', {}, ...b.header.map((c, k) => cell('th', c, k)))) : null,
          h('tbody', {}, ...b.rows.map((r) => h('tr', {}, ...r.map((c, k) => cell('td', c, k))))),
        ),
      );
    }
    case 'quote':
      return h('blockquote', {}, ...b.blocks.map(block));
    case 'rule':
      return h('hr');
    default:
      return assertNever(b);
  }
}

/** One element per top-level block, in order (so a block index finds its element). */
export function renderBlocks(blocks: readonly Block[]): HTMLElement[] {
  return blocks.map(block);
}
