// The shadow-paging strategy of memory virtualization, eager or lazy: the real MMU walks shadow
// tables (src/shadow) that map guest virtual pages straight to host frames, built by the VMM.
//
//   install   the shadow space for the guest's current root, view and paging switches (kernel view while vM is
//             supervisor, user view otherwise; one physical space while the guest's paging is
//             off) as the real PTBR, paging on, in the real (user) mode
//   classify  a real page fault is the VMM's ('repair'): every one is a shadow miss; everything
//             else as the segment VMM
//   repair    the miss resolved as the bare machine would (shadow/compose.ts): a hidden fault fills
//             the shadow and the guest retries; a true fault, or a write to a traced page, is not
//             the VMM's to fix — the instruction runs on the virtual CPU, which faults (or writes)
//             exactly as bare hardware does
//   tracing   a guest page read as a page table by any fill is mapped read-only in every space
//             (its writable mappings made read-only when it becomes one); a guest write to it runs
//             on the virtual CPU, and every space that used the page is emptied (eager: the shadow
//             never holds a translation the guest's tables no longer give)
//   lazy      a guest write to a traced LAST-LEVEL table (not also used above the last level)
//             does not exit again: the table goes out of sync — mapped writable, written directly —
//             and the shadow entries read through it may be stale, as the guest's TLB may be, until
//             the guest invalidates (below); the allowed set of a TLB permits exactly that
//   after*    a guest PTBR write, invlpg, tlbflush, PSW load or trap entry emptied the guest's TLB:
//             the real TLB is flushed too (so is it whenever a shadow entry is dropped or
//             narrowed), and, lazy, every out-of-sync table is resynchronised: the spaces that read
//             through it are emptied
//
// Spaces are cached per (guest root, view) with their tables from a pool shared by the VMs;
// when the pool runs dry the VM's other spaces are released and the fill retried once.

import { Cause, ST_MODE_MASK, ST_NXE, ST_PG, ST_SUM, ST_WP, TRAP_ERROR, TRAP_VADDR } from '../isa/arch.js';
import type { Machine, Psw } from '../isa/machine.js';
import { causeName } from '../isa/run.js';
import { ERR_FETCH, ERR_WRITE } from '../mmu/fault.js';
import type { PhysicalMemory } from '../mmu/memory.js';
import { FRAME_BITS, FRAME_SIZE, WriteLog } from '../mmu/memory.js';
import { PhysmapMemory } from '../mmu/physmap-memory.js';
import type { Physmap } from '../mmu/physmap.js';
import { FETCH, hasFlag, leafEntry, levelsOf, NO_SWITCHES, putBit, READ, readPfn, WRITE, type AccessKind, type Geometry, type RawEntry, type ReadBus, type Switches } from '../paging/index.js';
import { allowedStale, checkCoherence, resolveMiss, shadowEntry, ShadowLog, ShadowPoolExhausted, ShadowSpace, TablePool, type GuestPaging, type ShadowView } from '../shadow/index.js';
import { exitKind, realStatus, type StatusV, type VmmRegion } from './construction.js';
import { HostMemoryExhausted } from './nested-memory.js';
import { physmapPlacement, TLB_OPS, type ExitKind, type HostRange, type MemoryVirtualizer, type PlacementReport } from './virtualizer.js';
import { isUserMode } from '../isa/profile.js';


/** The key of the space that runs with the guest's paging off (guest-virtual = guest-physical). */
const PHYSICAL = -1;

/** What the shadow code did for one VM, counted where it happens. */
export interface ShadowCounts {
  /** misses filled without the guest seeing them */
  hidden: number;
  /** misses that were the guest's own faults (run on the virtual CPU, which delivered them) */
  true: number;
  /** guest writes to traced page tables (run on the virtual CPU; the spaces that used the page emptied) */
  traceWrites: number;
  /** shadow entries made read-only because their page became a guest page table */
  protected: number;
  /** spaces emptied or released to make room in the pool */
  reclaims: number;
  /** spaces created (one per guest root and view used) */
  spaces: number;
  /** lazy: last-level tables let go out of sync at a guest write (the write then runs directly) */
  unsyncs: number;
  /** lazy: resynchronisations at the guest's TLB invalidations (each empties the spaces that used an out-of-sync table) */
  resyncs: number;
  /** address space compression: guest accesses to the VMM's region, each run on the virtual CPU */
  region: number;
}

