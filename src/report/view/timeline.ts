// The shadow diff timeline: the run's VMM exits along one axis, bucketed (at most MAX_BUCKETS
// bars, each stacked by the causes of its exits that changed shadow entries), and the diff of
// one chosen exit — `diff --json`'s rows of that exit, drawn only when it is chosen. An exit is
// coloured by the reason of its first change (hidden fault, trace write, resync, ...).

import { scaleLinear } from 'd3-scale';
import type { DiffData } from '../../scenario/diff.js';
import type { DecodedEntry, DiffRow } from '../../shadow/diff.js';
import { el, hex, hoverText, section, svg, table } from './dom.js';

const MAX_BUCKETS = 240;
const WIDTH = 960;
const HEIGHT = 90;
const QUIET = 'no shadow change';

/** Rows of each exit, found once: exit -> [first row, past its last row). */
export function rowsByExit(rows: readonly DiffRow[]): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  rows.forEach((r, i) => {
    const span = out.get(r.event);
    if (span) span[1] = i + 1;
    else out.set(r.event, [i, i + 1]);
  });
  return out;
}

export class Timeline {
  readonly element: HTMLElement;
  private readonly index: Map<number, [number, number]>;
  private readonly detail = el('div', { id: 'exit-diff' });
  private readonly picker: HTMLInputElement;
  private readonly bars: SVGGElement[] = [];
  private readonly width: number;

  /** The timeline of `d`; `onSelect` is told the exit chosen. */
  constructor(private readonly d: DiffData, private readonly onSelect: (exit: number) => void) {
    this.index = rowsByExit(d.rows);
    this.picker = el('input', { type: 'number', id: 'exit-picker', min: 1, max: Math.max(1, d.exits), value: d.exits, 'aria-label': 'exit' });
    this.picker.addEventListener('change', () => this.select(Number(this.picker.value)));
    const step = (dir: 1 | -1) => () => this.select(this.nextChange(Number(this.picker.value), dir));
    const controls = el('p', { class: 'controls' }, el('button', { id: 'prev-change', type: 'button' }, '◀ previous change'), ' exit ', this.picker, ` of ${d.exits} `, el('button', { id: 'next-change', type: 'button' }, 'next change ▶'));
    controls.querySelector('#prev-change')!.addEventListener('click', step(-1));
    controls.querySelector('#next-change')!.addEventListener('click', step(1));
    const head = el('p', {}, `VM ${d.vm.index} (${d.vm.name}) under shadow-eager: ${d.geometry} shadow tables, ${d.exits} exits, ${d.changes} entry changes in ${d.rows.length} rows${d.dropped ? `; the first ${d.dropped} changes fell out of the log` : ''}.`);
    this.width = WIDTH;
    this.element = section('timeline', 'Shadow diff timeline', head, this.chart(), controls, this.detail);
  }

  /** Shows exit `exit`'s rows and tells the page. */
  select(exit: number): void {
    const e = Math.min(Math.max(1, Math.round(exit) || 1), Math.max(1, this.d.exits));
    this.picker.value = String(e);
    for (const b of this.bars) b.classList.toggle('selected', Number(b.dataset.lo) <= e && e <= Number(b.dataset.hi));
    const [lo, hi] = this.index.get(e) ?? [0, 0];
    const rows = this.d.rows.slice(lo, hi);
    const cause = rows[0]?.cause;
    this.detail.replaceChildren(
      el('h3', {}, `exit ${e}${cause ? ` (${cause})` : ''}: ${rows.length} row${rows.length === 1 ? '' : 's'}`),
      rows.length ? diffTable(rows) : el('p', {}, 'This exit changed no shadow entry.'),
    );
    this.onSelect(e);
  }

  /** The next exit after (dir 1) or before (dir -1) `from` that changed an entry; `from` when none. */
  private nextChange(from: number, dir: 1 | -1): number {
    const exits = [...this.index.keys()];
    const found = dir > 0 ? exits.find((x) => x > from) : exits.reverse().find((x) => x < from);
    return found ?? from;
  }

