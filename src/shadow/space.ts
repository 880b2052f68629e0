// A shadow address space: a page table in host memory, in the guest's geometry, that maps guest
// virtual pages straight to host frames (gVA -> hPA) — what the real MMU walks while the guest
// runs. The VMM fills it page by page (compose.ts); it is a cache of the composition of the
// guest's tables with the physmap, never the truth (coherence.ts checks it against the truth).
//
// Every change goes through one setter, `setPage` / `dropPage`, which writes the entry and
// records it in the space's ShadowLog: old and new entry, the guest page, why. The log is what
// `diff` shows and what tests read; the coherence checker never trusts it.
//
// Shadow entries map base pages only (a guest large page is split: each base page is filled on
// its own miss) and carry A and D already set, so the real MMU never writes them; the guest's
// own A and D bits are emulated (compose.ts).
//
// Table pages come from a bounded TablePool in host memory; a pool that runs dry throws
// ShadowPoolExhausted (reclaim is the caller's policy).

import { hasFlag, leafAddress, leafEntry, levelsOf, readEntry, readPfn, roleOf, tableBytes, NO_SWITCHES, writeEntry, type Geometry, type PhysicalBus, type Flag, type RawEntry, type Switches } from '../paging/index.js';

/**
 * Why a shadow entry changed (what `diff` names); `protect`: a guest page became a page table,
 * its writable mappings made read-only (tracing); `vmm region`: the VMM's own pages, pinned in
 * every space (address space compression). A guest `invlpg` or flush changes no entry by itself
 * (eager spaces are never stale; lazy ones change at the resync it causes), and a view switch
 * changes spaces, not entries (each view is a space of its own).
 */
export type ShadowReason = 'hidden fault' | 'protect' | 'trace write' | 'resync' | 'reclaim' | 'vmm region';

/** Which virtual mode's permissions a space grants (ring compression, two-mode model). */
export type ShadowView = 'kernel' | 'user';

/** One change of one shadow entry. */
export interface ShadowChange {
  /** position in the log, from 0 */
  readonly seq: number;
  /** the VMM exit it happened in (ShadowLog.event when it was recorded; 0: before the first) */
  readonly event: number;
  /** what that exit was (ShadowLog.cause then): a page fault, the instruction that trapped, the trap the guest took */
  readonly cause: string;
  readonly reason: ShadowReason;
  /** the space: the guest root it shadows and its view */
  readonly guestRoot: number;
  readonly view: ShadowView;
  /** the guest virtual page (its first address) */
  readonly gva: number;
  /** where the entry lives in host memory */
  readonly hostAddress: number;
  readonly before: Readonly<RawEntry>;
  readonly after: Readonly<RawEntry>;
}

/** The changes of every space of a VM, in order; keeps at least the newest `capacity` (at most twice that), counts all. */
export class ShadowLog {
  private readonly kept: ShadowChange[] = [];
  /** changes recorded since the log began (the next change's seq) */
  total = 0;
  /** the VMM exit being handled now (the owner counts exits); stamped on every change */
  event = 0;
  /** what that exit is (the owner says); stamped on every change */
  cause = 'start';
  /** changes recorded so far by reason (a trace write or resync drops entries: it never updates one in place) */
  readonly byReason: Partial<Record<ShadowReason, number>> = {};

  constructor(readonly capacity = 1 << 16) {}

  record(c: Omit<ShadowChange, 'seq' | 'event' | 'cause'>): void {
    this.byReason[c.reason] = (this.byReason[c.reason] ?? 0) + 1;
    this.kept.push({ seq: this.total++, event: this.event, cause: this.cause, reason: c.reason, guestRoot: c.guestRoot, view: c.view, gva: c.gva, hostAddress: c.hostAddress, before: c.before, after: c.after });
    if (this.kept.length >= 2 * this.capacity) this.kept.splice(0, this.kept.length - this.capacity); // amortized: at most 2x capacity kept
  }

  /** The kept changes with seq >= `from` (and < `to`), oldest first (the kept ones are consecutive, so this slices). */
  between(from: number, to = this.total): readonly ShadowChange[] {
    const first = this.total - this.kept.length;
    return this.kept.slice(Math.max(0, from - first), Math.max(0, to - first));
  }
}

