// `walk --view nested`: an address of a paging guest through both stages of nested paging, as
// the real MMU under the nested-paging VMM sees it — the guest's walk (its tables in
// guest-physical memory), under each guest step the stage-2 walk that located that table in host
// memory, then the stage-2 walk of the final guest-physical address. Side-effect free; the VMM's
// host is built as `run --under nested` builds it (and run first with --after-run).

import type { NestedMemory } from '../vmm/index.js';
import { walk2D, type AccessKind, type WalkResult } from '../paging/index.js';
import { pagerSwitches } from '../isa/machine.js';
import type { Scenario } from './model.js';
import { walkedMonitor, type VmmWalkOptions } from './under.js';
import { stepJson, type StepJson } from './walk-json.js';
import { isUserMode } from '../isa/profile.js';

/** One stage-2 walk: which guest-physical address it translated, its steps, and the host address or fault. */
export interface Stage2Json {
  readonly gpa: number;
  readonly steps: readonly StepJson[];
  readonly refs: number;
  readonly result: { readonly ok: true; readonly hpa: number } | { readonly ok: false; readonly fault: { readonly kind: string; readonly depth: number } };
}

/** An address's two-stage walk. */
export interface NestedWalk {
  readonly va: number;
  readonly access: string;
  readonly mode: string;
  readonly guest: { readonly steps: readonly StepJson[]; readonly refs: number };
  /** tables[i]: the stage-2 walk that located guest step i's table (one more, failed, when stage 2 refused it) */
  readonly tables: readonly Stage2Json[];
  /** the final guest-physical address through stage 2 */
  readonly final?: Stage2Json;
  readonly refs: { readonly guest: number; readonly host: number; readonly total: number };
  readonly result: { readonly ok: true; readonly gpa: number; readonly hpa: number; readonly value: number } | { readonly ok: false; readonly fault: { readonly stage: 1 | 2; readonly kind: string; readonly depth: number } };
}

export interface NestedView {
  readonly geometry: string;
  readonly stage2Geometry: string;
  /** the guest's root (guest-physical) and the VM's stage-2 root (host-physical) */
  readonly ptbr: number;
  readonly stage2Root: number;
  readonly walks: readonly NestedWalk[];
}

/**
 * The nested view of `vas` (already parsed) for scenario `s` (a paging guest): builds the
 * nested-paging host, runs it first for `steps` guest instructions when `afterRun`, and walks
 * from `ptbr` (default: the vPSW's). Throws InputError when nested paging cannot host the guest.
 */
export function nestedView(s: Scenario, vas: readonly number[], o: VmmWalkOptions): NestedView {
  const m = walkedMonitor(s, 'nested', o);
  const vm = m.vms[0];
  const mem = vm.memory as NestedMemory;
  const vcpu = vm.vcpu;
  const g = s.paging!.geometry;
  const user = o.user ?? isUserMode(vcpu.compiled, vcpu.mode);
  const ptbr = o.ptbr ?? vcpu.ptbr;
  const walks = vas.map((va) => {
    const w = walk2D(g, mem.stage2, m.host.mem, ptbr, mem.root, va, { access: o.access, user, switches: pagerSwitches(vcpu.status), guestSize: s.spec.machine.memory });
    return nestedWalk(va, o.access, user, w.guest, w.tables, w.final, w.refs, (hpa) => m.host.mem.read8(hpa));
  });
  return { geometry: g.name, stage2Geometry: mem.stage2.name, ptbr, stage2Root: mem.root, walks };
}

function nestedWalk(va: number, access: AccessKind, user: boolean, guest: WalkResult, tables: readonly WalkResult[], final: WalkResult | undefined, refs: NestedWalk['refs'], byte: (hpa: number) => number): NestedWalk {
  const refused = guest.ok ? -1 : (guest.fault.address ?? -1);
  const gpaOf = (i: number) => (guest.steps[i] ? guest.steps[i].entryAddress : refused);
  const stage2 = (w: WalkResult, gpa: number): Stage2Json => ({
    gpa,
    steps: w.steps.map(stepJson),
    refs: w.refs,
    result: w.ok ? { ok: true, hpa: w.pa } : { ok: false, fault: { kind: w.fault.kind, depth: w.fault.depth } },
  });
  const result: NestedWalk['result'] = guest.ok
    ? { ok: true, gpa: guest.stage1Pa, hpa: guest.pa, value: byte(guest.pa) }
    : { ok: false, fault: { stage: guest.fault.stage, kind: guest.fault.kind, depth: guest.fault.depth } };
  return {
    va,
    access: ['read', 'write', 'fetch'][access],
    mode: user ? 'user' : 'supervisor',
    guest: { steps: guest.steps.map(stepJson), refs: refs.guest },
    tables: tables.map((t, i) => stage2(t, gpaOf(i))),
    ...(final ? { final: stage2(final, guest.ok ? guest.stage1Pa : refused) } : {}),
    refs,
    result,
  };
}
