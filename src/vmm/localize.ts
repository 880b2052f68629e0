// Where a divergence began. The equivalence checker compares the runs at guest-visible events,
// so an instruction that silently computes something else under the VMM (x86's pushf, lar,
// smsw in a deprivileged kernel) is reported at the next event — an `out`, a trap — not where it
// ran. This finds the instruction: it runs the guest bare and as `kind` again, without checks,
// for budgets between the last agreed event and the diverging one, compares the two virtual
// states whole at each (compareSnapshots: registers, PSW, control registers, memory, console)
// and bisects to an instruction after which they differ while before it they were equal.
//
// Each probe is two whole runs from the start, so the search is bounded (MAX_PROBES), and it is
// a report on top of the verdict, never part of it: both runs come from the guest image alone.

import { Access } from '../mmu/fault.js';
import type { ViewDifference } from '../isa/snapshot.js';
import { compareSnapshots } from './checks.js';
import { bareMachine, type GuestImage } from './guest.js';
import type { RunKind, RunOptions } from './results.js';
import { runGuest } from './run.js';

/** At most this many budgets are tried (each: one bare and one checked-kind run from the start). */
export const MAX_PROBES = 24;
/** Divergences seen after more guest instructions than this are not located (each probe reruns that far, twice). */
export const MAX_LOCATED_RETIRED = 1_000_000;

/** The instruction after which the two runs' states first differ, as far as the search saw. */
export interface DivergentInstruction {
  /** guest instructions retired before it: the states agree after `retired`, differ after `retired + 1` */
  readonly retired: number;
  /** its address (guest-virtual) and its two words, read on the bare machine before it ran */
  readonly pc: number;
  readonly words?: readonly [number, number];
  /** the first differing component after it */
  readonly difference: ViewDifference;
  readonly probes: number;
}

/**
 * Bisects (from, to] for the instruction after which `guest` run bare and run as `kind` first
 * differ, given that they agree after `from` instructions; undefined when they do not differ
 * after `to` either (the events differ but not the states), when the search would need more
 * than MAX_PROBES probes, or when `to` is past MAX_LOCATED_RETIRED.
 */
export function locateDivergence(kind: RunKind, guest: GuestImage, options: RunOptions, from: number, to: number): DivergentInstruction | undefined {
  let probes = 0;
  const differenceAt = (budget: number): ViewDifference | undefined => {
    probes++;
    const g = { ...guest, budget };
    const bare = runGuest('bare', g, { check: false });
    const other = runGuest(kind, g, { ...options, check: false });
    return compareSnapshots(bare.final, other.final);
  };
  let lo = Math.max(0, from);
  let hi = to;
  if (hi <= lo || hi > MAX_LOCATED_RETIRED || Math.ceil(Math.log2(hi - lo)) + 1 > MAX_PROBES) return undefined;
  let found = differenceAt(hi);
  if (!found) return undefined;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const d = differenceAt(mid);
    if (d) [hi, found] = [mid, d];
    else lo = mid;
  }
  return { retired: lo, ...instructionAt(guest, lo), difference: found, probes };
}

/** The pc and words of the instruction the bare guest runs after `retired` instructions. */
function instructionAt(guest: GuestImage, retired: number): { pc: number; words?: readonly [number, number] } {
  const m = bareMachine(guest);
  if (retired > 0) m.run(retired);
  const pa = m.translate(m.pc, 8, Access.Fetch);
  return pa < 0 ? { pc: m.pc } : { pc: m.pc, words: [m.load32(pa), m.load32(pa + 4)] };
}