/** Eager: every write to a traced table is applied at once. Lazy: last-level tables may go out of sync until the guest invalidates. */
export type ShadowPolicy = 'eager' | 'lazy';

export class ShadowMemory implements MemoryVirtualizer {
  readonly guestMemory: PhysicalMemory;
  readonly log = new ShadowLog();
  readonly counts: ShadowCounts = { hidden: 0, true: 0, traceWrites: 0, protected: 0, reclaims: 0, spaces: 0, unsyncs: 0, resyncs: 0, region: 0 };
  private readonly spaces = new Map<string, ShadowSpace>();
  /** each space's paging switches (part of its key with the guest root and the view) */
  private readonly roles = new Map<ShadowSpace, Switches>();
  /** guest page-table pages (gPA of the page) -> the spaces whose entries were read through them */
  private readonly tableUsers = new Map<number, Set<ShadowSpace>>();
  /** guest pages (gPA) -> the shadow pages (space, gva) filled with them, possibly out of date (checked before use) */
  private readonly mappers = new Map<number, [ShadowSpace, number][]>();
  /** a traced page the virtual CPU is writing (set by repair, resynchronised after the emulation) */
  private tracedWrite: number | undefined = undefined;
  /**
   * Host frames written since the current exit began, with the contents before of frames
   * holding traced pages: what the virtual CPU wrote while the VMM handled the exit — an emulated
   * store through its own stale TLB entry, a trap frame — which no shadow miss announced
   * (settleWrites). Open from classify to the next install, closed while the guest runs
   * directly (its stores then cost nothing more).
   */
  private readonly writes: WriteLog;
  /** guest pages read as a last-level table, and as a table above it (a page may be both) */
  private readonly leafTables = new Set<number>();
  private readonly upperTables = new Set<number>();
  /** lazy: last-level tables out of sync (written directly since the last resync) */
  private readonly unsync = new Set<number>();
  private readonly page: number;
  private readonly hasNx: boolean;
  /** whether the format has a writable bit (tiny has none: traced pages are then never mapped) */
  private readonly canProtect: boolean;

  constructor(
    private readonly host: Machine,
    readonly physmap: Physmap,
    readonly geometry: Geometry,
    private readonly pool: TablePool,
    private readonly statusV: StatusV,
    readonly policy: ShadowPolicy = 'eager',
    /** address space compression: the VMM's region, pinned in every space */
    readonly region?: VmmRegion,
  ) {
    this.guestMemory = new PhysmapMemory(host.mem, physmap);
    this.writes = new WriteLog(host.mem.store, (fn) => this.tracedIn(fn));
    this.writes.close(); // until the first exit
    this.page = 2 ** geometry.offsetBits;
    this.hasNx = geometry.entry.flags.noExecute !== undefined;
    this.canProtect = geometry.entry.flags.writable !== undefined;
  }

  get name(): string {
    return `shadow-${this.policy}`;
  }

  get guestBytes(): number {
    return this.physmap.guestBytes;
  }

  /**
   * The coherence invariant over every paged space, each against its own root and switches; with
   * `history`, an entry one of its states gave is allowed (allowedStale) — whatever this object
   * believes about which tables are out of sync.
   */
  coherence(history?: readonly ReadBus[]): readonly string[] {
    const hostPageOf = this.hostPageOf;
    return this.shadowSpaces()
      .filter((space) => space.guestRoot !== PHYSICAL)
      .flatMap((space) => {
        const guest = { geometry: this.geometry, memory: this.guestMemory, root: space.guestRoot, switches: this.switchesOf(space) };
        const stale = history ? (gva: number, e: RawEntry) => allowedStale(space, guest, this.guestBytes, hostPageOf, history, gva, e) : undefined;
        return checkCoherence(space, guest, this.guestBytes, hostPageOf, stale).violations.map((v) => `${v.detail} (space of root 0x${space.guestRoot.toString(16)})`);
      });
  }

