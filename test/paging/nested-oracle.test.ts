// Independent two-stage oracle. A generator writes guest tables (in guest-physical terms) and a
// host gPA -> hPA table entry by entry as raw numbers (no production builders or encoders);
// hand-written reference logic below (calling no production paging code) says what an access
// must give: a host address, a guest fault (stage 1) or a stage-2 fault with the guest-physical
// address that failed. The paging unit with stage 2 — its allocation-free walker, with and
// without a TLB — and the side-effect-free 2D inspection are checked against it, for tiny
// over tiny, x86-32 over x86-32, and four-level over x86-32 (two levels).

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GEOMETRIES, walk2D, type AccessKind } from '../../src/paging/index.js';
import { PhysicalMemory } from '../../src/mmu/memory.js';
import { createPager } from '../../src/mmu/paging-unit.js';
import { agree } from './helpers.js';

const READ = 0, WRITE = 1, FETCH = 2;
const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40; // x86 positions
const V = 0x80; // tiny's valid bit

/** A format as the reference logic sees it: raw layout numbers, restated from the architectures. */
interface Fmt {
  readonly name: 'tiny' | 'x86-32' | 'four-level';
  readonly bytes: 1 | 4 | 8;
  readonly indexBits: readonly number[];
  readonly offsetBits: number;
  /** x86 rules (P/RW/US, A/D) or valid-only (tiny) */
  readonly x86: boolean;
}

const FMT: Record<Fmt['name'], Fmt> = {
  tiny: { name: 'tiny', bytes: 1, indexBits: [5, 5], offsetBits: 5, x86: false },
  'x86-32': { name: 'x86-32', bytes: 4, indexBits: [10, 10], offsetBits: 12, x86: true },
  'four-level': { name: 'four-level', bytes: 8, indexBits: [5, 5, 5, 5], offsetBits: 12, x86: true },
};

const vaBits = (f: Fmt) => f.indexBits.reduce((a, b) => a + b, f.offsetBits);
const pageSize = (f: Fmt) => 2 ** f.offsetBits;

/** Index of `va` at `depth`, root first. */
function indexOf(f: Fmt, va: number, depth: number): number {
  let shift = f.offsetBits;
  for (let d = f.indexBits.length - 1; d > depth; d--) shift += f.indexBits[d];
  return Math.floor(va / 2 ** shift) % 2 ** f.indexBits[depth];
}

/** The entry naming frame number `pfn` with flag bits `flags` (tiny: V + 7-bit PFN). */
function entryValue(f: Fmt, pfn: number, flags: number): number {
  return f.x86 ? pfn * 4096 + flags : (flags & P ? V : 0) | pfn;
}

function readEntry(mem: PhysicalMemory, f: Fmt, at: number): number {
  return f.bytes === 1 ? mem.read8(at) : mem.read32(at) >>> 0;
}

function writeEntry(mem: PhysicalMemory, f: Fmt, at: number, value: number): void {
  if (f.bytes === 1) mem.write8(at, value);
  else {
    mem.write32(at, value | 0);
    if (f.bytes === 8) mem.write32(at + 4, 0);
  }
}

const present = (f: Fmt, e: number) => (f.x86 ? (e & P) !== 0 : (e & V) !== 0);
const framePfn = (f: Fmt, e: number) => (f.x86 ? Math.floor(e / 4096) : e & 0x7f);

type Outcome =
  | { ok: true; pa: number }
  | { ok: false; stage: 1; kind: string; depth: number }
  | { ok: false; stage: 2; depth: number; gpa: number; host: { kind: string; depth: number } };

/**
 * Stage 2 by hand: the host walk of `gpa` for `access`, every access a user access (US needed
 * at every level, RW for writes; nothing checked on tiny).
 */
