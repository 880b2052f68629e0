// Resource control, instrumented: what a guest runs directly can reach nothing outside its
// allocation, and nothing of it runs in real supervisor mode.
//
// Two levels, both on the real machine:
//  - 'resume': at every resume, prove that the real segment (B', L') reaches only the VM's
//    allocation and that M' is not supervisor; at every exit, check that the PSW the hardware
//    saved still has a non-supervisor mode and the installed B'/L'; and check that real memory
//    outside the VM's memory (the VMM's reserve — minus the trap record the exit itself writes —
//    other VMs, padding) did not change during the direct run: a write tracker on the real
//    memory names the frames written and keeps the previous contents of those not wholly the
//    VM's, so the cost is the frames the run wrote, whatever the VM's addresses. The VM's memory
//    is its allocation [addr0, addr0 + vmsize), or the host ranges its memory virtualizer says
//    it confines the VM to (a physmap's pages need not be contiguous). This is sound for the
//    segment machine when the profile confines user mode: every fetch and data access goes
//    through relocate(B', L') and the real memory size (no region hook — checkGuest), B/L/PTBR
//    change only by lpsw or a trap, lpsw and every other instruction that changes the
//    resource-control state trap outside supervisor mode (realModeEscapes finds none), and a
//    trap ends the direct run. Reads are covered by the proof, writes by the proof and the log.
//    When the profile does not confine user mode, the monitor asks for 'trace' instead.
//  - 'trace': additionally steps every directly executed instruction with `tracing` on and
//    checks the physical range of each fetch (8 bytes) and data access, and the real mode
//    before each instruction. Independent of the proof; slow; used by the property tests and
//    for profiles whose user mode can change the resource-control state.

import { Op } from '../isa/instructions.js';
import { INSTR_BYTES, PSW_BYTES, SLOT_OLD_PSW, ST_MODE_MASK, TRAP_DETAIL } from '../isa/arch.js';
import type { Machine, Psw, RunExit } from '../isa/machine.js';
import { snapshot, type MachineSnapshot } from '../isa/snapshot.js';
import { FRAME_SIZE, mergeRanges, type WriteTracker } from '../mmu/memory.js';
import type { BoundsConvention } from '../mmu/segment.js';
import { reachable, type HostLayout } from './construction.js';

export type SafetyLevel = 'off' | 'resume' | 'trace';

/** The real machine's processor state before a direct run (its memory is in the write log). */
export interface RealState {
  readonly psw: Psw;
  readonly regs: readonly number[];
}

export interface SafetyViolation {
  readonly kind: 'segment' | 'supervisor' | 'exit-psw' | 'access' | 'memory';
  readonly vm: number;
  /** the VM's guest instructions retired at the resume where it happened */
  readonly retired: number;
  readonly detail: string;
  /** the real machine's PSW and registers before the direct run, and a snapshot at the violation */
  readonly before?: RealState;
  readonly after?: MachineSnapshot;
}

export interface SafetyReport {
  readonly level: SafetyLevel;
  /** why the level is not the one asked for (the 'resume' proof's assumption fails) */
  readonly fallback?: string;
  readonly resumes: number;
  /** instructions whose accesses were checked one by one ('trace') */
  readonly tracedInstructions: number;
  readonly violations: readonly SafetyViolation[];
}

/** The byte range an instruction's data access covers, by opcode (ld/st 4, ldb/stb 1, PSW 32). */
function dataBytes(op: number): number {
  if (op === Op.Ldb || op === Op.Stb) return 1;
  if (op === Op.Lpsw || op === Op.Spsw) return PSW_BYTES;
  return 4;
}

/** A host-physical byte range [lo, hi) a VM may reach. */
export interface OwnedRange {
  readonly lo: number;
  readonly hi: number;
}

