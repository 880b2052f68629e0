// Run counts and seeds of the VMM property tests. CI-sized by default; for a long campaign
// set SHADOWLAB_RUNS (runs per property, e.g. 2000) and optionally SHADOWLAB_SEED.

import type fc from 'fast-check';

const RUNS = process.env.SHADOWLAB_RUNS === undefined ? undefined : Number(process.env.SHADOWLAB_RUNS);
const SEED = Number(process.env.SHADOWLAB_SEED ?? 0x5eed);

/** fast-check parameters: `defaultRuns` (or SHADOWLAB_RUNS) runs from a fixed seed. */
export function fcParams<T>(defaultRuns: number): fc.Parameters<T> {
  return { numRuns: RUNS ?? defaultRuns, seed: SEED, endOnFailure: false };
}

/** Per-test timeout: vitest's default for CI-sized runs, an hour for a campaign. */
export const PROPERTY_TIMEOUT = RUNS === undefined ? undefined : 3_600_000;