function hostRef(mem: PhysicalMemory, h: Fmt, root: number, gpa: number, access: AccessKind): { ok: true; hpa: number } | { ok: false; kind: string; depth: number } {
  if (gpa >= 2 ** vaBits(h)) return { ok: false, kind: 'bounds', depth: -1 };
  let table = root;
  let user = true, write = true;
  for (let d = 0; d < h.indexBits.length; d++) {
    const e = readEntry(mem, h, table + indexOf(h, gpa, d) * h.bytes);
    if (!present(h, e)) return { ok: false, kind: 'page', depth: d };
    user &&= !h.x86 || (e & US) !== 0;
    write &&= !h.x86 || (e & RW) !== 0;
    const base = framePfn(h, e) * pageSize(h);
    if (d < h.indexBits.length - 1) {
      table = base;
      continue;
    }
    if (base + pageSize(h) > mem.size) return { ok: false, kind: 'reserved', depth: d };
    if (!user || (access === WRITE && !write)) return { ok: false, kind: 'protection', depth: d };
    return { ok: true, hpa: base + (gpa % pageSize(h)) };
  }
  throw new Error('hostRef: no leaf');
}

/**
 * Both stages by hand: each guest entry's guest-physical address through stage 2 (as a write
 * where the guest format has A/D, since the walk may write the entry back), the guest's own
 * checks (x86: P, US at every level for user, RW at every level for user writes; WP = 0), then
 * the final guest-physical address through stage 2 for the access itself.
 */
function oracle(mem: PhysicalMemory, c: Case, va: number, access: AccessKind, user: boolean): Outcome {
  const g = c.guest;
  const tableAccess = g.x86 ? WRITE : READ;
  let table = c.guestRoot;
  let u = true, w = true;
  for (let d = 0; d < g.indexBits.length; d++) {
    const gpa = table + indexOf(g, va, d) * g.bytes;
    const h = hostRef(mem, c.host, c.hostRoot, gpa, tableAccess);
    if (!h.ok) return { ok: false, stage: 2, depth: d, gpa, host: { kind: h.kind, depth: h.depth } };
    const e = readEntry(mem, g, h.hpa);
    if (!present(g, e)) return { ok: false, stage: 1, kind: 'page', depth: d };
    u &&= !g.x86 || (e & US) !== 0;
    w &&= !g.x86 || (e & RW) !== 0;
    const base = framePfn(g, e) * pageSize(g);
    if (d < g.indexBits.length - 1) {
      table = base;
      continue;
    }
    if ((user && !u) || (access === WRITE && user && !w)) return { ok: false, stage: 1, kind: 'protection', depth: d };
    const final = base + (va % pageSize(g));
    const f = hostRef(mem, c.host, c.hostRoot, final, access);
    if (!f.ok) return { ok: false, stage: 2, depth: g.indexBits.length, gpa: final, host: { kind: f.kind, depth: f.depth } };
    return { ok: true, pa: f.hpa };
  }
  throw new Error('oracle: no leaf');
}

/** A generated case: guest tables on one path, the host map of the guest pages it uses. */
interface Case {
  readonly guest: Fmt;
  readonly host: Fmt;
  readonly guestRoot: number;
  readonly hostRoot: number;
  /** the path's guest pages: tables root first, then the data frame */
  readonly guestPages: readonly number[];
  /** per guest page: its host frame and the host leaf flags (0 = no mapping) */
  readonly hostLeaf: readonly { frame: number; flags: number }[];
  /** per depth: the guest entry's flags */
  readonly guestFlags: readonly number[];
  readonly indexes: readonly number[];
  readonly offset: number;
}

/** Host tables start here; guest frames get host frames from HOST_DATA up. */
const LAYOUT = {
  tiny: { hostRoot: 0x20, hostTables: 0x40, hostData: 0x400, memory: 4096, guestPool: 96 },
  'x86-32': { hostRoot: 0x1000, hostTables: 0x2000, hostData: 0x100000, memory: 64 << 20, guestPool: 4096 },
} as const;

/** Writes the case into a fresh memory: host tables first, then the guest entries at their host addresses. */
function build(c: Case): PhysicalMemory {
  const h = c.host;
  const L = LAYOUT[h.name as 'tiny' | 'x86-32'];
  const mem = new PhysicalMemory(L.memory);
  const page = pageSize(h);
  let nextTable = L.hostTables;
  const second = new Map<number, number>();
  c.guestPages.forEach((gp, i) => {
    const gpa = gp * pageSize(c.guest);
    const top = indexOf(h, gpa, 0);
    if (!second.has(top)) {
      second.set(top, nextTable);
      writeEntry(mem, h, c.hostRoot + top * h.bytes, entryValue(h, nextTable / page, P | RW | US));
      nextTable += page;
    }
    const leaf = c.hostLeaf[i];
    writeEntry(mem, h, second.get(top)! + indexOf(h, gpa, 1) * h.bytes, leaf.flags === 0 ? 0 : entryValue(h, leaf.frame, leaf.flags));
  });
  // guest entries, written where the host maps their pages (straight into host memory)
  c.guestFlags.forEach((flags, d) => writeEntry(mem, c.guest, hostAddressOfEntry(c, d), entryValue(c.guest, c.guestPages[d + 1], flags)));
  return mem;
}

