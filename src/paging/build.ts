// Table builders: map and unmap ranges in any geometry (xv6's mappages/uvmunmap). Used by
// scenario loading (declarative mappings) and tests. Table pages come from a callback.
//
// Pointer entries are created with the most permissive bits of the rule set (x86: P|RW|US;
// RISC-V and valid-only: V), so the leaf decides; existing pointer entries are left as they are.
// Permissions a format cannot express are ignored (tiny has none; x86-32 has no NX).

import { NO_SWITCHES, type PhysicalBus, type Switches } from './bus.js';
import { encodeEntry, readEntry, readPfn, writeEntry, type Flag, type RawEntry } from './formats.js';
import { indexAt, inVaSpace, levelsOf, pageBitsAt, tableBytes, type Geometry } from './geometry.js';
import { roleOf } from './rules.js';

export interface MapPerms {
  /** default true (RISC-V R; x86 pages are always readable) */
  readonly read?: boolean;
  /** default false */
  readonly write?: boolean;
  /** default true (x86: NX clear; RISC-V: X set) */
  readonly exec?: boolean;
  /** default false */
  readonly user?: boolean;
  readonly global?: boolean;
  /** preset A and D (default clear) */
  readonly accessed?: boolean;
  readonly dirty?: boolean;
  /** use large pages where the format allows and va, pa and size are aligned (default false) */
  readonly large?: boolean;
}

/** Returns the physical address of a fresh page-aligned frame for a table (the builder zeroes it). */
export type AllocTable = () => number;

const POINTER_FLAGS: Readonly<Record<Geometry['rules'], Partial<Record<Flag, boolean>>>> = {
  x86: { present: true, writable: true, user: true },
  riscv: { present: true },
  'valid-only': { present: true },
};

/** Switches for classifying existing entries: NX is a permission, not a reserved bit. */
const BUILD_SWITCHES: Switches = { ...NO_SWITCHES, nxe: true };

/**
 * Maps [va, va + size) to [pa, pa + size) with `perms`, allocating missing tables with
 * `allocTable`. va, pa and size must be page-aligned. Existing leaves are overwritten; throws
 * when the range runs into a large page or a large page would replace a table.
 */
export function map(g: Geometry, bus: PhysicalBus, ptbr: number, va: number, pa: number, size: number, perms: MapPerms, allocTable: AllocTable): void {
  checkRange('map', g, va, size, pa);
  for (let off = 0; off < size; ) {
    const depth = leafDepthFor(g, va + off, pa + off, size - off, perms.large ?? false);
    const slot = descend(g, bus, ptbr, va + off, depth, allocTable);
    if (slot.depth !== depth) throw new Error(`map: va 0x${hex(va + off)} lies inside a large page at depth ${slot.depth}`);
    if (slot.present && depth < levelsOf(g) - 1 && !slot.leaf) {
      throw new Error(`map: a large page at va 0x${hex(va + off)} would replace a table at depth ${depth}`);
    }
    writeEntry(g.entry, bus, slot.address, leafEntry(g, pa + off, depth, perms));
    off += 2 ** pageBitsAt(g, depth);
  }
}

/**
 * Clears the leaves that map [va, va + size) (page-aligned); unmapped pages are skipped.
 * Throws when the range covers part of a large page. Table pages are not freed.
 */
export function unmap(g: Geometry, bus: PhysicalBus, ptbr: number, va: number, size: number): void {
  checkRange('unmap', g, va, size, 0);
  for (let off = 0; off < size; ) {
    const slot = descend(g, bus, ptbr, va + off, levelsOf(g) - 1, undefined);
    const pageSize = 2 ** pageBitsAt(g, slot.depth);
    if (!slot.present) {
      off += pageSize - ((va + off) % pageSize);
      continue;
    }
    if ((va + off) % pageSize !== 0 || off + pageSize > size) {
      throw new Error(`unmap: range covers part of the large page at depth ${slot.depth} holding va 0x${hex(va + off)}`);
    }
    writeEntry(g.entry, bus, slot.address, { lo: 0, hi: 0 });
    off += pageSize;
  }
}

/**
 * The address of the last-level entry for `va` (a base page), creating missing tables with
 * `allocTable`; without it, -1 when a table on the way is missing. Throws when a large page
 * covers `va` (callers that manage base pages only, like shadow tables, never make one).
 */
export function leafAddress(g: Geometry, bus: PhysicalBus, ptbr: number, va: number, allocTable?: AllocTable): number {
  const last = levelsOf(g) - 1;
  const slot = descend(g, bus, ptbr, va, last, allocTable);
  if (slot.depth === last) return slot.address;
  if (slot.leaf) throw new Error(`leafAddress: va 0x${hex(va)} lies inside a large page at depth ${slot.depth}`);
  return -1;
}

