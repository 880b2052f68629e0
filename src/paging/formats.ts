// Page-table entry formats as data rows, and the helpers that read and write entries.
//
// An entry is held as two unsigned 32-bit halves (lo, hi): hi is 0 for 1- and 4-byte entries;
// an 8-byte entry keeps its low word at the lower address (little-endian). Bit positions are
// 0..63 over the whole entry. Never BigInt.

import type { PhysicalBus, ReadBus } from './bus.js';

/** One-bit fields an entry format may have. */
export type Flag =
  | 'present'
  | 'writable'
  | 'user'
  | 'accessed'
  | 'dirty'
  | 'pageSize'
  | 'noExecute'
  | 'readable'
  | 'executable'
  | 'global';

export const FLAGS: readonly Flag[] = [
  'present',
  'writable',
  'user',
  'accessed',
  'dirty',
  'pageSize',
  'noExecute',
  'readable',
  'executable',
  'global',
];

export interface EntryFormat {
  readonly name: string;
  /** entry size in bytes */
  readonly bytes: 1 | 4 | 8;
  /** bit position of each flag the format has (absent = the format has no such bit) */
  readonly flags: Readonly<Partial<Record<Flag, number>>>;
  /** lowest bit of the frame-number field */
  readonly pfnShift: number;
  /** width of the frame-number field */
  readonly pfnBits: number;
  /** bits that must be zero in every present entry: [mask of lo, mask of hi] */
  readonly reserved: readonly [number, number];
  /** a bit inside the frame field that a large-page entry ignores (x86 PAT, bit 12) */
  readonly largePagePat?: number;
}

/** An entry's raw value as two unsigned halves. */
export interface RawEntry {
  lo: number;
  hi: number;
}

// tiny (1 byte): the textbook two-level exercise.
//
//    7   6                       0
//  +---+---------------------------+
//  | V |            PFN            |
//  +---+---------------------------+
const TINY: EntryFormat = {
  name: 'tiny',
  bytes: 1,
  flags: { present: 7 },
  pfnShift: 0,
  pfnBits: 7,
  reserved: [0, 0],
};

// x86-32 (4 bytes), 32-bit paging with PSE. PS at the last level is PAT (ignored); in a
// 4 MiB entry bit 12 is PAT (ignored) and bits 21..13 are reserved (frame bits 39..32 of
// PSE-36 do not exist on a 32-bit physical machine). G, PCD, PWT and AVL are ignored.
//
//   31                      12 11  9   8    7    6   5    4     3    2    1   0
//  +--------------------------+-----+---+----+---+---+-----+-----+----+----+---+
//  |           PFN            | AVL | G | PS | D | A | PCD | PWT | US | RW | P |
//  +--------------------------+-----+---+----+---+---+-----+-----+----+----+---+
const X86_32: EntryFormat = {
  name: 'x86-32',
  bytes: 4,
  flags: { present: 0, writable: 1, user: 2, accessed: 5, dirty: 6, pageSize: 7, global: 8 },
  pfnShift: 12,
  pfnBits: 20,
  reserved: [0, 0],
  largePagePat: 12,
};

// sv32 (4 bytes), RISC-V Sv32. PPN is 22 bits, so frames reach 2^34; a frame past physical
// memory is a reserved fault. RSW is ignored.
//
//   31                      10 9   8   7   6   5   4   3   2   1   0
//  +--------------------------+-----+---+---+---+---+---+---+---+---+
//  |           PPN            | RSW | D | A | G | U | X | W | R | V |
//  +--------------------------+-----+---+---+---+---+---+---+---+---+
const SV32: EntryFormat = {
  name: 'sv32',
  bytes: 4,
  flags: { present: 0, readable: 1, writable: 2, executable: 3, user: 4, global: 5, accessed: 6, dirty: 7 },
  pfnShift: 10,
  pfnBits: 22,
  reserved: [0, 0],
};

