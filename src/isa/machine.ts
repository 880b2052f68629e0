// The Popek–Goldberg third-generation machine: S = (E, M, P, R) with a PSW, a trap that stores
// the old PSW in MEM[1] and loads the new one from MEM[0], base/bounds relocation and optional
// paging hardware. The step loop works on typed arrays and plain fields and allocates nothing
// per instruction; structured, frozen state exists only in snapshots (snapshot.ts).
//
// Over a store with a bus observer (mmu/bus.ts) the machine reads no frame itself: every access
// goes through its memory, which tells the bus, or through a translation window the bus approved
// for its whole range; the machine says what it is doing meanwhile (inside `run`: data, fetch,
// walk; trap entry).

import type { ProfileCpu, Psw } from './cpu.js';
import {
  Cause,
  HDR_ABS,
  HDR_RESERVED,
  INSTR_BYTES,
  LOW_MEMORY_END,
  PSW_BASE,
  PSW_BYTES,
  PSW_LIMIT,
  PSW_PC,
  PSW_PROFILE,
  PSW_PTBR,
  PSW_STATUS,
  SLOT_NEW_PSW,
  SLOT_OLD_PSW,
  ST_DEFINED,
  ST_IE,
  ST_MODE_MASK,
  ST_NXE,
  ST_PG,
  ST_SUM,
  ST_WP,
  TRAP_CAUSE,
  TRAP_DETAIL,
  TRAP_ERROR,
  TRAP_VADDR,
} from './arch.js';
import { LINK_REGISTER, Op } from './instructions.js';
import { compileProfile, OP_UNDEFINED, REGION_FAULT, REGION_TRANSLATE, type CompiledProfile, type Profile } from './profile.js';
import { CYCLE_DATA, CYCLE_FETCH, CYCLE_TRAP, CYCLE_WALK, type BusObserver } from '../mmu/bus.js';
import { Access, accessError, memFault, type MemFault } from '../mmu/fault.js';
import { FRAME_BITS, FRAME_SIZE, PhysicalMemory, type FrameStore } from '../mmu/memory.js';
import type { Pager, PagerSwitches } from '../mmu/pager.js';
import { relocate, type BoundsConvention, type TranslationMode } from '../mmu/segment.js';
import { TranslationWindow } from '../mmu/window.js';

export interface MachineConfig {
  readonly profile: Profile;
  /** bytes of physical memory (at least 128, at most 4 GiB) */
  readonly memorySize: number;
  readonly translation?: TranslationMode;
  readonly bounds?: BoundsConvention;
  /** true (default): a trap loads B/L/PTBR from the new PSW; false: mode, PC and status only */
  readonly trapSwitchesAddressSpace?: boolean;
  /** builds the paging hardware over this machine's memory; needed when translation includes paging */
  readonly pager?: (mem: PhysicalMemory) => Pager;
}

export type { Psw } from './cpu.js';

export type MachineStatus = 'running' | 'halted' | 'double-fault';
/** Why `run` returned. 'trap': a trap was delivered and `exitOnTrap` is set; 'step': single step done. */
export type RunExit = 'halted' | 'double-fault' | 'budget' | 'trap' | 'step';

/** One delivered trap (or the trap that caused a double fault). */
export interface TrapEvent {
  readonly cause: number;
  readonly vaddr: number;
  readonly error: number;
  readonly detail: number;
  /** PC of the instruction that trapped (or the next one for svc and timer) */
  readonly pc: number;
  /** PC stored in the old PSW */
  readonly savedPc: number;
  readonly mode: number;
  /** instructions retired before the trap */
  readonly retired: number;
  readonly doubleFault: boolean;
}

/** Console characters a machine keeps (1 MiB); output beyond is counted and hashed, not kept. */
export const MAX_CONSOLE_CHARS = 2 ** 20;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

const RUNNING = 0;
const HALTED = 1;
const DOUBLE_FAULT = 2;
const STATUS_NAMES: readonly MachineStatus[] = ['running', 'halted', 'double-fault'];

/** svc and timer happen after an instruction retires; every other cause is a fault. */
export function isFaultCause(cause: number): boolean {
  return cause !== Cause.Svc && cause !== Cause.Timer;
}

export class Machine implements ProfileCpu {
  readonly config: Required<Omit<MachineConfig, 'pager'>> & Pick<MachineConfig, 'pager'>;
  readonly compiled: CompiledProfile;
  private readonly opInfo: Int32Array;
  readonly mem: PhysicalMemory;
  private readonly store: FrameStore;
  private readonly memOff: number;
  /**
   * The memory is linear (a plain memory or a window): load32/store32 and the translation
   * windows address its frames directly. Otherwise (guest-physical memory over a physmap)
   * load32/store32 go through the memory object, and windows stay within one of its linear
   * blocks (a page), opened at the store address the memory gives.
   */
  private readonly linear: boolean;
  readonly pager: Pager | undefined;
  private readonly useSegment: boolean;
  private readonly endConvention: boolean;