  /** The host frame of the guest page holding `gpa` as the physmap has it now (no mapping on touch), or -1: what the coherence checks compose with. */
  readonly hostPageOf = (gpa: number): number => this.physmap.hostPage(Math.floor(gpa / this.physmap.pageBytes));

  /** Lazy: out-of-sync tables make the shadow lag the guest's tables as a TLB may. */
  get lagsLikeTlb(): boolean {
    return this.policy === 'lazy';
  }

  /** The shadow spaces in the cache now (for checkers and reports). */
  shadowSpaces(): readonly ShadowSpace[] {
    return [...this.spaces.values()];
  }

  /**
   * The real PSW for the vPSW: the real mode for vM (IE on), paging on over the space for the
   * guest's root and view, NXE on when the format has an NX bit (the shadow uses it). WP and SUM
   * off where the real mode is a user mode for the page tables (they do nothing there), on where
   * it is a supervisor (x86 ring 1): WP so that a read-only shadow entry — a traced table, a page
   * whose D the guest has clear — stops the deprivileged kernel's write too, SUM so that it may
   * use the shadow's user entries. No segment — or, with segment truncation, one that ends at the
   * VMM's region.
   */
  install(host: Machine, vcpu: Machine): Psw {
    this.writes.close();
    host.pagingMode = -1;
    const space = this.withPool(() => this.spaceFor(vcpu));
    const v = vcpu.psw();
    const real = realStatus(v.status, this.statusV);
    const supervisor = !isUserMode(vcpu.compiled, real & ST_MODE_MASK);
    const status = (real & ~(ST_WP | ST_SUM | ST_NXE)) | ST_PG | (this.hasNx ? ST_NXE : 0) | (supervisor ? ST_WP | ST_SUM : 0);
    const r = this.region;
    return { pc: v.pc, status, base: 0, limit: r?.truncate ? r.va : 0, ptbr: space.root, extra: v.extra };
  }

  /** Every real trap is an exit: it numbers the shadow changes it causes (ShadowLog.event). */
  classify(cause: number, op: number, vcpu: Machine): ExitKind {
    this.log.event++;
    this.log.cause = cause === Cause.Privileged ? (vcpu.compiled.byOp[op]?.mnemonic ?? 'privileged') : causeName(vcpu.compiled, cause);
    this.writes.reopen();
    if (cause === Cause.PageFault) return 'repair';
    if (cause === Cause.Bounds && this.region?.truncate) {
      // segment truncation: the guest's access at or past the region runs on the virtual CPU
      this.counts.region++;
      return 'execute';
    }
    return exitKind(cause);
  }

  /**
   * A shadow miss at the faulting address for the access the error code names (W: write; I/D:
   * fetch; otherwise a read — a fetch wherever fetches are not checked apart). Filled: the
   * guest retries. A true fault, or a write to a traced page table: false, and the instruction
   * runs on the virtual CPU (see afterEmulate for the trace write).
   */
  repair(host: Machine, vcpu: Machine): boolean {
    const va = host.load32(TRAP_VADDR) >>> 0;
    const error = host.load32(TRAP_ERROR);
    const access: AccessKind = error & ERR_WRITE ? WRITE : error & ERR_FETCH ? FETCH : READ;
    return this.withPool(() => this.fill(vcpu, va, access));
  }

  /**
   * After an emulated instruction: a traced write resynchronised; the guest's TLB flush (a PTBR
   * write, invlpg, tlbflush, a PSW load, or a trap the virtual CPU took) mirrored on the real TLB
   * and, lazy, every out-of-sync table resynchronised.
   */
  afterEmulate(host: Machine, _vcpu: Machine, op: number): void {
    if (this.tracedWrite !== undefined) {
      this.emptyUsersOf(this.tracedWrite, 'trace write');
      this.tracedWrite = undefined;
      host.pager!.flush();
    }
    this.settleWrites(host);
    if (op < 0 || TLB_OPS.has(op)) this.guestFlushed(host);
  }

