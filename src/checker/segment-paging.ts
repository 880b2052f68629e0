// Differential check 1 (README, --compare segment): paging with a contiguous mapping of [0, L) at B behaves like
// the segment machine with (B, L), over the user program.
//
// The segment machine runs the whole scenario. Every stretch it spends in a user mode (from the
// instruction that enters it to the trap that leaves it) is re-run on a paging twin started
// from a snapshot of the same state: same memory (shared copy-on-write), registers, PC, timer;
// translation 'paging' with PG set and PTBR pointing at fresh tables (beyond the segment
// machine's memory, so no guest can see them) that map [0, L) to [B, B + L). Both machines
// step in lockstep and must agree after every instruction on registers, PC, mode, console,
// timer and the physical address and kind of every data access (memory then agrees too, since
// both start from the same image; it is compared whole at the end of each stretch). A bounds
// trap on the segment machine must meet a page fault on the twin at the same instruction, with
// the same faulting address (or a bounds trap, for addresses beyond the geometry's VA width);
// any other trap must be the same trap. Stretches whose (B, L) are
// not page multiples cannot be mapped this way and are counted as skipped.

import { Cause, LOW_MEMORY_END, SLOT_OLD_PSW, ST_MODE_MASK, ST_PG } from '../isa/arch.js';
import type { Machine, TrapEvent } from '../isa/machine.js';
import { restore, snapshot, type MachineSnapshot } from '../isa/snapshot.js';
import { createPager } from '../mmu/paging-unit.js';
import { levelsOf, map, pageBitsAt, tableBytes, type Geometry } from '../paging/index.js';

export interface PagingTwinOptions {
  readonly geometry: Geometry;
  readonly tlb?: { readonly entries: number; readonly ways: number };
  /** fault injection for the checker's own tests: called on every twin before its stretch */
  readonly mutateTwin?: (twin: Machine) => void;
}

export interface SegmentPagingDifference {
  /** instructions retired when the machines disagreed */
  readonly retired: number;
  readonly pc: number;
  readonly field: string;
  readonly segment: unknown;
  readonly paging: unknown;
  readonly segmentState: MachineSnapshot;
  readonly pagingState: MachineSnapshot;
}

export interface SegmentPagingResult {
  /** no difference found, and at least one stretch was compared (nothing compared is not a pass) */
  readonly holds: boolean;
  readonly geometry: string;
  /** user stretches compared in lockstep */
  readonly stretches: number;
  /** instructions executed in lockstep */
  readonly instructions: number;
  /** stretches ending in a bounds trap matched by a page fault at the same instruction */
  readonly boundsMatched: number;
  /** stretches that could not be mapped (B or L not page multiples, or no room for tables) */
  readonly skipped: number;
  readonly skipReasons: readonly string[];
  readonly firstDifference?: SegmentPagingDifference;
}

/**
 * Runs segment machine `m` (mode `segment`) for at most `budget` instructions retired,
 * comparing each user-mode stretch with its paging twin. `m` is left in its final state.
 */
export function compareSegmentWithPaging(m: Machine, budget: number, opts: PagingTwinOptions): SegmentPagingResult {
  if (m.config.translation !== 'segment') throw new Error('compareSegmentWithPaging: the machine must use segment translation');
  const stop = m.retired + budget;
  const tally: Tally = { stretches: 0, instructions: 0, boundsMatched: 0, skipped: 0, skipReasons: new Set<string>() };
  m.tracing = true;
  try {
    while (m.running && m.retired < stop) {
      if ((m.status & ST_MODE_MASK) === 0) {
        m.step();
        continue;
      }
      const reason = unmappable(m, opts.geometry);
      if (reason) {
        tally.skipped++;
        tally.skipReasons.add(reason);
        runWhileUser(m, stop);
        continue;
      }
      tally.stretches++;
      const twin = twinOf(m, opts);
      opts.mutateTwin?.(twin);
      const d = lockstep(m, twin, stop, tally);
      if (d) return result(false, opts, tally, d);
    }
  } finally {
    m.tracing = false;
  }
  return result(true, opts, tally);
}

/** The counts a comparison accumulates (the result's figures, skip reasons as a set). */
interface Tally {
  stretches: number;
  instructions: number;
  boundsMatched: number;
  skipped: number;
  readonly skipReasons: Set<string>;
}

