// The virtual machine monitor of SPEC §5.1 on the segment machine: trap-and-emulate ('vmm') and
// the hybrid VMM ('hvm'). One real Machine (exitOnTrap) runs every guest directly; the monitor
// is TypeScript that "runs" whenever the real machine has trapped into the VMM's entry PSW. Each
// VM has a virtual CPU — a Machine over its window of real memory — that holds the virtual
// state and is also the interpreter for emulation, reflection and the hybrid VMM, so no
// instruction's semantics is written twice.
//
// The exit loop, per VM slice (round robin, one quantum of guest instructions):
//
//   takePendingInterrupt ─▶ runDirect: install real PSW + registers, program the real timer,
//          ▲                run the real machine until it traps into the VMM
//          │                        │ exit: registers back, vPSW.PC = MEM[1].PC,
//          │                        ▼       virtual timer advanced by the instructions retired
//          └──── emulate (privileged, vM = s) │ reflect (anything else) │ timer (the VMM's own)
//
// Hot counters live in plain fields; the structured VM records (VmmState) are immer-frozen and
// updated by one `produce` per slice.

import { produce } from 'immer';
import { encodeHeader, SLOT_NEW_PSW, SLOT_OLD_PSW, ST_IE, ST_MODE_MASK, TRAP_CAUSE, TRAP_DETAIL, TRAP_ERROR, TRAP_VADDR } from '../isa/arch.js';
import { Op } from '../isa/instructions.js';
import { Machine, type Psw, type RunExit } from '../isa/machine.js';
import type { Profile } from '../isa/profile.js';
import type { BoundsConvention } from '../mmu/segment.js';
import { endOf, type GuestEnd } from './bare.js';
import {
  composeSegment,
  exitReason,
  guestError,
  checkLayout,
  hostLayout,
  realPsw,
  realTimerCount,
  VMM_CANARY,
  VMM_ENTRY,
  vmmEntryPsw,
  type Allocation,
  type ExitReason,
  type HostLayout,
  type SegmentComposer,
} from './construction.js';
import { EventRecorder } from './events.js';
import { checkGuest, type GuestImage } from './guest.js';
import { SafetyMonitor, type SafetyLevel } from './safety.js';
import type { EfficiencyFigures } from './checks.js';

export type VmmKind = 'vmm' | 'hvm';

/** Called before every direct run of a VM with the real PSW about to be installed (observation only). */
export type ResumeObserver = (vm: number, vcpu: Machine, real: Psw) => void;

export interface MonitorOptions {
  readonly kind: VmmKind;
  /** guest instructions per scheduling slice (default 1 000 000: ~20 ms of guest time at bench speed) */
  readonly quantum?: number;
  /** record guest-visible events with snapshots (for the equivalence checker) */
  readonly events?: boolean;
  readonly safety?: SafetyLevel;
  /** step 4's B'/L' composition (default composeSegment; tests pass broken ones) */
  readonly compose?: SegmentComposer;
  readonly observer?: ResumeObserver;
  /** where the VMs go in real memory (default: hostLayout, packed after the reserve) */
  readonly layout?: HostLayout;
}

/** A VM as the VMM's bookkeeping records it (immer-frozen, updated once per slice). */
export interface VmRecord {
  readonly id: number;
  readonly name: string;
  readonly allocation: Allocation;
  readonly state: 'runnable' | GuestEnd;
  readonly retired: number;
  readonly direct: number;
  readonly software: number;
  readonly exits: Readonly<Record<ExitReason, number>>;
  readonly interrupts: number;
  readonly slices: number;
}

export interface VmmState {
  readonly slices: number;
  readonly vms: readonly VmRecord[];
}

export const DEFAULT_QUANTUM = 1_000_000;

/** A VM while it runs: its virtual CPU and hot counters (mutable; folded into VmRecord per slice). */
export class Vm {
  readonly vcpu: Machine;
  readonly rec: EventRecorder;
  readonly budget: number;
  end: GuestEnd | undefined = undefined;
  /** guest instructions retired on the real machine */
  direct = 0;
  /** guest instructions retired by the VMM (emulation, interpretation) */
  software = 0;
  /** of those, ones that had trapped on the real machine first (emulations that retired) */
  emulatedRetired = 0;
  readonly exits: Record<ExitReason, number> = { timer: 0, emulate: 0, reflect: 0 };
  /** virtual timer interrupts the VMM delivered at a resume */
  interrupts = 0;
  /** VMM-side actions: state transfers, emulations, reflections, timer programming */
  actions = 0;
  vmmSeconds = 0;
  hostSeconds = 0;
  readonly directOps = new Float64Array(256);

