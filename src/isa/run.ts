// Running a machine: the run loop with an optional per-instruction trace, snapshots at traps or
// at every instruction, a per-step observer, and the counts by name that reports print.

import { ACCESS_NAMES } from '../mmu/fault.js';
import { mmuFigures, type MmuFigures } from '../mmu/paging-unit.js';
import type { Machine, TrapEvent } from './machine.js';
import type { CompiledProfile } from './profile.js';
import { snapshot, type MachineSnapshot } from './snapshot.js';

export type RunEnd = 'halted' | 'double-fault' | 'budget';

export interface InstructionTrace {
  readonly kind: 'instruction';
  /** instructions retired before this one */
  readonly retired: number;
  readonly mode: string;
  readonly pc: number;
  readonly pa: number;
  /** the instruction's two words as fetched (disassemble them for its text) */
  readonly header: number;
  readonly imm: number;
  readonly data?: { readonly access: string; readonly va: number; readonly pa: number };
  /** the instruction trapped instead of retiring */
  readonly trapped: boolean;
}

export interface TrapTrace {
  readonly kind: 'trap';
  readonly retired: number;
  readonly cause: string;
  readonly vaddr: number;
  readonly error: number;
  readonly detail: number;
  readonly mode: string;
  readonly savedPc: number;
  /** PC after loading the new PSW (absent on a double fault) */
  readonly newPc?: number;
  readonly doubleFault: boolean;
}

export type TraceEntry = InstructionTrace | TrapTrace;

export interface RunOptions {
  /** record every instruction and trap (slow path: one step at a time) */
  readonly trace?: boolean;
  /** stop recording after this many trace entries (the run goes on) */
  readonly traceLimit?: number;
  /**
   * Snapshots to keep besides the final one: 'traps' after every delivered trap, 'instructions'
   * after every instruction and every trap (check mode: one step at a time, much slower).
   */
  readonly snapshots?: 'none' | 'traps' | 'instructions';
  /** called after every step (one instruction or one trap delivery); the run goes one step at a time */
  readonly onStep?: () => void;
  /** called every PROGRESS_EVERY instructions retired on a long run (for a progress line) */
  readonly onProgress?: (retired: number) => void;
}

/** Instructions between progress calls (tens of milliseconds of guest time). */
export const PROGRESS_EVERY = 1 << 22;

/** What every kind of run reports: how it ended, where, and what it executed. */
export interface RunSummary {
  readonly end: RunEnd;
  /** instructions retired (for a guest: guest instructions) */
  readonly retired: number;
  /** the final state (for a guest: its virtual state) */
  readonly final: MachineSnapshot;
  /** instructions retired per mnemonic */
  readonly instructions: Readonly<Record<string, number>>;
  /** traps delivered per cause name */
  readonly traps: Readonly<Record<string, number>>;
  /** wall-clock seconds of the run */
  readonly seconds: number;
  /** paging: what the real MMU did for it (for a guest under a VMM: while it ran directly, its exits' handler fetches included) */
  readonly mmu?: MmuFigures;
}

export interface RunResult extends RunSummary {
  /** as `snapshots` asked (in execution order); always the final one last */
  readonly snapshots: readonly MachineSnapshot[];
  readonly framesAllocated: number;
  readonly trace?: readonly TraceEntry[];
  readonly traceTruncated?: boolean;
}

