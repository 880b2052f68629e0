// Independent RISC-V oracle (privileged spec, "Virtual Address Translation Process", restated
// for Sv32 over raw numbers; it calls no production permission code) checked exhaustively
// against the walker. The lab reports W-without-R as 'reserved' and a forbidding leaf as
// 'protection' where RISC-V raises one page fault; a PPN past memory is 'reserved'.

import { describe, expect, it } from 'vitest';
import { GEOMETRIES, walk, type AccessKind } from '../../src/paging/index.js';
import { PhysicalMemory } from '../../src/mmu/memory.js';
import { combos, MiB } from './helpers.js';

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

function oracle(c: Case): Expected {
  const ptes = [c.root, c.leaf];
  for (let i = 1, d = 0; i >= 0; i--, d++) {
    const pte = ptes[d] >>> 0;
    if (!(pte & V)) return { ok: false, kind: 'page', depth: d };
    if (!(pte & R) && pte & W) return { ok: false, kind: 'reserved', depth: d };
    if (!(pte & R) && !(pte & X)) {
      if (i === 0) return { ok: false, kind: 'page', depth: d };
      continue;
    }
    if (c.user && !(pte & U)) return { ok: false, kind: 'protection', depth: d };
    if (!c.user && pte & U && (c.access === FETCH || !c.sum)) return { ok: false, kind: 'protection', depth: d };
    const need = c.access === READ ? R : c.access === WRITE ? W : X;
    if (!(pte & need)) return { ok: false, kind: 'protection', depth: d };
    const ppn = pte >>> 10;
    if (i === 1 && (ppn & 0x3ff) !== 0) return { ok: false, kind: 'page', depth: d };
    const pa = i === 1 ? (ppn >>> 10) * 4 * MiB + (c.va & 0x3fffff) : ppn * 4096 + (c.va & 0xfff);
    return { ok: true, pa, leaf: d };
  }
  throw new Error('oracle: no leaf');
}

const ROOT = 0x1000;
const VA = 0x00801234; // VPN[1] = 2, VPN[0] = 1
const ROOT_PTE = ROOT + 2 * 4;
const LEAF_TABLE = 0x00400000; // PPN 0x400: PPN[0] = 0, so a root leaf is an aligned megapage
const LEAF_PTE = LEAF_TABLE + 1 * 4;
const FRAME_PPN = 0x00c05;

const mem = new PhysicalMemory(64 * MiB);

function check(c: Case): void {
  mem.write32(ROOT_PTE, c.root | 0);
  mem.write32(LEAF_PTE, c.leaf | 0);
  const r = walk(GEOMETRIES['sv32'], mem, ROOT, c.va, { access: c.access, user: c.user, switches: { wp: false, nxe: false, sum: c.sum }, updateAD: true, trace: false });
  const want = oracle(c);
  const got: Expected = r.ok ? { ok: true, pa: r.pa, leaf: r.leafDepth } : { ok: false, kind: r.fault.kind, depth: r.fault.depth };
  const label = JSON.stringify({ ...c, root: c.root.toString(16), leaf: c.leaf.toString(16) });
  expect(got, label).toEqual(want);
  const after = [mem.read32(ROOT_PTE) >>> 0, mem.read32(LEAF_PTE) >>> 0];
  const before = [c.root >>> 0, c.leaf >>> 0];
  const expected = want.ok ? before.map((pte, d) => (d > want.leaf ? pte : (pte | A | (d === want.leaf && c.access === WRITE ? D : 0)) >>> 0)) : before;
  expect(after, label).toEqual(expected);
}

describe('RISC-V oracle: sv32, exhaustive', () => {
  it('V/R/W/X/U at both levels x SUM x user x access (A/D outcomes included)', () => {
    let cases = 0;
    for (const root of combos([V, R, W, X, U]))
      for (const leaf of combos([V, R, W, X, U]))
        for (const sum of [false, true])
          for (const user of [false, true])
            for (const access of [READ, WRITE, FETCH] as AccessKind[]) {
              check({ root: (0x400 << 10) | root, leaf: (FRAME_PPN << 10) | leaf, va: VA, access, user, sum });
              cases++;
            }
    expect(cases).toBe(12288);
  });

  it('misaligned megapages: every low PPN bit x R/X/U x access', () => {
    for (let bit = 10; bit < 20; bit++)
      for (const perms of combos([R, X, U]))
        for (const access of [READ, WRITE, FETCH] as AccessKind[])
          for (const user of [false, true]) check({ root: (0x400 << 10) | (1 << bit) | V | perms, leaf: 0, va: VA, access, user, sum: true });
  });

  it('A and D already set: nothing changes, the access still succeeds', () => {
    for (const access of [READ, WRITE, FETCH] as AccessKind[]) {
      check({ root: (0x400 << 10) | V | A, leaf: (FRAME_PPN << 10) | V | R | W | X | A | D, va: VA, access, user: false, sum: false });
    }
  });
});
