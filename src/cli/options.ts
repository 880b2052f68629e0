// Parsing option values strictly: integers are plain decimal digits (no 1e3, 0x10, 12abc),
// bounded before anything is sized by them.

import { UsageError } from '../scenario/errors.js';

/** The most instructions a run may be asked to retire (the same cap as a scenario's `steps`). */
export const MAX_STEPS = 1e10;

/** `text` as an integer in [min, max] written in decimal digits; UsageError naming `what` otherwise. */
export function parseCount(text: string, what: string, min: number, max: number): number {
  const n = /^\d{1,16}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${what}: expected a whole number from ${min} to ${max} in decimal digits, got '${text}'`);
  }
  return n;
}
