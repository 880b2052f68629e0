// `npm run bench`: guest instructions per second of the step loop, median of several runs,
// with the hand-written reference interpreter measured in the same run for scale.

import { assemble } from '../asm/index.js';
import { Machine, type MachineConfig } from '../isa/machine.js';
import { classic } from '../isa/profiles/classic.js';
import { ST_MODE_MASK } from '../isa/arch.js';
import { runReference } from './reference.js';
import { createPager, type PagingUnit } from '../mmu/paging-unit.js';
import { GEOMETRIES, map } from '../paging/index.js';
import { Op } from '../isa/instructions.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const INSTRUCTIONS = Number(process.env.BENCH_INSTRUCTIONS ?? 20_000_000);

/** The user-mode loop: 6 instructions per iteration (ALU, load, store, branch). */
export const LOOP_SOURCE = `
        .org 0x80
start:  li   r1, 0
        li   r2, 0x1000
loop:   ld   r3, 0(r2)
        addi r3, r3, 3
        st   r3, 0(r2)
        addi r1, r1, 1
        xor  r4, r1, r3
        bne  r1, r5, loop
        svc  0
`;

/** Trap vector and a kernel that halts on the first trap. */
export const HALT_KERNEL = `
        .org 0
        .psw pc=stop, mode=s
        .org 0x80
stop:   halt
`;

/** Median of `xs`. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Loads `source` at physical `at` into `m`. */
export function load(m: Machine, source: string, at: number): void {
  for (const c of assemble(source, { profile: m.profile }).chunks) m.mem.writeBytes(at + c.address, c.bytes);
}

/** A segment machine running the bench loop in user mode at base 32 KB, ready to run. */
export function segmentLoopMachine(config: Partial<MachineConfig> = {}): Machine {
  const m = new Machine({ profile: classic, memorySize: 1 << 20, ...config });
  load(m, HALT_KERNEL, 0);
  load(m, LOOP_SOURCE, 0x8000);
  m.regs[5] = 0x7fffffff;
  m.loadPsw({ pc: 0x80, status: 1 & ST_MODE_MASK, base: 0x8000, limit: 0x10000, ptbr: 0, extra: 0 });
  return m;
}

/** The page-striding variant of the loop: each iteration moves r2 to the next of 64 data pages. */
export const STRIDE_SOURCE = LOOP_SOURCE.replace('xor  r4, r1, r3', 'addi r2, r2, 4096\n        andi r2, r2, 0x3ffff');

/**
 * A four-level paging machine running `source` in user mode: code at virtual 0x80 of page 0,
 * 64 data pages from virtual 0 (the loop's r2 starts at 0x1000), kernel unpaged in low memory.
 */
export function pagingLoopMachine(source = LOOP_SOURCE, tlb = { entries: 16, ways: 4 }): Machine {
  const g = GEOMETRIES['four-level'];
  const m = new Machine({ profile: classic, memorySize: 4 << 20, translation: 'paging', pager: (mem) => createPager(mem, { geometry: g, tlb }) });
  load(m, HALT_KERNEL, 0);
  load(m, source, 0x100000);
  let next = 0x300000;
  const alloc = () => (next += 4096) - 4096;
  const root = alloc();
  map(g, m.mem, root, 0, 0x100000, 64 * 4096, { write: true, user: true }, alloc);
  m.regs[5] = 0x7fffffff;
  m.loadPsw({ pc: 0x80, status: 1 | 0x200, base: 0, limit: 0, ptbr: root, extra: 0 });
  return m;
}

/** Translations the run needed (fetches + data accesses) and how the paging unit served them. */
export function tlbFigures(m: Machine): { hitRate: number; refsPerMiss: number } {
  const c = (m.pager as PagingUnit).counters();
  const data = [Op.Ld, Op.Ldb, Op.St, Op.Stb].reduce((n, op) => n + m.opCounts[op], 0);
  const translations = m.retired + data;
  return { hitRate: 1 - c.tlbMisses / translations, refsPerMiss: c.walks ? c.walkRefs / c.walks : 0 };
}

/** Millions of instructions per second retired by `m.run`, median of RUNS runs. */
export function measure(m: Machine, instructions = INSTRUCTIONS): number {
  const rates: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const before = m.retired;
    const t0 = process.hrtime.bigint();
    m.run(instructions);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push((m.retired - before) / seconds / 1e6);
  }
  return median(rates);
}

function measureReference(): number {
  const rates: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const r = runReference(INSTRUCTIONS / 6);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(r.instructions / seconds / 1e6);
  }
  return median(rates);
}

function main(): void {
  const reference = measureReference();
  console.log(`bench reference: ${reference.toFixed(1)} Minstr/s (hand-written interpreter of the same loop, no translation)`);
  const segment = measure(segmentLoopMachine());
  console.log(`bench segment: ${segment.toFixed(1)} Minstr/s (${((segment / reference) * 100).toFixed(0)}% of reference)`);
  const warm = pagingLoopMachine();
  const paging = measure(warm);
  const w = tlbFigures(warm);
  console.log(
    `bench paging: ${paging.toFixed(1)} Minstr/s (four-level, TLB 16x4, ${((paging / segment) * 100).toFixed(0)}% of segment), ` +
      `TLB hit rate ${(w.hitRate * 100).toFixed(4)}%, ${w.refsPerMiss.toFixed(1)} memory references per TLB miss`,
  );
  const strided = pagingLoopMachine(STRIDE_SOURCE);
  const stride = measure(strided, INSTRUCTIONS / 4);
  const t = tlbFigures(strided);
  console.log(
    `bench paging-stride: ${stride.toFixed(1)} Minstr/s (the loop walks 64 data pages through a 16-entry TLB), ` +
      `TLB hit rate ${(t.hitRate * 100).toFixed(2)}%, ${t.refsPerMiss.toFixed(1)} memory references per TLB miss`,
  );
}

main();
