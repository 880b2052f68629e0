// What vmm.s keeps about its guest, read back out of level-1 memory after a vmm2 run: its
// table (the guest's vPSW, registers, virtual timer, counts, how it ended) and its trap log
// (one 128-byte record per trap delivered, see the header of scenarios/vmm/vmm.s), and the
// innermost guest's final state rebuilt from them as a snapshot. vmm.s never reads its log.

import { freeze } from 'immer';
import { readPsw, type Psw } from '../isa/machine.js';
import { deliveredCounts, type MachineSnapshot } from '../isa/snapshot.js';
import type { PhysicalMemory } from '../mmu/memory.js';
import type { GuestEnd } from './bare.js';
import type { EquivalenceSummary } from './checks.js';

/** Where the assembly VMM's trap log starts in level-1 memory (its code and tables lie below). */
export const VMM2_LOG = 0x2000;
/** Bytes per trap-log record. */
export const LOG_RECORD = 128;
const END_NAMES: readonly (GuestEnd | 'running')[] = ['running', 'halted', 'double-fault', 'budget'];

/** One trap-log record of the assembly VMM (see the header of vmm.s). */
export interface TrapRecord {
  readonly retired: number;
  readonly cause: number;
  readonly vaddr: number;
  readonly error: number;
  readonly detail: number;
  readonly doubleFault: boolean;
  readonly timer: { readonly reload: number; readonly count: number; readonly enabled: boolean; readonly pending: boolean };
  readonly psw: Psw;
  readonly regs: readonly number[];
}

/** The assembly VMM's table and trap log, read from level-1 memory after the run. */
export interface Vmm2Table {
  readonly end: GuestEnd | 'running';
  readonly retired: number;
  readonly emulated: number;
  readonly exits: { readonly timer: number; readonly emulate: number; readonly reflect: number };
  readonly trapEntry: boolean;
  readonly psw: Psw;
  readonly regs: readonly number[];
  readonly timer: TrapRecord['timer'];
  readonly counts: readonly number[];
  readonly last: { cause: number; vaddr: number; error: number; detail: number } | undefined;
  readonly log: readonly TrapRecord[];
  readonly logged: number;
}

/** Reads the state vmm.s keeps about its guest out of level-1 memory `mem`. */
export function readTable(mem: PhysicalMemory, symbols: ReadonlyMap<string, number>, logCapacity: number): Vmm2Table {
  const sym = (name: string) => symbols.get(name)!;
  const word = (name: string, i = 0) => mem.read32(sym(name) + 4 * i);
  const psw = (at: number): Psw => readPsw((i) => mem.read32(at + 4 * i));
  const logged = word('V_LOGN') >>> 0;
  const log: TrapRecord[] = [];
  for (let i = 0; i < Math.min(logged, logCapacity); i++) log.push(readRecord(mem, VMM2_LOG + i * LOG_RECORD, psw));
  return {
    end: END_NAMES[word('V_END')] ?? 'running',
    retired: word('V_RETIRED') >>> 0,
    emulated: word('V_EMULATED') >>> 0,
    exits: { timer: word('V_XTIMER') >>> 0, emulate: word('V_XEMULATE') >>> 0, reflect: word('V_XREFLECT') >>> 0 },
    trapEntry: word('V_TRAPENTRY') !== 0,
    psw: psw(sym('V_PSW')),
    regs: Array.from({ length: 16 }, (_, r) => word('V_REGS', r)),
    timer: { reload: word('V_TREL') >>> 0, count: word('V_TCNT') >>> 0, enabled: word('V_TEN') !== 0, pending: word('V_TPEND') !== 0 },
    counts: Array.from({ length: 16 }, (_, c) => word('V_COUNTS', c)),
    last: logged ? { cause: word('V_LAST', 0), vaddr: word('V_LAST', 1) >>> 0, error: word('V_LAST', 2), detail: word('V_LAST', 3) } : undefined,
    log,
    logged,
  };
}

function readRecord(mem: PhysicalMemory, at: number, psw: (at: number) => Psw): TrapRecord {
  const w = (i: number) => mem.read32(at + 4 * i);
  return {
    retired: w(0) >>> 0,
    cause: w(1),
    vaddr: w(2) >>> 0,
    error: w(3),
    detail: w(4),
    doubleFault: w(5) !== 0,
    timer: { reload: w(6) >>> 0, count: w(7) >>> 0, enabled: w(8) !== 0, pending: w(9) !== 0 },
    psw: psw(at + 40),
    regs: Array.from({ length: 16 }, (_, r) => w(16 + r)),
  };
}

/**
 * The innermost guest's final state as a snapshot, rebuilt from the assembly VMM's table, its
 * console output (level 1's: its text, count and hash) and the guest-physical memory [ADDR0, ADDR0 + vmsize) of level 1.
 */
export function innerSnapshot(t: Vmm2Table, out: Pick<MachineSnapshot, 'console' | 'consoleWritten' | 'consoleHash'>, memory: PhysicalMemory): MachineSnapshot {
  const lastTrap = t.last && { ...t.last, pc: 0, savedPc: 0, mode: 0, retired: 0, doubleFault: t.end === 'double-fault' };
  return freeze(
    {
      retired: t.retired,
      status: t.end === 'budget' ? 'running' : t.end,
      psw: t.psw,
      regs: t.regs,
      banks: [],
      control: [],
      timer: t.timer,
      trapEntry: t.trapEntry,
      console: out.console,
      consoleWritten: out.consoleWritten,
      consoleHash: out.consoleHash,
      trapsDelivered: t.counts.reduce((a, b) => a + b, 0),
      trapCounts: deliveredCounts(t.counts),
      lastTrap,
      memory: memory.image(),
      tlb: undefined,
    },
    true,
  );
}

export interface Vmm2Details {
  /** the level-1 guest: the assembly VMM with the guest inside */
  readonly level1: { readonly name: string; readonly end: GuestEnd; readonly retired: number; readonly memorySize: number; readonly addr0: number };
  /** level 1 under the TypeScript VMM vs level 1 bare (when checking), as plain bounded data */
  readonly level1Equivalence?: EquivalenceSummary;
  /** traps of the innermost guest into the assembly VMM */
  readonly innerExits: number;
  /** innermost instructions the assembly VMM emulated */
  readonly innerEmulated: number;
  /** level-1 instructions (the assembly VMM's own) per innermost exit */
  readonly vmmInstructionsPerExit: number;
  /** exits of level 1 into the TypeScript VMM */
  readonly outerExits: number;
  /** vmm.s's trap log: records written (one per trap), kept (at most its capacity), the first few */
  readonly trapLog: { readonly logged: number; readonly kept: number; readonly truncated: boolean; readonly first: readonly TrapRecord[] };
  /** resumes of the innermost guest whose composed segment was checked, and those outside ADDR0 + vmsize */
  readonly innerResumes: number;
  readonly innerViolations: readonly string[];
  /** the level-1 instruction budget, and the per-exit cost bound it was derived from */
  readonly allowance: { readonly outerBudget: number; readonly exitCost: number };
}
