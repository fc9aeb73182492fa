// Drawing of the flame graph: one absolutely positioned block per bar (root on top, callees
// below), width by samples. Names and hover text go in through textContent and attributes only.
import { h } from '../common/dom';
import type { FlameProfile } from '../../src/protocol/webview';
import { colorOf, type Bar } from './model';

export const ROW_PX = 18;

export interface BarHandlers {
  click(id: string): void;
  open(id: string): void;
  hover(id: string | null): void;
  key(id: string, event: KeyboardEvent): void;
}

export function renderBars(profile: Pick<FlameProfile, 'frames'>, drawn: readonly Bar[], selected: string | null, describe: (id: string) => string, on: BarHandlers): HTMLElement {
  const depth = drawn.reduce((m, b) => Math.max(m, b.depth), 0) + 1;
  const box = h('div', { class: 'flame', role: 'tree', aria: { label: 'Flame graph: callers above, callees below, width by samples' }, style: { height: `${depth * ROW_PX}px` } });
  for (const b of drawn) {
    const { hue, kind } = colorOf(b.frame >= 0 ? profile.frames[b.frame] : undefined);
    const text = describe(b.id);
    const el = h(
      'div',
      {
        class: `bar ${kind}${b.ancestor ? ' ancestor' : ''}${b.match ? ' match' : ''}${b.id === selected ? ' selected' : ''}`,
        role: 'treeitem',
        tabindex: b.id === selected || (selected === null && b.depth === 0) ? 0 : -1,
        title: text,
        dataset: { id: b.id },
        aria: { label: text.replace('\n', ' · '), level: String(b.depth + 1), selected: String(b.id === selected) },
        style: {
          left: `${(b.x * 100).toFixed(4)}%`,
          width: `${(b.width * 100).toFixed(4)}%`,
          top: `${b.depth * ROW_PX}px`,
          ...(kind === 'root' ? {} : { '--hue': String(hue) }),
        },
        on: {
          click: (e) => (e.altKey ? on.open(b.id) : on.click(b.id)),
          dblclick: () => on.open(b.id),
          mouseenter: () => on.hover(b.id),
          mouseleave: () => on.hover(null),
          keydown: (e) => on.key(b.id, e),
        },
      },
      b.width * 100 > 1.5 ? b.name : '',
    );
    box.append(el);
  }
  return box;
}
