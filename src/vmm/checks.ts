// The three properties of Popek & Goldberg checked on runs:
//
//  equivalence — the guest's virtual view (registers, flags, vPSW, timer, console, traps
//                delivered and the last one's record, all guest-physical memory) at every
//                guest-visible event and at the end equals the bare run's, the events aligned
//                one to one by kind and guest instructions retired (lockstep.ts, as the run goes);
//  safety      — from the observed host bus (safety.ts): no access made for a VM — run directly,
//                emulated, reflected, interpreted, a tick delivered, a table walked, the VMM's
//                own work — reached outside what that VM was given, no instruction ran in real
//                supervisor mode, and the VMM's memory did not change;
//  efficiency  — the share of guest instructions the real machine executed directly, exits per
//                1,000 guest instructions, VMM time and actions per exit.
//
// Each verdict comes from executed runs and never holds when nothing was compared; a failure
// carries the first diverging event with both snapshots.

import { interpretsSupervisor, type VmmKind } from './kinds.js';
import { virtualView, compareViews, type MachineSnapshot, type ViewDifference } from '../isa/snapshot.js';
import type { GuestEvent } from './events.js';
import type { ExitReason } from './construction.js';
import type { SafetyReport, SafetyViolation } from './safety.js';
import type { TlbMode } from './tlb-modes.js';

/** An event of one run at a divergence, with the machine's snapshot there. */
export type EventWithSnapshot = GuestEvent & { readonly snapshot: MachineSnapshot };

export interface Divergence {
  /** index of the first diverging event in both runs */
  readonly index: number;
  /** guest instructions retired at that event (the bare run's when it has one) */
  readonly retired: number;
  /** guest instructions retired at the last event both runs agreed on (0: none) */
  readonly agreed: number;
  /** 'event' when the events themselves differ (kind, retired, cause, or one run lacks it), else the view field */
  readonly field: string;
  readonly bare: unknown;
  readonly actual: unknown;
  readonly bareEvent?: EventWithSnapshot;
  readonly actualEvent?: EventWithSnapshot;
}

/** Shadow paging: the coherence invariant checked from the guest's tables before every resume. */
export interface CoherenceFigures {
  /** resumes at which every shadow space was checked */
  readonly checks: number;
  /** shadow entries found wrong, in all (lazy: stale ones the guest's table history since its last invalidation gave are not counted) */
  readonly violations: number;
  /** the first one's detail, and the VM's guest instructions retired then */
  readonly first?: { readonly retired: number; readonly detail: string };
  /** lazy: table-history states dropped to bound the check's memory (MAX_HISTORY states, MAX_HISTORY_FRAMES frames); absent when none was */
  readonly historyDropped?: number;
}

export interface EquivalenceVerdict {
  /** the events agree and (shadow paging) no shadow entry was ever found incoherent */
  readonly holds: boolean;
  /** events compared (aligned pairs) */
  readonly compared: number;
  readonly first?: Divergence;
  readonly coherence?: CoherenceFigures;
  /** points where the run left the bare TLB's choice for another allowed translation (lockstep.ts); absent when none */
  readonly tlbNondeterminism?: TlbNondeterminism<Divergence>;
}

/** A divergence as plain, bounded data (no snapshots, long strings cut): what reports and JSON carry. */
export type DivergenceSummary = Omit<Divergence, 'bareEvent' | 'actualEvent'> & { readonly bareEvent?: GuestEvent; readonly actualEvent?: GuestEvent };

/** An equivalence verdict as plain, bounded data (no snapshots). */
export interface EquivalenceSummary {
  readonly holds: boolean;
  readonly compared: number;
  readonly coherence?: CoherenceFigures;
  readonly first?: DivergenceSummary;
  readonly tlbNondeterminism?: TlbNondeterminism<DivergenceSummary>;
}

/** Where a run diverged within TLB nondeterminism: how many points, the first, and the TLB mode of the bare machine that explained it. */
export interface TlbNondeterminism<D> {
  readonly points: number;
  readonly first: D;
  readonly by: TlbMode;
}