  /** A trap entry loads the guest's new PSW (and PTBR): its TLB was flushed, so is the real one. */
  afterReflect(host: Machine): void {
    this.settleWrites(host);
    this.guestFlushed(host);
  }

  /** Whether host frame `fn` holds a traced guest page (its contents are kept before a write during an exit). */
  private tracedIn(fn: number): boolean {
    for (const gpa of this.tableUsers.keys()) if (this.backing(gpa) >>> FRAME_BITS === fn) return true;
    return false;
  }

  /**
   * Every traced, in-sync page the virtual CPU changed during this exit other than by setting A
   * or D bits (what its own walks do): the spaces that read through it are emptied, as for a
   * trace write — whatever wrote it, announced by a shadow miss or not.
   */
  private settleWrites(host: Machine): void {
    const { written, before: kept } = this.writes;
    if (written.size === 0) return;
    let emptied = false;
    for (const gpa of [...this.tableUsers.keys()]) {
      if (this.unsync.has(gpa)) continue;
      const hpa = this.backing(gpa);
      if (!written.has(hpa >>> FRAME_BITS)) continue;
      const before = kept.get(hpa >>> FRAME_BITS); // absent: the page became traced after the write (then it counts as changed)
      if (!before || changedBeyondAD(this.geometry, before, this.host.mem.store.frameForRead(hpa >>> FRAME_BITS), hpa & (FRAME_SIZE - 1), this.page)) {
        this.emptyUsersOf(gpa, 'trace write');
        emptied = true;
      }
    }
    this.writes.reset();
    if (emptied) host.pager!.flush();
  }

  /** The guest's TLB was emptied (or an entry invalidated): out-of-sync tables resynchronised, the real TLB flushed. */
  private guestFlushed(host: Machine): void {
    if (this.unsync.size > 0) {
      this.counts.resyncs++;
      const pages = [...this.unsync];
      this.unsync.clear();
      for (const gpa of pages) this.emptyUsersOf(gpa, 'resync');
    }
    host.pager!.flush();
  }

  confines(): readonly HostRange[] {
    return this.physmap.claimedRanges().map(([lo, hi]) => ({ lo, hi }));
  }

  placement(): PlacementReport {
    const r = this.region;
    return { ...physmapPlacement(this.name, this.physmap), shadow: { ...this.counts, changes: this.log.total, changesByReason: { ...this.log.byReason } }, ...(r ? { vmmRegion: { va: r.va, bytes: r.bytes, truncated: r.truncate } } : {}) };
  }


  /** The guest's translation state as the virtual CPU holds it. */
  private guestPaging(vcpu: Machine): GuestPaging {
    const s = vcpu.status;
    return { geometry: this.geometry, memory: this.guestMemory as PhysmapMemory, root: vcpu.ptbr, switches: { wp: (s & ST_WP) !== 0, nxe: (s & ST_NXE) !== 0, sum: (s & ST_SUM) !== 0 } };
  }

  /**
   * The space for the guest's root, view and paging switches now (created empty on first use):
   * its entries were composed under those switches (WP widens the kernel's writes, NXE makes NX a
   * permission, SUM opens user pages to the kernel), so other switches need another space.
   */
  private spaceFor(vcpu: Machine): ShadowSpace {
    const paged = (vcpu.status & ST_PG) !== 0;
    const view: ShadowView = !isUserMode(vcpu.compiled, vcpu.status & ST_MODE_MASK) || !paged ? 'kernel' : 'user';
    const root = paged ? vcpu.ptbr : PHYSICAL;
    const sw = this.guestPaging(vcpu).switches;
    const key = `${root}:${view}:${+sw.wp}${+sw.nxe}${+sw.sum}`;
    let space = this.spaces.get(key);
    if (!space) {
      space = new ShadowSpace(this.geometry, this.host.mem, this.pool, this.log, root, view);
      this.pinRegion(space);
      this.spaces.set(key, space);
      this.roles.set(space, sw);
      this.counts.spaces++;
    }
    return space;
  }

