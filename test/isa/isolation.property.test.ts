// Resource control under base and bounds: a random user program never touches physical memory
// outside [B, B + L) (size convention) or [B, L) (end convention), whatever it does.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LOW_MEMORY_END } from '../../src/isa/arch.js';
import { Op } from '../../src/isa/instructions.js';
import type { Machine } from '../../src/isa/machine.js';
import type { MemoryImage } from '../../src/mmu/memory.js';
import { guestMachine, guestRun, HALTING_KERNEL, RESUMING_KERNEL, segmentRange, type GuestRun } from './programs.js';

const USER = 1;

/** The image's hash with [0, lowEnd) and [lo, hi) zeroed: what must not change. */
function outsideHash(img: MemoryImage, lowEnd: number, lo: number, hi: number): string {
  const t = img.thaw();
  t.writeBytes(0, new Uint8Array(lowEnd));
  if (hi > lo) t.writeBytes(lo, new Uint8Array(hi - lo));
  return t.hash();
}

/**
 * Steps `m` up to `steps` times; for every step that starts in user mode, checks that the
 * fetch and the data access it made (recorded by tracing) lie inside [lo, hi).
 */
function stepChecked(m: Machine, g: GuestRun, steps: number): number {
  const [lo, hi] = segmentRange(g.segment, m.mem.size);
  let userAccesses = 0;
  const inside = (pa: number, n: number, what: string) => {
    if (pa < lo || pa + n > hi) throw new Error(`${what} at pa 0x${pa.toString(16)} (+${n}) outside [0x${lo.toString(16)}, 0x${hi.toString(16)})`);
    userAccesses++;
  };
  for (let i = 0; i < steps && m.running; i++) {
    const user = m.mode === USER;
    m.lastFetchVa = -1;
    m.lastDataVa = -1;
    const words = m.opCounts[Op.Ld] + m.opCounts[Op.St];
    const bytes = m.opCounts[Op.Ldb] + m.opCounts[Op.Stb];
    m.step();
    if (!user) continue;
    if (m.lastFetchVa !== -1) inside(m.lastFetchPa, 8, `fetch of va 0x${m.lastFetchVa.toString(16)}`);
    if (m.lastDataVa !== -1) {
      const n = m.opCounts[Op.Ld] + m.opCounts[Op.St] > words ? 4 : m.opCounts[Op.Ldb] + m.opCounts[Op.Stb] > bytes ? 1 : 32;
      inside(m.lastDataPa, n, `data access of va 0x${m.lastDataVa.toString(16)}`);
    }
  }
  return userAccesses;
}

describe('isolation: a user program stays inside its segment (random user programs)', () => {
  it('with a halting trap handler: every user access lies in the segment; memory outside it and the trap area is unchanged', () => {
    let accesses = 0;
    let runs = 0;
    fc.assert(
      fc.property(guestRun({ minBase: 0x200, modes: [USER] }), (g) => {
        const m = guestMachine(HALTING_KERNEL, g);
        m.tracing = true;
        const [lo, hi] = segmentRange(g.segment, m.mem.size);
        const before = m.mem.image();
        accesses += stepChecked(m, g, 200);
        expect(outsideHash(m.mem.image(), LOW_MEMORY_END, lo, hi)).toBe(outsideHash(before, LOW_MEMORY_END, lo, hi));
        runs++;
      }),
      { seed: 0x150, numRuns: 400 },
    );
    expect(accesses).toBeGreaterThan(runs); // the generator does produce user accesses
  });

  it('with a resuming trap handler (many traps per run): the same, outside the kernel', () => {
    fc.assert(
      fc.property(guestRun({ minBase: 0x400, modes: [USER], selfModifying: true }), (g) => {
        const m = guestMachine(RESUMING_KERNEL, g);
        m.tracing = true;
        const [lo, hi] = segmentRange(g.segment, m.mem.size);
        const before = m.mem.image();
        stepChecked(m, g, 400);
        expect(outsideHash(m.mem.image(), 0x400, lo, hi)).toBe(outsideHash(before, 0x400, lo, hi));
      }),
      { seed: 0x151, numRuns: 200 },
    );
  });

  it('the check itself notices an access outside the segment', () => {
    const g: GuestRun = { program: '        ld r1, 0\n', regs: new Array(16).fill(0), segment: { bounds: 'size', base: 0x1000, limit: 0x100 }, status: USER, timer: 0 };
    const m = guestMachine(HALTING_KERNEL, g);
    m.tracing = true;
    expect(stepChecked(m, g, 1)).toBe(2); // the fetch and the load
    const m2 = guestMachine(HALTING_KERNEL, g);
    m2.tracing = true;
    expect(() => stepChecked(m2, { ...g, segment: { ...g.segment, base: 0x1008 } }, 1)).toThrow(/fetch .* outside/);
  });
});
