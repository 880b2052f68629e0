import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assemble } from '../../src/asm/index.js';
import { Machine } from '../../src/isa/machine.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { MAX_MEMORY, mergeRanges, PhysicalMemory } from '../../src/mmu/memory.js';
import { contiguousPhysmap, explicitPhysmap, type Physmap, type PhysmapResult, type PhysmapSpec } from '../../src/mmu/physmap.js';
import { PhysmapMemory, UnmappedGuestWrite } from '../../src/mmu/physmap-memory.js';
import { LAYOUT_KINDS, layoutMemory, layoutPlan } from '../isa/layouts.js';

function built(r: PhysmapResult): Physmap {
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('; '));
  return r.physmap;
}

/** Guest memory over scattered pages: guest page i at host page 15 - 3(i mod 5) + 16 floor(i / 5). */
function scattered(pageBytes = 0x1000, guestBytes = 0x4000, more: Partial<PhysmapSpec> = {}): PhysmapMemory {
  const host = new PhysicalMemory((16 * Math.ceil(guestBytes / pageBytes / 5) + 16) * pageBytes);
  const ranges = Array.from({ length: guestBytes / pageBytes }, (_, i) => ({ gpa: i * pageBytes, hpa: (15 - 3 * (i % 5) + 16 * Math.floor(i / 5)) * pageBytes, size: pageBytes }));
  return new PhysmapMemory(host, built(explicitPhysmap({ guestBytes, pageBytes, hostBytes: host.size, ranges, ...more })));
}

/** Guest memory over a pool (no page mapped until touched). */
function pooled(guestBytes: number, pageBytes: number, hostBytes: number, pool: PhysmapSpec['pool']): PhysmapMemory {
  return new PhysmapMemory(new PhysicalMemory(hostBytes), built(explicitPhysmap({ guestBytes, pageBytes, hostBytes, pool })));
}

describe('PhysmapMemory: guest-physical reads and writes', () => {
  it('puts each guest page where the physmap says, words and bytes, any alignment', () => {
    const m = scattered();
    m.write32(0x1000, 0x11223344);
    expect(m.host.read32(12 * 0x1000)).toBe(0x11223344);
    m.write32(0xffe, 0xaabbccdd); // straddles guest pages 0 and 1, far apart in the host
    expect(m.read32(0xffe) >>> 0).toBe(0xaabbccdd);
    expect(m.host.read8(15 * 0x1000 + 0xfff)).toBe(0xcc);
    expect(m.host.read8(12 * 0x1000)).toBe(0xbb);
    m.write8(0x2001, 0x1ff);
    expect(m.read32(0x2000) >>> 0).toBe(0x0000ff00);
    expect(m.readBytes(0x1000, 4)).toEqual(new Uint8Array([0xbb, 0xaa, 0x22, 0x11]));
    expect(m.linear).toBe(false);
  });

  it('an unmapped page reads as zeros and stays unmapped; a write maps it from the pool, cleared', () => {
    const m = pooled(0x10000, 0x1000, 0x20000, [{ hpa: 0x8000, size: 0x2000 }]);
    m.host.write32(0x8010, 0x5a5a5a5a); // stale bytes of a free pool page
    expect(m.read32(0x3000)).toBe(0);
    expect(m.read8(0xffff)).toBe(0);
    expect(m.physmap.mappedPages).toBe(0);
    m.write8(0x3001, 7);
    expect(m.physmap.hostPage(3)).toBe(0x8000);
    expect(m.read32(0x3010)).toBe(0); // the stale word is gone
    expect(m.read32(0x3000)).toBe(0x700);
    m.write32(0x5000, 1);
    expect(() => m.write32(0x6000, 1)).toThrow(UnmappedGuestWrite);
    try {
      m.write8(0x7000, 1);
    } catch (e) {
      expect(e).toBeInstanceOf(UnmappedGuestWrite);
      expect((e as UnmappedGuestWrite).exhausted).toBe(true);
      expect((e as UnmappedGuestWrite).gpa).toBe(0x7000);
    }
  });

  it('writing an unmapped page with no pool is a broken invariant', () => {
    const m = new PhysmapMemory(new PhysicalMemory(0x10000), built(explicitPhysmap({ guestBytes: 0x2000, pageBytes: 0x1000, hostBytes: 0x10000, ranges: [{ gpa: 0, hpa: 0x4000, size: 0x1000 }] })));
    expect(m.read32(0x1000)).toBe(0);
    expect(() => m.write32(0x1000, 1)).toThrow(/whose page is not mapped and the physmap has no pool/);
  });

  it('refuses a host smaller than the physmap, or not a plain memory or window at a frame boundary', () => {
    expect(() => new PhysmapMemory(new PhysicalMemory(0x2000), contiguousPhysmap(0x1000, 0x2000, 0x1000))).toThrow(/past host memory/);
    expect(() => new PhysmapMemory(new PhysicalMemory(0x4000).window(0x800, 0x3000), contiguousPhysmap(0, 0x1000, 0x1000))).toThrow(/frame-aligned/);
    const inner = scattered();
    expect(() => new PhysmapMemory(inner, contiguousPhysmap(0, 0x1000, 0x1000))).toThrow(RangeError);
    expect(() => inner.window(0, 0x1000)).toThrow(/not supported/);
  });

  it('hostRanges: the host bytes holding guest memory, coalesced', () => {
    expect(new PhysmapMemory(new PhysicalMemory(0x10000), contiguousPhysmap(0x2000, 0x1800, 0x1000)).hostRanges()).toEqual([[0x2000, 0x3800]]);
    const m = pooled(0x1000, 32, 0x2000, [{ hpa: 0x1000, size: 0x1000 }]);
    for (const gpa of [0x40, 0x20, 0x400]) m.write8(gpa, 1);
    expect(m.hostRanges()).toEqual([[0x1000, 0x1060]]);
    expect(new PhysicalMemory(0x8000).window(0x1000, 0x2000).hostRanges()).toEqual([[0x1000, 0x3000]]);
  });
});