  // ---- architectural state ----
  readonly regs = new Int32Array(16);
  /** banked copies: banks[mode * bankedRegisters.length + j] */
  readonly banks: Int32Array;
  readonly control: Int32Array;
  pc = 0;
  status = 0;
  /** 1 << mode, plus OP_UNDEFINED: the opInfo bits that stop an instruction in this mode */
  private modeBit = 1 | OP_UNDEFINED;
  base = 0;
  limit = 0;
  ptbr = 0;
  pswExtra = 0;
  timerReload = 0;
  timerEnabled = false;
  timerPending = false;
  /**
   * While enabled: the value of `retired` at which the count reaches zero. The step loop runs
   * blocks up to it instead of counting down per instruction.
   */
  private timerDeadline = 0;
  /** where the current block of the step loop stops (min of budget and timer deadline) */
  private blockLimit = 0;
  /** the last trap entered and no instruction has retired since (a fault now is a double fault) */
  trapEntry = false;
  /** console output kept: the first MAX_CONSOLE_CHARS characters (the rest is counted and hashed) */
  console = '';
  /** characters ever written to the console */
  consoleWritten = 0;
  /** FNV-1a hash of every character ever written (so output past the kept part still compares) */
  consoleHash = FNV_OFFSET;
  /** when set, console output goes here instead (a VMM's real machine hands it to the virtual CPU) */
  onConsole: ((text: string) => void) | undefined = undefined;

  // ---- run state and accounting ----
  private state = RUNNING;
  retired = 0;
  /** retired instructions per opcode */
  readonly opCounts = new Float64Array(256);
  /** delivered traps per cause code */
  readonly trapCounts = new Float64Array(256);
  /** return from `run` after every delivered trap (the VMM's view of the real machine) */
  exitOnTrap = false;
  /** called for every delivered trap and for the trap that double-faults */
  onTrap: ((t: TrapEvent) => void) | undefined = undefined;
  lastTrap: TrapEvent | undefined = undefined;

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
  /** bumped by every change that can alter a translation (PSW, PTBR, TLB invalidation) */
  private xlateGen = 0;
  private readonly fetchWindow = new TranslationWindow();
  private readonly readWindow = new TranslationWindow();
  private readonly writeWindow = new TranslationWindow();
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
  /** PC the current instruction continues at when it retires (profile exec functions set it) */
  nextPc = 0;

  /**
   * A machine over `memory` (default: a fresh plain memory of config.memorySize): a plain
   * memory, a window onto a larger one, or guest-physical memory over a physmap
   * (mmu/physmap-memory.ts). Throws RangeError when its size is not config.memorySize.
   */
  constructor(config: MachineConfig, memory?: PhysicalMemory) {
    if (config.memorySize < LOW_MEMORY_END) throw new RangeError(`Machine: memory of ${config.memorySize} bytes is below the ${LOW_MEMORY_END}-byte low-memory area`);
    this.config = {
      translation: 'segment',
      bounds: 'size',
      trapSwitchesAddressSpace: true,
      ...config,
    };
    this.compiled = compileProfile(config.profile);
    this.opInfo = this.compiled.opInfo;
    this.mem = memory ?? new PhysicalMemory(config.memorySize);
    if (this.mem.size !== config.memorySize) throw new RangeError(`Machine: memory is ${this.mem.size} bytes, config says ${config.memorySize}`);
    this.store = this.mem.store;
    this.memOff = this.mem.offset;
    this.linear = this.mem.linear;
    const paging = this.config.translation !== 'segment';
    if (paging && !config.pager) throw new Error(`Machine: translation '${this.config.translation}' needs paging hardware`);
    this.pager = paging ? config.pager!(this.mem) : undefined;
    if (this.pager) this.pager.onDrop = () => this.xlateGen++;
    this.useSegment = this.config.translation !== 'paging';
    this.endConvention = this.config.bounds === 'end';
    const p = config.profile;
    this.banks = new Int32Array(p.modes.length * p.bankedRegisters.length);
    this.control = new Int32Array(p.controlRegisters.map((c) => c.reset));
  }