  constructor(
    readonly id: number,
    readonly guest: GuestImage,
    readonly allocation: Allocation,
    host: Machine,
    events: boolean,
  ) {
    this.vcpu = new Machine({ ...guest.config, memorySize: allocation.vmsize }, host.mem.window(allocation.addr0, allocation.vmsize));
    guest.load(this.vcpu.mem);
    this.vcpu.regs.set(guest.regs.slice(0, 16));
    this.vcpu.loadPsw(guest.psw);
    this.rec = new EventRecorder(this.vcpu, events);
    this.budget = guest.budget;
  }

  get name(): string {
    return this.guest.name;
  }
}

/** Throws RangeError unless all guests share one instruction set and bounds convention. */
function commonMachine(guests: readonly GuestImage[]): { profile: Profile; bounds: BoundsConvention } {
  if (guests.length === 0) throw new RangeError('vmm: no guests');
  guests.forEach(checkGuest);
  const first = guests[0].config;
  const same = (p: Profile) => p === first.profile || (p.name === first.profile.name && p.instructions.every((d, i) => d === first.profile.instructions[i]));
  for (const g of guests) {
    if (!same(g.config.profile)) throw new RangeError(`vmm: guest '${g.name}' uses profile ${g.config.profile.name}, the host runs ${first.profile.name}`);
    if ((g.config.bounds ?? 'size') !== (first.bounds ?? 'size')) throw new RangeError(`vmm: guest '${g.name}' uses the ${g.config.bounds} bounds convention, the host another`);
  }
  return { profile: first.profile, bounds: first.bounds ?? 'size' };
}

/**
 * Steps 1–3: the real machine — classic-shaped like the guests, segment translation, one
 * allocation per guest after the VMM's reserve — sitting in the VMM's entry PSW.
 */
export function buildHost(guests: readonly GuestImage[], given?: HostLayout): { host: Machine; layout: HostLayout; bounds: BoundsConvention } {
  const { profile, bounds } = commonMachine(guests);
  const layout = given ?? hostLayout(guests.map((g) => g.config.memorySize));
  const problems = checkLayout(layout);
  if (problems.length) throw new RangeError(`vmm: ${problems.map((p) => (p.vm === undefined ? '' : `VM ${p.vm}: `) + p.message).join('; ')}`);
  guests.forEach((g, i) => {
    if (layout.allocations[i]?.vmsize !== g.config.memorySize) throw new RangeError(`vmm: guest '${g.name}' has ${g.config.memorySize} bytes of memory, its allocation ${layout.allocations[i]?.vmsize}`);
  });
  const host = new Machine({ profile, memorySize: layout.memorySize, translation: 'segment', bounds });
  host.exitOnTrap = true;
  const entry = vmmEntryPsw(layout);
  host.writePswImage(SLOT_NEW_PSW, entry);
  host.store32(VMM_ENTRY, encodeHeader(Op.Halt, 0, 0, 0, false));
  for (let pa = VMM_ENTRY + 8; pa < layout.reserve; pa += 4) host.store32(pa, VMM_CANARY ^ pa);
  host.loadPsw(entry);
  return { host, layout, bounds };
}

/** Whether the VMM's entry PSW, entry instruction and reserve canary are as buildHost left them. */
export function reserveIntact(host: Machine, layout: HostLayout): boolean {
  const entry = vmmEntryPsw(layout);
  const slot = host.readPswImage(SLOT_NEW_PSW);
  const same = (Object.keys(entry) as (keyof Psw)[]).every((k) => slot[k] >>> 0 === entry[k] >>> 0);
  if (!same || host.load32(VMM_ENTRY) !== encodeHeader(Op.Halt, 0, 0, 0, false)) return false;
  for (let pa = VMM_ENTRY + 8; pa < layout.reserve; pa += 4) if (host.load32(pa) !== (VMM_CANARY ^ pa)) return false;
  return true;
}

export class Monitor {
  readonly host: Machine;
  readonly layout: HostLayout;
  readonly vms: readonly Vm[];
  readonly safety: SafetyMonitor;
  state: VmmState;
  private readonly bounds: BoundsConvention;
  private readonly quantum: number;
  private readonly compose: SegmentComposer;
  private readonly realModeOf: readonly number[];
  private readonly sliceOps = new Float64Array(256);

