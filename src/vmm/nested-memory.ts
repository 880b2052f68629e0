// The nested-paging strategy of memory virtualization (the hardware alternative to shadow
// tables): the real MMU walks the guest's own tables (stage 1, gVA → gPA) and translates every
// guest table address and every final address through the VM's stage-2 table (gPA → hPA), a real
// page table in host memory that the VMM builds from the VM's physmap.
//
//   install   the guest's PTBR as the stage-1 root, this VM's stage-2 root, the guest's paging
//             switches, the real mode for vM — and paging checks user/supervisor pages against
//             the VIRTUAL mode (the guest kernel runs deprivileged, its pages stay its own)
//   classify  a stage-2 fault is the VMM's own ('repair'); everything else as the segment VMM
//   repair    a guest page the physmap maps on first touch: map it (physmap + stage-2 entry) and
//             resume; anything else — a guest-physical address outside the guest's memory — the
//             guest takes itself: the instruction runs on the virtual CPU, which faults exactly as
//             bare hardware does
//   TLB       the guest has one TLB, as on bare hardware: the real TLB, which caches gVA → hPA
//             while it runs directly. Whatever runs on the virtual CPU (an emulated instruction,
//             a trap entry) first takes the real TLB's entries, host frames turned back into
//             guest-physical ones (beforeVcpu), and the real TLB takes the virtual CPU's back
//             after it (afterEmulate, afterReflect) — fills, drops and flushes included. So an
//             emulated `lpsw` reads its PSW image through the same, possibly stale, translation
//             the direct loads before it used, as the bare machine's one TLB gives it; a fresh
//             walk there would be another allowed translation, but not one the bare run picks.
//             (With stage-2 pages smaller than the guest's the two TLBs cache different page
//             sizes: then the real TLB is flushed wherever the guest's was, as a TLB may drop
//             entries at any time.)
//
// The real TLB is not tagged by VM: switching VMs flushes it (PagingUnit.setStage2Root).

import { Cause } from '../isa/arch.js';
import type { Machine, Psw } from '../isa/machine.js';
import { PhysmapMemory } from '../mmu/physmap-memory.js';
import type { Physmap } from '../mmu/physmap.js';
import type { Pager } from '../mmu/pager.js';
import type { PagingUnit } from '../mmu/paging-unit.js';
import { map, type Geometry } from '../paging/index.js';
import { exitKind, realStatus, type StatusV } from './construction.js';
import { physmapPlacement, TLB_OPS, type ExitKind, type HostRange, type MemoryVirtualizer, type PlacementReport } from './virtualizer.js';
import type { PhysicalMemory } from '../mmu/memory.js';

/** Host pages for stage-2 tables: hands out the next page of a region, or -1 when it is full. */
export class TableArea {
  private next: number;

  constructor(
    readonly lo: number,
    readonly hi: number,
    private readonly pageBytes: number,
  ) {
    this.next = lo;
  }

  /** A zeroed table page's host address (the caller clears it), or -1 when the area is full. */
  alloc(): number {
    if (this.next + this.pageBytes > this.hi) return -1;
    const a = this.next;
    this.next += this.pageBytes;
    return a;
  }

  /** Bytes used so far. */
  get used(): number {
    return this.next - this.lo;
  }
}

/**
 * Makes `to`'s TLB hold `from`'s entries and replacement state, each entry's frame mapped by
 * `frame` (an entry whose frame maps to -1 is left out: dropping an entry is always allowed).
 * `to`'s CPU is told, so it drops the translations it cached from its old entries.
 */
function copyTlb(from: Pager, to: Pager, frame: (pa: number) => number): void {
  const s = from.saveTlb();
  const entries = s.entries.flatMap((e) => {
    const f = frame(e.frame);
    return f < 0 ? [] : [{ ...e, frame: f }];
  });
  to.restoreTlb({ entries, victims: s.victims });
  to.dropListener?.translationsDropped();
}

/** A VM touched a guest page and no free host page is left to back it: the host was planned too small. */
export class HostMemoryExhausted extends Error {
  constructor(readonly gpa: number) {
    super(`the host memory pool is used up: guest-physical 0x${gpa.toString(16)} has no host page to back it (give the host more memory)`);
    this.name = 'HostMemoryExhausted';
  }
}


export class NestedMemory implements MemoryVirtualizer {
  readonly name = 'nested';
  readonly guestMemory: PhysmapMemory;
  /** host address of this VM's stage-2 root table */
  readonly root: number;
  /** stage-2 table pages of this VM (VMM memory the MMU reads and marks accessed) */
  private readonly tablePages: number[] = [];

  /**
   * Builds the VM's stage-2 table over `host` memory from `physmap` (every page mapped now; pool
   * pages as they are touched), with table pages from `tables`. Throws RangeError when the
   * table area cannot hold the table (the plan sized it, so this is a broken invariant).
   */
  constructor(
    host: Machine,
    readonly physmap: Physmap,
    readonly stage2: Geometry,
    private readonly tables: TableArea,
    private readonly statusV: StatusV,
  ) {
    this.root = this.allocTable(host.mem);
    for (const r of physmap.ranges()) this.mapRange(host.mem, r.gpa, r.hpa, r.size);
    this.guestMemory = new PhysmapMemory(host.mem, physmap);
    physmap.onMap = (gpn, hpa) => this.mapRange(host.mem, gpn * physmap.pageBytes, hpa, physmap.pageBytes);
  }

