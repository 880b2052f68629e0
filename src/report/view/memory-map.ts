// The memory map: host memory as a bar per paging VMM (the VMM's reserve, the VM's memory as its
// physmap places it, and the pages of guest, shadow and stage-2 tables), or the VMs of a file
// that lists them, or where each VMM run placed the guest — whatever the JSON holds.

import { scaleLinear } from 'd3-scale';
import type { ReportData } from '../data.js';
import type { RegionJson } from '../tables.js';
import { el, hex, hoverText, section, svg } from './dom.js';

interface Bar {
  readonly title: string;
  readonly size: number;
  readonly regions: readonly (Pick<RegionJson, 'lo' | 'hi' | 'label'> & { readonly kind: string })[];
}

const WIDTH = 960;
const LANE = 22;
/** Kinds drawn in the lower lane (memory) and the upper one (table pages), in legend order. */
const KINDS = ['reserve', 'vm', 'guest memory', 'guest table', 'shadow table', 'stage-2 table'];
const UPPER = new Set(['guest table', 'shadow table', 'stage-2 table']);

/** The memory-map section, or undefined when the JSON says nothing about memory. */
export function memoryMapSection(d: ReportData): HTMLElement | undefined {
  const bars = barsOf(d);
  if (bars.length === 0) return undefined;
  const legend = el('p', { class: 'legend' }, ...KINDS.map((k) => el('span', { class: `swatch kind-${k.replace(/ /g, '-')}` }, k)));
  return section('memory', 'Memory map', legend, ...bars.map(drawBar));
}

function barsOf(d: ReportData): Bar[] {
  const runs = d.run?.runs ?? [];
  const physmap = (under: string) => (runs.find((r) => r.under === under)?.placement?.ranges ?? []).map((r) => ({ kind: 'guest memory', lo: r.hpa, hi: r.hpa + r.size, label: `gPA ${hex(r.gpa)}..${hex(r.gpa + r.size)} at hPA ${hex(r.hpa)}` }));
  if (d.tables?.length) return d.tables.map((t) => ({ title: `host memory under ${t.under}: ${hex(t.memorySize)} bytes`, size: t.memorySize, regions: [...t.regions.filter((r) => r.kind !== 'vm'), ...physmap(t.under)] }));
  const host = d.run?.host;
  if (host) return [{ title: `host memory: ${hex(host.memorySize)} bytes`, size: host.memorySize, regions: [{ kind: 'reserve', lo: 0, hi: host.reserve, label: "the VMM's reserve" }, ...host.vms.map((v) => ({ kind: 'vm', lo: v.addr0, hi: v.addr0 + v.vmsize, label: `VM ${v.name}` }))] }];
  return runs
    .filter((r) => r.placement && r.placement.ranges.length)
    .map((r) => {
      const regions = physmap(r.under);
      return { title: `${r.label}: where the guest's memory lies in host memory`, size: Math.max(...regions.map((x) => x.hi)), regions };
    });
}

function drawBar(b: Bar): HTMLElement {
  const x = scaleLinear().domain([0, b.size]).range([0, WIDTH]);
  const rects = b.regions.map((r) => {
    const rect = svg('rect', { class: `region kind-${r.kind.replace(/ /g, '-')}`, x: x(r.lo), y: UPPER.has(r.kind) ? 0 : LANE + 2, width: Math.max(1, x(r.hi) - x(r.lo)), height: LANE, 'data-kind': r.kind });
    hoverText(rect, () => `${r.kind}: [${hex(r.lo)}, ${hex(r.hi)}) ${r.label}`);
    return rect;
  });
  const ticks = powerOfTwoTicks(b.size).map((t) => svg('g', { transform: `translate(${x(t)},${2 * LANE + 4})` }, svg('line', { y2: 5, class: 'tick' }), svg('text', { y: 16, 'text-anchor': 'middle' }, hex(t))));
  return el('figure', { class: 'memory-bar' }, el('figcaption', {}, b.title), svg('svg', { width: WIDTH + 40, height: 2 * LANE + 28, viewBox: `-20 0 ${WIDTH + 40} ${2 * LANE + 28}` }, ...rects, ...ticks));
}

/** Tick positions at multiples of a power of two, about eight across [0, size]. */
function powerOfTwoTicks(size: number): number[] {
  let step = 1;
  while (size / step > 8) step *= 2;
  const out: number[] = [];
  for (let t = 0; t <= size; t += step) out.push(t);
  return out;
}
