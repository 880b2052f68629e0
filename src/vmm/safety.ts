// Resource control, observed: the safety checker sits on the host's memory bus (mmu/bus.ts) and
// sees every host-physical access, whoever makes it, and holds it to the memory each VM was given
// before the run started (`SafetyPlan`: the scenario's layout or the host's plan — never the
// VMM's records while it runs).
//
// Who made an access comes from the bus itself: the real machine (the CPU driving the bus is the
// host: fetch and data of the guest it runs directly, its MMU's walks and A/D writes, its trap
// entry), a VM's virtual CPU (a CPU whose VM the checker was told when the VMs were made), or
// software (no CPU: the VMM's own code). What each may touch, in host-physical terms:
//
//   direct (host fetch, data)    the running VM's memory; for vmm2 while the VM is in virtual
//                                user mode, only its inner guest's part of it
//   walk (host MMU)              the running VM's memory (its guest tables) and the stage-2 table
//                                area (the VMM's tables, read and marked accessed by the MMU)
//   trap entry (host)            the trap slots: the new PSW read, the old PSW and trap record written
//   a VM's virtual CPU           that VM's memory only: emulation, reflection, tick delivery and
//                                the hybrid VMM's interpretation, table walks included
//   software (the VMM)           the reserve, the stage-2 table area, and the memory of the VM it
//                                is working for — never another VM's
//
// The monitor labels what it is doing (`act`, `beforeRun`): which VM the host runs and what to
// call a virtual CPU's accesses. Labels name violations and say which VM the real machine and the
// VMM's code serve; they never widen what a VM may reach. Also checked: no instruction is fetched
// in real supervisor mode but the VMM's entry instruction in its reserve (the VMM is TypeScript:
// the real machine fetches the first instruction of its trap handler, and nothing else of its own);
// a direct run leaves the real resource-control state (mode, IE, PG, WP, NXE, SUM, base, limit,
// PTBR — read from the old PSW its trap stored, or the machine) as the real machine had it when
// resumed, whatever the VMM meant to install; and after every exit the VMM's memory — the reserve, except the trap slots, against its
// contents when the run started, in the frames written since the last check — and that every
// frame written was written through the bus. Violations are counted per VM, uncapped; the first
// few of each VM are kept with their path, address, access and instruction count.

import { PSW_BYTES, SLOT_NEW_PSW, SLOT_OLD_PSW, ST_IE, ST_MODE_MASK, ST_NXE, ST_PG, ST_SUM, ST_WP, TRAP_DETAIL } from '../isa/arch.js';
import { readPsw, type Machine, type Psw, type RunExit } from '../isa/machine.js';
import { snapshot, type MachineSnapshot } from '../isa/snapshot.js';
import { CYCLE_DATA, CYCLE_FETCH, CYCLE_TRAP, CYCLE_WALK, type BusCycle, type BusObserver } from '../mmu/bus.js';
import { FRAME_BITS, FRAME_SIZE, mergeRanges, WriteLog } from '../mmu/memory.js';
import { guestRealModes, isDemotion } from './construction.js';
import type { HostRange } from './virtualizer.js';

export type SafetyLevel = 'off' | 'bus';

/** Who made an access (see the file comment). */
export type AccessPath = 'direct' | 'walk' | 'trap entry' | 'emulate' | 'reflect' | 'tick' | 'interpret' | 'virtual CPU' | 'vmm';

/** What the monitor says it is doing for a VM: names its virtual CPU's accesses, and scopes its own. */
export type VmmActivity = 'direct' | 'execute' | 'tick' | 'interpret' | 'vmm';

/** The memory each VM was given, from the scenario or the host's plan, before the run. */
export interface SafetyPlan {
  /** per VM: the host ranges its guest-physical memory may occupy */
  readonly vms: readonly (readonly HostRange[])[];
  /** the VMM's reserve [0, reserve): trap slots, entry PSW, canary */
  readonly reserve: number;
  /** host address of the VMM's entry instruction (in the reserve): the one fetch in real supervisor mode that is the VMM's own */
  readonly entry: number;
  /** nested paging: the stage-2 table area */
  readonly tables?: HostRange;
  /** vmm2: per VM, the host range its inner guest may reach while the VM is in virtual user mode */
  readonly inner?: readonly (HostRange | undefined)[];
}

