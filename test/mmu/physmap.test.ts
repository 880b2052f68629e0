import { describe, expect, it } from 'vitest';
import { contiguousPhysmap, explicitPhysmap, onDemandPhysmap, physmapProblems, type Physmap, type PhysmapResult, type PhysmapSpec } from '../../src/mmu/physmap.js';

function built(r: PhysmapResult): Physmap {
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.physmap;
}

describe('contiguousPhysmap: today\'s layout', () => {
  it('maps guest page i at addr0 + i * pageBytes, one range, both ways', () => {
    const p = contiguousPhysmap(0x10000, 0x3000, 0x1000);
    expect([0, 1, 2].map((g) => p.hostPage(g))).toEqual([0x10000, 0x11000, 0x12000]);
    expect(p.hostPage(3)).toBe(-1);
    expect(p.guestPageOf(0x11234)).toBe(1);
    expect(p.guestPageOf(0xffff)).toBe(-1);
    expect(p.guestPageOf(0x13000)).toBe(-1);
    expect(p.ranges()).toEqual([{ gpa: 0, hpa: 0x10000, size: 0x3000 }]);
    expect(p.mappedPages).toBe(3);
    expect(p.touch(2)).toBe(0x12000);
    expect(p.hostBytes).toBe(0x13000);
  });

  it('32-byte pages, and a last page that is only partly guest memory', () => {
    const p = contiguousPhysmap(0x1000, 100, 32);
    expect(p.guestPages).toBe(4);
    expect(p.hostPage(3)).toBe(0x1060);
    expect(p.ranges()).toEqual([{ gpa: 0, hpa: 0x1000, size: 128 }]);
  });

  it('a 4 GiB guest is one run, however many pages', () => {
    const p = contiguousPhysmap(0, 2 ** 32, 32);
    expect(p.mappedPages).toBe(2 ** 27);
    expect(p.hostPage(2 ** 27 - 1)).toBe(2 ** 32 - 32);
    expect(p.guestPageOf(0xffff_ffff)).toBe(2 ** 27 - 1);
  });

  it('refuses bad page sizes, unaligned addr0 and layouts past 4 GiB (broken invariants)', () => {
    expect(() => contiguousPhysmap(0, 0x1000, 48)).toThrow(/page size 48/);
    expect(() => contiguousPhysmap(0, 0x1000, 2)).toThrow(RangeError);
    expect(() => contiguousPhysmap(0x800, 0x1000, 0x1000)).toThrow(/addr0/);
    expect(() => contiguousPhysmap(0x1000, 2 ** 32, 0x1000)).toThrow(/passes 4 GiB/);
  });
});

describe('explicitPhysmap: ranges given by a scenario', () => {
  const spec = (ranges: PhysmapSpec['ranges'], more: Partial<PhysmapSpec> = {}): PhysmapSpec => ({ guestBytes: 0x4000, pageBytes: 0x1000, hostBytes: 0x20000, ranges, ...more });

  it('maps scattered pages both ways and reports them coalesced by guest address', () => {
    const p = built(
      explicitPhysmap(
        spec([
          { gpa: 0x2000, hpa: 0x8000, size: 0x1000 },
          { gpa: 0, hpa: 0x12000, size: 0x1000 },
          { gpa: 0x1000, hpa: 0x13000, size: 0x1000 },
        ]),
      ),
    );
    expect(p.hostPage(0)).toBe(0x12000);
    expect(p.hostPage(1)).toBe(0x13000);
    expect(p.hostPage(2)).toBe(0x8000);
    expect(p.hostPage(3)).toBe(-1);
    expect(p.guestPageOf(0x8ffc)).toBe(2);
    expect(p.guestPageOf(0x9000)).toBe(-1);
    expect(p.ranges()).toEqual([
      { gpa: 0, hpa: 0x12000, size: 0x2000 },
      { gpa: 0x2000, hpa: 0x8000, size: 0x1000 },
    ]);
    expect(p.mappedPages).toBe(3);
    expect(p.touch(3)).toBe(-1); // no pool: nothing to map from
  });

  it('refuses each kind of bad range with its list, index, field and a reason', () => {
    const bad: [PhysmapSpec, { index: number; field?: string; message: RegExp }][] = [
      [spec([{ gpa: 0x800, hpa: 0, size: 0x1000 }]), { index: 0, field: 'gpa', message: /gpa 0x800 is not a multiple of the page size \(4096 bytes\)/ }],
      [spec([{ gpa: 0, hpa: 0x10, size: 0x1000 }]), { index: 0, field: 'hpa', message: /hpa 0x10 is not a multiple/ }],
      [spec([{ gpa: 0, hpa: 0, size: 0x1800 }]), { index: 0, field: 'size', message: /size 0x1800 is not a multiple/ }],
      [spec([{ gpa: 0, hpa: 0, size: 0 }]), { index: 0, field: 'size', message: /size is 0/ }],
      [spec([{ gpa: -0x1000, hpa: 0, size: 0x1000 }]), { index: 0, field: 'gpa', message: /not a non-negative integer/ }],
      [spec([{ gpa: 0x3000, hpa: 0, size: 0x2000 }]), { index: 0, field: 'size', message: /guest range \[0x3000, 0x5000\) runs past guest memory \(0x4000 bytes\)/ }],
      [spec([{ gpa: 0, hpa: 0x1f000, size: 0x2000 }]), { index: 0, field: 'size', message: /host range \[0x1f000, 0x21000\) runs past host memory \(0x20000 bytes\)/ }],
      [
        spec([
          { gpa: 0, hpa: 0, size: 0x2000 },
          { gpa: 0x1000, hpa: 0x8000, size: 0x1000 },
        ]),
        { index: 1, field: 'gpa', message: /guest page 0x1000 is mapped twice \(also by range 0\)/ },
      ],
      [
        spec([
          { gpa: 0, hpa: 0x4000, size: 0x2000 },
          { gpa: 0x2000, hpa: 0x5000, size: 0x1000 },
        ]),
        { index: 1, field: 'hpa', message: /host range \[0x5000, 0x6000\) overlaps range 0 \[0x4000, 0x6000\) in host memory/ },
      ],
    ];
    for (const [s, want] of bad) {
      const r = explicitPhysmap(s);
      expect(r.ok).toBe(false);
      expect(physmapProblems(s)).toHaveLength(1);
      const [p] = physmapProblems(s);
      expect({ list: p.list, index: p.index, field: p.field }).toEqual({ list: 'ranges', index: want.index, field: want.field });
      expect(p.message).toMatch(want.message);
    }
  });

  it('a pool range overlapping a range or another pool range is refused too', () => {
    const problems = physmapProblems(
      spec([{ gpa: 0, hpa: 0x4000, size: 0x1000 }], {
        pool: [
          { hpa: 0x3000, size: 0x2000 },
          { hpa: 0x8000, size: 0x1000 },
          { hpa: 0x8000, size: 0x3000 },
          { hpa: 0x1f000, size: 0x2000 },
        ],
      }),
    );
    expect(problems.map((p) => [p.list, p.index, p.field])).toEqual([
      ['pool', 0, 'hpa'],
      ['pool', 2, 'hpa'],
      ['pool', 3, 'size'],
    ]);
    expect(problems[0].message).toMatch(/overlaps range 0/);
    expect(problems[1].message).toMatch(/overlaps pool range 1/);
  });

  it('reports every problem at once, in list order', () => {
    const problems = physmapProblems(
      spec([
        { gpa: 0x10, hpa: 0, size: 0x1000 },
        { gpa: 0, hpa: 0, size: 0x1000 },
        { gpa: 0x1000, hpa: 0, size: 0x1000 },
      ]),
    );
    expect(problems.map((p) => [p.index, p.field])).toEqual([
      [0, 'gpa'],
      [2, 'hpa'],
    ]);
  });
});

