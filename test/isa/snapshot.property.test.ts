// Snapshots under random programs: immutable once taken, faithful when restored, and run
// comparison finding the first aligned difference.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Machine } from '../../src/isa/machine.js';
import { compareRuns, compareViews, restore, snapshot, virtualView, type MachineSnapshot } from '../../src/isa/snapshot.js';
import { USER } from './helpers.js';
import { guestMachine, guestRun, RESUMING_KERNEL } from './programs.js';

const runs = guestRun({ minBase: 0x400, modes: [0, USER], selfModifying: true });

/** Everything a snapshot holds, memory by content hash. */
const fingerprint = (s: MachineSnapshot) => JSON.stringify({ ...s, memory: [s.memory.size, s.memory.offset, s.memory.hash()] });

function frozenDeep(s: MachineSnapshot): boolean {
  const parts: unknown[] = [s, s.psw, s.regs, s.banks, s.control, s.timer, s.trapCounts, ...s.trapCounts];
  if (s.lastTrap) parts.push(s.lastTrap);
  return parts.every((p) => Object.isFrozen(p));
}

/** Steps `m` `n` times, snapshotting after each step whose index is in `at` (and at the start). */
function stepWithSnapshots(m: Machine, n: number, at: ReadonlySet<number>): MachineSnapshot[] {
  const out: MachineSnapshot[] = [snapshot(m)];
  for (let i = 0; i < n; i++) {
    m.step();
    if (at.has(i)) out.push(snapshot(m));
  }
  return out;
}

describe('snapshots under random programs', () => {
  it('a snapshot never changes after the machine moves on; its structured parts are frozen', () => {
    fc.assert(
      fc.property(runs, fc.uniqueArray(fc.integer({ min: 0, max: 150 }), { maxLength: 10 }), fc.boolean(), (g, points, tracing) => {
        const m = guestMachine(RESUMING_KERNEL, g);
        m.tracing = tracing;
        const snaps = stepWithSnapshots(m, 150, new Set(points));
        const prints = snaps.map(fingerprint);
        m.run(500);
        for (let a = 0x400; a < 0x2000; a += 0x3f4) m.mem.write32(a, a); // and scribble over memory
        expect(snaps.map(fingerprint)).toEqual(prints);
        for (const s of snaps) expect(frozenDeep(s)).toBe(true);
      }),
      { seed: 0x5a1, numRuns: 150 },
    );
  });

  it('restore is faithful: restored at step k and run N - k more steps, it reaches the same virtual view', () => {
    fc.assert(
      fc.property(runs, fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 120 }), (g, k, more) => {
        const m = guestMachine(RESUMING_KERNEL, g);
        for (let i = 0; i < k; i++) m.step();
        const s = snapshot(m);
        const r = restore(s, m.config);
        expect(compareViews(virtualView(snapshot(r)), virtualView(s))).toBeUndefined();
        for (let i = 0; i < more; i++) {
          m.step();
          r.step();
        }
        const d = compareViews(virtualView(snapshot(r)), virtualView(snapshot(m)));
        expect(d).toBeUndefined();
        expect(r.retired).toBe(m.retired);
      }),
      { seed: 0x5a2, numRuns: 150 },
    );
  });

  it('compareRuns finds nothing between equal runs and, after a register poke, the first difference at the poke', () => {
    fc.assert(
      fc.property(runs, fc.integer({ min: 0, max: 80 }), fc.integer({ min: 0, max: 15 }), (g, pokeStep, reg) => {
        const every = new Set(Array.from({ length: 100 }, (_, i) => i));
        const left = stepWithSnapshots(guestMachine(RESUMING_KERNEL, g), 100, every);
        const same = stepWithSnapshots(guestMachine(RESUMING_KERNEL, g), 100, every);
        expect(compareRuns(left, same)).toBeUndefined();

        const m = guestMachine(RESUMING_KERNEL, g);
        const right: MachineSnapshot[] = [snapshot(m)];
        let pokedAt = -1;
        let pokedValue = 0;
        for (let i = 0; i < 100; i++) {
          m.step();
          if (i === pokeStep) {
            m.regs[reg] ^= 0x4000_0001;
            pokedAt = m.retired;
            pokedValue = m.regs[reg];
          }
          right.push(snapshot(m));
        }
        const d = compareRuns(left, right);
        expect(d).toBeDefined();
        expect({ field: d!.field, retired: d!.retired, b: d!.b }).toEqual({ field: `regs.${reg}`, retired: pokedAt, b: pokedValue });
      }),
      { seed: 0x5a3, numRuns: 100 },
    );
  });
});
