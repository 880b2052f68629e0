import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createPager, type PagingUnit } from '../../src/mmu/paging-unit.js';
import { Access, ERR_FETCH, ERR_PRESENT, ERR_RESERVED, ERR_USER, ERR_WRITE } from '../../src/mmu/fault.js';
import type { PhysicalMemory, MemoryImage } from '../../src/mmu/memory.js';
import { allowedTranslations, GEOMETRIES, isAllowed, map, walk, type Geometry, type Outcome } from '../../src/paging/index.js';
import { bumpAllocator, memory, MiB, put32 } from '../paging/helpers.js';

const x86 = GEOMETRIES['x86-32'];
const VA = 0x00401000;
const PTE = 0x101004; // the PTE of VA in `setup`

/** x86-32 with VA mapped user-writable to 0x5000 (root 0x100000, page table 0x101000). */
function setup(tlb = { entries: 16, ways: 4 }, g: Geometry = x86): { mem: PhysicalMemory; pager: PagingUnit; root: number } {
  const mem = memory();
  const alloc = bumpAllocator(0x100000);
  const root = alloc();
  map(g, mem, root, VA, 0x5000, 0x2000, { write: true, user: true }, alloc);
  const pager = createPager(mem, { geometry: g, tlb });
  pager.setRoot(root);
  return { mem, pager, root };
}

const outcome = (p: PagingUnit, va: number, access: Access, user: boolean) => {
  const pa = p.translate(va, access, user);
  return pa >= 0 ? pa : { kind: p.fault.kind, error: p.fault.error, depth: p.fault.depth, va: p.fault.va };
};