describe('onDemandPhysmap: pages mapped on first touch from a host pool', () => {
  it('hands out pool pages in pool order, across fragmented ranges, and says so', () => {
    const p = built(onDemandPhysmap({ guestBytes: 0x10000, pageBytes: 0x1000, hostBytes: 0x40000, pool: [{ hpa: 0x30000, size: 0x1000 }, { hpa: 0x10000, size: 0x2000 }] }));
    const seen: [number, number][] = [];
    p.onMap = (gpn, hpa) => seen.push([gpn, hpa]);
    expect(p.mappedPages).toBe(0);
    expect(p.hostPage(5)).toBe(-1);
    expect(p.touch(5)).toBe(0x30000);
    expect(p.touch(5)).toBe(0x30000); // already mapped: nothing new
    expect(p.touch(0)).toBe(0x10000);
    expect(p.touch(1)).toBe(0x11000);
    expect(p.generation).toBe(3);
    expect(seen).toEqual([
      [5, 0x30000],
      [0, 0x10000],
      [1, 0x11000],
    ]);
    expect(p.touch(2)).toBe(-1); // exhausted
    expect(p.poolPagesLeft).toBe(0);
    expect(p.guestPageOf(0x11800)).toBe(1);
    expect(p.guestPageOf(0x30000)).toBe(5);
    expect(p.ranges()).toEqual([
      { gpa: 0, hpa: 0x10000, size: 0x2000 },
      { gpa: 0x5000, hpa: 0x30000, size: 0x1000 },
    ]);
    expect(() => p.touch(16)).toThrow(/outside guest memory/);
  });

  it('a pool page not handed out yet belongs to no guest page', () => {
    const p = built(onDemandPhysmap({ guestBytes: 0x1000, pageBytes: 32, hostBytes: 0x2000, pool: [{ hpa: 0x1000, size: 0x1000 }] }));
    expect(p.guestPageOf(0x1000)).toBe(-1);
    expect(p.touch(100)).toBe(0x1000);
    expect(p.guestPageOf(0x101f)).toBe(100);
    expect(p.guestPageOf(0x1020)).toBe(-1);
  });

  it('a 4 GiB guest that touches three pages costs three pages', () => {
    const p = built(onDemandPhysmap({ guestBytes: 2 ** 32, pageBytes: 0x1000, hostBytes: 0x100000, pool: [{ hpa: 0x80000, size: 0x80000 }] }));
    for (const gpn of [0, 0x80000, 0xfffff]) p.touch(gpn);
    expect(p.mappedPages).toBe(3);
    expect(p.ranges()).toHaveLength(3);
    expect(p.hostPage(0xfffff)).toBe(0x82000);
  });

  it('explicit ranges and a pool together: the pool maps only what the ranges leave out', () => {
    const p = built(explicitPhysmap({ guestBytes: 0x3000, pageBytes: 0x1000, hostBytes: 0x10000, ranges: [{ gpa: 0x1000, hpa: 0x4000, size: 0x1000 }], pool: [{ hpa: 0x8000, size: 0x2000 }, { hpa: 0x5000, size: 0x1000 }] }));
    expect(p.touch(1)).toBe(0x4000);
    expect(p.touch(0)).toBe(0x8000);
    expect(p.mappedPages).toBe(2);
    expect(p.claimedRanges()).toEqual([
      [0x4000, 0x6000],
      [0x8000, 0xa000],
    ]);
    expect(p.poolRanges()).toEqual([
      { hpa: 0x8000, size: 0x2000 },
      { hpa: 0x5000, size: 0x1000 },
    ]);
  });
});
