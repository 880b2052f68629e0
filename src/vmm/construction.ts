// The trap-and-emulate construction (the proof by construction of Popek and Goldberg's Theorem 1)
// as pure functions, one step per function. The monitor (monitor.ts) only sequences these steps
// around the real machine's run loop; nothing here touches a Machine.
//
//   step 1  only the VMM runs in supervisor mode: the real machine's MEM[0] holds the VMM's
//           entry PSW (hostLayout), every guest PSW is installed in realModeOf[vM] (realStatus)
//   step 2  the VMM keeps memory no guest can reach: [0, reserve) (hostLayout)
//   step 3  each VM gets vmsize bytes at addr0, disjoint from the reserve and the other VMs
//   step 4  before resuming: M' = realModeOf[vM], B' / L' composed from the vPSW (composeSegment)
//   step 5  on every exit: vPSW.PC = PSW.PC (monitor.ts, from host MEM[1])
//   step 6  privileged-instruction the guest's own machine would execute in vM (vM = s, or an
//           instruction only the real machine traps) → emulate on the virtual CPU (exitReason)
//   step 7  any other trap → reflect into the guest, in guest terms (exitReason, guestError)
//   step 8  the real timer is the VMM's: programmed with min(quantum, the guest's deliverable
//           virtual-timer count) (realTimerCount)

import { Cause, LOW_MEMORY_END, ST_IE, ST_MODE_MASK } from '../isa/arch.js';
import { isFaultCause, type Psw } from '../isa/machine.js';
import { compileProfile, isUserMode, type CompiledProfile, type Profile } from '../isa/profile.js';
import { ERR_USER } from '../mmu/fault.js';
import { FRAME_SIZE } from '../mmu/memory.js';
import type { BoundsConvention } from '../mmu/segment.js';

/** Where a VM's guest-physical memory lies in host-physical memory. */
export interface Allocation {
  /** host-physical address of guest-physical 0 */
  readonly addr0: number;
  /** bytes of guest-physical memory */
  readonly vmsize: number;
}

/** The real machine's memory map: the VMM's reserve, then one allocation per VM. */
export interface HostLayout {
  /** [0, reserve) belongs to the VMM: its trap slots, its entry PSW, its (canary) data */
  readonly reserve: number;
  readonly allocations: readonly Allocation[];
  /** real memory size: the end of the last allocation */
  readonly memorySize: number;
  /** address space compression: where the reserve is mapped in every guest address space, and the VMM's entry status there (paging on) */
  readonly region?: VmmRegion;
}

/**
 * Address space compression (a trap that keeps the address space): the VMM's reserve, host
 * [0, bytes), is mapped at guest-virtual [va, va + bytes) of every address space the real MMU
 * walks, supervisor-only; the VMM's entry PSW runs there with paging on (`status`).
 */
export interface VmmRegion {
  readonly va: number;
  readonly bytes: number;
  readonly status: number;
  /**
   * Segment truncation: some real mode the guests run in is a supervisor to the page tables (x86
   * ring 1), which cannot tell it from the VMM's, so the guests run with a real segment limit of
   * `va` (a trap loads the VMM's full segment back) — as x86 VMMs fenced themselves off.
   */
  readonly truncate: boolean;
}

/** Where the VMM's entry PSW points (inside the reserve; never executed: the VMM is TypeScript). */
export const VMM_ENTRY = LOW_MEMORY_END;
/** Fill pattern of the VMM's data in its reserve (xor the address): any change to it is visible. */
export const VMM_CANARY = 0x564d4d21;
/** Bytes the VMM keeps for itself at the bottom of real memory. */
export const VMM_RESERVE = FRAME_SIZE;

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/** A problem with a given layout: which VM (or the whole layout, vm undefined) and what. */
export interface LayoutProblem {
  readonly vm?: number;
  readonly message: string;
}

