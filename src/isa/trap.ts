// Trap delivery: the old PSW to MEM[1], the trap record, the new PSW from MEM[0]; the double
// fault that stops the machine instead; the other ways it stops and restarts (halt, restart);
// and the console, kept, counted and hashed. The third link of the class chain (state.ts).

import { Cause, SLOT_NEW_PSW, SLOT_OLD_PSW, TRAP_CAUSE, TRAP_DETAIL, TRAP_ERROR, TRAP_VADDR } from './arch.js';
import { DOUBLE_FAULT, HALTED, RUNNING } from './state.js';
import { TranslatingCpu } from './translation.js';
import { CYCLE_TRAP, type BusObserver } from '../mmu/bus.js';

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

/** svc and timer happen after an instruction retires; every other cause is a fault. */
export function isFaultCause(cause: number): boolean {
  return cause !== Cause.Svc && cause !== Cause.Timer;
}

export abstract class TrappingCpu extends TranslatingCpu {
  /** the last trap entered and no instruction has retired since (a fault now is a double fault) */
  trapEntry = false;
  /** delivered traps per cause code */
  readonly trapCounts = new Float64Array(256);
  /** delivered traps, all causes (the sum of trapCounts) */
  trapsDelivered = 0;
  /** called for every delivered trap and for the trap that double-faults */
  onTrap: ((t: TrapEvent) => void) | undefined = undefined;
  lastTrap: TrapEvent | undefined = undefined;

  /** console output kept: the first MAX_CONSOLE_CHARS characters (the rest is counted and hashed) */
  console = '';
  /** characters ever written to the console */
  consoleWritten = 0;
  /** FNV-1a hash of every character ever written (so output past the kept part still compares) */
  consoleHash = FNV_OFFSET;
  /** when set, console output goes here instead (a VMM's real machine hands it to the virtual CPU) */
  onConsole: ((text: string) => void) | undefined = undefined;

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
    const oldStatus = this.status;
    this.loadPsw(newPsw, this.config.trapSwitchesAddressSpace);
    this.compiled.profile.onTrap?.(this, oldStatus);
    if (this.config.trapLoadsSegment && !this.config.trapSwitchesAddressSpace) {
      this.base = newPsw.base >>> 0;
      this.limit = newPsw.limit >>> 0;
    }
    this.trapEntry = true;
    this.trapCounts[cause]++;
    this.trapsDelivered++;
    this.lastTrap = t;
    this.onTrap?.(t);
  }

  private doubleFault(t: TrapEvent): void {
    this.state = DOUBLE_FAULT;
    this.lastTrap = t;
    this.onTrap?.(t);
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
}

/** Sets who drives `bus` and how (bus.ts). */
export function driveBus(bus: BusObserver, cpu: object | undefined, cycle: BusObserver['cycle']): void {
  bus.cpu = cpu;
  bus.cycle = cycle;
}
