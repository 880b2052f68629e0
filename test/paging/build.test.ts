import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FETCH, GEOMETRIES, map, unmap, walk, WRITE, type Geometry, type MapPerms } from '../../src/paging/index.js';
import { PhysicalMemory } from '../../src/mmu/memory.js';
import { bumpAllocator, memory, MiB } from './helpers.js';

const NXE = { wp: true, nxe: true, sum: false };

function translate(g: Geometry, mem: PhysicalMemory, root: number, va: number, opts = {}) {
  const r = walk(g, mem, root, va, { switches: NXE, ...opts });
  return r.ok ? { pa: r.pa, pageBits: r.pageBits, refs: r.refs } : r.fault.kind;
}

describe('map / unmap', () => {
  for (const name of ['x86-32', 'sv32', 'four-level'] as const) {
    const g = GEOMETRIES[name];
    it(`${name}: maps a range page by page, then unmaps it`, () => {
      const mem = memory();
      const alloc = bumpAllocator(16 * MiB);
      const root = alloc();
      map(g, mem, root, 0x00400000, 0x00800000, 0x3000, { write: true, user: true }, alloc);
      for (const off of [0, 0x1000, 0x2fff]) expect(translate(g, mem, root, 0x00400000 + off, { access: WRITE, user: true })).toMatchObject({ pa: 0x00800000 + off, pageBits: 12 });
      expect(translate(g, mem, root, 0x00403000, { user: true })).toBe('page');
      unmap(g, mem, root, 0x00401000, 0x1000);
      expect(translate(g, mem, root, 0x00401000, { user: true })).toBe('page');
      expect(translate(g, mem, root, 0x00402000, { user: true })).toMatchObject({ pa: 0x00802000 });
    });

    it(`${name}: read-only supervisor pages refuse user access and (WP) writes`, () => {
      const mem = memory();
      const alloc = bumpAllocator(16 * MiB);
      const root = alloc();
      map(g, mem, root, 0x1000, 0x2000, 0x1000, {}, alloc);
      expect(translate(g, mem, root, 0x1000)).toMatchObject({ pa: 0x2000 });
      expect(translate(g, mem, root, 0x1000, { user: true })).toBe('protection');
      expect(translate(g, mem, root, 0x1000, { access: WRITE })).toBe('protection');
    });
  }

  it('uses large pages when asked and aligned, small pages around them', () => {
    const g = GEOMETRIES['four-level'];
    const mem = memory(128 * MiB);
    const alloc = bumpAllocator(96 * MiB);
    const root = alloc();
    // 0x3E0000 .. 0x820000: 128 KiB pages, then one 4 MiB page, then 128 KiB pages
    map(g, mem, root, 0x003e0000, 0x013e0000, 0x440000, { large: true, write: true }, alloc);
    expect(translate(g, mem, root, 0x003e0000)).toMatchObject({ pa: 0x013e0000, pageBits: 17 });
    expect(translate(g, mem, root, 0x00400000)).toMatchObject({ pa: 0x01400000, pageBits: 22, refs: 2 });
    expect(translate(g, mem, root, 0x0081ffff)).toMatchObject({ pa: 0x0181ffff, pageBits: 17 });
    expect(() => unmap(g, mem, root, 0x00400000, 0x1000)).toThrow(/^unmap: range covers part of the large page/);
    expect(() => map(g, mem, root, 0x00401000, 0x1000, 0x1000, {}, alloc)).toThrow(/^map: va 0x401000 lies inside a large page/);
    unmap(g, mem, root, 0x00400000, 0x400000);
    expect(translate(g, mem, root, 0x00500000)).toBe('page');
  });

  it('refuses a large page over an existing table', () => {
    const g = GEOMETRIES['x86-32'];
    const mem = memory();
    const alloc = bumpAllocator(32 * MiB);
    const root = alloc();
    map(g, mem, root, 0x00400000, 0x1000, 0x1000, {}, alloc);
    expect(() => map(g, mem, root, 0x00400000, 0x00800000, 0x400000, { large: true }, alloc)).toThrow(/^map: a large page at va 0x400000 would replace a table/);
  });

  it('sv32 megapages and x86-32 4 MiB pages', () => {
    for (const name of ['sv32', 'x86-32'] as const) {
      const mem = memory();
      const alloc = bumpAllocator(32 * MiB);
      const root = alloc();
      map(GEOMETRIES[name], mem, root, 0x00400000, 0x00c00000, 0x400000, { large: true }, alloc);
      expect(translate(GEOMETRIES[name], mem, root, 0x00412345)).toMatchObject({ pa: 0x00c12345, pageBits: 22, refs: 1 });
    }
  });

  it('exec: false sets NX on four-level (a fetch faults under NXE)', () => {
    const g = GEOMETRIES['four-level'];
    const mem = memory();
    const alloc = bumpAllocator(32 * MiB);
    const root = alloc();
    map(g, mem, root, 0x1000, 0x2000, 0x1000, { exec: false }, alloc);
    expect(translate(g, mem, root, 0x1000, { access: FETCH })).toBe('protection');
    expect(translate(g, mem, root, 0x1000)).toMatchObject({ pa: 0x2000 });
  });

  it('tiny: maps the whole 4 KiB machine into its 15-bit space', () => {
    const g = GEOMETRIES['tiny'];
    const mem = new PhysicalMemory(4096);
    const alloc = bumpAllocator(0xc00, 32);
    const root = alloc();
    map(g, mem, root, 0x4000, 0, 0x800, {}, alloc);
    expect(translate(g, mem, root, 0x47ff, { access: WRITE, user: true })).toMatchObject({ pa: 0x7ff, pageBits: 5 });
  });

  it('refuses misaligned ranges, frames too large for the PFN field and bad sv32 leaves', () => {
    const mem = memory();
    const alloc = bumpAllocator(32 * MiB);
    expect(() => map(GEOMETRIES['x86-32'], mem, 0, 0x1001, 0, 0x1000, {}, alloc)).toThrow(/^map: .* must be multiples of the 4096-byte page/);
    expect(() => map(GEOMETRIES['tiny'], new PhysicalMemory(4096), 0, 0, 4096, 32, {}, bumpAllocator(32, 32))).toThrow(/^frameNumber: /);
    expect(() => map(GEOMETRIES['sv32'], mem, 0, 0, 0, 0x1000, { read: false, exec: false }, alloc)).toThrow(/^leafEntry: /);
    expect(() => map(GEOMETRIES['tiny'], new PhysicalMemory(4096), 0, 0x7fe0, 0, 64, {}, bumpAllocator(32, 32))).toThrow(/^map: .*outside the 15-bit VA space/);
  });

  it('any mapped page translates to where it was mapped (property, x86-32 and four-level)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('x86-32', 'four-level', 'sv32'),
        fc.uniqueArray(fc.integer({ min: 0, max: 0xfffff }), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 0, max: 0x3fff }),
        (name, vpns, frameBase) => {
          const g = GEOMETRIES[name];
          const mem = memory(128 * MiB);
          const alloc = bumpAllocator(100 * MiB);
          const root = alloc();
          const perms: MapPerms = { write: true, user: true };
          vpns.forEach((vpn, i) => map(g, mem, root, vpn * 4096, (frameBase + i) * 4096, 4096, perms, alloc));
          return vpns.every((vpn, i) => {
            const r = walk(g, mem, root, vpn * 4096 + 0x10, { user: true });
            return r.ok && r.pa === (frameBase + i) * 4096 + 0x10;
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});
