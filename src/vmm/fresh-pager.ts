// A pager for the equivalence checker's alternative reference (lockstep.ts): the guest's own
// paging hardware, which in `fresh` mode drops its TLB entry for a page before every translation
// of it, so that the access walks the tables as they are now — and refills the entry, so that
// back in TLB mode the TLB holds the translation of each page's last walk. Both modes use only
// translations the allowed set of a non-coherent TLB contains: dropping an entry is always
// allowed, and the tables' current translation is always in the set. (The CPU's one-page
// translation windows still cache the last translation between walks, as they do on any
// machine; they too only ever hold translations the tables gave since the last invalidation.)

import type { Access } from '../mmu/fault.js';
import type { Pager, PagerSwitches } from '../mmu/pager.js';
import type { TlbState } from '../mmu/tlb.js';

export class FreshPager implements Pager {
  constructor(
    private readonly inner: Pager,
    readonly fresh: boolean,
  ) {}

  get pageBytes(): number {
    return this.inner.pageBytes;
  }
  get fault() {
    return this.inner.fault;
  }
  get onDrop(): (() => void) | undefined {
    return this.inner.onDrop;
  }
  set onDrop(f: (() => void) | undefined) {
    this.inner.onDrop = f;
  }

  translate(va: number, access: Access, user: boolean): number {
    if (this.fresh) this.inner.invalidate(va);
    return this.inner.translate(va, access, user);
  }
  setRoot(ptbr: number): void {
    this.inner.setRoot(ptbr);
  }
  setSwitches(s: PagerSwitches): void {
    this.inner.setSwitches(s);
  }
  invalidate(va: number): void {
    this.inner.invalidate(va);
  }
  flush(): void {
    this.inner.flush();
  }
  saveTlb(): TlbState {
    return this.inner.saveTlb();
  }
  restoreTlb(s: TlbState): void {
    this.inner.restoreTlb(s);
  }
}
