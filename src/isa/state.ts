// The CPU's state: its memory and paging hardware, the registers and their banks, the control
// registers, the PSW (pc, status, B, L, PTBR, the profile's word) and how a PSW is installed —
// loadPsw, resumePsw, setStatus, setPtbr — the PSW image in memory, physical word access, and
// the interval timer. The first link of the machine's class chain: CpuState ← TranslatingCpu
// (translation.ts) ← TrappingCpu (trap.ts) ← Machine (machine.ts, the step loop). Every field
// the step loop reads is a plain field; the structured PSW exists only as a value (`psw()`).

import type { Psw } from './cpu.js';
import { LOW_MEMORY_END, PSW_BASE, PSW_LIMIT, PSW_PC, PSW_PROFILE, PSW_PTBR, PSW_STATUS, ST_DEFINED, ST_IE, ST_MODE_MASK, ST_NXE, ST_SUM, ST_WP } from './arch.js';
import { compileProfile, OP_UNDEFINED, type CompiledProfile, type Profile } from './profile.js';
import { FRAME_BITS, FRAME_SIZE, PhysicalMemory, type FrameStore } from '../mmu/memory.js';
import type { DropListener, Pager, PagerSwitches } from '../mmu/pager.js';
import type { BoundsConvention, TranslationMode } from '../mmu/segment.js';

export interface MachineConfig {
  readonly profile: Profile;
  /** bytes of physical memory (at least 128, at most 4 GiB) */
  readonly memorySize: number;
  readonly translation?: TranslationMode;
  readonly bounds?: BoundsConvention;
  /** true (default): a trap loads B/L/PTBR from the new PSW; false: mode, PC and status only */
  readonly trapSwitchesAddressSpace?: boolean;
  /**
   * With trapSwitchesAddressSpace false: a trap still loads B and L (not PTBR) from the new PSW,
   * as an x86 interrupt gate loads a code segment but keeps CR3 — a VMM truncating its guests'
   * segments gets its own back on every trap.
   */
  readonly trapLoadsSegment?: boolean;
  /** builds the paging hardware over this machine's memory; needed when translation includes paging */
  readonly pager?: (mem: PhysicalMemory) => Pager;
}

export type MachineStatus = 'running' | 'halted' | 'double-fault';

/** The values of CpuState.state, and their names (MachineStatus). */
export const RUNNING = 0;
export const HALTED = 1;
export const DOUBLE_FAULT = 2;
const STATUS_NAMES: readonly MachineStatus[] = ['running', 'halted', 'double-fault'];

export abstract class CpuState implements DropListener {
  readonly config: Required<Omit<MachineConfig, 'pager'>> & Pick<MachineConfig, 'pager'>;
  readonly compiled: CompiledProfile;
  readonly mem: PhysicalMemory;
  protected readonly store: FrameStore;
  protected readonly memOff: number;
  /**
   * The memory is linear (a plain memory or a window): load32/store32 and the translation
   * windows address its frames directly. Otherwise (guest-physical memory over a physmap)
   * load32/store32 go through the memory object, and windows stay within one of its linear
   * blocks (a page), opened at the store address the memory gives.
   */
  protected readonly linear: boolean;
  readonly pager: Pager | undefined;

  // ---- architectural state ----
  readonly regs = new Int32Array(16);
  /** banked copies: banks[mode * bankedRegisters.length + j] */
  readonly banks: Int32Array;
  readonly control: Int32Array;
  pc = 0;
  status = 0;
  /** 1 << mode, plus OP_UNDEFINED: the opInfo bits that stop an instruction in this mode */
  protected modeBit = 1 | OP_UNDEFINED;
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
  protected timerDeadline = 0;
  /** where the current block of the step loop stops (min of budget and timer deadline) */
  protected blockLimit = 0;
  /** PC the current instruction continues at when it retires (profile exec functions set it) */
  nextPc = 0;

  // ---- run state ----
  /** RUNNING, HALTED or DOUBLE_FAULT */
  protected state = RUNNING;
  retired = 0;
  /** bumped by every change that can alter a translation (PSW, PTBR, TLB invalidation) */
  protected xlateGen = 0;

  /** DropListener: the pager dropped translations, so the windows opened over them close. */
  translationsDropped(): void {
    this.xlateGen++;
  }

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
      trapLoadsSegment: false,
      ...config,
    };
    this.compiled = compileProfile(config.profile);
    this.mem = memory ?? new PhysicalMemory(config.memorySize);
    if (this.mem.size !== config.memorySize) throw new RangeError(`Machine: memory is ${this.mem.size} bytes, config says ${config.memorySize}`);
    this.store = this.mem.store;
    this.memOff = this.mem.offset;
    this.linear = this.mem.linear;
    const paging = this.config.translation !== 'segment';
    if (paging && !config.pager) throw new Error(`Machine: translation '${this.config.translation}' needs paging hardware`);
    this.pager = paging ? config.pager!(this.mem) : undefined;
    if (this.pager) this.pager.dropListener = this;
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

  // ---------------------------------------------------------------- timer

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
  protected expireTimer(): void {
    if (!this.timerEnabled || this.retired < this.timerDeadline) return;
    this.timerPending = true;
    if (this.timerReload === 0) {
      this.timerEnabled = false;
      return;
    }
    const late = this.retired - this.timerDeadline;
    this.timerDeadline = this.retired + this.timerReload - (late % this.timerReload);
  }
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
