// A machine's guest-physical memory may be a plain memory, a window onto a larger host, or lie
// over a physmap (contiguous, scattered explicit pages, pages mapped on first touch from a
// fragmented pool). Whatever the layout, the same guest must run the same way: identical
// snapshots in guest-physical terms (memory hash, registers, PSW, traps) at every point.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assemble } from '../../src/asm/index.js';
import { ST_IE, ST_PG } from '../../src/isa/arch.js';
import { Machine } from '../../src/isa/machine.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { compareRuns, type MachineSnapshot } from '../../src/isa/snapshot.js';
import type { PhysicalMemory } from '../../src/mmu/memory.js';
import { createPager } from '../../src/mmu/paging-unit.js';
import { GEOMETRIES, map, type Geometry } from '../../src/paging/index.js';
import { USER } from './helpers.js';
import { LAYOUT_KINDS, layoutMemory, layoutPlan, type LayoutPlan } from './layouts.js';
import { guestMachineOn, guestRun, programText, registerValues, RESUMING_KERNEL, runChunks, type GuestRun } from './programs.js';


/** Every layout's run agrees with the plain memory's: at every snapshot and at the end (hash included). */
function expectSameRuns(runs: readonly MachineSnapshot[][]): void {
  const [plain, ...others] = runs;
  others.forEach((run, i) => {
    const d = compareRuns(plain, run);
    expect(d && { layout: LAYOUT_KINDS[i + 1], field: d.field, a: d.a, b: d.b, retired: d.retired }).toBeUndefined();
    expect({ layout: LAYOUT_KINDS[i + 1], hash: run[run.length - 1].memory.hash() }).toEqual({ layout: LAYOUT_KINDS[i + 1], hash: plain[plain.length - 1].memory.hash() });
  });
}

const chunksArb = fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 10 });
const snapArb = fc.array(fc.boolean(), { minLength: 10, maxLength: 10 });

/** Segment guests in a 4 KiB machine (the tiny geometry's size): kernel below 0x400, program above. */
const tinyRun: fc.Arbitrary<GuestRun> = fc
  .tuple(fc.constantFrom<'size' | 'end'>('size', 'end'), fc.integer({ min: 0x400, max: 0xf80 }), fc.integer({ min: 0, max: 0xc00 }), fc.integer({ min: 4, max: 16 }), fc.constantFrom(0, USER), fc.boolean(), fc.constantFrom(0, 0, 2, 20))
  .chain(([bounds, base, size, length, mode, ie, timer]) => {
    const limit = bounds === 'end' ? base + size : size;
    const span = Math.min(size, 0x800);
    return fc.record({
      program: programText({ length, span: Math.max(span, 8 * length), selfModifying: true }),
      regs: registerValues(span),
      segment: fc.constant({ bounds, base, limit }),
      status: fc.constant(mode | (ie ? ST_IE : 0)),
      timer: fc.constant(timer),
    });
  });

describe('the same guest over every guest-physical layout', () => {
  it('segment guests, 4 KiB pages: plain, window, contiguous, scattered and pool memories run identically', () => {
    fc.assert(
      fc.property(guestRun({ minBase: 0x400, modes: [0, USER], selfModifying: true }), layoutPlan(16), chunksArb, snapArb, (g, plan, chunks, snap) => {
        const runs = LAYOUT_KINDS.map((kind) => runChunks(guestMachineOn(RESUMING_KERNEL, g, layoutMemory(kind, plan, 0x10000, 0x1000)), chunks, snap));
        expectSameRuns(runs);
      }),
      { seed: 0x9a1, numRuns: 120 },
    );
  });

  it('segment guests in a 4 KiB machine with 32-byte pages (tiny): every layout runs identically', () => {
    fc.assert(
      fc.property(tinyRun, layoutPlan(128), chunksArb, snapArb, (g, plan, chunks, snap) => {
        const runs = LAYOUT_KINDS.map((kind) => runChunks(guestMachineOn(RESUMING_KERNEL, g, layoutMemory(kind, plan, 0x1000, 32), { memorySize: 0x1000 }), chunks, snap));
        expectSameRuns(runs);
      }),
      { seed: 0x9a2, numRuns: 120 },
    );
  });

  /** A paging machine over `memory`: RESUMING_KERNEL unpaged, the program paged at virtual 0 (code at `code`), tables from `tables`. */
  function pagingMachine(geometry: Geometry, memory: PhysicalMemory, program: string, regs: readonly number[], p: { size: number; code: number; span: number; tables: number; status: number }): Machine {
    const m = new Machine({ profile: classic, memorySize: p.size, translation: 'paging', pager: (mem) => createPager(mem, { geometry, tlb: { entries: 4, ways: 2 } }) }, memory);
    for (const c of assemble(RESUMING_KERNEL, { profile: classic, symbols: { MEM: p.size, MAXTRAPS: 24 } }).chunks) m.mem.writeBytes(c.address, c.bytes);
    const page = 2 ** geometry.offsetBits;
    let next = p.tables;
    const alloc = () => (next += page) - page;
    const root = alloc();
    map(geometry, m.mem, root, 0, p.code, p.span, { write: true, user: true }, alloc);
    for (const c of assemble(program, { profile: classic }).chunks) {
      const n = Math.max(0, Math.min(c.bytes.length, p.span - c.address));
      if (n > 0) m.mem.writeBytes(p.code + c.address, c.bytes.subarray(0, n));
    }
    m.regs.set(regs);
    m.loadPsw({ pc: 0, status: p.status | ST_PG, base: 0, limit: p.size, ptbr: root, extra: 0 });
    return m;
  }

  const pagingCase = (span: number) =>
    fc.tuple(fc.integer({ min: 4, max: 16 }), fc.constantFrom(0, USER)).chain(([length, mode]) =>
      fc.record({ program: programText({ length, span, selfModifying: true }), regs: registerValues(span), mode: fc.constant(mode) }),
    );

  it('paging guests (x86-32 in 64 KiB, tiny in 4 KiB): their tables walked and A/D bits set in guest-physical memory over every layout', () => {
    const cases: [Geometry, number, { size: number; code: number; span: number; tables: number }][] = [
      [GEOMETRIES['x86-32'], 16, { size: 0x10000, code: 0x4000, span: 0x2000, tables: 0x8000 }],
      [GEOMETRIES.tiny, 128, { size: 0x1000, code: 0x400, span: 0x200, tables: 0xc00 }],
    ];
    for (const [geometry, pages, p] of cases) {
      fc.assert(
        fc.property(pagingCase(p.span), layoutPlan(pages), chunksArb, snapArb, ({ program, regs, mode }, plan: LayoutPlan, chunks, snap) => {
          const page = p.size / pages;
          const runs = LAYOUT_KINDS.map((kind) => runChunks(pagingMachine(geometry, layoutMemory(kind, plan, p.size, page), program, regs, { ...p, status: mode }), chunks, snap));
          expectSameRuns(runs);
        }),
        { seed: 0x9a3, numRuns: 60 },
      );
    }
  });
});
