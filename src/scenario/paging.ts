// The paging parts of a scenario: the geometry (a preset or a custom row), where page tables
// are allocated, and building the declared tables into memory.

import { FORMATS, GEOMETRIES, map, tableBytes, validateGeometry, type Geometry, type MapPerms } from '../paging/index.js';
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
  return layout && { geometry, pageBytes, tlb: paging.tlb, layout };
}

/** A preset by name or a custom row, validated. */
function resolveGeometry(g: PagingSpec['geometry'], report: Report): Geometry | undefined {
  const at: Path = ['machine', 'paging', 'geometry'];
  if (typeof g === 'string') {
    const preset = GEOMETRIES[g];
    if (!preset) report(at, `unknown geometry '${g}' (presets: ${Object.keys(GEOMETRIES).join(', ')}; or give a custom row)`);
    return preset;
  }
  const entry = FORMATS[g.entry];
  if (!entry) {
    report([...at, 'entry'], `unknown entry format '${g.entry}' (known: ${Object.keys(FORMATS).join(', ')})`);
    return undefined;
  }
  const geometry: Geometry = {
    name: g.name,
    vaBits: g.indexBits.reduce((a, b) => a + b, g.offsetBits),
    indexBits: g.indexBits,
    offsetBits: g.offsetBits,
    entry,
    rules: g.rules ?? GEOMETRIES[g.entry].rules,
    largePageDepths: g.largePageDepths ?? [],
  };
  const errors = validateGeometry(geometry);
  for (const e of errors) report(at, e);
  return errors.length ? undefined : geometry;
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
      if (t.root % g.entry.bytes !== 0 || t.root + tableBytes(g, 0) > memory) report(['pageTables', i, 'root'], `root 0x${t.root.toString(16)} must be aligned to the entry size and its table inside memory`);
      roots.set(t.name, t.root);
    } else {
      roots.set(t.name, next);
      next += rootBytes;
    }
  });
  if (next > at + size) report(['machine', 'paging', 'tables'], `the tables region of ${size} bytes cannot hold ${spec.pageTables.length} root tables`);
  return { start: at, roots, next, end: at + size };
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
