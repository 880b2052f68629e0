// The virtual machine monitor on the segment machine: trap-and-emulate ('vmm') and the hybrid
// VMM ('hvm'). One real Machine (exitOnTrap) runs every guest directly; the monitor is
// TypeScript that "runs" whenever the real machine has trapped into the VMM's entry PSW. Each
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

import { memoryStrategy, type MonitorKind } from './kinds.js';
import { buildNestedHost, buildShadowHost, type NestedOptions } from './nested-host.js';
import { produce } from 'immer';
import { Cause, SLOT_OLD_PSW, ST_IE, ST_MODE_MASK, ST_NXE, ST_PG, ST_SUM, ST_WP, TRAP_CAUSE, TRAP_DETAIL, TRAP_ERROR, TRAP_VADDR } from '../isa/arch.js';
import { Machine, type Psw, type RunExit } from '../isa/machine.js';
import { snapshot, type MachineSnapshot } from '../isa/snapshot.js';
import { endOf, type GuestEnd } from './bare.js';
import type { EfficiencyFigures, EquivalenceVerdict } from './checks.js';
import { composeSegment, deprivileged, followedMode, guestError, isMemoryCause, realTimerCount, VMM_ENTRY, type ExitReason, type HostLayout, type SegmentComposer } from './construction.js';
import { SegmentMemory } from './segment-memory.js';
import type { HostRange, MemoryVirtualizer } from './virtualizer.js';
import { EventSource } from './events.js';
import type { GuestImage } from './guest.js';
import { buildHost, installEntry } from './host.js';
import { Lockstep } from './lockstep.js';
import { PagingUnit } from '../mmu/paging-unit.js';
import type { MemoryImage } from '../mmu/memory.js';
import { BusChecker, type SafetyLevel, type SafetyPlan } from './safety.js';


/** Called before every direct run of a VM with the real PSW about to be installed (observation only). */
export type ResumeObserver = (vm: number, vcpu: Machine, real: Psw) => void;

export interface MonitorOptions {
  readonly kind: MonitorKind;
  /** guest instructions per scheduling slice (default 1 000 000: ~20 ms of guest time at bench speed) */
  readonly quantum?: number;
  /** check each VM's equivalence with its bare run as it goes (lockstep.ts) */
  readonly events?: boolean;
  /** 'bus': the safety checker observes every host-physical access (safety.ts); 'off' (default): nothing */
  readonly safety?: SafetyLevel;
  /**
   * Run even when the real machine cannot confine the guests (Theorem 1's precondition fails,
   * see realModeEscapes): for demonstration; the checkers then report what really happened.
   */
  readonly allowUnsafe?: boolean;
  /** step 4's B'/L' composition (default composeSegment; tests pass broken ones) */
  readonly compose?: SegmentComposer;
  readonly observer?: ResumeObserver;
  /** where the VMs go in real memory (default: hostLayout, packed after the reserve) */
  readonly layout?: HostLayout;
  /** how a nested-paging host is laid out (kind 'nested') */
  readonly nested?: NestedOptions;
  /**
   * vmm2: per VM, the guest-physical range [lo, hi) its own guest may reach while the VM is in
   * virtual user mode (the safety checker holds the real machine to it then)
   */
  readonly innerGuests?: readonly (HostRange | undefined)[];
  /**
   * Replaces a VM's memory strategy (tests pass broken ones — a wrong view of guest memory — to
   * watch the safety checker fail: it holds each VM to what the plan gave it, never to this).
   */
  readonly memory?: (vm: number, standard: MemoryVirtualizer, host: Machine) => MemoryVirtualizer;
}