  /**
   * Address space compression: the VMM's region mapped in `space` onto the reserve, page for
   * page, supervisor-only (the guest, in real user mode, faults on it; the VMM's entry runs there).
   */
  private pinRegion(space: ShadowSpace): void {
    const r = this.region;
    if (!r) return;
    for (let off = 0; off < r.bytes; off += this.page) space.pin(r.va + off, leafEntry(this.geometry, off, levelsOf(this.geometry) - 1, { read: true, write: true, exec: true, user: false, accessed: true, dirty: true }));
  }

  /** Whether `va` is in the VMM's region (address space compression). */
  private inRegion(va: number): boolean {
    const r = this.region;
    return r !== undefined && va >= r.va && va - r.va < r.bytes;
  }

  /** The paging switches `space`'s entries were composed under. */
  switchesOf(space: ShadowSpace): Switches {
    return this.roles.get(space) ?? NO_SWITCHES;
  }

  /** Resolves and fills one miss (see repair). */
  private fill(vcpu: Machine, va: number, access: AccessKind): boolean {
    if (this.inRegion(va)) {
      // the guest's own page where the VMM lives: never mapped for it; the access runs on the virtual CPU
      this.counts.region++;
      return false;
    }
    const space = this.spaceFor(vcpu);
    const paged = space.guestRoot !== PHYSICAL;
    const o = paged ? resolveMiss(this.guestPaging(vcpu), this.guestBytes, space.view, va, access, (gpa) => this.backing(gpa)) : this.physical(va);
    if (o.kind === 'unbacked') throw new HostMemoryExhausted(o.gpa);
    if (o.kind === 'true') {
      this.counts.true++;
      return false;
    }
    let narrowed = false;
    for (const t of o.tablePages) narrowed = this.trace(t, space) || narrowed;
    if (narrowed) this.host.pager!.flush();
    this.noteLevels(o.tablePages);
    const traced = this.tableUsers.has(o.gpa) && !this.unsync.has(o.gpa);
    if (traced && access === WRITE && this.policy === 'lazy' && this.canProtect && this.leafTables.has(o.gpa) && !this.upperTables.has(o.gpa)) {
      // lazy: a last-level table goes out of sync — writable, written directly until the guest invalidates
      this.unsync.add(o.gpa);
      this.counts.unsyncs++;
    } else if (traced && (access === WRITE || !this.canProtect)) {
      // a traced page table: a write runs on the virtual CPU and resynchronises; a format that
      // cannot say read-only never maps the page, so every access to it runs there
      if (access === WRITE) {
        this.counts.traceWrites++;
        this.tracedWrite = o.gpa;
      }
      return false;
    }
    const entry = this.tableUsers.has(o.gpa) && !this.unsync.has(o.gpa) ? readOnly(this.geometry, o.entry) : o.entry;
    space.setPage(o.gva, entry, 'hidden fault');
    const list = this.mappers.get(o.gpa) ?? [];
    list.push([space, o.gva]);
    this.mappers.set(o.gpa, list);
    this.counts.hidden++;
    return true;
  }

  /** Records which of a translation's table pages were its last level and which above it. */
  private noteLevels(tablePages: readonly number[]): void {
    tablePages.forEach((t, i) => (i === tablePages.length - 1 ? this.leafTables : this.upperTables).add(t));
  }


  /** With the guest's paging off: gVA = gPA, every access allowed inside guest memory (outside: the guest's own fault). */
  private physical(va: number): { kind: 'true' } | { kind: 'unbacked'; gpa: number } | { kind: 'hidden'; gva: number; gpa: number; entry: RawEntry; tablePages: readonly number[] } {
    const gpa = va - (va % this.page);
    if (gpa + this.page > this.guestBytes) return { kind: 'true' };
    const hpa = this.backing(gpa);
    if (hpa < 0) return { kind: 'unbacked', gpa };
    return { kind: 'hidden', gva: gpa, gpa, entry: shadowEntry(this.geometry, hpa, { read: true, write: true, exec: true }), tablePages: [] };
  }