  private chart(): SVGSVGElement {
    const n = this.d.exits;
    const buckets = Math.max(1, Math.min(n, MAX_BUCKETS));
    const per = Math.max(1, Math.ceil(n / buckets));
    const causes = [...new Set(this.d.rows.map((r) => r.reason))].sort();
    const counts: { lo: number; hi: number; by: Map<string, number> }[] = [];
    for (let lo = 1; lo <= n; lo += per) {
      const hi = Math.min(n, lo + per - 1);
      const by = new Map<string, number>();
      for (let e = lo; e <= hi; e++) {
        const span = this.index.get(e);
        const k = span ? this.d.rows[span[0]].reason : QUIET;
        by.set(k, (by.get(k) ?? 0) + 1);
      }
      counts.push({ lo, hi, by });
    }
    const x = scaleLinear().domain([1, n + 1]).range([0, this.width]);
    const y = scaleLinear().domain([0, per]).range([0, HEIGHT]);
    const order = [...causes, QUIET];
    for (const b of counts) {
      let top = HEIGHT;
      const parts = order.filter((k) => b.by.has(k)).map((k) => {
        const h = y(b.by.get(k)!);
        top -= h;
        return svg('rect', { class: `cause cause-${order.indexOf(k) % 8}${k === QUIET ? ' quiet' : ''}`, x: x(b.lo), y: top, width: Math.max(1, x(b.hi + 1) - x(b.lo) - 1), height: h });
      });
      const g = svg('g', { class: 'bucket', 'data-lo': b.lo, 'data-hi': b.hi, 'data-exits': b.hi - b.lo + 1 }, svg('rect', { class: 'hit', x: x(b.lo), y: 0, width: Math.max(1, x(b.hi + 1) - x(b.lo)), height: HEIGHT }), ...parts);
      hoverText(g, () => `exits ${b.lo}..${b.hi}: ${order.filter((k) => b.by.has(k)).map((k) => `${b.by.get(k)} ${k}`).join(', ')}`);
      g.addEventListener('click', () => this.select([...this.index.keys()].find((e) => e >= b.lo && e <= b.hi) ?? b.lo));
      this.bars.push(g);
    }
    const ticks = x.ticks(10).filter((t) => Number.isInteger(t) && t <= n).map((t) => svg('g', { transform: `translate(${x(t)},${HEIGHT})` }, svg('line', { class: 'tick', y2: 5 }), svg('text', { y: 17, 'text-anchor': 'middle' }, t)));
    const legend = order.map((k, i) => svg('g', { transform: `translate(${i * 150},${HEIGHT + 34})` }, svg('rect', { class: `cause cause-${i % 8}${k === QUIET ? ' quiet' : ''}`, width: 10, height: 10 }), svg('text', { x: 14, y: 9 }, k)));
    return svg('svg', { id: 'timeline-chart', width: this.width + 20, height: HEIGHT + 50, viewBox: `-10 0 ${this.width + 20} ${HEIGHT + 50}` }, ...this.bars, ...ticks, ...legend);
  }
}

const entry = (e: DecodedEntry | undefined) => (e ? `${hex(e.hpa)} ${e.flags}` : '-');

function diffTable(rows: readonly DiffRow[]): HTMLTableElement {
  const t = table(
    ['exit (cause)', 'reason', 'space (root, view)', 'gVA', 'before (hPA, rwxuad)', 'after'],
    rows.map((r) => [`${r.event} ${r.cause}`, r.reason, `${r.guestRoot < 0 ? 'physical' : hex(r.guestRoot)} ${r.view}`, r.pages === 1 ? hex(r.gva) : `${hex(r.gva)} +${r.pages} pages`, entry(r.before), entry(r.after)]),
    { class: 'diff-rows' },
  );
  t.querySelectorAll('tbody tr').forEach((tr) => tr.setAttribute('data-row', ''));
  return t;
}
