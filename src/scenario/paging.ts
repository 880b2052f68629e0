// The paging parts of a scenario: the geometry (a preset or a custom row), where page tables
// are allocated, and building the declared tables into memory.

import { FORMATS, GEOMETRIES, map, tableBytes, validateGeometry, type EntryFormat, type Geometry, type MapPerms } from '../paging/index.js';
import { createPager } from '../mmu/paging-unit.js';
import type { PhysicalMemory } from '../mmu/memory.js';
import type { Pager } from '../mmu/pager.js';
import type { Path } from './yaml.js';
import type { MappingSpec, PagingSpec, ScenarioFile } from './schema.js';

/** Where table pages come from: roots by table name, then a bump pointer up to `end`. */
export interface TableLayout {
  /** the tables region [start, end) */
  readonly start: number;
  readonly roots: ReadonlyMap<string, number>;
  /** first free byte after the roots */
  readonly next: number;
  readonly end: number;
}

export interface PagingSetup {
  readonly geometry: Geometry;
  readonly pageBytes: number;
  readonly tlb: { readonly entries: number; readonly ways: number };
  readonly layout: TableLayout;
}

type Report = (path: Path, message: string) => void;

/** The preset geometries' names. */
export const GEOMETRY_NAMES: readonly string[] = Object.keys(GEOMETRIES);

/** A preset geometry by name (own names only: 'constructor' is not a geometry). */
export function geometryByName(name: string): Geometry | undefined {
  return Object.hasOwn(GEOMETRIES, name) ? GEOMETRIES[name] : undefined;
}

/** An entry format by name (own names only). */
function formatByName(name: string): EntryFormat | undefined {
  return Object.hasOwn(FORMATS, name) ? FORMATS[name] : undefined;
}

/**
 * The scenario's paging setup, or undefined when the machine has no paging hardware.
 * Problems (bad geometry, tables outside memory) are reported and yield undefined.
 */
export function pagingSetup(spec: ScenarioFile, report: Report): PagingSetup | undefined {
  const m = spec.machine;
  const wantsPaging = m.translation !== 'segment';
  if (!wantsPaging) {
    if (m.paging) report(['machine', 'paging'], "paging hardware is configured but translation is 'segment'");
    if (spec.pageTables.length) report(['pageTables'], "page tables need a machine whose translation includes paging (machine.translation: paging)");
    return undefined;
  }
  const paging: PagingSpec = m.paging ?? { geometry: 'x86-32', tlb: { entries: 16, ways: 4 } };
  const geometry = resolveGeometry(paging.geometry, report);
  if (!geometry) return undefined;
  if (paging.tlb.entries % paging.tlb.ways !== 0) {
    report(['machine', 'paging', 'tlb'], `entries (${paging.tlb.entries}) must be a multiple of ways (${paging.tlb.ways})`);
    return undefined;
  }
  const pageBytes = 2 ** geometry.offsetBits;
  const layout = tableLayout(spec, geometry, pageBytes, paging, report);
  checkMaps(spec, geometry, report);
  return layout && { geometry, pageBytes, tlb: paging.tlb, layout };
}

/** A preset by name or a custom row, validated; problems are reported at `at` (the field that names it). */
export function resolveGeometry(g: PagingSpec['geometry'], report: Report, at: Path = ['machine', 'paging', 'geometry']): Geometry | undefined {
  if (typeof g === 'string') {
    const preset = geometryByName(g);
    if (!preset) report(at, `unknown geometry '${g}' (presets: ${GEOMETRY_NAMES.join(', ')}; or give a custom row)`);
    return preset;
  }
  const entry = formatByName(g.entry);
  if (!entry) {
    report([...at, 'entry'], `unknown entry format '${g.entry}' (known: ${Object.keys(FORMATS).join(', ')})`);
    return undefined;
  }
  const vaBits = g.indexBits.reduce((a, b) => a + b, g.offsetBits);
  if (vaBits > 32) {
    report([...at, 'indexBits'], `index bits ${g.indexBits.join(' + ')} and offset bits ${g.offsetBits} make a ${vaBits}-bit virtual address; at most 32`);
    return undefined;
  }
  const geometry: Geometry = {
    name: g.name,
    vaBits,
    indexBits: g.indexBits,
    offsetBits: g.offsetBits,
    entry,
    rules: g.rules ?? geometryByName(g.entry)!.rules,
    largePageDepths: g.largePageDepths ?? [],
  };
  const errors = validateGeometry(geometry);
  for (const e of errors) {
    const { field, message } = geometryField(e);
    report(field ? [...at, ...field] : at, message);
  }
  return errors.length ? undefined : geometry;
}

/**
 * A validateGeometry message ("indexBits[1]: ...", "largePageDepths: ...") as the field of the
 * scenario's custom row it is about and the rest of the message. Problems inside the (preset)
 * entry format are about the row's `entry`.
 */
function geometryField(e: string): { field?: Path; message: string } {
  const m = /^([A-Za-z]+)(?:\[(\d+)\])?(?:\.[\w.]+)?: (.*)$/.exec(e);
  if (!m) return { message: e };
  const field: Path = m[2] === undefined ? [m[1]] : [m[1], Number(m[2])];
  return { field, message: m[1] === 'entry' ? e : m[3] };
}

