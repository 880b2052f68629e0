// Steps 1–3 of the construction made concrete: the real machine the VMs share — one profile
// (hardware.ts), one bounds convention, the VMM's reserve at the bottom and one allocation per
// VM — and whether a set of guests can be hosted on it at all.

import { encodeHeader, SLOT_NEW_PSW } from '../isa/arch.js';
import { Op } from '../isa/instructions.js';
import { Machine, type Psw } from '../isa/machine.js';
import type { BoundsConvention } from '../mmu/segment.js';
import { checkLayout, hostLayout, VMM_CANARY, VMM_ENTRY, vmmEntryPsw, type HostLayout } from './construction.js';
import { guestProblem, type GuestImage } from './guest.js';
import { describeEscape, hardwareProblem, realModeEscapes, realProfile } from './hardware.js';

export interface HostOptions {
  /** where the VMs go in real memory (default: hostLayout, packed after the reserve) */
  readonly layout?: HostLayout;
  /** host guests the real machine cannot confine (for demonstration; see realModeEscapes) */
  readonly allowUnsafe?: boolean;
}

/**
 * Why these guests cannot share one real machine under the VMM, or undefined: a guest it cannot
 * host, instruction sets that differ beyond where instructions trap, bounds conventions that
 * differ, a layout that does not fit them, or — unless `allowUnsafe` — a real machine that
 * cannot confine them (an instruction changes the resource-control state in user mode without
 * trapping: Theorem 1's precondition fails).
 */
export function hostProblem(guests: readonly GuestImage[], o: HostOptions = {}): string | undefined {
  if (guests.length === 0) return 'no guests';
  for (const g of guests) {
    const why = guestProblem(g);
    if (why) return guests.length > 1 ? `guest '${g.name}': ${why}` : why;
  }
  const bounds = guests[0].config.bounds ?? 'size';
  const other = guests.find((g) => (g.config.bounds ?? 'size') !== bounds);
  if (other) return `guest '${other.name}' uses the ${other.config.bounds ?? 'size'} bounds convention and '${guests[0].name}' the ${bounds} one; one real machine has one`;
  const why = hardwareProblem(guests.map((g) => g.config.profile)) ?? layoutProblem(guests, bounds, o.layout);
  if (why) return why;
  const real = realProfile(guests.map((g) => g.config.profile));
  const escapes = realModeEscapes(real, bounds);
  if (escapes.length && !o.allowUnsafe) return theorem1Fails(describeEscape(escapes[0], real.modes));
  return undefined;
}

/** The refusal when the real machine cannot confine a guest. */
export function theorem1Fails(escape: string): string {
  return `${escape}: Theorem 1's precondition (every instruction that changes the resource-control state must trap in user mode) fails, so the VMM cannot confine this guest`;
}

/** What is wrong with placing `guests` by `given` (or packed after the reserve), or undefined. */
function layoutProblem(guests: readonly GuestImage[], bounds: BoundsConvention, given: HostLayout | undefined): string | undefined {
  let layout: HostLayout;
  try {
    layout = given ?? hostLayout(guests.map((g) => g.config.memorySize));
  } catch (e) {
    return (e as Error).message.replace(/^hostLayout: /, '');
  }
  const problems = checkLayout(layout, bounds);
  if (problems.length) return problems.map((p) => (p.vm === undefined ? '' : `VM ${p.vm}: `) + p.message).join('; ');
  if (layout.allocations.length !== guests.length) return `the layout has ${layout.allocations.length} allocations for ${guests.length} guests`;
  const wrong = guests.findIndex((g, i) => layout.allocations[i].vmsize !== g.config.memorySize);
  if (wrong >= 0) return `guest '${guests[wrong].name}' has ${guests[wrong].config.memorySize} bytes of memory, its allocation ${layout.allocations[wrong].vmsize}`;
  return undefined;
}

/**
 * Steps 1–3: the real machine — the guests' shared profile (realProfile), segment translation,
 * one allocation per guest after the VMM's reserve — sitting in the VMM's entry PSW. Throws
 * RangeError with hostProblem's reason when the guests cannot be hosted (callers at the edge ask
 * hostProblem first).
 */
export function buildHost(guests: readonly GuestImage[], o: HostOptions = {}): { host: Machine; layout: HostLayout; bounds: BoundsConvention } {
  const why = hostProblem(guests, o);
  if (why) throw new RangeError(`vmm: ${why}`);
  const bounds = guests[0].config.bounds ?? 'size';
  const layout = o.layout ?? hostLayout(guests.map((g) => g.config.memorySize));
  const host = new Machine({ profile: realProfile(guests.map((g) => g.config.profile)), memorySize: layout.memorySize, translation: 'segment', bounds });
  host.exitOnTrap = true;
  installEntry(host, layout);
  host.store32(VMM_ENTRY, encodeHeader(Op.Halt, 0, 0, 0, false));
  for (let pa = VMM_ENTRY + 8; pa < layout.reserve; pa += 4) host.store32(pa, VMM_CANARY ^ pa);
  host.loadPsw(vmmEntryPsw(layout));
  return { host, layout, bounds };
}

/** Writes the VMM's entry PSW into the real machine's MEM[0] (at boot, and after a guest broke it). */
export function installEntry(host: Machine, layout: HostLayout): void {
  host.writePswImage(SLOT_NEW_PSW, vmmEntryPsw(layout));
}

/** Whether the VMM's entry PSW, entry instruction and reserve canary are as buildHost left them. */
export function reserveIntact(host: Machine, layout: HostLayout): boolean {
  const entry = vmmEntryPsw(layout);
  const slot = host.readPswImage(SLOT_NEW_PSW);
  const same = (Object.keys(entry) as (keyof Psw)[]).every((k) => slot[k] >>> 0 === entry[k] >>> 0);
  if (!same || host.load32(VMM_ENTRY) !== encodeHeader(Op.Halt, 0, 0, 0, false)) return false;
  for (let pa = VMM_ENTRY + 8; pa < layout.reserve; pa += 4) if (host.load32(pa) !== (VMM_CANARY ^ pa)) return false;
  return true;
}
