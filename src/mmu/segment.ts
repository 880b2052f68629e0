// Base-and-bounds relocation (docs/machine.md, Relocation).
//
// Size convention: an access of n bytes at va is legal iff va + n <= L; then pa = va + B.
// End convention:  legal iff B + va + n <= L (L is a physical end address).
// Either way the access is all-or-nothing, nothing wraps around 2^32, and an access that
// would reach past the end of physical memory is illegal too (a base past the end of memory
// makes every access trap).

/** Bounds conventions: 'size' (legal iff va + n <= L) and 'end' (legal iff B + va + n <= L). */
export type BoundsConvention = 'size' | 'end';
/** Translation hardware present in a machine. */
export type TranslationMode = 'segment' | 'paging' | 'segment+paging';

/**
 * Relocates an access of `n` bytes at virtual address `va` (all operands unsigned, < 2^32).
 * Returns the physical address, or -1 when the access is illegal (a bounds violation).
 */
export function relocate(va: number, n: number, base: number, limit: number, endConvention: boolean, memorySize: number): number {
  const pa = base + va;
  if ((endConvention ? pa : va) + n > limit) return -1;
  if (pa + n > memorySize) return -1;
  return pa;
}
