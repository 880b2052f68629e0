// Running a scenario bare and under the VMMs (`run --under`): one guest, or the VMs a file
// lists sharing one machine. Every run comes back in the same shape, with the checkers'
// verdicts for VMM runs, so the CLI prints them side by side.

import { RUN_KINDS, type RunKind } from '../vmm/kinds.js';
import { UnmappedGuestWrite } from '../mmu/physmap-memory.js';
import { ShadowPoolExhausted } from '../shadow/index.js';
import type { AccessKind } from '../paging/index.js';
import { guestFromMachine, HostMemoryExhausted, locateDivergence, Monitor, hostLayout, type DivergentInstruction, type PlacementReport, runGuest, runVms, whyNot, whyNotTogether, type HostLayout, type GuestChecks, type GuestImage, type GuestRun, type NestedOptions, type Vmm2Details } from '../vmm/index.js';
import { buildMachine } from './build.js';
import { InputError, UsageError } from './errors.js';
import type { Scenario } from './load.js';
import { runMachine, type RunResult, type RunSummary, type TraceEntry } from '../isa/run.js';

/** The kinds `run --under` takes: every kind of run. */
export const UNDER_KINDS = RUN_KINDS;
export type UnderKind = RunKind;

export interface UnderRun extends RunSummary {
  readonly under: UnderKind;
  /** in a file that lists VMs: which VM */
  readonly vm?: string;
  /** the guest scenario this run is of (its expectations apply) */
  readonly guest: Scenario;
  /** the budget of guest instructions retired it ran with */
  readonly budget: number;
  /** bare runs: frames the machine allocated */
  readonly framesAllocated?: number;
  readonly trace?: readonly TraceEntry[];
  readonly traceTruncated?: boolean;
  /** VMM runs: equivalence with the bare run, safety, efficiency */
  readonly checks?: GuestChecks;
  /** a single guest's VMM run that diverged: the instruction after which its state first differs from bare (locateDivergence) */
  readonly divergedAt?: DivergentInstruction;
  /** vmm2 runs: what the assembly VMM did */
  readonly vmm2?: Vmm2Details;
  /** VMM runs: where the guest's memory lay in host memory */
  readonly placement?: PlacementReport;
}

export interface UnderOptions {
  /** trace the bare run(s) instruction by instruction */
  readonly trace?: boolean;
  /** trace entries kept (default: runMachine's) */
  readonly traceLimit?: number;
  /** overrides every guest's budget */
  readonly steps?: number;
  /** told now and then how far a long bare run has got */
  readonly progress?: (run: string, retired: number, budget: number) => void;
  /**
   * Run a guest whose instruction set lets it change the resource-control state in user mode
   * anyway (Theorem 1's precondition fails): for demonstration, with the safety checker
   * stepping every directly executed instruction to report the breach.
   */
  readonly allowUnsafe?: boolean;
}

/** The guest a scenario describes, as the VMM takes it: its built machine's initial state. */
export function guestOf(s: Scenario, steps = s.spec.steps): GuestImage {
  return guestFromMachine(s.name, buildMachine(s), steps);
}

/** Why `kind` cannot run scenario `s` (its VMs together, in a file that lists them), or undefined when it can. */
export function whyNotUnder(kind: UnderKind, s: Scenario, o: Pick<UnderOptions, 'allowUnsafe'> = {}): string | undefined {
  const options = { allowUnsafe: o.allowUnsafe === true, nested: s.vmm.nested };
  const guests = s.host ? s.host.vms.map((vm) => vm.guest) : [s];
  if (kind !== 'bare' && guests.some((g) => Object.keys(g.spec.control).length || g.spec.timer || Object.keys(g.spec.banks).length || g.spec.tlb)) {
    return `${kind} cannot run '${s.name}': it sets control registers, the timer, banked copies or TLB entries (\`control\`, \`timer\`, \`banks\`, \`tlb\`), and a VMM starts a guest's at their reset values; run it bare`;
  }
  if (!s.host) {
    const why = whyNot(kind, guestOf(s), { ...options, ...singleLayout(s) });
    return why && `${kind} cannot run '${s.name}': ${why}`;
  }
  const why = whyNotTogether(kind, s.host.vms.map((vm) => guestOf(vm.guest)), { ...options, layout: s.host.layout });
  return why && `${kind} cannot run the VMs of ${s.name}: ${why}`;
}

/** One guest's segment layout when its `vmm.reserve` moves it (default: packed after 4 KiB). */
function singleLayout(s: Scenario): { layout?: HostLayout } {
  if (s.vmm.reserve === undefined) return {};
  try {
    return { layout: hostLayout([s.spec.machine.memory], s.vmm.reserve) };
  } catch (e) {
    throw new InputError([s.locate(['vmm', 'reserve'], (e as Error).message.replace(/^hostLayout: /, ''))]);
  }
}

/**
 * Runs `s` under every kind in `kinds`, in that order: for a single guest one run per kind; for
 * a file listing VMs one run per VM and kind (the VMs share one machine under vmm and hvm).
 * Throws InputError when a kind cannot run the scenario (see whyNotUnder).
 */
export function runUnder(s: Scenario, kinds: readonly UnderKind[], o: UnderOptions = {}): UnderRun[] {
  try {
    return runKinds(s, kinds, o);
  } catch (e) {
    throw hostTooSmall(s, e);
  }
}

/**
 * `e` as bad input when it says the nested- or shadow-paging host ran out of pages for the guest's
 * memory or for one shadow address space (the scenario sized it too small), located at the host's
 * memory or table area; any other error unchanged.
 */
