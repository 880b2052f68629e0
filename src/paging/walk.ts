// The one page-table walker, for every geometry row (geometry.ts) and both stages of nested
// paging: with a `stage2` callback, every table-entry address and the final address are
// translated by the callback before use (Spike's two-stage walk).
//
// A walk reads at most one entry per level, so it always ends; a table that points at itself
// (a recursive self-map) is legal. It counts its own memory references: one per entry read
// (an 8-byte entry read as two halves is one reference), plus the references the stage-2
// callback reports. A/D writes are counted apart, in `adWrites`.
//
// A/D bits are written only after the whole access is known to succeed (permissions and the
// final stage-2 translation included): a faulting walk writes nothing at any level. Which
// entries get A is the rule set's: every entry used on x86, the leaf only on RISC-V.
//
// Two doors, one walker: `walkInto` fills a reusable WalkState (no allocation per walk: the
// paging unit's path) and `walk` wraps it in a fresh result, with the steps when traced.
//
// A bus that offers its words (ReadBus.wordsAt) is read from them: the state keeps, per depth,
// the block the last entry there came from, so a walk near the last one reads each entry with a
// compare and a typed-array load. Kept blocks are dropped whenever the bus's wordsVersion moves
// (checked at every walk and after every stage-2 callback, which may write memory); a bus with an
// observer gives no words, so every read of the walk is still told to it.
//
// On top of the kept words, a memo of the upper levels (every depth but the last) of the last
// walk through them: a walk with the same root and upper index bits, whose upper entries still
// hold the same halves in memory (one compare each), would read exactly those entries and reach
// the same last-level table, so it starts there. It counts the references as read and sets A/D in
// them as any walk does: its results, counts and memory are a full walk's.

import { READ, WRITE, NO_SWITCHES, WORD_BLOCK_BITS, type AccessKind, type PhysicalBus, type ReadBus, type Switches, type WalkFaultKind } from './bus.js';
import { decodeFlags, entryBits, entryHex, hasBits, pfnOf, pow2, readPfn, writeChangedHalves, type EntryBits, type EntryFormat, type Flag } from './formats.js';
import { levelColumns, levelsOf, type Geometry, type LevelKind } from './geometry.js';
import { PERM_DIRTY, RULES, type EntryRole, type Rules } from './rules.js';

/** A walk fault. */
export interface WalkFault {
  readonly kind: WalkFaultKind;
  /** depth where the walk stopped (0 = root); -1: va outside the VA space; levels: the final address */
  readonly depth: number;
  /** 1: the walk's own tables; 2: the stage-2 callback refused an address */
  readonly stage: 1 | 2;
  /** stage 2: the address the callback could not translate */
  readonly address?: number;
  /** stage 2: the callback's own fault */
  readonly inner?: WalkFault;
}

/**
 * What a stage-2 callback returns; a WalkResult is one. `adWrites`: A/D writes the stage-2
 * walk made (added to the walk's own). The walker reads it at once and keeps only `fault`, so
 * a callback may return the same object every time.
 */
export type Stage2Result =
  | { readonly ok: true; readonly pa: number; readonly refs: number; readonly adWrites?: number }
  | { readonly ok: false; readonly fault: WalkFault; readonly refs: number; readonly adWrites?: number };

/**
 * Translates an address the walk is about to use: a table entry (`use = 'table'`, access READ,
 * or WRITE when the walk updates A/D, as guest paging-structure accesses count as writes under
 * EPT A/D) or the final address (`use = 'final'`, the walk's own access).
 */
export type Stage2 = (address: number, use: 'table' | 'final', access: AccessKind) => Stage2Result;

export interface WalkOptions {
  /** default READ */
  readonly access?: AccessKind;
  /** default false (supervisor) */
  readonly user?: boolean;
  /** default all off */
  readonly switches?: Switches;
  /** set A (x86: at every level; RISC-V: in the leaf) and D in the leaf on a write; default false (side-effect free) */
  readonly updateAD?: boolean;
  /** record `steps`; default true (`walk` only) */
  readonly trace?: boolean;
  readonly stage2?: Stage2;
  /** how stage 2 is asked for table-entry addresses; default tableAccessFor(g, updateAD) */
  readonly tableAccess?: AccessKind;
  /** size of the physical space that tables and frames must lie in; default bus.size (2^32 with stage2) */
  readonly physicalSize?: number;
}