/** The real machine's processor state before a direct run. */
export interface RealState {
  readonly psw: Psw;
  readonly regs: readonly number[];
}

export interface SafetyViolation {
  /**
   * access: outside what the path may reach; inner: outside vmm2's inner guest; supervisor:
   * fetched in real supervisor mode; control: the real resource-control state changed during a
   * direct run without a trap; memory: the VMM's memory changed; unobserved: a frame written
   * around the bus
   */
  readonly kind: 'access' | 'inner' | 'supervisor' | 'control' | 'memory' | 'unobserved';
  /** the VM it is charged to (-1: none was running) */
  readonly vm: number;
  readonly path: AccessPath;
  /** the VM's guest instructions retired when it happened */
  readonly retired: number;
  /** the access: host-physical address, bytes, direction */
  readonly address?: number;
  readonly bytes?: number;
  readonly access?: 'read' | 'write' | 'fetch';
  readonly detail: string;
  /** direct path: the real machine before the direct run */
  readonly before?: RealState;
  /** the machine that made the access (the real one for software and the VMM's memory), then */
  readonly after?: MachineSnapshot;
}

export interface SafetyReport {
  readonly level: SafetyLevel;
  readonly resumes: number;
  /** exits after which the VMM's memory was checked */
  readonly checkpoints: number;
  /** per VM: host accesses observed one by one on its behalf */
  readonly accesses: readonly number[];
  /** per VM: translation windows approved on its behalf (ranges its accesses then went through untold) */
  readonly windows: readonly number[];
  /** per VM: violations, all counted */
  readonly counts: readonly number[];
  /** violations no VM can be charged with (none was running) */
  readonly unattributed: number;
  /** the first MAX_KEPT violations of each VM (and of none), in the order they happened */
  readonly violations: readonly SafetyViolation[];
}

/** Violations kept per VM with their details (all are counted). */
export const MAX_KEPT = 5;

/** Host byte ranges, with the last one that matched remembered (accesses come in runs). */
class RangeSet {
  private lo = 1;
  private hi = 0;
  constructor(readonly ranges: readonly (readonly [number, number])[]) {}

  covers(a: number, n: number): boolean {
    if (a >= this.lo && a + n <= this.hi) return true;
    for (const [lo, hi] of this.ranges) {
      if (a >= lo && a + n <= hi) {
        this.lo = lo;
        this.hi = hi;
        return true;
      }
    }
    return false;
  }
}

const hex = (n: number) => `0x${n.toString(16)}`;
const pairs = (rs: readonly HostRange[]) => rs.map((r) => [r.lo, r.hi] as [number, number]);

/** What VM `vm`'s paths may reach. */
interface Reach {
  readonly own: RangeSet;
  readonly walk: RangeSet;
  readonly software: RangeSet;
  readonly inner: RangeSet | undefined;
}

export class BusChecker implements BusObserver {
  cpu: object | undefined = undefined;
  cycle: BusCycle = 0;

  private readonly reach: Reach[];
  private readonly none: Reach;
  private readonly counts: number[];
  private readonly accesses: number[];
  private readonly windows: number[];
  private readonly kept: SafetyViolation[] = [];
  private readonly keptPer = new Map<number, number>();
  private unattributed = 0;
  private resumes = 0;
  private checkpoints = 0;
  /** the VM the real machine and the VMM serve now, and what the VMM says it does */
  private vm = -1;
  private activity: VmmActivity = 'vmm';
  /** from a resume to the check after its exit: instructions retired at the resume (real machine, VM), the inner guest's range if it is the one running */
  private directRun = false;
  private hostRetired = 0;
  private vmRetired = 0;
  private inner: RangeSet | undefined = undefined;
  private beforePsw: Psw | undefined = undefined;
  private readonly beforeRegs = new Int32Array(16);
  /** the first word of the instruction being fetched, -1 between fetches */
  private lastFetch = -1;
  private muted = false;
  private attached = false;
  /** frames the bus saw written since the last checkpoint (per host frame) */
  private readonly seen: Uint8Array;
  private log: WriteLog | undefined = undefined;
  /** the reserve's frames as the run started, by frame number */
  private readonly golden = new Map<number, Int32Array>();
  /** reserve words found wrong, with the wrong value last reported */
  private readonly wrong = new Map<number, number>();

