import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createPager, type PagingUnit } from '../../src/mmu/paging-unit.js';
import { Access, ERR_FETCH, ERR_PRESENT, ERR_RESERVED, ERR_TABLE, ERR_USER, ERR_WRITE } from '../../src/mmu/fault.js';
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

// Nested paging: the paging unit with stage 2 — a real gPA -> hPA table in host memory.
describe('PagingUnit with stage 2', () => {
  const GUEST_BASE = 0x800000; // guest-physical 0 lives here
  const GUEST_SIZE = 0x400000;
  const HOST_ROOT = 0x400000;
  const TABLE_GPA = 0x101000; // the guest's page table page (x86-32 `setup` layout, in gPA)

  /** x86-32 guest tables (VA -> gPA 0x5000, user-writable) in guest memory, an x86-32 host map of it. */
  function nestedSetup(tlb = { entries: 16, ways: 4 }, host: Geometry = x86) {
    const mem = memory(32 * MiB);
    const hostAlloc = bumpAllocator(HOST_ROOT + 0x1000);
    map(host, mem, HOST_ROOT, 0, GUEST_BASE, GUEST_SIZE, { write: true, user: true }, hostAlloc);
    const guest = mem.window(GUEST_BASE, GUEST_SIZE);
    const alloc = bumpAllocator(0x100000);
    const root = alloc();
    map(x86, guest, root, VA, 0x5000, 0x2000, { write: true, user: true }, alloc);
    const pager = createPager(mem, { geometry: x86, tlb, stage2: { geometry: host, root: HOST_ROOT, guestSize: GUEST_SIZE } });
    pager.setRoot(root);
    /** Changes the host mapping of guest page `gpa` (4 KiB host pages) to `hpa` with x86 flags `flags`. */
    const remap = (gpa: number, hpa: number, flags: number) => {
      const leaf = walk(host, mem, HOST_ROOT, gpa).steps.at(-1)!;
      mem.write32(leaf.hostAddress, (hpa | flags) | 0);
    };
    return { mem, pager, root, remap };
  }

  it('translates gVA -> hPA through both stages and caches the result (8 references for 2 x 2 levels)', () => {
    const { pager } = nestedSetup();
    expect(pager.translate(VA + 0x10, Access.Read, true)).toBe(GUEST_BASE + 0x5010);
    expect(pager.counters()).toMatchObject({ walks: 1, lastWalkRefs: 8 });
    expect(pager.translate(VA + 0x20, Access.Write, true)).toBe(GUEST_BASE + 0x5020);
    expect(pager.tlbEntries()).toMatchObject([{ vpn: VA >>> 12, frame: GUEST_BASE + 0x5000, pageBits: 12 }]);
    expect(pager.stage2Root).toBe(HOST_ROOT);
  });

  it('guest A/D land in the guest tables (at their host addresses), host A/D in the host table', () => {
    const { mem, pager } = nestedSetup();
    pager.translate(VA, Access.Write, true);
    expect(mem.read32(GUEST_BASE + PTE) & 0x60).toBe(0x60);
    const hostLeaf = (gpa: number) => mem.read32(walk(x86, mem, HOST_ROOT, gpa).steps[1].hostAddress) & 0x60;
    expect(hostLeaf(0x5000)).toBe(0x60); // the data page: accessed and written
    expect(hostLeaf(TABLE_GPA)).toBe(0x60); // the guest's page table: read and its A/D written back
  });

  it('the TLB caches guest and host permissions together: a host read-only page refuses a write with a stage-2 fault', () => {
    const { pager, remap } = nestedSetup();
    remap(0x5000, GUEST_BASE + 0x5000, 0x65); // present, user, A, D; not writable
    expect(pager.translate(VA, Access.Read, true)).toBe(GUEST_BASE + 0x5000);
    expect(outcome(pager, VA, Access.Write, true)).toEqual({ kind: 'stage2', error: ERR_PRESENT | ERR_WRITE | ERR_USER, depth: 2, va: VA });
    expect(pager.fault).toMatchObject({ gpa: 0x5000, stage2: { kind: 'protection', depth: 1 } });
    expect(pager.counters()).toMatchObject({ refreshes: 1 });
  });

  it('a stage-2 fault on a guest table says so (T), keeps its guest-physical address, and is not a guest page fault', () => {
    const { pager, remap } = nestedSetup();
    remap(TABLE_GPA, 0, 0); // the guest's page table page unmapped in stage 2
    expect(outcome(pager, VA, Access.Read, false)).toEqual({ kind: 'stage2', error: ERR_TABLE, depth: 1, va: VA });
    expect(pager.fault).toMatchObject({ gpa: TABLE_GPA + ((VA >>> 12) & 0x3ff) * 4, stage2: { kind: 'page', depth: 1 } });
    expect(outcome(pager, VA + 0x4000, Access.Read, false)).toMatchObject({ kind: 'stage2' });
  });

  it('a guest fault stays a guest fault: not present in the guest tables is a page fault with the guest depth', () => {
    const { pager } = nestedSetup();
    expect(outcome(pager, VA + 0x400000, Access.Read, true)).toEqual({ kind: 'page', error: ERR_USER, depth: 0, va: VA + 0x400000 });
  });

  it('setStage2Root switches the host table and flushes the TLB', () => {
    const { mem, pager } = nestedSetup();
    expect(pager.translate(VA, Access.Read, true)).toBe(GUEST_BASE + 0x5000);
    const other = 0x600000;
    map(x86, mem, other, 0, 0x1000000, GUEST_SIZE, { write: true, user: true }, bumpAllocator(other + 0x1000));
    for (let a = 0x100000; a < 0x102000; a += 4) mem.write32(0x1000000 + a, mem.read32(GUEST_BASE + a)); // the guest's two table pages
    pager.setStage2Root(other);
    expect(pager.tlbEntries()).toEqual([]);
    expect(pager.translate(VA, Access.Read, true)).toBe(0x1000000 + 0x5000);
    expect(() => setup().pager.setStage2Root(0)).toThrow(/no stage 2/);
  });

  it('inspect2D shows both stages side-effect free: the stage-2 walk under each guest step, then the final one', () => {
    const { mem, pager } = nestedSetup();
    const before = mem.hash();
    const w = pager.inspect2D(VA + 0x34, Access.Write, true);
    expect(mem.hash()).toBe(before);
    expect(w.guest.ok && w.guest.pa).toBe(GUEST_BASE + 0x5034);
    expect(w.guest.steps.map((s) => [s.entryAddress, s.hostAddress])).toEqual([
      [0x100000 + (VA >>> 22) * 4, GUEST_BASE + 0x100000 + (VA >>> 22) * 4],
      [PTE, GUEST_BASE + PTE],
    ]);
    expect(w.tables.map((t) => t.ok && t.pa)).toEqual(w.guest.steps.map((s) => s.hostAddress));
    expect(w.tables.every((t) => t.steps.length === 2)).toBe(true);
    expect(w.final?.ok && w.final.pa).toBe(GUEST_BASE + 0x5034);
    expect(w.refs).toEqual({ guest: 2, host: 6, total: 8 });
    expect(pager.inspect(VA + 0x34, Access.Read, true)).toMatchObject({ ok: true, pa: GUEST_BASE + 0x5034, stage1Pa: 0x5034, refs: 8 });
  });

  it('a guest over a host of another geometry: four-level tables over a two-level host map', () => {
    const four = GEOMETRIES['four-level'];
    const mem = memory(32 * MiB);
    map(x86, mem, HOST_ROOT, 0, GUEST_BASE, GUEST_SIZE, { write: true, user: true }, bumpAllocator(HOST_ROOT + 0x1000));
    const alloc = bumpAllocator(0x100000);
    const root = alloc();
    map(four, mem.window(GUEST_BASE, GUEST_SIZE), root, VA, 0x5000, 0x1000, { write: true, user: true }, alloc);
    const pager = createPager(mem, { geometry: four, tlb: { entries: 0, ways: 1 }, stage2: { geometry: x86, root: HOST_ROOT } });
    pager.setRoot(root);
    expect(pager.translate(VA + 8, Access.Fetch, true)).toBe(GUEST_BASE + 0x5008);
    expect(pager.counters().lastWalkRefs).toBe(14);
  });

  it('a guest of smaller pages over a host of larger ones: tiny over x86-32', () => {
    const tiny = GEOMETRIES['tiny'];
    const mem = memory(32 * MiB);
    map(x86, mem, HOST_ROOT, 0, GUEST_BASE, 0x8000, { write: true, user: true }, bumpAllocator(HOST_ROOT + 0x1000));
    const guest = mem.window(GUEST_BASE, 0x1000);
    guest.write8(0x60 + 18, 0x80 | 0x21);
    guest.write8(0x21 * 32 + 6, 0x80 | 0x5a);
    const pager = createPager(mem, { geometry: tiny, tlb: { entries: 4, ways: 2 }, stage2: { geometry: x86, root: HOST_ROOT, guestSize: 0xc00 } });
    pager.setRoot(0x60);
    const va = (18 << 10) | (6 << 5) | 26;
    expect(pager.translate(va, Access.Read, false)).toBe(GUEST_BASE + 0x5a * 32 + 26);
    expect(pager.pageBytes).toBe(32);
    expect(pager.counters().lastWalkRefs).toBe(8);
    guest.write8(0x21 * 32 + 6, 0x80 | 0x7f); // a guest frame past guest memory: the guest's own reserved fault
    pager.flush();
    expect(outcome(pager, va, Access.Read, false)).toMatchObject({ kind: 'reserved', depth: 1 });
  });
});