/**
 * Steps 2–3 for a layout a scenario gives: the reserve holds at least the low-memory area and
 * is frame-aligned; every VM starts frame-aligned at or above the reserve, has room for its
 * own low memory, lies inside real memory, and overlaps no other VM. With the end convention
 * (`bounds`), no VM may end at 4 GiB: its composed L' = addr0 + vmsize would be 2^32, which the
 * 32-bit L cannot hold. Empty when usable.
 */
export function checkLayout(layout: HostLayout, bounds: BoundsConvention = 'size'): LayoutProblem[] {
  const problems: LayoutProblem[] = [];
  const hex = (n: number) => `0x${n.toString(16)}`;
  if (layout.reserve < LOW_MEMORY_END || layout.reserve % FRAME_SIZE !== 0) problems.push({ message: `the VMM's reserve (${hex(layout.reserve)}) must be a multiple of ${FRAME_SIZE} bytes` });
  if (layout.memorySize > 2 ** 32) problems.push({ message: `real memory of ${layout.memorySize} bytes exceeds 4 GiB` });
  layout.allocations.forEach((a, vm) => {
    const end = a.addr0 + a.vmsize;
    if (a.addr0 % FRAME_SIZE !== 0) problems.push({ vm, message: `addr0 ${hex(a.addr0)} is not a multiple of ${FRAME_SIZE} bytes` });
    else if (a.addr0 < layout.reserve) problems.push({ vm, message: `addr0 ${hex(a.addr0)} lies in the VMM's reserve [0, ${hex(layout.reserve)})` });
    else if (a.vmsize < LOW_MEMORY_END) problems.push({ vm, message: `vmsize ${a.vmsize} is below the ${LOW_MEMORY_END}-byte low-memory area` });
    else if (end > layout.memorySize) problems.push({ vm, message: `[${hex(a.addr0)}, ${hex(end)}) needs more memory than the machine's ${hex(layout.memorySize)} bytes` });
    else {
      const other = layout.allocations.findIndex((b, j) => j < vm && a.addr0 < b.addr0 + b.vmsize && b.addr0 < end);
      if (other >= 0) problems.push({ vm, message: `[${hex(a.addr0)}, ${hex(end)}) overlaps VM ${other} at [${hex(layout.allocations[other].addr0)}, ${hex(layout.allocations[other].addr0 + layout.allocations[other].vmsize)})` });
      else if (bounds === 'end' && end >= 2 ** 32) problems.push({ vm, message: `[${hex(a.addr0)}, ${hex(end)}) ends at 4 GiB: with the end convention its limit L' = addr0 + vmsize would be 2^32, which a 32-bit L cannot hold; place it lower or make it smaller` });
    }
  });
  return problems;
}

/**
 * Steps 2–3: lays out real memory for VMs of the given sizes — the reserve first, then each VM
 * frame-aligned and disjoint. Throws RangeError when a size is below the low-memory area or the
 * whole does not fit in 4 GiB.
 */
export function hostLayout(vmsizes: readonly number[], reserve = VMM_RESERVE): HostLayout {
  const allocations: Allocation[] = [];
  let next = roundUp(reserve, FRAME_SIZE);
  for (const vmsize of vmsizes) {
    if (!Number.isInteger(vmsize) || vmsize < LOW_MEMORY_END) throw new RangeError(`hostLayout: vmsize ${vmsize} is below the ${LOW_MEMORY_END}-byte low-memory area`);
    allocations.push({ addr0: next, vmsize });
    next = roundUp(next + vmsize, FRAME_SIZE);
  }
  const memorySize = allocations.length ? allocations[allocations.length - 1].addr0 + allocations[allocations.length - 1].vmsize : next;
  if (memorySize > 2 ** 32) throw new RangeError(`hostLayout: the VMs need ${memorySize} bytes of real memory, more than 4 GiB`);
  return { reserve: roundUp(reserve, FRAME_SIZE), allocations, memorySize };
}

/**
 * Step 1: the PSW the real machine traps into — the VMM's, supervisor mode, interrupts off; with
 * address space compression its entry is the reserve's mapping in the guest's address space.
 */
