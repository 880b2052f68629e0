// How a VMM virtualizes one VM's memory — the strategy the monitor calls for every VM:
//
//   install    before a direct run: the real translation state for the current vPSW (segment:
//              B'/L' composed into the VM's allocation; nested paging: the guest's root as the
//              stage-1 root over the VM's stage-2 table), and the real PSW that runs it
//   classify   at an exit: the VMM's own (its timer, a fault of its own translation it repairs)
//              or the guest's, to emulate or to reflect
//   repair     a fault of the VMM's own translation (nested: a stage-2 fault on a page mapped on
//              demand): fix it and resume, or say the guest must see the fault itself
//   after*     hooks after an emulated instruction and after a reflected trap (nested: mirror a
//              guest TLB invalidation or root change on the real TLB)
//   confines   the invariant it keeps, as host-physical ranges the VM may reach — what the safety
//              checker holds the real machine to; the checker tests it, it does not trust it
//
// The segment strategy (today's construction) lives in segment-memory.ts.

import type { Machine, Psw } from '../isa/machine.js';
import type { PhysicalMemory } from '../mmu/memory.js';
import type { Physmap } from '../mmu/physmap.js';
import type { ReadBus } from '../paging/index.js';
import { Op } from '../isa/instructions.js';
/** How the VMM takes an exit: see MemoryVirtualizer.classify. */
export type ExitKind = 'timer' | 'deliver' | 'execute' | 'repair';

/** Where a VM's guest-physical memory lies in host memory, as reports show it (bounded). */
export interface PlacementReport {
  readonly strategy: string;
  /** the guest page size the placement is kept in */
  readonly pageBytes: number;
  /** guest pages backed by host pages */
  readonly mappedPages: number;
  /** the first MAX_REPORTED_RANGES runs of guest pages on consecutive host pages */
  readonly ranges: readonly { readonly gpa: number; readonly hpa: number; readonly size: number }[];
  /** runs left out of `ranges` */
  readonly moreRanges: number;
  /** nested paging: the host address of the VM's stage-2 root */
  readonly stage2Root?: number;
  /** shadow paging: what the shadow code did (misses by kind, spaces, changes to shadow entries) */
  readonly shadow?: {
    readonly hidden: number;
    readonly true: number;
    readonly traceWrites: number;
    readonly protected: number;
    readonly reclaims: number;
    readonly spaces: number;
    readonly unsyncs: number;
    readonly resyncs: number;
    readonly changes: number;
    /** the changes by reason: entries filled (hidden fault), made read-only (protect), dropped (trace write, resync, reclaim, flush), pinned (vmm region) */
    readonly changesByReason: Readonly<Record<string, number>>;
    /** address space compression: guest accesses to the VMM's region, each run on the virtual CPU (0 without a region) */
    readonly region: number;
  };
  /** address space compression: the guest-virtual range the VMM's reserve is pinned at in every shadow space, and whether the guests' real segments end at it (segment truncation) */
  readonly vmmRegion?: { readonly va: number; readonly bytes: number; readonly truncated: boolean };
}

/** Runs of a placement a report lists. */
export const MAX_REPORTED_RANGES = 16;

/** The placement of guest memory laid out by `physmap`, for strategy `strategy` (bounded: MAX_REPORTED_RANGES runs). */
export function physmapPlacement(strategy: string, physmap: Physmap): PlacementReport {
  const ranges = physmap.ranges();
  return {
    strategy,
    pageBytes: physmap.pageBytes,
    mappedPages: physmap.mappedPages,
    ranges: ranges.slice(0, MAX_REPORTED_RANGES),
    moreRanges: Math.max(0, ranges.length - MAX_REPORTED_RANGES),
  };
}

/**
 * Instructions whose emulation may drop guest TLB entries (a PTBR write, an invalidation, a PSW
 * load): a paging strategy mirrors them on the real TLB, whose entries it derived from the guest's.
 */
export const TLB_OPS: ReadonlySet<number> = new Set([Op.Setptbr, Op.Invlpg, Op.Tlbflush, Op.Lpsw]);

/** A host-physical byte range [lo, hi). */
export interface HostRange {
  readonly lo: number;
  readonly hi: number;
}

export interface MemoryVirtualizer {
  /** 'segment' or 'nested' (later: the shadow policies) */
  readonly name: string;
  /** the VM's guest-physical memory, as its virtual CPU sees it */
  readonly guestMemory: PhysicalMemory;
  /** bytes of guest-physical memory */
  readonly guestBytes: number;
  /** The real PSW that runs `vcpu`'s current vPSW directly; installs any other translation state on `host`. */
  install(host: Machine, vcpu: Machine): Psw;
  /**
   * How the VMM takes a real trap of `cause` (instruction `op` for instruction traps) taken while
   * the guest ran: its own timer, a fault of its own translation to repair, a trap to deliver to
   * the guest as the real machine recorded it (exitKind: svc; nested paging: the guest's own page
   * faults, which the real MMU found walking the guest's tables with the guest's TLB), or the
   * instruction to run on the virtual CPU (which emulates or reflects it).
   */
  classify(cause: number, op: number, vcpu: Machine): ExitKind;
  /**
   * Repairs a fault of the VMM's own translation (classify said 'repair'): true when the guest
   * can resume and retry, false when the guest must take the fault itself (the VMM then runs the
   * faulting instruction on the virtual CPU, which faults exactly as bare hardware would).
   */
  repair(host: Machine, vcpu: Machine): boolean;
  /**
   * Before the virtual CPU runs anything of the guest's (an instruction, a trap entry): brings
   * it the translation state the guest built while it ran directly, so that what runs in
   * software translates as it would have run on the real machine (nested paging: the real TLB's
   * entries for this guest). Absent: there is none to bring.
   */
  beforeVcpu?(host: Machine, vcpu: Machine): void;
  /** After an instruction was emulated on the virtual CPU (its opcode `op`). */
  afterEmulate(host: Machine, vcpu: Machine, op: number): void;
  /** After a trap was reflected into the guest. */
  afterReflect(host: Machine, vcpu: Machine): void;
  /** The host-physical ranges this VM may reach while it runs directly (guest memory and, for nested paging, nothing else). */
  confines(): readonly HostRange[];
  /** Where the guest's memory lies in host memory now, for reports. */
  placement(): PlacementReport;
  /**
   * Shadow paging: what is wrong with the VMM's own translation state now, checked from the
   * guest's tables (the coherence invariant), each part against the guest state it was built
   * for: one detail per wrong entry, empty when all is well. With `history` (the guest's memory
   * as it was at each resume since its last TLB invalidation, which the caller keeps), an entry
   * one of those states gave is allowed (stale as a TLB entry may be). Absent for strategies
   * with no such state.
   */
  coherence?(history?: readonly ReadBus[]): readonly string[];
  /** Whether its translations may lag the guest's tables as a TLB's may (the lazy policy): the checker then keeps the guest's table history for `coherence`. */
  readonly lagsLikeTlb?: boolean;
}
