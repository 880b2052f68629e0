// A page-table tree drawn as SVG: the root table, then each present entry, a table's entries
// below the entry that points to it. A table with many entries draws runs of alike leaves
// (consecutive frames, the same flags) as one node with their count, expanded by a click.
// Hovering an entry decodes it; a walk's path and an exit's changes are highlighted.

import { hierarchy, tree as treeLayout, type HierarchyPointNode } from 'd3-hierarchy';
import type { TableEntryJson, TableJson } from '../tables.js';
import { el, hex, hoverText, svg } from './dom.js';

/** An entry as drawn: a shadow leaf may be marked by the exit shown. */
export type DrawnEntry = TableEntryJson & { readonly mark?: 'changed' | 'dropped' };

interface Node {
  readonly key: string;
  readonly label: string;
  /** one entry, or a run of alike leaves */
  readonly entries: readonly DrawnEntry[];
  readonly children?: Node[];
}

/** Tables with more entries than this draw runs of alike leaves as one node. */
const GROUP_OVER = 16;
const ROW = 18;
const COL = 250;

const FLAG_LETTERS: Readonly<Record<string, string>> = { present: 'p', readable: 'r', writable: 'w', executable: 'x', user: 'u', global: 'g', accessed: 'a', dirty: 'd', pageSize: 'L', noExecute: 'nx' };

/** The entry's flags as letters (shadow leaves: as `diff` writes them). */
export function flagLetters(e: TableEntryJson): string {
  if (e.decoded) return e.decoded;
  return Object.entries(e.flags).filter(([, on]) => on).map(([f]) => FLAG_LETTERS[f] ?? f).join('');
}

export class TreeView {
  readonly element: HTMLElement;
  private table: TableJson | undefined;
  private readonly expanded = new Set<string>();
  private onPath: (e: DrawnEntry) => boolean = () => false;
  private readonly body: HTMLElement;

  /** A figure titled `title` for tree `key` (kind: guest, shadow, stage2), empty until render. */
  constructor(readonly key: string, readonly kind: string, title: string, private readonly span: (depth: number) => number) {
    this.body = el('div', { class: 'tree-body' });
    this.element = el('figure', { class: `tree tree-${kind}`, 'data-tree': key }, el('figcaption', {}, title), this.body);
  }

  /** Draws `table` (the tree's root table). */
  render(table: TableJson): void {
    this.table = table;
    this.draw();
  }

  /** Highlights the entries `onPath` accepts (runs holding one are expanded) and draws again. */
  highlight(onPath: (e: DrawnEntry) => boolean): void {
    this.onPath = onPath;
    this.draw();
  }

  private draw(): void {
    if (!this.table) return;
    const base = this.table.base >= 0 ? ` ${hex(this.table.base)}` : '';
    const root = hierarchy<Node>({ key: 'root', label: `root${base}`, entries: [], children: this.nodesOf(this.table) });
    const laid = treeLayout<Node>().nodeSize([ROW, COL])(root);
    let lo = Infinity;
    let hi = -Infinity;
    laid.each((n) => {
      lo = Math.min(lo, n.x);
      hi = Math.max(hi, n.x);
    });
    const height = hi - lo + 2 * ROW;
    const width = (laid.height + 1) * COL + 40;
    const at = (n: HierarchyPointNode<Node>) => [n.y + 8, n.x - lo + ROW] as const;
    const links = laid.links().map(({ source, target }) => {
      const [x0, y0] = at(source);
      const [x1, y1] = at(target);
      const mid = (x0 + x1) / 2;
      return svg('path', { class: 'link', d: `M${x0},${y0}C${mid},${y0} ${mid},${y1} ${x1},${y1}` });
    });
    const nodes = laid.descendants().map((n) => this.drawNode(n, at(n)));
    this.body.replaceChildren(svg('svg', { width, height, viewBox: `0 0 ${width} ${height}` }, ...links, ...nodes));
    if (this.table.entries.length === 0) this.body.append(el('p', { class: 'empty' }, 'no present entries'));
  }