describe('PagingUnit', () => {
  it('a miss walks (counting its references), then the TLB serves the page', () => {
    const { pager } = setup();
    expect(pager.translate(VA + 0x10, Access.Read, true)).toBe(0x5010);
    expect(pager.translate(VA + 0x20, Access.Read, true)).toBe(0x5020);
    expect(pager.translate(VA + 0x30, Access.Fetch, false)).toBe(0x5030);
    expect(pager.counters()).toMatchObject({ tlbHits: 2, tlbMisses: 1, walks: 1, walkRefs: 2, lastWalkRefs: 2 });
    expect(pager.tlbEntries()).toMatchObject([{ vpn: VA >>> 12, frame: 0x5000, pageBits: 12 }]);
  });

  it('sets A on the walk and D on the first write (a write hitting a clean entry walks again)', () => {
    const { mem, pager } = setup();
    pager.translate(VA, Access.Read, true);
    expect(mem.read32(PTE) & 0x60).toBe(0x20);
    pager.translate(VA, Access.Write, true);
    expect(mem.read32(PTE) & 0x60).toBe(0x60);
    pager.translate(VA + 4, Access.Write, true);
    expect(pager.counters()).toMatchObject({ tlbHits: 1, tlbMisses: 2, walks: 2, refreshes: 1, adWrites: 3 });
  });

  it('is not coherent: a changed entry translates the old way until invlpg, flush or a PTBR write', () => {
    const { mem, pager, root } = setup();
    for (const drop of [(p: PagingUnit) => p.invalidate(VA + 0x123), (p: PagingUnit) => p.flush(), (p: PagingUnit) => p.setRoot(root)]) {
      put32(mem, PTE, 0x5000 | 0x67);
      pager.flush();
      expect(pager.translate(VA, Access.Read, true)).toBe(0x5000);
      put32(mem, PTE, 0x7000 | 0x67);
      expect(pager.translate(VA, Access.Read, true)).toBe(0x5000);
      expect(pager.translate(VA, Access.Write, true)).toBe(0x5000);
      drop(pager);
      expect(pager.translate(VA, Access.Read, true)).toBe(0x7000);
    }
  });

  it('a stale entry survives unmapping until invalidated', () => {
    const { mem, pager } = setup();
    pager.translate(VA, Access.Read, true);
    put32(mem, PTE, 0);
    expect(pager.translate(VA, Access.Read, true)).toBe(0x5000);
    pager.invalidate(VA);
    expect(outcome(pager, VA, Access.Read, true)).toEqual({ kind: 'page', error: ERR_USER, depth: 1, va: VA });
  });

  it('a hit whose cached permissions forbid the access re-walks: the fresh tables decide', () => {
    const { mem, pager } = setup();
    put32(mem, PTE, 0x5000 | 0x25); // read-only user page
    pager.flush();
    pager.translate(VA, Access.Read, true);
    put32(mem, PTE, 0x5000 | 0x27); // now writable, no invlpg
    expect(pager.translate(VA, Access.Write, true)).toBe(0x5000);
    put32(mem, PTE, 0x5000 | 0x25);
    pager.invalidate(VA);
    pager.translate(VA, Access.Read, true);
    expect(outcome(pager, VA, Access.Write, true)).toEqual({ kind: 'protection', error: ERR_PRESENT | ERR_WRITE | ERR_USER, depth: 1, va: VA });
    expect(pager.tlbEntries()).toEqual([]);
  });

  it('a hit is checked against the cached permissions: a supervisor page filled by the kernel faults for user', () => {
    const { mem, pager } = setup();
    put32(mem, PTE, 0x5000 | 0x63); // supervisor, writable, A and D set
    pager.flush();
    expect(pager.translate(VA, Access.Write, false)).toBe(0x5000);
    expect(outcome(pager, VA, Access.Read, true)).toEqual({ kind: 'protection', error: ERR_PRESENT | ERR_USER, depth: 1, va: VA });
    expect(pager.translate(VA, Access.Read, false)).toBe(0x5000);
    expect(pager.counters()).toMatchObject({ refreshes: 1, walks: 3 });
  });

  it('error codes: reserved bits and fetches (I/D only while NXE enables the NX bit)', () => {
    const g = GEOMETRIES['four-level'];
    const { mem, pager } = setup(undefined, g);
    const leaf = pager.inspect(VA, Access.Read, false);
    const leafAddress = leaf.steps[3].entryAddress;
    mem.write32(leafAddress + 4, 0x80000000 | 0);
    expect(outcome(pager, VA, Access.Fetch, true)).toEqual({ kind: 'reserved', error: ERR_PRESENT | ERR_RESERVED | ERR_USER, depth: 3, va: VA });
    pager.setSwitches({ wp: false, nxe: true, sum: false });
    expect(outcome(pager, VA, Access.Fetch, false)).toEqual({ kind: 'protection', error: ERR_PRESENT | ERR_FETCH, depth: 3, va: VA });
    expect(outcome(pager, VA, Access.Read, false)).toBe(0x5000);
    expect(pager.counters().lastWalkRefs).toBe(4);
    expect(outcome(pager, VA + 0x4000, Access.Fetch, true)).toEqual({ kind: 'page', error: ERR_FETCH | ERR_USER, depth: 3, va: VA + 0x4000 });
  });

  it('error codes: an x86-32 fetch fault never sets I/D; an sv32 one always does', () => {
    const { pager } = setup();
    pager.setSwitches({ wp: false, nxe: true, sum: false });
    expect(outcome(pager, VA + 0x4000, Access.Fetch, true)).toEqual({ kind: 'page', error: ERR_USER, depth: 1, va: VA + 0x4000 });
    const sv = setup(undefined, GEOMETRIES['sv32']);
    expect(outcome(sv.pager, VA + 0x4000, Access.Fetch, true)).toEqual({ kind: 'page', error: ERR_FETCH | ERR_USER, depth: 1, va: VA + 0x4000 });
    expect(outcome(sv.pager, VA + 0x4000, Access.Read, true)).toEqual({ kind: 'page', error: ERR_USER, depth: 1, va: VA + 0x4000 });
  });

  it('WP decides supervisor writes to read-only pages; a switch change flushes', () => {
    const { mem, pager } = setup();
    put32(mem, PTE, 0x5000 | 0x65);
    pager.flush();
    expect(pager.translate(VA, Access.Write, false)).toBe(0x5000);
    pager.setSwitches({ wp: true, nxe: false, sum: false });
    expect(pager.tlbEntries()).toEqual([]);
    expect(outcome(pager, VA, Access.Write, false)).toMatchObject({ kind: 'protection' });
  });

  it('the last-page cache never outlives its TLB entry (eviction in a one-entry TLB)', () => {
    const { mem, pager } = setup({ entries: 1, ways: 1 });
    expect(pager.translate(VA, Access.Fetch, true)).toBe(0x5000);
    expect(pager.translate(VA + 0x1000, Access.Read, true)).toBe(0x6000); // evicts VA
    put32(mem, PTE, 0x9000 | 0x67);
    expect(pager.translate(VA, Access.Fetch, true)).toBe(0x9000);
  });

  it('entries 0: no TLB, every access walks', () => {
    const { pager } = setup({ entries: 0, ways: 1 });
    for (let i = 0; i < 5; i++) pager.translate(VA + i * 4, Access.Read, true);
    expect(pager.counters()).toMatchObject({ tlbHits: 0, tlbMisses: 5, walks: 5, walkRefs: 10 });
  });

  it('a va outside the geometry VA space is a bounds fault', () => {
    const mem = memory(4096);
    const pager = createPager(mem, { geometry: GEOMETRIES['tiny'], tlb: { entries: 4, ways: 2 } });
    expect(outcome(pager, 0x8000, Access.Read, false)).toEqual({ kind: 'bounds', error: 0, depth: -1, va: 0x8000 });
  });

  it('refuses an invalid geometry loudly', () => {
    expect(() => createPager(memory(), { geometry: { ...x86, vaBits: 31 }, tlb: { entries: 4, ways: 1 } })).toThrow(/^PagingUnit: geometry 'x86-32' is invalid: vaBits/);
  });

  it('restoreTlb brings back the saved entries (part of the machine state)', () => {
    const { mem, pager } = setup();
    pager.translate(VA, Access.Read, true);
    const saved = pager.saveTlb();
    put32(mem, PTE, 0x9000 | 0x67);
    pager.flush();
    expect(pager.translate(VA, Access.Read, true)).toBe(0x9000);
    pager.restoreTlb(saved);
    expect(pager.translate(VA, Access.Read, true)).toBe(0x5000);
  });
});

