// Equivalence within TLB nondeterminism: a guest that rewrites a page-table entry and uses the
// page before invalidating may see the old translation or the new one. The bare machine's TLB
// picks one; a run that picks another allowed one is equivalent "within TLB nondeterminism",
// and the checker says where — because a bare machine that walked the tables as they were
// (no TLB) from the last agreed event reached the same view, never because the VMM says so. A
// run that used a translation outside the allowed set (stale after an invalidation) must still
// fail.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPager } from '../../src/mmu/paging-unit.js';
import { parseScenario } from '../../src/scenario/load.js';
import { guestOf } from '../../src/scenario/under.js';
import { compareBare } from '../../src/vmm/lockstep.js';
import { runBare } from '../../src/vmm/bare.js';
import { runGuest } from '../../src/vmm/run.js';
import type { GuestImage } from '../../src/vmm/guest.js';
import type { Pager } from '../../src/mmu/pager.js';
import { describeDivergence, scenarioGuest } from './helpers.js';

/** `g` on other paging hardware: its own geometry, with `tlb` entries, and `edit` applied to the pager. */
function withTlb(g: GuestImage, entries: number, edit: (p: Pager) => void = () => {}): GuestImage {
  const { geometry } = g.paging!;
  const tlb = { entries, ways: entries === 0 ? 1 : Math.min(entries, g.paging!.tlb.ways) };
  const pager = (mem: Parameters<typeof createPager>[0]) => {
    const p = createPager(mem, { geometry, tlb });
    edit(p);
    return p;
  };
  return { ...g, config: { ...g.config, pager }, paging: { geometry, tlb } };
}

/** A TLB whose invlpg does nothing: its machine uses translations the allowed set excludes. */
const ignoresInvlpg = (p: Pager) => {
  p.invalidate = () => {};
};

const WINDOW = 0x800000;
const FRAMES = 0x20000; // 8 frames; frame f holds the word f + 1

type Op = { op: 'remap'; page: number; frame: number } | { op: 'read'; page: number } | { op: 'write'; page: number; value: number } | { op: 'invlpg'; page: number } | { op: 'flush' };

/** The assembly of one operation (r3: the window's first page-table entry, r9: the window). */
function asm(o: Op): string {
  switch (o.op) {
    case 'remap': // rewrite the entry, no invalidation
      return `ld r4, ${o.page * 4}(r3)\n andi r4, r4, 0xfff\n ori r4, r4, ${FRAMES + o.frame * 0x1000}\n st r4, ${o.page * 4}(r3)`;
    case 'read': // through whatever translation the machine uses; printed (a console event)
      return `ld r5, ${o.page * 0x1000}(r9)\n out r5, 1\n li r6, 32\n out r6, 0`;
    case 'write':
      return `li r6, ${o.value}\n st r6, ${o.page * 0x1000}(r9)`;
    case 'invlpg':
      return `addi r2, r9, ${o.page * 0x1000}\n invlpg r2`;
    case 'flush':
      return 'tlbflush';
  }
}

/** A kernel that runs `ops` over a 4-page window (page p starts at frame p), with a 16-entry TLB. */
function guestOfOps(ops: readonly Op[]): GuestImage {
  const kernel = [
    '.org 0x1000',
    'start: li r0, 0',
    `li r3, ${(WINDOW >>> 22) * 4}`,
    'ld r3, kpt(r3)',
    'andi r3, r3, 0xfffff000',
    `addi r3, r3, ${((WINDOW >>> 12) & 1023) * 4}`,
    `li r9, ${WINDOW}`,
    ...ops.map(asm),
    'halt',
  ].join('\n ');
  const frames = Array.from({ length: 8 }, (_, f) => `{ at: ${FRAMES + f * 0x1000}, words: [${f + 1}] }`).join(', ');
  return guestOf(
    parseScenario(
      `machine:
  memory: 256 KiB
  translation: paging
  paging: { geometry: x86-32, tlb: { entries: 16, ways: 4 } }
pageTables:
  - name: kpt
    map:
      - { va: 0, pa: 0, size: 256 KiB, perms: rwx }
      - { va: ${WINDOW}, pa: ${FRAMES}, size: 16 KiB, perms: rw }
programs:
  - { name: kernel, org: 0x1000, at: 0x1000, source: ${JSON.stringify(kernel)} }
memory: [${frames}]
psw: { pc: start, mode: s, pg: true, ptbr: kpt }
steps: 4000
`,
      'ops.yaml',
    ),
  );
}

const page = fc.integer({ min: 0, max: 3 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('remap' as const), page, frame: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('read' as const), page }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('write' as const), page, value: fc.integer({ min: 100, max: 999 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('invlpg' as const), page }) },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const }) },
);

