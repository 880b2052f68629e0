// Independent x86 oracle (Intel SDM vol. 3 §4.3 and §4.5 restated over raw numbers; it calls
// no production permission code) checked against the walker for x86-32 and four-level:
// exhaustively over the relevant bits, then by fast-check sampling. A/D outcomes included.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GEOMETRIES, walk, type AccessKind } from '../../src/paging/index.js';
import { PhysicalMemory } from '../../src/mmu/memory.js';
import { combos, MiB } from './helpers.js';

const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80;
const READ = 0, WRITE = 1, FETCH = 2;

interface Entry {
  lo: number;
  hi: number;
}
interface Case {
  format: 'x86-32' | 'four-level';
  /** the entries on the walk's path, root first */
  path: Entry[];
  va: number;
  access: AccessKind;
  user: boolean;
  wp: boolean;
  nxe: boolean;
}
type Expected = { ok: true; pa: number; leaf: number } | { ok: false; kind: string; depth: number };

/** Large-page size in bits at `depth`, or 0 where PS does not make a large page. */
function largeBits(format: Case['format'], depth: number): number {
  if (format === 'x86-32') return depth === 0 ? 22 : 0;
  return depth === 1 ? 22 : depth === 2 ? 17 : 0;
}

function oracle(c: Case): Expected {
  const four = c.format === 'four-level';
  let user = true, write = true, nx = false;
  for (let d = 0; d < c.path.length; d++) {
    const { lo, hi } = c.path[d];
    if ((lo & P) === 0) return { ok: false, kind: 'page', depth: d };
    if (four && (hi & 0x000fffff) !== 0) return { ok: false, kind: 'reserved', depth: d };
    if (four && hi >>> 31 && !c.nxe) return { ok: false, kind: 'reserved', depth: d };
    const last = d === c.path.length - 1;
    let pageBits = 12;
    if (!last && lo & PS) {
      pageBits = largeBits(c.format, d);
      if (pageBits === 0) return { ok: false, kind: 'reserved', depth: d };
      const frameLowBits = ((1 << pageBits) - 1) & ~0x1fff; // bits 13..pageBits-1; bit 12 is PAT
      if (lo & frameLowBits) return { ok: false, kind: 'reserved', depth: d };
    }
    user &&= (lo & US) !== 0;
    write &&= (lo & RW) !== 0;
    nx ||= four && hi >>> 31 === 1;
    if (!last && pageBits === 12) continue;
    if (c.user && !user) return { ok: false, kind: 'protection', depth: d };
    if (c.access === WRITE && !write && (c.user || c.wp)) return { ok: false, kind: 'protection', depth: d };
    if (c.access === FETCH && c.nxe && nx) return { ok: false, kind: 'protection', depth: d };
    const frame = (lo & ~((1 << pageBits) - 1) & ~0xfff) >>> 0;
    return { ok: true, pa: frame + (c.va & ((1 << pageBits) - 1)), leaf: d };
  }
  throw new Error('oracle: no leaf');
}

/** The path entries after the access: A on every level up to the leaf, D on the leaf on writes. */
function expectedAfter(c: Case, e: Expected): Entry[] {
  if (!e.ok) return c.path;
  return c.path.map((x, d) => {
    if (d > e.leaf) return x;
    const bits = A | (d === e.leaf && c.access === WRITE ? D : 0);
    return { lo: (x.lo | bits) >>> 0, hi: x.hi };
  });
}

// Fixed tables: every table and the data frame on a 4 MiB boundary, so large pages are aligned.
const LAYOUT = {
  'x86-32': { root: 0x1000, va: 0x00401234, tables: [0x00400000], frame: 0x00801000, addrs: [0x1004, 0x00400004] },
  'four-level': {
    root: 0x1000,
    va: ((2 << 27) | (3 << 22) | (4 << 17) | (5 << 12) | 0x678) >>> 0,
    tables: [0x00400000, 0x00800000, 0x00c00000],
    frame: 0x01000000,
    addrs: [0x1000 + 2 * 8, 0x00400000 + 3 * 8, 0x00800000 + 4 * 8, 0x00c00000 + 5 * 8],
  },
} as const;

const mem = new PhysicalMemory(64 * MiB);

function readPath(c: Case): Entry[] {
  const L = LAYOUT[c.format];
  const wide = c.format === 'four-level';
  return L.addrs.map((a) => ({ lo: mem.read32(a) >>> 0, hi: wide ? mem.read32(a + 4) >>> 0 : 0 }));
}

