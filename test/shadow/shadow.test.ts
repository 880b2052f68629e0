// Shadow tables filled by composition, against independent oracles: random guest tables (x86-32,
// sv32, four-level with large pages) over a scattered physmap, random accesses in both views.
// Every miss must resolve as the two-stage walk of the same guest over a stage-2 table built from
// the same physmap says (walk2D: hidden fault <-> it translates, to the same host frame; true
// fault <-> it faults, at the same depth), with the bare paging unit's error code; after the
// fills, the coherence checker (which reads only the tables) finds nothing. Then the checker is
// shown failing on purpose, and the log and pool are held to their contracts.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Access } from '../../src/mmu/fault.js';
import { PhysicalMemory } from '../../src/mmu/memory.js';
import { explicitPhysmap, type Physmap } from '../../src/mmu/physmap.js';
import { PhysmapMemory } from '../../src/mmu/physmap-memory.js';
import { createPager } from '../../src/mmu/paging-unit.js';
import { encodeEntry, FETCH, GEOMETRIES, hasFlag, map, READ, readEntry, walk, walk2D, WRITE, NO_SWITCHES, type AccessKind, type Geometry, type Switches } from '../../src/paging/index.js';
import { checkCoherence, resolveMiss, ShadowLog, ShadowPoolExhausted, ShadowSpace, TablePool, type GuestPaging, type ShadowView } from '../../src/shadow/index.js';

const GUEST_BYTES = 0x40000; // 64 guest pages
const HOST_BYTES = 0x200000;
const GUEST_HOST_PAGES = [0x80, 0x100]; // guest pages scatter over host pages [0x80000, 0x100000)
const SHADOW_POOL = [0x1000, 0x40000];
const STAGE2_AT = 0x40000; // an independent stage-2 table for the oracle: [0x40000, 0x80000)
const PAGE = 0x1000;

interface Mapping {
  readonly vpn: number;
  readonly gpn: number;
  readonly write: boolean;
  readonly user: boolean;
  readonly exec: boolean;
  readonly accessed: boolean;
  readonly dirty: boolean;
  /** four-level only: a 128 KiB page (vpn and gpn multiples of 32) */
  readonly large: boolean;
}

interface Lab {
  readonly g: Geometry;
  readonly host: PhysicalMemory;
  readonly physmap: Physmap;
  readonly guest: GuestPaging;
  readonly stage2Root: number;
  readonly space: (view: ShadowView) => ShadowSpace;
  readonly log: ShadowLog;
}

/** Guest pages 48..63 hold the guest's tables; the rest is data the mappings point at. */
function lab(geometry: string, hostPages: readonly number[], mappings: readonly Mapping[], switches: Switches = NO_SWITCHES): Lab {
  const g = GEOMETRIES[geometry];
  const host = new PhysicalMemory(HOST_BYTES);
  const ranges = hostPages.map((hpn, gpn) => ({ gpa: gpn * PAGE, hpa: hpn * PAGE, size: PAGE }));
  const r = explicitPhysmap({ guestBytes: GUEST_BYTES, pageBytes: PAGE, hostBytes: HOST_BYTES, ranges });
  if (!r.ok) throw new Error(r.problems[0].message);
  const memory = new PhysmapMemory(host, r.physmap);
  let nextTable = 48;
  const alloc = () => nextTable++ * PAGE;
  const root = alloc();
  for (const m of mappings) {
    const size = m.large && geometry === 'four-level' ? 32 * PAGE : PAGE;
    const va = m.large && geometry === 'four-level' ? (m.vpn & ~31) * PAGE : m.vpn * PAGE;
    const pa = m.large && geometry === 'four-level' ? (m.gpn & ~31) * PAGE : m.gpn * PAGE;
    try {
      map(g, memory, root, va, pa, size, { write: m.write, user: m.user, exec: m.exec, accessed: m.accessed, dirty: m.dirty, large: size > PAGE }, alloc);
    } catch {
      // a mapping that collides with a large page (or vice versa) is left out
    }
  }
  let nextS2 = STAGE2_AT;
  const s2alloc = () => (nextS2 += PAGE) - PAGE;
  const stage2Root = s2alloc();
  for (const { gpa, hpa, size } of ranges) map(g, host, stage2Root, gpa, hpa, size, { write: true, user: true, exec: true }, s2alloc);
  const pool = new TablePool(SHADOW_POOL[0], SHADOW_POOL[1], PAGE);
  const log = new ShadowLog();
  const guest = { geometry: g, memory, root, switches };
  return { g, host, physmap: r.physmap, guest, stage2Root, log, space: (view) => new ShadowSpace(g, host, pool, log, root, view) };
}

