// The shapes of runs: what a run is asked (RunOptions) and what it gives back (GuestRun for one
// guest, VmmRun for the VMs of one real machine), shared by run.ts and vmm2.ts.

import type { RunSummary } from '../isa/run.js';
import type { EfficiencyFigures, GuestChecks } from './checks.js';
import type { Allocation, HostLayout, SegmentComposer } from './construction.js';
import type { EventTally } from './events.js';
import type { MonitorKind, RunKind } from './kinds.js';
import type { MonitorOptions, VmmState } from './monitor.js';
import type { Vmm2Details } from './vmm2-table.js';
import type { SafetyLevel, SafetyReport } from './safety.js';
import type { NestedOptions } from './nested-host.js';
import type { PlacementReport } from './virtualizer.js';

export type { RunKind } from './kinds.js';

export interface RunOptions {
  /** compare with the bare run as it goes, check safety and efficiency (default true) */
  readonly check?: boolean;
  /** safety instrumentation: 'bus' (default when checking) observes every host-physical access; 'off' (default without checking) nothing */
  readonly safety?: SafetyLevel;
  /** guest instructions per scheduling slice */
  readonly quantum?: number;
  /** minimum direct share for the efficiency verdict (default 0.99) */
  readonly minDirect?: number;
  /** step 4's composition, for tests that break it on purpose */
  readonly compose?: SegmentComposer;
  /** a replacement for a VM's memory strategy (runVms), for tests that break it on purpose */
  readonly memory?: MonitorOptions['memory'];
  /** where the VMs go in real memory (runVms; default: packed after the VMM's reserve) */
  readonly layout?: HostLayout;
  /**
   * Run a guest the real machine cannot confine (an instruction that changes the
   * resource-control state runs in user mode without trapping) instead of refusing it — for
   * demonstration: the safety checker reports the breach from the accesses it made.
   */
  readonly allowUnsafe?: boolean;
  /** kind 'nested': how the host is laid out (host memory, reserve, stage-2 geometry, physmaps) */
  readonly nested?: NestedOptions;
}

/** A guest's run; `final` is its virtual state (for vmm2: rebuilt from the assembly VMM's tables). */
export interface GuestRun extends RunSummary {
  readonly kind: RunKind;
  readonly name: string;
  /** guest-visible events by kind (counted when checking; always the final 'end') */
  readonly events: EventTally;
  readonly console: string;
  readonly efficiency?: EfficiencyFigures;
  readonly checks?: GuestChecks;
  /** vmm2 only: what the inner level did and how it was compared (plain, bounded data) */
  readonly vmm2?: Vmm2Details;
  /** VMM runs: where the guest's memory lay in host memory at the end */
  readonly placement?: PlacementReport;
}

export interface VmmRun {
  readonly kind: MonitorKind;
  readonly vms: readonly GuestRun[];
  readonly host: { readonly memorySize: number; readonly reserve: number; readonly allocations: readonly Allocation[] };
  /** the VMM's VM records after the last slice */
  readonly state: VmmState;
  readonly safety: SafetyReport;
  readonly reserveIntact: boolean;
  readonly seconds: number;
  /** every VM's checks hold */
  readonly holds?: boolean;
}