/** Places the tables region and the roots (given or allocated, one page each, in order). */
function tableLayout(spec: ScenarioFile, g: Geometry, pageBytes: number, paging: PagingSpec, report: Report): TableLayout | undefined {
  const memory = spec.machine.memory;
  const size = paging.tables?.size ?? Math.min(2 ** 18, Math.floor(memory / 4 / pageBytes) * pageBytes);
  const at = paging.tables?.at ?? memory - size;
  if (at % pageBytes !== 0 || at + size > memory) {
    report(['machine', 'paging', 'tables'], `the tables region [0x${at.toString(16)}, 0x${(at + size).toString(16)}) must be page-aligned (${pageBytes} bytes) and inside memory`);
    return undefined;
  }
  const rootBytes = roundUp(tableBytes(g, 0), pageBytes);
  const roots = new Map<string, number>();
  let next = at;
  spec.pageTables.forEach((t, i) => {
    if (roots.has(t.name)) report(['pageTables', i, 'name'], `duplicate table name '${t.name}'`);
    if (t.root !== undefined) {
      const bytes = tableBytes(g, 0);
      if (t.root % bytes !== 0 || t.root + bytes > memory) report(['pageTables', i, 'root'], `root 0x${t.root.toString(16)} must be aligned to the root table's size (${bytes} bytes) and the table inside memory`);
      roots.set(t.name, t.root);
    } else {
      roots.set(t.name, next);
      next += rootBytes;
    }
  });
  if (next > at + size) report(['machine', 'paging', 'tables'], `the tables region of ${size} bytes cannot hold ${spec.pageTables.length} root tables`);
  return { start: at, roots, next, end: at + size };
}

/**
 * Each table's mappings: the frames they map lie inside physical memory, the virtual ranges
 * inside the geometry's address space, and no two mappings of one table cover the same page.
 */
function checkMaps(spec: ScenarioFile, g: Geometry, report: Report): void {
  const memory = spec.machine.memory;
  const hex = (n: number) => `0x${n.toString(16)}`;
  spec.pageTables.forEach((t, i) => {
    const ranges = t.map.map((m, j) => ({ lo: m.va, hi: m.va + m.size, j }));
    t.map.forEach((m, j) => {
      const pa = m.pa ?? (m.frame ?? 0) * 2 ** g.offsetBits;
      if (pa + m.size > memory) report(['pageTables', i, 'map', j], `maps the frames [${hex(pa)}, ${hex(pa + m.size)}), which run past physical memory (${hex(memory)} bytes)`);
      if (m.va + m.size > 2 ** g.vaBits) report(['pageTables', i, 'map', j], `maps [${hex(m.va)}, ${hex(m.va + m.size)}), which runs past the ${g.vaBits}-bit virtual address space of geometry '${g.name}'`);
    });
    ranges.sort((a, b) => a.lo - b.lo);
    let reach: (typeof ranges)[number] | undefined;
    for (const r of ranges) {
      if (reach && r.lo < reach.hi) report(['pageTables', i, 'map', Math.max(r.j, reach.j)], `maps [${hex(r.lo)}, ${hex(r.hi)}), which overlaps mapping ${Math.min(r.j, reach.j)} of the same table at [${hex(reach.lo)}, ${hex(reach.hi)})`);
      if (!reach || r.hi > reach.hi) reach = r;
    }
  });
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** The pager factory a MachineConfig needs. */
export function pagerFactory(p: PagingSetup): (mem: PhysicalMemory) => Pager {
  return (mem) => createPager(mem, { geometry: p.geometry, tlb: p.tlb });
}

/** Permission letters → MapPerms. */
export function mapPerms(m: MappingSpec): MapPerms {
  const has = (c: string) => m.perms.includes(c);
  return { read: has('r'), write: has('w'), exec: has('x'), user: has('u'), global: has('g'), accessed: has('a'), dirty: has('d'), large: m.large };
}

/**
 * Builds every declared table into `mem`. Returns the problems (located), empty on success;
 * a mapping the builder refuses (misaligned, outside the VA space, into a large page) is one.
 */
export function buildTables(spec: ScenarioFile, p: PagingSetup, mem: PhysicalMemory): { path: Path; message: string }[] {
  const problems: { path: Path; message: string }[] = [];
  let next = p.layout.next;
  const alloc = () => {
    const a = next;
    next += roundUp(Math.max(...p.geometry.indexBits.map((_, d) => tableBytes(p.geometry, d))), p.pageBytes);
    if (next > p.layout.end) throw new Error(`the tables region is full (it ends at 0x${p.layout.end.toString(16)}; enlarge machine.paging.tables)`);
    return a;
  };
  spec.pageTables.forEach((t, i) => {
    const root = p.layout.roots.get(t.name)!;
    t.map.forEach((m, j) => {
      const pa = m.pa ?? m.frame! * p.pageBytes;
      const where: Path = ['pageTables', i, 'map', j];
      if (pa >= spec.machine.memory) {
        problems.push({ path: where, message: `maps [0x${pa.toString(16)}, 0x${(pa + m.size).toString(16)}), which starts beyond physical memory (0x${spec.machine.memory.toString(16)} bytes)` });
        return;
      }
      try {
        map(p.geometry, mem, root, m.va, pa, m.size, mapPerms(m), alloc);
      } catch (e) {
        problems.push({ path: where, message: (e as Error).message.replace(/^map: /, '') });
      }
    });
  });
  return problems;
}