const backingOf = (l: Lab) => (gpa: number) => l.physmap.hostPage(Math.floor(gpa / PAGE));

const mapping = (pages: number): fc.Arbitrary<Mapping> =>
  fc.record({
    vpn: fc.oneof(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0x400, max: 0x43f })),
    gpn: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: pages - 1 }) }, { weight: 1, arbitrary: fc.integer({ min: pages, max: pages + 40 }) }), // past guest memory: the bare machine's reserved fault
    write: fc.boolean(),
    user: fc.boolean(),
    exec: fc.boolean(),
    accessed: fc.boolean(),
    dirty: fc.boolean(),
    large: fc.boolean(),
  });

/** An access; `vpn` < 0 picks the page of mapping number -vpn - 1 (most accesses land where something is mapped). */
const access = fc.record({
  vpn: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -30, max: -1 }) }, fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0x400, max: 0x43f }), fc.integer({ min: 0, max: 0xfffff })),
  offset: fc.integer({ min: 0, max: PAGE - 1 }),
  kind: fc.constantFrom<AccessKind>(READ, WRITE, FETCH),
  view: fc.constantFrom<ShadowView>('kernel', 'user'),
});

const hostPagesArb = fc.shuffledSubarray(Array.from({ length: GUEST_HOST_PAGES[1] - GUEST_HOST_PAGES[0] }, (_, i) => GUEST_HOST_PAGES[0] + i), { minLength: 64, maxLength: 64 });
const switchesArb = fc.record({ wp: fc.boolean(), nxe: fc.boolean(), sum: fc.boolean() });

describe('resolveMiss: a shadow miss composed as the two-stage walk says', () => {
  it.each(['x86-32', 'sv32', 'four-level'])('%s: hidden and true faults, frames and error codes agree with walk2D and the bare paging unit; the filled shadow is coherent', (geometry) => {
    const g = GEOMETRIES[geometry];
    const vaLimit = 2 ** g.vaBits;
    const seen = { hidden: 0, true: 0, writeProtected: 0, leaves: 0 };
    fc.assert(
      fc.property(hostPagesArb, fc.array(mapping(48), { minLength: 1, maxLength: 30 }), fc.array(access, { minLength: 1, maxLength: 40 }), switchesArb, (hostPages, mappings, accesses, switches) => {
        const l = lab(geometry, hostPages, mappings, switches);
        const spaces = { kernel: l.space('kernel'), user: l.space('user') };
        const pager = createPager(l.guest.memory as PhysmapMemory, { geometry: g, tlb: { entries: 0, ways: 1 } });
        pager.setRoot(l.guest.root);
        pager.setSwitches(switches);
        for (const a of accesses) {
          const vpn = a.vpn >= 0 ? a.vpn : mappings[(-a.vpn - 1) % mappings.length].vpn;
          const va = ((vpn * PAGE) % vaLimit) + a.offset;
          const user = a.view === 'user';
          const oracle = walk2D(g, g, l.host, l.guest.root, l.stage2Root, va, { access: a.kind, user, switches, guestSize: GUEST_BYTES });
          const o = resolveMiss(l.guest, GUEST_BYTES, a.view, va, a.kind, backingOf(l));
          if (oracle.guest.ok) {
            expect(o.kind).toBe('hidden');
            if (o.kind !== 'hidden') return;
            expect(o.hpa).toBe(oracle.guest.pa - (oracle.guest.pa % PAGE)); // through the stage-2 table built from the same physmap
            expect(o.gva).toBe(va - (va % PAGE));
            if (a.kind === WRITE) expect(hasFlag(g.entry, o.entry.lo, o.entry.hi, 'writable')).toBe(true);
            spaces[a.view].setPage(o.gva, o.entry, 'hidden fault');
            seen.hidden++;
            if (o.writeProtected) seen.writeProtected++;
          } else {
            expect(o.kind).toBe('true');
            if (o.kind !== 'true') return;
            expect([o.fault.kind, o.fault.depth]).toEqual([oracle.guest.fault.kind, oracle.guest.fault.depth]);
            expect(pager.translate(va, a.kind as Access, user)).toBe(-1);
            expect(o.fault.error).toBe(pager.fault.error);
            seen.true++;
          }
        }
        for (const view of ['kernel', 'user'] as const) {
          const report = checkCoherence(spaces[view], l.guest, GUEST_BYTES, backingOf(l));
          expect(report.violations).toEqual([]);
          seen.leaves += report.checked;
        }
      }),
      { numRuns: 60, seed: 9090 },
    );
    // the generators reach every case, many times
    expect(seen).toMatchObject({ hidden: expect.toSatisfy((n: number) => n > 50), true: expect.toSatisfy((n: number) => n > 50), writeProtected: expect.toSatisfy((n: number) => n > 3), leaves: expect.toSatisfy((n: number) => n > 30) });
  });
});

