// Independent x86 oracle (Intel SDM vol. 3 §4.3, §4.5 and §4.7 restated over raw numbers; it
// calls no production permission code) checked against the walker (side-effect free) and the
// paging unit (error code, A/D) for x86-32 and four-level: exhaustively over the relevant
// bits, then by fast-check sampling.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GEOMETRIES, walk, type AccessKind } from '../../src/paging/index.js';
import { PhysicalMemory } from '../../src/mmu/memory.js';
import { createPager, type PagingUnit } from '../../src/mmu/paging-unit.js';
import { agree, combos, MiB } from './helpers.js';

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

// Page-fault error code (SDM §4.7): P = the entry was present (a protection or reserved-bit
// fault), W/R = a write, U/S = user mode, RSVD = a reserved bit, I/D = an instruction fetch,
// but only under PAE or 4-level paging with IA32_EFER.NXE = 1 (always 0 for 32-bit paging).
const ERR_P = 1, ERR_W = 2, ERR_U = 4, ERR_RSVD = 8, ERR_ID = 16;

function errorCode(c: Case, kind: string): number {
  const present = kind === 'protection' || kind === 'reserved';
  const fetchReported = c.format === 'four-level' && c.nxe && c.access === FETCH;
  return (present ? ERR_P : 0) | (c.access === WRITE ? ERR_W : 0) | (c.user ? ERR_U : 0) | (kind === 'reserved' ? ERR_RSVD : 0) | (fetchReported ? ERR_ID : 0);
}

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

/** One paging unit without a TLB per format (every access walks, with A/D updates). */
const pagers = new Map<Case['format'], PagingUnit>();

function pagerFor(c: Case): PagingUnit {
  let p = pagers.get(c.format);
  if (!p) pagers.set(c.format, (p = createPager(mem, { geometry: GEOMETRIES[c.format], tlb: { entries: 0, ways: 1 } })));
  const sw = p.switches;
  if (sw.wp !== c.wp || sw.nxe !== c.nxe) p.setSwitches({ wp: c.wp, nxe: c.nxe, sum: false });
  p.setRoot(LAYOUT[c.format].root);
  return p;
}

/**
 * Writes the case's path; walks side-effect free (outcome, nothing written), then translates
 * through the paging unit (outcome with its error code, then the A/D bits left in the path).
 */
function check(c: Case): void {
  const L = LAYOUT[c.format];
  c.path.forEach((e, d) => {
    mem.write32(L.addrs[d], e.lo | 0);
    if (c.format === 'four-level') mem.write32(L.addrs[d] + 4, e.hi | 0);
  });
  const label = () => JSON.stringify({ ...c, path: c.path.map((e) => [e.lo.toString(16), e.hi.toString(16)]) });
  const want = oracle(c);
  const r = walk(GEOMETRIES[c.format], mem, L.root, c.va, { access: c.access, user: c.user, switches: { wp: c.wp, nxe: c.nxe, sum: false }, trace: false });
  const got: Expected = r.ok ? { ok: true, pa: r.pa, leaf: r.leafDepth } : { ok: false, kind: r.fault.kind, depth: r.fault.depth };
  agree(label, got, want);
  agree(label, readPath(c), c.path);
  const pager = pagerFor(c);
  const pa = pager.translate(c.va, c.access, c.user);
  const f = pager.fault;
  const unit = pa >= 0 ? { pa } : { kind: f.kind, depth: f.depth, error: f.error };
  agree(label, unit, want.ok ? { pa: want.pa } : { kind: want.kind, depth: want.depth, error: errorCode(c, want.kind) });
  agree(label, readPath(c), expectedAfter(c, want));
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
  it('P/RW/US/PS at both levels x A/D preset per level x WP x NXE (no effect) x user x access, error codes included', () => {
    let cases = 0;
    for (const top of combos([P, RW, US, PS]))
      for (const leaf of combos([P, RW, US, PS]))
        for (const topPreset of [0, A | D])
          for (const leafPreset of [0, A | D])
            for (const wp of BOOLS)
              for (const nxe of BOOLS)
                for (const user of BOOLS)
                  for (const access of ACCESSES) {
                    const path = [entry('x86-32', 0, top | topPreset), entry('x86-32', 1, leaf | leafPreset)];
                    check({ format: 'x86-32', path, va: LAYOUT['x86-32'].va, access, user, wp, nxe });
                    cases++;
                  }
    expect(cases).toBe(24576);
  });

  it('a fetch fault under 32-bit paging never sets I/D (the SDM reserves it there), NXE on or off', () => {
    for (const nxe of BOOLS) {
      const pager = pagerFor({ format: 'x86-32', path: [], va: 0, access: FETCH, user: true, wp: false, nxe });
      mem.write32(LAYOUT['x86-32'].addrs[0], entry('x86-32', 0, P | RW | US).lo | 0);
      mem.write32(LAYOUT['x86-32'].addrs[1], 0); // not present
      expect(pager.translate(LAYOUT['x86-32'].va, FETCH, true)).toBe(-1);
      expect(pager.fault).toMatchObject({ kind: 'page', error: ERR_U });
      mem.write32(LAYOUT['x86-32'].addrs[1], entry('x86-32', 1, P | RW).lo | 0); // supervisor page
      expect(pager.translate(LAYOUT['x86-32'].va, FETCH, true)).toBe(-1);
      expect(pager.fault).toMatchObject({ kind: 'protection', error: ERR_P | ERR_U });
    }
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
