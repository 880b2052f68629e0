import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { entryBits, GEOMETRIES, levelColumns, PERM_DIRTY, PERM_EXEC, PERM_READ, PERM_USER, PERM_WRITE, READ, roleOf, RULES, WRITE, FETCH, walk, type LevelKind, type WalkResult } from '../../src/paging/index.js';
import { PhysicalMemory } from '../../src/mmu/memory.js';
import { get64, memory, MiB, put32, put64 } from './helpers.js';

const tiny = GEOMETRIES['tiny'];
const x86 = GEOMETRIES['x86-32'];
const sv32 = GEOMETRIES['sv32'];
const four = GEOMETRIES['four-level'];

function ok(r: WalkResult): Extract<WalkResult, { ok: true }> {
  if (!r.ok) throw new Error(`expected a translation, got ${JSON.stringify(r.fault)}`);
  return r;
}

function fault(r: WalkResult) {
  if (r.ok) throw new Error(`expected a fault, got pa 0x${r.pa.toString(16)}`);
  return r.fault;
}

describe('tiny: the textbook two-level exercise', () => {
  // va 0x48DA = index 18 | index 6 | offset 26; root at 0x060, table at PFN 0x21, frame PFN 0x5A
  const va = (18 << 10) | (6 << 5) | 26;
  function setup(): PhysicalMemory {
    const mem = new PhysicalMemory(4096);
    mem.write8(0x060 + 18, 0x80 | 0x21);
    mem.write8(0x21 * 32 + 6, 0x80 | 0x5a);
    return mem;
  }

  it('translates through two one-byte entries', () => {
    const r = ok(walk(tiny, setup(), 0x060, va));
    expect(r.pa).toBe(0x5a * 32 + 26);
    expect(r.refs).toBe(2);
    expect(r.pageBits).toBe(5);
    expect(r.steps.map((s) => [s.depth, s.index, s.entryAddress, s.hex, s.role, s.next])).toEqual([
      [0, 18, 0x072, '0xa1', 'table', 0x420],
      [1, 6, 0x426, '0xda', 'leaf', 0xb40],
    ]);
    expect(r.steps[1].flags).toEqual({ present: true });
  });

  it('has no permissions: user writes and fetches pass', () => {
    for (const access of [READ, WRITE, FETCH] as const) expect(ok(walk(tiny, setup(), 0x060, va, { access, user: true })).pa).toBe(0xb5a);
  });

  it('stops at the invalid entry with a page fault at its depth', () => {
    const mem = setup();
    mem.write8(0x426, 0x5a);
    expect(fault(walk(tiny, mem, 0x060, va))).toEqual({ kind: 'page', depth: 1, stage: 1 });
    mem.write8(0x072, 0x21);
    const r = walk(tiny, mem, 0x060, va);
    expect(fault(r)).toEqual({ kind: 'page', depth: 0, stage: 1 });
    expect(r.refs).toBe(1);
  });

  it('refuses a va outside the 15-bit space and a root outside memory as bounds', () => {
    expect(fault(walk(tiny, setup(), 0x060, 0x8000))).toMatchObject({ kind: 'bounds', depth: -1 });
    expect(fault(walk(tiny, setup(), 4096 - 16, 0))).toMatchObject({ kind: 'bounds', depth: 0 });
  });
});