function result(holds: boolean, opts: PagingTwinOptions, t: Tally, d?: SegmentPagingDifference): SegmentPagingResult {
  return { holds: holds && t.stretches > 0, geometry: opts.geometry.name, stretches: t.stretches, instructions: t.instructions, boundsMatched: t.boundsMatched, skipped: t.skipped, skipReasons: [...t.skipReasons], ...(d ? { firstDifference: d } : {}) };
}

/** Why the current (B, L) cannot be mapped by pages, or undefined. */
function unmappable(m: Machine, g: Geometry): string | undefined {
  const page = 2 ** g.offsetBits;
  const { base, limit } = m;
  const size = m.config.bounds === 'end' ? limit - base : limit;
  if (base % page !== 0 || size % page !== 0) return `B or L not a multiple of the ${page}-byte page`;
  if (size > 2 ** g.vaBits) return `L exceeds the ${g.vaBits}-bit virtual address space`;
  const end = Math.ceil(m.mem.size / page) * page + tableSpace(g, size);
  if (end > 2 ** 32) return "no room for the twin's page tables";
  if (end / page > 2 ** g.entry.pfnBits) return `memory and tables exceed the ${g.entry.pfnBits}-bit frame numbers of '${g.name}'`;
  return undefined;
}

function runWhileUser(m: Machine, stop: number): void {
  while (m.running && m.retired < stop && (m.status & ST_MODE_MASK) !== 0) m.step();
}

/** Bytes of one table slot as the twin allocates them (the largest table, page-rounded). */
function tableSlot(g: Geometry): number {
  const page = 2 ** g.offsetBits;
  return Math.ceil(Math.max(...g.indexBits.map((_, d) => tableBytes(g, d))) / page) * page;
}

/** Bytes of table slots needed to map [0, size): at each depth, the tables covering it. */
function tableSpace(g: Geometry, size: number): number {
  let tables = 0;
  for (let d = 0; d < levelsOf(g); d++) tables += Math.max(1, Math.ceil(size / 2 ** (pageBitsAt(g, d) + g.indexBits[d])));
  return tables * tableSlot(g);
}

/**
 * The paging twin of `m` in its current state: memory shared copy-on-write, extended by a
 * table area past the end of `m`'s memory, where [0, L) is mapped to [B, B + L) for user access.
 */
export function twinOf(m: Machine, opts: PagingTwinOptions): Machine {
  const g = opts.geometry;
  const page = 2 ** g.offsetBits;
  const size = m.config.bounds === 'end' ? m.limit - m.base : m.limit;
  const tablesAt = Math.ceil(m.mem.size / page) * page;
  const s = snapshot(m);
  const twin = restore(s, {
    profile: m.profile,
    memorySize: tablesAt + tableSpace(g, size),
    translation: 'paging',
    bounds: m.config.bounds,
    trapSwitchesAddressSpace: m.config.trapSwitchesAddressSpace,
    pager: (mem) => createPager(mem, { geometry: g, tlb: opts.tlb ?? { entries: 16, ways: 4 } }),
  });
  let next = tablesAt;
  const alloc = () => {
    const a = next;
    next += tableSlot(g);
    return a;
  };
  const root = alloc();
  if (size > 0) map(g, twin.mem, root, 0, m.base, size, { read: true, write: true, exec: true, user: true }, alloc);
  twin.loadPsw({ ...s.psw, status: s.psw.status | ST_PG, ptbr: root });
  twin.trapEntry = s.trapEntry;
  twin.tracing = true;
  return twin;
}

/**
 * Steps `m` and `twin` together until `m` leaves user mode by a trap (matched on the twin), stops,
 * or reaches `stop`. Returns the first disagreement, or undefined.
 */
