// With paging on, the CPU's data windows are a cache too: a word read that finds its page
// writable and dirty in the TLB opens the write window over the same frame (a read-modify-write
// then stores without translating again). Random user programs read and write twelve pages
// through an 8-entry TLB while rewriting their own page-table entries (write permission, D,
// presence, the frame) through a view of the table, with snapshots closing the memory epoch in
// between; with windows on and off (tracing) every point must agree — memory (tables and their
// A/D bits included), registers, PSW, traps. Word accesses only: a byte access translates
// without opening a window, and a window left open on another page may then outlive that page's
// evicted TLB entry — a translation the tables held since the last invalidation, which paging
// allows (docs/paging.md) but a run without windows would not repeat.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ST_PG } from '../../src/isa/arch.js';
import type { Machine } from '../../src/isa/machine.js';
import { compareRuns } from '../../src/isa/snapshot.js';
import { assembleFor, bootPaged, USER } from './helpers.js';
import { RESUMING_KERNEL, runChunks } from './programs.js';

const CODE_VA = 0x1000;
const CODE_PA = 0x10000;
const TABLE_VIEW_VA = 0x3000;
const DATA_VA = 0x4000;
const DATA_PA = 0x12000;
const PAGES = 12;
/** x86-32 entry bits */
const P = 1;
const W = 2;
const U = 4;
const A = 0x20;
const D = 0x40;

interface PageSpec {
  readonly write: boolean;
  readonly dirty: boolean;
}

const access = { reg: fc.integer({ min: 1, max: 6 }), base: fc.integer({ min: 8, max: 11 }), offset: fc.integer({ min: 0, max: 7 }) };
const op = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('ld', 'st', 'rmw'), ...access }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pte' as const), page: fc.integer({ min: 0, max: PAGES - 1 }), frame: fc.integer({ min: 0, max: PAGES - 1 }), flags: fc.constantFrom(P | U, P | U | W, P | U | W | A | D, P | U | A, P | U | W | A, 0) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rebase' as const), base: fc.integer({ min: 8, max: 11 }), page: fc.integer({ min: 0, max: PAGES - 1 }) }) },
);

type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** The user program: r8..r11 point into data pages, r13 at the view of the page table; `ops` then a loop. */
function programOf(ops: readonly Op[], bases: readonly number[]): string {
  const lines = ['.org 0x1000', 'start: li r13, 0x3000', ...bases.map((p, i) => `li r${8 + i}, ${DATA_VA + p * 0x1000}`)];
  for (const o of ops) {
    if (o.kind === 'pte') lines.push(`li r12, ${o.flags === 0 ? 0 : DATA_PA + o.frame * 0x1000 + o.flags}`, `st r12, ${((DATA_VA >>> 12) + o.page) * 4}(r13)`);
    else if (o.kind === 'rebase') lines.push(`li r${o.base}, ${DATA_VA + o.page * 0x1000}`);
    else if (o.kind === 'rmw') lines.push(`ld r${o.reg}, ${o.offset * 4}(r${o.base})`, `addi r${o.reg}, r${o.reg}, 1`, `st r${o.reg}, ${o.offset * 4}(r${o.base})`);
    else lines.push(`${o.kind} r${o.reg}, ${o.offset * 4}(r${o.base})`);
  }
  lines.push('end: addi r7, r7, 1', 'jmp end');
  return lines.join('\n');
}

function machineOf(ops: readonly Op[], bases: readonly number[], pages: readonly PageSpec[], tracing: boolean): Machine {
  return machineWith(programOf(ops, bases), pages, tracing);
}

