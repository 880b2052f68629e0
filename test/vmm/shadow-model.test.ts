// Model-based runs of shadow paging: random sequences of a kernel's page-table operations — map a
// window page to some frame (writable or not), unmap it, load, store, flush the TLB — each entry
// write followed by `invlpg` of its page (a guest that invalidates before use), run bare (the
// model) and under both shadow policies, which must then be exact: the same events, registers
// and memory at every trap and at the end, and a coherent shadow before every resume. A failing
// sequence is shrunk by fast-check and printed as the guest's program.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { guestOf } from '../../src/scenario/under.js';
import { runGuest } from '../../src/vmm/index.js';
import { RESUMING_KERNEL } from '../isa/programs.js';
import { describeDivergence } from './helpers.js';

const WINDOW = 0x800000; // 16 pages the operations remap
const FRAMES = 0x20000; // 16 frames they may point at

type Op =
  | { readonly op: 'map'; readonly page: number; readonly frame: number; readonly writable: boolean }
  | { readonly op: 'unmap'; readonly page: number }
  | { readonly op: 'load'; readonly page: number; readonly word: number }
  | { readonly op: 'store'; readonly page: number; readonly word: number; readonly value: number }
  | { readonly op: 'flush' };

const page = fc.integer({ min: 0, max: 3 }); // few pages: operations collide on them
const word = fc.integer({ min: 0, max: 1023 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('map' as const), page, frame: fc.integer({ min: 0, max: 15 }), writable: fc.boolean() }),
  fc.record({ op: fc.constant('unmap' as const), page }),
  fc.record({ op: fc.constant('load' as const), page, word }),
  fc.record({ op: fc.constant('load' as const), page, word }),
  fc.record({ op: fc.constant('store' as const), page, word, value: fc.integer({ min: 1, max: 0xffff }) }),
  fc.record({ op: fc.constant('store' as const), page, word, value: fc.integer({ min: 1, max: 0xffff }) }),
  fc.record({ op: fc.constant('flush' as const) }),
);

/** One operation as the kernel's assembly (r7 = the window's page table, found at boot). */
function asm(o: Op): string {
  const va = (p: number) => WINDOW + p * 0x1000;
  switch (o.op) {
    case 'map':
      return `li r1, ${(FRAMES + o.frame * 0x1000) | (o.writable ? 0x3 : 0x1)}\n st r1, ${o.page * 4}(r7)\n li r2, ${va(o.page)}\n invlpg r2`;
    case 'unmap':
      return `st r0, ${o.page * 4}(r7)\n li r2, ${va(o.page)}\n invlpg r2`;
    case 'load':
      return `li r5, ${va(o.page) + o.word * 4}\n ld r6, (r5)`;
    case 'store':
      return `li r5, ${va(o.page) + o.word * 4}\n li r6, ${o.value}\n st r6, (r5)`;
    case 'flush':
      return 'tlbflush';
  }
}

/** The guest: the resuming trap handler at 0 (unpaged), the paged kernel at 0x1000 running `ops`. */
function guestOfOps(ops: readonly Op[]) {
  const handler = RESUMING_KERNEL.replace(/MEM/g, '0x40000').replace(/MAXTRAPS/g, '40');
  const kernel = ['.org 0x1000', 'start: li r0, 0', `li r7, ${(WINDOW >>> 22) * 4}`, 'ld r7, kpt(r7)', 'andi r7, r7, 0xfffff000', ...ops.map(asm), 'halt'].join('\n ');
  const text = `machine:
  memory: 256 KiB
  translation: paging
  paging: { geometry: x86-32, tlb: { entries: 8, ways: 2 } }
pageTables:
  - name: kpt
    map:
      - { va: 0, pa: 0, size: 256 KiB, perms: rwx }
      - { va: ${WINDOW}, pa: ${FRAMES}, size: 64 KiB, perms: rw }
programs:
  - { name: handler, at: 0, source: ${JSON.stringify(handler)} }
  - { name: kernel, org: 0x1000, at: 0x1000, source: ${JSON.stringify(kernel)} }
psw: { pc: start, mode: s, pg: true, ptbr: kpt }
steps: 5000
`;
  return guestOf(parseScenario(text, 'model.yaml'));
}

describe('shadow paging against the bare machine, on random page-table operations that invalidate before use', () => {
  it.each(['shadow-eager', 'shadow-lazy'] as const)('%s is exact and coherent', (kind) => {
    let traps = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
        const r = runGuest(kind, guestOfOps(ops));
        const eq = r.checks!.equivalence;
        if (!eq.holds) throw new Error(`not exact: ${describeDivergence(eq.first)}; coherence ${JSON.stringify(eq.coherence)}\nthe guest's operations:\n ${ops.map(asm).join('\n ')}`);
        if (!r.checks!.safety.holds) throw new Error(`not safe: ${r.checks!.safety.first?.detail}`);
        if (r.traps.illegal) throw new Error(`the program itself is broken: ${r.traps.illegal} illegal-instruction traps`);
        traps += r.traps['page-fault'] ?? 0;
      }),
      { numRuns: Number(process.env.MODEL_RUNS ?? 60), seed: Number(process.env.MODEL_SEED ?? 31337) },
    );
    expect(traps).toBeGreaterThan(20); // page faults on unmapped and read-only pages: the operations do collide
  });
});
