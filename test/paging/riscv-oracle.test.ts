// Independent RISC-V oracle (privileged spec, "Virtual Address Translation Process", restated
// for Sv32 over raw numbers; it calls no production permission code) checked exhaustively
// against the walker (side-effect free) and the paging unit (error code, A/D). The lab reports
// the reserved encodings (W without R; A, D or U in a pointer) as 'reserved' and a forbidding
// leaf as 'protection' where RISC-V raises one page fault; a PPN past memory is 'reserved'.

import { describe, expect, it } from 'vitest';
import { GEOMETRIES, walk, type AccessKind } from '../../src/paging/index.js';
import { PhysicalMemory } from '../../src/mmu/memory.js';
import { createPager } from '../../src/mmu/paging-unit.js';
import { agree, combos, MiB } from './helpers.js';

const V = 1, R = 2, W = 4, X = 8, U = 16, A = 64, D = 128;
const READ = 0, WRITE = 1, FETCH = 2;

type Expected = { ok: true; pa: number; leaf: number } | { ok: false; kind: string; depth: number };

interface Case {
  root: number;
  leaf: number;
  va: number;
  access: AccessKind;
  user: boolean;
  sum: boolean;
}

/** Steps 1-6 and 8 of the algorithm for Sv32 (i = 1 at the root, 0 at the second level). */
function oracle(c: Case): Expected {
  const ptes = [c.root, c.leaf];
  for (let i = 1, d = 0; i >= 0; i--, d++) {
    const pte = ptes[d] >>> 0;
    // step 3: invalid, or a reserved encoding (W without R), or reserved bits set: in a
    // non-leaf PTE (R = X = 0) D, A and U are reserved for future standard use
    if (!(pte & V)) return { ok: false, kind: 'page', depth: d };
    if (!(pte & R) && pte & W) return { ok: false, kind: 'reserved', depth: d };
    const nonLeaf = !(pte & R) && !(pte & X);
    if (nonLeaf && pte & (D | A | U)) return { ok: false, kind: 'reserved', depth: d };
    // step 4: a pointer to the next level, or a page fault when there is none
    if (nonLeaf) {
      if (i === 0) return { ok: false, kind: 'page', depth: d };
      continue;
    }
    // step 5: the leaf's R/W/X/U against the mode, SUM (MXR = 0)
    if (c.user && !(pte & U)) return { ok: false, kind: 'protection', depth: d };
    if (!c.user && pte & U && (c.access === FETCH || !c.sum)) return { ok: false, kind: 'protection', depth: d };
    const need = c.access === READ ? R : c.access === WRITE ? W : X;
    if (!(pte & need)) return { ok: false, kind: 'protection', depth: d };
    // step 6: a misaligned superpage
    const ppn = pte >>> 10;
    if (i === 1 && (ppn & 0x3ff) !== 0) return { ok: false, kind: 'page', depth: d };
    // step 8
    const pa = i === 1 ? (ppn >>> 10) * 4 * MiB + (c.va & 0x3fffff) : ppn * 4096 + (c.va & 0xfff);
    return { ok: true, pa, leaf: d };
  }
  throw new Error('oracle: no leaf');
}

/**
 * Step 7 with hardware A/D updating: A (and D on a store) in the leaf PTE only; pointers are
 * never written. A faulting access writes nothing.
 */
function ptesAfter(c: Case, e: Expected): number[] {
  const before = [c.root >>> 0, c.leaf >>> 0];
  if (!e.ok) return before;
  return before.map((pte, d) => (d === e.leaf ? (pte | A | (c.access === WRITE ? D : 0)) >>> 0 : pte));
}

/**
 * The lab's error code for an Sv32 fault. RISC-V has no error code: it raises an instruction,
 * load or store page fault, which the lab's code says as I/D (fetch), W (store) or neither
 * (load); it adds P (the PTE was valid: a protection or reserved fault), RSVD and U (user mode).
 */
function errorCode(c: Case, kind: string): number {
  const present = kind === 'protection' || kind === 'reserved';
  return (present ? 1 : 0) | (c.access === WRITE ? 2 : 0) | (c.user ? 4 : 0) | (kind === 'reserved' ? 8 : 0) | (c.access === FETCH ? 16 : 0);
}

const ROOT = 0x1000;
const VA = 0x00801234; // VPN[1] = 2, VPN[0] = 1
const ROOT_PTE = ROOT + 2 * 4;
const LEAF_TABLE = 0x00400000; // PPN 0x400: PPN[0] = 0, so a root leaf is an aligned megapage
const LEAF_PTE = LEAF_TABLE + 1 * 4;
const FRAME_PPN = 0x00c05;

