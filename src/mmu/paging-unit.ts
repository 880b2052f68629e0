// The paging hardware behind the Pager face: a one-entry-per-access-kind "last page" cache in
// front of a set-associative TLB, in front of the walker (paging/walk.ts) with A/D updates,
// and — for nested paging — stage 2: every guest table address and the final guest-physical
// address walked again through a real gPA -> hPA table in host memory (paging/nested.ts).
//
// Fast path (translate): the last page used for this (access, mode) pair, a typed-array
// compare and an add. Each hot entry mirrors one TLB slot and is dropped with it (eviction,
// invlpg, flush, PTBR, stage-2 root or switch change), so it never holds a translation the
// TLB does not.
//
// On a TLB hit the access is checked against the cached combined permissions with one table
// lookup. A hit whose permissions forbid the access, or a write whose cached D is clear, drops
// the entry and walks again (the walk then faults, or sets D, exactly as a fresh walk would).
// A miss walks into one reused WalkState: no allocation per walk.
//
// Under stage 2 a TLB entry caches gVA -> hPA; its permission byte is the guest's PERM_* bits
// (D = dirty in both stages) plus, from bit HOST_SHIFT up, the accesses the host allows.

import { memFault, pagingErrorCode, stage2ErrorCode, type Access, type MemFault, type Stage2Detail } from './fault.js';
import type { PhysicalMemory } from './memory.js';
import type { DropListener, Pager, PagerSwitches } from './pager.js';
import { Tlb, type TlbConfig, type TlbEntry, type TlbState } from './tlb.js';
import {
  accessSlot,
  NO_SWITCHES,
  PERM_DIRTY,
  PERM_VALUES,
  permissionTable,
  RULES,
  Stage2Walker,
  stage2AccessMasks,
  tableAccessFor,
  validateGeometry,
  walk,
  walk2D,
  walkInto,
  WalkState,
  WRITE,
  type AccessKind,
  type Geometry,
  type Walk2D,
  type WalkOptions,
  type WalkResult,
} from '../paging/index.js';

/** Nested paging: the gPA -> hPA table the paging unit walks as stage 2. */
export interface Stage2Config {
  /** the host table's geometry (may differ from the guest's) */
  readonly geometry: Geometry;
  /** host-physical address of its root table */
  readonly root: number;
  /** guest-physical memory size: guest tables and frames at or past it are the guest's reserved faults; default 2^32 */
  readonly guestSize?: number;
}

export interface PagingConfig {
  readonly geometry: Geometry;
  readonly tlb: TlbConfig;
  readonly stage2?: Stage2Config;
}

/** Bits of a cached permission byte above the guest's PERM_* bits: the accesses stage 2 allows. */
export const HOST_SHIFT = 5;

export interface PagingCounters {
  /** translations served by the TLB without a walk (the last-page cache included) */
  readonly tlbHits: number;
  /** translations that walked: the page was not cached, or its entry was refreshed */
  readonly tlbMisses: number;
  /** walks made (= tlbMisses) */
  readonly walks: number;
  /** misses whose page was cached but dropped and re-walked: permissions forbid the access, or a write found D clear */
  readonly refreshes: number;
  /** entry reads made by all walks (counted by the walker) */
  readonly walkRefs: number;
  /** entry reads of the last walk */
  readonly lastWalkRefs: number;
  /** A/D writes made by all walks */
  readonly adWrites: number;
  readonly faults: number;
}

/** What a run's real MMU did: TLB misses, and the table entries its walks read. */
export interface MmuFigures {
  readonly misses: number;
  readonly refs: number;
}

/** The MMU figures of `pager` so far, or undefined when it is no paging unit (segment machines). */
export function mmuFigures(pager: Pager | undefined): MmuFigures | undefined {
  if (!(pager instanceof PagingUnit)) return undefined;
  return { misses: pager.tlbMisses, refs: pager.walkReferences };
}

const SLOTS = 6;