describe('x86-32', () => {
  function setup(pde = 0x2000 | 7, pte = 0x5000 | 7): PhysicalMemory {
    const mem = memory();
    put32(mem, 0x1000 + 4, pde);
    put32(mem, 0x2000 + 4, pte);
    return mem;
  }
  const va = 0x00401234;

  it('translates 10/10/12 with two entry reads', () => {
    const r = ok(walk(x86, setup(), 0x1000, va));
    expect(r.pa).toBe(0x5234);
    expect(r.refs).toBe(2);
    expect(r.steps.map((s) => [s.entryAddress, s.hex])).toEqual([
      [0x1004, '0x00002007'],
      [0x2004, '0x00005007'],
    ]);
    expect(r.perms).toBe(PERM_READ | PERM_WRITE | PERM_EXEC | PERM_USER);
  });

  it('maps a 4 MiB page with PS at the directory, one entry read', () => {
    const mem = setup(0x00c00000 | 0x80 | 7);
    const r = ok(walk(x86, mem, 0x1000, va));
    expect(r.pa).toBe(0x00c00000 + (va & 0x3fffff));
    expect([r.pageBits, r.leafDepth, r.refs]).toEqual([22, 0, 1]);
  });

  it('ignores PAT (bit 12) in a 4 MiB entry, faults reserved on bits 21..13', () => {
    expect(ok(walk(x86, setup(0x00c00000 | 0x1000 | 0x80 | 7), 0x1000, va)).pa).toBe(0x00c01234);
    for (const bit of [13, 17, 21]) {
      expect(fault(walk(x86, setup(0x00c00000 | (1 << bit) | 0x80 | 7), 0x1000, va))).toMatchObject({ kind: 'reserved', depth: 0 });
    }
  });

  it('treats PS at the last level as PAT (ignored)', () => {
    expect(ok(walk(x86, setup(undefined, 0x5000 | 0x80 | 7), 0x1000, va)).pa).toBe(0x5234);
  });

  it('faults reserved when a frame or table lies past physical memory', () => {
    const small = new PhysicalMemory(0x10000);
    put32(small, 0x1004, 0x2007);
    put32(small, 0x2004, 0x00fff007);
    expect(fault(walk(x86, small, 0x1000, va))).toMatchObject({ kind: 'reserved', depth: 1 });
    put32(small, 0x1004, 0x00fff007);
    expect(fault(walk(x86, small, 0x1000, va))).toMatchObject({ kind: 'reserved', depth: 0 });
  });

  it('a recursive self-map: the directory maps itself as a page table', () => {
    const mem = setup();
    put32(mem, 0x1000 + 1023 * 4, 0x1000 | 3);
    // va 0xFFC00000 + 1*4096 reads the PTEs of directory slot 1 (the table at 0x2000)
    const r = ok(walk(x86, mem, 0x1000, 0xffc00000 + 0x1000 + 4));
    expect(r.pa).toBe(0x2004);
    expect(r.refs).toBe(2);
    // va 0xFFFFF000 + 4*1 reads the directory itself
    expect(ok(walk(x86, mem, 0x1000, 0xfffff004)).pa).toBe(0x1004);
  });
});

describe('sv32', () => {
  const V = 1, R = 2, W = 4, X = 8, U = 16, A = 64, D = 128;
  const va = 0x00401234;
  function setup(root = (0x2 << 10) | V, leaf = (0x5 << 10) | V | R | W | U): PhysicalMemory {
    const mem = memory();
    put32(mem, 0x1000 + 4, root);
    put32(mem, 0x2000 + 4, leaf);
    return mem;
  }

  it('translates through a pointer and a leaf', () => {
    const r = ok(walk(sv32, setup(), 0x1000, va, { user: true }));
    expect([r.pa, r.refs]).toEqual([0x5234, 2]);
    expect(r.steps[1].flags).toMatchObject({ present: true, readable: true, writable: true, executable: false, user: true });
  });

  it('maps a 4 MiB megapage from a leaf at the root; a misaligned one is a page fault', () => {
    expect(ok(walk(sv32, setup((0x400 << 10) | V | R | X), 0x1000, va)).pa).toBe(0x00401234);
    expect(fault(walk(sv32, setup((0x401 << 10) | V | R | X), 0x1000, va))).toMatchObject({ kind: 'page', depth: 0 });
  });

  it('faults reserved on W without R, and page on a pointer at the last level', () => {
    expect(fault(walk(sv32, setup(undefined, (5 << 10) | V | W), 0x1000, va))).toMatchObject({ kind: 'reserved', depth: 1 });
    expect(fault(walk(sv32, setup(undefined, (5 << 10) | V), 0x1000, va))).toMatchObject({ kind: 'page', depth: 1 });
  });

  it('faults reserved on a PPN past 32-bit physical memory', () => {
    expect(fault(walk(sv32, setup(undefined, (0x100005 << 10) | V | R), 0x1000, va))).toMatchObject({ kind: 'reserved', depth: 1 });
  });

  it('faults reserved on a pointer to a table past 32-bit physical memory, its step showing the exact address', () => {
    const r = walk(sv32, setup((0x100002 << 10) | V), 0x1000, va);
    expect(fault(r)).toMatchObject({ kind: 'reserved', depth: 0 });
    expect(r.steps.map((st) => [st.role, st.next])).toEqual([['table', 0x100002 * 4096]]);
    const leaf = walk(sv32, setup(undefined, (0x100005 << 10) | V | R), 0x1000, va);
    expect(leaf.steps.map((st) => [st.role, st.next])).toEqual([['table', 0x2000], ['leaf', 0x100005 * 4096]]);
  });

  it('sets A and D on the leaf only, never on the pointer', () => {
    const mem = setup();
    const r = ok(walk(sv32, mem, 0x1000, va, { access: WRITE, user: true, updateAD: true }));
    expect(mem.read32(0x1004) >>> 0).toBe((0x2 << 10) | V);
    expect(mem.read32(0x2004) & (A | D)).toBe(A | D);
    expect(r.adWrites).toBe(1);
    expect(r.perms & PERM_DIRTY).toBe(PERM_DIRTY);
  });

  it('faults reserved on A, D or U in a pointer (reserved in non-leaf entries)', () => {
    for (const bit of [A, D, U]) {
      expect(fault(walk(sv32, setup((0x2 << 10) | V | bit), 0x1000, va))).toMatchObject({ kind: 'reserved', depth: 0 });
      expect(fault(walk(sv32, setup(undefined, (0x5 << 10) | V | bit), 0x1000, va))).toMatchObject({ kind: 'reserved', depth: 1 });
    }
  });
});