describe('PhysmapMemory: the cost of sparse guests', () => {
  it('a 4 GiB guest whose program touches three pages costs three host pages', () => {
    const m = pooled(MAX_MEMORY, 0x1000, 0x100000, [{ hpa: 0x40000, size: 0xc0000 }]);
    const machine = new Machine({ profile: classic, memorySize: MAX_MEMORY }, m);
    const program = `
        .org 0
        .psw pc=handler, mode=s, base=0, limit=0xffffffff
        .org 0x80
start:  li   r1, 0x01020304
        st   r1, 0x10000
        stb  r1, 0x80000003
        ld   r2, 0x20000
        ld   r3, 0xfffff000
        ldb  r4, 0x7ffffff0
        halt
handler: halt
`;
    const r = assemble(program, { profile: classic });
    for (const c of r.chunks) m.writeBytes(c.address, c.bytes);
    machine.loadPsw({ pc: 0x80, status: 0, base: 0, limit: 0xffff_ffff, ptbr: 0, extra: 0 });
    expect(machine.run(100)).toBe('halted');
    expect(m.read32(0x10000)).toBe(0x01020304);
    expect(m.read8(0x80000003)).toBe(4);
    expect(m.physmap.mappedPages).toBe(3);
    expect(m.host.framesAllocated).toBe(3);
    expect(m.presentRanges()).toEqual([
      [0, 0x1000],
      [0x10000, 0x11000],
      [0x80000000, 0x80001000],
    ]);
    const image = m.image();
    expect(image.size).toBe(MAX_MEMORY);
    expect(image.read32(0x10000)).toBe(0x01020304);
    expect(image.hash()).toBe(m.hash());
    const plain = new PhysicalMemory(MAX_MEMORY);
    plain.copyFrom(image);
    expect(plain.framesAllocated).toBe(3);
    expect(plain.firstDifference(m)).toBe(-1);
  });
});

describe('PhysmapMemory: images in guest-physical terms', () => {
  it('taking an image copies no frame; a later write copies only the frame it writes', () => {
    const m = scattered();
    for (let g = 0; g < 4; g++) m.write32(g * 0x1000 + 8, g + 100);
    const store = m.host.store;
    const [allocated, copied] = [store.framesAllocated, store.framesCopied];
    const image = m.image();
    expect([store.framesAllocated, store.framesCopied]).toEqual([allocated, copied]);
    expect([0, 1, 2, 3].map((g) => image.read32(g * 0x1000 + 8))).toEqual([100, 101, 102, 103]);
    expect(image.frameAt(0x2000)).toBe(m.frameAt(0x2000)); // shared with the host frame
    const hash = image.hash();
    m.write32(0x2008, 7);
    expect(store.framesCopied).toBe(copied + 1);
    expect(image.read32(0x2008)).toBe(102);
    expect(image.hash()).toBe(hash);
    expect(m.firstDifference(image)).toBe(0x2008);
    m.write32(0x2010, 8); // the frame is the live epoch's now: no second copy
    expect(store.framesCopied).toBe(copied + 1);
  });

  it('with 32-byte pages the image copies pieces, and still never changes', () => {
    const m = scattered(32, 0x1000);
    for (let a = 0; a < 0x1000; a += 36) m.write32(a & ~3, a + 1);
    const image = m.image();
    const hash = image.hash();
    const plain = new PhysicalMemory(0x1000);
    plain.copyFrom(m);
    expect(image.firstDifference(plain)).toBe(-1);
    expect(plain.hash()).toBe(hash);
    m.write32(0x40, -1);
    expect(image.hash()).toBe(hash);
    expect(image.firstDifference(m)).toBe(0x40);
  });

  it('a thawed image is a plain memory with the guest-physical contents', () => {
    const m = scattered();
    m.write32(0x3ffc, 9);
    const thawed = m.image().thaw();
    expect(thawed.linear).toBe(true);
    expect(thawed.read32(0x3ffc)).toBe(9);
    thawed.write32(0x3ffc, 10);
    expect(m.read32(0x3ffc)).toBe(9);
  });
});