/** A value of a divergence as bounded plain data (long strings cut). */
function bounded(v: unknown): unknown {
  return typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…` : v;
}

/** `d` without snapshots, its values bounded: safe to print as JSON whatever the run's size. */
export function summarizeDivergence(d: Divergence): DivergenceSummary {
  const event = (e: EventWithSnapshot | undefined) => e && { kind: e.kind, retired: e.retired, ...(e.cause === undefined ? {} : { cause: e.cause }) };
  const bareEvent = event(d.bareEvent);
  const actualEvent = event(d.actualEvent);
  return { index: d.index, retired: d.retired, agreed: d.agreed, field: d.field, bare: bounded(d.bare), actual: bounded(d.actual), ...(bareEvent ? { bareEvent } : {}), ...(actualEvent ? { actualEvent } : {}) };
}

/** `v` without snapshots, its values bounded: safe to print as JSON whatever the run's size. */
export function summarizeEquivalence(v: EquivalenceVerdict): EquivalenceSummary {
  const t = v.tlbNondeterminism;
  return {
    holds: v.holds,
    compared: v.compared,
    ...(v.coherence ? { coherence: v.coherence } : {}),
    ...(v.first ? { first: summarizeDivergence(v.first) } : {}),
    ...(t ? { tlbNondeterminism: { ...t, first: summarizeDivergence(t.first) } } : {}),
  };
}

/** compareViews on two snapshots' virtual views. */
export function compareSnapshots(a: MachineSnapshot, b: MachineSnapshot): ViewDifference | undefined {
  return compareViews(virtualView(a), virtualView(b));
}

export interface SafetyVerdict {
  readonly holds: boolean;
  readonly level: SafetyReport['level'];
  /** why nothing was checked */
  readonly note?: string;
  readonly resumes: number;
  /** host accesses observed one by one on this VM's behalf */
  readonly accesses: number;
  /** translation windows approved on its behalf (host ranges checked whole, then accessed untold) */
  readonly windows: number;
  /** the VMM's entry PSW and reserve intact at the end */
  readonly reserveIntact: boolean;
  /** this VM's first violation */
  readonly first?: SafetyViolation;
  /** this VM's violations, all counted (and those no VM can be charged with) */
  readonly violations: number;
  /** the first few of them, with their details */
  readonly kept: readonly SafetyViolation[];
}

/**
 * The safety verdict of one VM from the run's bus report and the end-of-run reserve check: no
 * violation charged to it or to no VM, and the reserve intact. Never holds without
 * instrumentation (level 'off': nothing was checked).
 */
export function safetyVerdict(report: SafetyReport, vm: number, reserveIntact: boolean): SafetyVerdict {
  const kept = report.violations.filter((v) => v.vm === vm || v.vm < 0);
  const violations = (report.counts[vm] ?? 0) + report.unattributed;
  return {
    holds: violations === 0 && reserveIntact && report.level !== 'off',
    level: report.level,
    ...(report.level === 'off' ? { note: 'not checked: the host bus was not observed' } : {}),
    resumes: report.resumes,
    accesses: report.accesses[vm] ?? 0,
    windows: report.windows[vm] ?? 0,
    reserveIntact,
    ...(kept.length ? { first: kept[0] } : {}),
    violations,
    kept,
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
  /** VMM wall time (everything but the real machine's direct runs and the equivalence checker's lockstep) per exit, µs */
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
 * Efficiency holds when the guest retired instructions, at least `minDirect` of them ran directly, and —
 * the paper's condition that all innocuous instructions run directly — every instruction the
 * VMM executed in software had trapped on the real machine first. The hybrid VMM interprets
 * virtual-supervisor code by design, so for it only the share is required.
 */
export function efficiencyVerdict(f: EfficiencyFigures, kind: VmmKind, minDirect = MIN_DIRECT_SHARE): EfficiencyVerdict {
  const needTrapped = !interpretsSupervisor(kind);
  const holds = f.retired > 0 && f.directShare >= minDirect && (!needTrapped || f.untrappedSoftware === 0);
  const criterion = `direct share >= ${minDirect}${needTrapped ? ' and every software-executed instruction trapped on the real machine first' : ''}`;
  return { ...f, holds, criterion };
}

export interface GuestChecks {
  readonly equivalence: EquivalenceVerdict;
  readonly safety: SafetyVerdict;
  readonly efficiency: EfficiencyVerdict;
}
