// Pagers for the equivalence checker's alternative references (lockstep.ts): the guest's own
// paging hardware, made to pick other members of the allowed set of a non-coherent TLB (after a
// page-table change an access may use any translation the tables held for that address since
// the last invalidation covering it). Four modes:
//
//   tlb    — the hardware as it is;
//   fresh  — the TLB entry for a page is dropped before every translation of it, so the access
//            walks the tables as they are now (and refills the entry: back in another mode the
//            TLB holds each page's last walk);
//   drop   — as tlb, but every invalidation (flush, invlpg, root or switch change) empties the
//            whole TLB;
//   refill — as tlb, but every invalidation (flush, invlpg, root or switch change) empties the
//            whole TLB, and the pages it held are walked again from the tables as they are then,
//            as a TLB may refill speculatively; a later change to their entries is then not seen
//            until the next invalidation.
//
// Dropping an entry is always allowed, a walk of the current tables always gives a member of the
// set, and a refilled entry is what the tables held after the invalidation. A lazy shadow mixes
// drop and refill per table: at an invalidation what an out-of-sync table gave is dropped, the
// rest kept. (The CPU's one-page translation windows cache the last translation between walks,
// as on any machine; they too only ever hold translations the tables gave since the last
// invalidation.)

import { Access } from '../mmu/fault.js';
import type { DropListener, Pager, PagerSwitches } from '../mmu/pager.js';
import type { TlbState } from '../mmu/tlb.js';

export const TLB_MODES = ['tlb', 'fresh', 'drop', 'refill'] as const;
export type TlbMode = (typeof TLB_MODES)[number];

/** What a bare machine in each mode does, for reports ("a bare machine that …"). */
export const TLB_MODE_TEXT: Readonly<Record<TlbMode, string>> = {
  tlb: 'used its TLB as it is',
  fresh: 'walked the tables on every access',
  drop: 'emptied its TLB at every invalidation',
  refill: 'refilled its TLB from the tables at every invalidation',
};

export class TlbModePager implements Pager {
  constructor(
    private readonly inner: Pager,
    readonly mode: TlbMode,
  ) {}

  get pageBytes(): number {
    return this.inner.pageBytes;
  }
  get fault() {
    return this.inner.fault;
  }
  get dropListener(): DropListener | undefined {
    return this.inner.dropListener;
  }
  set dropListener(l: DropListener | undefined) {
    this.inner.dropListener = l;
  }

  translate(va: number, access: Access, user: boolean): number {
    if (this.mode === 'fresh') this.inner.invalidate(va);
    return this.inner.translate(va, access, user);
  }
  setRoot(ptbr: number): void {
    this.refilling(() => this.inner.setRoot(ptbr));
  }
  setSwitches(s: PagerSwitches): void {
    this.refilling(() => this.inner.setSwitches(s));
  }
  invalidate(va: number): void {
    this.refilling(() => this.inner.invalidate(va));
  }
  flush(): void {
    this.refilling(() => this.inner.flush());
  }
  saveTlb(): TlbState {
    return this.inner.saveTlb();
  }
  restoreTlb(s: TlbState): void {
    this.inner.restoreTlb(s);
  }

  /** Runs the invalidation `drop`; in drop and refill modes then empties the TLB, and in refill mode walks the pages it held before (supervisor reads; a page that faults stays out). */
  private refilling(drop: () => void): void {
    if (this.mode !== 'refill' && this.mode !== 'drop') return drop();
    const held = this.mode === 'refill' ? this.inner.saveTlb().entries : [];
    drop();
    this.inner.flush();
    for (const e of held) this.inner.translate(e.vpn * this.inner.pageBytes, Access.Read, false);
  }
}