/** Real-memory intervals a guest owning `owned` (ascending, disjoint) must never change during a direct run. */
function protectedRanges(layout: HostLayout, owned: readonly (readonly [number, number])[]): [number, number][] {
  const out: [number, number][] = [];
  let from = 0;
  for (const [lo, hi] of [...owned, [layout.memorySize, layout.memorySize] as const]) {
    out.push([from, Math.min(lo, SLOT_OLD_PSW)], [Math.max(from, TRAP_DETAIL + 4), lo]);
    from = Math.max(from, hi);
  }
  return out.filter(([lo, hi]) => hi > lo);
}

/** The lowest byte offset in [lo, hi) at which two copies of one frame differ, or -1. */
function firstChangedByte(before: Int32Array, now: Int32Array, lo: number, hi: number): number {
  for (let w = lo >> 2; w < (hi + 3) >> 2; w++) {
    if (before[w] === now[w]) continue;
    for (let b = Math.max(lo, 4 * w); b < Math.min(hi, 4 * w + 4); b++) {
      const sh = (b & 3) << 3;
      if (((before[w] >>> sh) & 0xff) !== ((now[w] >>> sh) & 0xff)) return b;
    }
  }
  return -1;
}

export class SafetyMonitor {
  private readonly violations: SafetyViolation[] = [];
  private resumes = 0;
  private traced = 0;
  private before: RealState | undefined;
  private installed: Psw | undefined;
  /** the VM running directly, and the host ranges it owns (ascending, disjoint) */
  private current = { vm: -1, retired: 0, owned: [] as [number, number][] };
  /** frames written during the direct run; previous contents of those not wholly the VM's */
  private readonly log: WriteTracker | undefined;

  constructor(
    readonly level: SafetyLevel,
    private readonly host: Machine,
    private readonly layout: HostLayout,
    private readonly bounds: BoundsConvention,
    private readonly fallback?: string,
  ) {
    this.log = level === 'off' ? undefined : host.mem.trackWrites((fn) => !this.owns(fn * FRAME_SIZE, FRAME_SIZE));
  }

  get enabled(): boolean {
    return this.level !== 'off';
  }

  /** Whether real bytes [pa, pa + n) lie wholly inside the current VM's memory. */
  private owns(pa: number, n: number): boolean {
    return this.current.owned.some(([lo, hi]) => pa >= lo && pa + n <= hi);
  }

  /** The current VM's memory in messages: its allocation when it is one range (`bounds`: with its bounds). */
  private ownedName(bounds = true): string {
    const o = this.current.owned;
    if (o.length !== 1) return `the VM's memory${bounds ? ` (${o.length} host ranges)` : ''}`;
    return bounds ? `the allocation [0x${o[0][0].toString(16)}, 0x${o[0][1].toString(16)})` : 'the allocation';
  }

  private violate(kind: SafetyViolation['kind'], detail: string): void {
    if (this.violations.length >= 20) return;
    this.violations.push({ kind, vm: this.current.vm, retired: this.current.retired, detail, before: this.before, after: snapshot(this.host) });
  }

  /**
   * Proves the resume of VM `vm` with real PSW `real` confined to its memory — the host ranges
   * `confines` (a segment VM's allocation, a physmap's pages) — and starts tracking writes.
   */
  beforeRun(vm: number, retired: number, real: Psw, confines: readonly OwnedRange[]): void {
    if (!this.enabled) return;
    this.resumes++;
    const owned = confines.map((r) => [r.lo, r.hi] as [number, number]);
    this.current = { vm, retired, owned: mergeRanges(owned) };
    this.installed = real;
    this.before = { psw: this.host.psw(), regs: Array.from(this.host.regs) };
    if ((real.status & ST_MODE_MASK) === 0) this.violate('supervisor', `resume installs mode 0 (supervisor) for the guest`);
    if (real.base !== real.base >>> 0 || real.limit !== real.limit >>> 0) {
      this.violate('segment', `real segment B'=${real.base} L'=${real.limit} is not a pair of 32-bit values (the hardware would wrap it)`);
    }
    const r = reachable(real.base >>> 0, real.limit >>> 0, this.bounds, this.layout.memorySize);
    if (r.hi > r.lo && !this.owns(r.lo, r.hi - r.lo)) {
      this.violate('segment', `real segment B'=0x${real.base.toString(16)} L'=0x${real.limit.toString(16)} reaches [0x${r.lo.toString(16)}, 0x${r.hi.toString(16)}) outside ${this.ownedName()}`);
    }
    this.log!.reset();
  }