const mem = new PhysicalMemory(64 * MiB);
/** No TLB: every translate walks, with A/D updates. */
const pager = createPager(mem, { geometry: GEOMETRIES['sv32'], tlb: { entries: 0, ways: 1 } });

function ptes(): number[] {
  return [mem.read32(ROOT_PTE) >>> 0, mem.read32(LEAF_PTE) >>> 0];
}

/**
 * Writes the two PTEs; walks side-effect free (outcome, nothing written), then translates
 * through the paging unit (outcome with its error code, then the A/D bits left).
 */
function check(c: Case): void {
  mem.write32(ROOT_PTE, c.root | 0);
  mem.write32(LEAF_PTE, c.leaf | 0);
  const label = () => JSON.stringify({ ...c, root: c.root.toString(16), leaf: c.leaf.toString(16) });
  const want = oracle(c);
  const switches = { wp: false, nxe: false, sum: c.sum };
  const r = walk(GEOMETRIES['sv32'], mem, ROOT, c.va, { access: c.access, user: c.user, switches, trace: false });
  const got: Expected = r.ok ? { ok: true, pa: r.pa, leaf: r.leafDepth } : { ok: false, kind: r.fault.kind, depth: r.fault.depth };
  agree(label, got, want);
  agree(label, ptes(), [c.root >>> 0, c.leaf >>> 0]);
  if (pager.switches.sum !== c.sum) pager.setSwitches(switches);
  pager.setRoot(ROOT);
  const pa = pager.translate(c.va, c.access, c.user);
  const unit = pa >= 0 ? { pa } : { kind: pager.fault.kind, depth: pager.fault.depth, error: pager.fault.error };
  agree(label, unit, want.ok ? { pa: want.pa } : { kind: want.kind, depth: want.depth, error: errorCode(c, want.kind) });
  agree(label, ptes(), ptesAfter(c, want));
}

const ACCESSES: AccessKind[] = [READ, WRITE, FETCH];

describe('RISC-V oracle: sv32, exhaustive', () => {
  it('V/R/W/X/U/A/D at both levels x SUM x user x access (error codes and A/D outcomes included)', () => {
    let cases = 0;
    for (const root of combos([V, R, W, X, U, A, D]))
      for (const leaf of combos([V, R, W, X, U, A, D]))
        for (const sum of [false, true])
          for (const user of [false, true])
            for (const access of ACCESSES) {
              check({ root: (0x400 << 10) | root, leaf: (FRAME_PPN << 10) | leaf, va: VA, access, user, sum });
              cases++;
            }
    expect(cases).toBe(196608);
  });

  it('misaligned megapages: every low PPN bit x R/X/U x access', () => {
    for (let bit = 10; bit < 20; bit++)
      for (const perms of combos([R, X, U]))
        for (const access of ACCESSES)
          for (const user of [false, true]) check({ root: (0x400 << 10) | (1 << bit) | V | perms, leaf: 0, va: VA, access, user, sum: true });
  });
});

describe('RISC-V: A and D live in the leaf only', () => {
  const pointer = (0x400 << 10) | V;
  const leaf = (FRAME_PPN << 10) | V | R | W | X;

  it('a successful walk leaves the pointer untouched (setting A there would make it reserved)', () => {
    for (const access of ACCESSES) {
      check({ root: pointer, leaf, va: VA, access, user: false, sum: false });
      expect(ptes()[0]).toBe(pointer);
      check({ root: ptes()[0], leaf: ptes()[1], va: VA, access, user: false, sum: false });
    }
  });

  it('A, D or U in a pointer is a reserved fault at its depth, whatever the access', () => {
    for (const bit of [A, D, U])
      for (const access of ACCESSES) {
        check({ root: pointer | bit, leaf, va: VA, access, user: false, sum: false });
        expect(pager.fault).toMatchObject({ kind: 'reserved', depth: 0 });
      }
  });

  it('A and D already set in the leaf: nothing is written, the access still succeeds', () => {
    for (const access of ACCESSES) check({ root: pointer, leaf: leaf | A | D, va: VA, access, user: false, sum: false });
  });

  it('a fetch fault says fetch (the instruction page fault), a load none, a store W', () => {
    for (const access of ACCESSES) {
      check({ root: pointer, leaf: (FRAME_PPN << 10) | V, va: VA, access, user: true, sum: false });
      expect(pager.fault.error).toBe([0, 2, 16][access] | 4);
    }
  });
});
