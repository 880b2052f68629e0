// Permission rules per architecture, as one row per rule set: how a present entry is classified
// (table, leaf or a fault), how entries fold into the combined permissions of a translation,
// and which accesses those permissions allow. The walker and the TLB use nothing else.
//
// Combined permissions are a small bit set (PERM_*), independent of the switches, so a TLB can
// cache them and re-check an access against the switches in force.

import { FETCH, READ, WRITE, type AccessKind, type Switches, type WalkFaultKind } from './bus.js';
import { entryBits, hasBits, type EntryBits, type EntryFormat } from './formats.js';
import { LEVEL_LARGE, LEVEL_LAST, LEVEL_TABLE, levelColumns, type Geometry, type LevelKind, type RuleSet } from './geometry.js';

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
  /**
   * Classifies a present entry (lo, hi) of format bits `b` at a level of kind `level`;
   * `misaligned`: frame-number bits below the page size of this level are set (levelColumns).
   */
  classify(b: EntryBits, lo: number, hi: number, level: LevelKind, misaligned: boolean, sw: Switches): EntryRole;
  /**
   * The bits, as (lo, hi) masks, that keep a present entry above the last level from being a
   * plain pointer: with none of them set, classify says 'table' whatever the switches (the
   * walker's fast path); an entry with any of them goes to classify.
   */
  pointerExceptions(b: EntryBits): readonly [number, number];
  /**
   * The bits, as (lo, hi) masks, that keep a present entry at the last level from being a plain
   * leaf: with none of them set, classify says 'leaf' there whatever the switches (the walker's
   * fast path); an entry with any of them goes to classify.
   */
  leafExceptions(b: EntryBits): readonly [number, number];
  /**
   * The combined permissions (PERM_DIRTY is the walker's) of a translation whose entries, table
   * entries and leaf, ANDed give (allLo, allHi) and ORed give (anyLo, anyHi); (lo, hi) is the
   * leaf. One call per walk: the walker folds entries with two bitwise operations per level.
   */
  permsOf(b: EntryBits, allLo: number, allHi: number, anyLo: number, anyHi: number, lo: number, hi: number): number;
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
  classify(b, lo, hi, level, misaligned, sw) {
    if (hasBits(lo, hi, b.reservedLo, b.reservedHi)) return 'reserved';
    if (!sw.nxe && hasBits(lo, hi, b.noExecuteLo, b.noExecuteHi)) return 'reserved';
    return classifyByPageSize(b, lo, hi, level, misaligned);
  },
  pointerExceptions: (b) => [b.reservedLo | b.pageSizeLo | b.noExecuteLo, b.reservedHi | b.pageSizeHi | b.noExecuteHi],
  leafExceptions: (b) => [b.reservedLo | b.noExecuteLo, b.reservedHi | b.noExecuteHi],
  permsOf(b, allLo, allHi, anyLo, anyHi) {
    let perms = PERM_READ | PERM_WRITE | PERM_EXEC | PERM_USER;
    if (!hasBits(allLo, allHi, b.writableLo, b.writableHi)) perms &= ~PERM_WRITE;
    if (!hasBits(allLo, allHi, b.userLo, b.userHi)) perms &= ~PERM_USER;
    if (hasBits(anyLo, anyHi, b.noExecuteLo, b.noExecuteHi)) perms &= ~PERM_EXEC;
    return perms;
  },
  permits(perms, access, user, sw) {
    if (user && !(perms & PERM_USER)) return false;
    if (access === WRITE && !(perms & PERM_WRITE) && (user || sw.wp)) return false;
    return access !== FETCH || (perms & PERM_EXEC) !== 0;
  },
  accessedInTables: true,
  checksFetches: (f, sw) => sw.nxe && f.flags.noExecute !== undefined,
};

/**
 * Leaf when PS is set at a large-page depth with an aligned frame, or at the last level; PS
 * elsewhere, or a misaligned large frame, is reserved.
 */
function classifyByPageSize(b: EntryBits, lo: number, hi: number, level: LevelKind, misaligned: boolean): EntryRole {
  if (level === LEVEL_LAST) return 'leaf';
  if (!hasBits(lo, hi, b.pageSizeLo, b.pageSizeHi)) return 'table';
  return level === LEVEL_LARGE && !misaligned ? 'leaf' : 'reserved';
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
  classify(b, lo, hi, level) {
    if (hasBits(lo, hi, b.reservedLo, b.reservedHi)) return 'reserved';
    const r = hasBits(lo, hi, b.readableLo, b.readableHi);
    if (!r && hasBits(lo, hi, b.writableLo, b.writableHi)) return 'reserved';
    const leaf = r || hasBits(lo, hi, b.executableLo, b.executableHi);
    if (!leaf) return reservedInPointer(b, lo, hi) ? 'reserved' : level === LEVEL_LAST ? 'page' : 'table';
    return level === LEVEL_TABLE ? 'reserved' : 'leaf';
  },
  pointerExceptions: (b) => [
    b.reservedLo | b.readableLo | b.writableLo | b.executableLo | b.accessedLo | b.dirtyLo | b.userLo,
    b.reservedHi | b.readableHi | b.writableHi | b.executableHi | b.accessedHi | b.dirtyHi | b.userHi,
  ],
  /** a leaf needs R or X, which no mask of exceptions can say: every entry goes to classify */
  leafExceptions: () => [-1, -1],
  permsOf(b, _allLo, _allHi, _anyLo, _anyHi, lo, hi) {
    return (
      (hasBits(lo, hi, b.readableLo, b.readableHi) ? PERM_READ : 0) |
      (hasBits(lo, hi, b.writableLo, b.writableHi) ? PERM_WRITE : 0) |
      (hasBits(lo, hi, b.executableLo, b.executableHi) ? PERM_EXEC : 0) |
      (hasBits(lo, hi, b.userLo, b.userHi) ? PERM_USER : 0)
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
function reservedInPointer(b: EntryBits, lo: number, hi: number): boolean {
  return hasBits(lo, hi, b.accessedLo | b.dirtyLo | b.userLo, b.accessedHi | b.dirtyHi | b.userHi);
}

/** Valid bit only: every present translation allows everything (fetches are never checked). */
const VALID_ONLY: Rules = {
  classify(b, lo, hi, level, misaligned) {
    return hasBits(lo, hi, b.reservedLo, b.reservedHi) ? 'reserved' : classifyByPageSize(b, lo, hi, level, misaligned);
  },
  pointerExceptions: (b) => [b.reservedLo | b.pageSizeLo, b.reservedHi | b.pageSizeHi],
  leafExceptions: (b) => [b.reservedLo, b.reservedHi],
  permsOf: () => PERM_READ | PERM_WRITE | PERM_EXEC | PERM_USER,
  permits: () => true,
  accessedInTables: true,
  checksFetches: () => false,
};

export const RULES: Readonly<Record<RuleSet, Rules>> = { x86: X86, riscv: RISCV, 'valid-only': VALID_ONLY };

/**
 * What the present-or-not entry (lo, hi) is at `depth` of `g` under `sw`, as the walker
 * classifies it: 'invalid' when not present (for builders and other cold callers).
 */
export function roleOf(g: Geometry, lo: number, hi: number, depth: number, sw: Switches): EntryRole | 'invalid' {
  const b = entryBits(g.entry);
  if (!hasBits(lo, hi, b.presentLo, b.presentHi)) return 'invalid';
  const c = levelColumns(g);
  return RULES[g.rules].classify(b, lo, hi, c.kind[depth] as LevelKind, hasBits(lo, hi, c.alignLo[depth], c.alignHi[depth]), sw);
}

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