/**
 * The access stage 2 is asked for when a walk of `g` reads a table entry: WRITE when the walk
 * updates A/D in a format that has an accessed bit (the entry may be written back, as guest
 * paging-structure accesses count as writes under EPT with A/D on), else READ. A
 * side-effect-free walk predicting an updating one passes `tableAccessFor(g, true)`.
 */
export function tableAccessFor(g: Geometry, updateAD: boolean): AccessKind {
  return updateAD && g.entry.flags.accessed !== undefined ? WRITE : READ;
}

/** One entry read by a walk. */
export interface WalkStep {
  readonly depth: number;
  readonly index: number;
  /** where the entry is, in the walk's physical space */
  readonly entryAddress: number;
  /** where it was read (differs from entryAddress only with stage 2) */
  readonly hostAddress: number;
  /** raw halves, unsigned (hi = 0 below 8-byte entries) */
  readonly lo: number;
  readonly hi: number;
  /** the whole entry, exact, e.g. '0x8000000000001067' */
  readonly hex: string;
  readonly flags: Partial<Record<Flag, boolean>>;
  readonly pfn: number;
  /** 'invalid' = not present; a fault kind = the entry raised it */
  readonly role: EntryRole | 'invalid';
  /** the next table's base (role 'table') or the mapped frame (role 'leaf'); -1 otherwise */
  readonly next: number;
}

export interface WalkOk {
  readonly ok: true;
  /** the final physical address (after stage 2) */
  readonly pa: number;
  /** the address before stage 2 (= pa without stage 2) */
  readonly stage1Pa: number;
  /** log2 of the mapped page's size (offsetBits, or more for a large page) */
  readonly pageBits: number;
  /** combined permissions (PERM_*), D as it is after this walk */
  readonly perms: number;
  readonly leafDepth: number;
  readonly refs: number;
  readonly adWrites: number;
  readonly steps: readonly WalkStep[];
}

export interface WalkFailed {
  readonly ok: false;
  readonly fault: WalkFault;
  readonly refs: number;
  readonly adWrites: 0;
  readonly steps: readonly WalkStep[];
}

export type WalkResult = WalkOk | WalkFailed;

const NO_STEPS: readonly WalkStep[] = Object.freeze([]);
const STAGE2_SPACE = 2 ** 32;
/** A kept block's words when the bus has none to give there: read through read8/read32. */
const NO_WORDS = new Int32Array(0);
const BLOCK_MASK = 2 ** WORD_BLOCK_BITS - 1;

/**
 * The reusable state of walks over one geometry: the geometry's numbers, computed once, then
 * the outcome of the last `walkInto` — on success `pa`, `stage1Pa`, `pageBits`, `perms`,
 * `leafDepth`; on a fault `kind`, `depth`, `stage` (and for stage 2 `address`, `inner`); always
 * `refs` and `adWrites`. Per depth it keeps the entry read (halves as signed 32-bit words) and
 * where it was read (after a walk the memo served, the upper depths' once restoreMemo runs).
 */
