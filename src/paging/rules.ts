// Permission rules per architecture, as one row per rule set: how a present entry is classified
// (table, leaf or a fault), how entries fold into the combined permissions of a translation,
// and which accesses those permissions allow. The walker and the TLB use nothing else.
//
// Combined permissions are a small bit set (PERM_*), independent of the switches, so a TLB can
// cache them and re-check an access against the switches in force.

import { FETCH, READ, WRITE, type AccessKind, type Switches, type WalkFaultKind } from './bus.js';
import { hasReservedBits, testBit, type EntryFormat, type FlagPositions } from './formats.js';
import { levelsOf, misalignedBits, type Geometry, type RuleSet } from './geometry.js';

export const PERM_READ = 1;
export const PERM_WRITE = 2;
export const PERM_EXEC = 4;
/** user-accessible (x86: U at every level; RISC-V: a U page) */
export const PERM_USER = 8;
/** the leaf's dirty bit is set (or the format has none) */
export const PERM_DIRTY = 16;
export const PERM_VALUES = 32;

/** What a present entry is at its depth, or the fault it raises. */
export type EntryRole = 'table' | 'leaf' | Exclude<WalkFaultKind, 'protection' | 'bounds'>;

export interface Rules {
  /** combined permissions before the first entry */
  readonly initial: number;
  /** classifies a present entry (lo, hi) at `depth`; `pos` = flagPositions(g.entry) */
  classify(g: Geometry, pos: FlagPositions, lo: number, hi: number, depth: number, sw: Switches): EntryRole;
  /** folds a table entry into the combined permissions */
  foldTable(pos: FlagPositions, perms: number, lo: number, hi: number): number;
  /** folds the leaf entry into the combined permissions (PERM_DIRTY is the walker's) */
  foldLeaf(pos: FlagPositions, perms: number, lo: number, hi: number): number;
  /** whether `perms` allow `access` in user or supervisor mode under `sw` */
  permits(perms: number, access: AccessKind, user: boolean, sw: Switches): boolean;
  /** whether a successful walk sets A in the table entries it used, not only in the leaf */
  readonly accessedInTables: boolean;
  /**
   * Whether fetches are checked against execute permissions for entries of format `f` under
   * `sw`; only then does a fault on a fetch say so (the error code's I/D bit).
   */
  checksFetches(f: EntryFormat, sw: Switches): boolean;
}

/**
 * x86: reserved bits and NX-while-NXE-off are reserved faults; PS makes a leaf at a large-page
 * depth (its frame bits below the page size, PAT excepted, are reserved), is PAT (ignored) at
 * the last level and reserved elsewhere. U and W must hold at every level; NX at any level
 * forbids fetches. A is set in every entry used. Fetches are checked only in a format with an
 * NX bit while NXE = 1 (the SDM's condition for the I/D bit: never under 32-bit paging).
 */
const X86: Rules = {
  initial: PERM_READ | PERM_WRITE | PERM_EXEC | PERM_USER,
  classify(g, pos, lo, hi, depth, sw) {
    if (hasReservedBits(g.entry, lo, hi)) return 'reserved';
    if (!sw.nxe && testBit(lo, hi, pos.noExecute)) return 'reserved';
    return classifyByPageSize(g, pos, lo, hi, depth);
  },
  foldTable: foldX86,
  foldLeaf: foldX86,
  permits(perms, access, user, sw) {
    if (user && !(perms & PERM_USER)) return false;
    if (access === WRITE && !(perms & PERM_WRITE) && (user || sw.wp)) return false;
    return access !== FETCH || (perms & PERM_EXEC) !== 0;
  },
  accessedInTables: true,
  checksFetches: (f, sw) => sw.nxe && f.flags.noExecute !== undefined,
};

function foldX86(pos: FlagPositions, perms: number, lo: number, hi: number): number {
  if (!testBit(lo, hi, pos.writable)) perms &= ~PERM_WRITE;
  if (!testBit(lo, hi, pos.user)) perms &= ~PERM_USER;
  if (testBit(lo, hi, pos.noExecute)) perms &= ~PERM_EXEC;
  return perms;
}

/**
 * Leaf when PS is set at a large-page depth with an aligned frame, or at the last level; PS
 * elsewhere, or a misaligned large frame, is reserved.
 */
