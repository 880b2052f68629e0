// Model-based runs of shadow paging with fast-check's `commands`: random sequences of a guest
// kernel's operations on two address spaces — map a window page to a frame, unmap it, change its
// permissions, write a raw page-table entry, switch the PTBR, invlpg, load, store, fetch
// (call code in a window page), fork (copy one space's window entries into the other, both
// made copy-on-write read-only) and exit — each entry write in the running space followed by
// `invlpg` of its page (a guest that invalidates before use). A small model of the two spaces
// (which pages map which frames) gives each command its precondition (a fetch needs a mapped
// page); the commands append the kernel's assembly. The guest then runs bare — the model the
// shadow VMM is held to — and under both shadow policies, which must be exact (the same events,
// registers and memory at every trap and at the end), coherent before every resume, and safe.
// A failing sequence is shrunk by fast-check and printed as the guest's program. With tracing
// broken on purpose, the search finds such a guest.

import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseScenario } from '../../src/scenario/load.js';
import { guestOf } from '../../src/scenario/under.js';
import { runGuest, ShadowMemory } from '../../src/vmm/index.js';
import { RESUMING_KERNEL } from '../isa/programs.js';
import { describeDivergence } from './helpers.js';

// 4 pages the operations remap, in each space: at 0x800000, or — for a machine whose traps keep
// the address space — at the top, so that page 3 is where the VMM pins its region (0xfffff000)
const WINDOW = 0x800000;
const TOP_WINDOW = 0xffffc000;
const FRAMES = 0x20000; // 16 frames they may point at; each ends with `jr r15` (what a fetch calls)
const PAGES = 4;
const CODE_WORD = 1022; // the last two words of a frame: its code, which loads and stores leave alone
// x86-32 entry bits the raw writes choose from: present, writable, user, write-through, cache-disable, accessed, dirty, global
const ENTRY_BITS = [0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x100];

/** Which frame each window page of each space maps (undefined: not present), and the running space. */
interface Model {
  space: 0 | 1;
  readonly maps: [(number | undefined)[], (number | undefined)[]];
}

/** The kernel's program as the commands write it (r7, r8: the window tables of spaces 0 and 1; r9: the running one's). */
interface Program {
  readonly lines: string[];
}

/** Window page `p`'s address, as an expression over the assembler constant WIN (the window's base). */
const va = (p: number) => `WIN + ${p * 0x1000}`;
const entry = (frame: number, bits: number) => (FRAMES + frame * 0x1000) | bits;

/** A command: its precondition on the model, its effect on the model, and its assembly. */
function command(name: string, asm: (m: Model, label: string) => string, effect: (m: Model) => void = () => {}, pre: (m: Model) => boolean = () => true): fc.Command<Model, Program> {
  return {
    check: (m) => pre(m),
    run: (m, p) => {
      p.lines.push(`; ${name}`, asm(m, `l${p.lines.length}`));
      effect(m);
    },
    toString: () => name,
  };
}

/** Writes `value` into the running space's entry for window page `page`, then invalidates it. */
const writeEntry = (page: number, value: number | string) => `li r1, ${value}\n st r1, ${page * 4}(r9)\n li r2, ${va(page)}\n invlpg r2`;

const page = fc.integer({ min: 0, max: PAGES - 1 });
const frame = fc.integer({ min: 0, max: 15 });
const wordAt = fc.integer({ min: 0, max: CODE_WORD - 1 });