export class WalkState {
  // Fields set in the constructor are declared only (no emitted field that starts undefined):
  // V8 then keeps each at its number or typed-array representation, which the walk loop reads.
  declare readonly levels: number;
  declare readonly format: EntryFormat;
  /** format.bytes */
  declare readonly entryBytes: number;
  declare readonly bits: EntryBits;
  declare readonly rules: Rules;
  /** the geometry's level columns (levelColumns), one field each for the walk loop */
  declare readonly shift: Int32Array;
  declare readonly indexMask: Int32Array;
  declare readonly tableBytes: Float64Array;
  declare readonly kind: Uint8Array;
  declare readonly pageMask: Int32Array;
  declare readonly spanPages: Float64Array;
  declare readonly alignLo: Int32Array;
  declare readonly alignHi: Int32Array;
  declare readonly vaSpace: number;
  declare readonly pageSize: number;
  declare readonly offsetBits: number;
  /**
   * The last frame number whose frame starts below 2^32: past it a frame is past any physical
   * memory, and up to it frameAddress computes its address with a shift, which keeps the walk
   * loop's addresses out of floating point.
   */
  declare readonly lastFrame: number;
  declare readonly offsetMask: number;
  /** whether the format has a dirty bit (without one every page counts as dirty) */
  declare readonly hasDirty: boolean;
  /**
   * Per depth, as (lo, hi) masks: the bits that send a present entry there to classify —
   * rules.pointerExceptions above the last level, rules.leafExceptions at it. Without any, the
   * entry is a plain pointer, or at the last level a plain leaf.
   */
  declare readonly exceptLo: Int32Array;
  declare readonly exceptHi: Int32Array;

  ok = false;
  pa = 0;
  stage1Pa = 0;
  pageBits = 0;
  perms = 0;
  leafDepth = -1;
  refs = 0;
  adWrites = 0;
  /** the AND of the halves of every entry the last walk used, set when it reached its leaf */
  allLo = -1;
  allHi = -1;
  faultKind: WalkFaultKind = 'page';
  depth = 0;
  stage: 1 | 2 = 1;
  address = 0;
  inner: WalkFault | undefined = undefined;
  /** per depth: the entry's halves (signed), its address in the walk's space (kept only for steps) and where it was read */
  declare readonly lo: Int32Array;
  declare readonly hi: Int32Array;
  declare readonly entryAddress: Float64Array;
  declare readonly hostAddress: Float64Array;
  /**
   * Per depth: the block of the bus (ReadBus.wordsAt) the entry there was last read from, -1
   * for none, and its words (NO_WORDS: the bus gave none). Walks near each other read the
   * same tables, so each entry costs a compare and a typed-array load; kept while the bus and
   * its wordsVersion (`wordsVersion`) stay the same.
   */
  declare readonly block: Int32Array;
  declare readonly blockWords: Int32Array[];
  wordsVersion = -1;

  /**
   * The upper levels (every depth above the last) of the last walk that passed them with plain,
   * aligned entries read from kept words, and no stage 2: the root, the va bits that index them
   * (va >>> shift[levels - 2]), per depth the entry's halves, where it was read and the kept words
   * and index it came from, then the accumulators and the last level's table. A later walk with
   * the same root and bits whose entries still hold those halves in memory (compared in the kept
   * words) would read exactly them and compute exactly this: it starts at the last level (counting
   * the references it did not repeat). Dropped with the kept blocks, and by prepare for another
   * bus or physical size (what the upper levels' bounds checks used); plain entries' roles do not
   * depend on the access, mode or switches, and permissions are computed at the leaf.
   */
  memoRoot = -1;
  /**
   * Whether the last walk took its upper levels from the memo: their entries in lo, hi and
   * hostAddress are then the memo's, put there by restoreMemo only when something reads them
   * (A/D updates).
   */
  upperFromMemo = false;
  memoTag = 0;
  memoTable = 0;
  memoAllLo = 0;
  memoAllHi = 0;
  memoAnyLo = 0;
  memoAnyHi = 0;
  declare readonly memoLo: Int32Array;
  declare readonly memoHi: Int32Array;
  declare readonly memoHost: Float64Array;
  declare readonly memoIndex: Int32Array;
  declare readonly memoWords: Int32Array[];

  // the options of the walks (decoded by prepare)
  options: WalkOptions | undefined = undefined;
  bus: ReadBus | undefined = undefined;
  access: AccessKind = READ;
  user = false;
  switches: Switches = NO_SWITCHES;
  limit = 0;
  /**
   * Per depth (one more than levels, the last unused): the highest base a table there may have,
   * limit - tableBytes (set by prepare), so the walk checks a table inside physical memory with
   * one compare.
   */
  declare readonly lastTable: Float64Array;
  /** the highest base a mapped base page may have: limit - pageSize (set by prepare) */
  lastPage = 0;
  tableAccess: AccessKind = READ;
  /** tableAccessFor(geometry, true) */
  declare readonly updatingTableAccess: AccessKind;

