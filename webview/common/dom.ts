// DOM building without HTML strings: every piece of node data goes in through textContent or
// attribute setters, so a process named "<img onerror=...>" is shown as those characters.
type Child = Node | string | number | null | undefined | false;

export interface Attrs {
  class?: string;
  title?: string;
  role?: string;
  tabindex?: number;
  dataset?: Record<string, string>;
  aria?: Record<string, string>;
  style?: Partial<Record<string, string>>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (event: HTMLElementEventMap[K]) => void }>;
  attrs?: Record<string, string>;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs.class !== undefined) el.className = attrs.class;
  if (attrs.title !== undefined) el.title = attrs.title;
  if (attrs.role !== undefined) el.setAttribute('role', attrs.role);
  if (attrs.tabindex !== undefined) el.tabIndex = attrs.tabindex;
  for (const [k, v] of Object.entries(attrs.dataset ?? {})) el.dataset[k] = v;
  for (const [k, v] of Object.entries(attrs.aria ?? {})) el.setAttribute(`aria-${k}`, v);
  for (const [k, v] of Object.entries(attrs.attrs ?? {})) {
    if (/^on/i.test(k)) throw new Error(`refusing to set event attribute ${k}`);
    el.setAttribute(k, v);
  }
  for (const [k, v] of Object.entries(attrs.style ?? {})) if (v !== undefined) el.style.setProperty(k, v);
  for (const [k, v] of Object.entries(attrs.on ?? {})) el.addEventListener(k, v as EventListener);
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces all children of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

// Number formats live in format.ts (DOM-free, so models and their Node tests can use them).
export { formatBytes, formatCount } from './format';

/** A status line for errors and progress, announced to screen readers. */
export function statusLine(): { el: HTMLElement; set(text: string, kind?: 'error' | 'info'): void } {
  const el = h('div', { class: 'status', role: 'status', aria: { live: 'polite' } });
  return {
    el,
    set(text, kind = 'info') {
      el.textContent = text;
      el.className = `status ${kind}`;
      el.hidden = text === '';
    },
  };
}
