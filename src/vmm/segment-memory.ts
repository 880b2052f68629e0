// The segment strategy of memory virtualization (the construction of docs/vmm.md, steps 3–4): the
// VM's guest-physical memory is one contiguous allocation of host memory at addr0, and the real
// segment (B', L') is the guest's, composed into that allocation. Nothing to repair: every real
// trap is the VMM's timer or the guest's own.

import type { Machine, Psw } from '../isa/machine.js';
import type { PhysicalMemory } from '../mmu/memory.js';
import type { BoundsConvention } from '../mmu/segment.js';
import { composeSegment, exitKind, realPsw, type Allocation, type SegmentComposer, type StatusV } from './construction.js';
import type { HostRange, MemoryVirtualizer, PlacementReport } from './virtualizer.js';
import { FRAME_SIZE } from '../mmu/memory.js';

export class SegmentMemory implements MemoryVirtualizer {
  readonly name = 'segment';
  readonly guestMemory: PhysicalMemory;

  /** `compose` is step 4's B'/L' composition (tests pass broken ones to watch the checkers fail). */
  constructor(
    readonly allocation: Allocation,
    host: Machine,
    private readonly bounds: BoundsConvention,
    private readonly statusV: StatusV,
    private readonly compose: SegmentComposer = composeSegment,
  ) {
    this.guestMemory = host.mem.window(allocation.addr0, allocation.vmsize);
  }

  get guestBytes(): number {
    return this.allocation.vmsize;
  }

  /** Step 4: M' = the real mode for vM, IE forced on, B'/L' composed into the allocation. */
  install(_host: Machine, vcpu: Machine): Psw {
    return realPsw(vcpu.psw(), this.allocation, this.bounds, this.statusV, this.compose);
  }

  /** Steps 6–7: the VMM's timer, or an instruction the virtual mode would not trap (emulate), or the guest's trap (reflect). */
  classify(cause: number): 'timer' | 'deliver' | 'execute' {
    return exitKind(cause);
  }

  /** Never asked: the segment construction has no translation of its own to repair. */
  repair(): boolean {
    return false;
  }

  afterEmulate(): void {}

  afterReflect(): void {}

  placement(): PlacementReport {
    const a = this.allocation;
    return { strategy: 'segment', pageBytes: FRAME_SIZE, mappedPages: Math.ceil(a.vmsize / FRAME_SIZE), ranges: [{ gpa: 0, hpa: a.addr0, size: a.vmsize }], moreRanges: 0 };
  }

  confines(): readonly HostRange[] {
    return [{ lo: this.allocation.addr0, hi: this.allocation.addr0 + this.allocation.vmsize }];
  }
}