/** The shadow table pool ran dry: the caller must reclaim a space or stop. */
export class ShadowPoolExhausted extends Error {
  constructor(readonly pool: { readonly lo: number; readonly hi: number }) {
    super(`the shadow table pool [0x${pool.lo.toString(16)}, 0x${pool.hi.toString(16)}) is full`);
    this.name = 'ShadowPoolExhausted';
  }
}

/** Host pages for shadow tables: a region handed out page by page, pages given back reused. */
export class TablePool {
  private next: number;
  private readonly free: number[] = [];

  constructor(
    readonly lo: number,
    readonly hi: number,
    readonly pageBytes: number,
  ) {
    if (lo % pageBytes !== 0 || hi % pageBytes !== 0 || hi < lo) throw new RangeError(`TablePool: [0x${lo.toString(16)}, 0x${hi.toString(16)}) is not a run of ${pageBytes}-byte pages`);
    this.next = lo;
  }

  /** A host page for a table (not cleared); throws ShadowPoolExhausted when none is left. */
  alloc(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.next + this.pageBytes > this.hi) throw new ShadowPoolExhausted(this);
    const a = this.next;
    this.next += this.pageBytes;
    return a;
  }

  /** Gives pages back. */
  release(pages: readonly number[]): void {
    this.free.push(...pages);
  }

  /** Pages in use. */
  get used(): number {
    return (this.next - this.lo) / this.pageBytes - this.free.length;
  }
}

const NOT_PRESENT: RawEntry = Object.freeze({ lo: 0, hi: 0 });
/** Switches for reading shadow entries back: NX is a permission there, never a reserved bit. */
const READ_BACK: Switches = { ...NO_SWITCHES, nxe: true };

export class ShadowSpace {
  /** host address of the root table */
  readonly root: number;
  /** host pages of this space's tables, root first */
  private readonly pages: number[] = [];
  private readonly scratch: RawEntry = { lo: 0, hi: 0 };
  /** entries kept through `clear` (the VMM's region), by guest virtual page */
  private readonly pinned: [number, RawEntry][] = [];

  /** A space with an empty root table from `pool`, shadowing guest root `guestRoot` for `view`. */
  constructor(
    readonly geometry: Geometry,
    private readonly host: PhysicalBus,
    private readonly pool: TablePool,
    private readonly log: ShadowLog,
    readonly guestRoot: number,
    readonly view: ShadowView,
  ) {
    if (pool.pageBytes !== 2 ** geometry.offsetBits) throw new RangeError(`ShadowSpace: pool pages of ${pool.pageBytes} bytes for a geometry with ${2 ** geometry.offsetBits}-byte pages`);
    this.root = this.newTable();
    for (let i = 0; i < tableBytes(geometry, 0); i += 4) host.write32(this.root + i, 0);
  }

  /** Table pages this space holds (the root included). */
  get tablePages(): number {
    return this.pages.length;
  }

  /** Maps the base page holding `gva` with `entry` (a present leaf), logging the change. */
  setPage(gva: number, entry: Readonly<RawEntry>, reason: ShadowReason): void {
    this.change(leafAddress(this.geometry, this.host, this.root, gva, () => this.newTable()), gva, entry, reason);
  }

  /** Maps the base page holding `gva` with `entry` for the space's life: `clear` maps it again. */
  pin(gva: number, entry: Readonly<RawEntry>): void {
    this.pinned.push([gva, { lo: entry.lo, hi: entry.hi }]);
    this.setPage(gva, entry, 'vmm region');
  }

  /** Unmaps the base page holding `gva` (nothing when it is not mapped), logging a change. */
  dropPage(gva: number, reason: ShadowReason): void {
    const at = leafAddress(this.geometry, this.host, this.root, gva);
    if (at >= 0) this.change(at, gva, NOT_PRESENT, reason);
  }

  /** The leaf entry for `gva` (zero when unmapped). */
  entryFor(gva: number): RawEntry {
    const at = leafAddress(this.geometry, this.host, this.root, gva);
    return at < 0 ? { lo: 0, hi: 0 } : readEntry(this.geometry.entry, this.host, at, { lo: 0, hi: 0 });
  }