  /** `vcpus[i]` is VM i's virtual CPU: its accesses are VM i's, whatever the VMM says. */
  constructor(
    readonly level: SafetyLevel,
    private readonly host: Machine,
    private readonly vcpus: readonly Machine[],
    private readonly plan: SafetyPlan,
  ) {
    const vmm = [[0, plan.reserve] as [number, number], ...(plan.tables ? [[plan.tables.lo, plan.tables.hi] as [number, number]] : [])];
    const tables = plan.tables ? [[plan.tables.lo, plan.tables.hi] as [number, number]] : [];
    const reachOf = (own: [number, number][], inner: HostRange | undefined): Reach => ({
      own: new RangeSet(mergeRanges(own)),
      walk: new RangeSet(mergeRanges([...own, ...tables])),
      software: new RangeSet(mergeRanges([...own, ...vmm])),
      inner: inner && new RangeSet([[inner.lo, inner.hi]]),
    });
    this.reach = plan.vms.map((rs, i) => reachOf(pairs(rs), plan.inner?.[i]));
    this.none = reachOf([], undefined);
    this.counts = plan.vms.map(() => 0);
    this.accesses = plan.vms.map(() => 0);
    this.windows = plan.vms.map(() => 0);
    this.seen = new Uint8Array(level === 'off' ? 0 : Math.ceil(host.mem.size / FRAME_SIZE));
  }

  get enabled(): boolean {
    return this.level !== 'off';
  }

  /** Starts observing the host's bus: the reserve's contents now are what it must keep. */
  attach(): void {
    if (!this.enabled || this.attached) return;
    const store = this.host.mem.store;
    for (let fn = 0; fn * FRAME_SIZE < this.plan.reserve; fn++) this.golden.set(fn, store.frameForRead(fn).slice());
    this.log = new WriteLog(store);
    store.observe(this);
    this.attached = true;
  }

  /** Stops observing, after a last check of the VMM's memory. */
  close(): void {
    if (!this.attached) return;
    this.checkpoint();
    this.host.mem.store.observe(undefined);
    this.log!.close();
    this.attached = false;
  }

  /** The VMM now works for VM `vm` doing `activity` (labels: see the file comment). */
  act(vm: number, activity: VmmActivity): void {
    this.vm = vm;
    this.activity = activity;
  }

  /** The real machine is about to run VM `vm` directly. */
  beforeRun(vm: number): void {
    if (!this.attached) return;
    this.act(vm, 'direct');
    this.directRun = true;
    this.resumes++;
    const vcpu = this.vcpus[vm];
    this.hostRetired = this.host.retired;
    this.vmRetired = vcpu.retired;
    this.inner = vcpu.mode !== 0 ? this.reach[vm].inner : undefined;
    this.beforePsw = this.host.psw();
    this.beforeRegs.set(this.host.regs);
    this.lastFetch = -1;
    this.host.mem.store.observe(this); // no window opened before outlives the resume
  }