export function vmmEntryPsw(layout: HostLayout): Psw {
  const r = layout.region;
  return { pc: (r?.va ?? 0) + VMM_ENTRY, status: r?.status ?? 0, base: 0, limit: r?.truncate ? FULL_SEGMENT : layout.reserve, ptbr: 0, extra: 0 };
}

/** The VMM's own segment under segment truncation: every address below 4 GiB − 1 (size convention). */
export const FULL_SEGMENT = 0xffffffff;

/** Whether guests of `p` need segment truncation to keep out of the VMM's region (VmmRegion.truncate). */
export function needsTruncation(p: Profile): boolean {
  const cp = compileProfile(p);
  return p.realModeOf.some((m) => !isUserMode(cp, m));
}

/** V, the part of a profile that says what a VMM installs on the real machine for the status word. */
export type StatusV = Pick<Profile, 'realModeOf' | 'realStatusOn' | 'realStatusOff'>;

/**
 * Step 4 (mode part, and the timer's control substitution): the real status word for a guest
 * whose virtual status is `vstatus` — mode replaced by V's real mode for it, V's bits forced on
 * (IE by default: the real timer belongs to the VMM) and off; every other bit as the guest set it.
 */
export function realStatus(vstatus: number, v: StatusV): number {
  return (vstatus & ~ST_MODE_MASK & ~(v.realStatusOff ?? 0)) | v.realModeOf[vstatus & ST_MODE_MASK] | (v.realStatusOn ?? ST_IE);
}

/**
 * Step 4 (relocation part): the real (B', L') for virtual (vB, vL) in allocation `a`.
 * Size convention: B' = addr0 + vB, L' = min(vL, vmsize − vB). End convention: the end is
 * clamped the same way, L' = addr0 + min(vL, vmsize). A base at or past vmsize gives L' = 0
 * (B' = addr0, so nothing overflows 32 bits): every access traps, as on the bare guest.
 * The real accesses this allows are exactly addr0 + (the guest's legal accesses).
 */
export function composeSegment(vbase: number, vlimit: number, a: Allocation, bounds: BoundsConvention): { base: number; limit: number } {
  const vb = vbase >>> 0;
  const vl = vlimit >>> 0;
  if (vb >= a.vmsize) return { base: a.addr0, limit: 0 };
  if (bounds === 'size') return { base: a.addr0 + vb, limit: Math.min(vl, a.vmsize - vb) };
  return { base: a.addr0 + vb, limit: a.addr0 + Math.min(vl, a.vmsize) };
}

/** A function with composeSegment's contract (tests substitute broken ones to see the checker fail). */
export type SegmentComposer = typeof composeSegment;

/** Step 4 whole: the real PSW that runs a guest whose virtual PSW is `v`. */
export function realPsw(v: Psw, a: Allocation, bounds: BoundsConvention, statusV: StatusV, compose: SegmentComposer = composeSegment): Psw {
  const { base, limit } = compose(v.base, v.limit, a, bounds);
  return { pc: v.pc, status: realStatus(v.status, statusV), base, limit, ptbr: v.ptbr, extra: v.extra };
}

/**
 * The host-physical interval [lo, hi) that a real segment (B', L') can reach in a real memory of
 * `memorySize` bytes (empty when lo >= hi). The safety checker proves it lies in the allocation.
 */
export function reachable(base: number, limit: number, bounds: BoundsConvention, memorySize: number): { lo: number; hi: number } {
  const hi = bounds === 'size' ? Math.min(base + limit, memorySize) : Math.min(limit, memorySize);
  return { lo: base, hi: Math.max(base, hi) };
}

/** The real modes the VMM runs guests in (V: realModeOf's image), as a mask: bit m for mode m. */
export function guestRealModes(p: Pick<Profile, 'realModeOf'>): number {
  return p.realModeOf.reduce((mask, m) => mask | (1 << m), 0);
}