  get profile(): Profile {
    return this.compiled.profile;
  }
  get mode(): number {
    return this.status & ST_MODE_MASK;
  }
  /** the profile's user mode (its last) */
  get userMode(): number {
    return this.compiled.userMode;
  }
  get machineStatus(): MachineStatus {
    return STATUS_NAMES[this.state];
  }
  get running(): boolean {
    return this.state === RUNNING;
  }

  // ---------------------------------------------------------------- PSW

  /** The current PSW (pc = the next instruction to execute). */
  psw(): Psw {
    return { pc: this.pc, status: this.status, base: this.base, limit: this.limit, ptbr: this.ptbr, extra: this.pswExtra };
  }

  /** Whether `status` names one of the profile's modes and has no reserved bit set. */
  validStatus(status: number): boolean {
    return (status & ~ST_DEFINED) === 0 && (status & ST_MODE_MASK) < this.profile.modes.length;
  }

  /**
   * Installs `p` as the current PSW (what lpsw and trap entry do). `full = false` keeps B, L and
   * PTBR (a trap when trapSwitchesAddressSpace is false). Caller has checked validStatus.
   */
  loadPsw(p: Psw, full = true): void {
    this.xlateGen++;
    this.pc = p.pc >>> 0;
    this.setStatus(p.status);
    if (!full) return;
    this.base = p.base >>> 0;
    this.limit = p.limit >>> 0;
    this.pswExtra = p.extra | 0;
    this.setPtbr(p.ptbr >>> 0);
  }

  /**
   * Installs `p` as a VMM resuming a guest does: like loadPsw, but the PTBR is written (and the
   * TLB flushed) only when it changes — a resume is not the guest's own PTBR write, and the
   * guest's TLB must not lose entries it would keep on bare hardware.
   */
  resumePsw(p: Psw): void {
    this.xlateGen++;
    this.pc = p.pc >>> 0;
    this.setStatus(p.status);
    this.base = p.base >>> 0;
    this.limit = p.limit >>> 0;
    this.pswExtra = p.extra | 0;
    if (p.ptbr >>> 0 !== this.ptbr) this.setPtbr(p.ptbr >>> 0);
  }

  /** Sets the status word, swapping banked registers on a mode change and informing the pager. */
  setStatus(status: number): void {
    const old = this.status;
    this.xlateGen++;
    this.status = status | 0;
    const from = old & ST_MODE_MASK;
    const to = status & ST_MODE_MASK;
    this.modeBit = (1 << to) | OP_UNDEFINED;
    if (from !== to) this.swapBanks(from, to);
    // interrupts enabled with a tick pending: the block ends after this instruction so that the
    // loop top delivers the tick before the next fetch, exactly as when stepping
    if ((status & ST_IE) !== 0 && this.timerPending) this.blockLimit = 0;
    const sw = ST_WP | ST_NXE | ST_SUM;
    if (this.pager && (old & sw) !== (status & sw)) this.pager.setSwitches(pagerSwitches(status));
  }

  /** PTBR write: flushes the TLB. */
  setPtbr(ptbr: number): void {
    this.xlateGen++;
    this.ptbr = ptbr >>> 0;
    this.pager?.setRoot(this.ptbr);
  }

  private swapBanks(from: number, to: number): void {
    const banked = this.profile.bankedRegisters;
    const n = banked.length;
    for (let j = 0; j < n; j++) {
      this.banks[from * n + j] = this.regs[banked[j]];
      this.regs[banked[j]] = this.banks[to * n + j];
    }
  }

  /** Reads a PSW image at physical address `pa` (8 words, layout in arch.ts). */
  readPswImage(pa: number): Psw {
    return readPsw((i) => this.load32(pa + 4 * i));
  }

  /** Writes the PSW image of `p` at physical address `pa`. */
  writePswImage(pa: number, p: Psw): void {
    writePsw(p, (i, w) => this.store32(pa + 4 * i, w));
  }

  // ---------------------------------------------------------------- memory

  /** Physical word read (pa 4-aligned, pa + 4 <= memory size). */
  load32(pa: number): number {
    const a = pa + this.memOff;
    if ((a & 3) !== 0 || !this.linear || this.store.bus !== undefined) return this.mem.read32(pa);
    return this.store.frameForRead(a >>> FRAME_BITS)[(a & (FRAME_SIZE - 1)) >> 2];
  }

  /** Physical word write (pa + 4 <= memory size). */
  store32(pa: number, v: number): void {
    const a = pa + this.memOff;
    if ((a & 3) !== 0 || !this.linear || this.store.bus !== undefined) return this.mem.write32(pa, v);
    this.store.frameForWrite(a >>> FRAME_BITS)[(a & (FRAME_SIZE - 1)) >> 2] = v;
  }

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
   * Whether page permissions are checked as for user mode: the profile's user mode (its last)
   * is the one user mode for paging's U/S and the error codes' user bit — every other mode, a
   * supervisor (as x86 rings 0–2 are) — in the current mode, or in `pagingMode` when a VMM set it.
   */
  private pagingUser(): boolean {
    return (this.pagingMode < 0 ? this.mode : this.pagingMode) === this.compiled.userMode;
  }