  private drawNode(n: HierarchyPointNode<Node>, [x, y]: readonly [number, number]): SVGGElement {
    const { entries, label } = n.data;
    const first = entries[0];
    const group = entries.length > 1;
    const dropped = first?.mark === 'dropped';
    const classes = ['node', first ? (group ? 'group' : first.role) : 'root', first?.mark ?? '', entries.some((e) => this.onPath(e)) ? 'on-path' : ''].filter(Boolean).join(' ');
    const attrs = first
      ? { class: classes, transform: `translate(${x},${y})`, ...(dropped ? { 'data-ghost': 1 } : { 'data-entry': 1, 'data-count': entries.length }), 'data-va': first.va, ...(first.entryAddress >= 0 ? { 'data-address': first.entryAddress } : {}), ...(group ? { 'data-group': n.data.key } : {}) }
      : { class: classes, transform: `translate(${x},${y})` };
    const g = svg('g', attrs, svg('circle', { r: group ? 5 : 3.5 }), svg('text', { x: 8, y: 4 }, label));
    if (first) hoverText(g, () => (group ? describeRun(entries, this.span(n.depth - 1)) : describe(first, this.span(n.depth - 1))));
    if (group)
      g.addEventListener('click', () => {
        this.expanded.add(n.data.key);
        this.draw();
      });
    return g;
  }

  /** The nodes of a table's entries: alike runs of leaves coalesced in a large table, unless expanded or on the path. */
  private nodesOf(t: TableJson): Node[] {
    const entries = t.entries as readonly DrawnEntry[];
    const out: Node[] = [];
    const span = this.span(t.depth);
    for (let i = 0; i < entries.length; ) {
      let j = i + 1;
      if (entries.length > GROUP_OVER) while (j < entries.length && alike(entries[j - 1], entries[j], span) && !entries[j].mark && !entries[i].mark) j++;
      const run = entries.slice(i, j);
      const key = `${t.depth}:${t.base}:${run[0].va}`;
      if (run.length > 1 && !this.expanded.has(key) && !run.some((e) => this.onPath(e))) out.push({ key, label: runLabel(run), entries: run });
      else out.push(...run.map((e) => ({ key: `${key}:${e.index}`, label: entryLabel(e), entries: [e], ...(e.table ? { children: this.nodesOf(e.table) } : {}) })));
      i = j;
    }
    return out;
  }
}

/** Whether leaf `b` continues leaf `a`'s run: next index, next frame, the same flags. */
function alike(a: DrawnEntry, b: DrawnEntry, span: number): boolean {
  return a.role === 'leaf' && b.role === 'leaf' && !a.table && !b.table && b.index === a.index + 1 && b.next === a.next + span && flagLetters(a) === flagLetters(b);
}

function entryLabel(e: DrawnEntry): string {
  const to = e.role === 'leaf' ? `${hex(e.next)} ${flagLetters(e)}` : e.role === 'table' ? (e.next >= 0 ? `table ${hex(e.next)}` : 'table') : e.role;
  return `[${e.index}] ${hex(e.va)} → ${to}`;
}

function runLabel(run: readonly DrawnEntry[]): string {
  return `[${run[0].index}..${run[run.length - 1].index}] ${run.length} leaves ${hex(run[0].va)} → ${hex(run[0].next)}.. ${flagLetters(run[0])} (click)`;
}

function describe(e: DrawnEntry, span: number): string {
  const where = e.entryAddress >= 0 ? `entry ${e.index} at ${hex(e.entryAddress)} = ${e.entryHex}` : `entry ${e.index}`;
  const set = Object.entries(e.flags).filter(([, on]) => on).map(([f]) => f);
  const clear = Object.entries(e.flags).filter(([, on]) => !on).map(([f]) => f);
  const to = e.role === 'leaf' ? `leaf: frame ${hex(e.next)}` : e.role === 'table' ? `table${e.next >= 0 ? ` at ${hex(e.next)}` : ''}` : `${e.role} fault`;
  const flags = e.decoded ? `shadow: ${e.decoded} (r w x u a d)` : `set: ${set.join(' ') || '-'}; clear: ${clear.join(' ') || '-'}`;
  const mark = e.mark ? ` — ${e.mark} by this exit` : '';
  return `${where}\n${to}; maps ${hex(e.va)}..${hex(e.va + span - 1)}\n${flags}${mark}`;
}

function describeRun(run: readonly DrawnEntry[], span: number): string {
  const last = run[run.length - 1];
  return `${run.length} leaves, entries ${run[0].index}..${last.index}: ${hex(run[0].va)}..${hex(last.va + span - 1)} → frames ${hex(run[0].next)}..${hex(last.next + span - 1)}, flags ${flagLetters(run[0])}\nclick to list them`;
}
