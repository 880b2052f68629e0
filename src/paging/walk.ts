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

import { READ, WRITE, NO_SWITCHES, type AccessKind, type PhysicalBus, type ReadBus, type Switches, type WalkFaultKind } from './bus.js';
import { decodeFlags, entryHex, flagPositions, modPow2, pow2, putBit, readEntry, readPfn, testBit, writeEntryChanges, type Flag, type FlagPositions, type RawEntry } from './formats.js';
import { indexAt, inVaSpace, leafFrame, levelsOf, misalignedBits, pageBitsAt, tableBytes, type Geometry } from './geometry.js';
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

/** What a stage-2 callback returns; a WalkResult is one. */
export type Stage2Result =
  | { readonly ok: true; readonly pa: number; readonly refs: number }
  | { readonly ok: false; readonly fault: WalkFault; readonly refs: number };

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
  /** record `steps`; default true */
  readonly trace?: boolean;
  readonly stage2?: Stage2;
  /** size of the physical space that tables and frames must lie in; default bus.size (2^32 with stage2) */
  readonly physicalSize?: number;
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

/**
 * Walks `g`'s tables rooted at `ptbr` (low bits below the entry size ignored) for `va`.
 * Returns the translation with its combined permissions, or the fault: 'bounds' for a va
 * outside the VA space or a root outside physical memory, 'page' for a not-present entry (or a
 * RISC-V pointer at the last level or misaligned superpage), 'reserved' for reserved bits or a
 * table/frame past physical memory, 'protection' when the permissions forbid the access.
 */
export function walk(g: Geometry, bus: ReadBus, ptbr: number, va: number, options: WalkOptions = {}): WalkResult {
  const w = new Walk(g, bus, options);
  if (!inVaSpace(g, va)) return w.fail('bounds', -1);
  const root = ptbr - (ptbr % g.entry.bytes);
  if (root + tableBytes(g, 0) > w.limit) return w.fail('bounds', 0);
  return w.descend(root, va);
}

/** The state of one walk. */
class Walk {
  readonly rules: Rules;
  readonly pos: FlagPositions;
  readonly limit: number;
  readonly access: AccessKind;
  readonly user: boolean;
  readonly sw: Switches;
  refs = 0;
  readonly steps: WalkStep[] | undefined;
  /** per depth: the entry read, its address and where it was read (after stage 2) */
  readonly entries: RawEntry[] = [];
  readonly addresses: number[] = [];
  readonly hosts: number[] = [];
  /** set when the stage-2 callback refused an address */
  stage2Failure: WalkFailed | undefined;

  constructor(
    readonly g: Geometry,
    readonly bus: ReadBus,
    readonly opts: WalkOptions,
  ) {
    this.rules = RULES[g.rules];
    this.pos = flagPositions(g.entry);
    this.limit = opts.physicalSize ?? (opts.stage2 ? 2 ** 32 : bus.size);
    this.access = opts.access ?? READ;
    this.user = opts.user ?? false;
    this.sw = opts.switches ?? NO_SWITCHES;
    this.steps = opts.trace === false ? undefined : [];
    if (opts.updateAD && typeof (bus as Partial<PhysicalBus>).write32 !== 'function') {
      throw new Error('walk: updateAD needs a writable bus');
    }
  }

  /** Reads one entry per level from the root table down to the leaf. */
  descend(root: number, va: number): WalkResult {
    const { g, rules, pos } = this;
    let table = root;
    let perms = rules.initial;
    for (let depth = 0; depth < levelsOf(g); depth++) {
      const index = indexAt(g, va, depth);
      const e = this.readAt(table + index * g.entry.bytes, depth);
      if (e === undefined) return this.stage2Failure!;
      const role = testBit(e.lo, e.hi, pos.present) ? rules.classify(g, pos, e.lo, e.hi, depth, this.sw) : 'invalid';
      if (role === 'leaf') return this.finish(va, depth, index, perms);
      const next = role === 'table' ? readPfn(g.entry, e.lo, e.hi) * pow2(g.offsetBits) : -1;
      this.record(depth, index, role, next);
      if (role === 'invalid') return this.fail('page', depth);
      if (role !== 'table') return this.fail(role, depth);
      perms = rules.foldTable(pos, perms, e.lo, e.hi);
      table = next;
      if (table + tableBytes(g, depth + 1) > this.limit) return this.fail('reserved', depth);
    }
    throw new Error(`walk: geometry '${g.name}' ended without a leaf`);
  }

