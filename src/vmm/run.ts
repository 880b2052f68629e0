// The API the CLI and the theorem checker use: run a guest bare, under the VMM, under the
// hybrid VMM or under the VMM-in-assembly running under the VMM (vmm2), or several guests
// together on one real machine — with the three checks attached. `whyNot` and `whyNotTogether`
// say, as a plain reason, everything these runs would refuse.

import { runBare } from './bare.js';
import { opsByName, trapsByName } from '../isa/run.js';
import { efficiencyVerdict, safetyVerdict } from './checks.js';
import { guestProblem, type GuestImage } from './guest.js';
import { hostProblem, reserveIntact } from './host.js';
import { pagesGuests, type MonitorKind } from './kinds.js';
import { Monitor, vmFigures, type Vm } from './monitor.js';
import { nestedProblem, shadowHostOptions } from './nested-host.js';
import { vmm2Problem, runVmm2, vmm2Image } from './vmm2.js';
import type { GuestRun, RunKind, RunOptions, VmmRun } from './results.js';
import type { SafetyReport } from './safety.js';

export type { GuestRun, RunKind, RunOptions, VmmRun } from './results.js';

/** Why `kind` cannot run `guest` (with `options`), or undefined when it can. */
export function whyNot(kind: RunKind, guest: GuestImage, options: Pick<RunOptions, 'allowUnsafe' | 'nested'> = {}): string | undefined {
  if (kind === 'bare') return undefined;
  if (pagesGuests(kind)) return whyNotTogether(kind, [guest], options);
  if (kind !== 'vmm2') return hostProblem([guest], options);
  const why = guestProblem(guest) ?? vmm2Problem(guest);
  return why ?? hostProblem([vmm2Image(guest).guest], options);
}

/**
 * Why `kind` cannot run `guests` together on one real machine (placed by `options.layout`, or
 * packed), or undefined: what runVms would refuse, as a reason (vmm2 runs one guest).
 */
export function whyNotTogether(kind: RunKind, guests: readonly GuestImage[], options: Pick<RunOptions, 'allowUnsafe' | 'layout' | 'nested'> = {}): string | undefined {
  if (kind === 'bare') return undefined;
  if (pagesGuests(kind)) {
    const o = { ...options.nested, allowUnsafe: options.allowUnsafe === true };
    return nestedProblem(guests, kind === 'nested' ? o : shadowHostOptions(guests, o));
  }
  if (kind === 'vmm2') return guests.length === 1 ? whyNot(kind, guests[0], options) : `vmm2 runs one guest under the assembly VMM, not ${guests.length}`;
  return hostProblem(guests, options);
}

/** Runs one guest as `kind`. With `check` (default), the result carries the three verdicts. */
export function runGuest(kind: RunKind, guest: GuestImage, options: RunOptions = {}): GuestRun {
  if (kind === 'bare') return { kind: 'bare', name: guest.name, ...runBare(guest, { events: options.check !== false }) };
  if (kind === 'vmm2') return runVmm2(guest, options);
  return runVms(kind, [guest], options).vms[0];
}

/**
 * Runs several guests together on one real machine under the VMM or the hybrid VMM, round
 * robin on the real timer. Each VM is checked against its own bare run. Throws RangeError for
 * guests whyNotTogether refuses.
 */
export function runVms(kind: MonitorKind, guests: readonly GuestImage[], options: RunOptions = {}): VmmRun {
  const check = options.check !== false;
  const monitor = new Monitor(guests, {
    kind,
    events: check,
    safety: options.safety ?? (check ? 'bus' : 'off'),
    allowUnsafe: options.allowUnsafe === true,
    ...(options.nested ? { nested: options.nested } : {}),
    ...(options.quantum === undefined ? {} : { quantum: options.quantum }),
    ...(options.compose ? { compose: options.compose } : {}),
    ...(options.memory ? { memory: options.memory } : {}),
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

function vmGuestRun(kind: MonitorKind, vm: Vm, seconds: number, check: { safety: SafetyReport; intact: boolean; minDirect?: number } | undefined): GuestRun {
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
    placement: vm.memory.placement(),
    ...(vm.memory.name === 'segment' ? {} : { mmu: { misses: vm.mmuMisses, refs: vm.mmuRefs } }),
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