// four-level (8 bytes) at x86-64 positions, physical width 32: bits 51..32 are reserved,
// 62..52 ignored. In a large-page entry bit 12 is PAT (ignored); PS at the last level is PAT.
//
//   63   62    52 51        32 31          12 11  9  8    7    6   5    4     3    2    1   0
//  +----+--------+------------+--------------+-----+---+----+---+---+-----+-----+----+----+---+
//  | NX | ignored|  reserved  |     PFN      | AVL | G | PS | D | A | PCD | PWT | US | RW | P |
//  +----+--------+------------+--------------+-----+---+----+---+---+-----+-----+----+----+---+
const FOUR_LEVEL: EntryFormat = {
  name: 'four-level',
  bytes: 8,
  flags: { present: 0, writable: 1, user: 2, accessed: 5, dirty: 6, pageSize: 7, global: 8, noExecute: 63 },
  pfnShift: 12,
  pfnBits: 20,
  reserved: [0, 0x000fffff],
  largePagePat: 12,
};

/** The preset entry formats by name. */
export const FORMATS: Readonly<Record<string, EntryFormat>> = {
  tiny: TINY,
  'x86-32': X86_32,
  sv32: SV32,
  'four-level': FOUR_LEVEL,
};

// ---------------------------------------------------------------- bit helpers

const POW2 = Array.from({ length: 65 }, (_, n) => 2 ** n);

/** 2^n for integer n in 0..64 (a table lookup; `**` is slow on the walk path). */
export function pow2(n: number): number {
  return POW2[n];
}

/** x mod 2^n for an integer 0 <= x < 2^53 (bit operations when x fits 32 bits). */
export function modPow2(x: number, n: number): number {
  if (x < 4294967296) return n >= 32 ? x : (x & (POW2[n] - 1)) >>> 0;
  return x % POW2[n];
}

/** The low `n` bits of the unsigned 32-bit `x` (0 <= n <= 32). */
export function lowBits(x: number, n: number): number {
  return n >= 32 ? x >>> 0 : (x & ((1 << n) - 1)) >>> 0;
}

/** Whether bit `pos` (0..63, or undefined) is set in (lo, hi). An absent bit reads as clear. */
export function testBit(lo: number, hi: number, pos: number | undefined): boolean {
  if (pos === undefined) return false;
  return pos < 32 ? ((lo >>> pos) & 1) !== 0 : ((hi >>> (pos - 32)) & 1) !== 0;
}

/** Sets (or clears) bit `pos` of `e` in place. */
export function putBit(e: RawEntry, pos: number, on: boolean): void {
  if (pos < 32) e.lo = (on ? e.lo | (1 << pos) : e.lo & ~(1 << pos)) >>> 0;
  else e.hi = (on ? e.hi | (1 << (pos - 32)) : e.hi & ~(1 << (pos - 32))) >>> 0;
}

/** Whether `e` has flag `flag` set (false when the format has no such flag). */
export function hasFlag(f: EntryFormat, lo: number, hi: number, flag: Flag): boolean {
  return testBit(lo, hi, f.flags[flag]);
}

/**
 * A format's fields as masks over the halves, for one AND per test on walk paths: for every
 * flag `<flag>Lo` / `<flag>Hi` (both 0 where the format has no such bit), the reserved bits,
 * and the frame-number field split into its low-half and high-half parts (see pfnOf).
 * Halves may be given signed or unsigned. Computed once per format object (entryBits).
 */
export class EntryBits {
  readonly presentLo: number;
  readonly presentHi: number;
  readonly writableLo: number;
  readonly writableHi: number;
  readonly userLo: number;
  readonly userHi: number;
  readonly accessedLo: number;
  readonly accessedHi: number;
  readonly dirtyLo: number;
  readonly dirtyHi: number;
  readonly pageSizeLo: number;
  readonly pageSizeHi: number;
  readonly noExecuteLo: number;
  readonly noExecuteHi: number;
  readonly readableLo: number;
  readonly readableHi: number;
  readonly executableLo: number;
  readonly executableHi: number;
  readonly globalLo: number;
  readonly globalHi: number;
  readonly reservedLo: number;
  readonly reservedHi: number;
  /** the PFN's low part: (lo >>> pfnLoShift) & pfnLoMask */
  readonly pfnLoShift: number;
  readonly pfnLoMask: number;
  /** its high part: ((hi >>> pfnHiShift) & pfnHiMask) * pfnHiScale */
  readonly pfnHiShift: number;
  readonly pfnHiMask: number;
  readonly pfnHiScale: number;