function classifyByPageSize(g: Geometry, pos: FlagPositions, lo: number, hi: number, depth: number): EntryRole {
  const last = depth === levelsOf(g) - 1;
  if (last) return 'leaf';
  if (!testBit(lo, hi, pos.pageSize)) return 'table';
  const large = g.largePageDepths.includes(depth) && misalignedBits(g, lo, hi, depth) === 0;
  return large ? 'leaf' : 'reserved';
}

/**
 * RISC-V: W without R is reserved, and so are A, D and U in a pointer (R = X = 0: the
 * privileged spec reserves them in non-leaf entries and faults on reserved bits); a leaf has
 * R, W or X; a pointer at the last level is a page fault (a misaligned superpage too, found by
 * the walker after the permission check, in the privileged spec's order). Only the leaf's
 * R/W/X/U count. Supervisor reaches U pages only with SUM, and never executes them; user
 * reaches only U pages. A and D are set in the leaf only. Fetches always need X (RISC-V
 * reports them with a cause of their own).
 */
const RISCV: Rules = {
  initial: 0,
  classify(g, pos, lo, hi, depth) {
    if (hasReservedBits(g.entry, lo, hi)) return 'reserved';
    const r = testBit(lo, hi, pos.readable);
    if (!r && testBit(lo, hi, pos.writable)) return 'reserved';
    const leaf = r || testBit(lo, hi, pos.executable);
    const last = depth === levelsOf(g) - 1;
    if (!leaf) return reservedInPointer(pos, lo, hi) ? 'reserved' : last ? 'page' : 'table';
    return last || g.largePageDepths.includes(depth) ? 'leaf' : 'reserved';
  },
  foldTable: (_f, perms) => perms,
  foldLeaf(pos, _perms, lo, hi) {
    return (
      (testBit(lo, hi, pos.readable) ? PERM_READ : 0) |
      (testBit(lo, hi, pos.writable) ? PERM_WRITE : 0) |
      (testBit(lo, hi, pos.executable) ? PERM_EXEC : 0) |
      (testBit(lo, hi, pos.user) ? PERM_USER : 0)
    );
  },
  permits(perms, access, user, sw) {
    if (user && !(perms & PERM_USER)) return false;
    if (!user && perms & PERM_USER && (access === FETCH || !sw.sum)) return false;
    const need = access === READ ? PERM_READ : access === WRITE ? PERM_WRITE : PERM_EXEC;
    return (perms & need) !== 0;
  },
  accessedInTables: false,
  checksFetches: () => true,
};

/** Whether a RISC-V pointer (lo, hi) has A, D or U set (reserved in a non-leaf entry). */
function reservedInPointer(pos: FlagPositions, lo: number, hi: number): boolean {
  return testBit(lo, hi, pos.accessed) || testBit(lo, hi, pos.dirty) || testBit(lo, hi, pos.user);
}

/** Valid bit only: every present translation allows everything (fetches are never checked). */
const VALID_ONLY: Rules = {
  initial: PERM_READ | PERM_WRITE | PERM_EXEC | PERM_USER,
  classify(g, pos, lo, hi, depth) {
    return hasReservedBits(g.entry, lo, hi) ? 'reserved' : classifyByPageSize(g, pos, lo, hi, depth);
  },
  foldTable: (_f, perms) => perms,
  foldLeaf: (_f, perms) => perms,
  permits: () => true,
  accessedInTables: true,
  checksFetches: () => false,
};

export const RULES: Readonly<Record<RuleSet, Rules>> = { x86: X86, riscv: RISCV, 'valid-only': VALID_ONLY };

/** Index of an (access, mode) pair in a permission-table mask: access * 2 + user. */
export function accessSlot(access: AccessKind, user: boolean): number {
  return (access << 1) | (user ? 1 : 0);
}

/**
 * For every combined-permission value p (0..PERM_VALUES-1), the mask of access slots
 * (accessSlot) that p allows under `sw`. A TLB checks a hit with one table lookup.
 */
export function permissionTable(g: Geometry, sw: Switches): Uint8Array {
  const rules = RULES[g.rules];
  const table = new Uint8Array(PERM_VALUES);
  for (let p = 0; p < PERM_VALUES; p++) {
    for (const access of [READ, WRITE, FETCH] as const) {
      for (const user of [false, true]) {
        if (rules.permits(p, access, user, sw)) table[p] |= 1 << accessSlot(access, user);
      }
    }
  }
  return table;
}
