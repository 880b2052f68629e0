// Small DOM helpers of the report page: elements with attributes and children, SVG elements,
// hexadecimal numbers, and the one tooltip every drawing shares.

type Child = Node | string | number | undefined | false;
type Attrs = Readonly<Record<string, string | number | boolean | undefined>>;

const SVG_NS = 'http://www.w3.org/2000/svg';

function fill<T extends Element>(e: T, attrs: Attrs, children: readonly Child[]): T {
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== false) e.setAttribute(k, v === true ? '' : String(v));
  for (const c of children) if (c !== undefined && c !== false) e.append(typeof c === 'number' ? String(c) : c);
  return e;
}

/** An HTML element with attributes and children (text or nodes; undefined and false skipped). */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  return fill(document.createElement(tag), attrs, children);
}

/** An SVG element, likewise. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

export const hex = (v: number): string => (v < 0 ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`);

/** A table with a header row. */
export function table(head: readonly string[], rows: readonly (readonly Child[])[], attrs: Attrs = {}): HTMLTableElement {
  return el('table', attrs, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows.map((r) => el('tr', {}, ...r.map((c) => el('td', {}, c))))));
}

/** A section with a heading; its body is appended by the caller. */
export function section(id: string, title: string, ...children: Child[]): HTMLElement {
  return el('section', { id }, el('h2', {}, title), ...children);
}

let tip: HTMLElement | undefined;

/** Shows `text` in the tooltip beside the pointer when `target` is hovered. */
export function hoverText(target: Element, text: () => string): void {
  target.addEventListener('mouseenter', (ev) => {
    tip ??= document.body.appendChild(el('div', { id: 'tooltip', role: 'tooltip' }));
    tip.textContent = text();
    tip.hidden = false;
    place(ev as MouseEvent);
  });
  target.addEventListener('mousemove', (ev) => place(ev as MouseEvent));
  target.addEventListener('mouseleave', () => {
    if (tip) tip.hidden = true;
  });
}

function place(ev: MouseEvent): void {
  if (!tip) return;
  tip.style.left = `${Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 4)}px`;
  tip.style.top = `${ev.clientY + 14}px`;
}