  /**
   * The direct run ended with `exit` (the VMM has the real machine back): the resource-control
   * state the guest left is compared with the one it was resumed in, and the VMM's memory is checked.
   */
  afterRun(exit: RunExit): void {
    if (!this.attached) return;
    // a double fault stopped the real machine (the VMM rebuilds its state before the next resume);
    // what caused it — a corrupted entry PSW — can only be an access into the reserve, checked on its own
    const left = exit === 'double-fault' ? this.beforePsw! : this.quiet(() => (exit === 'trap' ? readPsw((i) => this.host.mem.read32(SLOT_OLD_PSW + 4 * i)) : this.host.psw()));
    const changed = controlChanges(this.beforePsw!, left, guestRealModes(this.host.profile));
    if (changed) this.violate('control', this.vm, 'direct', undefined, `direct: the guest changed the real machine's resource-control state without a trap (${changed})`);
    this.activity = 'vmm';
    this.checkpoint();
    this.directRun = false;
  }

  /** Runs `f` unobserved: the checkers' own reads (the equivalence checker comparing memory). */
  quiet<T>(f: () => T): T {
    if (this.muted || !this.attached) return f();
    this.muted = true;
    try {
      return f();
    } finally {
      this.muted = false;
    }
  }

  access(a: number, n: number, write: boolean): void {
    if (this.muted) return;
    if (write) this.sawWrite(a, n);
    const cpu = this.cpu;
    if (cpu === this.host) this.hostAccess(a, n, write);
    else if (cpu === undefined) this.check(this.vm, 'vmm', this.reachOf(this.vm).software, a, n, write);
    else {
      const vm = this.vcpus.indexOf(cpu as Machine);
      const path: AccessPath = this.activity === 'vmm' || this.activity === 'direct' || vm !== this.vm ? 'virtual CPU' : this.activity === 'execute' ? (this.cycle === CYCLE_TRAP ? 'reflect' : 'emulate') : this.activity;
      this.check(vm, path, this.reachOf(vm).own, a, n, write);
    }
  }

  /**
   * A translation window over [a, a + n): approved, and counted, only when every access in it
   * would pass `access` — the real machine fetching or moving data for the running VM inside its
   * memory (and the inner guest's, and not fetching in supervisor mode), or a virtual CPU inside
   * its VM's memory. Approved write windows mark their frames seen. Windows last until the CPU's
   * translation state changes, and every resume drops them all (`beforeRun`).
   */
  window(a: number, n: number, write: boolean, fetch: boolean): boolean {
    if (this.muted) return false;
    const cpu = this.cpu;
    let vm: number;
    if (cpu === this.host) {
      vm = this.vm;
      if (this.cycle !== CYCLE_DATA || (fetch && this.host.mode === 0) || (this.inner && !this.inner.covers(a, n))) return false;
    } else {
      vm = this.vcpus.indexOf(cpu as Machine);
      if (vm < 0) return false;
    }
    if (!this.reachOf(vm).own.covers(a, n)) return false;
    this.windows[vm]++;
    if (write) this.sawWrite(a, n);
    return true;
  }

  /** Notes that the bus saw (or approved a window for) a write of [a, a + n): its frames were written through it. */
  private sawWrite(a: number, n: number): void {
    this.seen[a >>> FRAME_BITS] = 1;
    this.seen[(a + n - 1) >>> FRAME_BITS] = 1;
  }

  private reachOf(vm: number): Reach {
    return vm >= 0 && vm < this.reach.length ? this.reach[vm] : this.none;
  }

