// The API the CLI and the theorem checker use: run a guest bare, under the VMM, under the
// hybrid VMM or under the VMM-in-assembly running under the VMM (vmm2), or several guests
// together on one real machine — with the three checks attached.

import { runBare } from './bare.js';
import { opsByName, trapsByName, type RunSummary } from '../isa/run.js';
import { checkEquivalence, efficiencyVerdict, safetyVerdict, type EfficiencyFigures, type GuestChecks } from './checks.js';
import { hostLayout, type Allocation, type HostLayout, type SegmentComposer } from './construction.js';
import type { GuestEvent } from './events.js';
import { guestProblem, type GuestImage } from './guest.js';
import { Monitor, reserveIntact, vmFigures, type Vm, type VmmKind, type VmmState } from './monitor.js';
import { nestedProblem, runNested, vmm2Image, type NestedDetails } from './nested.js';
import type { SafetyLevel, SafetyReport } from './safety.js';

export type RunKind = 'bare' | VmmKind | 'vmm2';

export interface RunOptions {
  /** record events, compare with a bare run, check safety and efficiency (default true) */
  readonly check?: boolean;
  /** safety instrumentation (default 'resume' when checking, else 'off') */
  readonly safety?: SafetyLevel;
  /** guest instructions per scheduling slice */
  readonly quantum?: number;
  /** minimum direct share for the efficiency verdict (default 0.99) */
  readonly minDirect?: number;
  /** step 4's composition, for tests that break it on purpose */
  readonly compose?: SegmentComposer;
  /** where the VMs go in real memory (runVms; default: packed after the VMM's reserve) */
  readonly layout?: HostLayout;
}

/** A guest's run; `final` is its virtual state (for vmm2: rebuilt from the assembly VMM's tables). */
export interface GuestRun extends RunSummary {
  readonly kind: RunKind;
  readonly name: string;
  /** guest-visible events with snapshots (when checking; always the final 'end' one) */
  readonly events: readonly GuestEvent[];
  readonly console: string;
  readonly efficiency?: EfficiencyFigures;
  readonly checks?: GuestChecks;
  /** vmm2 only: what the nested level did and how it was compared */
  readonly nested?: NestedDetails;
}

export interface VmmRun {
  readonly kind: VmmKind;
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

/** Why `kind` cannot run `guest`, or undefined when it can. */
export function whyNot(kind: RunKind, guest: GuestImage): string | undefined {
  if (kind === 'bare') return undefined;
  const why = guestProblem(guest) ?? (kind === 'vmm2' ? nestedProblem(guest) : undefined);
  if (why) return why;
  const hosted = kind === 'vmm2' ? vmm2Image(guest).guest : guest;
  try {
    hostLayout([hosted.config.memorySize]);
  } catch (e) {
    return (e as Error).message.replace(/^hostLayout: /, '');
  }
  return undefined;
}

/** Runs one guest as `kind`. With `check` (default), the result carries the three verdicts. */
export function runGuest(kind: RunKind, guest: GuestImage, options: RunOptions = {}): GuestRun {
  if (kind === 'bare') return { kind: 'bare', name: guest.name, ...runBare(guest, { events: options.check !== false }) };
  if (kind === 'vmm2') return runNested(guest, options);
  return runVms(kind, [guest], options).vms[0];
}

/**
 * Runs several guests together on one real machine under the VMM or the hybrid VMM, round
 * robin on the real timer. Each VM is checked against its own bare run.
 */
export function runVms(kind: VmmKind, guests: readonly GuestImage[], options: RunOptions = {}): VmmRun {
  const check = options.check !== false;
  const monitor = new Monitor(guests, {
    kind,
    events: check,
    safety: options.safety ?? (check ? 'resume' : 'off'),
    ...(options.quantum === undefined ? {} : { quantum: options.quantum }),
    ...(options.compose ? { compose: options.compose } : {}),
    ...(options.layout ? { layout: options.layout } : {}),
  });
  const t0 = performance.now();
  monitor.run();
  const seconds = (performance.now() - t0) / 1000;
  const safety = monitor.safety.report();
  const intact = reserveIntact(monitor.host, monitor.layout);
  const vms = monitor.vms.map((vm) => vmGuestRun(kind, vm, seconds, check ? { safety, intact, minDirect: options.minDirect } : undefined));
  return {
    kind,
    vms,
    host: { memorySize: monitor.layout.memorySize, reserve: monitor.layout.reserve, allocations: monitor.layout.allocations },
    state: monitor.state,
    safety,
    reserveIntact: intact,
    seconds,
    ...(check ? { holds: vms.every((r) => r.checks!.equivalence.holds && r.checks!.safety.holds) } : {}),
  };
}

function vmGuestRun(kind: VmmKind, vm: Vm, seconds: number, check: { safety: SafetyReport; intact: boolean; minDirect?: number } | undefined): GuestRun {
  const vcpu = vm.vcpu;
  const counts = Float64Array.from(vm.directOps, (n, op) => n + vcpu.opCounts[op]);
  const efficiency = vmFigures(vm);
  const events = vm.rec.events;
  const run: GuestRun = {
    kind,
    name: vm.name,
    end: vm.end ?? 'budget',
    retired: vcpu.retired,
    final: events[events.length - 1].snapshot,
    events,
    instructions: opsByName(counts, vcpu.compiled),
    traps: trapsByName(vcpu.trapCounts, vcpu.compiled),
    console: vcpu.console,
    seconds,
    efficiency,
  };
  if (!check) return run;
  const bare = runBare(vm.guest, { events: true });
  return {
    ...run,
    checks: {
      equivalence: checkEquivalence(bare.events, events),
      safety: safetyVerdict(check.safety, vm.id, check.intact),
      efficiency: efficiencyVerdict(efficiency, kind, check.minDirect),
    },
  };
}
