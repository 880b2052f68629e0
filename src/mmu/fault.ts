// Memory faults as values. Translation returns a physical address or -1; on -1 the translator's
// `fault` field holds one of these, which the CPU turns into a trap.

export type MemFaultKind =
  /** base/bounds check failed, or the access reaches past physical memory */
  | 'bounds'
  /** a not-present entry on the walk (depth = the level where it stopped) */
  | 'page'
  /** a present translation whose permissions forbid the access */
  | 'protection'
  /** a reserved bit set, or a frame beyond physical memory */
  | 'reserved'
  /** a word access or fetch not aligned to its size */
  | 'alignment'
  /** a profile's address region refused the access (e.g. MIPS kernel segment from user mode) */
  | 'region';

export interface MemFault {
  kind: MemFaultKind;
  /** the virtual address of the access */
  va: number;
  /** ERR_* bits below: the write/user/fetch bits describe the access; present/reserved only for walk faults */
  error: number;
  /** walk depth where the fault was found (0 = root); -1 when not a walk fault */
  depth: number;
  /** for 'region' faults, the profile's cause code */
  cause?: number;
}

export function memFault(kind: MemFaultKind, va: number, error = 0, depth = -1): MemFault {
  return { kind, va, error, depth };
}

/** Kinds of memory access. */
export const enum Access {
  Read = 0,
  Write = 1,
  Fetch = 2,
}
export const ACCESS_NAMES = ['read', 'write', 'fetch'] as const;

// Error code of memory traps (x86 positions), stored at TRAP_ERROR on a memory trap.
export const ERR_PRESENT = 1 << 0;
export const ERR_WRITE = 1 << 1;
export const ERR_USER = 1 << 2;
export const ERR_RESERVED = 1 << 3;
export const ERR_FETCH = 1 << 4;