describe('four-level', () => {
  const P = 1, RW = 2, US = 4, PS = 0x80;
  const NX = 0x80000000;
  // va = 2 | 3 | 4 | 5 | 0x678 in 5/5/5/5/12
  const va = ((2 << 27) | (3 << 22) | (4 << 17) | (5 << 12) | 0x678) >>> 0;
  function setup(): PhysicalMemory {
    const mem = memory();
    put64(mem, 0x1000 + 2 * 8, 0x00400000 | P | RW | US, 0);
    put64(mem, 0x00400000 + 3 * 8, 0x00800000 | P | RW | US, 0);
    put64(mem, 0x00800000 + 4 * 8, 0x00c00000 | P | RW | US, 0);
    put64(mem, 0x00c00000 + 5 * 8, 0x01000000 | P | RW | US, NX);
    return mem;
  }

  it('a full walk reads four entries (counted by the walk)', () => {
    const r = ok(walk(four, setup(), 0x1000, va, { switches: { wp: false, nxe: true, sum: false } }));
    expect([r.pa, r.refs, r.steps.length]).toEqual([0x01000678, 4, 4]);
    expect(r.steps[3].hex).toBe('0x8000000001000007');
    expect([r.steps[3].lo, r.steps[3].hi]).toEqual([0x01000007, 0x80000000]);
    expect(r.perms & PERM_EXEC).toBe(0);
  });

  it('NX while NXE is off is a reserved fault', () => {
    expect(fault(walk(four, setup(), 0x1000, va))).toMatchObject({ kind: 'reserved', depth: 3 });
  });

  it('bits 51..32 are reserved', () => {
    const mem = setup();
    put64(mem, 0x00800000 + 4 * 8, 0x00c00000 | P | RW | US, 1 << 19);
    expect(fault(walk(four, mem, 0x1000, va))).toMatchObject({ kind: 'reserved', depth: 2 });
  });

  it('large pages: 4 MiB at depth 1, 128 KiB at depth 2; PS at the root is reserved', () => {
    const mem = setup();
    put64(mem, 0x00400000 + 3 * 8, 0x02000000 | P | RW | PS, 0);
    let r = ok(walk(four, mem, 0x1000, va));
    expect([r.pa, r.pageBits, r.refs]).toEqual([0x02000000 + (va & 0x3fffff), 22, 2]);
    put64(mem, 0x00400000 + 3 * 8, 0x00800000 | P | RW | US, 0);
    put64(mem, 0x00800000 + 4 * 8, 0x02020000 | P | RW | PS, 0);
    r = ok(walk(four, mem, 0x1000, va));
    expect([r.pa, r.pageBits, r.refs]).toEqual([0x02020000 + (va & 0x1ffff), 17, 3]);
    put64(mem, 0x00800000 + 4 * 8, 0x02021000 | P | RW | PS, 0);
    expect(ok(walk(four, mem, 0x1000, va)).pa).toBe(0x02020000 + (va & 0x1ffff));
    put64(mem, 0x00800000 + 4 * 8, 0x02022000 | P | RW | PS, 0);
    expect(fault(walk(four, mem, 0x1000, va))).toMatchObject({ kind: 'reserved', depth: 2 });
    put64(mem, 0x1000 + 2 * 8, 0x00400000 | P | RW | US | PS, 0);
    expect(fault(walk(four, mem, 0x1000, va))).toMatchObject({ kind: 'reserved', depth: 0 });
  });

  it('A/D updates write only the low half that changed', () => {
    const mem = setup();
    const before = get64(mem, 0x00c00000 + 5 * 8);
    const r = ok(walk(four, mem, 0x1000, va, { access: WRITE, switches: { wp: false, nxe: true, sum: false }, updateAD: true }));
    expect(r.adWrites).toBe(4);
    expect(get64(mem, 0x00c00000 + 5 * 8)).toEqual({ lo: before.lo | 0x60, hi: before.hi });
    const again = ok(walk(four, mem, 0x1000, va, { access: WRITE, switches: { wp: false, nxe: true, sum: false }, updateAD: true }));
    expect(again.adWrites).toBe(0);
  });

  it('a recursive self-map works at the root', () => {
    const mem = setup();
    put64(mem, 0x1000 + 31 * 8, 0x1000 | P | RW, 0);
    // indexes 31,31,31,31 read the root itself as the data page
    const r = ok(walk(four, mem, 0x1000, 0xfffff000 + 2 * 8));
    expect([r.pa, r.refs]).toEqual([0x1010, 4]);
  });
});

