// Paging for the classifier: the machine a generated state runs on with paging on, its page
// tables and TLB, and the relocation φ under paging — the same virtual image in other frames:
//
//   guest frame f  ->  real frame π(f)     in a real memory `delta` bytes larger (the VMM's
//                                          frames hold a fixed filler)
//   every present table entry reachable from PTBR: its frame number f -> π(f)
//   PTBR (and the root's offset in its frame) -> π(frame of PTBR)
//   every valid TLB entry: its frame f -> π(f)
//
// A frame number past guest memory is left as it is (nothing of the guest is there). The PSW
// images in memory are data and keep their guest-physical PTBR, as a VMM leaves them.

import type { MachineSnapshot } from '../../isa/snapshot.js';
import type { MachineConfig } from '../../isa/state.js';
import type { Profile } from '../../isa/profile.js';
import { FRAME_SIZE, imageOfFrames, type MemoryImage, type PhysicalMemory } from '../../mmu/memory.js';
import { createPager } from '../../mmu/paging-unit.js';
import type { Pager } from '../../mmu/pager.js';
import type { TlbState } from '../../mmu/tlb.js';
import { entryBits, GEOMETRIES, hasBits, levelsOf, map, NO_SWITCHES, putPfn, readPfn, roleOf, tableBytes, type Geometry, type MapPerms, type PhysicalBus, type RawEntry } from '../../paging/index.js';

/** The TLB of every paged state: 16 entries, 4 ways (a scenario's default). */
export const PAGING_TLB = { entries: 16, ways: 4 } as const;
/** The geometry `--paging` gives when named without one. */
export const DEFAULT_GEOMETRY = 'x86-32';

/**
 * The preset geometry `name`. Throws RangeError for an unknown name, or a geometry whose page
 * is not the lab's frame (4 KiB): the frame permutation moves whole pages (tiny's 32-byte pages
 * and 4 KiB physical memory cannot hold the classifier's layout either).
 */
export function pagingGeometry(name: string): Geometry {
  const g = Object.hasOwn(GEOMETRIES, name) ? GEOMETRIES[name] : undefined;
  if (!g) throw new RangeError(`classify: unknown geometry '${name}' (presets: ${Object.keys(GEOMETRIES).join(', ')})`);
  if (2 ** g.offsetBits !== FRAME_SIZE || g.vaBits < 16) throw new RangeError(`classify: geometry '${name}' has ${2 ** g.offsetBits}-byte pages and a ${g.vaBits}-bit address space; the classifier needs ${FRAME_SIZE}-byte pages and at least 16 bits (x86-32, sv32, four-level)`);
  return g;
}

/** The machine configuration of a paged state of `p` with `memorySize` bytes. */
export function pagedConfig(p: Profile, memorySize: number, g: Geometry): MachineConfig {
  return { profile: p, memorySize, translation: 'paging', bounds: 'size', pager: (mem: PhysicalMemory): Pager => createPager(mem, { geometry: g, tlb: PAGING_TLB }) };
}

/** A state's mappings: the frame of every virtual page from 0 (-1: unmapped) and its permissions. */
export interface PageMap {
  readonly frames: readonly number[];
  readonly perms: readonly MapPerms[];
}

/**
 * Builds the tables of `pages` into `bus` with the root at frame `tableFrames[0]` and further
 * tables taken from the rest in order; returns the root's address. Throws when they run out.
 */
export function buildTables(g: Geometry, bus: PhysicalBus, pages: PageMap, tableFrames: readonly number[]): number {
  let next = 0;
  const alloc = () => {
    if (next >= tableFrames.length) throw new Error('buildTables: out of table frames');
    return tableFrames[next++] * FRAME_SIZE;
  };
  const root = alloc();
  for (let i = 0; i < FRAME_SIZE; i += 4) bus.write32(root + i, 0);
  pages.frames.forEach((f, v) => {
    if (f >= 0) map(g, bus, root, v * FRAME_SIZE, f * FRAME_SIZE, FRAME_SIZE, pages.perms[v], alloc);
  });
  return root;
}

/** The frame-sized table at `table` as entries (lo, hi): 4- and 8-byte formats (the classifier's geometries). */
function entriesOf(g: Geometry, words: Int32Array, depth: number, visit: (k: number, lo: number, hi: number) => void): void {
  const wide = g.entry.bytes === 8;
  const n = tableBytes(g, depth) / g.entry.bytes;
  const present = entryBits(g.entry);
  for (let k = 0; k < n; k++) {
    const lo = (wide ? words[2 * k] : words[k]) >>> 0;
    const hi = wide ? words[2 * k + 1] >>> 0 : 0;
    if (hasBits(lo, hi, present.presentLo, present.presentHi)) visit(k, lo, hi);
  }
}