// Model-based: random table edits, invalidations and accesses. Every access must use a member
// of the allowed set computed from the table images since the last invalidation covering it;
// when every edit is invalidated at once, that set is the fresh walk alone.
describe('PagingUnit against the allowed set (property)', () => {
  const PAGES = [0x00001000, 0x00002000, 0x00400000, 0x00c03000];
  const FRAMES = [0x10000, 0x11000, 0x12000, 0x13000];
  type Op =
    | { op: 'set'; page: number; frame: number; bits: number }
    | { op: 'invlpg'; page: number }
    | { op: 'flush' }
    | { op: 'access'; page: number; offset: number; access: Access; user: boolean };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('set' as const), page: fc.nat(3), frame: fc.nat(3), bits: fc.nat(0xff) }),
    fc.record({ op: fc.constant('invlpg' as const), page: fc.nat(3) }),
    fc.record({ op: fc.constant('flush' as const) }),
    fc.record({ op: fc.constant('access' as const), page: fc.nat(3), offset: fc.nat(0xfff).map((x) => x & ~7), access: fc.constantFrom(Access.Read, Access.Write, Access.Fetch), user: fc.boolean() }),
  );

  /** A leaf for `frame` with the low flag bits of `bits` (present always; RISC-V W-without-R avoided). */
  function leafBits(g: Geometry, frame: number, bits: number): number {
    if (g.rules === 'riscv') {
      const v = bits & 0x1e;
      return ((frame >>> 12) << 10) | 1 | (v & 4 && !(v & 2) ? v | 2 : v) | (bits & 0xc0);
    }
    return frame | 1 | (bits & 0x66);
  }

  for (const name of ['x86-32', 'sv32', 'four-level'] as const) {
    it(`${name}: every access is in the allowed set`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), fc.boolean(), fc.record({ wp: fc.boolean(), nxe: fc.boolean(), sum: fc.boolean() }), fc.constantFrom(0, 1, 2, 8), (ops, invalidateEachEdit, sw, entries) => {
          const g = GEOMETRIES[name];
          const mem = memory(8 * MiB);
          const alloc = bumpAllocator(0x200000);
          const root = alloc();
          PAGES.forEach((va, i) => map(g, mem, root, va, FRAMES[i], 0x1000, { write: true, user: true }, alloc));
          const leafAt = PAGES.map((va) => walk(g, mem, root, va).steps.at(-1)!.entryAddress);
          const pager = createPager(mem, { geometry: g, tlb: { entries, ways: Math.min(2, Math.max(entries, 1)) } });
          pager.setRoot(root);
          pager.setSwitches(sw);
          let history: MemoryImage[][] = PAGES.map(() => [mem.image()]);
          for (const o of ops) {
            if (o.op === 'set') {
              mem.write32(leafAt[o.page], leafBits(g, FRAMES[o.frame], o.bits));
              const now = mem.image();
              history = history.map((h) => [...h, now]);
              if (invalidateEachEdit) {
                pager.invalidate(PAGES[o.page]);
                history[o.page] = [now];
              }
            } else if (o.op === 'invlpg') {
              pager.invalidate(PAGES[o.page] + 0x80);
              history[o.page] = [mem.image()];
            } else if (o.op === 'flush') {
              pager.flush();
              history = PAGES.map(() => [mem.image()]);
            } else {
              const va = PAGES[o.page] + o.offset;
              const pa = pager.translate(va, o.access, o.user);
              const used: Outcome = pa >= 0 ? { ok: true, pa } : { ok: false, kind: pager.fault.kind as 'page', depth: pager.fault.depth };
              const images = invalidateEachEdit ? history[o.page].slice(-1) : history[o.page];
              const set = allowedTranslations(g, images, root, va, o.access, o.user, sw);
              if (!isAllowed(used, set)) throw new Error(`access ${JSON.stringify(o)} used ${JSON.stringify(used)}, allowed ${JSON.stringify(set)}`);
            }
          }
        }),
        { numRuns: 400 },
      );
    });
  }
});