describe('side effects and options', () => {
  it('the default walk writes nothing, even on a write access', () => {
    const mem = memory();
    put32(mem, 0x1004, 0x2007);
    put32(mem, 0x2004, 0x5007);
    const before = mem.hash();
    const r = ok(walk(x86, mem, 0x1000, 0x00401000, { access: WRITE }));
    expect([mem.hash(), r.adWrites, r.perms & PERM_DIRTY]).toEqual([before, 0, 0]);
  });

  it('updateAD on a read-only bus is refused as a broken invariant', () => {
    const image = memory().image();
    expect(() => walk(x86, image, 0, 0, { updateAD: true })).toThrow(/^walk: /);
  });

  it('trace: false records no steps but counts the same references', () => {
    const mem = memory();
    put32(mem, 0x1004, 0x2007);
    put32(mem, 0x2004, 0x5007);
    const r = walk(x86, mem, 0x1000, 0x00401000, { trace: false });
    expect([r.steps.length, r.refs]).toEqual([0, 2]);
  });

  it('the PTBR low bits below the entry size are ignored', () => {
    const mem = memory();
    put32(mem, 0x1004, 0x2007);
    put32(mem, 0x2004, 0x5007);
    expect(ok(walk(x86, mem, 0x1003, 0x00401000)).pa).toBe(0x5000);
  });

  it('a memory smaller than the last page refuses that page as reserved', () => {
    const mem = new PhysicalMemory(0x5800);
    put32(mem, 0x1004, 0x2007);
    put32(mem, 0x2004, 0x5007);
    expect(fault(walk(x86, mem, 0x1000, 0x00401000))).toMatchObject({ kind: 'reserved', depth: 1 });
  });

  it('works over a frozen image (MemoryImage is a ReadBus)', () => {
    const mem = memory(MiB);
    put32(mem, 0x1004, 0x2007);
    put32(mem, 0x2004, 0x5007);
    expect(ok(walk(x86, mem.image(), 0x1000, 0x00401000)).pa).toBe(0x5000);
  });
});

describe("the walker's plain-pointer fast path", () => {
  it('an entry above the last level with none of its rule set\'s pointer exceptions is a table for classify, whatever the switches', () => {
    for (const g of Object.values(GEOMETRIES)) {
      const rules = RULES[g.rules];
      const b = entryBits(g.entry);
      const [exLo, exHi] = rules.pointerExceptions(b);
      const kinds = levelColumns(g).kind;
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.boolean(), fc.nat(g.indexBits.length - 2), fc.boolean(), fc.boolean(), (rawLo, rawHi, clear, depth, nxe, wp) => {
          const lo = clear ? rawLo & ~exLo : rawLo; // half the cases made plain, so each is tried
          const hi = g.entry.bytes === 8 ? (clear ? rawHi & ~exHi : rawHi) : 0;
          const plain = ((lo & b.presentLo) | (hi & b.presentHi)) !== 0 && ((lo & exLo) | (hi & exHi)) === 0;
          if (!plain) return;
          expect(rules.classify(b, lo, hi, kinds[depth] as LevelKind, false, { wp, nxe, sum: false })).toBe('table');
          expect(roleOf(g, lo, hi, depth, { wp, nxe, sum: false })).toBe('table');
        }),
        { numRuns: 2000 },
      );
    }
  });
});