const commands = [
  fc.record({ page, frame, writable: fc.boolean() }).map(({ page: p, frame: f, writable }) =>
    command(`map ${p} -> frame ${f}${writable ? ' writable' : ''}`, () => writeEntry(p, entry(f, writable ? 0x3 : 0x1)), (m) => void (m.maps[m.space][p] = f)),
  ),
  page.map((p) => command(`unmap ${p}`, () => writeEntry(p, 0), (m) => void (m.maps[m.space][p] = undefined))),
  fc.record({ page, writable: fc.boolean() }).map(({ page: p, writable }) =>
    command(`protect ${p}${writable ? ' writable' : ' read-only'}`, () => `ld r1, ${p * 4}(r9)\n ${writable ? 'ori r1, r1, 2' : 'andi r1, r1, -3'}\n st r1, ${p * 4}(r9)\n li r2, ${va(p)}\n invlpg r2`),
  ),
  fc.record({ page, frame, bits: fc.subarray(ENTRY_BITS) }).map(({ page: p, frame: f, bits }) => {
    const b = bits.reduce((x, y) => x | y, 0);
    return command(`pte ${p} = 0x${entry(f, b).toString(16)}`, () => writeEntry(p, entry(f, b)), (m) => void (m.maps[m.space][p] = b & 1 ? f : undefined));
  }),
  fc.constant(command('switch', (m) => `li r1, ${m.space === 0 ? 'kpt2' : 'kpt'}\n setptbr r1\n ${m.space === 0 ? 'mov r9, r8' : 'mov r9, r7'}`, (m) => void (m.space = m.space === 0 ? 1 : 0))),
  page.map((p) => command(`invlpg ${p}`, () => `li r2, ${va(p)}\n invlpg r2`)),
  fc.record({ page, word: wordAt }).map(({ page: p, word }) => command(`load ${p}:${word}`, () => `li r5, ${va(p)} + ${word * 4}\n ld r6, (r5)`)),
  fc.record({ page, word: wordAt, value: fc.integer({ min: 1, max: 0xffff }) }).map(({ page: p, word, value }) =>
    command(`store ${p}:${word} = ${value}`, () => `li r5, ${va(p)} + ${word * 4}\n li r6, ${value}\n st r6, (r5)`),
  ),
  page.map((p) =>
    command(`fetch ${p}`, (_m, label) => `li r15, ${label}\n li r5, ${va(p)} + ${CODE_WORD * 4}\n jr r5\n${label}:`, undefined, (m) => m.maps[m.space][p] !== undefined),
  ),
  fc.constant(
    command(
      'fork',
      (m) => {
        const [from, to] = m.space === 0 ? ['r7', 'r8'] : ['r8', 'r7'];
        const copy = Array.from({ length: PAGES }, (_, p) => `ld r1, ${p * 4}(${from})\n andi r1, r1, -3\n st r1, ${p * 4}(${from})\n st r1, ${p * 4}(${to})\n li r2, ${va(p)}\n invlpg r2`);
        return copy.join('\n ');
      },
      (m) => void (m.maps[m.space === 0 ? 1 : 0] = [...m.maps[m.space]] as (number | undefined)[]),
    ),
  ),
];

/**
 * The guest: the resuming trap handler at 0 (unpaged), the paged kernel at 0x1000 running
 * `lines`, then exit (halt); the window at `window` (r7, r8 point at its first entry in each
 * space's table), and traps that keep the address space when `keepsSpace`.
 */
function guestOfProgram(lines: readonly string[], window = WINDOW, keepsSpace = false) {
  const handler = RESUMING_KERNEL.replace(/MEM/g, '0x40000').replace(/MAXTRAPS/g, '60');
  const table = (reg: string, root: string) => [`li ${reg}, ${(window >>> 22) * 4}`, `ld ${reg}, ${root}(${reg})`, `andi ${reg}, ${reg}, 0xfffff000`, `addi ${reg}, ${reg}, ${((window >>> 12) & 1023) * 4}`];
  const kernel = ['.org 0x1000', `.equ WIN, ${window}`, 'start: li r0, 0', ...table('r7', 'kpt'), ...table('r8', 'kpt2'), 'mov r9, r7', ...lines, '; exit', 'halt'].join('\n ');
  const frames = Array.from({ length: 16 }, (_, f) => `.org ${f * 0x1000 + CODE_WORD * 4}\n jr r15`).join('\n');
  const space = (name: string) => `  - name: ${name}
    map:
      - { va: 0, pa: 0, size: 256 KiB, perms: rwx }
      - { va: ${window}, pa: ${FRAMES}, size: ${PAGES * 4} KiB, perms: rw }`;
  const text = `machine:
  memory: 256 KiB
  translation: paging
  trapSwitchesAddressSpace: ${!keepsSpace}
  paging: { geometry: x86-32, tlb: { entries: 8, ways: 2 } }
pageTables:
${space('kpt')}
${space('kpt2')}
programs:
  - { name: handler, at: 0, source: ${JSON.stringify(handler)} }
  - { name: kernel, org: 0x1000, at: 0x1000, source: ${JSON.stringify(kernel)} }
  - { name: frames, at: ${FRAMES}, source: ${JSON.stringify(frames)} }
psw: { pc: start, mode: s, pg: true, wp: true, ptbr: kpt }
steps: 8000
`;
  return guestOf(parseScenario(text, 'model.yaml'));
}