/**
 * The frames of the tables reachable from `ptbr` in `memory`, each with its depth (a table
 * named twice, as by a self-map, once, at the first depth it is met); frames not present in
 * the image read as zero, so hold no table entries. A root not at a frame's start (a PTBR
 * some instruction set at random) is left alone: nothing of the guest's is a table there.
 */
function reachableTables(g: Geometry, memory: MemoryImage, ptbr: number): Map<number, number> {
  const tables = new Map<number, number>();
  const visit = (frame: number, depth: number) => {
    if (tables.has(frame) || (frame + 1) * FRAME_SIZE > memory.size) return;
    tables.set(frame, depth);
    const words = memory.frameAt(frame * FRAME_SIZE);
    if (!words || depth + 1 >= levelsOf(g)) return;
    entriesOf(g, words, depth, (_, lo, hi) => {
      if (roleOf(g, lo, hi, depth, NO_SWITCHES) === 'table') visit(readPfn(g.entry, lo, hi), depth + 1);
    });
  };
  if (ptbr % FRAME_SIZE === 0) visit(ptbr / FRAME_SIZE, 0);
  return tables;
}

/** A copy of table `words` at `depth` with the frame number of every table and leaf entry moved by π. */
function movedTable(g: Geometry, words: Int32Array, depth: number, frames: readonly number[]): Int32Array {
  const out = words.slice();
  const e: RawEntry = { lo: 0, hi: 0 };
  entriesOf(g, words, depth, (k, lo, hi) => {
    const role = roleOf(g, lo, hi, depth, NO_SWITCHES);
    const pfn = readPfn(g.entry, lo, hi);
    if ((role !== 'table' && role !== 'leaf') || pfn >= frames.length) return;
    e.lo = lo;
    e.hi = hi;
    putPfn(g.entry, e, frames[pfn]);
    if (g.entry.bytes === 8) {
      out[2 * k] = e.lo;
      out[2 * k + 1] = e.hi;
    } else out[k] = e.lo;
  });
  return out;
}

/** Real frame of guest physical address `pa` under `frames` (π); addresses past guest memory kept. */
function moved(frames: readonly number[], pa: number): number {
  const f = Math.floor(pa / FRAME_SIZE);
  return f < frames.length ? frames[f] * FRAME_SIZE + (pa % FRAME_SIZE) : pa;
}

/** The TLB with every entry's frame moved by π. */
function movedTlb(tlb: TlbState | undefined, frames: readonly number[]): TlbState | undefined {
  return tlb && { ...tlb, entries: tlb.entries.map((e) => ({ ...e, frame: moved(frames, e.frame) })) };
}

/** What the paging relocation does; a sabotage test leaves one part out (permute false: every frame stays where it is). */
export interface FrameMoves {
  readonly permute: boolean;
  readonly tables: boolean;
  readonly tlb: boolean;
  readonly ptbr: boolean;
}
export const ALL_MOVES: FrameMoves = { permute: true, tables: true, tlb: true, ptbr: true };

/**
 * The relocated twin under paging: guest frame f at real frame `frames[f]` of a memory `delta`
 * bytes larger (the others the VMM's `filler`), the tables reachable from PTBR, PTBR itself and
 * the TLB's frames rewritten to match (see the header).
 */
export function permuted(g: Geometry, s: MachineSnapshot, pi: readonly number[], delta: number, filler: (fn: number) => Int32Array, moves: FrameMoves = ALL_MOVES): MachineSnapshot {
  const frames = moves.permute ? pi : pi.map((_, i) => i);
  const size = s.memory.size + delta;
  const used = new Set(frames);
  const tables = moves.tables ? reachableTables(g, s.memory, s.psw.ptbr) : new Map<number, number>();
  const out: [number, Int32Array][] = [];
  for (let fn = 0; fn < size / FRAME_SIZE; fn++) if (!used.has(fn)) out.push([fn, filler(fn)]);
  frames.forEach((to, from) => {
    const words = s.memory.frameAt(from * FRAME_SIZE);
    const depth = tables.get(from);
    if (words) out.push([to, depth === undefined ? words : movedTable(g, words, depth, frames)]);
  });
  const ptbr = moves.ptbr ? moved(frames, s.psw.ptbr) : s.psw.ptbr;
  return { ...s, psw: { ...s.psw, ptbr }, memory: imageOfFrames(size, out), tlb: moves.tlb ? movedTlb(s.tlb, frames) : s.tlb };
}
