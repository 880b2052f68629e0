// Differential check 1 (paging against the segment model): paging with a contiguous mapping of [0, L) at B behaves like
// the segment machine with (B, L) — on the bundled scenarios and on random user programs.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareSegmentWithPaging } from '../../src/checker/segment-paging.js';
import { GEOMETRIES } from '../../src/paging/index.js';
import { buildMachine } from '../../src/scenario/build.js';
import { loadScenario } from '../../src/scenario/load.js';
import { guestMachine, programText, registerValues, RESUMING_KERNEL, type GuestRun } from '../isa/programs.js';

const RUNS = Number(process.env.SHADOWLAB_RUNS ?? 60);
const PRESETS = ['x86-32', 'sv32', 'four-level'] as const;

describe('segment vs paging on the bundled segment scenarios', () => {
  for (const file of ['scenarios/x-plus-3.yaml', 'scenarios/bounds-size.yaml', 'scenarios/bounds-end.yaml', 'scenarios/lde.yaml']) {
    it.each(PRESETS)(`${file} (%s)`, (g) => {
      const s = loadScenario(file);
      const r = compareSegmentWithPaging(buildMachine(s), s.spec.steps, { geometry: GEOMETRIES[g] });
      expect(r.firstDifference).toBeUndefined();
      expect(r.holds).toBe(true);
      expect(r.stretches).toBeGreaterThan(0);
      expect(r.skipped).toBe(0);
    });
  }

  it('bounds traps are met by page faults at the same instruction', () => {
    const s = loadScenario('scenarios/bounds-size.yaml');
    const r = compareSegmentWithPaging(buildMachine(s), 100, { geometry: GEOMETRIES['x86-32'] });
    expect(r.boundsMatched).toBe(1);
  });
});

/** A random user program in a page-aligned segment of a 64 KiB machine (x86-style 4 KiB pages). */
function pagedGuest(pageBytes: number, memory: number): fc.Arbitrary<GuestRun> {
  const pages = memory / pageBytes;
  return fc
    .tuple(fc.integer({ min: Math.ceil(0x400 / pageBytes), max: pages - 1 }), fc.integer({ min: 0, max: 4 }), fc.constantFrom('size', 'end' as const))
    .chain(([firstPage, count, bounds]) => {
      const base = firstPage * pageBytes;
      const size = Math.min(count, pages - firstPage) * pageBytes;
      const length = Math.max(2, Math.min(16, size / 8 || 8));
      return fc.record({
        program: programText({ length, span: Math.max(size, 8) }),
        regs: registerValues(Math.max(size, 8)),
        segment: fc.constant({ bounds, base, limit: bounds === 'end' ? base + size : size }),
        status: fc.constantFrom(1, 1 | 0x100),
        timer: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 })),
      });
    });
}

describe('segment vs paging on random user programs (property)', () => {
  it.each(PRESETS)('%s: every user stretch agrees step by step', (g) => {
    fc.assert(
      fc.property(pagedGuest(4096, 0x10000), (run) => {
        const m = guestMachine(RESUMING_KERNEL, run);
        const r = compareSegmentWithPaging(m, 400, { geometry: GEOMETRIES[g] });
        if (!r.holds) throw new Error(`diverged: ${JSON.stringify({ ...r.firstDifference, segmentState: undefined, pagingState: undefined })}`);
        return r.skipped === 0;
      }),
      { numRuns: RUNS, seed: 0x5e9 },
    );
  });

  it('tiny (32-byte pages, 2 KiB machine): every user stretch agrees step by step', () => {
    fc.assert(
      fc.property(pagedGuest(32, 0x800), (run) => {
        const m = guestMachine(RESUMING_KERNEL, run, { memorySize: 0x800 });
        const r = compareSegmentWithPaging(m, 200, { geometry: GEOMETRIES.tiny });
        return r.holds;
      }),
      { numRuns: RUNS, seed: 0x7e9 },
    );
  });

  it('the check can fail: a twin whose registers are disturbed is caught at the first step', () => {
    const s = loadScenario('scenarios/x-plus-3.yaml');
    const r = compareSegmentWithPaging(buildMachine(s), 100, {
      geometry: GEOMETRIES['x86-32'],
      mutateTwin: (twin) => {
        twin.regs[2] += 4;
      },
    });
    expect(r.holds).toBe(false);
    expect(r.firstDifference?.field).toMatch(/^(regs\.\d+|data\.(va|pa))$/);
  });

  it('the check can fail: a twin mapping one page too high is caught', () => {
    const s = loadScenario('scenarios/x-plus-3.yaml');
    const r = compareSegmentWithPaging(buildMachine(s), 100, {
      geometry: GEOMETRIES['x86-32'],
      mutateTwin: (twin) => {
        // shift the user's view: map as if B were one page higher by moving memory contents
        twin.mem.writeBytes(0x8000 + 0x3c00, [0xff, 0, 0, 0]);
      },
    });
    expect(r.holds).toBe(false);
  });
});
