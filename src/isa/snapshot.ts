// Immutable snapshots of machine state, the virtual view (what a guest can observe), and run comparison.
//
// A snapshot's structured parts are frozen (immer's deep freeze); its memory is a MemoryImage,
// immutable by ownership: later writes to the live machine copy the frames they touch, so a
// snapshot costs O(registers), never a copy of memory. The image is in the machine's own
// physical terms — guest-physical for a VM's virtual CPU, whether its memory is a window or lies
// over a physmap (then the image costs the frames present under mapped pages) — and a restored
// machine gets a plain memory with those contents.

import { freeze } from 'immer';
import { ST_FLAGS_MASK } from './arch.js';
import { Machine, type MachineConfig, type MachineStatus, type Psw, type TrapEvent } from './machine.js';
import type { Memory, MemoryImage } from '../mmu/memory.js';
import type { TlbState } from '../mmu/tlb.js';

export interface TimerState {
  readonly reload: number;
  readonly count: number;
  readonly enabled: boolean;
  readonly pending: boolean;
}

export interface MachineSnapshot {
  readonly retired: number;
  readonly status: MachineStatus;
  readonly psw: Psw;
  /** the 16 visible registers (signed 32-bit values) */
  readonly regs: readonly number[];
  /** banked register copies, per mode then per banked register (the current mode's: its visible values) */
  readonly banks: readonly number[];
  readonly control: readonly number[];
  readonly timer: TimerState;
  readonly trapEntry: boolean;
  readonly console: string;
  /** console characters ever written, and their hash (the console keeps only the first MAX_CONSOLE_CHARS) */
  readonly consoleWritten: number;
  readonly consoleHash: number;
  readonly trapsDelivered: number;
  /** delivered traps per cause code as [cause, count], causes never delivered left out */
  readonly trapCounts: readonly (readonly [number, number])[];
  readonly lastTrap: TrapEvent | undefined;
  readonly memory: MemoryImage;
  /** valid TLB entries (paging machines only) */
  readonly tlb: TlbState | undefined;
}

/** Captures the machine's state now. The machine may go on; the snapshot never changes. */
export function snapshot(m: Machine): MachineSnapshot {
  return freeze(checkpoint(m), true);
}

/**
 * The same state as `snapshot`, not deep-frozen (about ten times cheaper): for a checker that
 * keeps it to itself and only ever restores it, such as the equivalence checker's state at the
 * last agreed event. Its memory image is immutable all the same.
 */
export function checkpoint(m: Machine): MachineSnapshot {
  return {
    retired: m.retired,
    status: m.machineStatus,
    psw: m.psw(),
    regs: Array.from(m.regs),
    banks: bankView(m.banks, m.regs, m.mode, m.profile.bankedRegisters),
    control: Array.from(m.control),
    timer: { reload: m.timerReload, count: m.timerCount, enabled: m.timerEnabled, pending: m.timerPending },
    trapEntry: m.trapEntry,
    console: m.console,
    consoleWritten: m.consoleWritten,
    consoleHash: m.consoleHash,
    trapsDelivered: m.trapsDelivered,
    trapCounts: deliveredCounts(m.trapCounts),
    lastTrap: m.lastTrap,
    memory: m.mem.image(),
    tlb: m.pager?.saveTlb(),
  };
}

/** The causes of `counts` (a count per cause code) with a count, as [cause, count] in cause order: a snapshot's trapCounts. */
export function deliveredCounts(counts: ArrayLike<number>): [number, number][] {
  const out: [number, number][] = [];
  for (let c = 0; c < counts.length; c++) if (counts[c] !== 0) out.push([c, counts[c]]);
  return out;
}

/**
 * A live machine whose state is `s` (memory shared copy-on-write with the snapshot; `config`
 * may give it more memory than the snapshot's, reading as zero). Opcode counts start at zero;
 * `retired` and the trap counts continue from the snapshot.
 */
