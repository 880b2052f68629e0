// The small structural types the paging module needs from the rest of the machine. `paging`
// imports nothing of ours: PhysicalMemory (live) and MemoryImage (frozen) satisfy these faces.

/** Bytes in a block of `ReadBus.wordsAt` (4 KiB, aligned). */
export const WORD_BLOCK_BITS = 12;

/** Read access to physical memory. Every address the walker passes is below `size`. */
export interface ReadBus {
  readonly size: number;
  read8(pa: number): number;
  read32(pa: number): number;
  /**
   * Optional direct reads: the 32-bit little-endian words of the aligned 2^WORD_BLOCK_BITS-byte
   * block holding `pa` (word i = block bytes 4i..4i+3), or undefined where every read must go
   * through read8/read32 (an observer must be told each access, or the block is not one run of
   * words). Reading a word so is reading it through read32, untold. A reader may keep the
   * answer, words or undefined, while `wordsVersion` is unchanged.
   */
  wordsAt?(pa: number): Int32Array | undefined;
  /**
   * With wordsAt: a number that only grows, and grows whenever an answer of wordsAt may have
   * gone stale (the block's words replaced by another array, or the answer changed).
   */
  readonly wordsVersion?: number;
}

/** Read and write access to physical memory (A/D updates and table builders). */
export interface PhysicalBus extends ReadBus {
  write8(pa: number, v: number): void;
  write32(pa: number, v: number): void;
}

/** Kinds of access; the numbers equal mmu/fault.ts `Access` (Read, Write, Fetch). */
export type AccessKind = 0 | 1 | 2;
export const READ = 0;
export const WRITE = 1;
export const FETCH = 2;
export const ACCESS_KIND_NAMES = ['read', 'write', 'fetch'] as const;

/** Paging switches from the PSW (the same shape as mmu/pager.ts `PagerSwitches`). */
export interface Switches {
  /** supervisor writes honour read-only pages (x86 CR0.WP) */
  readonly wp: boolean;
  /** no-execute bits are enabled (x86 EFER.NXE) */
  readonly nxe: boolean;
  /** supervisor may read/write user pages (RISC-V sstatus.SUM) */
  readonly sum: boolean;
}

export const NO_SWITCHES: Switches = Object.freeze({ wp: false, nxe: false, sum: false });

/** Fault kinds a walk can report (a subset of mmu/fault.ts `MemFaultKind`). */
export type WalkFaultKind = 'page' | 'protection' | 'reserved' | 'bounds';