  constructor(readonly geometry: Geometry) {
    const c = levelColumns(geometry);
    this.levels = levelsOf(geometry);
    this.format = geometry.entry;
    this.entryBytes = geometry.entry.bytes;
    this.bits = entryBits(geometry.entry);
    this.rules = RULES[geometry.rules];
    this.shift = c.shift;
    this.indexMask = c.indexMask;
    this.tableBytes = c.tableBytes;
    this.kind = c.kind;
    this.pageMask = c.pageMask;
    this.spanPages = c.spanPages;
    this.alignLo = c.alignLo;
    this.alignHi = c.alignHi;
    this.vaSpace = pow2(geometry.vaBits);
    this.pageSize = pow2(geometry.offsetBits);
    this.offsetBits = geometry.offsetBits;
    this.lastFrame = pow2(32 - geometry.offsetBits) - 1;
    this.offsetMask = this.pageSize - 1;
    this.hasDirty = (this.bits.dirtyLo | this.bits.dirtyHi) !== 0;
    this.exceptLo = new Int32Array(this.levels);
    this.exceptHi = new Int32Array(this.levels);
    for (let d = 0; d < this.levels; d++) {
      const [lo, hi] = d === this.levels - 1 ? this.rules.leafExceptions(this.bits) : this.rules.pointerExceptions(this.bits);
      this.exceptLo[d] = lo;
      this.exceptHi[d] = hi;
    }
    this.updatingTableAccess = tableAccessFor(geometry, true);
    this.lo = new Int32Array(this.levels);
    this.hi = new Int32Array(this.levels);
    this.entryAddress = new Float64Array(this.levels);
    this.hostAddress = new Float64Array(this.levels);
    this.lastTable = new Float64Array(this.levels + 1);
    this.block = new Int32Array(this.levels).fill(-1);
    this.blockWords = new Array<Int32Array>(this.levels).fill(NO_WORDS);
    this.memoLo = new Int32Array(this.levels);
    this.memoHi = new Int32Array(this.levels);
    this.memoHost = new Float64Array(this.levels);
    this.memoIndex = new Int32Array(this.levels);
    this.memoWords = new Array<Int32Array>(this.levels).fill(NO_WORDS);
  }

  /**
   * Decodes `o` (defaults applied) for walks over `bus`; walkInto does it only when the
   * options object or the bus changes, so options objects are treated as immutable. A new bus
   * drops the kept blocks.
   */
  prepare(o: WalkOptions, bus: ReadBus): void {
    if (o.updateAD && typeof (bus as Partial<PhysicalBus>).write32 !== 'function') throw new Error('walk: updateAD needs a writable bus');
    const limit = o.physicalSize ?? (o.stage2 ? STAGE2_SPACE : bus.size);
    if (bus !== this.bus) this.block.fill(-1);
    if (bus !== this.bus || limit !== this.limit) this.memoRoot = -1;
    this.options = o;
    this.bus = bus;
    this.access = o.access ?? READ;
    this.user = o.user ?? false;
    this.switches = o.switches ?? NO_SWITCHES;
    this.limit = limit;
    for (let d = 0; d < this.levels; d++) this.lastTable[d] = this.limit - this.tableBytes[d];
    this.lastPage = this.limit - this.pageSize;
    this.tableAccess = o.tableAccess ?? (o.updateAD ? this.updatingTableAccess : READ);
  }

  /** Forgets the kept blocks unless the bus's wordsVersion is the one they were taken at. */
  checkBlocks(bus: ReadBus): void {
    const version = bus.wordsVersion ?? -1;
    if (version === this.wordsVersion) return;
    this.wordsVersion = version;
    this.block.fill(-1);
    this.memoRoot = -1;
  }

