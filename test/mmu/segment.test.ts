import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cause } from '../../src/isa/arch.js';
import { Access, ERR_USER, ERR_WRITE } from '../../src/mmu/fault.js';
import { MAX_MEMORY } from '../../src/mmu/memory.js';
import { relocate } from '../../src/mmu/segment.js';
import { bootUser, trapRecord } from '../isa/helpers.js';

/**
 * SPEC §2.3, written independently in BigInt: size convention legal iff va + n <= L, end
 * convention legal iff B + va + n <= L; in both the access must also end inside physical
 * memory. Legal → pa = B + va; illegal → -1. No arithmetic wraps.
 */
function reference(va: number, n: number, B: number, L: number, end: boolean, memorySize: number): number {
  const [v, b, l, k, m] = [va, B, L, n, memorySize].map(BigInt);
  const legal = (end ? b + v + k <= l : v + k <= l) && b + v + k <= m;
  return legal ? Number(b + v) : -1;
}

const U32 = 2 ** 32;
const u32 = fc.oneof(
  fc.integer({ min: 0, max: U32 - 1 }),
  fc.integer({ min: 0, max: 0x2000 }),
  fc.integer({ min: U32 - 0x2000, max: U32 - 1 }),
  fc.integer({ min: 0x7fff_f000, max: 0x8000_1000 }),
);
const sizes = fc.constantFrom(1, 4, 8, 32);
const memories = fc.constantFrom(0x80, 0x10000, 0x10001, 2 ** 31, MAX_MEMORY);

describe('relocate (SPEC §2.3)', () => {
  it('matches the reference formula for both conventions, all operands anywhere in [0, 2^32)', () => {
    fc.assert(
      fc.property(u32, sizes, u32, u32, fc.boolean(), memories, (va, n, B, L, end, M) => {
        expect(relocate(va, n, B, L, end, M)).toBe(reference(va, n, B, L, end, M));
      }),
      { seed: 0x5e6, numRuns: 3000 },
    );
  });

  it('is exact near the limit, edge by edge (all-or-nothing)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xff00 }), fc.integer({ min: 0, max: 0x8000 }), sizes, fc.integer({ min: -9, max: 9 }), fc.boolean(), (L, B, n, d, end) => {
        const limit = end ? B + L : L;
        const va = L - n + d; // d <= 0: the access ends inside; d > 0: it reaches past
        fc.pre(va >= 0);
        const expected = d <= 0 && B + va + n <= 0x10000 ? B + va : -1;
        expect(relocate(va, n, B, limit, end, 0x10000)).toBe(expected);
        expect(reference(va, n, B, limit, end, 0x10000)).toBe(expected);
      }),
      { seed: 0x5e7, numRuns: 2000 },
    );
  });

  it('size convention: va + n <= L; a word that straddles L traps whole', () => {
    expect(relocate(0xffc, 4, 0x1000, 0x1000, false, 0x10000)).toBe(0x1ffc);
    expect(relocate(0xffd, 4, 0x1000, 0x1000, false, 0x10000)).toBe(-1);
    expect(relocate(0xfff, 1, 0x1000, 0x1000, false, 0x10000)).toBe(0x1fff);
    expect(relocate(0x1000, 1, 0x1000, 0x1000, false, 0x10000)).toBe(-1);
    expect(relocate(0, 1, 0x1000, 0, false, 0x10000)).toBe(-1);
  });

  it('end convention: B + va + n <= L (L a physical end address)', () => {
    expect(relocate(0xffc, 4, 0x1000, 0x2000, true, 0x10000)).toBe(0x1ffc);
    expect(relocate(0xffd, 4, 0x1000, 0x2000, true, 0x10000)).toBe(-1);
    expect(relocate(0, 1, 0x1000, 0x1000, true, 0x10000)).toBe(-1); // L = B: empty segment
    expect(relocate(0, 4, 0x3000, 0x2000, true, 0x10000)).toBe(-1); // L < B
  });

  it('never wraps around 2^32', () => {
    expect(relocate(0xffff_fffc, 4, 8, 0xffff_ffff, false, MAX_MEMORY)).toBe(-1); // would wrap to 4
    expect(relocate(0xffff_fffc, 8, 0, 0xffff_ffff, false, MAX_MEMORY)).toBe(-1);
    expect(relocate(8, 4, 0xffff_fffc, 0xffff_ffff, true, MAX_MEMORY)).toBe(-1);
    expect(relocate(0xffff_fffb, 4, 0, 0xffff_ffff, true, MAX_MEMORY)).toBe(0xffff_fffb);
  });

  it('a base past the end of memory makes every access trap', () => {
    for (const [va, n] of [[0, 1], [0, 4], [0x10, 8]]) {
      expect(relocate(va, n, 0x10000, 0xffff_ffff, false, 0x10000)).toBe(-1);
      expect(relocate(va, n, 0xffff_0000, 0xffff_ffff, false, 0x10000)).toBe(-1);
      expect(relocate(va, n, 0x10000, 0xffff_ffff, true, 0x10000)).toBe(-1);
    }
  });

  it('an access reaching past physical memory traps even when the limit allows it', () => {
    expect(relocate(0xffc, 4, 0xf000, 0x2000, false, 0x10000)).toBe(0xfffc);
    expect(relocate(0xffe, 4, 0xf000, 0x2000, false, 0x10000)).toBe(-1);
    expect(relocate(0x1000, 1, 0xf000, 0x2000, false, 0x10000)).toBe(-1);
    expect(relocate(0xffe, 4, 0xf000, 0x20000, true, 0x10000)).toBe(-1);
  });
});