/** A VM as the VMM's bookkeeping records it (immer-frozen, updated once per slice). */
export interface VmRecord {
  readonly id: number;
  readonly name: string;
  /** where its guest-physical memory lies in real memory */
  readonly hostRanges: readonly HostRange[];
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
/**
 * Guest memory states a lagging strategy's check keeps between the guest's TLB invalidations,
 * and the host frames they may hold alone (copied on write since the oldest was taken: 64 MiB);
 * older states are dropped, counted, past either bound.
 */
export const MAX_HISTORY = 256;
export const MAX_HISTORY_FRAMES = 16_384;

/** A VM while it runs: its virtual CPU and hot counters (mutable; folded into VmRecord per slice). */
export class Vm {
  readonly vcpu: Machine;
  /** its guest-visible events, told to the lockstep checker when checking */
  readonly source: EventSource;
  readonly lockstep: Lockstep | undefined;
  readonly budget: number;
  end: GuestEnd | undefined = undefined;
  /** the virtual machine's final state (set when the monitor's run is over) */
  final: MachineSnapshot | undefined = undefined;
  /** guest instructions retired on the real machine */
  direct = 0;
  /** guest instructions retired by the VMM (emulation, interpretation) */
  software = 0;
  /** of those, ones that had trapped on the real machine first (emulations that retired) */
  emulatedRetired = 0;
  readonly exits: Record<ExitReason, number> = { timer: 0, emulate: 0, reflect: 0, repair: 0 };
  /** virtual timer interrupts the VMM delivered at a resume */
  interrupts = 0;
  /** VMM-side actions: state transfers, emulations, reflections, timer programming */
  actions = 0;
  vmmSeconds = 0;
  /** the guest wrote to the console while running directly (an unprivileged `out`) */
  directConsole = false;
  /** where the real machine's console output goes while this VM runs directly */
  readonly writeConsole = (text: string): void => {
    this.vcpu.writeConsole(text);
    this.directConsole = true;
  };
  hostSeconds = 0;
  readonly directOps = new Float64Array(256);
  /** the real MMU's TLB misses and walk references while this VM ran directly (paging hosts) */
  mmuMisses = 0;
  mmuRefs = 0;

  /**
   * `memory` is how this VM's memory is virtualized (its guest-physical memory, what runs it
   * directly); `quiet` runs the equivalence checker's comparisons (and the coherence check)
   * unseen by the safety checker.
   */
  constructor(
    readonly id: number,
    readonly guest: GuestImage,
    readonly memory: MemoryVirtualizer,
    check: boolean,
    private readonly quiet: <T>(f: () => T) => T = (f) => f(),
  ) {
    this.vcpu = new Machine({ ...guest.config, memorySize: memory.guestBytes }, memory.guestMemory);
    guest.load(this.vcpu.mem);
    this.vcpu.regs.set(guest.regs.slice(0, 16));
    this.vcpu.loadPsw(guest.psw);
    const lockstep = check ? new Lockstep(guest, this.vcpu) : undefined;
    this.lockstep = lockstep;
    this.source = new EventSource(this.vcpu, check, lockstep && ((e) => quiet(() => lockstep.onEvent(e))));
    this.budget = guest.budget;
  }

  get name(): string {
    return this.guest.name;
  }


  /** Its equivalence with its bare run (when checking), as far as the run has gone. */
  /** Shadow paging in check mode: the coherence checks made before resumes, and what they found. */
  coherenceChecks = 0;
  incoherent = 0;
  firstIncoherence: { retired: number; detail: string } | undefined = undefined;

  /**
   * A strategy that may lag like a TLB (lazy shadow paging), in check mode: the guest's memory at
   * each resume since the guest's TLB was last invalidated — its table states a TLB entry may
   * still come from. Reset whenever the virtual CPU's own TLB was flushed or had an entry
   * invalidated (any invalidation counts as covering every address: stricter than a TLB's set).
   */
  private readonly history: MemoryImage[] = [];
  /** the host store's frames copied when each history image was taken */
  private readonly historyCopies: number[] = [];
  private seenInvalidations = -1;
  /** history images dropped past MAX_HISTORY or MAX_HISTORY_FRAMES (later checks are then stricter than the allowed set) */
  historyDropped = 0;

  /** Checks the memory strategy's own translation state against the guest's tables (check mode; strategies that have one). */
  checkCoherence(): void {
    if (!this.lockstep || !this.memory.coherence) return;
    this.coherenceChecks++;
    const found = this.quiet(() => (this.memory.lagsLikeTlb ? this.memory.coherence!(this.tableHistory()) : this.memory.coherence!()));
    if (found.length && !this.firstIncoherence) this.firstIncoherence = { retired: this.vcpu.retired, detail: found[0] };
    this.incoherent += found.length;
  }

