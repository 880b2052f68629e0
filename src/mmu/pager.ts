// The face the CPU sees of the paging hardware (TLB + walker + permission rules). The CPU
// calls `translate` on every access while paging is enabled; everything else is cold.

import type { Access, MemFault } from './fault.js';
import type { TlbState } from './tlb.js';

export interface PagerSwitches {
  /** supervisor writes honour read-only pages */
  wp: boolean;
  /** no-execute bits are enabled */
  nxe: boolean;
  /** supervisor may access user pages (RISC-V SUM) */
  sum: boolean;
}

/**
 * Told when a pager drops translations (see Pager.dropListener). An object with a method rather
 * than a closure: every machine's listener is then the same function, so the pager's call site
 * stays monomorphic when machines come and go (a closure per machine made it deoptimize).
 */
export interface DropListener {
  translationsDropped(): void;
}

export interface Pager {
  /** Bytes in a base page of the geometry, a power of two (translations are linear within one). */
  readonly pageBytes: number;
  /**
   * Translates an access at `va` (aligned to its size, so within one page) for `access` in
   * user (`user = true`) or supervisor mode. Returns the physical address, or -1 with `fault` set.
   * Sets A (and D on writes) in the tables on a walk; fills the TLB.
   */
  translate(va: number, access: Access, user: boolean): number;
  /**
   * Without walking, counting or any side effect on R: the physical address when the TLB serves
   * `access` at `va` now (the cached permissions allow it; a write finds D set), remembered as
   * the translation last served for (access, mode) — else -1 (absent: no TLB to ask).
   */
  cachedTranslation?(va: number, access: Access, user: boolean): number;
  /**
   * Nested paging only (absent otherwise): with the guest's paging off, the guest-physical
   * address `gpa` of an access of `n` bytes through stage 2 alone. Returns the host address; -1
   * with `fault` set (a stage-2 fault); -2 when the access lies past guest-physical memory (the
   * guest's own bounds fault, as on bare hardware).
   */
  translatePhysical?(gpa: number, n: number, access: Access, user: boolean): number;
  /** The fault of the last translate that returned -1. */
  readonly fault: MemFault;
  /** PTBR write: new root, TLB flushed. */
  setRoot(ptbr: number): void;
  /** Paging switches from the PSW; a change flushes the TLB (it caches combined permissions). */
  setSwitches(s: PagerSwitches): void;
  /** `invlpg`: drop the entry for `va`. */
  invalidate(va: number): void;
  /** `tlbflush`: drop every entry. */
  flush(): void;
  /**
   * Called (when set) whenever a translation the CPU may have derived caches from is dropped
   * or may have been replaced — flush, invalidate, a root or switch change, a refresh, and a
   * fill evicting a translation the pager last served for some (access, mode) — so the CPU can
   * drop those caches. A cache outliving an evicted translation that was not last served still
   * holds one the tables held since the last invalidation covering it (allowed, docs/paging.md).
   */
  dropListener: DropListener | undefined;
  /** The valid TLB entries and replacement state (part of R), for snapshots. */
  saveTlb(): TlbState;
  /** Restores what saveTlb returned (same TLB configuration). */
  restoreTlb(s: TlbState): void;
}