/** A two-page guest: data page 0 at gpn 1, writable, user, A and D as given; the tables at guest page 48. */
function small(dirty: boolean, switches: Switches = NO_SWITCHES): Lab {
  const hostPages = Array.from({ length: 64 }, (_, i) => 0x80 + ((i * 7) % 64));
  return lab('x86-32', hostPages, [{ vpn: 0, gpn: 1, write: true, user: true, exec: true, accessed: false, dirty, large: false }], switches);
}

describe('A/D emulation and views', () => {
  it("a read of a clean writable page sets the guest's A and maps it read-only; the first write sets D and maps it writable", () => {
    const l = small(false);
    const pte = () => {
      const t = walk(l.g, l.guest.memory, l.guest.root, 0, { trace: true });
      return readEntry(l.g.entry, l.guest.memory, t.steps[1].entryAddress, { lo: 0, hi: 0 });
    };
    const read = resolveMiss(l.guest, GUEST_BYTES, 'user', 0x10, READ, backingOf(l));
    expect(read).toMatchObject({ kind: 'hidden', writeProtected: true, gpa: PAGE });
    expect([hasFlag(l.g.entry, pte().lo, 0, 'accessed'), hasFlag(l.g.entry, pte().lo, 0, 'dirty')]).toEqual([true, false]);
    if (read.kind === 'hidden') expect(hasFlag(l.g.entry, read.entry.lo, 0, 'writable')).toBe(false);
    const write = resolveMiss(l.guest, GUEST_BYTES, 'user', 0x10, WRITE, backingOf(l));
    expect(write).toMatchObject({ kind: 'hidden', writeProtected: false });
    expect(hasFlag(l.g.entry, pte().lo, 0, 'dirty')).toBe(true);
    if (write.kind === 'hidden') expect(hasFlag(l.g.entry, write.entry.lo, 0, 'writable')).toBe(true);
  });

  it("a guest user reading a supervisor page is the guest's own protection fault in the user view, a hidden fault in the kernel view", () => {
    const hostPages = Array.from({ length: 64 }, (_, i) => 0x80 + i);
    const l = lab('x86-32', hostPages, [{ vpn: 2, gpn: 3, write: false, user: false, exec: true, accessed: true, dirty: true, large: false }]);
    expect(resolveMiss(l.guest, GUEST_BYTES, 'user', 0x2004, READ, backingOf(l))).toEqual({ kind: 'true', fault: { kind: 'protection', depth: 1, error: 0x5 } }); // P | U
    expect(resolveMiss(l.guest, GUEST_BYTES, 'kernel', 0x2004, READ, backingOf(l))).toMatchObject({ kind: 'hidden', hpa: 0x83000 });
  });

  it('a supervisor write to a read-only page is allowed with WP clear (x86) and refused with WP set', () => {
    const hostPages = Array.from({ length: 64 }, (_, i) => 0x80 + i);
    const ro = [{ vpn: 2, gpn: 3, write: false, user: false, exec: true, accessed: true, dirty: true, large: false }];
    expect(resolveMiss(lab('x86-32', hostPages, ro).guest, GUEST_BYTES, 'kernel', 0x2000, WRITE, () => 0x83000)).toMatchObject({ kind: 'hidden' });
    expect(resolveMiss(lab('x86-32', hostPages, ro, { ...NO_SWITCHES, wp: true }).guest, GUEST_BYTES, 'kernel', 0x2000, WRITE, () => 0x83000)).toMatchObject({ kind: 'true', fault: { kind: 'protection' } });
  });

  it("a guest page with no host frame left is 'unbacked' (the VMM's problem, not the guest's)", () => {
    const l = small(true);
    expect(resolveMiss(l.guest, GUEST_BYTES, 'user', 0x10, READ, () => -1)).toEqual({ kind: 'unbacked', gpa: PAGE });
  });
});