/** Where a descent stopped: the entry's address and depth, whether present and a leaf. */
interface Slot {
  readonly address: number;
  readonly depth: number;
  readonly present: boolean;
  readonly leaf: boolean;
}

/**
 * Descends from the root toward `target` depth for `va`. With `alloc`, missing tables are
 * created; without, the descent stops at the first entry that is not present. It also stops
 * at a leaf above `target`. Throws on an entry that would fault as reserved.
 */
function descend(g: Geometry, bus: PhysicalBus, ptbr: number, va: number, target: number, alloc: AllocTable | undefined): Slot {
  const e: RawEntry = { lo: 0, hi: 0 };
  let table = ptbr - (ptbr % g.entry.bytes);
  for (let depth = 0; ; depth++) {
    const address = table + indexAt(g, va, depth) * g.entry.bytes;
    readEntry(g.entry, bus, address, e);
    const role = roleOf(g, e.lo, e.hi, depth, BUILD_SWITCHES);
    const present = role !== 'invalid';
    if (role !== 'table' && role !== 'leaf' && role !== 'invalid') throw new Error(`descend: entry at 0x${hex(address)} is ${role}`);
    if (depth === target || role === 'leaf' || (role === 'invalid' && !alloc)) return { address, depth, present, leaf: role === 'leaf' };
    if (role === 'invalid') {
      Object.assign(e, newTable(g, bus, depth + 1, alloc!));
      writeEntry(g.entry, bus, address, e);
    }
    table = readPfn(g.entry, e.lo, e.hi) * 2 ** g.offsetBits;
  }
}

/** Allocates and zeroes a table for `depth`; returns the pointer entry to it. */
function newTable(g: Geometry, bus: PhysicalBus, depth: number, alloc: AllocTable): RawEntry {
  const base = alloc();
  if (base % 2 ** g.offsetBits !== 0 || base + tableBytes(g, depth) > bus.size) {
    throw new Error(`newTable: allocated table at 0x${hex(base)} is not a page inside memory`);
  }
  for (let i = 0; i < tableBytes(g, depth); i++) bus.write8(base + i, 0);
  return encodeEntry(g.entry, frameNumber(g, base), POINTER_FLAGS[g.rules]);
}

/** The leaf entry mapping frame `pa` at `depth` with `perms` (the builders', and shadow tables'). */
export function leafEntry(g: Geometry, pa: number, depth: number, perms: MapPerms): RawEntry {
  const read = perms.read ?? true;
  const write = perms.write ?? false;
  const exec = perms.exec ?? true;
  if (g.rules === 'riscv' && !(read || exec)) throw new Error('leafEntry: a RISC-V leaf needs R or X (W without R is reserved)');
  return encodeEntry(g.entry, frameNumber(g, pa), {
    present: true,
    readable: read,
    writable: write,
    executable: exec,
    noExecute: !exec,
    user: perms.user ?? false,
    global: perms.global ?? false,
    accessed: perms.accessed ?? false,
    dirty: perms.dirty ?? false,
    pageSize: depth < levelsOf(g) - 1,
  });
}

/** The shallowest depth whose page fits at (va, pa) within `size`: a large page when asked and allowed. */
function leafDepthFor(g: Geometry, va: number, pa: number, size: number, large: boolean): number {
  if (large) {
    for (const depth of [...g.largePageDepths].sort((a, b) => a - b)) {
      const page = 2 ** pageBitsAt(g, depth);
      if (va % page === 0 && pa % page === 0 && size >= page) return depth;
    }
  }
  return levelsOf(g) - 1;
}

/** Alignment and VA-space checks shared by map and unmap. */
function checkRange(fn: string, g: Geometry, va: number, size: number, pa: number): void {
  const page = 2 ** g.offsetBits;
  if (va % page !== 0 || size % page !== 0 || pa % page !== 0) {
    throw new Error(`${fn}: va 0x${hex(va)}, pa 0x${hex(pa)} and size ${size} must be multiples of the ${page}-byte page`);
  }
  if (size < 0 || !inVaSpace(g, va) || va + size > 2 ** g.vaBits) {
    throw new Error(`${fn}: [0x${hex(va)}, 0x${hex(va + size)}) is outside the ${g.vaBits}-bit VA space`);
  }
}

/** The frame number of page-aligned `pa`; throws when it does not fit the PFN field. */
function frameNumber(g: Geometry, pa: number): number {
  const pfn = pa / 2 ** g.offsetBits;
  if (pfn >= 2 ** g.entry.pfnBits) throw new Error(`frameNumber: frame 0x${hex(pa)} does not fit the ${g.entry.pfnBits}-bit PFN field`);
  return pfn;
}

function hex(x: number): string {
  return x.toString(16);
}