  /** The history with the guest's memory now added, reset first if the virtual CPU's TLB was invalidated since the last resume. */
  private tableHistory(): readonly MemoryImage[] {
    const pager = this.vcpu.pager;
    const invalidations = pager instanceof PagingUnit ? pager.invalidations : 0;
    if (invalidations !== this.seenInvalidations) {
      this.history.length = 0;
      this.historyCopies.length = 0;
    }
    this.seenInvalidations = invalidations;
    const store = this.memory.guestMemory.store;
    this.history.push(this.memory.guestMemory.image());
    this.historyCopies.push(store.framesCopied);
    while (this.history.length > MAX_HISTORY || (this.history.length > 1 && store.framesCopied - this.historyCopies[0] > MAX_HISTORY_FRAMES)) {
      this.history.shift();
      this.historyCopies.shift();
      this.historyDropped++;
    }
    return this.history;
  }

  equivalence(): EquivalenceVerdict | undefined {
    const v = this.lockstep?.verdict();
    if (!v || !this.memory.coherence) return v;
    const coherence = { checks: this.coherenceChecks, violations: this.incoherent, ...(this.firstIncoherence ? { first: this.firstIncoherence } : {}), ...(this.historyDropped ? { historyDropped: this.historyDropped } : {}) };
    return { ...v, holds: v.holds && this.incoherent === 0, coherence };
  }
}

/**
 * The real machine, each VM's memory strategy for `options.kind` — base and bounds over one
 * allocation per VM (vmm, hvm), nested paging or shadow page tables over each VM's physmap — and the
 * memory each VM was given, from the same plan, for the safety checker.
 */
function platform(guests: readonly GuestImage[], options: MonitorOptions): { host: Machine; layout: HostLayout; memories: MemoryVirtualizer[]; plan: SafetyPlan } {
  const allowUnsafe = options.allowUnsafe === true;
  const own = (m: MemoryVirtualizer[], host: Machine) => (options.memory ? m.map((x, i) => options.memory!(i, x, host)) : m);
  const strategy = memoryStrategy(options.kind);
  if (strategy !== 'segment') {
    const o = { ...options.nested, allowUnsafe };
    const { host, layout, memories, plan } = strategy === 'nested' ? buildNestedHost(guests, o) : buildShadowHost(guests, o, options.kind === 'shadow-lazy' ? 'lazy' : 'eager');
    const vms = plan.physmaps.map((p) => p.claimedRanges().map(([lo, hi]) => ({ lo, hi })));
    return { host, layout, memories: own(memories, host), plan: { vms, reserve: layout.reserve, entry: VMM_ENTRY, tables: plan.tables } };
  }
  const { host, layout, bounds } = buildHost(guests, { ...(options.layout ? { layout: options.layout } : {}), allowUnsafe });
  const memories = layout.allocations.map((a) => new SegmentMemory(a, host, bounds, host.profile, options.compose ?? composeSegment));
  const vms = layout.allocations.map((a) => [{ lo: a.addr0, hi: a.addr0 + a.vmsize }]);
  const inner = options.innerGuests?.map((g, i) => g && { lo: layout.allocations[i].addr0 + g.lo, hi: layout.allocations[i].addr0 + g.hi });
  return { host, layout, memories: own(memories, host), plan: { vms, reserve: layout.reserve, entry: VMM_ENTRY, ...(inner ? { inner } : {}) } };
}

export class Monitor {
  readonly host: Machine;
  readonly layout: HostLayout;
  readonly vms: readonly Vm[];
  readonly safety: BusChecker;
  state: VmmState;
  private readonly quantum: number;
  private readonly sliceOps = new Float64Array(256);

  /** Throws RangeError when the guests cannot be hosted (hostProblem says why). */
  constructor(
    guests: readonly GuestImage[],
    readonly options: MonitorOptions,
  ) {
    const { host, layout, memories, plan } = platform(guests, options);
    this.host = host;
    this.layout = layout;
    this.quantum = options.quantum ?? DEFAULT_QUANTUM;
    if (!(this.quantum >= 1)) throw new RangeError(`vmm: quantum ${this.quantum} must be at least 1`);
    this.vms = guests.map((g, i) => new Vm(i, g, memories[i], options.events === true, (f) => this.safety.quiet(f)));
    this.safety = new BusChecker(options.safety ?? 'off', host, this.vms.map((vm) => vm.vcpu), plan);
    this.state = {
      slices: 0,
      vms: this.vms.map((vm) => ({ id: vm.id, name: vm.name, hostRanges: vm.memory.confines(), state: 'runnable', retired: 0, direct: 0, software: 0, exits: { ...vm.exits }, interrupts: 0, slices: 0 })),
    };
  }

