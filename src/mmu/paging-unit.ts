// The paging hardware behind the Pager face: a one-entry-per-access-kind "last page" cache in
// front of a set-associative TLB, in front of the walker (paging/walk.ts) with A/D updates.
//
// Fast path (translate): the last page used for this (access, mode) pair, a typed-array
// compare and an add. Each hot entry mirrors one TLB slot and is dropped with it (eviction,
// invlpg, flush, PTBR or switch change), so it never holds a translation the TLB does not.
//
// On a TLB hit the access is checked against the cached combined permissions with one table
// lookup. A hit whose permissions forbid the access, or a write whose cached D is clear, drops
// the entry and walks again (the walk then faults, or sets D, exactly as a fresh walk would).

import { memFault, pagingErrorCode, type Access, type MemFault } from './fault.js';
import type { PhysicalMemory } from './memory.js';
import type { Pager, PagerSwitches } from './pager.js';
import { Tlb, type TlbConfig, type TlbEntry, type TlbState } from './tlb.js';
import {
  NO_SWITCHES,
  PERM_DIRTY,
  permissionTable,
  RULES,
  validateGeometry,
  walk,
  WRITE,
  type Geometry,
  type WalkFault,
  type WalkOptions,
  type WalkResult,
} from '../paging/index.js';

export interface PagingConfig {
  readonly geometry: Geometry;
  readonly tlb: TlbConfig;
}

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

const SLOTS = 6;

export class PagingUnit implements Pager {
  fault: MemFault = memFault('page', 0);
  readonly tlb: Tlb;
  readonly pageBytes: number;
  private readonly offsetBits: number;
  private readonly offsetMask: number;
  private root = 0;
  private sw: PagerSwitches = { ...NO_SWITCHES };
  /** per combined-permission value: the mask of access slots it allows under `sw` */
  private allow: Uint8Array;
  /** whether fetch faults report I/D: the geometry's rules under `sw` */
  private fetchesChecked: boolean;
  private walkOptions: WalkOptions[] = [];
  /** last-page cache per access slot: virtual page, base-page frame, TLB slot mirrored */
  private readonly hotVpn = new Int32Array(SLOTS).fill(-1);
  private readonly hotFrame = new Float64Array(SLOTS);
  private readonly hotTlbSlot = new Int32Array(SLOTS).fill(-1);
  onDrop: (() => void) | undefined = undefined;
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
  ) {
    const errors = validateGeometry(geometry);
    if (errors.length > 0) throw new Error(`PagingUnit: geometry '${geometry.name}' is invalid: ${errors.join('; ')}`);
    this.offsetBits = geometry.offsetBits;
    this.offsetMask = 2 ** geometry.offsetBits - 1;
    this.pageBytes = 2 ** geometry.offsetBits;
    this.tlb = new Tlb(tlb, geometry.offsetBits);
    this.allow = permissionTable(geometry, this.sw);
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
    const tlb = this.tlb;
    const i = tlb.lookup(vpn);
    if (i >= 0) {
      const perms = tlb.perms[i];
      if ((this.allow[perms] >> s) & 1 && (access !== WRITE || perms & PERM_DIRTY)) {
        this.remember(s, vpn, i);
        return tlb.frames[i] + (va & this.offsetMask);
      }
      this.dropSlot(i);
      this.refreshes++;
    }
    return this.walkAndFill(va, vpn, s);
  }

  /** Walks with A/D updates; on success fills the TLB and the hot entry of slot `s`. */
  private walkAndFill(va: number, vpn: number, s: number): number {
    const r = this.walkWith(va, this.walkOptions[s]);
    if (!r.ok) return this.raise(r.fault, va, s);
    const i = this.tlb.fill(vpn, r.pa - (va & this.offsetMask), r.perms, r.pageBits);
    this.onDrop?.();
    if (i >= 0) {
      this.forgetHot(i);
      this.remember(s, vpn, i);
    }
    return r.pa;
  }

  /** Runs the walker from the current root and adds its counts. */
  private walkWith(va: number, options: WalkOptions): WalkResult {
    const r = walk(this.geometry, this.mem, this.root, va, options);
    this.walks++;
    this.walkRefs += r.refs;
    this.lastWalkRefs = r.refs;
    this.adWrites += r.adWrites;
    return r;
  }

  /** Records a walk fault as `fault` with its error code (x86 positions); returns -1. */
  private raise(f: WalkFault, va: number, s: number): number {
    const error = pagingErrorCode(f.kind, (s >> 1) as Access, (s & 1) === 1, this.fetchesChecked);
    this.fault = memFault(f.kind, va, error, f.depth);
    this.faults++;
    return -1;
  }

  private remember(s: number, vpn: number, tlbSlot: number): void {
    this.hotVpn[s] = vpn;
    this.hotFrame[s] = this.tlb.frames[tlbSlot];
    this.hotTlbSlot[s] = tlbSlot;
  }

  /** Drops TLB slot `i` and every hot entry mirroring it. */
  private dropSlot(i: number): void {
    this.tlb.drop(i);
    this.onDrop?.();
    this.forgetHot(i);
  }

  private forgetHot(tlbSlot: number): void {
    for (let s = 0; s < SLOTS; s++) {
      if (this.hotTlbSlot[s] === tlbSlot) this.hotVpn[s] = -1;
    }
  }

  private clearHot(): void {
    this.hotVpn.fill(-1);
    this.onDrop?.();
  }

  setRoot(ptbr: number): void {
    this.root = ptbr >>> 0;
    this.flush();
  }

  setSwitches(s: PagerSwitches): void {
    this.sw = { wp: s.wp, nxe: s.nxe, sum: s.sum };
    this.allow = permissionTable(this.geometry, this.sw);
    this.fetchesChecked = RULES[this.geometry.rules].checksFetches(this.geometry.entry, this.sw);
    this.walkOptions = this.makeWalkOptions();
    this.flush();
  }

  invalidate(va: number): void {
    this.tlb.invalidate(va >>> 0);
    this.clearHot();
  }

  flush(): void {
    this.tlb.flush();
    this.clearHot();
  }

  /** One walk-options object per access slot (no allocation per walk for them). */
  private makeWalkOptions(): WalkOptions[] {
    const out: WalkOptions[] = [];
    for (let s = 0; s < SLOTS; s++) {
      out[s] = { access: (s >> 1) as Access, user: (s & 1) === 1, switches: this.sw, updateAD: true, trace: false };
    }
    return out;
  }

  // ---------------------------------------------------------------- cold: inspection and state

  get ptbr(): number {
    return this.root;
  }

  get switches(): PagerSwitches {
    return { ...this.sw };
  }

  /** A side-effect-free traced walk from the current root (no A/D, no TLB fill, no counters). */
  inspect(va: number, access: Access, user: boolean): WalkResult {
    return walk(this.geometry, this.mem, this.root, va >>> 0, { access, user, switches: this.sw });
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

  counters(): PagingCounters {
    return {
      tlbHits: this.tlb.hits + this.hotHits - this.refreshes,
      tlbMisses: this.tlb.misses + this.refreshes,
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

/** The paging hardware for a machine: `config.geometry` with a TLB of `config.tlb`. */
export function createPager(mem: PhysicalMemory, config: PagingConfig): PagingUnit {
  return new PagingUnit(mem, config.geometry, config.tlb);
}
