// The CPU's translation chain: a virtual address through the profile's region hook, the
// segment stage (base/bounds relocation), then paging (or stage 2 alone under nested paging with
// the guest's paging off) to a physical address; the faults it records instead (bounds,
// alignment, region, page fault, stage 2) and their trap causes; the translation windows the
// step loop reads and writes through while a translation surely holds (mmu/window.ts); and the
// record of the last access that traces read. The second link of the class chain (state.ts).

import type { ProfileCpu } from './cpu.js';
import { Cause, PSW_BYTES, ST_PG } from './arch.js';
import { REGION_FAULT, REGION_TRANSLATE } from './profile.js';
import { CpuState } from './state.js';
import { CYCLE_WALK } from '../mmu/bus.js';
import { Access, accessError, memFault, type MemFault } from '../mmu/fault.js';
import { FRAME_BITS, FRAME_SIZE } from '../mmu/memory.js';
import { relocate } from '../mmu/segment.js';
import { TranslationWindow } from '../mmu/window.js';

export abstract class TranslatingCpu extends CpuState implements ProfileCpu {
  private readonly useSegment = this.config.translation !== 'paging';
  private readonly endConvention = this.config.bounds === 'end';
  /**
   * Whether shareReadWindow may apply: memory addressed linearly (pa is the store's address),
   * translation by paging alone, no region hook.
   */
  private readonly writesShareReads = this.linear && this.config.translation === 'paging' && this.profile.region === undefined;

  // ---- last access, recorded when `tracing` (callers reset lastDataVa before a step) ----
  /** virtual and physical address of the last successful fetch */
  lastFetchVa = -1;
  lastFetchPa = 0;
  /** the two words of the last instruction fetched through translation (always, when tracing) */
  lastFetchHeader = 0;
  lastFetchImm = 0;
  lastDataVa = -1;
  lastDataPa = -1;
  lastDataAccess: Access = Access.Read;

  // ---- translation windows (see mmu/window.ts) ----
  protected readonly fetchWindow = new TranslationWindow();
  protected readonly readWindow = new TranslationWindow();
  protected readonly writeWindow = new TranslationWindow();
  /** record every access in lastFetch* / lastData* (no windows): for traces */
  tracing = false;

  /**
   * When 0 or more: the mode paging checks accesses against (user/supervisor pages, the error
   * code's user bit) instead of the current mode — a nested-paging VMM sets the guest's virtual
   * mode here while the guest runs deprivileged. -1 (the default): the current mode.
   */
  pagingMode = -1;

  /** set by a translation returning -1 */
  fault: MemFault = memFault('bounds', 0);

  /**
   * Translates an access of `n` bytes at `va` (already checked for alignment) in the current
   * mode. Returns the physical address, or -1 with `this.fault` set.
   */
  translate(va: number, n: number, access: Access): number {
    const region = this.profile.region;
    if (region) {
      const r = region(this, va, n, access);
      if (r !== REGION_TRANSLATE) return r === REGION_FAULT ? -1 : r;
    }
    const la = this.linearAddress(va, n);
    if (la < 0) return this.boundsFault(va, access);
    const paging = this.pager !== undefined && (this.status & ST_PG) !== 0;
    if (!paging) {
      // with stage 2 (nested paging) the guests, never in real supervisor mode, reach host memory only through it;
      // the VMM (real supervisor mode) addresses host memory itself
      if (this.pager?.translatePhysical && this.mode !== 0) return this.physicalThroughStage2(va, la, n, access);
      if (la + n > this.mem.size) return this.boundsFault(va, access);
      return la;
    }
    const bus = this.store.bus;
    const cycle = bus?.cycle;
    if (bus !== undefined) bus.cycle = CYCLE_WALK;
    const pa = this.pager!.translate(la, access, this.pagingUser());
    if (bus !== undefined) bus.cycle = cycle!;
    if (pa < 0) {
      this.fault = { ...this.pager!.fault, va };
      return -1;
    }
    return pa;
  }

  /**
   * The segment stage of translation: the linear address of an access of `n` bytes at `va`
   * (va itself without segment hardware), or -1 for a bounds violation. With paging on, the
   * linear space is bounded by 2^32, else by physical memory. No side effects.
   */
  linearAddress(va: number, n: number): number {
    if (!this.useSegment) return va;
    const paging = this.pager !== undefined && (this.status & ST_PG) !== 0;
    return relocate(va, n, this.base, this.limit, this.endConvention, paging ? 2 ** 32 : this.mem.size);
  }

  /** Nested paging with the guest's paging off: the linear address is guest-physical, translated by stage 2 alone. */
  private physicalThroughStage2(va: number, la: number, n: number, access: Access): number {
    const user = this.pagingUser();
    const bus = this.store.bus;
    const cycle = bus?.cycle;
    if (bus !== undefined) bus.cycle = CYCLE_WALK;
    const pa = this.pager!.translatePhysical!(la, n, access, user);
    if (bus !== undefined) bus.cycle = cycle!;
    if (pa === -2) return this.boundsFault(va, access);
    if (pa < 0) this.fault = { ...this.pager!.fault, va };
    return pa;
  }

  /**
   * Whether page permissions are checked as for user mode: the profile's user modes (its last,
   * unless it names them: x86-vt's r3 and v3) are user for paging's U/S and the error codes' user
   * bit — every other mode, a supervisor (as x86 rings 0–2 are) — in the current mode, or in
   * `pagingMode` when a VMM set it.
   */
  private pagingUser(): boolean {
    return this.userModeNow(this.pagingMode < 0 ? this.mode : this.pagingMode);
  }

