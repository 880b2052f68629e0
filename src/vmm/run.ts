// The API the CLI and the theorem checker use: run a guest bare, under the VMM, under the
// hybrid VMM or under the VMM-in-assembly running under the VMM (vmm2), or several guests
// together on one real machine — with the three checks attached. `whyNot` and `whyNotTogether`
// say, as a plain reason, everything these runs would refuse.

import { runBare } from './bare.js';
import { opsByName, trapsByName, type RunSummary } from '../isa/run.js';
import { efficiencyVerdict, safetyVerdict, type EfficiencyFigures, type GuestChecks } from './checks.js';
import type { Allocation, HostLayout, SegmentComposer } from './construction.js';
import type { EventTally } from './events.js';
import { guestProblem, type GuestImage } from './guest.js';
import { hostProblem, reserveIntact } from './host.js';
import { Monitor, vmFigures, type Vm, type VmmKind, type VmmState } from './monitor.js';
import { nestedProblem, runNested, vmm2Image, type NestedDetails } from './nested.js';
import type { SafetyLevel, SafetyReport } from './safety.js';

export type RunKind = 'bare' | VmmKind | 'vmm2';

export interface RunOptions {
  /** compare with the bare run as it goes, check safety and efficiency (default true) */
  readonly check?: boolean;
  /** safety instrumentation (default 'resume' when checking, else 'off'; 'resume' becomes 'trace' for a profile that does not confine user mode) */
  readonly safety?: SafetyLevel;
  /** guest instructions per scheduling slice */
  readonly quantum?: number;
  /** minimum direct share for the efficiency verdict (default 0.99) */
  readonly minDirect?: number;
  /** step 4's composition, for tests that break it on purpose */
  readonly compose?: SegmentComposer;
  /** where the VMs go in real memory (runVms; default: packed after the VMM's reserve) */
  readonly layout?: HostLayout;
  /**
   * Run a guest the real machine cannot confine (an instruction that changes the
   * resource-control state runs in user mode without trapping) instead of refusing it — for
   * demonstration: the safety checker then traces every instruction and reports the breach.
   */
  readonly allowUnsafe?: boolean;
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
  /** vmm2 only: what the nested level did and how it was compared (plain, bounded data) */
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

/** Why `kind` cannot run `guest` (with `options`), or undefined when it can. */
export function whyNot(kind: RunKind, guest: GuestImage, options: Pick<RunOptions, 'allowUnsafe'> = {}): string | undefined {
  if (kind === 'bare') return undefined;
  if (kind !== 'vmm2') return hostProblem([guest], options);
  const why = guestProblem(guest) ?? nestedProblem(guest);
  return why ?? hostProblem([vmm2Image(guest).guest], options);
}

/**
 * Why `kind` cannot run `guests` together on one real machine (placed by `options.layout`, or
 * packed), or undefined: what runVms would refuse, as a reason (vmm2 runs one guest).
 */
export function whyNotTogether(kind: RunKind, guests: readonly GuestImage[], options: Pick<RunOptions, 'allowUnsafe' | 'layout'> = {}): string | undefined {
  if (kind === 'bare') return undefined;
  if (kind === 'vmm2') return guests.length === 1 ? whyNot(kind, guests[0], options) : `vmm2 runs one guest under the assembly VMM, not ${guests.length}`;
  return hostProblem(guests, options);
}

/** Runs one guest as `kind`. With `check` (default), the result carries the three verdicts. */
export function runGuest(kind: RunKind, guest: GuestImage, options: RunOptions = {}): GuestRun {
  if (kind === 'bare') return { kind: 'bare', name: guest.name, ...runBare(guest, { events: options.check !== false }) };
  if (kind === 'vmm2') return runNested(guest, options);
  return runVms(kind, [guest], options).vms[0];
}

/**
 * Runs several guests together on one real machine under the VMM or the hybrid VMM, round
 * robin on the real timer. Each VM is checked against its own bare run. Throws RangeError for
 * guests whyNotTogether refuses.
 */
export function runVms(kind: VmmKind, guests: readonly GuestImage[], options: RunOptions = {}): VmmRun {
  const check = options.check !== false;
  const monitor = new Monitor(guests, {
    kind,
    events: check,
    safety: options.safety ?? (check ? 'resume' : 'off'),
    allowUnsafe: options.allowUnsafe === true,
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
  const run: GuestRun = {
    kind,
    name: vm.name,
    end: vm.end ?? 'budget',
    retired: vcpu.retired,
    final: vm.final!,
    events: vm.source.tally,
    instructions: opsByName(counts, vcpu.compiled),
    traps: trapsByName(vcpu.trapCounts, vcpu.compiled),
    console: vcpu.console,
    seconds,
    efficiency,
  };
  if (!check) return run;
  return {
    ...run,
    checks: {
      equivalence: vm.equivalence()!,
      safety: safetyVerdict(check.safety, vm.id, check.intact),
      efficiency: efficiencyVerdict(efficiency, kind, check.minDirect),
    },
  };
}