/** Runs `m` for at most `budget` instructions retired; `m` is left in its final state. */
export function runMachine(m: Machine, budget: number, options: RunOptions = {}): RunResult {
  const snapshots: MachineSnapshot[] = [];
  const trace: TraceEntry[] = [];
  const limit = options.traceLimit ?? 100_000;
  const modes = m.profile.modes;
  const previous = m.onTrap;
  m.onTrap = (t) => {
    if (options.snapshots === 'traps' && !t.doubleFault) snapshots.push(snapshot(m));
    if (options.trace && trace.length < limit) trace.push(trapTrace(m, t));
    previous?.(t);
  };
  m.tracing = options.trace === true;
  const t0 = performance.now();
  const stop = m.retired + budget;
  let exit;
  try {
    if (options.trace || options.snapshots === 'instructions' || options.onStep) {
      do {
        const before = { pc: m.pc, retired: m.retired, mode: modes[m.mode] };
        m.lastFetchVa = -1;
        m.lastDataVa = -1;
        const at = trace.length;
        exit = m.run(stop - m.retired, true);
        if (options.trace && m.lastFetchVa === before.pc && trace.length < limit) trace.splice(at, 0, instructionTrace(m, before, m.retired === before.retired));
        if (options.snapshots === 'instructions' && exit === 'step') snapshots.push(snapshot(m));
        options.onStep?.();
      } while (exit === 'step');
    } else if (options.onProgress) {
      do {
        exit = m.run(Math.min(PROGRESS_EVERY, stop - m.retired));
        if (exit === 'budget' && m.retired < stop) options.onProgress(m.retired);
      } while (exit === 'budget' && m.retired < stop);
    } else {
      exit = m.run(budget);
    }
  } finally {
    m.onTrap = previous;
    m.tracing = false;
  }
  const seconds = (performance.now() - t0) / 1000;
  const final = snapshot(m);
  snapshots.push(final);
  return {
    end: exit === 'halted' || exit === 'double-fault' ? exit : 'budget',
    retired: m.retired,
    final,
    snapshots,
    instructions: opsByName(m.opCounts, m.compiled),
    traps: trapsByName(m.trapCounts, m.compiled),
    framesAllocated: m.mem.framesAllocated,
    ...mmuOf(m),
    ...(options.trace ? { trace, traceTruncated: trace.length >= limit } : {}),
    seconds,
  };
}

/** `{ mmu }` for a paging machine, nothing otherwise (a spread). */
function mmuOf(m: Machine): { mmu?: MmuFigures } {
  const mmu = mmuFigures(m.pager);
  return mmu ? { mmu } : {};
}

export function causeName(cp: CompiledProfile, cause: number): string {
  return cp.causes.get(cause)?.name ?? `cause ${cause}`;
}

/** Retired instructions per mnemonic (non-zero counts only). */
export function opsByName(counts: ArrayLike<number>, cp: CompiledProfile): Record<string, number> {
  return countsByName(counts, (op) => cp.byOp[op]?.mnemonic ?? `op 0x${op.toString(16)}`);
}

/** Delivered traps per cause name (non-zero counts only). */
export function trapsByName(counts: ArrayLike<number>, cp: CompiledProfile): Record<string, number> {
  return countsByName(counts, (c) => causeName(cp, c));
}

function countsByName(counts: ArrayLike<number>, name: (i: number) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < counts.length; i++) if (counts[i] > 0) out[name(i)] = counts[i];
  return out;
}

function instructionTrace(m: Machine, before: { pc: number; retired: number; mode: string }, trapped: boolean): InstructionTrace {
  const data = m.lastDataVa >= 0 ? { access: ACCESS_NAMES[m.lastDataAccess], va: m.lastDataVa, pa: m.lastDataPa } : undefined;
  return { kind: 'instruction', retired: before.retired, mode: before.mode, pc: before.pc, pa: m.lastFetchPa, header: m.lastFetchHeader, imm: m.lastFetchImm, ...(data ? { data } : {}), trapped };
}

function trapTrace(m: Machine, t: TrapEvent): TrapTrace {
  return {
    kind: 'trap',
    retired: t.retired,
    cause: causeName(m.compiled, t.cause),
    vaddr: t.vaddr,
    error: t.error,
    detail: t.detail,
    mode: m.profile.modes[t.mode],
    savedPc: t.savedPc,
    ...(t.doubleFault ? {} : { newPc: m.pc }),
    doubleFault: t.doubleFault,
  };
}