  /** Whether `mode` is a user mode for page permissions and error codes (Profile.userModes). */
  private userModeNow(mode: number): boolean {
    return ((this.compiled.userMask >>> mode) & 1) !== 0;
  }

  /**
   * Translates the 8 words of a PSW image at `va` for `access`, all before any is used (the
   * access is all-or-nothing). Returns their physical addresses, or undefined with `fault` set.
   */
  protected translatePsw(va: number, access: Access): number[] | undefined {
    if ((va & 3) !== 0) {
      this.alignmentFault(va, access);
      return undefined;
    }
    const pas: number[] = [];
    for (let i = 0; i < PSW_BYTES; i += 4) {
      const pa = this.translate((va + i) >>> 0, 4, access);
      if (pa < 0) return undefined;
      pas.push(pa);
    }
    this.lastDataVa = va;
    this.lastDataPa = pas[0];
    this.lastDataAccess = access;
    return pas;
  }

  // ---------------------------------------------------------------- faults

  private boundsFault(va: number, access: Access): number {
    this.fault = memFault('bounds', va, accessError(access, this.userModeNow(this.mode)));
    return -1;
  }

  /** Records an alignment fault for `va` in `fault` and returns -1 (as a failed translation). */
  alignmentFault(va: number, access: Access): number {
    this.fault = memFault('alignment', va, accessError(access, this.userModeNow(this.mode)));
    return -1;
  }

  /** For region hooks: record a fault with the profile's cause and return REGION_FAULT. */
  regionFault(va: number, cause: number, access: Access): number {
    this.fault = { kind: 'region', va, error: accessError(access, this.userModeNow(this.mode)), depth: -1, cause };
    return REGION_FAULT;
  }

  /** The trap cause of the current `fault` (bounds, page fault, alignment or a profile cause). */
  faultCause(): number {
    const f = this.fault;
    return f.kind === 'bounds' ? Cause.Bounds : f.kind === 'alignment' ? Cause.Alignment : f.kind === 'region' ? f.cause! : f.kind === 'stage2' ? Cause.Stage2 : Cause.PageFault;
  }

  // ---------------------------------------------------------------- windows

  /**
   * After a word read at `va` opened the read window over pa's page with paging on: when a
   * write there would now be a TLB hit with no side effect (the cached permissions allow it, D
   * set) into a frame already writable in place, the write window becomes the same window — a
   * read-modify-write then stores without translating again. The pager remembers that write
   * translation as the one it last served, so dropping it closes both windows (translationsDropped).
   */
  protected shareReadWindow(va: number, pa: number): void {
    const pager = this.pager;
    if (pager?.cachedTranslation === undefined || (this.status & ST_PG) === 0 || !this.writesShareReads) return;
    const r = this.readWindow;
    if (!this.store.writableInPlace((pa + this.memOff) >>> FRAME_BITS) || pager.cachedTranslation(va, Access.Write, this.pagingUser()) !== pa) return;
    this.writeWindow.open(r.lo, r.hi, r.pa, r.frame, r.byte, r.gen, r.storeGen);
  }

  /**
   * After `va` translated to `pa` for an access of `n` bytes, opens `w` over the widest run of
   * virtual addresses around va that surely translate linearly into the same host frame (and
   * stay legal for n-byte accesses) under the current translation state. With `write`, the
   * frame is made writable in place first. Not for traces, region hooks without a grain, or segment+paging; over
   * a memory that is not linear, only within pa's linear block and where it is backed.
   */
  protected openWindow(w: TranslationWindow, va: number, pa: number, n: number, write: boolean): void {
    const a = this.linear ? pa + this.memOff : this.mem.storeAddress(pa);
    if (this.tracing || a < 0 || (a & 3) !== 0 || (this.profile.region && !this.profile.regionGrain) || this.config.translation === 'segment+paging') return;
    let lo = va - (a & (FRAME_SIZE - 1));
    let hi = lo + FRAME_SIZE - n + 1; // the whole n-byte access inside the frame (pa may be 4 mod 8)
    if (!this.linear) {
      const block = this.mem.linearBlock;
      const start = va - (pa & (block - 1)); // the virtual address of pa's block
      lo = Math.max(lo, start);
      hi = Math.min(hi, start + block - n + 1);
    }
    if (this.pager && ((this.status & ST_PG) !== 0 || (this.pager.translatePhysical && this.mode !== 0))) {
      const page = this.pager.pageBytes; // a power of two
      const start = va - (va & (page - 1));
      lo = Math.max(lo, start);
      hi = Math.min(hi, start + page);
    } else {
      const bound = this.useSegment ? Math.min(this.endConvention ? this.limit - this.base : this.limit, this.mem.size - this.base) : this.mem.size;
      lo = Math.max(lo, 0);
      hi = Math.min(hi, bound - n + 1);
    }
    const bus = this.store.bus;
    if (bus !== undefined && (hi <= lo || !bus.window(a - (va - lo), hi - lo + n - 1, write, w === this.fetchWindow))) return;
    const frame = write ? this.store.frameForWrite(a >>> FRAME_BITS) : this.store.frameForRead(a >>> FRAME_BITS);
    w.open(lo, hi, pa - (va - lo), frame, (a - (va - lo)) & (FRAME_SIZE - 1), this.xlateGen, this.store.generation);
  }
}