  /** Runs every VM, round robin one quantum at a time, until each has halted, double-faulted or used its budget. */
  run(): void {
    this.safety.attach();
    while (this.vms.some((vm) => vm.end === undefined)) {
      for (const vm of this.vms) if (vm.end === undefined) this.runSlice(vm);
    }
    for (const vm of this.vms) {
      vm.source.end();
      vm.final = snapshot(vm.vcpu);
    }
    this.safety.close();
  }

  /** One slice of `vm`: at most a quantum of its guest instructions, or until it stops. */
  private runSlice(vm: Vm): void {
    const vcpu = vm.vcpu;
    const sliceEnd = vcpu.retired + this.quantum;
    const t0 = performance.now();
    const hostBefore = vm.hostSeconds;
    const checkBefore = vm.lockstep?.seconds ?? 0;
    this.sliceOps.set(this.host.opCounts);
    this.safety.act(vm.id, 'vmm');
    for (;;) {
      this.takePendingInterrupt(vm);
      if (!vcpu.running) vm.end = endOf(vcpu);
      else if (vcpu.retired >= vm.budget) vm.end = 'budget';
      if (vm.end !== undefined || vcpu.retired >= sliceEnd) break;
      const left = Math.min(sliceEnd, vm.budget) - vcpu.retired;
      if (this.options.kind === 'hvm' && deprivileged(vcpu.profile, vcpu.mode)) this.interpret(vm, left);
      else this.runDirect(vm, left);
    }
    const ops = this.host.opCounts;
    for (let op = 0; op < 256; op++) vm.directOps[op] += ops[op] - this.sliceOps[op];
    const checking = (vm.lockstep?.seconds ?? 0) - checkBefore;
    vm.vmmSeconds += (performance.now() - t0) / 1000 - (vm.hostSeconds - hostBefore) - checking;
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
    vm.memory.beforeVcpu?.(this.host, vcpu);
    this.safety.act(vm.id, 'tick');
    vcpu.run(0, true);
    this.safety.act(vm.id, 'vmm');
    vm.interrupts++;
    vm.actions++;
    vm.memory.afterReflect(this.host, vcpu);
  }

  /**
   * Steps 4–5: installs the guest's real PSW and registers, programs the real timer, runs the
   * real machine directly until it traps back into the VMM (or `left` instructions retire),
   * and hands the exit to `onExit`.
   */
  private runDirect(vm: Vm, left: number): void {
    const host = this.host;
    const vcpu = vm.vcpu;
    const real = vm.memory.install(host, vcpu);
    this.options.observer?.(vm.id, vcpu, real);
    vm.checkCoherence();
    host.resumePsw(real);
    host.regs.set(vcpu.regs);
    installControl(host, vcpu);
    host.trapEntry = false;
    host.onConsole = vm.writeConsole;
    const count = realTimerCount(left, { enabled: vcpu.timerEnabled, pending: vcpu.timerPending, count: vcpu.timerCount }, vcpu.status);
    host.timerReload = host.timerCount = count;
    host.timerEnabled = true;
    host.timerPending = false;
    vm.actions += 3;
    const before = host.retired;
    this.safety.beforeRun(vm.id);
    const pager = host.pager instanceof PagingUnit ? host.pager : undefined;
    const misses = pager?.tlbMisses ?? 0;
    const refs = pager?.walkReferences ?? 0;
    const t = performance.now();
    const exit = host.run(count);
    vm.hostSeconds += (performance.now() - t) / 1000;
    if (pager) {
      vm.mmuMisses += pager.tlbMisses - misses;
      vm.mmuRefs += pager.walkReferences - refs;
    }
    this.safety.afterRun(exit);
    this.onExit(vm, exit, host.retired - before);
  }