describe('segment relocation in the machine', () => {
  const conventions = ['size', 'end'] as const;

  it('translate() of a user access agrees with the reference for both conventions', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...conventions),
        fc.integer({ min: 0x1000, max: 0x11000 }),
        fc.integer({ min: 0, max: 0x12000 }),
        fc.integer({ min: 0, max: 0x3000 }),
        fc.constantFrom(1, 4, 8),
        fc.constantFrom(Access.Read, Access.Write, Access.Fetch),
        (bounds, B, L, va, n, access) => {
          const end = bounds === 'end';
          const limit = end ? B + L : L;
          const m = bootUser('', { bounds, base: B, limit });
          const pa = m.translate(va, n, access);
          expect(pa).toBe(reference(va, n, B, limit, end, m.mem.size));
          if (pa < 0) expect(m.fault).toMatchObject({ kind: 'bounds', va });
        },
      ),
      { seed: 0x5e8, numRuns: 1000 },
    );
  });

  for (const bounds of conventions) {
    it(`${bounds} convention: accesses up to the last legal byte work; a word straddling the limit traps whole`, () => {
      const B = 0x2000;
      const L = 0xffe; // not a multiple of 4, so an aligned word can straddle it
      const limit = bounds === 'end' ? B + L : L;
      const src = `
        li   r1, 0x55aa
        st   r1, ${L - 6}
        ld   r2, ${L - 6}
        stb  r1, ${L - 1}
        ldb  r3, ${L - 1}
        st   r1, ${L - 2}
`;
      const m = bootUser(src, { bounds, base: B, limit });
      m.run(100);
      expect(m.machineStatus).toBe('halted');
      expect([m.regs[2], m.regs[3]]).toEqual([0x55aa, 0xaa]);
      expect(m.mem.read32(B + L - 6)).toBe(0x55aa);
      expect(m.mem.read8(B + L - 1)).toBe(0xaa);
      expect(trapRecord(m)).toEqual({ cause: Cause.Bounds, vaddr: L - 2, error: ERR_USER | ERR_WRITE, detail: 0 });
      expect(m.mem.read32(B + L - 2)).toBe(0xaa00); // the legal half of the word was not written
      expect(m.mem.read8(B + L)).toBe(0);
    });
  }

  it('a segment whose base is past the end of memory traps on the very first fetch', () => {
    for (const bounds of conventions) {
      const m = bootUser('', { bounds, base: 0x10000, limit: 0xffff_ffff });
      m.step();
      expect(trapRecord(m).cause).toBe(Cause.Bounds);
      expect(m.retired).toBe(0);
    }
  });
});