export class PagingUnit implements Pager {
  fault: MemFault = memFault('page', 0);
  /** TLB flushes and invalidations so far, whatever caused them (a root or switch change, invlpg, tlbflush): what a checker watches */
  invalidations = 0;
  readonly tlb: Tlb;
  /** bytes translated linearly by one TLB entry: the guest's base page, or the host's if smaller */
  readonly pageBytes: number;
  private readonly offsetBits: number;
  private readonly offsetMask: number;
  private root = 0;
  private sw: PagerSwitches = { ...NO_SWITCHES };
  /** per cached permission byte: the mask of access slots it allows under `sw` */
  private allow: Uint8Array;
  /** whether fetch faults report I/D: the geometry's rules under `sw` */
  private fetchesChecked: boolean;
  private walkOptions: WalkOptions[] = [];
  /** the walk of every miss, reused */
  private readonly state: WalkState;
  /** stage 2 (nested paging), when configured */
  private readonly stage2: Stage2Walker | undefined;
  private readonly guestSize: number | undefined;
  /** per host permission value: the accesses stage 2 allows (bit = access kind) */
  private readonly hostAccess: Uint8Array | undefined;
  /** last-page cache per access slot: virtual page, base-page frame, TLB slot mirrored */
  private readonly hotVpn = new Int32Array(SLOTS).fill(-1);
  private readonly hotFrame = new Float64Array(SLOTS);
  private readonly hotTlbSlot = new Int32Array(SLOTS).fill(-1);
  dropListener: DropListener | undefined = undefined;
  /** the TLB slot last remembered in a hot entry (0 before any: checked against the page before use) */
  private lastSlot = 0;
  private hotHits = 0;
  private walks = 0;
  private refreshes = 0;
  private walkRefs = 0;
  private lastWalkRefs = 0;
  private adWrites = 0;
  private faults = 0;

  constructor(
    private readonly mem: PhysicalMemory,
    readonly geometry: Geometry,
    tlb: TlbConfig,
    stage2?: Stage2Config,
  ) {
    checkGeometry(geometry, 'geometry');
    if (stage2) checkGeometry(stage2.geometry, 'stage-2 geometry');
    this.state = new WalkState(geometry);
    this.offsetBits = Math.min(geometry.offsetBits, stage2?.geometry.offsetBits ?? 32);
    this.offsetMask = 2 ** this.offsetBits - 1;
    this.pageBytes = 2 ** this.offsetBits;
    this.tlb = new Tlb(tlb, this.offsetBits);
    this.translatePhysical = stage2 ? (gpa, n, access, user) => this.physical(gpa, n, access, user) : undefined;
    if (stage2) {
      this.stage2 = new Stage2Walker(stage2.geometry, mem, stage2.root >>> 0, true);
      this.hostAccess = stage2AccessMasks(stage2.geometry);
      this.guestSize = stage2.guestSize;
    }
    this.allow = this.permissionBytes();
    this.fetchesChecked = RULES[geometry.rules].checksFetches(geometry.entry, this.sw);
    this.walkOptions = this.makeWalkOptions();
  }

  /** Hot path: see the file comment. Returns the physical address, or -1 with `fault` set. */
  translate(va: number, access: Access, user: boolean): number {
    const s = (access << 1) | (user ? 1 : 0);
    if (this.hotVpn[s] === va >>> this.offsetBits) {
      this.hotHits++;
      return this.hotFrame[s] + (va & this.offsetMask);
    }
    return this.lookup(va, access, s);
  }

  /** The TLB level: a usable hit refills the hot entry; otherwise the page is walked. */
  private lookup(va: number, access: Access, s: number): number {
    const vpn = va >>> this.offsetBits;
    const i = this.tlb.lookup(vpn);
    if (i >= 0) {
      if (this.serves(i, access, s)) return this.served(i, va, vpn, s);
      this.dropSlot(i);
      this.refreshes++;
    }
    return this.walkAndFill(va, vpn, s);
  }