  constructor(
    guests: readonly GuestImage[],
    readonly options: MonitorOptions,
  ) {
    const { host, layout, bounds } = buildHost(guests, options.layout);
    this.host = host;
    this.layout = layout;
    this.bounds = bounds;
    this.quantum = options.quantum ?? DEFAULT_QUANTUM;
    if (!(this.quantum >= 1)) throw new RangeError(`vmm: quantum ${this.quantum} must be at least 1`);
    this.compose = options.compose ?? composeSegment;
    this.realModeOf = host.profile.realModeOf;
    this.vms = guests.map((g, i) => new Vm(i, g, layout.allocations[i], host, options.events === true));
    this.safety = new SafetyMonitor(options.safety ?? 'off', host, layout, bounds);
    this.state = {
      slices: 0,
      vms: this.vms.map((vm) => ({ id: vm.id, name: vm.name, allocation: vm.allocation, state: 'runnable', retired: 0, direct: 0, software: 0, exits: { ...vm.exits }, interrupts: 0, slices: 0 })),
    };
  }

  /** Runs every VM, round robin one quantum at a time, until each has halted, double-faulted or used its budget. */
  run(): void {
    while (this.vms.some((vm) => vm.end === undefined)) {
      for (const vm of this.vms) if (vm.end === undefined) this.runSlice(vm);
    }
    for (const vm of this.vms) vm.rec.end();
  }

  /** One slice of `vm`: at most a quantum of its guest instructions, or until it stops. */
  private runSlice(vm: Vm): void {
    const vcpu = vm.vcpu;
    const sliceEnd = vcpu.retired + this.quantum;
    const t0 = performance.now();
    const hostBefore = vm.hostSeconds;
    this.sliceOps.set(this.host.opCounts);
    for (;;) {
      this.takePendingInterrupt(vm);
      if (!vcpu.running) vm.end = endOf(vcpu);
      else if (vcpu.retired >= vm.budget) vm.end = 'budget';
      if (vm.end !== undefined || vcpu.retired >= sliceEnd) break;
      const left = Math.min(sliceEnd, vm.budget) - vcpu.retired;
      if (this.options.kind === 'hvm' && vcpu.mode === 0) this.interpret(vm, left);
      else this.runDirect(vm, left);
    }
    const ops = this.host.opCounts;
    for (let op = 0; op < 256; op++) vm.directOps[op] += ops[op] - this.sliceOps[op];
    vm.vmmSeconds += (performance.now() - t0) / 1000 - (vm.hostSeconds - hostBefore);
    this.commitSlice(vm);
  }

  /** Folds the slice into the VM's record: the one immer update per slice. */
  private commitSlice(vm: Vm): void {
    this.state = produce(this.state, (d) => {
      d.slices++;
      const r = d.vms[vm.id];
      r.state = vm.end ?? 'runnable';
      r.retired = vm.vcpu.retired;
      r.direct = vm.direct;
      r.software = vm.software;
      r.exits = { ...vm.exits };
      r.interrupts = vm.interrupts;
      r.slices++;
    });
  }

  /**
   * Delivers the guest's pending virtual timer if its vPSW takes interrupts — what the top of
   * Machine.run does before the next fetch, done by running the virtual CPU for zero instructions.
   */
  private takePendingInterrupt(vm: Vm): void {
    const vcpu = vm.vcpu;
    if (!vcpu.running || !vcpu.timerPending || (vcpu.status & ST_IE) === 0) return;
    vcpu.run(0, true);
    vm.interrupts++;
    vm.actions++;
  }

  /**
   * Steps 4–5: installs the guest's real PSW and registers, programs the real timer, runs the
   * real machine directly until it traps back into the VMM (or `left` instructions retire),
   * and hands the exit to `onExit`.
   */
  private runDirect(vm: Vm, left: number): void {
    const host = this.host;
    const vcpu = vm.vcpu;
    const real = realPsw(vcpu.psw(), vm.allocation, this.bounds, this.realModeOf, this.compose);
    this.options.observer?.(vm.id, vcpu, real);
    this.safety.beforeRun(vm.id, vcpu.retired, vm.allocation, real);
    host.loadPsw(real);
    host.regs.set(vcpu.regs);
    host.trapEntry = false;
    const count = realTimerCount(left, { enabled: vcpu.timerEnabled, pending: vcpu.timerPending, count: vcpu.timerCount }, vcpu.status);
    host.timerReload = host.timerCount = count;
    host.timerEnabled = true;
    host.timerPending = false;
    vm.actions += 3;
    const before = host.retired;
    const t = performance.now();
    const exit = this.safety.run(count);
    vm.hostSeconds += (performance.now() - t) / 1000;
    this.safety.afterRun(exit === 'trap');
    this.onExit(vm, exit, host.retired - before);
  }

