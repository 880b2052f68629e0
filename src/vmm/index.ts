// The segment VMM: trap-and-emulate, hybrid, and the assembly VMM run under it (Theorem 2),
// with the equivalence, safety and efficiency checks. docs/vmm.md describes it.

export { interpretsSupervisor, isRunKind, KIND_SUMMARIES, MONITOR_KINDS, RUN_KINDS, VMM_KINDS, type MonitorKind, type VmmKind } from './kinds.js';
export { buildNestedHost, buildShadowHost, nestedProblem, planNested, shadowHostOptions, type NestedOptions, type NestedPlan } from './nested-host.js';
export { HostMemoryExhausted, NestedMemory, TableArea } from './nested-memory.js';
export { ShadowMemory, type ShadowCounts, type ShadowPolicy } from './shadow-memory.js';
export { SegmentMemory } from './segment-memory.js';
export { MAX_REPORTED_RANGES, type HostRange, type MemoryVirtualizer, type PlacementReport } from './virtualizer.js';
export { runGuest, runVms, whyNot, whyNotTogether, type GuestRun, type RunKind, type RunOptions, type VmmRun } from './run.js';
export { bareMachine, checkGuest, guestFromMachine, guestProblem, guestFromSources, type GuestImage, type GuestSpec, type ProgramSource } from './guest.js';
export { BareReference, runBare, type BareRun, type GuestEnd } from './bare.js';
export { EventSource, GUEST_EVENT_KINDS, type EventListener, type EventTally, type GuestEvent, type GuestEventKind } from './events.js';
export { compareBare, Lockstep } from './lockstep.js';
export {
  compareSnapshots,
  efficiencyVerdict,
  MIN_DIRECT_SHARE,
  safetyVerdict,
  summarizeDivergence,
  summarizeEquivalence,
  type CoherenceFigures,
  type Divergence,
  type DivergenceSummary,
  type EfficiencyFigures,
  type EfficiencyVerdict,
  type EquivalenceSummary,
  type EquivalenceVerdict,
  type EventWithSnapshot,
  type GuestChecks,
  type SafetyVerdict,
  type TlbNondeterminism,
} from './checks.js';
export { TLB_MODE_TEXT, TLB_MODES, type TlbMode } from './tlb-modes.js';
export {
  checkLayout,
  composeSegment,
  exitKind,
  guestError,
  hostLayout,
  reachable,
  realPsw,
  realStatus,
  realTimerCount,
  VMM_ENTRY,
  VMM_RESERVE,
  vmmEntryPsw,
  type Allocation,
  type ExitReason,
  type HostLayout,
  type LayoutProblem,
  type SegmentComposer,
} from './construction.js';
export { describeEscape, hardwareProblem, realModeEscapes, realProfile, type Escape } from './hardware.js';
export { buildHost, hostProblem, reserveIntact, type HostOptions } from './host.js';
export { DEFAULT_QUANTUM, Monitor, Vm, vmFigures, type MonitorOptions, type ResumeObserver, type VmmState, type VmRecord } from './monitor.js';
export { BusChecker, MAX_KEPT, type AccessPath, type RealState, type SafetyLevel, type SafetyPlan, type SafetyReport, type SafetyViolation, type VmmActivity } from './safety.js';
export { vmm2Problem, runVmm2, VMM2_EMULATES, VMM2_EXIT_COST, VMM2_LOG, vmm2Allowance, vmm2Image, vmm2Symbols, type Vmm2Details, type TrapRecord, type Vmm2Image, type Vmm2Options } from './vmm2.js';
export { locateDivergence, MAX_PROBES, type DivergentInstruction } from './localize.js';
