// The coherence invariant of shadow paging, checked from the truth: for every guest virtual page
// a shadow space maps, the guest's tables — walked afresh, without side effects — must translate
// it for every access the shadow entry allows, in the space's view, to the guest page whose host
// frame (by the physmap) is the one the shadow entry names; and a writable shadow entry needs
// the guest's D bit set (A/D emulation). In short: shadow(gVA) = physmap(guest(gVA)), with
// permissions no wider than the guest's.
//
// The checker reads the shadow tables from host memory and the guest tables from guest memory;
// it never reads the shadow log or any bookkeeping of the code it checks. A leaf the current
// tables do not give is allowed when the caller says so — for a lazy policy, when one of the
// guest's table states since its last TLB invalidation gave exactly it (allowedStale: the allowed
// set of a TLB) — and reported apart, not as a violation.

import { FETCH, PERM_DIRTY, READ, readPfn, walk, WRITE, type AccessKind, type RawEntry, type ReadBus } from '../paging/index.js';
import type { GuestPaging } from './compose.js';

/** The guest's translation state as the checker reads it: GuestPaging over memory it only reads (live, or an image of the past). */
export type GuestTables = Omit<GuestPaging, 'memory'> & { readonly memory: ReadBus };
import { entryGrants, type ShadowSpace } from './space.js';

/** The host frame of the guest page holding `gpa` as the physmap has it now (no mapping on touch), or -1. */
export type HostPageOf = (gpa: number) => number;

export interface Incoherence {
  readonly gva: number;
  /** what the shadow entry does that the truth does not allow: an access the guest's tables forbid in the view, a frame the physmap does not give, a write the guest's clear D bit must see */
  readonly problem: 'forbidden' | 'other frame' | 'write before dirty';
  readonly detail: string;
}

export interface CoherenceReport {
  /** shadow leaves examined */
  readonly checked: number;
  readonly violations: readonly Incoherence[];
  /** pages that disagree but were declared possibly stale */
  readonly stale: readonly number[];
}

const ACCESSES: readonly [AccessKind, 'read' | 'write' | 'exec'][] = [
  [READ, 'read'],
  [WRITE, 'write'],
  [FETCH, 'exec'],
];

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * Checks `space` against the guest's tables in `guest` (over guest-physical memory of
 * `guestBytes`) and the physmap (`hostPageOf`). `mayBeStale(gva, entry)`: whether a leaf the
 * current tables do not give may still be an allowed stale one (see allowedStale).
 */
export function checkCoherence(space: ShadowSpace, guest: GuestTables, guestBytes: number, hostPageOf: HostPageOf, mayBeStale: (gva: number, entry: RawEntry) => boolean = () => false): CoherenceReport {
  const violations: Incoherence[] = [];
  const stale: number[] = [];
  const leaves = space.leaves();
  for (const [gva, , e] of leaves) {
    const problem = leafProblem(space, guest, guestBytes, hostPageOf, gva, e);
    if (!problem) continue;
    if (mayBeStale(gva, e)) stale.push(gva);
    else violations.push(problem);
  }
  return { checked: leaves.length, violations, stale };
}

/**
 * The allowed set of a TLB, for a shadow leaf: whether leaf `e` for `gva` is exactly what the
 * guest's tables gave under one of `history` — images of guest-physical memory taken since the
 * guest last invalidated its TLB, oldest first — as a TLB entry filled then may still be used.
 * Judged from the guest's table history, never from the shadow's own record of what it filled.
 */
export function allowedStale(space: ShadowSpace, guest: GuestTables, guestBytes: number, hostPageOf: HostPageOf, history: readonly ReadBus[], gva: number, e: RawEntry): boolean {
  return history.some((memory) => leafProblem(space, { ...guest, memory }, guestBytes, hostPageOf, gva, e) === undefined);
}


/** What is wrong with the shadow leaf `e` for `gva`, or undefined: each access it grants is walked in the guest's tables. */
export function leafProblem(space: ShadowSpace, guest: GuestTables, guestBytes: number, hostPageOf: HostPageOf, gva: number, e: RawEntry): Incoherence | undefined {
  const g = space.geometry;
  const page = 2 ** g.offsetBits;
  const hpa = readPfn(g.entry, e.lo, e.hi) * page;
  const granted = entryGrants(space.geometry, e);
  if (!granted.user) return undefined; // the guest runs in real user mode: a supervisor-only page (the VMM's region) grants it nothing
  const guestWalk = (access: AccessKind) => walk(g, guest.memory, guest.root, gva, { access, user: space.view === 'user', switches: guest.switches, physicalSize: guestBytes, trace: false });
  for (const [access, name] of ACCESSES) {
    if (!granted[name]) continue;
    const t = guestWalk(access);
    if (!t.ok) {
      return { gva, problem: 'forbidden', detail: `shadow allows ${name} at ${hex(gva)} in the ${space.view} view, the guest's tables do not (${t.fault.kind} fault at depth ${t.fault.depth})` };
    }
    const gpa = t.pa - (t.pa % page);
    const want = hostPageOf(gpa);
    if (want !== hpa) return { gva, problem: 'other frame', detail: `shadow maps ${hex(gva)} to host ${hex(hpa)}; the guest maps it to guest-physical ${hex(gpa)}, which the physmap puts ${want < 0 ? 'nowhere' : `at host ${hex(want)}`}` };
    if (access === WRITE && (t.perms & PERM_DIRTY) === 0) return { gva, problem: 'write before dirty', detail: `shadow allows writes at ${hex(gva)} while the guest's D bit is clear (the first write would not set it)` };
  }
  return undefined;
}