export function restore(s: MachineSnapshot, config: MachineConfig): Machine {
  const m = new Machine(config, s.memory.thaw(config.memorySize));
  m.loadPsw(s.psw); // first: entering the snapshot's mode swaps banked registers
  m.regs.set(s.regs);
  m.banks.set(s.banks);
  m.control.set(s.control);
  if (s.tlb) m.pager?.restoreTlb(s.tlb);

  m.trapEntry = s.trapEntry;
  m.console = s.console;
  m.consoleWritten = s.consoleWritten;
  m.consoleHash = s.consoleHash;
  m.retired = s.retired;
  m.timerReload = s.timer.reload;
  m.timerCount = s.timer.count; // after `retired`: the count is kept relative to it
  m.timerEnabled = s.timer.enabled;
  m.timerPending = s.timer.pending;
  m.lastTrap = s.lastTrap;
  for (const [cause, n] of s.trapCounts) m.trapCounts[cause] = n;
  m.trapsDelivered = s.trapsDelivered;
  if (s.status === 'halted') m.halt();
  if (s.status === 'double-fault') m.stopWithDoubleFault();
  return m;
}

/** What a guest can observe of its machine: its registers and flags, PSW, control registers,
 * timer, status, console, the traps delivered to it and the last one's record, its memory. */
export interface VirtualView extends ViewScalars {
  readonly console: string;
  readonly memory: MemoryImage;
}

/** The virtual view less console and memory: the parts compared field by field. */
export interface ViewScalars {
  readonly regs: readonly number[];
  /** every mode's copies of the banked registers, the current mode's being the visible ones (bankView) */
  readonly banks: readonly number[];
  readonly flags: number;
  readonly psw: Psw;
  readonly control: readonly number[];
  readonly timer: TimerState;
  readonly status: MachineStatus;
  /** console characters written, and the hash of all of them */
  readonly consoleWritten: number;
  readonly consoleHash: number;
  readonly trapsDelivered: number;
  readonly lastTrap: Pick<TrapEvent, 'cause' | 'vaddr' | 'error' | 'detail'> | undefined;
}

/**
 * The register file of every mode: `banks` (a copy per mode of each banked register, kept for
 * the modes not current) with the current mode's copies taken from the visible registers.
 */
function bankView(banks: ArrayLike<number>, regs: ArrayLike<number>, mode: number, banked: readonly number[]): number[] {
  const out = Array.from(banks);
  banked.forEach((r, j) => {
    out[mode * banked.length + j] = regs[r];
  });
  return out;
}

/** Projects a snapshot of a machine (bare, or a VM's virtual machine) to the guest's view. */
export function virtualView(s: MachineSnapshot): VirtualView {
  const t = s.lastTrap;
  return {
    regs: s.regs,
    banks: s.banks,
    flags: s.psw.status & ST_FLAGS_MASK,
    psw: s.psw,
    control: s.control,
    timer: s.timer,
    status: s.status,
    console: s.console,
    consoleWritten: s.consoleWritten,
    consoleHash: s.consoleHash,
    trapsDelivered: s.trapsDelivered,
    lastTrap: t && { cause: t.cause, vaddr: t.vaddr, error: t.error, detail: t.detail },
    memory: s.memory,
  };
}

/** The view's scalar parts of a live machine now (registers copied; no snapshot, no epoch closed). */
export function liveScalars(m: Machine): ViewScalars {
  const t = m.lastTrap;
  return {
    regs: Array.from(m.regs),
    banks: bankView(m.banks, m.regs, m.mode, m.profile.bankedRegisters),
    flags: m.status & ST_FLAGS_MASK,
    psw: m.psw(),
    control: Array.from(m.control),
    timer: { reload: m.timerReload, count: m.timerCount, enabled: m.timerEnabled, pending: m.timerPending },
    status: m.machineStatus,
    consoleWritten: m.consoleWritten,
    consoleHash: m.consoleHash,
    trapsDelivered: m.trapsDelivered,
    lastTrap: t && { cause: t.cause, vaddr: t.vaddr, error: t.error, detail: t.detail },
  };
}

export interface ViewDifference {
  /** dotted path of the first differing field, e.g. "regs.3", "psw.pc", "memory[0x1f00]" */
  readonly field: string;
  readonly a: unknown;
  readonly b: unknown;
}

/** The first field in which two views differ, or undefined when equal. */
export function compareViews(a: VirtualView, b: VirtualView): ViewDifference | undefined {
  const d = (a.status !== b.status ? { field: 'status', a: a.status, b: b.status } : undefined) ?? consoleDifference(a.console, b.console) ?? compareScalars(a, b);
  if (d) return d;
  const at = a.memory.firstDifference(b.memory);
  if (at >= 0) return memoryDifference(a.memory, b.memory, at);
  if (a.memory.size !== b.memory.size) return { field: 'memory.size', a: a.memory.size, b: b.memory.size };
  return undefined;
}