function vaOf(c: Case): number {
  const g = c.guest;
  let va = 0;
  c.indexes.forEach((ix, d) => {
    let shift = g.offsetBits;
    for (let k = g.indexBits.length - 1; k > d; k--) shift += g.indexBits[k];
    va += ix * 2 ** shift;
  });
  return va + c.offset;
}

/** Mostly all-granting flags, sometimes a missing bit; A/D preset at random. */
const flagsArb = (x86: boolean) =>
  x86
    ? fc.oneof({ weight: 5, arbitrary: fc.constant(P | RW | US) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 7 }) }).chain((f) => fc.constantFrom(0, A, A | D).map((ad) => f | ad))
    : fc.oneof({ weight: 4, arbitrary: fc.constant(P) }, { weight: 1, arbitrary: fc.constant(0) });

function caseArb(guest: Fmt, host: Fmt): fc.Arbitrary<Case> {
  const n = guest.indexBits.length;
  const L = LAYOUT[host.name as 'tiny' | 'x86-32'];
  const hostFrames = (L.memory - L.hostData) / pageSize(host);
  return fc.record({
    guestPages: fc.uniqueArray(fc.integer({ min: 0, max: L.guestPool - 1 }), { minLength: n + 1, maxLength: n + 1 }),
    hostFrames: fc.uniqueArray(fc.integer({ min: 0, max: Math.min(hostFrames, 4096) - 1 }), { minLength: n + 1, maxLength: n + 1 }),
    hostFlags: fc.array(flagsArb(host.x86), { minLength: n + 1, maxLength: n + 1 }),
    guestFlags: fc.array(flagsArb(guest.x86), { minLength: n, maxLength: n }),
    indexes: fc.tuple(...guest.indexBits.map((b) => fc.integer({ min: 0, max: 2 ** b - 1 }))),
    offset: fc.integer({ min: 0, max: pageSize(guest) - 1 }),
  }).map((r) => {
    const guestRoot = r.guestPages[0] * pageSize(guest);
    const hostLeaf = r.hostFrames.map((f, i) => ({ frame: L.hostData / pageSize(host) + f, flags: r.hostFlags[i] }));
    return { guest, host, guestRoot, hostRoot: L.hostRoot, guestPages: r.guestPages, hostLeaf, guestFlags: r.guestFlags, indexes: r.indexes, offset: r.offset };
  });
}

function unitOutcome(pa: number, f: { kind: string; depth: number; gpa?: number; stage2?: { kind: string; depth: number } }): Outcome {
  if (pa >= 0) return { ok: true, pa };
  if (f.kind !== 'stage2') return { ok: false, stage: 1, kind: f.kind, depth: f.depth };
  return { ok: false, stage: 2, depth: f.depth, gpa: f.gpa!, host: { kind: f.stage2!.kind, depth: f.stage2!.depth } };
}

/** Where the guest entry of `depth` lies in host memory (its page's host frame, mapped or not). */
function hostAddressOfEntry(c: Case, depth: number): number {
  const gpa = c.guestPages[depth] * pageSize(c.guest) + c.indexes[depth] * c.guest.bytes;
  return c.hostLeaf[depth].frame * pageSize(c.host) + (gpa % pageSize(c.host));
}

/** The guest entries on the path, as raw numbers. */
function guestEntries(mem: PhysicalMemory, c: Case): number[] {
  return c.guestFlags.map((_, d) => readEntry(mem, c.guest, hostAddressOfEntry(c, d)));
}