/**
 * Step 5 for the mode: the virtual mode of a guest that was in `vmode` and left the real machine
 * in `realMode`. Unchanged when realMode is V's real mode for vmode; otherwise the guest changed
 * mode without a trap (only to a less privileged real mode: anything else is an escape the VMM
 * refuses), and its virtual mode follows: the most privileged virtual mode, no more privileged
 * than vmode, that V runs in realMode — exact when only one does (x86-lite: real ring 3 is
 * virtual ring 3); vmode when none does.
 */
export function followedMode(p: Pick<Profile, 'realModeOf'>, vmode: number, realMode: number): number {
  if (p.realModeOf[vmode] === realMode) return vmode;
  for (let v = vmode + 1; v < p.realModeOf.length; v++) if (p.realModeOf[v] === realMode) return v;
  return vmode;
}

/**
 * Whether a move from real mode `from` to `to` only demotes a guest to another of the real modes
 * V runs guests in (`guestModes`: guestRealModes): it gives the guest nothing (x86's far return to
 * an outer ring), so it is neither an escape nor a breach of resource control.
 */
export function isDemotion(guestModes: number, from: number, to: number): boolean {
  return to > from && ((guestModes >>> to) & 1) !== 0;
}

/** Whether the VMM runs virtual mode `vmode` of `p` in another real mode (V: realModeOf) — a supervisor mode of the guest, which the hybrid VMM interprets. */
export function deprivileged(p: Profile, vmode: number): boolean {
  return p.realModeOf[vmode] !== vmode;
}

/** What an exit of the real machine turned out to be (counted per VM). */
export type ExitReason =
  /** the VMM's own real timer: scheduling and virtual-timer accounting only */
  | 'timer'
  /** the instruction ran on the virtual CPU without trapping: the real trap came of the VMM's construction */
  | 'emulate'
  /** the instruction trapped on the virtual CPU too: the guest took its own trap, as on bare hardware */
  | 'reflect'
  /** a fault of the VMM's own translation (nested paging: stage 2; shadow paging: a shadow miss), repaired or handed to the guest */
  | 'repair';

/**
 * How the VMM takes a real trap of cause `cause` (what a memory strategy may refine): the VMM's
 * own timer — the real timer is never the guest's (IE is forced on for the VMM's quantum; the
 * guest's virtual timer is accounted separately and delivered by the monitor); a trap that is
 * not a fault (svc: the instruction completed, as it does in every mode) to deliver as recorded;
 * or a faulting instruction to run on the virtual CPU in the guest's virtual mode, which then
 * emulates or reflects it (steps 6–7: monitor.ts, execute).
 */
export function exitKind(cause: number): 'timer' | 'deliver' | 'execute' {
  return cause === Cause.Timer ? 'timer' : isFaultCause(cause) ? 'execute' : 'deliver';
}

/**
 * Step 7 for a trap delivered as recorded, in guest terms: the error code the guest would have
 * seen. A memory trap's user bit is the virtual mode's (set in the profile's user modes;
 * the real access may have run deprivileged); every other bit (write, fetch,
 * present, reserved) is the access's own. Non-memory causes carry no error code: 0, as on bare
 * hardware.
 */
export function guestError(cause: number, realError: number, vmode: number, profile: CompiledProfile): number {
  if (!isMemoryCause(cause, profile)) return 0;
  return (realError & ~ERR_USER) | (isUserMode(profile, vmode) ? ERR_USER : 0);
}

/** Whether traps of `cause` record a fault address and an error code in `profile`. */
export function isMemoryCause(cause: number, profile: CompiledProfile): boolean {
  return profile.causes.get(cause)?.memory === true;
}

/**
 * Step 8: the real timer count for the next direct run — the quantum left, or sooner the
 * guest's virtual timer when its expiry would be delivered (enabled, not already pending,
 * interrupts on in the vPSW), so the virtual trap fires at the very instruction it would bare.
 */
export function realTimerCount(quantumLeft: number, vtimer: { enabled: boolean; pending: boolean; count: number }, vstatus: number): number {
  const deliverable = vtimer.enabled && !vtimer.pending && (vstatus & ST_IE) !== 0;
  return Math.max(1, deliverable ? Math.min(quantumLeft, vtimer.count) : quantumLeft);
}
