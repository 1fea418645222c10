// Tiny DOM helpers. Data is only ever put into the page as text (textContent / text nodes), never as HTML.

export const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return el as T;
};

/** createElement with a class and optional text. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A case-insensitive matcher for the highlight box, or undefined when empty. */
export function highlighter(text: string): RegExp | undefined {
  return text === '' ? undefined : new RegExp(escapeRegExp(text), 'gi');
}

/** Fill `target` with `text`, wrapping matches of `re` in <mark>: text nodes only, so nothing in it is ever parsed. */
export function fillMarked(target: HTMLElement, text: string, re: RegExp | undefined): boolean {
  if (!re) {
    target.textContent = text;
    return false;
  }
  target.textContent = '';
  re.lastIndex = 0;
  let last = 0;
  let found = false;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0].length === 0) break;
    found = true;
    if (m.index > last) target.append(document.createTextNode(text.slice(last, m.index)));
    target.append(el('mark', '', m[0]));
    last = m.index + m[0].length;
  }
  if (last < text.length) target.append(document.createTextNode(text.slice(last)));
  return found;
}

export const shortTime = (iso: string) => iso.replace('T', ' ').replace('Z', '');
