// The paging guests of `verify --paging`: the same kernel and process as the segment guests
// (generate.ts), on a machine with paging hardware (a preset geometry with 4 KiB pages, the
// classifier's 16-entry 4-way TLB). The kernel starts with paging off, writes its page tables
// and its process's word by word (the entries the lab's table builder `map` makes), sets PTBR,
// and turns paging on with an lpsw; every trap then runs it paged in its own table (the trap
// vector's PSW has PG on and the kernel's root), and the process runs in its own table.
//
// Guest-physical layout (PAGING_VMSIZE bytes, 4 KiB frames):
//
//   frame 0       the kernel (vector, boot, handler, data), as on the segment machine
//   frame 1       the process's code (USER_BASE)          frame 2  the process's data page
//   frame 3       free                                      frames 4..  the page tables
//
//   kernel table   [0, PAGING_VMSIZE) identity, supervisor, read-write-execute (tables included)
//   process table  va 0 -> frame 1 (user rwx), va 0x1000 -> frame 2 (user rw),
//                  va 0x2000 -> frame 0 (the kernel's page, supervisor only: the process faults)

import { FRAME_SIZE, PhysicalMemory } from '../../mmu/memory.js';
import { map, type Geometry, type MapPerms } from '../../paging/index.js';
import type { MachineConfig } from '../../isa/state.js';
import type { Profile } from '../../isa/profile.js';
import type { TlbConfig } from '../../mmu/tlb.js';
import { PAGING_TLB, pagedConfig, pagingGeometry } from '../classify/paging.js';

/** Guest-physical memory of a paging guest: 16 frames. */
export const PAGING_VMSIZE = 0x10000;
/** The first frame the tables are built in. */
const FIRST_TABLE_FRAME = 4;

/** Where a paging guest's tables lie and what the kernel writes to build them. */
export interface PagingLayout {
  readonly geometry: Geometry;
  /** guest-physical roots of the kernel's and the process's tables */
  readonly kernelRoot: number;
  readonly userRoot: number;
  /** the non-zero words of the tables, (guest-physical address, value), in address order */
  readonly words: readonly (readonly [number, number])[];
  /** operand values worth drawing: the roots, the process's pages, the tables' entries (to write elsewhere) */
  readonly values: readonly number[];
  /** the addresses of the tables' entries, as memory operands (to rewrite them) */
  readonly entryAddresses: readonly number[];
}

const layouts = new Map<string, PagingLayout>();

/**
 * The layout of geometry `name` for a process at `userBase` (its code page, then its data page).
 * Throws RangeError for a geometry the classifier refuses (pagingGeometry: not 4 KiB pages).
 */
export function pagingLayout(name: string, userBase: number): PagingLayout {
  const key = `${name}@${userBase}`;
  const known = layouts.get(key);
  if (known) return known;
  const g = pagingGeometry(name);
  const mem = new PhysicalMemory(PAGING_VMSIZE);
  let next = FIRST_TABLE_FRAME;
  const alloc = () => {
    if ((next + 1) * FRAME_SIZE > PAGING_VMSIZE) throw new Error(`pagingLayout: the tables of ${name} do not fit in ${PAGING_VMSIZE} bytes`);
    return next++ * FRAME_SIZE;
  };
  const kernelRoot = alloc();
  const kernel: MapPerms = { write: true, exec: true };
  map(g, mem, kernelRoot, 0, 0, PAGING_VMSIZE, kernel, alloc);
  const userRoot = alloc();
  map(g, mem, userRoot, 0, userBase, FRAME_SIZE, { write: true, exec: true, user: true }, alloc);
  map(g, mem, userRoot, FRAME_SIZE, userBase + FRAME_SIZE, FRAME_SIZE, { write: true, user: true }, alloc);
  map(g, mem, userRoot, 2 * FRAME_SIZE, 0, FRAME_SIZE, { exec: false }, alloc);
  const words: [number, number][] = [];
  for (let a = FIRST_TABLE_FRAME * FRAME_SIZE; a < next * FRAME_SIZE; a += 4) {
    const v = mem.read32(a);
    if (v !== 0) words.push([a, v]);
  }
  const values = [kernelRoot, userRoot, 0, FRAME_SIZE, 2 * FRAME_SIZE, ...words.map(([, v]) => v)];
  const out = { geometry: g, kernelRoot, userRoot, words, values, entryAddresses: words.map(([at]) => at) };
  layouts.set(key, out);
  return out;
}

/** The kernel's first lines with paging off: its tables written (r10), PTBR set, paging on with `lpsw kpsw` (then at `paged`). */
export function pagingPrologue(l: PagingLayout, at: (a: number) => string): string[] {
  const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;
  return [...l.words.flatMap(([a, v]) => [`li r10, ${hex(v)}`, `st r10, ${at(a)}`]), `li r10, ${hex(l.kernelRoot)}`, 'setptbr r10', 'lpsw kpsw', 'paged:'];
}

/** The guest machine of a paging guest of `p`, and its paging hardware as data (what nested and shadow paging size their hosts by). */
export function pagingMachine(p: Profile, l: PagingLayout): { config: MachineConfig; paging: { geometry: Geometry; tlb: TlbConfig } } {
  return { config: pagedConfig(p, PAGING_VMSIZE, l.geometry), paging: { geometry: l.geometry, tlb: PAGING_TLB } };
}
