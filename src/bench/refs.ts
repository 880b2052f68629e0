// The counted reference table of `shadowlab bench`: memory references per TLB miss for native
// walks and nested walks, 2, 3 and 4 guest levels over 2, 3 and 4 host levels. Every figure is
// what the walker counted on a full miss through tables built in memory (no TLB, cold), never a
// formula: for n guest and m host levels it should come out as (n+1)(m+1)-1.

import { Access } from '../mmu/fault.js';
import { PhysicalMemory } from '../mmu/memory.js';
import { createPager } from '../mmu/paging-unit.js';
import { FORMATS, GEOMETRIES, map, type Geometry } from '../paging/index.js';

/**
 * A three-level row for the table (PAE's split: 2/9/9 + 12, 8-byte entries at x86-64
 * positions, 2 MiB large pages at depth 1): one more data row for the one walker.
 */
export const THREE_LEVEL: Geometry = Object.freeze({
  name: 'three-level',
  vaBits: 32,
  indexBits: [2, 9, 9],
  offsetBits: 12,
  entry: FORMATS['four-level'],
  rules: 'x86',
  largePageDepths: [1],
});

/** The geometries of the table's rows and columns, by level count. */
export const REF_GEOMETRIES: readonly Geometry[] = [GEOMETRIES['x86-32'], THREE_LEVEL, GEOMETRIES['four-level']];

export interface RefsRow {
  readonly guestLevels: number;
  readonly guest: string;
  /** references of a native (one-stage) miss */
  readonly native: number;
  /** references of a nested miss over each host geometry */
  readonly nested: readonly { readonly hostLevels: number; readonly host: string; readonly refs: number }[];
}

const GUEST_BASE = 16 << 20;
const GUEST_SIZE = 8 << 20;
const VA = 0x00401234;

/** One row per guest geometry of REF_GEOMETRIES, a column per host geometry. */
export function countRefs(): RefsRow[] {
  return REF_GEOMETRIES.map((guest) => ({
    guestLevels: guest.indexBits.length,
    guest: guest.name,
    native: missRefs(guest),
    nested: REF_GEOMETRIES.map((host) => ({ hostLevels: host.indexBits.length, host: host.name, refs: missRefs(guest, host) })),
  }));
}

/**
 * The references the walker counts for one full miss at VA: guest tables mapping VA to a 4 KiB
 * page, in guest-physical memory [0, GUEST_SIZE) placed at GUEST_BASE by a host table of
 * `host` (4 KiB pages, so every stage-2 walk reaches the last level), or native without `host`.
 */
function missRefs(guest: Geometry, host?: Geometry): number {
  const mem = new PhysicalMemory(32 << 20);
  const guestMemory = host ? mem.window(GUEST_BASE, GUEST_SIZE) : mem;
  const root = buildTables(guest, guestMemory, 0x100000);
  const stage2 = host && { geometry: host, root: buildTables(host, mem, 0x1000, GUEST_BASE, GUEST_SIZE), guestSize: GUEST_SIZE };
  const pager = createPager(mem, { geometry: guest, tlb: { entries: 0, ways: 1 }, stage2 });
  pager.setRoot(root);
  if (pager.translate(VA, Access.Read, true) < 0) throw new Error(`countRefs: ${guest.name}${host ? ` over ${host.name}` : ''} faulted (${pager.fault.kind})`);
  return pager.counters().lastWalkRefs;
}

/**
 * Tables of `g` in `bus` from `tablesAt` up: VA's page to 0x200000 (the guest's), or with
 * `size` the identity-plus-`offset` map of [0, size) (the host's). Returns the root.
 */
function buildTables(g: Geometry, bus: PhysicalMemory, tablesAt: number, offset = 0, size = 0): number {
  let next = tablesAt;
  const alloc = () => (next += 2 ** g.offsetBits) - 2 ** g.offsetBits;
  const root = alloc();
  const perms = { write: true, user: true };
  if (size > 0) map(g, bus, root, 0, offset, size, perms, alloc);
  else map(g, bus, root, VA - (VA % 4096), 0x200000, 4096, perms, alloc);
  return root;
}