  /**
   * Every present leaf, as [gva, host address of the entry, entry], in address order: read from
   * the tables in host memory (what the real MMU would walk), not from any bookkeeping.
   */
  leaves(): [number, number, RawEntry][] {
    const out: [number, number, RawEntry][] = [];
    this.collect(this.root, 0, 0, out);
    return out;
  }

  /**
   * Drops every mapping (one logged change per present leaf) and gives the tables below the root
   * back; pinned pages are then mapped again (logged too: their tables are new).
   */
  clear(reason: ShadowReason): void {
    for (const [gva, at] of this.leaves()) this.change(at, gva, NOT_PRESENT, reason);
    for (let i = 0; i < tableBytes(this.geometry, 0); i += 4) this.host.write32(this.root + i, 0);
    this.pool.release(this.pages.splice(1));
    for (const [gva, e] of this.pinned) this.setPage(gva, e, 'vmm region');
  }

  /** Gives every table page back to the pool (the space must not be used afterwards). */
  release(): void {
    this.pool.release(this.pages.splice(0));
  }

  private change(at: number, gva: number, entry: Readonly<RawEntry>, reason: ShadowReason): void {
    const g = this.geometry;
    const before = readEntry(g.entry, this.host, at, { lo: 0, hi: 0 });
    if (before.lo === entry.lo && before.hi === entry.hi) return;
    writeEntry(g.entry, this.host, at, { lo: entry.lo, hi: entry.hi });
    const page = 2 ** g.offsetBits;
    this.log.record({ reason, guestRoot: this.guestRoot, view: this.view, gva: gva - (gva % page), hostAddress: at, before, after: { lo: entry.lo >>> 0, hi: entry.hi >>> 0 } });
  }

  private newTable(): number {
    const a = this.pool.alloc();
    this.pages.push(a);
    return a;
  }

  private collect(table: number, depth: number, base: number, out: [number, number, RawEntry][]): void {
    const g = this.geometry;
    const bytes = g.entry.bytes;
    const span = 2 ** (g.offsetBits + g.indexBits.slice(depth + 1).reduce((a, b) => a + b, 0));
    const last = depth === levelsOf(g) - 1;
    for (let i = 0; i * bytes < tableBytes(g, depth); i++) {
      const at = table + i * bytes;
      const e = readEntry(g.entry, this.host, at, this.scratch);
      const role = roleOf(g, e.lo, e.hi, depth, READ_BACK);
      if (role === 'invalid') continue;
      const gva = base + i * span;
      if (last || role === 'leaf') out.push([gva, at, { lo: e.lo, hi: e.hi }]);
      else if (role === 'table') this.collect(readPfn(g.entry, e.lo, e.hi) * 2 ** g.offsetBits, depth + 1, gva, out);
    }
  }
}

/** The shadow leaf mapping host frame `hpa` with the given accesses allowed (A and D preset). */
export function shadowEntry(g: Geometry, hpa: number, allow: { readonly read: boolean; readonly write: boolean; readonly exec: boolean }): RawEntry {
  return leafEntry(g, hpa, levelsOf(g) - 1, { ...allow, user: true, accessed: true, dirty: true });
}

/**
 * The accesses shadow leaf `e` grants a real user-mode access, read from its bits: a format
 * without a bit (tiny has only a valid bit) allows what the bit would govern; x86 pages are always
 * readable, and executable unless NX.
 */
export function entryGrants(g: Geometry, e: Readonly<RawEntry>): { readonly read: boolean; readonly write: boolean; readonly exec: boolean; readonly user: boolean } {
  const f = g.entry;
  const allowed = (flag: Flag) => f.flags[flag] === undefined || hasFlag(f, e.lo, e.hi, flag);
  return {
    read: allowed('readable'),
    write: allowed('writable'),
    exec: f.flags.noExecute !== undefined ? !hasFlag(f, e.lo, e.hi, 'noExecute') : allowed('executable'),
    user: allowed('user'),
  };
}