  constructor(f: EntryFormat) {
    [this.presentLo, this.presentHi] = maskPair(f.flags.present);
    [this.writableLo, this.writableHi] = maskPair(f.flags.writable);
    [this.userLo, this.userHi] = maskPair(f.flags.user);
    [this.accessedLo, this.accessedHi] = maskPair(f.flags.accessed);
    [this.dirtyLo, this.dirtyHi] = maskPair(f.flags.dirty);
    [this.pageSizeLo, this.pageSizeHi] = maskPair(f.flags.pageSize);
    [this.noExecuteLo, this.noExecuteHi] = maskPair(f.flags.noExecute);
    [this.readableLo, this.readableHi] = maskPair(f.flags.readable);
    [this.executableLo, this.executableHi] = maskPair(f.flags.executable);
    [this.globalLo, this.globalHi] = maskPair(f.flags.global);
    this.reservedLo = f.reserved[0] | 0;
    this.reservedHi = f.reserved[1] | 0;
    const loBits = Math.min(f.pfnBits, Math.max(0, 32 - f.pfnShift));
    const hiBits = f.pfnBits - loBits;
    this.pfnLoShift = loBits === 0 ? 0 : f.pfnShift;
    this.pfnLoMask = (POW2[loBits] - 1) | 0;
    this.pfnHiShift = Math.max(0, f.pfnShift - 32);
    this.pfnHiMask = (POW2[hiBits] - 1) | 0;
    this.pfnHiScale = POW2[loBits];
  }
}

/** Bit `pos` as signed (lo, hi) masks; 0, 0 when the format has no such bit. */
function maskPair(pos: number | undefined): [number, number] {
  const m = bitMask(pos);
  return [m.lo | 0, m.hi | 0];
}

const BITS = new WeakMap<EntryFormat, EntryBits>();

/**
 * The masks of `f` (computed once per format object). Not frozen: V8 reads a frozen object's
 * fields measurably slower on the walk path (readonly types keep it unchanged).
 */
export function entryBits(f: EntryFormat): EntryBits {
  let b = BITS.get(f);
  if (!b) BITS.set(f, (b = new EntryBits(f)));
  return b;
}

/** Whether (lo, hi) has any bit of the mask pair (maskLo, maskHi) set. */
export function hasBits(lo: number, hi: number, maskLo: number, maskHi: number): boolean {
  return ((lo & maskLo) | (hi & maskHi)) !== 0;
}

/** The frame number of (lo, hi) by the masks of its format: readPfn without the arithmetic on widths. */
export function pfnOf(b: EntryBits, lo: number, hi: number): number {
  return b.pfnHiMask === 0 ? ((lo >>> b.pfnLoShift) & b.pfnLoMask) >>> 0 : pfnWide(b, lo, hi);
}

/** pfnOf for a frame-number field reaching into the high half. */
function pfnWide(b: EntryBits, lo: number, hi: number): number {
  return (((lo >>> b.pfnLoShift) & b.pfnLoMask) >>> 0) + pfnHigh(b, hi);
}

function pfnHigh(b: EntryBits, hi: number): number {
  return (((hi >>> b.pfnHiShift) & b.pfnHiMask) >>> 0) * b.pfnHiScale;
}

/**
 * The frame number of (lo, hi): the field of `pfnBits` bits at `pfnShift`, assembled from both
 * halves. Exact (a frame number never exceeds 2^53, see validateGeometry).
 */
export function readPfn(f: EntryFormat, lo: number, hi: number): number {
  const loWidth = Math.max(0, 32 - f.pfnShift);
  const loPart = f.pfnShift >= 32 ? 0 : lo >>> f.pfnShift;
  if (f.pfnBits <= loWidth) return lowBits(loPart, f.pfnBits);
  const hiPart = f.pfnShift >= 32 ? hi >>> (f.pfnShift - 32) : hi;
  return loPart + lowBits(hiPart, f.pfnBits - loWidth) * POW2[loWidth];
}

/** Stores frame number `pfn` into the PFN field of `e` (other bits unchanged). */
export function putPfn(f: EntryFormat, e: RawEntry, pfn: number): void {
  for (let b = 0; b < f.pfnBits; b++) putBit(e, f.pfnShift + b, Math.floor(pfn / POW2[b]) % 2 === 1);
}

