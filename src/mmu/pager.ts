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

export interface Pager {
  /** Bytes in a base page of the geometry (translations are linear within one). */
  readonly pageBytes: number;
  /**
   * Translates an access at `va` (aligned to its size, so within one page) for `access` in
   * user (`user = true`) or supervisor mode. Returns the physical address, or -1 with `fault` set.
   * Sets A (and D on writes) in the tables on a walk; fills the TLB.
   */
  translate(va: number, access: Access, user: boolean): number;
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
   * Called (when set) whenever a cached translation is dropped or may have been replaced
   * (flush, invalidate, eviction by a fill), so the CPU can drop caches derived from it.
   */
  onDrop: (() => void) | undefined;
  /** The valid TLB entries and replacement state (part of R), for snapshots. */
  saveTlb(): TlbState;
  /** Restores what saveTlb returned (same TLB configuration). */
  restoreTlb(s: TlbState): void;
}