export function hostTooSmall(s: Scenario, e: unknown): unknown {
  if (e instanceof ShadowPoolExhausted) return new InputError([s.locate(s.host ? ['machine', 'memory'] : ['vmm', 'tables'], `${e.message}: it cannot hold one shadow address space (give vmm.tables more bytes)`)]);
  if (!(e instanceof HostMemoryExhausted || e instanceof UnmappedGuestWrite)) return e;
  const message = e instanceof HostMemoryExhausted ? e.message : `the host memory pool is used up: guest-physical 0x${e.gpa.toString(16)} has no host page to back it (give the host more memory)`;
  return new InputError([s.locate(s.host ? ['machine', 'memory'] : ['vmm', 'memory'], message)]);
}

/** runUnder's work (HostMemoryExhausted escapes it: the host was planned too small). */
function runKinds(s: Scenario, kinds: readonly UnderKind[], o: UnderOptions): UnderRun[] {
  const guests = s.host ? s.host.vms.map((vm) => ({ name: vm.name, guest: vm.guest })) : [{ name: undefined, guest: s }];
  const budget = (g: Scenario) => o.steps ?? g.spec.steps;
  for (const kind of kinds) {
    const why = whyNotUnder(kind, s, o);
    if (why) throw new InputError([{ file: s.file, message: why }]);
  }
  return kinds.flatMap((kind) => {
    if (kind === 'bare') return guests.map(({ name, guest }) => bareRun(guest, budget(guest), o, name));
    const allowUnsafe = o.allowUnsafe === true;
    if (!s.host) {
      const guest = guestOf(s, budget(s));
      const options = { allowUnsafe, ...monitorSettings(s), ...singleLayout(s) };
      const g = runGuest(kind, guest, options);
      const first = g.checks?.equivalence.first;
      const divergedAt = first && kind !== 'vmm2' ? locateDivergence(kind, guest, options, first.agreed, first.retired) : undefined;
      return [{ ...fromGuestRun(s, budget(s), g), ...(divergedAt ? { divergedAt } : {}) }];
    }
    if (kind === 'vmm2') throw new Error('runUnder: vmm2 with several VMs passed whyNotUnder');
    const host = s.host;
    const r = runVms(kind, host.vms.map((vm) => guestOf(vm.guest, budget(vm.guest))), { layout: host.layout, allowUnsafe, ...monitorSettings(s) });
    return r.vms.map((g, i) => fromGuestRun(host.vms[i].guest, budget(host.vms[i].guest), g, host.vms[i].name));
  });
}

function bareRun(guest: Scenario, budget: number, o: UnderOptions, vm: string | undefined): UnderRun {
  const progress = o.progress;
  const r: RunResult = runMachine(buildMachine(guest), budget, {
    trace: o.trace === true,
    ...(o.traceLimit === undefined ? {} : { traceLimit: o.traceLimit }),
    ...(progress ? { onProgress: (retired: number) => progress(vm ?? guest.name, retired, budget) } : {}),
  });
  return {
    under: 'bare',
    ...(vm ? { vm } : {}),
    guest,
    budget,
    end: r.end,
    retired: r.retired,
    final: r.final,
    instructions: r.instructions,
    traps: r.traps,
    seconds: r.seconds,
    ...(r.mmu ? { mmu: r.mmu } : {}),
    framesAllocated: r.framesAllocated,
    ...(r.trace ? { trace: r.trace, traceTruncated: r.traceTruncated } : {}),
  };
}

function fromGuestRun(guest: Scenario, budget: number, g: GuestRun, vm?: string): UnderRun {
  return {
    under: g.kind as UnderKind,
    ...(vm ? { vm } : {}),
    guest,
    budget,
    end: g.end,
    retired: g.retired,
    final: g.final,
    instructions: g.instructions,
    traps: g.traps,
    seconds: g.seconds,
    ...(g.mmu ? { mmu: g.mmu } : {}),
    ...(g.checks ? { checks: g.checks } : {}),
    ...(g.vmm2 ? { vmm2: g.vmm2 } : {}),
    ...(g.placement ? { placement: g.placement } : {}),
  };
}

/**
 * What scenario `s` tells the VMM (its `vmm:` block, or the VM file's): how it hosts paging
 * guests, and its quantum — the same for every command that runs `s` under a VMM.
 */
export function monitorSettings(s: Scenario): { readonly nested: NestedOptions; readonly quantum?: number } {
  const nested = s.host ? s.host.vmm.nested : s.vmm.nested;
  const quantum = s.host ? s.host.quantum : s.vmm.quantum;
  return { nested, ...(quantum ? { quantum } : {}) };
}

/** The view options `walk` passes to the VMM views (walk-nested.ts, walk-shadow.ts). */
export interface VmmWalkOptions {
  readonly access: AccessKind;
  readonly user?: boolean;
  readonly ptbr?: number;
  readonly afterRun: boolean;
  readonly steps?: number;
}

/**
 * A monitor of `kind` (a paging VMM) over scenario `s`'s one guest, run first for `steps` guest
 * instructions when `afterRun` (else not at all): what `walk --view nested|shadow` looks at.
 * Throws UsageError for a file that lists VMs, InputError when `kind` cannot host the guest or
 * the host runs out of memory.
 */
export function walkedMonitor(s: Scenario, kind: 'nested' | 'shadow-eager', o: VmmWalkOptions): Monitor {
  if (s.host) throw new UsageError(`walk translates one guest's addresses; ${s.name} lists VMs (walk one VM's scenario)`);
  const why = whyNotUnder(kind, s);
  if (why) throw new InputError([{ file: s.file, message: why }]);
  try {
    const m = new Monitor([guestOf(s, o.afterRun ? (o.steps ?? s.spec.steps) : 0)], { kind, ...monitorSettings(s) });
    if (o.afterRun) m.run();
    return m;
  } catch (e) {
    throw hostTooSmall(s, e);
  }
}