  /**
   * Whether the memo (see memoRoot) serves a walk from `root` for `va` (no stage 2, no trace):
   * the same root and upper index bits, and every upper entry still holding its halves in the
   * words it was read from.
   */
  memoHolds(root: number, va: number): boolean {
    const last = this.levels - 1;
    if (root !== this.memoRoot || va >>> this.shift[last - 1] !== this.memoTag) return false;
    const wide = this.entryBytes === 8;
    for (let d = 0; d < last; d++) {
      const words = this.memoWords[d];
      const i = this.memoIndex[d];
      if (words[i] !== this.memoLo[d] || (wide && words[i + 1] !== this.memoHi[d])) return false;
    }
    return true;
  }

  /** Records the upper levels just walked (depths 0 .. levels - 2) as the memo, `table` the last level's. */
  keepMemo(root: number, va: number, table: number, allLo: number, allHi: number, anyLo: number, anyHi: number): void {
    const last = this.levels - 1;
    for (let d = 0; d < last; d++) {
      const host = this.hostAddress[d];
      this.memoLo[d] = this.lo[d];
      this.memoHi[d] = this.hi[d];
      this.memoHost[d] = host;
      this.memoIndex[d] = (host & BLOCK_MASK) >> 2;
      this.memoWords[d] = this.blockWords[d];
    }
    this.memoRoot = root;
    this.memoTag = va >>> this.shift[last - 1];
    this.memoTable = table;
    this.memoAllLo = allLo;
    this.memoAllHi = allHi;
    this.memoAnyLo = anyLo;
    this.memoAnyHi = anyHi;
  }

  /** Puts the memo's upper entries back as the last walk's, when it used the memo (see upperFromMemo). */
  restoreMemo(): void {
    if (!this.upperFromMemo) return;
    this.upperFromMemo = false;
    for (let d = 0; d < this.levels - 1; d++) {
      this.lo[d] = this.memoLo[d];
      this.hi[d] = this.memoHi[d];
      this.hostAddress[d] = this.memoHost[d];
    }
  }

  /** Keeps, for `depth`, the block of `bus` holding `address` (see `block`); returns its words. */
  keepBlock(bus: ReadBus, depth: number, address: number): Int32Array {
    const words = bus.wordsAt?.(address) ?? NO_WORDS;
    this.block[depth] = address >>> WORD_BLOCK_BITS;
    this.blockWords[depth] = words;
    return words;
  }

  /** The fault of the last walk as a value (call only after a walk that failed). */
  fault(): WalkFault {
    if (this.stage === 1) return { kind: this.faultKind, depth: this.depth, stage: 1 };
    return { kind: this.faultKind, depth: this.depth, stage: 2, address: this.address, inner: this.inner };
  }

  /** The last walk as a fresh result. */
  result(steps: readonly WalkStep[] = NO_STEPS): WalkResult {
    if (!this.ok) return { ok: false, fault: this.fault(), refs: this.refs, adWrites: 0, steps };
    const { pa, stage1Pa, pageBits, perms, leafDepth, refs, adWrites } = this;
    return { ok: true, pa, stage1Pa, pageBits, perms, leafDepth, refs, adWrites, steps };
  }

  /**
   * Whether the walk that ended at the leaf of `leafDepth` (`dirty`: its D is set, or the format
   * has none) has an A or D bit to set: A clear in an entry the rules mark (every entry used on
   * x86, seen in allLo/allHi; the leaf on RISC-V), or D clear on a write.
   */
  needsAccessedDirty(leafDepth: number, dirty: boolean): boolean {
    if (this.access === WRITE && !dirty) return true;
    const b = this.bits;
    const tables = this.rules.accessedInTables;
    const lo = tables ? this.allLo : this.lo[leafDepth];
    const hi = tables ? this.allHi : this.hi[leafDepth];
    return (lo & b.accessedLo) !== b.accessedLo || (hi & b.accessedHi) !== b.accessedHi;
  }