  /** Pager.cachedTranslation: the TLB level of `lookup`, without its walk, refresh or counters. */
  cachedTranslation(va: number, access: Access, user: boolean): number {
    const vpn = va >>> this.offsetBits;
    const s = (access << 1) | (user ? 1 : 0);
    const last = this.lastSlot; // usually the slot just served for another access to the page
    const i = this.tlb.vpns[last] === vpn ? last : this.tlb.find(vpn);
    return i >= 0 && this.serves(i, access, s) ? this.served(i, va, vpn, s) : -1;
  }

  /**
   * Whether TLB slot `i` serves `access` from access slot `s` with no side effect: its cached
   * permissions allow it and, for a write, D is set (else the page is walked again).
   */
  private serves(i: number, access: Access, s: number): boolean {
    const perms = this.tlb.perms[i];
    return ((this.allow[perms] >> s) & 1) !== 0 && (access !== WRITE || (perms & PERM_DIRTY) !== 0);
  }

  /** The address `va` translates to through TLB slot `i`, which becomes access slot `s`'s hot entry. */
  private served(i: number, va: number, vpn: number, s: number): number {
    this.remember(s, vpn, i);
    return this.tlb.frames[i] + (va & this.offsetMask);
  }

  /** Walks with A/D updates; on success fills the TLB and the hot entry of slot `s`. */
  private walkAndFill(va: number, vpn: number, s: number): number {
    const w = this.state;
    const ok = walkInto(w, this.mem, this.root, va, this.walkOptions[s]);
    this.walks++;
    this.walkRefs += w.refs;
    this.lastWalkRefs = w.refs;
    this.adWrites += w.adWrites;
    if (!ok) return this.raise(va, s);
    const perms = this.stage2 ? this.combined(w.perms, this.stage2.finalPerms) : w.perms;
    const i = this.tlb.fill(vpn, w.pa - (va & this.offsetMask), perms, w.pageBits);
    if (i < 0) {
      this.dropListener?.translationsDropped();
      return w.pa;
    }
    if (this.forgetHot(i)) this.dropListener?.translationsDropped();
    this.remember(s, vpn, i);
    return w.pa;
  }

  /**
   * Nested paging with the guest's paging off (see Pager.translatePhysical; set only on a paging
   * unit with a stage 2): stage 2 alone, not cached in the TLB (the machine's translation
   * windows cache it per page).
   */
  readonly translatePhysical: ((gpa: number, n: number, access: Access, user: boolean) => number) | undefined;

  private physical(gpa: number, n: number, access: Access, user: boolean): number {
    const s2 = this.stage2!;
    if (this.guestSize !== undefined && gpa + n > this.guestSize) return -2;
    const r = s2.translate(gpa, 'final', access);
    this.walkRefs += r.refs;
    if (r.ok) return r.pa;
    const host: Stage2Detail = { kind: r.fault.kind, depth: r.fault.depth };
    this.fault = { kind: 'stage2', va: gpa, error: stage2ErrorCode(host.kind, access, user, false), depth: 0, gpa, stage2: host };
    this.faults++;
    return -1;
  }

  /** The permission byte cached for guest permissions `guest` and host permissions `host`. */
  private combined(guest: number, host: number): number {
    const dirty = guest & host & PERM_DIRTY;
    return (guest & ~PERM_DIRTY) | dirty | (this.hostAccess![host] << HOST_SHIFT);
  }

  /**
   * Records the failed walk in `state` as `fault` with its error code (x86 positions; a
   * stage-2 fault gets stage2ErrorCode and keeps the guest-physical address); returns -1.
   */
  private raise(va: number, s: number): number {
    const w = this.state;
    const access = (s >> 1) as Access;
    const user = (s & 1) === 1;
    if (w.stage === 2) {
      const host: Stage2Detail = { kind: w.inner!.kind, depth: w.inner!.depth };
      const error = stage2ErrorCode(host.kind, access, user, w.depth < w.levels);
      this.fault = { kind: 'stage2', va, error, depth: w.depth, gpa: w.address, stage2: host };
    } else {
      this.fault = memFault(w.faultKind, va, pagingErrorCode(w.faultKind, access, user, this.fetchesChecked), w.depth);
    }
    this.faults++;
    return -1;
  }