  get guestBytes(): number {
    return this.physmap.guestBytes;
  }

  /** A new, zeroed stage-2 table page. */
  private allocTable(mem: PhysicalMemory): number {
    const a = this.tables.alloc();
    if (a < 0) throw new RangeError(`nested: the stage-2 table area [0x${this.tables.lo.toString(16)}, 0x${this.tables.hi.toString(16)}) is full`);
    for (let i = 0; i < 2 ** this.stage2.offsetBits; i += 4) mem.write32(a + i, 0);
    this.tablePages.push(a);
    return a;
  }

  /** Maps guest-physical [gpa, gpa + size) to host [hpa, ...) in the stage-2 table, readable, writable, executable, user. */
  private mapRange(mem: PhysicalMemory, gpa: number, hpa: number, size: number): void {
    map(this.stage2, mem, this.root, gpa, hpa, size, { read: true, write: true, exec: true, user: true }, () => this.allocTable(mem));
  }

  /**
   * The real PSW for the vPSW: real mode for vM (IE forced on), the guest's PC, paging switches and
   * PTBR (the stage-1 root, a guest-physical address); no segment. Also installs this VM's stage-2
   * root and tells the real MMU to check pages against the virtual mode.
   */
  install(host: Machine, vcpu: Machine): Psw {
    const pager = host.pager as PagingUnit;
    if (pager.stage2Root !== this.root) pager.setStage2Root(this.root);
    host.pagingMode = vcpu.mode;
    const v = vcpu.psw();
    return { pc: v.pc, status: realStatus(v.status, this.statusV), base: 0, limit: 0, ptbr: v.ptbr, extra: v.extra };
  }

  classify(cause: number): ExitKind {
    if (cause === Cause.Stage2) return 'repair';
    // the real MMU walked the guest's own tables, in the guest's mode, through the guest's one
    // TLB (see the header): its page fault is the one bare hardware takes, delivered as recorded
    // (re-running the instruction in software would only walk again)
    if (cause === Cause.PageFault) return 'deliver';
    return exitKind(cause);
  }

  /**
   * A stage-2 fault: a guest page mapped on first touch gets its host page (the physmap's onMap
   * adds the stage-2 entry) and the guest retries. An address past the guest's memory is not the
   * VMM's to repair (the guest takes its own fault). Throws HostMemoryExhausted when a guest page
   * needs a host page and the pool has none left.
   */
  repair(host: Machine): boolean {
    const gpa = host.fault.gpa;
    if (gpa === undefined || gpa >= this.physmap.guestBytes) return false;
    const gpn = Math.floor(gpa / this.physmap.pageBytes);
    if (this.physmap.hostPage(gpn) >= 0) return false;
    if (this.guestMemory.touch(gpn) < 0) throw new HostMemoryExhausted(gpa);
    return true;
  }

  /** The virtual CPU's TLB becomes the real one's (see the header). */
  beforeVcpu(host: Machine, vcpu: Machine): void {
    if (this.sharesTlb(host, vcpu)) copyTlb(host.pager!, vcpu.pager!, (hpa) => this.guestAddress(hpa));
  }

  /** The real TLB becomes the virtual CPU's; without a shared page size, flushed after `invlpg`, `tlbflush`, a PTBR write or a repair fallback. */
  afterEmulate(host: Machine, vcpu: Machine, op: number): void {
    if (!this.handBack(host, vcpu) && (op < 0 || TLB_OPS.has(op))) host.pager!.flush();
  }

  /** As afterEmulate; without a shared page size, flushed (a trap entry loads the guest's new PSW and PTBR). */
  afterReflect(host: Machine, vcpu: Machine): void {
    if (!this.handBack(host, vcpu)) host.pager!.flush();
  }

  /** The real TLB takes the virtual CPU's entries (guest-physical frames to host ones), where the two share a page size; returns whether they do. */
  private handBack(host: Machine, vcpu: Machine): boolean {
    if (!this.sharesTlb(host, vcpu)) return false;
    copyTlb(vcpu.pager!, host.pager!, (gpa) => this.guestMemory.hostAddress(gpa));
    return true;
  }

  /** Whether the real TLB and the virtual CPU's cache the same pages (stage-2 pages as large as the guest's). */
  private sharesTlb(host: Machine, vcpu: Machine): boolean {
    return host.pager !== undefined && vcpu.pager !== undefined && host.pager.pageBytes === vcpu.pager.pageBytes;
  }

  /** The guest-physical address of host address `hpa` in this VM's memory, or -1. */
  private guestAddress(hpa: number): number {
    const gpn = this.physmap.guestPageOf(hpa);
    return gpn < 0 ? -1 : gpn * this.physmap.pageBytes + (hpa % this.physmap.pageBytes);
  }

  placement(): PlacementReport {
    return { ...physmapPlacement('nested', this.physmap), stage2Root: this.root };
  }


  confines(): readonly HostRange[] {
    const pageBytes = 2 ** this.stage2.offsetBits;
    const own = this.physmap.claimedRanges().map(([lo, hi]) => ({ lo, hi }));
    return [...own, ...this.tablePages.map((lo) => ({ lo, hi: lo + pageBytes }))];
  }
}