  private boundsFault(va: number, access: Access): number {
    this.fault = memFault('bounds', va, accessError(access, this.mode === this.compiled.userMode));
    return -1;
  }

  /** For region hooks: record a fault with the profile's cause and return REGION_FAULT. */
  regionFault(va: number, cause: number, access: Access): number {
    this.fault = { kind: 'region', va, error: accessError(access, this.mode === this.compiled.userMode), depth: -1, cause };
    return REGION_FAULT;
  }

  // ---------------------------------------------------------------- traps

  /**
   * Delivers a trap: old PSW (with `savedPc`) to MEM[1], cause/address/error/detail to the trap
   * record, new PSW from MEM[0]. A fault while `trapEntry` is set, or a new PSW that is invalid,
   * stops the machine with a double fault instead.
   */
  trap(cause: number, vaddr: number, error: number, detail: number, savedPc: number): void {
    const fault = isFaultCause(cause);
    const event = (doubleFault: boolean): TrapEvent => ({
      cause,
      vaddr: vaddr >>> 0,
      error,
      detail,
      pc: this.pc,
      savedPc: savedPc >>> 0,
      mode: this.mode,
      retired: this.retired,
      doubleFault,
    });
    if (fault && this.trapEntry) return this.doubleFault(event(true));
    const bus = this.store.bus;
    const cpu = bus?.cpu;
    const cycle = bus?.cycle;
    if (bus !== undefined) driveBus(bus, this, CYCLE_TRAP);
    const newPsw = this.readPswImage(SLOT_NEW_PSW);
    if (!this.validStatus(newPsw.status)) {
      if (bus !== undefined) driveBus(bus, cpu, cycle!);
      return this.doubleFault(event(true));
    }
    const t = event(false);
    this.writePswImage(SLOT_OLD_PSW, { ...this.psw(), pc: savedPc >>> 0 });
    this.store32(TRAP_CAUSE, cause);
    this.store32(TRAP_VADDR, vaddr);
    this.store32(TRAP_ERROR, error);
    this.store32(TRAP_DETAIL, detail);
    if (bus !== undefined) driveBus(bus, cpu, cycle!);
    this.loadPsw(newPsw, this.config.trapSwitchesAddressSpace);
    this.trapEntry = true;
    this.trapCounts[cause]++;
    this.lastTrap = t;
    this.onTrap?.(t);
  }

  private doubleFault(t: TrapEvent): void {
    this.state = DOUBLE_FAULT;
    this.lastTrap = t;
    this.onTrap?.(t);
  }

  /** Records an alignment fault for `va` in `fault` and returns -1 (as a failed translation). */
  alignmentFault(va: number, access: Access): number {
    this.fault = memFault('alignment', va, accessError(access, this.mode === this.compiled.userMode));
    return -1;
  }

  /** The trap cause of the current `fault` (bounds, page fault, alignment or a profile cause). */
  faultCause(): number {
    const f = this.fault;
    return f.kind === 'bounds' ? Cause.Bounds : f.kind === 'alignment' ? Cause.Alignment : f.kind === 'region' ? f.cause! : f.kind === 'stage2' ? Cause.Stage2 : Cause.PageFault;
  }