  private remember(s: number, vpn: number, tlbSlot: number): void {
    this.lastSlot = tlbSlot;
    this.hotVpn[s] = vpn;
    this.hotFrame[s] = this.tlb.frames[tlbSlot];
    this.hotTlbSlot[s] = tlbSlot;
  }

  /** Drops TLB slot `i` and every hot entry mirroring it. */
  private dropSlot(i: number): void {
    this.tlb.drop(i);
    this.dropListener?.translationsDropped();
    this.forgetHot(i);
  }

  /** Forgets every hot entry mirroring TLB slot `tlbSlot`; returns whether there was one. */
  private forgetHot(tlbSlot: number): boolean {
    let found = false;
    for (let s = 0; s < SLOTS; s++) {
      if (this.hotTlbSlot[s] === tlbSlot && this.hotVpn[s] !== -1) {
        this.hotVpn[s] = -1;
        found = true;
      }
    }
    return found;
  }

  private clearHot(): void {
    this.hotVpn.fill(-1);
    this.dropListener?.translationsDropped();
  }

  setRoot(ptbr: number): void {
    this.root = ptbr >>> 0;
    this.flush();
  }

  /**
   * Nested paging: a new gPA -> hPA root (the VMM switching VMs). The TLB caches gVA -> hPA
   * without a VM tag, so it is flushed (docs/paging.md says why).
   */
  setStage2Root(root: number): void {
    if (!this.stage2) throw new Error('PagingUnit.setStage2Root: this paging unit has no stage 2');
    this.stage2.root = root >>> 0;
    this.flush();
  }

  setSwitches(s: PagerSwitches): void {
    this.sw = { wp: s.wp, nxe: s.nxe, sum: s.sum };
    this.allow = this.permissionBytes();
    this.fetchesChecked = RULES[this.geometry.rules].checksFetches(this.geometry.entry, this.sw);
    this.walkOptions = this.makeWalkOptions();
    this.flush();
  }

  invalidate(va: number): void {
    this.invalidations++;
    this.tlb.invalidate(va >>> 0);
    this.clearHot();
  }

  flush(): void {
    this.invalidations++;
    this.tlb.flush();
    this.clearHot();
  }

  /** One walk-options object per access slot (no allocation per walk for them). */
  private makeWalkOptions(): WalkOptions[] {
    const out: WalkOptions[] = [];
    const stage2 = this.stage2?.translate;
    for (let s = 0; s < SLOTS; s++) {
      const access = (s >> 1) as Access;
      out[s] = { access, user: (s & 1) === 1, switches: this.sw, updateAD: true, stage2, physicalSize: this.guestSize };
    }
    return out;
  }

  /**
   * For every cached permission byte: the access slots it allows under `sw` — the guest's
   * rules on its low bits and, under stage 2, the host's allowed accesses above HOST_SHIFT.
   */
  private permissionBytes(): Uint8Array {
    const key = `${this.sw.wp ? 1 : 0}${this.sw.nxe ? 1 : 0}${this.sw.sum ? 1 : 0}${this.stage2 ? 1 : 0}`;
    let tables = PERMISSION_BYTES.get(this.geometry);
    if (!tables) PERMISSION_BYTES.set(this.geometry, (tables = new Map()));
    let table = tables.get(key);
    if (!table) tables.set(key, (table = this.computePermissionBytes()));
    return table;
  }

  /** permissionBytes' table, computed (permissionBytes keeps it in PERMISSION_BYTES). */
  private computePermissionBytes(): Uint8Array {
    const guest = permissionTable(this.geometry, this.sw);
    const table = new Uint8Array(256);
    for (let p = 0; p < 256; p++) {
      const host = p >> HOST_SHIFT;
      let hostSlots = 0;
      for (const a of [0, 1, 2] as AccessKind[]) if ((host >> a) & 1) hostSlots |= (1 << accessSlot(a, false)) | (1 << accessSlot(a, true));
      table[p] = this.stage2 ? guest[p & (PERM_VALUES - 1)] & hostSlots : guest[p & (PERM_VALUES - 1)];
    }
    return table;
  }