  /**
   * Sets A in the leaf and, where the rules say so (x86), in every table entry above it, and D
   * in the leaf on a write, writing only the halves that change; returns the memory writes.
   */
  setAccessedDirty(bus: PhysicalBus, leafDepth: number): number {
    this.restoreMemo();
    const b = this.bits;
    const write = this.access === WRITE;
    let writes = 0;
    for (let d = this.rules.accessedInTables ? 0 : leafDepth; d <= leafDepth; d++) {
      const lo = this.lo[d];
      const hi = this.hi[d];
      const dirty = write && d === leafDepth;
      const newLo = lo | b.accessedLo | (dirty ? b.dirtyLo : 0);
      const newHi = hi | b.accessedHi | (dirty ? b.dirtyHi : 0);
      if (newLo !== lo || newHi !== hi) writes += writeChangedHalves(this.format, bus, this.hostAddress[d], newLo >>> 0, newHi >>> 0, lo >>> 0, hi >>> 0);
    }
    return writes;
  }

  /** The step of `depth` as read by the last walk. */
  step(depth: number, index: number, role: WalkStep['role'], next: number): WalkStep {
    const f = this.format;
    const lo = this.lo[depth] >>> 0;
    const hi = this.hi[depth] >>> 0;
    return {
      depth,
      index,
      entryAddress: this.entryAddress[depth],
      hostAddress: this.hostAddress[depth],
      lo,
      hi,
      hex: entryHex(f, lo, hi),
      flags: decodeFlags(f, lo, hi),
      pfn: readPfn(f, lo, hi),
      role,
      next,
    };
  }
}

/**
 * Walks `g`'s tables rooted at `ptbr` (low bits below the entry size ignored) for `va`.
 * Returns the translation with its combined permissions, or the fault: 'bounds' for a va
 * outside the VA space or a root outside physical memory, 'page' for a not-present entry (or a
 * RISC-V pointer at the last level or misaligned superpage), 'reserved' for reserved bits or a
 * table/frame past physical memory, 'protection' when the permissions forbid the access.
 * Steps are recorded unless `trace: false`.
 */
export function walk(g: Geometry, bus: ReadBus, ptbr: number, va: number, options: WalkOptions = {}): WalkResult {
  const state = new WalkState(g);
  const steps: WalkStep[] | undefined = options.trace === false ? undefined : [];
  walkInto(state, bus, ptbr, va, options, steps);
  return state.result(steps);
}

/**
 * The walker: walks `state.geometry`'s tables for `va` as `walk` does and leaves the outcome
 * in `state` (see WalkState); appends a step per entry read to `steps` when given. Returns
 * whether the walk succeeded. Allocates nothing unless tracing or failing through stage 2.
 */
export function walkInto(s: WalkState, bus: ReadBus, ptbr: number, va: number, o: WalkOptions, steps?: WalkStep[]): boolean {
  if (o !== s.options || bus !== s.bus) s.prepare(o, bus);
  s.checkBlocks(bus);
  s.refs = 0;
  s.adWrites = 0;
  s.inner = undefined;
  s.upperFromMemo = false;
  if (!(va >= 0 && va < s.vaSpace)) return fail(s, 'bounds', -1);
  const root = ptbr - (ptbr & (s.format.bytes - 1));
  if (root > s.lastTable[0]) return fail(s, 'bounds', 0);
  return descend(s, bus, root, va, o, steps);
}

/**
 * Reads one entry per level from the root table down to a leaf, or to the entry that stops the
 * walk. Permissions fold as two accumulators, the AND and the OR of every entry used (the rule
 * set turns them into permissions once, at the leaf). A present entry with no bit of its
 * level's exceptions (WalkState.exceptLo/Hi) is a plain pointer above the last level and a
 * plain leaf at it, without asking the rules. The per-level columns and entry arrays are read
 * from locals: the loop writes no field it reads.
 */