  /**
   * Marks guest page `gpa` as a page table `space` read through; the first time, its writable
   * shadow mappings are made read-only. Returns whether one was.
   */
  private trace(gpa: number, space: ShadowSpace): boolean {
    const users = this.tableUsers.get(gpa);
    if (users) {
      users.add(space);
      return false;
    }
    this.tableUsers.set(gpa, new Set([space]));
    let narrowed = false;
    for (const [s, gva] of this.mappers.get(gpa) ?? []) {
      const e = s.entryFor(gva);
      const present = hasFlag(this.geometry.entry, e.lo, e.hi, 'present');
      if (!present || readPfn(this.geometry.entry, e.lo, e.hi) * this.page !== this.backing(gpa)) continue;
      if (!this.canProtect) s.dropPage(gva, 'protect');
      else if (hasFlag(this.geometry.entry, e.lo, e.hi, 'writable')) s.setPage(gva, readOnly(this.geometry, e), 'protect');
      else continue;
      this.counts.protected++;
      narrowed = true;
    }
    return narrowed;
  }

  /**
   * Empties every space that read a table through guest page `gpa`; those spaces no longer
   * depend on any table (pages no space depends on any more stop being traced).
   */
  private emptyUsersOf(gpa: number, reason: 'trace write' | 'resync'): void {
    const emptied = [...(this.tableUsers.get(gpa) ?? [])];
    for (const s of emptied) s.clear(reason);
    for (const [page, users] of this.tableUsers) {
      for (const s of emptied) users.delete(s);
      if (users.size === 0) this.tableUsers.delete(page);
    }
  }

  /** After spaces were emptied: no page is a known table until a fill reads it again; the reverse map starts over. */
  private forgetTables(): void {
    this.tableUsers.clear();
    this.mappers.clear();
    this.unsync.clear();
  }

  /** The host frame of the guest page at `gpa`, mapping it from the pool on first touch (-1: none left). */
  private backing(gpa: number): number {
    return (this.guestMemory as PhysmapMemory).touch(Math.floor(gpa / this.physmap.pageBytes));
  }

  /**
   * Runs `f`; when the shadow pool runs dry, empties every space of this VM (their roots kept)
   * and runs it once more, then releases every space but the ones `f` is about to use.
   */
  private withPool<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof ShadowPoolExhausted)) throw e;
    }
    this.counts.reclaims++;
    for (const s of this.spaces.values()) s.clear('reclaim');
    this.forgetTables();
    this.host.pager!.flush();
    try {
      return f();
    } catch (e) {
      if (!(e instanceof ShadowPoolExhausted)) throw e;
    }
    for (const s of this.spaces.values()) s.release();
    this.spaces.clear();
    this.roles.clear();
    return f(); // ShadowPoolExhausted again: the pool cannot hold one address space (the scenario sized it too small)
  }
}

/**
 * Whether the `bytes` bytes at word-aligned offset `at` of a frame changed from `before` to
 * `after` in any way but A or D bits set in entries of `g`'s format (1-byte formats have none).
 */
function changedBeyondAD(g: Geometry, before: Int32Array, after: Int32Array, at: number, bytes: number): boolean {
  const f = g.entry;
  const bit = (flag: 'accessed' | 'dirty') => (f.flags[flag] !== undefined && f.flags[flag]! < 32 ? 1 << f.flags[flag]! : 0);
  const ad = f.bytes === 1 ? 0 : bit('accessed') | bit('dirty');
  for (let w = at >> 2; w < (at + Math.max(bytes, 4)) >> 2; w++) {
    const mask = f.bytes === 8 && (w & 1) === 1 ? 0 : ad; // 8-byte entries: A and D are in the low word
    const b = before[w];
    const a = after[w];
    if (((b ^ a) & ~mask) !== 0 || (b & ~a & mask) !== 0) return true;
  }
  return false;
}

/** `e` with its writable bit cleared. */
function readOnly(g: Geometry, e: Readonly<RawEntry>): RawEntry {
  const r = { lo: e.lo, hi: e.hi };
  putBit(r, g.entry.flags.writable!, false);
  return r;
}