  // ---------------------------------------------------------------- cold: inspection and state

  get ptbr(): number {
    return this.root;
  }

  get switches(): PagerSwitches {
    return { ...this.sw };
  }

  /** Nested paging: the host-physical root of the gPA -> hPA table (undefined without stage 2). */
  get stage2Root(): number | undefined {
    return this.stage2?.root;
  }

  /**
   * A side-effect-free traced walk from the current root (no A/D, no TLB fill, no counters);
   * under stage 2 every step's hostAddress and the result's pa are host-physical.
   */
  inspect(va: number, access: Access, user: boolean): WalkResult {
    const s2 = this.stage2;
    const stage2 = s2 && new Stage2Walker(s2.geometry, this.mem, s2.root, false).translate;
    const tableAccess = tableAccessFor(this.geometry, true);
    return walk(this.geometry, this.mem, this.root, va >>> 0, { access, user, switches: this.sw, stage2, tableAccess, physicalSize: this.guestSize });
  }

  /**
   * Both stages of `va`, side-effect free: the guest walk, under each of its steps the traced
   * stage-2 walk that located that entry, and the final gPA -> hPA walk, with the references
   * of each stage. Throws without stage 2.
   */
  inspect2D(va: number, access: Access, user: boolean): Walk2D {
    const s2 = this.stage2;
    if (!s2) throw new Error('PagingUnit.inspect2D: this paging unit has no stage 2');
    return walk2D(this.geometry, s2.geometry, this.mem, this.root, s2.root, va >>> 0, { access, user, switches: this.sw, guestSize: this.guestSize });
  }

  tlbEntries(): TlbEntry[] {
    return this.tlb.validEntries();
  }

  saveTlb(): TlbState {
    return this.tlb.save();
  }

  restoreTlb(state: TlbState): void {
    this.tlb.restore(state);
    this.clearHot();
  }

  /** Translations that walked so far (counters().tlbMisses, without building the record). */
  get tlbMisses(): number {
    return this.tlb.misses + this.refreshes;
  }

  /** Entry reads made by all walks so far (counters().walkRefs). */
  get walkReferences(): number {
    return this.walkRefs;
  }

  counters(): PagingCounters {
    return {
      tlbHits: this.tlb.hits + this.hotHits - this.refreshes,
      tlbMisses: this.tlbMisses,
      walks: this.walks,
      refreshes: this.refreshes,
      walkRefs: this.walkRefs,
      lastWalkRefs: this.lastWalkRefs,
      adWrites: this.adWrites,
      faults: this.faults,
    };
  }

  resetCounters(): void {
    this.tlb.resetCounters();
    this.hotHits = this.walks = this.refreshes = this.walkRefs = this.lastWalkRefs = this.adWrites = this.faults = 0;
  }
}

/**
 * The paging hardware for a machine: `config.geometry` with a TLB of `config.tlb`, and with
 * `config.stage2` nested paging over that host table. Throws on an invalid geometry.
 */
export function createPager(mem: PhysicalMemory, config: PagingConfig): PagingUnit {
  return new PagingUnit(mem, config.geometry, config.tlb, config.stage2);
}

/** Geometries already validated: a geometry is an immutable row, checked once, not per paging unit. */
const VALID_GEOMETRIES = new WeakSet<Geometry>();

/**
 * Per geometry and key (switches, stage 2 or not): the permission bytes of PagingUnit.allow,
 * computed once and shared, never written (the classifier makes a paging unit per state).
 */
const PERMISSION_BYTES = new WeakMap<Geometry, Map<string, Uint8Array>>();

function checkGeometry(g: Geometry, what: string): void {
  if (VALID_GEOMETRIES.has(g)) return;
  const errors = validateGeometry(g);
  if (errors.length > 0) throw new Error(`PagingUnit: ${what} '${g.name}' is invalid: ${errors.join('; ')}`);
  VALID_GEOMETRIES.add(g);
}
