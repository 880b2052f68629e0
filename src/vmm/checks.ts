// The three properties of Popek & Goldberg checked on runs, over immutable snapshots:
//
//  equivalence — the guest's virtual view (SPEC §3: registers, flags, vPSW, timer, console,
//                traps delivered and the last one's record, all guest-physical memory) at every
//                guest-visible event and at the end equals the bare run's, the events aligned
//                one to one by kind and guest instructions retired;
//  safety      — from the instrumented real machine (safety.ts): nothing a guest ran directly
//                reached outside its allocation or ran in real supervisor mode, and the VMM's
//                reserve and the other VMs' memory did not change;
//  efficiency  — the share of guest instructions the real machine executed directly, exits per
//                1,000 guest instructions, VMM time and actions per exit.
//
// Each verdict comes from executed runs; a failure carries the first diverging event with both
// snapshots.

import { virtualView, compareViews, type MachineSnapshot, type ViewDifference } from '../isa/snapshot.js';
import type { GuestEvent, GuestEventKind } from './events.js';
import type { ExitReason } from './construction.js';
import type { SafetyReport, SafetyViolation } from './safety.js';

export interface Divergence {
  /** index of the first diverging event in both runs */
  readonly index: number;
  /** guest instructions retired at that event (the bare run's when it has one) */
  readonly retired: number;
  /** 'event' when the events themselves differ (kind, retired, cause, or one run lacks it), else the view field */
  readonly field: string;
  readonly bare: unknown;
  readonly actual: unknown;
  readonly bareEvent?: { readonly kind: GuestEventKind; readonly retired: number; readonly cause?: number; readonly snapshot: MachineSnapshot };
  readonly actualEvent?: { readonly kind: GuestEventKind; readonly retired: number; readonly cause?: number; readonly snapshot: MachineSnapshot };
}

export interface EquivalenceVerdict {
  readonly holds: boolean;
  /** events compared (aligned pairs) */
  readonly compared: number;
  readonly first?: Divergence;
}

/** compareViews on two snapshots' virtual views. */
export function compareSnapshots(a: MachineSnapshot, b: MachineSnapshot): ViewDifference | undefined {
  return compareViews(virtualView(a), virtualView(b));
}

const describeEvent = (e: GuestEvent | undefined) => (e ? `${e.kind}${e.cause === undefined ? '' : ` (cause ${e.cause})`} at ${e.retired}` : 'no event');

/**
 * Compares a run's guest-visible events with the bare run's, pair by pair in order. The runs
 * are equivalent when both have the same events (kind, cause, instructions retired) and the
 * virtual views agree at each.
 */
export function checkEquivalence(bare: readonly GuestEvent[], actual: readonly GuestEvent[]): EquivalenceVerdict {
  const n = Math.max(bare.length, actual.length);
  for (let i = 0; i < n; i++) {
    const a = bare[i];
    const b = actual[i];
    const base = { index: i, retired: (a ?? b)!.retired, bareEvent: a, actualEvent: b };
    if (!a || !b || a.kind !== b.kind || a.retired !== b.retired || a.cause !== b.cause) {
      return { holds: false, compared: i, first: { ...base, field: 'event', bare: describeEvent(a), actual: describeEvent(b) } };
    }
    const d = compareSnapshots(a.snapshot, b.snapshot);
    if (d) return { holds: false, compared: i + 1, first: { ...base, field: d.field, bare: d.a, actual: d.b } };
  }
  return { holds: true, compared: n };
}

export interface SafetyVerdict {
  readonly holds: boolean;
  readonly level: SafetyReport['level'];
  readonly resumes: number;
  readonly tracedInstructions: number;
  /** the VMM's entry PSW and reserve intact at the end (checked at every level) */
  readonly reserveIntact: boolean;
  readonly first?: SafetyViolation;
  readonly violations: number;
}

/** The safety verdict of one VM from the run's safety report and the end-of-run reserve check. */
export function safetyVerdict(report: SafetyReport, vm: number, reserveIntact: boolean): SafetyVerdict {
  const mine = report.violations.filter((v) => v.vm === vm);
  return {
    holds: mine.length === 0 && reserveIntact,
    level: report.level,
    resumes: report.resumes,
    tracedInstructions: report.tracedInstructions,
    reserveIntact,
    ...(mine.length ? { first: mine[0] } : {}),
    violations: mine.length,
  };
}

export interface EfficiencyFigures {
  readonly retired: number;
  /** guest instructions retired on the real machine */
  readonly direct: number;
  /** guest instructions retired by the VMM in software (emulated or interpreted) */
  readonly software: number;
  /** direct / retired (1 when nothing retired) */
  readonly directShare: number;
  /** software-retired instructions that had not trapped on the real machine first (interpreted) */
  readonly untrappedSoftware: number;
  readonly exits: Readonly<Record<ExitReason, number>> & { readonly total: number };
  readonly exitsPer1000: number;
  /** virtual timer interrupts the VMM delivered */
  readonly interrupts: number;
  /** VMM wall time (everything but the real machine's direct runs) per exit, µs */
  readonly usPerExit: number;
  readonly vmmSeconds: number;
  readonly directSeconds: number;
  /** VMM-side actions (state transfers, emulations, reflections, timer programming) per exit */
  readonly actionsPerExit: number;
}

export interface EfficiencyVerdict extends EfficiencyFigures {
  readonly holds: boolean;
  readonly criterion: string;
}

/** Default minimum share of directly executed guest instructions. */
export const MIN_DIRECT_SHARE = 0.99;

/**
 * Efficiency holds when at least `minDirect` of the guest's instructions ran directly and —
 * the paper's condition that all innocuous instructions run directly — every instruction the
 * VMM executed in software had trapped on the real machine first. The hybrid VMM interprets
 * virtual-supervisor code by design, so for it only the share is required.
 */
export function efficiencyVerdict(f: EfficiencyFigures, kind: string, minDirect = MIN_DIRECT_SHARE): EfficiencyVerdict {
  const needTrapped = kind !== 'hvm';
  const holds = f.directShare >= minDirect && (!needTrapped || f.untrappedSoftware === 0);
  const criterion = `direct share >= ${minDirect}${needTrapped ? ' and every software-executed instruction trapped on the real machine first' : ''}`;
  return { ...f, holds, criterion };
}

export interface GuestChecks {
  readonly equivalence: EquivalenceVerdict;
  readonly safety: SafetyVerdict;
  readonly efficiency: EfficiencyVerdict;
}
