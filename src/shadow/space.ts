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

import { entryBits, hasBits, leafAddress, leafEntry, levelsOf, modPow2, pageBitsAt, pow2, readEntry, readPfn, roleOf, tableBytes, NO_SWITCHES, writeEntry, type EntryBits, type Geometry, type PhysicalBus, type RawEntry, type Switches } from '../paging/index.js';

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

/**
 * A change as the log keeps it, and an entry's value as a change keeps it: instances of classes of
 * their own, not object literals, whose shapes V8 shares with every literal of the same fields in
 * the program. After the rest of `shadowlab bench` had run, logging a change through literals
 * took about 0.7 µs instead of 0.1.
 */
class LoggedChange implements ShadowChange {
  constructor(
    readonly seq: number,
    readonly event: number,
    readonly cause: string,
    readonly reason: ShadowReason,
    readonly guestRoot: number,
    readonly view: ShadowView,
    readonly gva: number,
    readonly hostAddress: number,
    readonly before: Readonly<RawEntry>,
    readonly after: Readonly<RawEntry>,
  ) {}
}

class LoggedEntry implements RawEntry {
  constructor(
    public lo: number,
    public hi: number,
  ) {}
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

  /** Records the change of the entry at `hostAddress` of `space` for guest page `gva`, stamped with the current exit; `before` and `after` are kept as given (never written afterwards). */
  record(reason: ShadowReason, space: Pick<ShadowChange, 'guestRoot' | 'view'>, gva: number, hostAddress: number, before: Readonly<RawEntry>, after: Readonly<RawEntry>): void {
    this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
    this.kept.push(new LoggedChange(this.total++, this.event, this.cause, reason, space.guestRoot, space.view, gva, hostAddress, before, after));
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

/** The entry of an unmapped page: written by `dropPage` and `clear`, and the `after` of their changes (one object, never written). */
const NOT_PRESENT: Readonly<RawEntry> = new LoggedEntry(0, 0);
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
    this.eachLeaf((gva, at, e) => out.push([gva, at, { lo: e.lo, hi: e.hi }]));
    return out;
  }

  /**
   * Drops every mapping (one logged change per present leaf) and gives the tables below the root
   * back; pinned pages are then mapped again (logged too: their tables are new).
   */
  clear(reason: ShadowReason): void {
    this.eachLeaf((gva, at) => this.change(at, gva, NOT_PRESENT, reason));
    const rootBytes = tableBytes(this.geometry, 0);
    for (let i = 0; i < rootBytes; i += 4) this.host.write32(this.root + i, 0);
    this.pool.release(this.pages.splice(1));
    for (const [gva, e] of this.pinned) this.setPage(gva, e, 'vmm region');
  }

  /** Gives every table page back to the pool (the space must not be used afterwards). */
  release(): void {
    this.pool.release(this.pages.splice(0));
  }

  private change(at: number, gva: number, entry: Readonly<RawEntry>, reason: ShadowReason): void {
    const g = this.geometry;
    const before = readEntry(g.entry, this.host, at, new LoggedEntry(0, 0));
    if (before.lo === entry.lo && before.hi === entry.hi) return;
    writeEntry(g.entry, this.host, at, entry);
    const after = entry === NOT_PRESENT ? NOT_PRESENT : new LoggedEntry(entry.lo >>> 0, entry.hi >>> 0);
    this.log.record(reason, this, gva - modPow2(gva, g.offsetBits), at, before, after);
  }

  private newTable(): number {
    const a = this.pool.alloc();
    this.pages.push(a);
    return a;
  }

  /**
   * Calls `visit` for every present leaf, in address order, with its guest virtual page, the host
   * address of its entry and the entry (a scratch object, valid during the call only): read from
   * the tables in host memory as it goes. `visit` may rewrite the entry it is given, and only that.
   */
  private eachLeaf(visit: (gva: number, at: number, e: Readonly<RawEntry>) => void): void {
    this.visitTable(this.root, 0, 0, visit);
  }

  private visitTable(table: number, depth: number, base: number, visit: (gva: number, at: number, e: Readonly<RawEntry>) => void): void {
    const g = this.geometry;
    const f = g.entry;
    const present = entryBits(f);
    const span = pow2(pageBitsAt(g, depth));
    const last = depth === levelsOf(g) - 1;
    const end = table + tableBytes(g, depth);
    for (let at = table, gva = base; at < end; at += f.bytes, gva += span) {
      const e = readEntry(f, this.host, at, this.scratch);
      if (!hasBits(e.lo, e.hi, present.presentLo, present.presentHi)) continue;
      const role = last ? 'leaf' : roleOf(g, e.lo, e.hi, depth, READ_BACK); // a present entry of the last level is a leaf, whatever its bits
      if (role === 'leaf') visit(gva, at, e);
      else if (role === 'table') this.visitTable(readPfn(f, e.lo, e.hi) * pow2(g.offsetBits), depth + 1, gva, visit);
    }
  }
}

/** The shadow leaf mapping host frame `hpa` with the given accesses allowed (A and D preset). */
export function shadowEntry(g: Geometry, hpa: number, allow: { readonly read: boolean; readonly write: boolean; readonly exec: boolean }): RawEntry {
  return leafEntry(g, hpa, levelsOf(g) - 1, { ...allow, user: true, accessed: true, dirty: true });
}

/** The accesses a shadow leaf grants, as bits of a grant mask (grantMask). */
export const GRANT_READ = 1;
export const GRANT_WRITE = 2;
export const GRANT_EXEC = 4;
export const GRANT_USER = 8;

/**
 * The accesses shadow leaf (lo, hi) grants a real user-mode access, as GRANT_* bits, read from
 * its bits by the masks `b` of its format: a format without a bit (tiny has only a valid bit)
 * allows what the bit would govern; x86 pages are always readable, and executable unless NX.
 */
export function grantMask(b: EntryBits, lo: number, hi: number): number {
  const exec = hasMask(b.noExecuteLo, b.noExecuteHi) ? !hasBits(lo, hi, b.noExecuteLo, b.noExecuteHi) : allows(lo, hi, b.executableLo, b.executableHi);
  return (
    (allows(lo, hi, b.readableLo, b.readableHi) ? GRANT_READ : 0) |
    (allows(lo, hi, b.writableLo, b.writableHi) ? GRANT_WRITE : 0) |
    (exec ? GRANT_EXEC : 0) |
    (allows(lo, hi, b.userLo, b.userHi) ? GRANT_USER : 0)
  );
}

/** Whether the format has the bit of the mask pair (maskLo, maskHi). */
function hasMask(maskLo: number, maskHi: number): boolean {
  return (maskLo | maskHi) !== 0;
}

/** Whether (lo, hi) allows what the bit of (maskLo, maskHi) governs: the bit is set, or the format has no such bit. */
function allows(lo: number, hi: number, maskLo: number, maskHi: number): boolean {
  return !hasMask(maskLo, maskHi) || hasBits(lo, hi, maskLo, maskHi);
}

/** The accesses shadow leaf `e` grants a real user-mode access (grantMask, by name). */
export function entryGrants(g: Geometry, e: Readonly<RawEntry>): { readonly read: boolean; readonly write: boolean; readonly exec: boolean; readonly user: boolean } {
  const m = grantMask(entryBits(g.entry), e.lo, e.hi);
  return { read: (m & GRANT_READ) !== 0, write: (m & GRANT_WRITE) !== 0, exec: (m & GRANT_EXEC) !== 0, user: (m & GRANT_USER) !== 0 };
}
