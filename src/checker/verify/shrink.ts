// Shrinking a guest that diverges: delta debugging over its lines (remove halves, quarters, ...
// single lines of each part while it still diverges), then simpler values (the closing loop,
// the handler's trap count, registers, numbers in the lines towards 0 and 1), repeated until
// nothing more goes or the run allowance is spent. Each try is one run of the guest.

import type { GuestPlan } from './generate.js';

/** Whether a candidate still shows what is being shrunk (it diverges); throws for one that does not assemble. */
export type StillFails = (g: GuestPlan) => boolean;

export interface Shrunk {
  readonly plan: GuestPlan;
  /** candidates tried */
  readonly tries: number;
}

/** Replaceable (a test passes a broken one and watches the re-run catch it). */
export type Shrinker = (g: GuestPlan, fails: StillFails, maxTries: number) => Shrunk;

export const MAX_SHRINK_TRIES = 400;

const PARTS = ['boot', 'handler', 'user'] as const;

/** Shrinks `g` while `fails` holds, trying at most `maxTries` candidates. */
export const shrinkGuest: Shrinker = (g, fails, maxTries = MAX_SHRINK_TRIES) => {
  let tries = 0;
  let best = g;
  const attempt = (c: GuestPlan): boolean => {
    if (tries >= maxTries) return false;
    tries++;
    try {
      if (!fails(c)) return false;
    } catch {
      return false; // a simplified line that does not assemble
    }
    best = c;
    return true;
  };
  for (let changed = true; changed && tries < maxTries; ) {
    changed = false;
    for (const part of PARTS) changed = removeLines(best, part, attempt) || changed;
    changed = simplifyScalars(best, attempt) || changed;
    for (const part of PARTS) changed = simplifyNumbers(best, part, attempt) || changed;
  }
  return { plan: best, tries };
};

/** Removes chunks of `part`'s lines, halves first, while `attempt` accepts; whether any went. */
function removeLines(g: GuestPlan, part: (typeof PARTS)[number], attempt: (c: GuestPlan) => boolean): boolean {
  let lines = g[part];
  let current = g;
  let changed = false;
  for (let n = Math.max(1, lines.length >> 1); n >= 1; n >>= 1) {
    for (let i = 0; i < lines.length; ) {
      const candidate = { ...current, [part]: [...lines.slice(0, i), ...lines.slice(i + n)] };
      if (attempt(candidate)) [current, lines, changed] = [candidate, candidate[part], true];
      else i += n;
    }
  }
  return changed;
}

/** The loop to 0, fewer traps before the halt, registers to 0. */
function simplifyScalars(g: GuestPlan, attempt: (c: GuestPlan) => boolean): boolean {
  let current = g;
  let changed = false;
  const tryThis = (c: GuestPlan) => attempt(c) && ((current = c), (changed = true));
  if (current.loop !== 0) tryThis({ ...current, loop: 0 });
  for (const n of [1, 2, current.stopAfter >> 1]) if (n >= 1 && n < current.stopAfter) tryThis({ ...current, stopAfter: n });
  for (let r = 0; r < current.regs.length; r++) {
    if (current.regs[r] !== 0) tryThis({ ...current, regs: current.regs.map((v, i) => (i === r ? 0 : v)) });
  }
  return changed;
}

/** A number in a line: not part of a register name or a label (no word character just before it). */
const NUMBER = /(?<![\w.$])-?(0x[0-9a-f]+|\d+)\b/gi;

/** Each number of `part`'s lines towards 0, then 1. */
function simplifyNumbers(g: GuestPlan, part: (typeof PARTS)[number], attempt: (c: GuestPlan) => boolean): boolean {
  let current = g;
  let changed = false;
  for (let i = 0; i < current[part].length; i++) {
    const line = current[part][i];
    const hits = [...line.matchAll(NUMBER)];
    for (let h = hits.length - 1; h >= 0; h--) {
      const m = hits[h];
      const value = m[0].startsWith('-') ? -Number(m[0].slice(1)) : Number(m[0]);
      for (const simpler of ['0', '1']) {
        if (Number(simpler) === value || Math.abs(value) <= Number(simpler)) continue;
        const text = current[part][i];
        const edited = text.slice(0, m.index) + simpler + text.slice(m.index + m[0].length);
        const candidate = { ...current, [part]: current[part].map((x, j) => (j === i ? edited : x)) };
        if (attempt(candidate)) {
          [current, changed] = [candidate, true];
          break;
        }
      }
    }
  }
  return changed;
}