/**
 * One case, every access kind and mode: the 2D inspection and a TLB-less paging unit agree
 * with the oracle (a fault writes no guest entry); then, with a TLB, a first access followed
 * by a second one to the same page agrees too (the cached guest-and-host permissions decide).
 */
function check(c: Case): void {
  const va = vaOf(c);
  const label = (what: string) => () => `${what}: ${JSON.stringify({ ...c, guest: c.guest.name, host: c.host.name, va })}`;
  for (const user of [false, true]) {
    for (const access of [READ, WRITE, FETCH] as AccessKind[]) {
      const mem = build(c);
      const want = oracle(mem, c, va, access, user);
      const inspected = walk2D(GEOMETRIES[c.guest.name], GEOMETRIES[c.host.name], mem, c.guestRoot, c.hostRoot, va, { access, user });
      const r = inspected.guest;
      agree(label('inspect2D'), r.ok ? { ok: true, pa: r.pa } : r.fault.stage === 1 ? { ok: false, stage: 1, kind: r.fault.kind, depth: r.fault.depth } : { ok: false, stage: 2, depth: r.fault.depth, gpa: r.fault.address, host: { kind: r.fault.inner!.kind, depth: r.fault.inner!.depth } }, want);
      const before = guestEntries(mem, c);
      const pager = createPager(mem, { geometry: GEOMETRIES[c.guest.name], tlb: { entries: 0, ways: 1 }, stage2: { geometry: GEOMETRIES[c.host.name], root: c.hostRoot } });
      pager.setRoot(c.guestRoot);
      agree(label(`unit ${access} ${user}`), unitOutcome(pager.translate(va, access, user), pager.fault), want);
      if (!want.ok) agree(label('a fault writes no guest entry'), guestEntries(mem, c), before);
      if (want.ok) {
        const again = pager.translate(va, access, user);
        agree(label('A/D written through stage 2 change nothing'), again, want.pa);
      }
      for (const second of [READ, WRITE, FETCH] as AccessKind[]) {
        const m2 = build(c);
        const cached = createPager(m2, { geometry: GEOMETRIES[c.guest.name], tlb: { entries: 4, ways: 2 }, stage2: { geometry: GEOMETRIES[c.host.name], root: c.hostRoot } });
        cached.setRoot(c.guestRoot);
        cached.translate(va, access, user);
        const want2 = oracle(m2, c, va, second, user);
        agree(label(`cached ${access} then ${second}, user ${user}`), unitOutcome(cached.translate(va, second, user), cached.fault), want2);
      }
    }
  }
}

describe('two-stage oracle: generated guest tables over generated host maps', () => {
  for (const [g, h, runs] of [
    ['tiny', 'tiny', 300],
    ['x86-32', 'x86-32', 200],
    ['four-level', 'x86-32', 200],
  ] as const) {
    it(`${g} over ${h}: host address, guest fault or stage-2 fault as the reference logic says`, () => {
      fc.assert(fc.property(caseArb(FMT[g], FMT[h]), (c) => check(c)), { numRuns: runs });
    });
  }

  it('the generator reaches every outcome: translations, guest faults and stage-2 faults on tables and on the final address', () => {
    const seen = new Set<string>();
    for (const [g, h] of [['tiny', 'tiny'], ['x86-32', 'x86-32'], ['four-level', 'x86-32']] as const) {
      fc.assert(
        fc.property(caseArb(FMT[g], FMT[h]), (c) => {
          const mem = build(c);
          const o = oracle(mem, c, vaOf(c), WRITE, true);
          seen.add(o.ok ? `${g} ok` : o.stage === 1 ? `${g} guest ${o.kind}` : `${g} stage2 ${o.depth === FMT[g].indexBits.length ? 'final' : 'table'} ${o.host.kind}`);
        }),
        { numRuns: 2000 },
      );
    }
    for (const g of ['tiny', 'x86-32', 'four-level']) {
      for (const kind of ['ok', 'guest page', 'stage2 table page', 'stage2 final page']) expect(seen, `${g} ${kind}`).toContain(`${g} ${kind}`);
    }
    for (const g of ['x86-32', 'four-level']) {
      for (const kind of ['guest protection', 'stage2 table protection', 'stage2 final protection']) expect(seen, `${g} ${kind}`).toContain(`${g} ${kind}`);
    }
  });
});
