// A strict XML reader for the chart tests (sax in strict mode: any error throws), returning the
// element tree: what a browser or GitHub's image proxy would read from an SVG file.
import { createRequire } from 'node:module';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: Array<XmlElement | string>;
}

interface SaxParser {
  onerror: (e: Error) => void;
  onopentag: (t: { name: string; attributes: Record<string, string> }) => void;
  onclosetag: () => void;
  ontext: (t: string) => void;
  write(s: string): SaxParser;
  close(): void;
}
const sax = createRequire(__filename)('sax') as { parser(strict: boolean, options: object): SaxParser };

export function parseXml(text: string): XmlElement {
  const p = sax.parser(true, {});
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  p.onerror = (e) => {
    throw e;
  };
  p.onopentag = (t) => {
    const el: XmlElement = { name: t.name, attributes: { ...t.attributes }, children: [] };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(el);
    else root = el;
    stack.push(el);
  };
  p.onclosetag = () => {
    stack.pop();
  };
  p.ontext = (t) => {
    const parent = stack[stack.length - 1];
    if (parent && t.trim() !== '') parent.children.push(t);
  };
  p.write(text).close();
  if (root === null) throw new Error('no root element');
  return root;
}

export function xmlText(e: XmlElement | string): string {
  return typeof e === 'string' ? e : e.children.map(xmlText).join('');
}

export function xmlElements(e: XmlElement, name?: string): XmlElement[] {
  const kids = e.children.filter((c): c is XmlElement => typeof c !== 'string');
  return [...(name === undefined || e.name === name ? [e] : []), ...kids.flatMap((k) => xmlElements(k, name))];
}