  /**
   * Step 5 and the exit's dispatch: registers and status back into the virtual CPU, vPSW.PC =
   * MEM[1].PC, the `n` directly retired instructions counted on the virtual timer; then the
   * trapped instruction runs on the virtual CPU (emulated or reflected: execute), a fault of the
   * VMM's own translation is repaired, (the VMM's own timer) nothing more, or the VM ends if the
   * real machine stopped.
   */
  private onExit(vm: Vm, exit: RunExit, n: number): void {
    const host = this.host;
    const vcpu = vm.vcpu;
    vcpu.regs.set(host.regs);
    takeControl(host, vcpu);
    vcpu.retireElsewhere(n);
    vm.direct += n;
    if (n > 0) vcpu.trapEntry = false;
    vm.actions += 2;
    if (vm.directConsole) this.takeConsole(vm);
    if (exit === 'halted' || exit === 'double-fault') return this.realStop(vm, exit);
    if (exit !== 'trap') {
      // the VMM's own timer (its quantum ran out): classified, and so numbered, like any exit
      vm.memory.classify(Cause.Timer, 0, vcpu);
      this.syncStatus(vcpu, host.status);
      vcpu.pc = host.pc;
      vm.exits.timer++;
      return;
    }
    const saved = host.readPswImage(SLOT_OLD_PSW);
    takeBanked(host, vcpu, saved.status & ST_MODE_MASK);
    this.syncStatus(vcpu, saved.status);
    vcpu.pc = saved.pc;
    const cause = host.load32(TRAP_CAUSE);
    const op = cause === Cause.Privileged ? host.load32(TRAP_DETAIL) & 0xff : -1;
    const reason = vm.memory.classify(cause, op, vcpu);
    if (reason === 'repair') return this.repair(vm);
    if (reason === 'timer') {
      vm.exits.timer++;
      return;
    }
    const reflected = reason === 'deliver' ? this.deliver(vm, cause, saved.pc) : this.execute(vm);
    if (reflected) {
      vm.exits.reflect++;
      vm.memory.afterReflect(host, vcpu);
    } else {
      vm.exits.emulate++;
      vm.memory.afterEmulate(host, vcpu, op);
    }
    vm.source.poll();
  }

  /**
   * The real machine stopped while the guest ran directly. 'halted': the guest's profile lets
   * user mode execute `halt` and the guest did — it halted, as it would bare, so the VM ends
   * halted. 'double-fault': only a guest that broke out of its confinement can make the real
   * machine double-fault (by overwriting the VMM's entry PSW); the VM ends so. Either way the
   * VMM takes its machine back (entry PSW reinstalled) and goes on with the other VMs.
   */
  private realStop(vm: Vm, exit: 'halted' | 'double-fault'): void {
    const host = this.host;
    const vcpu = vm.vcpu;
    this.syncStatus(vcpu, host.status);
    vcpu.pc = host.pc;
    if (exit === 'halted') vcpu.halt();
    else vcpu.stopWithDoubleFault();
    vm.source.poll();
    if (exit === 'double-fault') installEntry(host, this.layout);
    host.restart();
  }

  /**
   * Reports console output the guest produced directly (possible only when a profile override
   * makes `out` unprivileged in the real mode; the real machine hands it to the virtual CPU as it
   * is written). It is seen at the exit, not at the instruction: such a guest breaks Theorem 1's
   * precondition, and the checker says so.
   */
  private takeConsole(vm: Vm): void {
    vm.directConsole = false;
    vm.source.poll();
  }

  /**
   * Copies back the status bits a guest may change without trapping (flags, profile bits);
   * IE, the paging switches and the bits V forces on or off (realStatusOn, realStatusOff) stay
   * the virtual ones — only emulation and reflection change those (and a memory strategy may run
   * the guest with other real ones: shadow paging turns paging on, NXE on, WP and SUM off). The
   * mode stays the virtual one unless the guest left its real mode without a trap (an x86 far
   * return to an outer ring): then it follows (followedMode). No profile with banked registers
   * can do that (its guests' real mode has no way out but a trap), so no bank is swapped here.
   */
  private syncStatus(vcpu: Machine, real: number): void {
    const keep = ST_MODE_MASK | ST_IE | ST_PG | ST_WP | ST_NXE | ST_SUM | (vcpu.profile.realStatusOn ?? 0) | (vcpu.profile.realStatusOff ?? 0);
    const vmode = followedMode(vcpu.profile, vcpu.status & ST_MODE_MASK, real & ST_MODE_MASK);
    const status = (real & ~keep) | (vcpu.status & keep & ~ST_MODE_MASK) | vmode;
    if (status !== vcpu.status) vcpu.setStatus(status);
  }

  /**
   * A fault of the VMM's own translation (nested paging: a stage-2 fault). Repaired (a page
   * mapped on demand): the guest retries, nothing visible. Otherwise the guest takes the fault
   * itself: the instruction runs on the virtual CPU, which faults exactly as bare hardware would.
   */
  private repair(vm: Vm): void {
    vm.exits.repair++;
    vm.actions++;
    if (vm.memory.repair(this.host, vm.vcpu)) return;
    this.execute(vm);
    vm.memory.afterEmulate(this.host, vm.vcpu, -1);
    vm.source.poll();
  }