  /** An access of the real machine, running the current VM directly. */
  private hostAccess(a: number, n: number, write: boolean): void {
    const r = this.reachOf(this.vm);
    switch (this.cycle) {
      case CYCLE_WALK:
        return this.check(this.vm, 'walk', r.walk, a, n, write);
      case CYCLE_TRAP: {
        const slot = write ? a >= SLOT_OLD_PSW && a + n <= TRAP_DETAIL + 4 : a >= SLOT_NEW_PSW && a + n <= SLOT_NEW_PSW + PSW_BYTES;
        if (this.vm >= 0) this.accesses[this.vm]++;
        if (!slot) this.violate('access', this.vm, 'trap entry', { a, n, write }, `trap entry: ${write ? 'write' : 'read'} of ${n} bytes at host ${hex(a)} outside the trap slots`);
        return;
      }
      case CYCLE_FETCH:
        // an instruction is two words: its mode is checked at the first
        if (this.lastFetch >= 0 && a === this.lastFetch + 4) this.lastFetch = -1;
        else {
          this.lastFetch = a;
          if (this.host.mode === 0) {
            if (a === this.plan.entry) return this.countVmm(); // the trap handler's first fetch: the VMM's own code
            this.violate('supervisor', this.vm, 'direct', { a, n, write, fetch: true }, `direct: an instruction is fetched at host ${hex(a)} in real supervisor mode`);
          }
        }
        if (this.lastFetch < 0 && this.host.mode === 0 && a === this.plan.entry + 4) return this.countVmm();
        break;
    }
    this.check(this.vm, 'direct', r.own, a, n, write, this.cycle === CYCLE_FETCH);
    if (this.inner && !this.inner.covers(a, n)) {
      const [lo, hi] = this.inner.ranges[0];
      this.violate('inner', this.vm, 'direct', { a, n, write, fetch: this.cycle === CYCLE_FETCH }, `direct: ${verb(write, this.cycle === CYCLE_FETCH)} of ${n} bytes at host ${hex(a)} outside the inner guest's memory [${hex(lo)}, ${hex(hi)}) (VM ${this.vm} in virtual user mode)`);
    }
  }

  /** An access of the VMM's own (its entry fetched by the real machine): counted, within the reserve by construction. */
  private countVmm(): void {
    if (this.vm >= 0) this.accesses[this.vm]++;
  }

  private check(vm: number, path: AccessPath, may: RangeSet, a: number, n: number, write: boolean, fetch = false): void {
    if (vm >= 0) this.accesses[vm]++;
    if (may.covers(a, n)) return;
    this.violate('access', vm, path, { a, n, write, fetch }, `${path}: ${verb(write, fetch)} of ${n} bytes at host ${hex(a)} outside ${this.memoryName(vm, path)}, in ${this.regionName(a)}`);
  }

  /** What path `path` of VM `vm` may reach, for messages. */
  private memoryName(vm: number, path: AccessPath): string {
    if (vm < 0) return path === 'vmm' ? "the VMM's memory" : 'any VM (none was running)';
    const rs = this.plan.vms[vm];
    const own = rs.length === 1 ? `VM ${vm}'s memory [${hex(rs[0].lo)}, ${hex(rs[0].hi)})` : `VM ${vm}'s memory (${rs.length} host ranges)`;
    if (path === 'walk' && this.plan.tables) return `${own} and the stage-2 table area`;
    return path === 'vmm' ? `${own} and the VMM's memory` : own;
  }

  /** Whose host memory `a` is, as the plan gave it. */
  private regionName(a: number): string {
    if (a < this.plan.reserve) return "the VMM's reserve";
    const t = this.plan.tables;
    if (t && a >= t.lo && a < t.hi) return 'the stage-2 table area';
    const owner = this.plan.vms.findIndex((rs) => rs.some((r) => a >= r.lo && a < r.hi));
    if (owner >= 0) return `VM ${owner}'s memory`;
    return a >= this.host.mem.size ? 'no memory (past the host)' : 'memory no VM was given';
  }

  /** Counts a violation against `vm` and keeps its details when it is among the VM's first MAX_KEPT. */
  private violate(kind: SafetyViolation['kind'], vm: number, path: AccessPath, at: { a: number; n: number; write: boolean; fetch?: boolean } | undefined, detail: string): void {
    if (vm >= 0 && vm < this.counts.length) this.counts[vm]++;
    else this.unattributed++;
    const kept = this.keptPer.get(vm) ?? 0;
    if (kept >= MAX_KEPT) return;
    this.keptPer.set(vm, kept + 1);
    const direct = this.directRun && vm === this.vm;
    const retired = direct ? this.vmRetired + this.host.retired - this.hostRetired : vm >= 0 ? this.vcpus[vm].retired : 0;
    const by = this.cpu && this.cpu !== this.host ? (this.cpu as Machine) : this.host;
    this.muted = true; // a snapshot reads no memory through the bus, but say so
    try {
      this.kept.push({
        kind,
        vm,
        path,
        retired,
        ...(at ? { address: at.a, bytes: at.n, access: at.fetch ? 'fetch' : at.write ? 'write' : 'read' } : {}),
        detail,
        ...(direct && this.beforePsw ? { before: { psw: this.beforePsw, regs: Array.from(this.beforeRegs) } } : {}),
        after: snapshot(by),
      });
    } finally {
      this.muted = false;
    }
  }