function descend(s: WalkState, bus: ReadBus, root: number, va: number, o: WalkOptions, steps: WalkStep[] | undefined): boolean {
  const b = s.bits;
  const bytes = s.entryBytes;
  const stage2 = o.stage2;
  const presentLo = b.presentLo;
  const presentHi = b.presentHi;
  const last = s.levels - 1;
  const { shift, indexMask, exceptLo, exceptHi, lastTable, lo: los, hi: his, hostAddress, block, blockWords } = s;
  let table = root;
  let allLo = -1;
  let allHi = -1;
  let anyLo = 0;
  let anyHi = 0;
  let depth = 0;
  // the memo may stand for the upper levels; a walk that reads them keeps them when all were plain and direct
  let memoable = last > 0 && bytes !== 1 && stage2 === undefined && steps === undefined;
  if (memoable && s.memoHolds(root, va)) {
    s.upperFromMemo = true;
    s.refs += last;
    depth = last;
    table = s.memoTable;
    allLo = s.memoAllLo;
    allHi = s.memoAllHi;
    anyLo = s.memoAnyLo;
    anyHi = s.memoAnyHi;
    memoable = false;
  }
  for (; ; depth++) {
    const index = (va >>> shift[depth]) & indexMask[depth];
    const address = table + index * bytes;
    const host = stage2 === undefined ? address : tableThroughStage2(s, bus, stage2, address, depth);
    if (host < 0) return false;
    const words = block[depth] === host >>> WORD_BLOCK_BITS ? blockWords[depth] : s.keepBlock(bus, depth, host);
    const i = (host & BLOCK_MASK) >> 2;
    const direct = words !== NO_WORDS && (host & (bytes - 1)) === 0;
    const lo = direct && bytes !== 1 ? words[i] : readLo(bus, words, host, bytes);
    const hi = bytes !== 8 ? 0 : direct ? words[i + 1] : bus.read32(host + 4);
    los[depth] = lo;
    his[depth] = hi;
    hostAddress[depth] = host;
    s.refs++;
    if (steps) s.entryAddress[depth] = address;
    if (((lo & presentLo) | (hi & presentHi)) === 0) return stop(s, depth, index, 'invalid', steps);
    allLo &= lo;
    allHi &= hi;
    anyLo |= lo;
    anyHi |= hi;
    const plain = ((lo & exceptLo[depth]) | (hi & exceptHi[depth])) === 0;
    const role = plain ? (depth === last ? 'leaf' : 'table') : s.rules.classify(b, lo, hi, s.kind[depth] as LevelKind, misalignedAt(s, depth), s.switches);
    if (role !== 'table') {
      if (role !== 'leaf') return stop(s, depth, index, role, steps);
      s.allLo = allLo;
      s.allHi = allHi;
      return finish(s, bus, va, depth, index, s.rules.permsOf(b, allLo, allHi, anyLo, anyHi, lo, hi), o, steps);
    }
    const pfn = pfnOf(b, lo, hi);
    if (steps) steps.push(s.step(depth, index, 'table', pfn * s.pageSize));
    if (pfn > s.lastFrame) return fail(s, 'reserved', depth);
    table = frameAddress(s, pfn);
    if (table > lastTable[depth + 1]) return fail(s, 'reserved', depth);
    memoable = memoable && plain && direct;
    if (memoable && depth === last - 1) s.keepMemo(root, va, table, allLo, allHi, anyLo, anyHi);
  }
}

/**
 * The low half of the entry of `bytes` bytes at `host` where it is not a whole aligned word of
 * the kept `words`: a byte of them (1-byte entries), else through the bus (no words, or an entry
 * not aligned to its size).
 */
function readLo(bus: ReadBus, words: Int32Array, host: number, bytes: number): number {
  if (words === NO_WORDS) return bytes === 1 ? bus.read8(host) : bus.read32(host);
  if (bytes === 1) return (words[(host & BLOCK_MASK) >> 2] >>> ((host & 3) << 3)) & 0xff;
  return bus.read32(host);
}

/**
 * The table entry `address` through stage 2 (see throughStage2), after which the kept blocks
 * are checked again (the callback may have written memory); -1 after a stage-2 fault.
 */