// ---------------------------------------------------------------- reading and writing

/** The low half of the entry at physical `pa` (the byte of a 1-byte entry), unsigned. */
export function readEntryLo(f: EntryFormat, bus: ReadBus, pa: number): number {
  return f.bytes === 1 ? bus.read8(pa) : bus.read32(pa) >>> 0;
}

/** The high half of the entry at physical `pa` (0 below 8-byte entries), unsigned. */
export function readEntryHi(f: EntryFormat, bus: ReadBus, pa: number): number {
  return f.bytes === 8 ? bus.read32(pa + 4) >>> 0 : 0;
}

/** Reads the entry at physical `pa` into `out` (1-, 4- or 8-byte; caller checked the bounds). */
export function readEntry(f: EntryFormat, bus: ReadBus, pa: number, out: RawEntry): RawEntry {
  out.lo = readEntryLo(f, bus, pa);
  out.hi = readEntryHi(f, bus, pa);
  return out;
}

/**
 * Writes the halves (lo, hi) of the entry at `pa` that differ from (oldLo, oldHi): the byte of
 * a 1-byte entry, or each 32-bit half that changed. Returns the number of memory writes.
 */
export function writeChangedHalves(f: EntryFormat, bus: PhysicalBus, pa: number, lo: number, hi: number, oldLo: number, oldHi: number): number {
  let writes = 0;
  if (lo !== oldLo) {
    if (f.bytes === 1) bus.write8(pa, lo);
    else bus.write32(pa, lo | 0);
    writes++;
  }
  if (hi !== oldHi) {
    bus.write32(pa + 4, hi | 0);
    writes++;
  }
  return writes;
}

/** Writes the parts of entry `e` at `pa` that differ from `old` (see writeChangedHalves). */
export function writeEntryChanges(f: EntryFormat, bus: PhysicalBus, pa: number, e: RawEntry, old: RawEntry): number {
  return writeChangedHalves(f, bus, pa, e.lo, e.hi, old.lo, old.hi);
}

/** The one-bit mask of bit `pos` (0..63) as halves; both 0 when the format has no such bit. */
export function bitMask(pos: number | undefined): RawEntry {
  if (pos === undefined) return { lo: 0, hi: 0 };
  return pos < 32 ? { lo: (1 << pos) >>> 0, hi: 0 } : { lo: 0, hi: (1 << (pos - 32)) >>> 0 };
}

/** Writes the whole entry `e` at `pa`. */
export function writeEntry(f: EntryFormat, bus: PhysicalBus, pa: number, e: RawEntry): void {
  if (f.bytes === 1) return bus.write8(pa, e.lo);
  bus.write32(pa, e.lo | 0);
  if (f.bytes === 8) bus.write32(pa + 4, e.hi | 0);
}

/** The flags of (lo, hi) that the format has, by name. */
export function decodeFlags(f: EntryFormat, lo: number, hi: number): Partial<Record<Flag, boolean>> {
  const out: Partial<Record<Flag, boolean>> = {};
  for (const flag of FLAGS) if (f.flags[flag] !== undefined) out[flag] = testBit(lo, hi, f.flags[flag]);
  return out;
}

/** The entry as an exact hexadecimal string of its full width, e.g. '0x8000000000001067'. */
export function entryHex(f: EntryFormat, lo: number, hi: number): string {
  const digits = f.bytes * 2;
  const text = f.bytes === 8 ? hex8(hi) + hex8(lo) : (lo >>> 0).toString(16).padStart(digits, '0');
  return '0x' + text;
}

function hex8(x: number): string {
  return (x >>> 0).toString(16).padStart(8, '0');
}

/** Builds an entry from a frame number and a set of flags (flags the format lacks are skipped). */
export function encodeEntry(f: EntryFormat, pfn: number, flags: Partial<Record<Flag, boolean>>): RawEntry {
  const e: RawEntry = { lo: 0, hi: 0 };
  putPfn(f, e, pfn);
  for (const flag of FLAGS) {
    const pos = f.flags[flag];
    if (pos !== undefined && flags[flag]) putBit(e, pos, true);
  }
  return e;
}
