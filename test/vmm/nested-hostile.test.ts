// Hostile paging guests under nested paging (and shadow paging): a user process that can write its own page tables
// (an alias maps them into its address space) fills them with random entries — frames past
// guest-physical memory, reserved bits, large-page bits, pointers into the kernel or back into
// the tables — then loads, stores and jumps through them. Whatever the bare machine does (a page
// fault, a reserved-bit fault, a bus error, a strange translation), the guest must see exactly that
// under nested paging, and no access may reach host memory the VM was not given: the bus
// checker holds every access, the real MMU's walks of the corrupted tables included.

import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { guestOf } from '../../src/scenario/under.js';
import { runGuest, ShadowMemory, type NestedOptions } from '../../src/vmm/index.js';
import { RESUMING_KERNEL } from '../isa/programs.js';
import { describeDivergence } from './helpers.js';

/** Guest-physical memory, where the loader builds the tables, and where the process sees them. */
const MEMORY = 0x40000;
const TABLES = 0x30000;
const ALIAS = 0x800000;

/** One step of the hostile process, as assembly. */
const step = fc.oneof(
  // a random word written into the tables: anywhere in them, often over an entry in use
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.oneof(
          { weight: 3, arbitrary: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 7 })).map(([t, i]) => t * 0x1000 + (t === 0 ? i % 3 : i) * 4) }, // the entries in use: the root's first three, each table's first eight
          { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1fff }).map((i) => i * 4) },
        ),
        fc.oneof(
          fc.integer({ min: 0, max: 0xffff_ffff }),
          fc.integer({ min: 0, max: 0xfffff }).map((f) => ((f << 12) | 0x67) >>> 0), // present, any frame
          fc.integer({ min: 0, max: MEMORY / 4096 - 1 }).map((f) => ((f << 12) | 0xe7) >>> 0), // a large page in memory
          fc.constantFrom(0, 0x67, ((TABLES << 0) | 0x67) >>> 0, 0x20067, 0x40067, 0xfffff067),
        ),
      )
      .map(([off, v]) => `li r1, ${v}\n        li r2, ${ALIAS + off}\n        st r1, 0(r2)`),
  },
  // a load, a store or a byte store at a random address, mostly where something was mapped
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom('ld r3, 0(r2)', 'st r3, 0(r2)', 'stb r3, 0(r2)', 'ldb r3, 0(r2)'), fc.oneof(fc.integer({ min: 0, max: 0x3fff }), fc.integer({ min: ALIAS, max: ALIAS + 0x7fff }), fc.integer({ min: 0, max: 0xffff_fffc })).map((a) => (a & 7) === 7 ? a : a & ~3))
      .map(([op, a]) => `li r2, ${a}\n        ${op}`),
  },
  // a jump somewhere (the kernel resumes 8 bytes on after a fault, at most 12 times)
  { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 0, max: 0x3ff }).map((i) => i * 8), fc.constant(0x400000)).map((a) => `li r4, ${a}\n        jr r4`) },
  // the kernel's own instructions, trapping here
  { weight: 1, arbitrary: fc.constantFrom('tlbflush', 'invlpg r2', 'svc 0') },
);

/** The guest: the resuming kernel unpaged, the process at 0x400000 with its data at 0 and its tables at ALIAS. */
function hostileGuest(steps: readonly string[]) {
  const kernel = RESUMING_KERNEL.replace(/MEM/g, String(MEMORY)).replace(/MAXTRAPS/g, '12');
  const program = `.org 0x400000\n        ${steps.join('\n        ')}\n        svc 0\n`;
  const text = `machine:
  memory: 256 KiB
  translation: paging
  paging: { geometry: x86-32, tlb: { entries: 8, ways: 2 }, tables: { at: ${TABLES}, size: 32 KiB } }
pageTables:
  - name: upt
    map:
      - { va: 0x400000, pa: 0x10000, size: 8 KiB, perms: rxu }
      - { va: 0, pa: 0x20000, size: 16 KiB, perms: rwu }
      - { va: ${ALIAS}, pa: ${TABLES}, size: 32 KiB, perms: rwu }
programs:
  - { name: kernel, at: 0, source: ${JSON.stringify(kernel)} }
  - { name: user, at: 0x10000, org: 0x400000, source: ${JSON.stringify(program)} }
psw: { pc: 0x400000, mode: u, pg: true, ptbr: upt }
steps: 600
`;
  return guestOf(parseScenario(text, 'hostile-tables.yaml'));
}