  /**
   * After an exit: the VMM's reserve keeps its contents but for the trap slots, and every frame
   * written since the last checkpoint was written through the bus.
   */
  private checkpoint(): void {
    this.checkpoints++;
    const log = this.log!;
    const store = this.host.mem.store;
    for (const fn of log.written) {
      if (this.seen[fn] !== 1) this.violate('unobserved', this.vm, 'vmm', undefined, `host frame ${hex(fn)} was written without the bus seeing a write in it`);
      this.seen[fn] = 0;
      const golden = this.golden.get(fn);
      if (golden) this.compareReserve(fn, golden, store.frameForRead(fn));
    }
    log.reset();
  }

  /**
   * Reserve frame `fn` against its contents at the start (the trap slots excepted); each wrong
   * value of a word is reported once (a word the VMM puts back is right again, not a change).
   */
  private compareReserve(fn: number, golden: Int32Array, now: Int32Array): void {
    const base = fn * FRAME_SIZE;
    for (let w = 0; w < golden.length; w++) {
      const a = base + 4 * w;
      if (golden[w] === now[w]) {
        if (this.wrong.size !== 0) this.wrong.delete(a);
        continue;
      }
      if (a >= SLOT_OLD_PSW && a < TRAP_DETAIL + 4) continue;
      if (a >= this.plan.reserve) break;
      if (this.wrong.get(a) === now[w]) continue;
      this.wrong.set(a, now[w]);
      this.violate('memory', this.vm, 'vmm', undefined, `the VMM's reserve changed: host word ${hex(a)} was ${hex(golden[w] >>> 0)}, is ${hex(now[w] >>> 0)} (seen after the exit)`);
    }
  }

  report(): SafetyReport {
    return { level: this.level, resumes: this.resumes, checkpoints: this.checkpoints, accesses: [...this.accesses], windows: [...this.windows], counts: [...this.counts], unattributed: this.unattributed, violations: [...this.kept] };
  }
}

/** The PSW fields that allocate the machine (mode, IE, PG, WP, NXE, SUM, base, limit, PTBR); NZCV and the PC are the guest's own. */
const CONTROL_STATUS = ST_MODE_MASK | ST_IE | ST_PG | ST_WP | ST_NXE | ST_SUM;

/**
 * The resource-control fields that differ from `a` to `b`, as `field a → b`, or '' when none does.
 * A move to a less privileged mode the VMM itself runs guests in (bit m of `demotions`: x86's far
 * return from real ring 1 to ring 3) gives the guest nothing, and is not one.
 */
export function controlChanges(a: Psw, b: Psw, demotions = 0): string {
  const out: string[] = [];
  const ma = a.status & ST_MODE_MASK;
  const mb = b.status & ST_MODE_MASK;
  const demoted = isDemotion(demotions, ma, mb);
  const s = (a.status ^ b.status) & (demoted ? CONTROL_STATUS & ~ST_MODE_MASK : CONTROL_STATUS);
  if (s !== 0) out.push(`status ${hex(a.status & CONTROL_STATUS)} → ${hex(b.status & CONTROL_STATUS)}`);
  for (const f of ['base', 'limit', 'ptbr'] as const) if (a[f] !== b[f]) out.push(`${f} ${hex(a[f])} → ${hex(b[f])}`);
  return out.join(', ');
}

function verb(write: boolean, fetch: boolean): string {
  return fetch ? 'fetch' : write ? 'write' : 'read';
}