  /**
   * Console output: counted and hashed whole, kept up to MAX_CONSOLE_CHARS characters (a guest
   * printing forever cannot exhaust memory), or handed to `onConsole` when set.
   */
  writeConsole(text: string): void {
    if (this.onConsole) return this.onConsole(text);
    let h = this.consoleHash;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME) >>> 0;
    this.consoleHash = h;
    this.consoleWritten += text.length;
    if (this.console.length < MAX_CONSOLE_CHARS) this.console += text.slice(0, MAX_CONSOLE_CHARS - this.console.length);
  }

  /** Stops the machine as `halt` does. */
  halt(): void {
    this.state = HALTED;
  }

  /** Stops the machine as a double fault does (for restoring a snapshot of a stopped machine). */
  stopWithDoubleFault(): void {
    this.state = DOUBLE_FAULT;
  }

  /**
   * Sets a stopped machine running again: a VMM taking its real machine back after a guest
   * running directly halted it (the guest's profile lets user mode halt) or made it double-fault.
   */
  restart(): void {
    this.state = RUNNING;
  }

  /** Instructions left before the timer's count reaches zero (0 while the timer is off). */
  get timerCount(): number {
    return this.timerEnabled ? this.timerDeadline - this.retired : 0;
  }

  /** Sets the count: the timer reaches zero after `count` more instructions retire. */
  set timerCount(count: number) {
    this.timerDeadline = this.retired + count;
  }

  /** Counts `n` instructions retired elsewhere (a VMM's direct execution) as retired here. */
  retireElsewhere(n: number): void {
    this.retired += n;
    this.expireTimer();
  }

  /** When the count has reached zero: the tick becomes pending and the count reloads. */
  private expireTimer(): void {
    if (!this.timerEnabled || this.retired < this.timerDeadline) return;
    this.timerPending = true;
    if (this.timerReload === 0) {
      this.timerEnabled = false;
      return;
    }
    const late = this.retired - this.timerDeadline;
    this.timerDeadline = this.retired + this.timerReload - (late % this.timerReload);
  }

  // ---------------------------------------------------------------- step loop

  /**
   * Runs until `budget` more instructions have retired, the machine stops, or (with
   * `exitOnTrap`) a trap is delivered. With `single`, returns after one instruction or one
   * trap delivery. A pending timer trap is taken before the next fetch when IE is set.
   */
  run(budget: number, single = false): RunExit {
    const bus = this.store.bus;
    return bus === undefined ? this.runLoop(budget, single) : this.runOnBus(bus, budget, single);
  }

  /** `run` on an observed bus: the machine drives it (data cycles unless it says otherwise) until it returns. */
  private runOnBus(bus: BusObserver, budget: number, single: boolean): RunExit {
    const { cpu, cycle } = bus;
    driveBus(bus, this, CYCLE_DATA);
    try {
      return this.runLoop(budget, single);
    } finally {
      driveBus(bus, cpu, cycle);
    }
  }

  private runLoop(budget: number, single: boolean): RunExit {
    const stop = this.retired + budget;
    for (;;) {
      if (this.state !== RUNNING) return this.state === HALTED ? 'halted' : 'double-fault';
      if (this.timerPending && (this.status & ST_IE) !== 0) {
        this.timerPending = false;
        this.trap(Cause.Timer, 0, 0, 0, this.pc);
      } else {
        if (this.retired >= stop) return 'budget';
        const ok = single ? this.instruction() : this.runBlock(stop);
        this.expireTimer();
        if (ok) {
          if (single) return 'step';
          continue;
        }
      }
      // a trap was delivered, or the machine stopped
      if (this.state !== RUNNING) return this.state === HALTED ? 'halted' : 'double-fault';
      if (this.exitOnTrap) return this.fetchHandler() ? 'trap' : 'double-fault';
      if (single) return 'step';
    }
  }

  /**
   * Executes instructions until one traps or stops the machine (returns false), or the budget
   * or the timer's count runs out (returns true, for `run` to look at).
   */
  private runBlock(stop: number): boolean {
    this.blockLimit = this.timerEnabled ? Math.min(stop, this.timerDeadline) : stop;
    while (this.instruction()) {
      if (this.retired >= this.blockLimit) return true;
    }
    return false;
  }

  /**
   * With `exitOnTrap`, after a trap was delivered: the handler's first instruction is fetched in
   * the new PSW — the one step of the handler the machine does itself before software (the
   * TypeScript VMM) takes over — so a handler its own translation cannot reach double-faults here,
   * as it would at its first fetch. Returns false when it did.
   */
  private fetchHandler(): boolean {
    const bus = this.store.bus;
    if (bus !== undefined) bus.cycle = CYCLE_FETCH;
    const pc = this.pc;
    const pa = (pc & 7) !== 0 ? this.alignmentFault(pc, Access.Fetch) : this.translate(pc, INSTR_BYTES, Access.Fetch);
    if (pa >= 0) {
      this.load32(pa);
      this.load32(pa + 4);
    }
    if (bus !== undefined) bus.cycle = CYCLE_DATA;
    if (pa >= 0) return true;
    this.trap(this.faultCause(), this.fault.va, this.fault.error, 0, pc); // trapEntry is set: a double fault
    return false;
  }

  /** Convenience: exactly one instruction or one trap delivery. */
  step(): RunExit {
    return this.run(1, true);
  }

  /**
   * Fetches, decodes and executes the instruction at PC. Returns true when it retired with no
   * trap and the machine still runs; false when it trapped (delivered), was an svc, or halted.
   */
  private instruction(): boolean {
    const pc = this.pc;
    const fw = this.fetchWindow;
    let w0: number;
    let imm: number;
    if ((pc & 7) === 0 && fw.covers(pc, this.xlateGen, this.store.generation)) {
      const i = fw.wordIndex(pc);
      w0 = fw.frame[i];
      imm = fw.frame[i + 1];
    } else {
      const bus = this.store.bus;
      if (bus !== undefined) bus.cycle = CYCLE_FETCH;
      const fpa = (pc & 7) !== 0 ? this.alignmentFault(pc, Access.Fetch) : this.translate(pc, INSTR_BYTES, Access.Fetch);
      if (fpa < 0) {
        if (bus !== undefined) bus.cycle = CYCLE_DATA;
        this.trap(this.faultCause(), this.fault.va, this.fault.error, 0, pc);
        return false;
      }
      this.lastFetchPa = fpa;
      this.lastFetchVa = pc;
      w0 = this.lastFetchHeader = this.load32(fpa);
      imm = this.lastFetchImm = this.load32(fpa + 4);
      if (bus !== undefined) bus.cycle = CYCLE_DATA;
      this.openWindow(fw, pc, fpa, INSTR_BYTES, false);
    }
    const op = w0 & 0xff;
    this.nextPc = (pc + INSTR_BYTES) >>> 0;
    const cause = this.execute(w0, imm);
    if (cause !== 0) {
      this.faultTrap(cause, op, pc);
      return false;
    }
    this.opCounts[op]++;
    this.retired++;
    this.pc = this.nextPc;
    this.trapEntry = false;
    if (op === Op.Svc) {
      // the svc has retired: the timer counts it before its trap is delivered
      this.expireTimer();
      this.trap(Cause.Svc, 0, 0, imm, this.pc);
      return false;
    }
    if (op === Op.Halt) {
      this.state = HALTED;
      return false;
    }
    return true;
  }

  /**
   * Delivers the trap of cause `cause` raised by the instruction (opcode `op`) at `pc`: the
   * opcode as detail for privileged and illegal instructions; the fault's address and error
   * code for memory causes; 0 and 0 for any other cause (never a previous fault's record).
   */
  private faultTrap(cause: number, op: number, pc: number): void {
    if (cause === Cause.Illegal || cause === Cause.Privileged) this.trap(cause, 0, 0, op, pc);
    else if (this.compiled.causes.get(cause)?.memory) this.trap(cause, this.fault.va, this.fault.error, 0, pc);
    else this.trap(cause, 0, 0, 0, pc);
  }

  /**
   * After `va` translated to `pa` for an access of `n` bytes, opens `w` over the widest run of
   * virtual addresses around va that surely translate linearly into the same host frame (and
   * stay legal for n-byte accesses) under the current translation state. With `write`, the
   * frame is made writable in place first. Not for traces, region hooks without a grain, or segment+paging; over
   * a memory that is not linear, only within pa's linear block and where it is backed.
   */
  private openWindow(w: TranslationWindow, va: number, pa: number, n: number, write: boolean): void {
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

  /**
   * Executes one decoded instruction (header `w0`, immediate `imm`) at PC. Returns 0 when it
   * retires (with `nextPc` set), or the trap cause (memory causes leave `fault` set).
   */
  private execute(w0: number, imm: number): number {
    const regs = this.regs;
    const op = w0 & 0xff;
    const rd = (w0 >>> 8) & 15;
    const rs = (w0 >>> 12) & 15;
    const rt = (w0 >>> 16) & 15;
    const info = this.opInfo[op];
    if ((info & this.modeBit) !== 0) return (info & OP_UNDEFINED) !== 0 ? Cause.Illegal : Cause.Privileged;
    if ((w0 & HDR_RESERVED) !== 0) return Cause.Illegal;
    switch (op) {
      case Op.Add: regs[rd] = regs[rs] + regs[rt]; return 0;
      case Op.Sub: regs[rd] = regs[rs] - regs[rt]; return 0;
      case Op.And: regs[rd] = regs[rs] & regs[rt]; return 0;
      case Op.Or: regs[rd] = regs[rs] | regs[rt]; return 0;
      case Op.Xor: regs[rd] = regs[rs] ^ regs[rt]; return 0;
      case Op.Shl: regs[rd] = regs[rs] << (regs[rt] & 31); return 0;
      case Op.Shr: regs[rd] = regs[rs] >>> (regs[rt] & 31); return 0;
      case Op.Sar: regs[rd] = regs[rs] >> (regs[rt] & 31); return 0;
      case Op.Mul: regs[rd] = Math.imul(regs[rs], regs[rt]); return 0;
      case Op.Divu: regs[rd] = regs[rt] === 0 ? -1 : (regs[rs] >>> 0) / (regs[rt] >>> 0); return 0;
      case Op.Remu: regs[rd] = regs[rt] === 0 ? regs[rs] : (regs[rs] >>> 0) % (regs[rt] >>> 0); return 0;
      case Op.Slt: regs[rd] = regs[rs] < regs[rt] ? 1 : 0; return 0;
      case Op.Sltu: regs[rd] = regs[rs] >>> 0 < regs[rt] >>> 0 ? 1 : 0; return 0;
      case Op.Addi: regs[rd] = regs[rs] + imm; return 0;
      case Op.Andi: regs[rd] = regs[rs] & imm; return 0;
      case Op.Ori: regs[rd] = regs[rs] | imm; return 0;
      case Op.Xori: regs[rd] = regs[rs] ^ imm; return 0;
      case Op.Shli: regs[rd] = regs[rs] << (imm & 31); return 0;
      case Op.Shri: regs[rd] = regs[rs] >>> (imm & 31); return 0;
      case Op.Sari: regs[rd] = regs[rs] >> (imm & 31); return 0;
      case Op.Muli: regs[rd] = Math.imul(regs[rs], imm); return 0;
      case Op.Slti: regs[rd] = regs[rs] < imm ? 1 : 0; return 0;
      case Op.Sltiu: regs[rd] = regs[rs] >>> 0 < imm >>> 0 ? 1 : 0; return 0;
      case Op.Li: regs[rd] = imm; return 0;
      case Op.Mov: regs[rd] = regs[rs]; return 0;
      case Op.Ld:
      case Op.Ldb:
      case Op.St:
      case Op.Stb:
        return this.loadStore(op, rd, this.effectiveAddress(w0, rs, imm));
      case Op.Beq: if (regs[rs] === regs[rt]) this.nextPc = imm >>> 0; return 0;
      case Op.Bne: if (regs[rs] !== regs[rt]) this.nextPc = imm >>> 0; return 0;
      case Op.Blt: if (regs[rs] < regs[rt]) this.nextPc = imm >>> 0; return 0;
      case Op.Bge: if (regs[rs] >= regs[rt]) this.nextPc = imm >>> 0; return 0;
      case Op.Bltu: if (regs[rs] >>> 0 < regs[rt] >>> 0) this.nextPc = imm >>> 0; return 0;
      case Op.Bgeu: if (regs[rs] >>> 0 >= regs[rt] >>> 0) this.nextPc = imm >>> 0; return 0;
      case Op.Jmp: this.nextPc = imm >>> 0; return 0;
      case Op.Jr: this.nextPc = regs[rs] >>> 0; return 0;
      case Op.Call: regs[LINK_REGISTER] = this.nextPc; this.nextPc = imm >>> 0; return 0;
      case Op.Callr: { const t = regs[rs] >>> 0; regs[LINK_REGISTER] = this.nextPc; this.nextPc = t; return 0; }
      case Op.Svc: case Op.Nop: case Op.Halt: return 0;
      default:
        if (op >= Op.Lpsw && op <= Op.Tlbflush) return this.systemOp(op, rd, rs, this.effectiveAddress(w0, rs, imm), imm);
        return this.compiled.exec[op]!(this, rd, rs, rt, imm);
    }
  }

  /** The memory operand's address: `imm` when the A bit is set, else rs + imm (mod 2^32). */
  effectiveAddress(w0: number, rs: number, imm: number): number {
    return (w0 & HDR_ABS) !== 0 ? imm >>> 0 : (this.regs[rs] + imm) >>> 0;
  }

  /** ld/ldb/st/stb at virtual address `va`. Returns 0 or a trap cause. */
  private loadStore(op: number, rd: number, va: number): number {
    const regs = this.regs;
    const gen = this.xlateGen;
    const storeGen = this.store.generation;
    switch (op) {
      case Op.Ld: {
        const w = this.readWindow;
        if ((va & 3) === 0 && w.covers(va, gen, storeGen)) {
          regs[rd] = w.frame[w.wordIndex(va)];
          return 0;
        }
        break;
      }
      case Op.St: {
        const w = this.writeWindow;
        if ((va & 3) === 0 && w.covers(va, gen, storeGen)) {
          w.frame[w.wordIndex(va)] = regs[rd];
          return 0;
        }
        break;
      }
    }
    return this.loadStoreSlow(op, rd, va);
  }

  /** loadStore through translation; opens the read or write window on success. */
  private loadStoreSlow(op: number, rd: number, va: number): number {
    const word = op === Op.Ld || op === Op.St;
    const access = op === Op.St || op === Op.Stb ? Access.Write : Access.Read;
    const pa = word && (va & 3) !== 0 ? this.alignmentFault(va, access) : this.translate(va, word ? 4 : 1, access);
    if (pa < 0) return this.faultCause();
    this.lastDataVa = va;
    this.lastDataPa = pa;
    this.lastDataAccess = access;
    switch (op) {
      case Op.Ld: this.regs[rd] = this.load32(pa); break;
      case Op.Ldb: this.regs[rd] = this.mem.read8(pa); break;
      case Op.St: this.store32(pa, this.regs[rd]); break;
      default: this.mem.write8(pa, this.regs[rd]);
    }
    if (word) this.openWindow(access === Access.Write ? this.writeWindow : this.readWindow, va, pa, 4, access === Access.Write);
    return 0;
  }

  /** The system opcodes 0x60..0x6F (lpsw .. tlbflush). `ea` is the memory operand's address. */
  private systemOp(op: number, rd: number, rs: number, ea: number, imm: number): number {
    const regs = this.regs;
    switch (op) {
      case Op.Lpsw: {
        const pa = this.translatePsw(ea, Access.Read);
        if (pa === undefined) return this.faultCause();
        const p = readPsw((i) => this.load32(pa[i]));
        if (!this.validStatus(p.status)) return Cause.Illegal;
        this.loadPsw(p);
        this.nextPc = this.pc;
        return 0;
      }
      case Op.Spsw: {
        const pa = this.translatePsw(ea, Access.Write);
        if (pa === undefined) return this.faultCause();
        writePsw({ ...this.psw(), pc: this.nextPc }, (i, w) => this.store32(pa[i], w));
        return 0;
      }
      case Op.Settimer:
        // settimer's own retirement is not counted: after `settimer n` the count is n
        this.timerReload = regs[rs] >>> 0;
        this.timerDeadline = this.retired + 1 + this.timerReload;
        this.timerEnabled = this.timerReload !== 0;
        this.timerPending = false;
        if (this.timerEnabled && this.timerDeadline < this.blockLimit) this.blockLimit = this.timerDeadline;
        return 0;
      case Op.Gettimer:
        regs[rd] = this.timerEnabled ? this.timerCount : 0;
        return 0;
      case Op.Out:
        this.writeConsole(imm === 1 ? String(regs[rs]) : String.fromCharCode(regs[rs] & 0xff));
        return 0;
      case Op.Setptbr:
        this.setPtbr(regs[rs] >>> 0);
        return 0;
      case Op.Getptbr:
        regs[rd] = this.ptbr;
        return 0;
      case Op.Invlpg:
        this.pager?.invalidate(regs[rs] >>> 0);
        return 0;
      case Op.Tlbflush:
        this.pager?.flush();
        return 0;
      default:
        return Cause.Illegal;
    }
  }

  /**
   * Translates the 8 words of a PSW image at `va` for `access`, all before any is used (the
   * access is all-or-nothing). Returns their physical addresses, or undefined with `fault` set.
   */
  private translatePsw(va: number, access: Access): number[] | undefined {
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

}

/** Sets who drives `bus` and how (bus.ts). */
function driveBus(bus: BusObserver, cpu: object | undefined, cycle: BusObserver['cycle']): void {
  bus.cpu = cpu;
  bus.cycle = cycle;
}

/** The PSW whose image word i (0..7, layout in arch.ts) `word(i)` returns. */
export function readPsw(word: (i: number) => number): Psw {
  return {
    pc: word(PSW_PC >> 2) >>> 0,
    status: word(PSW_STATUS >> 2),
    base: word(PSW_BASE >> 2) >>> 0,
    limit: word(PSW_LIMIT >> 2) >>> 0,
    ptbr: word(PSW_PTBR >> 2) >>> 0,
    extra: word(PSW_PROFILE >> 2),
  };
}

/** Writes `p`'s PSW image word by word through `write(i, w)` (i = 0..7; the last two are 0). */
export function writePsw(p: Psw, write: (i: number, w: number) => void): void {
  write(PSW_PC >> 2, p.pc);
  write(PSW_STATUS >> 2, p.status);
  write(PSW_BASE >> 2, p.base);
  write(PSW_LIMIT >> 2, p.limit);
  write(PSW_PTBR >> 2, p.ptbr);
  write(PSW_PROFILE >> 2, p.extra);
  write(6, 0);
  write(7, 0);
}

/** The paging switches a status word sets. */
export function pagerSwitches(status: number): PagerSwitches {
  return { wp: (status & ST_WP) !== 0, nxe: (status & ST_NXE) !== 0, sum: (status & ST_SUM) !== 0 };
}

