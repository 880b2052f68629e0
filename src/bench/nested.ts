// Nested paging in `shadowlab bench`: the bench loop (warm, and striding over 64 data pages)
// on a four-level guest whose guest-physical memory a four-level host table places in host
// memory, measured against the same loop on bare four-level paging in the same run.

import { assemble } from '../asm/index.js';
import { Machine } from '../isa/machine.js';
import { classic } from '../isa/profiles/classic.js';
import { createPager } from '../mmu/paging-unit.js';
import type { TlbConfig } from '../mmu/tlb.js';
import { GEOMETRIES, map } from '../paging/index.js';
import { median } from './median.js';
import { benchSource } from './vmm.js';

const FOREVER = 2 ** 31 - 1;
/** where guest-physical memory lives in host memory, and how much of it there is */
const GUEST_BASE = 8 << 20;
const GUEST_SIZE = 4 << 20;
/** host tables (4 KiB host pages, so every stage-2 walk has four levels) */
const HOST_TABLES = 4 << 20;

/**
 * The loop of pagingLoopMachine (code at virtual 0x80, 64 data pages from virtual 0, an unpaged
 * kernel that halts on a trap) with every guest address in guest-physical memory and a
 * four-level stage 2 mapping it, 4 KiB page by page, to GUEST_BASE.
 */
export function nestedLoopMachine(source = benchSource('loop.s'), tlb: TlbConfig = { entries: 16, ways: 4 }): Machine {
  const g = GEOMETRIES['four-level'];
  let nextHost = HOST_TABLES;
  const hostAlloc = () => (nextHost += 4096) - 4096;
  const hostRoot = hostAlloc();
  const stage2 = { geometry: g, root: hostRoot, guestSize: GUEST_SIZE };
  const m = new Machine({ profile: classic, memorySize: 16 << 20, translation: 'paging', pager: (mem) => createPager(mem, { geometry: g, tlb, stage2 }) });
  map(g, m.mem, hostRoot, 0, GUEST_BASE, GUEST_SIZE, { write: true, user: true }, hostAlloc);
  const guest = m.mem.window(GUEST_BASE, GUEST_SIZE);
  const load = (text: string, at: number, into = guest) => assemble(text, { profile: classic }).chunks.forEach((c) => into.writeBytes(at + c.address, c.bytes));
  load('.org 0\n.psw pc=stop, mode=s\n.org 0x80\nstop: halt\n', 0, m.mem);
  load(source, 0x100000);
  let next = 0x300000;
  const alloc = () => (next += 4096) - 4096;
  const root = alloc();
  map(g, guest, root, 0, 0x100000, 64 * 4096, { write: true, user: true }, alloc);
  m.regs[5] = FOREVER;
  m.loadPsw({ pc: 0x80, status: 1 | 0x200, base: 0, limit: 0, ptbr: root, extra: 0 });
  return m;
}

/** Rates (millions of instructions per second, medians) of the same loop bare and nested. */
export interface NestedRates {
  readonly bare: number;
  readonly nested: number;
  /** nested / bare */
  readonly ratio: number;
}

/**
 * Runs `bare` and `nested` alternately, `runs` times each for `instructions` instructions,
 * so both see the same machine conditions; returns the medians.
 */
export function measurePair(bare: Machine, nested: Machine, { runs, instructions }: { runs: number; instructions: number }): NestedRates {
  const rates: [number[], number[]] = [[], []];
  for (let i = 0; i < runs; i++) {
    [bare, nested].forEach((m, k) => {
      const before = m.retired;
      const t0 = process.hrtime.bigint();
      m.run(instructions);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      rates[k].push((m.retired - before) / seconds / 1e6);
    });
  }
  const [b, n] = rates.map(median);
  return { bare: b, nested: n, ratio: n / b };
}