/** The kernel program the commands write (the model starts with both spaces mapping page p to frame p). */
function programOf(cmds: Iterable<fc.Command<Model, Program>>): string[] {
  const program: Program = { lines: [] };
  const model: Model = { space: 0, maps: [[0, 1, 2, 3], [0, 1, 2, 3]] };
  fc.modelRun(() => ({ model, real: program }), cmds);
  return program.lines;
}

/** Why `kind` is not exact, coherent and safe on the guest of `lines`, or undefined; counts its page faults into `seen`. */
function problem(kind: 'shadow-eager' | 'shadow-lazy', lines: readonly string[], seen: Seen, top: boolean): string | undefined {
  const r = runGuest(kind, top ? guestOfProgram(lines, TOP_WINDOW, true) : guestOfProgram(lines));
  const eq = r.checks!.equivalence;
  if (r.traps.illegal) return `the program itself is broken: ${r.traps.illegal} illegal-instruction traps`;
  seen.faults += r.traps['page-fault'] ?? 0;
  seen.fetches += r.instructions.jr ?? 0;
  seen.region += r.placement!.shadow!.region;
  if (!eq.holds) return `not exact: ${describeDivergence(eq.first)}; coherence ${JSON.stringify(eq.coherence)}`;
  if (eq.tlbNondeterminism) return `not exact (the guest invalidates before use): within TLB nondeterminism at ${describeDivergence(eq.tlbNondeterminism.first)}`;
  if (!r.checks!.safety.holds) return `not safe: ${r.checks!.safety.first?.detail}`;
  return undefined;
}

interface Seen {
  faults: number;
  fetches: number;
  /** guest accesses to the VMM's region (the window at the top, under compression) */
  region: number;
}

const property = (kind: 'shadow-eager' | 'shadow-lazy', seen: Seen, top = false) =>
  fc.property(fc.commands(commands, { maxCommands: 40, size: 'medium' }), (cmds) => {
    const lines = programOf(cmds);
    const why = problem(kind, lines, seen, top);
    if (why) throw new Error(`${why}\nthe guest's operations:\n ${lines.join('\n ')}`);
  });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('shadow paging against the bare machine, on random kernel operations over two address spaces (fast-check commands)', () => {
  it.each(['shadow-eager', 'shadow-lazy'] as const)('%s is exact, coherent and safe', (kind) => {
    const seen = { faults: 0, fetches: 0, region: 0 };
    fc.assert(property(kind, seen), { numRuns: Number(process.env.MODEL_RUNS ?? 60), seed: Number(process.env.MODEL_SEED ?? 31337) });
    expect(seen.faults).toBeGreaterThan(20); // page faults on unmapped and read-only pages: the operations do collide
    expect(seen.fetches).toBeGreaterThan(20); // calls into window pages: fetches go through the shadow too
  });

  it.each(['shadow-eager', 'shadow-lazy'] as const)('%s with traps that keep the address space, the window at the top (its last page where the VMM pins its region): exact, coherent and safe', (kind) => {
    const seen = { faults: 0, fetches: 0, region: 0 };
    fc.assert(property(kind, seen, true), { numRuns: Number(process.env.MODEL_RUNS ?? 40), seed: Number(process.env.MODEL_SEED ?? 4711) });
    expect(seen.region).toBeGreaterThan(20); // the operations on window page 3 all run on the virtual CPU
    expect(seen.fetches).toBeGreaterThan(10);
  });

  it('with tracing broken on purpose, the search finds a guest the shadow gets wrong, shrinks it and prints its program', () => {
    vi.spyOn(ShadowMemory.prototype as unknown as { trace(gpa: number): boolean }, 'trace').mockReturnValue(false);
    const out = fc.check(property('shadow-eager', { faults: 0, fetches: 0, region: 0 }), { numRuns: 200, seed: 7 });
    expect(out.failed).toBe(true);
    const message = String((out.errorInstance as Error).message);
    expect(message).toMatch(/^not exact: /);
    const ops = message.split('\n').filter((l) => l.trim().startsWith('; '));
    expect(ops.length).toBeLessThanOrEqual(6); // shrunk to a handful of operations
    if (process.env.MODEL_PRINT) console.log(message);
  });
});