function lockstep(m: Machine, twin: Machine, stop: number, tally: Tally): SegmentPagingDifference | undefined {
  for (;;) {
    const pc = m.pc;
    const before = { seg: m.lastTrap, pag: twin.lastTrap };
    m.lastDataVa = twin.lastDataVa = -1;
    m.step();
    twin.step();
    tally.instructions++;
    const segTrap = m.lastTrap !== before.seg ? m.lastTrap : undefined;
    const pagTrap = twin.lastTrap !== before.pag ? twin.lastTrap : undefined;
    const diff = (field: string, a: unknown, b: unknown) => ({ retired: m.retired, pc, field, segment: a, paging: b, segmentState: snapshot(m), pagingState: snapshot(twin) });
    if (segTrap || pagTrap) {
      const d = matchTraps(segTrap, pagTrap);
      if (d) return diff(d.field, d.segment, d.paging);
      if (segTrap!.cause === Cause.Bounds) tally.boundsMatched++;
      // The trap wrote each machine's own old PSW (PG, PTBR) and cause into low memory.
      twin.mem.writeBytes(SLOT_OLD_PSW, m.mem.readBytes(SLOT_OLD_PSW, LOW_MEMORY_END - SLOT_OLD_PSW));
      return compareMemory(m, twin, diff);
    }
    const d = stepDifference(m, twin);
    if (d) return diff(d.field, d.segment, d.paging);
    if (!m.running || m.retired >= stop || (m.status & ST_MODE_MASK) === 0) return compareMemory(m, twin, diff);
  }
}

/**
 * A bounds trap meets a page fault (or a bounds trap: an address beyond the geometry's VA width,
 * e.g. 2^15 on `tiny`); every other trap meets itself; same instruction and address.
 */
function matchTraps(seg: TrapEvent | undefined, pag: TrapEvent | undefined): { field: string; segment: unknown; paging: unknown } | undefined {
  if (!seg || !pag) return { field: 'trap', segment: seg?.cause ?? 'none', paging: pag?.cause ?? 'none' };
  const accepted = seg.cause === Cause.Bounds ? [Cause.PageFault, Cause.Bounds] : [seg.cause];
  if (!accepted.includes(pag.cause)) return { field: 'trap.cause', segment: seg.cause, paging: pag.cause };
  if (seg.savedPc !== pag.savedPc) return { field: 'trap.savedPc', segment: seg.savedPc, paging: pag.savedPc };
  if (seg.vaddr !== pag.vaddr) return { field: 'trap.vaddr', segment: seg.vaddr, paging: pag.vaddr };
  if (seg.detail !== pag.detail) return { field: 'trap.detail', segment: seg.detail, paging: pag.detail };
  return undefined;
}

/** Registers, PC, mode, console (its count and hash: comparing the text at every step would cost its length), timer and the data access of the last step. */
function stepDifference(a: Machine, b: Machine): { field: string; segment: unknown; paging: unknown } | undefined {
  const r = a.regs.findIndex((v, i) => v !== b.regs[i]);
  if (r >= 0) return { field: `regs.${r}`, segment: a.regs[r], paging: b.regs[r] };
  const pairs: [string, unknown, unknown][] = [
    ['pc', a.pc, b.pc],
    ['mode', a.status & ST_MODE_MASK, b.status & ST_MODE_MASK],
    ['console.written', a.consoleWritten, b.consoleWritten],
    ['console.hash', a.consoleHash, b.consoleHash],
    ['timer.count', a.timerCount, b.timerCount],
    ['timer.pending', a.timerPending, b.timerPending],
    ['retired', a.retired, b.retired],
    ['data.va', a.lastDataVa, b.lastDataVa],
    ['data.pa', a.lastDataVa < 0 ? -1 : a.lastDataPa, b.lastDataVa < 0 ? -1 : b.lastDataPa],
    ['data.access', a.lastDataVa < 0 ? -1 : a.lastDataAccess, b.lastDataVa < 0 ? -1 : b.lastDataAccess],
  ];
  const p = pairs.find(([, x, y]) => x !== y);
  return p && { field: p[0], segment: p[1], paging: p[2] };
}

/** Whole-memory comparison at the end of a stretch (the twin's extra table area excluded). */
function compareMemory(m: Machine, twin: Machine, diff: (f: string, a: unknown, b: unknown) => SegmentPagingDifference): SegmentPagingDifference | undefined {
  const at = m.mem.firstDifference(twin.mem);
  return at >= 0 ? diff(`memory[0x${at.toString(16)}]`, m.mem.read8(at), twin.mem.read8(at)) : undefined;
}