describe('equivalence within TLB nondeterminism', () => {
  it('paging/tlb-staleness: a bare machine with the same TLB is exact; one without a TLB reads the new frame at the stale read and is equivalent within TLB nondeterminism at exactly that point', () => {
    const g = scenarioGuest('paging/tlb-staleness.yaml');
    expect(compareBare(g, withTlb(g, 16))).toEqual({ holds: true, compared: 2 });
    const v = compareBare(g, withTlb(g, 0));
    expect(v.holds).toBe(true);
    expect(v.tlbNondeterminism!.points).toBe(1);
    expect([v.tlbNondeterminism!.first.field, v.tlbNondeterminism!.first.bare, v.tlbNondeterminism!.first.actual]).toEqual(['regs.2', 0x41, 0x42]);
  });

  it('a machine whose invlpg does nothing reads frame A after the invalidation, which no allowed translation gives: not equivalent, and not excused', () => {
    const g = scenarioGuest('paging/tlb-staleness.yaml');
    const v = compareBare(g, withTlb(g, 16, ignoresInvlpg));
    expect(v.holds).toBe(false);
    expect(v.tlbNondeterminism).toBeUndefined();
    expect([v.first!.field, v.first!.bare, v.first!.actual]).toEqual(['regs.3', 0x42, 0x41]);
  });

  it('random kernels that remap, read, write and invalidate in any order: a bare machine without a TLB is always equivalent to the one with it, within TLB nondeterminism where they differ; so is shadow-eager, whose shadow is never stale; shadow-lazy is always coherent by the table history, and equivalent in all but the documented few', () => {
    const tally = { excused: 0, lazyExact: 0, lazyWithin: 0, lazyUnexplained: 0 };
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 60, size: 'medium' }), (ops) => {
        const g = guestOfOps(ops);
        expect(runBare(g).end).toBe('halted');
        const tlbless = compareBare(g, withTlb(g, 0));
        expect(tlbless.holds, describeDivergence(tlbless.first)).toBe(true);
        const eager = runGuest('shadow-eager', g).checks!.equivalence;
        expect(eager.holds, describeDivergence(eager.first)).toBe(true);
        if (tlbless.tlbNondeterminism) tally.excused++;
        const lazy = runGuest('shadow-lazy', g).checks!.equivalence;
        expect(lazy.coherence!.violations).toBe(0);
        if (!lazy.holds) tally.lazyUnexplained++;
        else if (lazy.tlbNondeterminism) tally.lazyWithin++;
        else tally.lazyExact++;
      }),
      { numRuns: 100, seed: 0x7b1 },
    );
    expect(tally.excused).toBeGreaterThan(25); // the generator does reach stale reads
    expect(tally.lazyWithin).toBeGreaterThan(20);
    // measured: 1 in 300 (docs/vmm.md); a checker that lost a mode would leave several here
    expect(tally.lazyUnexplained).toBeLessThanOrEqual(2);
  });

  it('random kernels again, on a machine whose invlpg does nothing: the checker catches it whenever a read after an invalidation sees the stale frame', () => {
    // frames 2 and 3 given the values 11 and 22; page 0 mapped to frame 2 and read (the TLB holds
    // it), remapped to frame 3 and invalidated, read again: the only allowed value is 22
    const set = (frame: number, value: number): Op[] => [{ op: 'remap', page: 0, frame }, { op: 'flush' }, { op: 'write', page: 0, value }];
    const tail: Op[] = [...set(2, 11), ...set(3, 22), { op: 'remap', page: 0, frame: 2 }, { op: 'flush' }, { op: 'read', page: 0 }, { op: 'remap', page: 0, frame: 3 }, { op: 'invlpg', page: 0 }, { op: 'read', page: 0 }];
    fc.assert(
      fc.property(fc.array(op, { maxLength: 10 }), fc.array(op, { maxLength: 10 }), (before, after) => {
        const g = guestOfOps([...before, ...tail, ...after]);
        const v = compareBare(g, withTlb(g, 64, ignoresInvlpg)); // large enough to keep the stale entry
        expect(v.holds).toBe(false);
      }),
      { numRuns: 30, seed: 0x7b2 },
    );
  });

  it('each mode explains what it should: fresh walks the stale read of paging/tlb-staleness under shadow-eager; refill the entry a lazy shadow keeps across a tlbflush (coherent then) after the guest remaps the page; drop the entries a lazy shadow drops at an invlpg of another page (their table was out of sync)', () => {
    const by = (g: GuestImage, kind: 'shadow-eager' | 'shadow-lazy') => {
      const eq = runGuest(kind, g).checks!.equivalence;
      return [eq.holds, eq.tlbNondeterminism?.by];
    };
    expect(by(scenarioGuest('paging/tlb-staleness.yaml'), 'shadow-eager')).toEqual([true, 'fresh']);
    expect(by(guestOfOps([{ op: 'read', page: 3 }, { op: 'flush' }, { op: 'remap', page: 3, frame: 0 }, { op: 'read', page: 3 }]), 'shadow-lazy')).toEqual([true, 'refill']);
    const outOfSync: Op[] = [{ op: 'write', page: 1, value: 100 }, { op: 'remap', page: 1, frame: 0 }, { op: 'write', page: 1, value: 100 }, { op: 'invlpg', page: 0 }, { op: 'read', page: 1 }];
    expect(by(guestOfOps(outOfSync), 'shadow-lazy')).toEqual([true, 'drop']);
  });

  it('the limit, as documented: a lazy shadow drops an entry at one invalidation (its table out of sync) and keeps another at the next (in sync); no one mode since a kept checkpoint does both, so the run is reported not equivalent, though the coherence check accepts every entry it used', () => {
    const ops: Op[] = [
      { op: 'write', page: 0, value: 100 },
      { op: 'remap', page: 0, frame: 0 },
      { op: 'invlpg', page: 1 },
      { op: 'read', page: 3 },
      { op: 'invlpg', page: 3 },
      { op: 'remap', page: 0, frame: 1 },
      { op: 'remap', page: 3, frame: 0 },
      { op: 'read', page: 0 },
      { op: 'read', page: 3 },
    ];
    const eq = runGuest('shadow-lazy', guestOfOps(ops)).checks!.equivalence;
    expect([eq.holds, eq.coherence!.violations]).toEqual([false, 0]);
    expect(eq.first!.field).toBe('console');
  });
});
