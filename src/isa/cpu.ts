// What a profile's instruction semantics (InstructionDef.exec) and address-region hook
// (Profile.region) see of the CPU: its state — registers, banks, PSW — and the few operations
// they need (translate, memory words, faults). The Machine implements it; instructions.ts and
// profile.ts depend on this face only, not on the machine that imports them.

import type { Access, MemFault } from '../mmu/fault.js';

/** The PSW as fields. `status` holds mode, IE, paging switches, profile bits and flags (arch.ts). */
export interface Psw {
  readonly pc: number;
  readonly status: number;
  readonly base: number;
  readonly limit: number;
  readonly ptbr: number;
  readonly extra: number;
}

export interface ProfileCpu {
  /** the 16 visible registers */
  readonly regs: Int32Array;
  /** banked copies: banks[mode * bankedRegisters.length + j] (the current mode's are the visible ones) */
  readonly banks: Int32Array;
  /** the profile's control registers (Profile.controlRegisters, in order) */
  readonly control: Int32Array;
  /** the current mode, and the profile's user mode (its last) */
  readonly mode: number;
  readonly userMode: number;
  /** the PSW status word (mode, IE, paging switches, profile bits, flags) */
  readonly status: number;
  /** sets the status word; a mode change swaps the banked registers */
  setStatus(status: number): void;
  psw(): Psw;
  loadPsw(p: Psw, full?: boolean): void;
  /** where the instruction being executed continues (set it to jump) */
  nextPc: number;
  /** the mode whose page permissions translation applies (-1: the current one) */
  pagingMode: number;
  /** the fault of the last translation that failed */
  fault: MemFault;
  readonly mem: { readonly size: number };
  /** an access of `n` bytes at `va` (aligned) in the current mode: the physical address, or -1 with `fault` set */
  translate(va: number, n: number, access: Access): number;
  /** the trap cause of `fault` */
  faultCause(): number;
  /** records a fault at `va` with a memory-like cause of the profile's (region hooks; x86's selector checks) and returns REGION_FAULT */
  regionFault(va: number, cause: number, access: Access): number;
  load32(pa: number): number;
  store32(pa: number, v: number): void;
}