  /**
   * Step 5 and the exit's dispatch: registers and status back into the virtual CPU, vPSW.PC =
   * MEM[1].PC, the `n` directly retired instructions counted on the virtual timer; then
   * emulate, reflect, or (the VMM's own timer) nothing more.
   */
  private onExit(vm: Vm, exit: RunExit, n: number): void {
    const host = this.host;
    const vcpu = vm.vcpu;
    vcpu.regs.set(host.regs);
    vcpu.retireElsewhere(n);
    vm.direct += n;
    if (n > 0) vcpu.trapEntry = false;
    vm.actions += 2;
    if (host.console !== '') this.takeConsole(vm);
    if (exit !== 'trap') {
      if (exit !== 'budget') throw new Error(`vmm: the real machine stopped (${exit}) while guest '${vm.name}' ran directly`);
      this.syncStatus(vcpu, host.status);
      vcpu.pc = host.pc;
      vm.exits.timer++;
      return;
    }
    const saved = host.readPswImage(SLOT_OLD_PSW);
    this.syncStatus(vcpu, saved.status);
    vcpu.pc = saved.pc;
    const cause = host.load32(TRAP_CAUSE);
    const reason = exitReason(cause, vcpu.mode);
    vm.exits[reason]++;
    if (reason === 'emulate') this.emulate(vm);
    else if (reason === 'reflect') this.reflect(vm, cause, saved.pc);
  }

  /**
   * Moves console output the guest produced directly (possible only when a profile override
   * makes `out` unprivileged in the real mode) to its virtual console. It is seen at the exit,
   * not at the instruction: such a guest breaks Theorem 1's precondition, and the checker says so.
   */
  private takeConsole(vm: Vm): void {
    vm.vcpu.console += this.host.console;
    this.host.console = '';
    vm.rec.poll();
  }

  /**
   * Copies back the status bits a guest may change without trapping (flags, profile bits);
   * the mode and IE stay the virtual ones — only emulation and reflection change those.
   */
  private syncStatus(vcpu: Machine, real: number): void {
    const keep = ST_MODE_MASK | ST_IE;
    const status = (real & ~keep) | (vcpu.status & keep);
    if (status !== vcpu.status) vcpu.setStatus(status);
  }

  /** Step 6: executes the trapped privileged instruction on the virtual CPU (one step of the ISA). */
  private emulate(vm: Vm): void {
    const vcpu = vm.vcpu;
    const before = vcpu.retired;
    vcpu.run(1, true);
    const retired = vcpu.retired - before;
    vm.software += retired;
    vm.emulatedRetired += retired;
    vm.actions++;
    vm.rec.poll();
  }

  /**
   * Step 7: delivers the real trap to the guest through the virtual CPU's own trap entry — old
   * vPSW to its MEM[1], cause / fault address / guest-terms error code / detail, new vPSW from
   * its MEM[0]; a double fault there stops this VM only.
   */
  private reflect(vm: Vm, cause: number, savedPc: number): void {
    const host = this.host;
    const vcpu = vm.vcpu;
    const error = guestError(cause, host.load32(TRAP_ERROR), vcpu.mode, vcpu.compiled);
    vcpu.trap(cause, host.load32(TRAP_VADDR), error, host.load32(TRAP_DETAIL), savedPc);
    vm.actions++;
  }

  /** Hybrid VMM: interprets the guest on its virtual CPU while it is in virtual supervisor mode. */
  private interpret(vm: Vm, left: number): void {
    const vcpu = vm.vcpu;
    const stop = vcpu.retired + left;
    while (vcpu.mode === 0 && vcpu.running && vcpu.retired < stop) {
      const before = vcpu.retired;
      vcpu.run(1, true);
      vm.software += vcpu.retired - before;
      vm.rec.poll();
    }
  }
}

/** The efficiency figures of one VM from its counters. */
export function vmFigures(vm: Vm): EfficiencyFigures {
  const retired = vm.vcpu.retired;
  const total = vm.exits.timer + vm.exits.emulate + vm.exits.reflect;
  return {
    retired,
    direct: vm.direct,
    software: vm.software,
    directShare: retired ? vm.direct / retired : 1,
    untrappedSoftware: vm.software - vm.emulatedRetired,
    exits: { ...vm.exits, total },
    exitsPer1000: retired ? (total * 1000) / retired : 0,
    interrupts: vm.interrupts,
    usPerExit: total ? (vm.vmmSeconds * 1e6) / total : 0,
    vmmSeconds: vm.vmmSeconds,
    directSeconds: vm.hostSeconds,
    actionsPerExit: total ? vm.actions / total : 0,
  };
}