/** The first scalar field (status, traps delivered, flags, registers, PSW, timer, trap record) that differs. */
export function compareScalars(a: ViewScalars, b: ViewScalars): ViewDifference | undefined {
  for (const key of ['status', 'trapsDelivered', 'flags', 'consoleWritten', 'consoleHash'] as const) {
    if (a[key] !== b[key]) return { field: key, a: a[key], b: b[key] };
  }
  for (const key of ['regs', 'banks', 'control'] as const) {
    if (a[key].length !== b[key].length) return { field: `${key}.length`, a: a[key].length, b: b[key].length };
    const i = a[key].findIndex((v, j) => v !== b[key][j]);
    if (i >= 0) return { field: `${key}.${i}`, a: a[key][i], b: b[key][i] };
  }
  for (const group of ['psw', 'timer', 'lastTrap'] as const) {
    const x = (a[group] ?? {}) as Record<string, unknown>;
    const y = (b[group] ?? {}) as Record<string, unknown>;
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
      if (x[k] !== y[k]) return { field: `${group}.${k}`, a: x[k], b: y[k] };
    }
  }
  return undefined;
}

/** Characters of console text a difference shows on each side at most. */
const CONSOLE_EXCERPT = 80;

/**
 * Where two consoles differ, looking from character `from` on (the text before it is known to
 * agree), or undefined when equal. The values are bounded: the whole text when short, else an
 * excerpt from a little before the first differing character, prefixed with its index.
 */
export function consoleDifference(a: string, b: string, from = 0): ViewDifference | undefined {
  if (a.length === b.length && a.length === from) return undefined;
  let i = from;
  const n = Math.min(a.length, b.length);
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n && a.length === b.length) return undefined;
  const excerpt = (s: string) => (s.length <= CONSOLE_EXCERPT ? s : `[${i}] ${s.slice(Math.max(0, i - 16), Math.max(0, i - 16) + CONSOLE_EXCERPT)}`);
  return { field: 'console', a: excerpt(a), b: excerpt(b) };
}

/** The difference at byte `at` of two memories, as a view field. */
export function memoryDifference(a: Memory, b: Memory, at: number): ViewDifference {
  return { field: `memory[0x${at.toString(16)}]`, a: a.read8(at), b: b.read8(at) };
}

export interface RunDifference extends ViewDifference {
  /** guest instructions retired at the first differing aligned point */
  readonly retired: number;
  readonly left: MachineSnapshot;
  readonly right: MachineSnapshot;
}

/**
 * Compares two runs aligned by instructions retired: at every point (instructions retired,
 * traps delivered) where both runs have a snapshot, the last snapshot at that point in each
 * run, and the two final snapshots. Keying on traps delivered too keeps a snapshot taken just
 * before a trap from being paired with one taken just after it at the same count (a run
 * that delivers a trap the other does not still differs at the next common point or the end).
 * Returns the first difference in the virtual view, or undefined when the runs agree.
 */
export function compareRuns(left: readonly MachineSnapshot[], right: readonly MachineSnapshot[]): RunDifference | undefined {
  const key = (s: MachineSnapshot) => `${s.retired}:${s.trapsDelivered}`;
  const lastAt = (run: readonly MachineSnapshot[]) => new Map(run.map((s) => [key(s), s]));
  const l = lastAt(left);
  const r = lastAt(right);
  const points = [...l.values()].filter((s) => r.has(key(s))).sort((x, y) => x.retired - y.retired || x.trapsDelivered - y.trapsDelivered);
  const pairs: [MachineSnapshot, MachineSnapshot][] = points.map((s) => [s, r.get(key(s))!]);
  if (left.length && right.length) pairs.push([left[left.length - 1], right[right.length - 1]]);
  for (const [a, b] of pairs) {
    if (a.retired !== b.retired) return { field: 'retired', a: a.retired, b: b.retired, retired: Math.min(a.retired, b.retired), left: a, right: b };
    const d = compareViews(virtualView(a), virtualView(b));
    if (d) return { ...d, retired: a.retired, left: a, right: b };
  }
  return undefined;
}
