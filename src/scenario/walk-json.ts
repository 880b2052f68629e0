// Walk steps as JSON: what `walk --json` prints for each entry a walk read.

import type { WalkStep } from '../paging/index.js';

export interface StepJson {
  readonly depth: number;
  readonly index: number;
  readonly entryAddress: number;
  /** the raw entry (exact: written as an integer literal of any size) */
  readonly entry: number | bigint;
  readonly entryHex: string;
  readonly flags: Readonly<Record<string, boolean>>;
  readonly role: string;
  /** next table base (role 'table') or frame (role 'leaf'); -1 otherwise */
  readonly next: number;
}

/** A walk step as JSON (the raw entry exact, as an integer of any size). */
export function stepJson(st: WalkStep): StepJson {
  const exact = st.hi * 2 ** 32 + st.lo;
  return {
    depth: st.depth,
    index: st.index,
    entryAddress: st.entryAddress,
    entry: Number.isSafeInteger(exact) ? exact : (BigInt(st.hi) << 32n) | BigInt(st.lo),
    entryHex: st.hex,
    flags: st.flags as Record<string, boolean>,
    role: st.role,
    next: st.next,
  };
}