describe('hostile page tables under nested paging', () => {
  // Nested paging must be exact. Shadow tables can be fresher or staler than a TLB (eager: never
  // stale; lazy: stale until the guest invalidates, however long a TLB would have kept the entry),
  // so a process that uses an entry it changed without invalidating may see another translation
  // than bare hardware: both are allowed, so under shadow paging safety and the shadow's coherence
  // (lazy: within the guest's table history) are required, not equality (the exact cases are in
  // shadow.test.ts); some runs are still counted exact.
  it.each<['nested' | 'shadow-eager' | 'shadow-lazy', string, NestedOptions]>([
    ['nested', 'contiguous', {}],
    ['nested', 'on-demand', { memory: 0x80000, physmaps: ['on-demand'] }],
    ['shadow-eager', 'contiguous', {}],
    ['shadow-eager', 'on-demand', { memory: 0x80000, physmaps: ['on-demand'] }],
    ['shadow-lazy', 'contiguous', {}],
  ])('%s: a process that corrupts its own tables touches only its own memory (%s physmap)', (kind, _name, nested) => {
    let faults = 0;
    let exact = 0;
    fc.assert(
      fc.property(fc.array(step, { minLength: 4, maxLength: 24 }), (steps) => {
        const r = runGuest(kind, hostileGuest(steps), { nested });
        const c = r.checks!;
        if (kind === 'nested' && !c.equivalence.holds) throw new Error(`not equivalent: ${describeDivergence(c.equivalence.first)}`);
        if (!c.safety.holds) throw new Error(`not safe: ${c.safety.first?.detail}`);
        // the shadow itself stays coherent however the tables are corrupted (lazy: within the guest's table history)
        const incoherent = c.equivalence.coherence;
        if (incoherent && incoherent.violations > 0) throw new Error(`incoherent: ${incoherent.first?.detail}`);
        faults += r.events.trap ?? 0;
        if (c.equivalence.holds) exact++;
      }),
      { numRuns: Number(process.env.HOSTILE_RUNS ?? 40), seed: Number(process.env.HOSTILE_SEED ?? 4242) },
    );
    expect(faults).toBeGreaterThan(40); // the generator does reach faults, not only clean runs
    expect(exact).toBeGreaterThan(0);
  });

  it('a stale entry survives an exit the guest cannot see (the shrunk case that found the real TLB emptied at every exit)', () => {
    // the process points its code's directory entry at frame 0 without invalidating; bare, it
    // runs on from the TLB until a data access evicts the code page; under nested paging a
    // repair exit (the first touch of an on-demand page) comes in between
    const steps = [`li r1, 103\n        li r2, ${ALIAS + 4}\n        st r1, 0(r2)`, 'li r2, 0\n        ld r3, 0(r2)', 'svc 0'];
    const r = runGuest('nested', hostileGuest(steps), { nested: { memory: 0x80000, physmaps: ['on-demand'] } });
    expect(r.efficiency!.exits.repair).toBeGreaterThan(0);
    expect(r.checks!.equivalence).toMatchObject({ holds: true });
    expect(r.traps['page-fault']).toBeGreaterThan(0); // and the guest does fault, at the same instruction as bare
  });

  it('an emulated store through the virtual CPU\'s stale TLB entry into a traced table (the shrunk case that found it): the shadow spaces that read through it are emptied — with that step broken on purpose, the shadow goes incoherent', () => {
    // the process points directory entry 2 (its alias of the tables) at frame 0 without
    // invalidating, touches page 0, then stores 0 through the alias: bare, its TLB still maps the
    // alias onto the directory and the store clears directory entry 0; under shadow paging the
    // real machine misses, the guest's tables now forbid the store (a true fault), and the virtual
    // CPU — whose TLB is as stale as bare hardware's — performs it, into the traced directory
    const steps = [`li r1, 103\n        li r2, ${ALIAS + 8}\n        st r1, 0(r2)`, 'li r2, 0\n        ld r3, 0(r2)', `li r1, 0\n        li r2, ${ALIAS}\n        st r1, 0(r2)`, 'li r2, 0\n        ld r3, 0(r2)'];
    const coherence = () => runGuest('shadow-eager', hostileGuest(steps)).checks!.equivalence.coherence!;
    expect(coherence()).toMatchObject({ violations: 0 });
    vi.spyOn(ShadowMemory.prototype as unknown as { settleWrites(): void }, 'settleWrites').mockImplementation(() => {});
    const broken = coherence();
    expect(broken.violations).toBeGreaterThan(0);
    expect(broken.first!.detail).toMatch(/^shadow allows read at 0x0 in the user view, the guest's tables do not/);
    vi.restoreAllMocks();
  });
});