/** The paged machine of this file running the user program `source` (at CODE_VA), its data pages as `pages` say. */
function machineWith(source: string, pages: readonly PageSpec[], tracing: boolean): Machine {
  const { m, root } = bootPaged(RESUMING_KERNEL, 'paging', [[CODE_VA, CODE_PA, 0x1000, { user: true }]], { symbols: { MAXTRAPS: 400 } });
  const leaf = m.mem.read32(root) & ~0xfff;
  expect(leaf).toBe(root + 0x1000); // the table of va 0..4 MiB, allocated by the code's mapping
  for (let k = 0; k < PAGES; k++) m.mem.write32(leaf + ((DATA_VA >>> 12) + k) * 4, (DATA_PA + k * 0x1000) | P | U | A | (pages[k].write ? W : 0) | (pages[k].dirty ? D : 0));
  m.mem.write32(leaf + (TABLE_VIEW_VA >>> 12) * 4, leaf | P | U | W | A | D);
  for (const c of assembleFor(source).chunks) m.mem.writeBytes(CODE_PA + (c.address - CODE_VA), c.bytes);
  for (let k = 0; k < PAGES; k++) m.mem.write32(DATA_PA + k * 0x1000, 0x1111 * (k + 1));
  m.loadPsw({ pc: CODE_VA, status: USER | ST_PG, base: 0, limit: 0, ptbr: root, extra: 0 });
  m.tracing = tracing;
  return m;
}


describe('paging: data windows are invisible', () => {
  it('random programs rewriting their own page-table entries end identically with windows on and off', () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 4, maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: PAGES - 1 }), { minLength: 4, maxLength: 4 }),
        fc.array(fc.record({ write: fc.constantFrom(true, true, true, false), dirty: fc.boolean() }), { minLength: PAGES, maxLength: PAGES }),
        fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
        (ops, bases, pages, chunks, snap) => {
          const traced = runChunks(machineOf(ops, bases, pages, true), chunks, snap, 2000);
          const windowed = runChunks(machineOf(ops, bases, pages, false), chunks, snap, 2000);
          const d = compareRuns(traced, windowed);
          expect(d && { field: d.field, a: d.a, b: d.b, retired: d.retired }).toBeUndefined();
        },
      ),
      { seed: 0x5a7e, numRuns: 400 },
    );
  });

  it('a write window opened by a read closes when its TLB slot is evicted: the next store walks and finds the remapped frame', () => {
    // 8x2 TLB, set = vpn mod 4: data pages 0, 4 and 8 (vpn 4, 8, 12) share set 0, page 1 is in set 1
    const source = `
        .org 0x1000
        li   r13, 0x3000
        li   r8, ${DATA_VA}
        li   r9, ${DATA_VA + 0x1000}
        li   r10, ${DATA_VA + 0x4000}
        li   r11, ${DATA_VA + 0x8000}
        li   r6, 0x77
        ld   r1, 0(r8)             ; page 0: walked, writable and dirty, so the write window opens too
        li   r12, ${DATA_PA + 5 * 0x1000 + (P | U | W | A | D)}
        st   r12, ${(DATA_VA >>> 12) * 4}(r13) ; page 0 now maps frame 5; no invlpg, the TLB keeps frame 0
        ld   r2, 0(r9)             ; page 1 (read-only): the read window moves
        ld   r1, 0(r8)             ; page 0 again: a TLB hit on frame 0, and the write window opens on it
        ld   r2, 0(r9)             ; page 1: the last read served is no longer page 0
        ld   r3, 0(r10)            ; page 4 fills set 0's second way
        ld   r4, 0(r11)            ; page 8 evicts page 0's entry
        st   r6, 0(r8)             ; a TLB miss: walks and stores into frame 5
end:    jmp  end`;
    const pages = Array.from({ length: PAGES }, (_, k) => ({ write: k === 0, dirty: k === 0 }));
    for (const tracing of [true, false]) {
      const m = machineWith(source, pages, tracing);
      m.run(40);
      expect(m.trapsDelivered).toBe(0);
      expect([m.mem.read32(DATA_PA + 5 * 0x1000), m.mem.read32(DATA_PA)]).toEqual([0x77, 0x1111]);
    }
  });
});