describe('the coherence checker, failing on purpose', () => {
  /** `small` with the page at gVA 0 filled in `view`'s space. */
  function filled(dirty: boolean, view: ShadowView = 'user') {
    const l = small(dirty);
    const space = l.space(view);
    const o = resolveMiss(l.guest, GUEST_BYTES, view, 0, dirty ? WRITE : READ, backingOf(l));
    if (o.kind !== 'hidden') throw new Error('expected a hidden fault');
    space.setPage(0, o.entry, 'hidden fault');
    expect(checkCoherence(space, l.guest, GUEST_BYTES, backingOf(l)).violations).toEqual([]);
    return { l, space, o };
  }

  it('a shadow entry made writable before the guest wrote (D clear): write before dirty', () => {
    const { l, space, o } = filled(false);
    space.setPage(0, { lo: o.entry.lo | 2, hi: 0 }, 'hidden fault');
    expect(checkCoherence(space, l.guest, GUEST_BYTES, backingOf(l)).violations.map((v) => v.problem)).toEqual(['write before dirty']);
  });

  it('a shadow entry granting the user view a supervisor page: forbidden', () => {
    const { l, space, o } = filled(true);
    map(l.g, l.guest.memory, l.guest.root, 0, PAGE, PAGE, { write: true, user: false, accessed: true, dirty: true }, () => {
      throw new Error('no table needed');
    });
    expect(checkCoherence(space, l.guest, GUEST_BYTES, backingOf(l)).violations).toEqual([
      { gva: 0, problem: 'forbidden', detail: "shadow allows read at 0x0 in the user view, the guest's tables do not (protection fault at depth 1)" },
    ]);
    expect(o.kind).toBe('hidden');
  });

  it('a guest that remaps a page the shadow still holds: other frame — or stale, where the policy allows it', () => {
    const { l, space } = filled(true);
    map(l.g, l.guest.memory, l.guest.root, 0, 5 * PAGE, PAGE, { write: true, user: true, accessed: true, dirty: true }, () => {
      throw new Error('no table needed');
    });
    const [v] = checkCoherence(space, l.guest, GUEST_BYTES, backingOf(l)).violations;
    expect(v.problem).toBe('other frame');
    expect(v.detail).toMatch(/^shadow maps 0x0 to host 0x[0-9a-f]+; the guest maps it to guest-physical 0x5000, which the physmap puts at host 0x[0-9a-f]+$/);
    expect(checkCoherence(space, l.guest, GUEST_BYTES, backingOf(l), (gva) => gva === 0)).toMatchObject({ checked: 1, violations: [], stale: [0] });
  });

  it('a composition that picks the wrong host frame: other frame', () => {
    const l = small(true);
    const space = l.space('user');
    const o = resolveMiss(l.guest, GUEST_BYTES, 'user', 0, READ, (gpa) => backingOf(l)(gpa) + PAGE);
    if (o.kind === 'hidden') space.setPage(o.gva, o.entry, 'hidden fault');
    expect(checkCoherence(space, l.guest, GUEST_BYTES, backingOf(l)).violations.map((v) => v.problem)).toEqual(['other frame']);
  });
});

describe('shadow spaces: the one setter, its log, the pool', () => {
  it('logs every change with the entry before and after; an unchanged entry is not a change; clear drops each leaf and gives tables back', () => {
    const l = small(true);
    const space = l.space('kernel');
    const entry = encodeEntry(l.g.entry, 0x99, { present: true, writable: true, user: true });
    space.setPage(0x5123, entry, 'hidden fault');
    space.setPage(0x5000, entry, 'hidden fault');
    space.dropPage(0x9000, 'trace write'); // not mapped: nothing
    space.dropPage(0x5fff, 'trace write');
    expect(l.log.between(0).map((c) => [c.seq, c.reason, c.gva, c.before.lo, c.after.lo, c.view])).toEqual([
      [0, 'hidden fault', 0x5000, 0, entry.lo, 'kernel'],
      [1, 'trace write', 0x5000, entry.lo, 0, 'kernel'],
    ]);
    space.setPage(0x400000, entry, 'hidden fault');
    expect(space.tablePages).toBe(3);
    expect(space.leaves().map(([gva]) => gva)).toEqual([0x400000]);
    space.clear('reclaim');
    expect([space.leaves(), space.tablePages, l.log.total]).toEqual([[], 1, 4]);
  });

  it('a pool that runs dry throws ShadowPoolExhausted; released pages are reused', () => {
    const host = new PhysicalMemory(0x10000);
    const pool = new TablePool(0x1000, 0x3000, PAGE);
    const log = new ShadowLog();
    const g = GEOMETRIES['x86-32'];
    const space = new ShadowSpace(g, host, pool, log, 0, 'user');
    const e = encodeEntry(g.entry, 1, { present: true });
    space.setPage(0, e, 'hidden fault');
    expect(() => space.setPage(0x400000, e, 'hidden fault')).toThrow(ShadowPoolExhausted);
    space.release();
    expect(pool.used).toBe(0);
    expect(new ShadowSpace(g, host, pool, log, 0, 'user').root).toBe(0x2000);
  });
});
