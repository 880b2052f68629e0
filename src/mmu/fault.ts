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
  | 'region'
  /** nested paging: stage 2 (the host's gPA -> hPA table) refused a guest-physical address */
  | 'stage2';

/** What the host table said in a stage-2 fault: its fault kind and the host depth where it stopped. */
export interface Stage2Detail {
  readonly kind: 'page' | 'protection' | 'reserved' | 'bounds';
  readonly depth: number;
}

export interface MemFault {
  kind: MemFaultKind;
  /** the virtual address of the access */
  va: number;
  /** ERR_* bits below: the write/user/fetch bits describe the access; present/reserved only for walk faults */
  error: number;
  /** walk depth where the fault was found (0 = root); -1 when not a walk fault; stage2: the guest depth (levels = the final address) */
  depth: number;
  /** for 'region' faults, the profile's cause code */
  cause?: number;
  /** for 'stage2' faults, the guest-physical address stage 2 could not translate */
  gpa?: number;
  /** for 'stage2' faults, the host table's own fault */
  stage2?: Stage2Detail;
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
/** the access was a fetch: set only where fetches are checked (x86: NX enabled; RISC-V: always) */
export const ERR_FETCH = 1 << 4;
/** stage-2 faults only: the address stage 2 refused held a guest table entry (clear: the final address) */
export const ERR_TABLE = 1 << 5;

/** Error-code bits for an access that is not a paging fault (bounds, alignment, a region's cause): W, I/D, U. */
export function accessError(access: Access, user: boolean): number {
  return (access === Access.Write ? ERR_WRITE : 0) | (access === Access.Fetch ? ERR_FETCH : 0) | (user ? ERR_USER : 0);
}

/**
 * The error code of a paging fault of `kind` for `access` in user or supervisor mode: P for a
 * present entry (protection, reserved), RSVD for reserved, W for a write, U for user mode, and
 * I/D for a fetch when `fetchesChecked` (the rule set's `checksFetches`).
 */
export function pagingErrorCode(kind: MemFaultKind, access: Access, user: boolean, fetchesChecked: boolean): number {
  return (
    (kind === 'protection' || kind === 'reserved' ? ERR_PRESENT : 0) |
    (kind === 'reserved' ? ERR_RESERVED : 0) |
    (access === Access.Write ? ERR_WRITE : 0) |
    (access === Access.Fetch && fetchesChecked ? ERR_FETCH : 0) |
    (user ? ERR_USER : 0)
  );
}

/**
 * The error code of a stage-2 fault: P and RSVD describe the host entry that stopped the
 * stage-2 walk (`hostKind` as in pagingErrorCode), W, U and I/D the guest's access (I/D on
 * every fetch: stage 2 always checks execute permission), and T (ERR_TABLE) says the refused
 * guest-physical address held a guest table entry rather than the data the access was for.
 */
export function stage2ErrorCode(hostKind: MemFaultKind, access: Access, user: boolean, table: boolean): number {
  return pagingErrorCode(hostKind, access, user, true) | (table ? ERR_TABLE : 0);
}