describe('a machine with stage 2', () => {
  it('delivers a stage-2 fault with its own cause (stage2-fault, a memory cause); the guest-physical address stays on the fault', async () => {
    const { Machine } = await import('../../src/isa/machine.js');
    const { classic } = await import('../../src/isa/profiles/classic.js');
    const { assemble } = await import('../../src/asm/index.js');
    const { Cause, CORE_CAUSES, TRAP_CAUSE, TRAP_ERROR } = await import('../../src/isa/arch.js');
    expect(CORE_CAUSES.find((c) => c.code === Cause.Stage2)).toEqual({ code: 8, name: 'stage2-fault', memory: true });
    const GUEST_BASE = 0x800000;
    const m = new Machine({
      profile: classic,
      memorySize: 16 * MiB,
      translation: 'paging',
      pager: (mem) => createPager(mem, { geometry: x86, tlb: { entries: 16, ways: 4 }, stage2: { geometry: x86, root: 0x400000 } }),
    });
    map(x86, m.mem, 0x400000, 0, GUEST_BASE, 0x200000, { write: true, user: true }, bumpAllocator(0x401000));
    const guest = m.mem.window(GUEST_BASE, 0x400000);
    const load = (text: string, at: number, into: PhysicalMemory) => assemble(text, { profile: classic }).chunks.forEach((c) => into.writeBytes(at + c.address, c.bytes));
    load('.org 0\n.psw pc=stop, mode=s\n.org 0x80\nstop: halt\n', 0, m.mem);
    load('.org 0\nld r1, (r2)\nhalt\n', 0x10000, guest);
    const alloc = bumpAllocator(0x100000);
    const root = alloc();
    map(x86, guest, root, 0, 0x10000, 0x1000, { user: true }, alloc);
    map(x86, guest, root, 0x1000, 0x300000, 0x1000, { user: true }, alloc); // gPA 0x300000: not mapped by stage 2
    m.regs[2] = 0x1008;
    m.loadPsw({ pc: 0, status: 1 | 0x200, base: 0, limit: 0, ptbr: root, extra: 0 });
    m.run(10);
    expect(m.lastTrap).toMatchObject({ cause: Cause.Stage2, vaddr: 0x1008 });
    expect([m.mem.read32(TRAP_CAUSE), m.mem.read32(TRAP_ERROR)]).toEqual([Cause.Stage2, ERR_USER]);
    expect(m.fault).toMatchObject({ kind: 'stage2', gpa: 0x300008, depth: 2, stage2: { kind: 'page', depth: 1 } });
  });
});