function tableThroughStage2(s: WalkState, bus: ReadBus, stage2: Stage2, address: number, depth: number): number {
  const host = throughStage2(s, stage2, address, 'table', s.tableAccess, depth);
  if (host >= 0) s.checkBlocks(bus);
  return host;
}

/** The address of frame `pfn`, one below 2^32 (pfn <= s.lastFrame), in integer arithmetic. */
function frameAddress(s: WalkState, pfn: number): number {
  return (pfn << s.offsetBits) >>> 0;
}

/** Whether the entry read at `depth` has frame bits set below the page size of a leaf there. */
function misalignedAt(s: WalkState, depth: number): boolean {
  return hasBits(s.lo[depth], s.hi[depth], s.alignLo[depth], s.alignHi[depth]);
}

/** Ends a walk at an entry of `role` that is neither a table nor a leaf: not present, or a fault of its own. */
function stop(s: WalkState, depth: number, index: number, role: WalkStep['role'], steps: WalkStep[] | undefined): false {
  if (steps) steps.push(s.step(depth, index, role, -1));
  return fail(s, role === 'invalid' ? 'page' : (role as WalkFaultKind), depth);
}

/**
 * Completes a walk at the leaf of `depth`: the frame inside physical memory, permissions,
 * alignment (a misaligned RISC-V superpage; x86 rejected one as reserved bits already), the
 * final stage-2 translation, then the A/D updates.
 */
function finish(s: WalkState, bus: ReadBus, va: number, depth: number, index: number, perms: number, o: WalkOptions, steps: WalkStep[] | undefined): boolean {
  const b = s.bits;
  const lo = s.lo[depth];
  const hi = s.hi[depth];
  const entryPfn = pfnOf(b, lo, hi);
  const span = s.spanPages[depth];
  const pfn = span === 1 ? entryPfn : entryPfn - (entryPfn % span);
  if (steps) steps.push(s.step(depth, index, 'leaf', pfn * s.pageSize));
  if (pfn > s.lastFrame) return fail(s, 'reserved', depth);
  const pa = frameAddress(s, pfn) + (va & s.pageMask[depth]);
  if (pa - (va & s.offsetMask) > s.lastPage) return fail(s, 'reserved', depth);
  const dirty = !s.hasDirty || hasBits(lo, hi, b.dirtyLo, b.dirtyHi);
  if (dirty) perms |= PERM_DIRTY;
  if (!s.rules.permits(perms, s.access, s.user, s.switches)) return fail(s, 'protection', depth);
  if (hasBits(lo, hi, s.alignLo[depth], s.alignHi[depth])) return fail(s, 'page', depth);
  const hostPa = o.stage2 === undefined ? pa : throughStage2(s, o.stage2, pa, 'final', s.access, s.levels);
  if (hostPa < 0) return false;
  if (o.updateAD) {
    if (s.access === WRITE) perms |= PERM_DIRTY;
    if (s.needsAccessedDirty(depth, dirty)) s.adWrites += s.setAccessedDirty(bus as PhysicalBus, depth);
  }
  s.ok = true;
  s.pa = hostPa;
  s.stage1Pa = pa;
  s.pageBits = s.shift[depth];
  s.perms = perms;
  s.leafDepth = depth;
  return true;
}

/**
 * `address` through the stage-2 callback, counting its references and A/D writes; -1 after a
 * stage-2 fault, recorded in `s` at guest depth `depth`.
 */
function throughStage2(s: WalkState, stage2: Stage2, address: number, use: 'table' | 'final', access: AccessKind, depth: number): number {
  const r = stage2(address, use, access);
  s.refs += r.refs;
  if (r.adWrites) s.adWrites += r.adWrites;
  if (r.ok) return r.pa;
  s.ok = false;
  s.faultKind = r.fault.kind;
  s.depth = depth;
  s.stage = 2;
  s.address = address;
  s.inner = r.fault;
  return -1;
}

function fail(s: WalkState, kind: WalkFaultKind, depth: number): false {
  s.ok = false;
  s.faultKind = kind;
  s.depth = depth;
  s.stage = 1;
  return false;
}
