// Filling a shadow entry: the composition of the guest's translation (its own tables, walked by
// the one walker over guest-physical memory) with the physmap (guest page -> host frame).
//
// A shadow miss — the real MMU found no usable shadow entry for an access — is resolved by asking
// what the bare machine would do at that access:
//
//   the guest's tables allow it   a HIDDEN fault: walk again the way the bare MMU would (setting
//                                 the guest's A, and D on a write, exactly as bare), compose with
//                                 the physmap, and fill the shadow; the guest never sees it
//   they forbid it                a TRUE fault: the guest's own page fault, with the bare
//                                 machine's fault kind, depth and error code (the VMM reflects it)
//
// Permissions of the shadow entry (ring compression, two-mode model): both the guest kernel and
// the guest user run in real user mode, so every shadow entry is a user page, and a space grants
// what the guest's tables grant its VIEW — the kernel view what the guest kernel may do
// (supervisor rules: WP, SUM), the user view what the guest user may do. A/D emulation: a page
// whose guest D bit is clear is mapped read-only even where the guest may write, so the first
// write misses, sets D in the guest's entry, and refills the shadow writable.

import { Access, pagingErrorCode } from '../mmu/fault.js';
import { FETCH, PERM_DIRTY, READ, RULES, walk, WRITE, type AccessKind, type Geometry, type PhysicalBus, type RawEntry, type Switches, type WalkFaultKind } from '../paging/index.js';
import { shadowEntry, type ShadowView } from './space.js';

/** The guest's translation state, in guest-physical terms. */
export interface GuestPaging {
  readonly geometry: Geometry;
  /** guest-physical memory (its tables; A/D are written here) */
  readonly memory: PhysicalBus;
  /** the guest's PTBR: guest-physical address of its root table */
  readonly root: number;
  readonly switches: Switches;
}

/** The host frame backing the guest page holding `gpa` (mapping it on first touch if the physmap does), or -1 when none can. */
export type Backing = (gpa: number) => number;

/** What the bare machine's MMU would report: the walker's fault and the error code. */
export interface GuestFault {
  readonly kind: WalkFaultKind;
  readonly depth: number;
  readonly error: number;
}

export type MissOutcome =
  | {
      readonly kind: 'hidden';
      /** the base page's guest virtual, guest-physical and host addresses */
      readonly gva: number;
      readonly gpa: number;
      readonly hpa: number;
      /** the shadow leaf to install */
      readonly entry: RawEntry;
      /** the guest's combined permissions after the walk (PERM_*, D as the walk left it) */
      readonly guestPerms: number;
      /** mapped read-only although the view may write: the guest's D is clear (A/D emulation) */
      readonly writeProtected: boolean;
      /** the guest pages holding the table entries the translation was read from, root first (what tracing protects) */
      readonly tablePages: readonly number[];
    }
  | { readonly kind: 'true'; readonly fault: GuestFault }
  | { readonly kind: 'unbacked'; readonly gpa: number };

/**
 * Resolves a shadow miss at `va` for `access` in `view`: a hidden fault (the entry to install;
 * the guest's A/D updated as the bare MMU would), a true fault (the guest's own), or 'unbacked'
 * when the guest page has no host frame and none can be had. Reads guest tables only below
 * `guestBytes`, exactly as the bare machine's memory bounds its walks.
 */
export function resolveMiss(guest: GuestPaging, guestBytes: number, view: ShadowView, va: number, access: AccessKind, backing: Backing): MissOutcome {
  const g = guest.geometry;
  const user = view === 'user';
  const options = { access, user, switches: guest.switches, physicalSize: guestBytes, trace: false } as const;
  const predicted = walk(g, guest.memory, guest.root, va, options);
  if (!predicted.ok) {
    const { kind, depth } = predicted.fault;
    return { kind: 'true', fault: { kind, depth, error: pagingErrorCode(kind, access as Access, user, RULES[g.rules].checksFetches(g.entry, guest.switches)) } };
  }
  const r = walk(g, guest.memory, guest.root, va, { ...options, updateAD: true, trace: true });
  if (!r.ok) throw new Error('resolveMiss: a walk that was predicted to succeed failed');
  const page = 2 ** g.offsetBits;
  const gpa = r.pa - (r.pa % page);
  const hpa = backing(gpa);
  if (hpa < 0) return { kind: 'unbacked', gpa };
  const allow = viewAllows(g, r.perms, view, guest.switches);
  const writeProtected = allow.write && (r.perms & PERM_DIRTY) === 0;
  return {
    kind: 'hidden',
    gva: va - (va % page),
    gpa,
    hpa,
    entry: shadowEntry(g, hpa, { ...allow, write: allow.write && !writeProtected }),
    guestPerms: r.perms,
    writeProtected,
    tablePages: r.steps.map((st) => st.entryAddress - (st.entryAddress % page)),
  };
}

/** What the guest's combined permissions `perms` let `view` do, by the guest's own rules. */
export function viewAllows(g: Geometry, perms: number, view: ShadowView, sw: Switches): { read: boolean; write: boolean; exec: boolean } {
  const rules = RULES[g.rules];
  const can = (a: AccessKind) => rules.permits(perms, a, view === 'user', sw);
  return { read: can(READ), write: can(WRITE), exec: can(FETCH) };
}
