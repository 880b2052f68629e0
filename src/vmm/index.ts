// The segment VMM (SPEC §5.1): trap-and-emulate, hybrid, and the assembly VMM run under it
// (Theorem 2), with the equivalence, safety and efficiency checks. docs/vmm.md describes it.

export { runGuest, runVms, whyNot, type GuestRun, type RunKind, type RunOptions, type VmmRun } from './run.js';
export { bareMachine, checkGuest, guestFromMachine, guestProblem, guestFromSources, type GuestImage, type GuestSpec, type ProgramSource } from './guest.js';
export { runBare, type BareRun, type GuestEnd } from './bare.js';
export { EventRecorder, type GuestEvent, type GuestEventKind } from './events.js';
export {
  checkEquivalence,
  compareSnapshots,
  efficiencyVerdict,
  MIN_DIRECT_SHARE,
  safetyVerdict,
  type Divergence,
  type EfficiencyFigures,
  type EfficiencyVerdict,
  type EquivalenceVerdict,
  type GuestChecks,
  type SafetyVerdict,
} from './checks.js';
export {
  checkLayout,
  composeSegment,
  exitReason,
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
export { buildHost, DEFAULT_QUANTUM, Monitor, reserveIntact, Vm, vmFigures, type MonitorOptions, type ResumeObserver, type VmmKind, type VmmState, type VmRecord } from './monitor.js';
export { SafetyMonitor, type SafetyLevel, type SafetyReport, type SafetyViolation } from './safety.js';
export { nestedProblem, runNested, VMM2_LOG, vmm2Image, vmm2Symbols, type NestedDetails, type TrapRecord, type Vmm2Image, type Vmm2Options } from './nested.js';