  /** Runs the real machine for the direct run: plainly, or instruction by instruction in 'trace'. */
  run(budget: number): RunExit {
    if (this.level !== 'trace') return this.host.run(budget);
    const host = this.host;
    host.tracing = true;
    try {
      for (let left = budget; left > 0; left--) {
        const pc = host.pc;
        if (host.mode === 0) this.violate('supervisor', `a guest instruction at pc 0x${pc.toString(16)} is about to run in real supervisor mode`);
        host.lastFetchVa = -1;
        host.lastDataVa = -1;
        const exit = host.run(1, true);
        if (host.lastFetchVa === pc) {
          this.traced++;
          this.checkAccess('fetch', host.lastFetchPa, INSTR_BYTES);
          if (host.lastDataVa >= 0) this.checkAccess('data', host.lastDataPa, dataBytes(host.load32(host.lastFetchPa) & 0xff));
        }
        if (exit !== 'step') return exit;
      }
      return 'budget';
    } finally {
      host.tracing = false;
    }
  }

  private checkAccess(what: string, pa: number, n: number): void {
    if (!this.owns(pa, n)) this.violate('access', `${what} of ${n} bytes at real 0x${pa.toString(16)} lies outside ${this.ownedName()}`);
  }

  /** After the exit: the saved PSW kept a non-supervisor mode and B'/L'; nothing outside changed. */
  afterRun(exited: boolean): void {
    if (!this.enabled) return;
    const host = this.host;
    const saved = exited ? host.readPswImage(SLOT_OLD_PSW) : host.psw();
    const want = this.installed!;
    if ((saved.status & ST_MODE_MASK) === 0) this.violate('supervisor', `the guest was running in real supervisor mode at its exit (pc 0x${saved.pc.toString(16)})`);
    if (saved.base !== want.base || saved.limit !== want.limit) {
      this.violate('exit-psw', `the real segment changed during the direct run: installed B'=0x${want.base.toString(16)} L'=0x${want.limit.toString(16)}, at exit B=0x${saved.base.toString(16)} L=0x${saved.limit.toString(16)}`);
    }
    for (const fn of this.log!.hostFrames()) this.checkFrame(fn);
  }

  /** Real frame `fn` was written during the direct run: its bytes outside the VM's memory must be unchanged. */
  private checkFrame(fn: number): void {
    const before = this.log!.before(fn);
    if (!before) return; // wholly the VM's
    const now = this.host.mem.store.frameForRead(fn);
    const lo = fn * FRAME_SIZE;
    for (const [plo, phi] of protectedRanges(this.layout, this.current.owned)) {
      const from = Math.max(plo, lo);
      const to = Math.min(phi, lo + FRAME_SIZE);
      if (from >= to) continue;
      const at = firstChangedByte(before, now, from - lo, to - lo);
      if (at < 0) continue;
      const byte = (w: Int32Array) => (w[at >> 2] >>> ((at & 3) << 3)) & 0xff;
      this.violate('memory', `real byte 0x${(lo + at).toString(16)} outside ${this.ownedName(false)} changed (0x${byte(before).toString(16)} → 0x${byte(now).toString(16)})`);
      return;
    }
  }

  report(): SafetyReport {
    return { level: this.level, ...(this.fallback ? { fallback: this.fallback } : {}), resumes: this.resumes, tracedInstructions: this.traced, violations: this.violations };
  }

  /** Detaches the write log (the run is over). */
  close(): void {
    this.log?.close();
  }
}