describe('write trackers: what changed, in the memory\'s own terms', () => {
  it('names exactly the guest frames written, whoever wrote them (the host included)', () => {
    const m = scattered();
    const t = m.trackWrites();
    m.write32(0x1004, 1);
    m.write8(0x3fff, 1);
    m.host.write32(15 * 0x1000, 1); // host page 15 holds guest page 0
    m.host.write32(14 * 0x1000, 1); // a host page no guest page uses
    expect(t.written()).toEqual([
      [0, 0x2000],
      [0x3000, 0x4000],
    ]);
    expect(t.hostFrames()).toEqual([6, 12, 14, 15]);
    t.reset();
    expect(t.written()).toEqual([]);
    m.write32(0x2000, 1);
    expect(t.written()).toEqual([[0x2000, 0x3000]]);
    t.close();
    m.write32(0, 1);
    expect(t.written()).toEqual([[0x2000, 0x3000]]);
  });

  it('keeps the contents of selected host frames from before their first write', () => {
    const m = scattered();
    m.write32(0x10, 5);
    const t = m.trackWrites((fn) => fn === 15);
    m.write32(0x10, 6);
    m.write32(0x1000, 6);
    expect(t.before(15)![4]).toBe(5);
    expect(t.before(12)).toBeUndefined();
    t.close();
  });

  it('a window reports its own addresses, clipped', () => {
    const host = new PhysicalMemory(0x10000);
    const w = host.window(0x1800, 0x3000);
    const t = w.trackWrites();
    host.write32(0x1000, 1); // frame 1 holds window bytes [0, 0x800)
    host.write32(0x8000, 1); // outside the window
    expect(t.written()).toEqual([[0, 0x800]]);
    t.close();
  });

  it('property: over every layout and page size, exactly the guest ranges whose host frames were written', () => {
    // host frames are the finest grain any writer leaves (a CPU's windows write frames in place):
    // with pages of 4 KiB that is exactly the guest frames written; with 32-byte pages, every
    // mapped guest page sharing a written host frame
    const guestBytes = 0x4000;
    const write = fc.tuple(fc.integer({ min: 0, max: guestBytes - 1 }), fc.constantFrom(1, 4));
    const plans = fc.constantFrom(32, 0x1000).chain((pageBytes) => fc.tuple(fc.constant(pageBytes), layoutPlan(guestBytes / pageBytes)));
    fc.assert(
      fc.property(plans, fc.array(write, { minLength: 1, maxLength: 12 }), ([pageBytes, plan], writes) => {
        for (const kind of LAYOUT_KINDS) {
          const m = layoutMemory(kind, plan, guestBytes, pageBytes);
          const hostOf = (gpa: number) => (m instanceof PhysmapMemory ? m.hostAddress(gpa) : m.offset + gpa);
          const t = m.trackWrites();
          const frames = new Set<number>();
          for (const [at, n] of writes) {
            const a = n === 4 ? Math.min(at, guestBytes - 4) & ~3 : at;
            if (n === 4) m.write32(a, 0x01010101);
            else m.write8(a, 1);
            frames.add(hostOf(a) >>> 12);
          }
          const want: [number, number][] = [];
          for (let g = 0; g < guestBytes; g += 32) if (hostOf(g) >= 0 && frames.has(hostOf(g) >>> 12)) want.push([g, g + 32]);
          expect({ kind, written: t.written() }).toEqual({ kind, written: mergeRanges(want) });
          t.close();
        }
      }),
      { seed: 0x7ac, numRuns: 100 },
    );
  });
});