/** Writes the case's path, walks with A/D updates, and compares with the oracle. */
function check(c: Case): void {
  const L = LAYOUT[c.format];
  c.path.forEach((e, d) => {
    mem.write32(L.addrs[d], e.lo | 0);
    if (c.format === 'four-level') mem.write32(L.addrs[d] + 4, e.hi | 0);
  });
  const g = GEOMETRIES[c.format];
  const r = walk(g, mem, L.root, c.va, { access: c.access, user: c.user, switches: { wp: c.wp, nxe: c.nxe, sum: false }, updateAD: true, trace: false });
  const want = oracle(c);
  const got: Expected = r.ok ? { ok: true, pa: r.pa, leaf: r.leafDepth } : { ok: false, kind: r.fault.kind, depth: r.fault.depth };
  const label = JSON.stringify({ ...c, path: c.path.map((e) => [e.lo.toString(16), e.hi.toString(16)]) });
  expect(got, label).toEqual(want);
  expect(readPath(c), label).toEqual(expectedAfter(c, want));
}

/** Entry at `depth` pointing at the next table (or the data frame), with `bits`. */
function entry(format: Case['format'], depth: number, bits: number, hi = 0): Entry {
  const L = LAYOUT[format];
  const next = depth < L.tables.length ? L.tables[depth] : L.frame;
  return { lo: (next | bits) >>> 0, hi: hi >>> 0 };
}

const ACCESSES: AccessKind[] = [READ, WRITE, FETCH];
const BOOLS = [false, true];

describe('x86 oracle: x86-32, exhaustive', () => {
  it('P/RW/US/PS at both levels x A/D preset x WP x user x access', () => {
    let cases = 0;
    for (const top of combos([P, RW, US, PS]))
      for (const leaf of combos([P, RW, US, PS]))
        for (const preset of [0, A | D])
          for (const wp of BOOLS)
            for (const user of BOOLS)
              for (const access of ACCESSES) {
                const path = [entry('x86-32', 0, top | preset), entry('x86-32', 1, leaf | preset)];
                check({ format: 'x86-32', path, va: LAYOUT['x86-32'].va, access, user, wp, nxe: false });
                cases++;
              }
    expect(cases).toBe(6144);
  });
});

describe('x86 oracle: four-level', () => {
  const NX = 0x80000000;
  it('every combination of P/RW/US/NX/PS at depth 1 and at the leaf x WP x NXE x user x access', () => {
    let cases = 0;
    for (const mid of combos([P, RW, US, PS, NX]))
      for (const leaf of combos([P, RW, US, PS, NX]))
        for (const wp of BOOLS)
          for (const nxe of BOOLS)
            for (const user of BOOLS)
              for (const access of ACCESSES) {
                const split = (bits: number) => [bits & ~NX, bits & NX ? NX : 0] as const;
                const path = [
                  entry('four-level', 0, P | RW | US),
                  entry('four-level', 1, ...split(mid)),
                  entry('four-level', 2, P | RW | US),
                  entry('four-level', 3, ...split(leaf)),
                ];
                check({ format: 'four-level', path, va: LAYOUT['four-level'].va, access, user, wp, nxe });
                cases++;
              }
    expect(cases).toBe(24576);
  });

  it('sampled: random low bits, frame-alignment bits and high words at every level', () => {
    const hiWord = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(0, NX) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffffffff }) },
      { weight: 1, arbitrary: fc.constantFrom(1, 1 << 19, 1 << 30) },
    );
    const level = fc.record({
      flags: fc.integer({ min: 0, max: 0xfff }),
      misalign: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x3ff }).map((x) => x << 12) }),
      hi: hiWord,
    });
    fc.assert(
      fc.property(fc.array(level, { minLength: 4, maxLength: 4 }), fc.constantFrom<AccessKind>(READ, WRITE, FETCH), fc.boolean(), fc.boolean(), fc.boolean(), (levels, access, user, wp, nxe) => {
        const path = levels.map((l, d) => {
          const e = entry('four-level', d, l.flags | P, l.hi);
          return l.flags & PS ? { lo: (e.lo | l.misalign) >>> 0, hi: e.hi } : e;
        });
        check({ format: 'four-level', path, va: LAYOUT['four-level'].va, access, user, wp, nxe });
      }),
      { numRuns: 3000 },
    );
  });
});