  /**
   * Steps 6 and 7 as one: the trapped instruction runs on the virtual CPU, in the guest's
   * virtual mode, over its own memory — one step of the guest's own machine. If that machine
   * does not trap, the instruction was one the real machine trapped only because of the VMM's
   * construction (deprivileging, its translation): it is now **emulated**. If it traps, the
   * guest's own trap entry delivered exactly the trap bare hardware would — old vPSW, cause,
   * address, error code and detail as the guest's machine computes them: a **reflection**. So
   * the VMM decides by what the instruction does in the virtual mode, for any profile, never by
   * a table of the causes it expects. Returns whether it trapped.
   */
  private execute(vm: Vm): boolean {
    const vcpu = vm.vcpu;
    const before = vcpu.retired;
    const trap = vcpu.lastTrap;
    vm.memory.beforeVcpu?.(this.host, vcpu);
    this.safety.act(vm.id, 'execute');
    vcpu.run(1, true);
    this.safety.act(vm.id, 'vmm');
    const retired = vcpu.retired - before;
    vm.software += retired;
    vm.emulatedRetired += retired;
    vm.actions++;
    return vcpu.lastTrap !== trap;
  }

  /**
   * Step 7 for a trap the real machine recorded as the guest's own (exitKind; the memory
   * strategy's classify): delivered through the virtual CPU's own trap entry — old vPSW to its
   * MEM[1], cause / fault address / guest-terms error code / detail (address and error 0 for a
   * cause without an address), new vPSW from its MEM[0]; a double fault there stops this VM only.
   */
  private deliver(vm: Vm, cause: number, savedPc: number): true {
    const host = this.host;
    const vcpu = vm.vcpu;
    const memory = isMemoryCause(cause, vcpu.compiled);
    const error = guestError(cause, host.load32(TRAP_ERROR), vcpu.mode, vcpu.compiled);
    const vaddr = memory ? host.load32(TRAP_VADDR) : 0;
    vm.memory.beforeVcpu?.(host, vcpu);
    this.safety.act(vm.id, 'execute');
    vcpu.trap(cause, vaddr, error, host.load32(TRAP_DETAIL), savedPc);
    this.safety.act(vm.id, 'vmm');
    vm.actions++;
    return true;
  }

  /** Hybrid VMM: interprets the guest on its virtual CPU while it is in a virtual mode the VMM deprivileges (a supervisor mode). */
  private interpret(vm: Vm, left: number): void {
    const vcpu = vm.vcpu;
    const stop = vcpu.retired + left;
    this.safety.act(vm.id, 'interpret');
    while (deprivileged(vcpu.profile, vcpu.mode) && vcpu.running && vcpu.retired < stop) {
      const before = vcpu.retired;
      vcpu.run(1, true);
      vm.software += vcpu.retired - before;
      vm.source.poll();
    }
    this.safety.act(vm.id, 'vmm');
  }
}

/**
 * After a trap into the VMM: the real machine's entry into its supervisor mode banked away the
 * registers the guest ran with in `realMode`; the virtual CPU's visible copies of the banked
 * registers are those (the other registers were copied as they are).
 */
function takeBanked(host: Machine, vcpu: Machine, realMode: number): void {
  const banked = host.profile.bankedRegisters;
  banked.forEach((r, j) => {
    vcpu.regs[r] = host.banks[realMode * banked.length + j];
  });
}

/** Step 4 for the control registers: each gets V's value for it on the real machine (Profile.controlRegisters[i].real), or the guest's own. */
function installControl(host: Machine, vcpu: Machine): void {
  host.profile.controlRegisters.forEach((c, i) => {
    host.control[i] = c.real ?? vcpu.control[i];
  });
}

/**
 * Step 5 for the control registers: the guest's own ones come back from the real machine (V's
 * stay the VMM's; those the real trap into the VMM wrote — ARM's SPSR — stay the virtual CPU's).
 */
function takeControl(host: Machine, vcpu: Machine): void {
  host.profile.controlRegisters.forEach((c, i) => {
    if (c.real === undefined && !c.trapWritten) vcpu.control[i] = host.control[i];
  });
}

/** The efficiency figures of one VM from its counters. */
export function vmFigures(vm: Vm): EfficiencyFigures {
  const retired = vm.vcpu.retired;
  const total = vm.exits.timer + vm.exits.emulate + vm.exits.reflect + vm.exits.repair;
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