  /**
   * Completes a walk at the leaf of `depth`: the frame inside physical memory, permissions,
   * alignment (a misaligned RISC-V superpage; x86 rejected one as reserved bits already), the
   * final stage-2 translation, then the A/D updates.
   */
  private finish(va: number, depth: number, index: number, perms: number): WalkResult {
    const { g, rules } = this;
    const e = this.entries[depth];
    const pageBits = pageBitsAt(g, depth);
    const frame = leafFrame(g, e.lo, e.hi, depth);
    this.record(depth, index, 'leaf', frame);
    const pa = frame + modPow2(va, pageBits);
    const basePage = pa - modPow2(va, g.offsetBits);
    if (basePage + pow2(g.offsetBits) > this.limit) return this.fail('reserved', depth);
    perms = rules.foldLeaf(this.pos, perms, e.lo, e.hi) | (this.dirty(e) ? PERM_DIRTY : 0);
    if (!rules.permits(perms, this.access, this.user, this.sw)) return this.fail('protection', depth);
    if (misalignedBits(g, e.lo, e.hi, depth) !== 0) return this.fail('page', depth);
    const hostPa = this.translate(pa, 'final', this.access, levelsOf(g));
    if (hostPa < 0) return this.stage2Failure!;
    const adWrites = this.opts.updateAD ? this.setAccessedDirty(depth) : 0;
    if (this.opts.updateAD && this.access === WRITE) perms |= PERM_DIRTY;
    return { ok: true, pa: hostPa, stage1Pa: pa, pageBits, perms, leafDepth: depth, refs: this.refs, adWrites, steps: this.steps ?? NO_STEPS };
  }

  /** The leaf's D bit (a format without one counts as dirty, so writes never re-walk for it). */
  private dirty(e: RawEntry): boolean {
    return this.pos.dirty === undefined || testBit(e.lo, e.hi, this.pos.dirty);
  }

  /**
   * Reads the entry at `address` (through stage 2) for `depth` and counts the reference.
   * Returns undefined after a stage-2 fault (`stage2Failure` holds the result).
   */
  private readAt(address: number, depth: number): RawEntry | undefined {
    const host = this.translate(address, 'table', this.opts.updateAD ? WRITE : READ, depth);
    if (host < 0) return undefined;
    this.refs++;
    this.addresses[depth] = address;
    this.hosts[depth] = host;
    return (this.entries[depth] = readEntry(this.g.entry, this.bus, host, { lo: 0, hi: 0 }));
  }

  /** `address` through the stage-2 callback (identity without one); -1 after a stage-2 fault. */
  private translate(address: number, use: 'table' | 'final', access: AccessKind, depth: number): number {
    const stage2 = this.opts.stage2;
    if (!stage2) return address;
    const r = stage2(address, use, access);
    this.refs += r.refs;
    if (r.ok) return r.pa;
    this.stage2Failure = this.failWith({ kind: r.fault.kind, depth, stage: 2, address, inner: r.fault });
    return -1;
  }

  /**
   * Sets A in the leaf and, where the rules say so (x86), in every table entry above it, and D
   * in the leaf on a write; returns the memory writes made.
   */
  private setAccessedDirty(leafDepth: number): number {
    const { accessed, dirty } = this.pos;
    let writes = 0;
    for (let depth = this.rules.accessedInTables ? 0 : leafDepth; depth <= leafDepth; depth++) {
      const old = this.entries[depth];
      const e = { lo: old.lo, hi: old.hi };
      if (accessed !== undefined) putBit(e, accessed, true);
      if (depth === leafDepth && this.access === WRITE && dirty !== undefined) putBit(e, dirty, true);
      writes += writeEntryChanges(this.g.entry, this.bus as PhysicalBus, this.hosts[depth], e, old);
    }
    return writes;
  }

  /** Appends the step of `depth` (when tracing). */
  private record(depth: number, index: number, role: WalkStep['role'], next: number): void {
    if (!this.steps) return;
    const f = this.g.entry;
    const { lo, hi } = this.entries[depth];
    this.steps.push({
      depth,
      index,
      entryAddress: this.addresses[depth],
      hostAddress: this.hosts[depth],
      lo,
      hi,
      hex: entryHex(f, lo, hi),
      flags: decodeFlags(f, lo, hi),
      pfn: readPfn(f, lo, hi),
      role,
      next,
    });
  }

  fail(kind: WalkFaultKind, depth: number): WalkFailed {
    return this.failWith({ kind, depth, stage: 1 });
  }

  private failWith(fault: WalkFault): WalkFailed {
    return { ok: false, fault, refs: this.refs, adWrites: 0, steps: this.steps ?? NO_STEPS };
  }
}
