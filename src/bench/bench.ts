// The bench (`shadowlab bench`, `npm run bench`): guest instructions per second of the step loop
// (segment, paging), under the VMM, with a hand-written reference interpreter measured in the
// same run for scale. Every rate is the median of several runs. The loop is scenarios/vmm/bench/loop.s: 6
// instructions per iteration (ALU, load, store, branch) in user mode.

import { assemble } from '../asm/index.js';
import { Op } from '../isa/instructions.js';
import { Machine } from '../isa/machine.js';
import { classic } from '../isa/profiles/classic.js';
import { mips } from '../isa/profiles/mips.js';
import type { Profile } from '../isa/profile.js';
import { createPager, type PagingUnit } from '../mmu/paging-unit.js';
import { GEOMETRIES, map, type Geometry } from '../paging/index.js';
import { bareMachine, type GuestImage, type NestedOptions } from '../vmm/index.js';
import { median } from './median.js';
import { benchLoopGuest, benchSafety, benchSource, benchVmm, type SafetyCost } from './vmm.js';
import { runReference } from './reference.js';
import { benchTranslate } from './translate.js';
import { measurePair, nestedLoopMachine, type NestedRates } from './nested.js';
import { countRefs, type RefsRow } from './refs.js';
import { benchChurn, benchDiff, benchShadow, type ShadowRates } from './shadow.js';
import type { DiffRow } from '../shadow/index.js';

/** How much to measure: runs per figure (the median is kept) and instructions per run. */
export interface BenchOptions {
  readonly runs: number;
  readonly instructions: number;
  /** the churn guest (scenarios/shadow/churn.yaml, which the caller loads) and its host options: measured when given */
  readonly churn?: { readonly guest: GuestImage; readonly nested?: NestedOptions };
  /** the diff table's renderer (the CLI's: its text in chunks): one exit's diff is measured when given */
  readonly renderDiff?: (geometry: Geometry, rows: readonly DiffRow[]) => readonly string[];
}
const FOREVER = 2 ** 31 - 1;


/** Millions of instructions per second retired by `m.run` over `instructions`, median of `runs` runs. */
export function measure(m: Machine, { runs, instructions }: BenchOptions): number {
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const before = m.retired;
    const t0 = process.hrtime.bigint();
    m.run(instructions);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push((m.retired - before) / seconds / 1e6);
  }
  return median(rates);
}

/** The bench loop guest on a bare segment machine (kernel drops to user mode at base 32 KB), of profile `profile`. */
export function segmentLoopMachine(profile: Profile = classic): Machine {
  return bareMachine(benchLoopGuest(FOREVER, profile));
}

/** The loop varied to walk 64 data pages: each iteration moves r2 to the next page. */
export function strideSource(): string {
  return benchSource('loop.s').replace('xor  r4, r1, r3', 'addi r2, r2, 4096\n        andi r2, r2, 0x3ffff');
}

/**
 * A four-level paging machine running `source` (the loop by default) in user mode: code at
 * virtual 0x80 of page 0, 64 data pages from virtual 0, an unpaged kernel that halts on a trap.
 */
export function pagingLoopMachine(source = benchSource('loop.s'), tlb = { entries: 16, ways: 4 }): Machine {
  const g = GEOMETRIES['four-level'];
  const m = new Machine({ profile: classic, memorySize: 4 << 20, translation: 'paging', pager: (mem) => createPager(mem, { geometry: g, tlb }) });
  const load = (text: string, at: number) => assemble(text, { profile: classic }).chunks.forEach((c) => m.mem.writeBytes(at + c.address, c.bytes));
  load('.org 0\n.psw pc=stop, mode=s\n.org 0x80\nstop: halt\n', 0);
  load(source, 0x100000);
  let next = 0x300000;
  const alloc = () => (next += 4096) - 4096;
  const root = alloc();
  map(g, m.mem, root, 0, 0x100000, 64 * 4096, { write: true, user: true }, alloc);
  m.regs[5] = FOREVER;
  m.loadPsw({ pc: 0x80, status: 1 | 0x200, base: 0, limit: 0, ptbr: root, extra: 0 });
  return m;
}

/** How the paging unit served the run's translations (fetches + data accesses). */
export function tlbFigures(m: Machine): { hitRate: number; refsPerMiss: number } {
  const c = (m.pager as PagingUnit).counters();
  const data = [Op.Ld, Op.Ldb, Op.St, Op.Stb].reduce((n, op) => n + m.opCounts[op], 0);
  const translations = m.retired + data;
  return { hitRate: 1 - c.tlbMisses / translations, refsPerMiss: c.walks ? c.walkRefs / c.walks : 0 };
}

function measureReference({ runs, instructions }: BenchOptions): number {
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = runReference(instructions / 6);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rates.push(r.instructions / seconds / 1e6);
  }
  return median(rates);
}

/** Every figure of the bench (rates in millions of guest instructions per second). */
export interface BenchFigures {
  readonly reference: number;
  readonly segment: number;
  readonly paging: { readonly rate: number; readonly hitRate: number; readonly refsPerMiss: number };
  /** the segment loop on the mips profile against classic, measured in turn */
  readonly mips: { readonly mips: number; readonly classic: number; readonly ratio: number };
  readonly translate: ReturnType<typeof benchTranslate>;
  readonly pagingStride: { readonly rate: number; readonly hitRate: number; readonly refsPerMiss: number };
  /** the loop under nested paging (four-level over four-level) against bare paging, measured in turn */
  readonly nested: NestedRates & { readonly hitRate: number; readonly refsPerMiss: number };
  readonly nestedStride: NestedRates & { readonly hitRate: number; readonly refsPerMiss: number };
  /** memory references per TLB miss counted by the walker, native and nested */
  readonly refs: readonly RefsRow[];
  readonly shadow: ShadowRates;
  /** shadow/churn under each policy (when the caller gave the guest) */
  readonly churn?: ReturnType<typeof benchChurn>;
  /** milliseconds to record and render one exit's 1024-change diff, coalescing into one row or into none (when the caller gave the renderer) */
  readonly diffMs?: { readonly coalesced: number; readonly scattered: number };
  readonly vmm: ReturnType<typeof benchVmm>;
  readonly safety: SafetyCost;
}

/** Runs every measurement; `report` gets each line as soon as its figure is known. */
export function runBench(o: BenchOptions, report: (line: string) => void = () => {}): BenchFigures {
  const reference = measureReference(o);
  report(`bench reference: ${reference.toFixed(1)} Minstr/s (hand-written interpreter of the same loop, no translation)`);
  const segment = measure(segmentLoopMachine(), o);
  report(`bench segment: ${segment.toFixed(1)} Minstr/s (${((segment / reference) * 100).toFixed(0)}% of reference)`);
  const mipsPair = measurePair(segmentLoopMachine(), segmentLoopMachine(mips), o);
  const mipsRates = { mips: mipsPair.nested, classic: mipsPair.bare, ratio: mipsPair.ratio };
  report(
    `bench mips: ${mipsRates.mips.toFixed(1)} Minstr/s (the same loop guest on the mips profile, its address map asked on every translation), ` +
      `${mipsRates.classic.toFixed(1)} classic in the same run (ratio ${mipsRates.ratio.toFixed(2)})`,
  );
  const warm = pagingLoopMachine();
  const paging = { rate: measure(warm, o), ...tlbFigures(warm) };
  report(
    `bench paging: ${paging.rate.toFixed(1)} Minstr/s (four-level, TLB 16x4, ${((paging.rate / segment) * 100).toFixed(0)}% of segment), ` +
      `TLB hit rate ${(paging.hitRate * 100).toFixed(4)}%, ${paging.refsPerMiss.toFixed(1)} memory references per TLB miss`,
  );
  const translate = benchTranslate('four-level', o.instructions / 2);
  report(
    `bench translate: ${translate.hotNs.toFixed(1)} ns on the last-page cache, ${translate.tlbHitNs.toFixed(1)} ns on a TLB hit, ` +
      `${translate.walkNs.toFixed(0)} ns per walk (four-level, ${translate.refsPerWalk.toFixed(1)} memory references each), ` +
      `${translate.nestedWalkNs.toFixed(0)} ns per nested walk (four-level over four-level, ${translate.refsPerNestedWalk.toFixed(1)} references each)`,
  );
  const strided = pagingLoopMachine(strideSource());
  const pagingStride = { rate: measure(strided, { ...o, instructions: o.instructions / 4 }), ...tlbFigures(strided) };
  report(
    `bench paging-stride: ${pagingStride.rate.toFixed(1)} Minstr/s (the loop walks 64 data pages through a 16-entry TLB), ` +
      `TLB hit rate ${(pagingStride.hitRate * 100).toFixed(2)}%, ${pagingStride.refsPerMiss.toFixed(1)} memory references per TLB miss`,
  );
  const nested = nestedFigures(pagingLoopMachine(), nestedLoopMachine(), o);
  report(
    `bench nested: ${nested.nested.toFixed(1)} Minstr/s (four-level over four-level, TLB 16x4), ${nested.bare.toFixed(1)} bare paging in the same run ` +
      `(ratio ${nested.ratio.toFixed(2)}), TLB hit rate ${(nested.hitRate * 100).toFixed(4)}%, ${nested.refsPerMiss.toFixed(1)} memory references per TLB miss`,
  );
  const nestedStride = nestedFigures(pagingLoopMachine(strideSource()), nestedLoopMachine(strideSource()), { ...o, instructions: o.instructions / 4 });
  report(
    `bench nested-stride: ${nestedStride.nested.toFixed(1)} Minstr/s (the stride loop nested), ${nestedStride.bare.toFixed(1)} bare paging in the same run ` +
      `(ratio ${nestedStride.ratio.toFixed(2)}), TLB hit rate ${(nestedStride.hitRate * 100).toFixed(2)}%, ${nestedStride.refsPerMiss.toFixed(1)} memory references per TLB miss`,
  );
  const refs = countRefs();
  report('bench refs: memory references per TLB miss, counted by the walker on tables built in memory');
  report(`  ${'guest levels'.padEnd(14)}${'native'.padEnd(8)}${refs[0].nested.map((c) => `over ${c.hostLevels}-level host`.padEnd(20)).join('')}`.trimEnd());
  for (const r of refs) report(`  ${String(r.guestLevels).padEnd(14)}${String(r.native).padEnd(8)}${r.nested.map((c) => String(c.refs).padEnd(20)).join('')}`.trimEnd());
  const shadow = benchShadow(() => pagingLoopMachine(), o);
  report(
    `bench shadow: ${shadow.shadow.toFixed(1)} Minstr/s (the paging loop guest under shadow-eager), ${shadow.bare.toFixed(1)} bare paging in the same run ` +
      `(ratio ${shadow.ratio.toFixed(2)}), ${shadow.exitsPer1000.toFixed(3)} exits per 1,000 guest instructions, ${shadow.misses} of them shadow misses`,
  );
  const churn = o.churn ? benchChurn(o.churn.guest, o.churn.nested, o.runs) : undefined;
  if (churn) {
    report(
      `bench shadow-churn: ${churn.eager.exitsPer1000.toFixed(1)} exits per 1,000 guest instructions under shadow-eager (${churn.eager.ratio.toFixed(2)} of bare paging's speed), ` +
        `${churn.lazy.exitsPer1000.toFixed(1)} under shadow-lazy (${churn.lazy.ratio.toFixed(2)}): shadow/churn, three processes rewriting eight page-table entries per fresh heap`,
    );
  }
  const diff = o.renderDiff ? { coalesced: benchDiff(o.renderDiff, Math.max(25, o.runs * 10), false), scattered: benchDiff(o.renderDiff, Math.max(25, o.runs * 10), true) } : undefined;
  if (diff) {
    report(
      `bench shadow-diff: ${diff.coalesced.toFixed(2)} ms to record and render the diff of an exit that empties a full 1024-entry x86-32 table (pages on consecutive frames: one row), ` +
        `${diff.scattered.toFixed(2)} ms when no two pages coalesce (1024 rows)`,
    );
  }
  const vmm = benchVmm({ instructions: o.instructions, runs: o.runs });
  report(
    `bench vmm: ${(vmm.vmmIps / 1e6).toFixed(1)} Minstr/s for the user-mode loop guest under the VMM, ${(vmm.bareIps / 1e6).toFixed(1)} bare in the same run ` +
      `(ratio ${vmm.ratio.toFixed(2)}), ${(vmm.directShare * 100).toFixed(5)}% of its instructions executed directly`,
  );
  const sys = vmm.syscall;
  report(
    `bench vmm-syscall: ${sys.exitsPer1000.toFixed(1)} exits per 1,000 guest instructions, ${sys.usPerExit.toFixed(2)} us per exit ` +
      `(${sys.actionsPerExit.toFixed(1)} VMM actions per exit; a process making a system call every 4 instructions)`,
  );
  const safety = benchSafety({ instructions: o.instructions / 4, runs: o.runs, syscalls: 25_000 });
  const cost = (c: typeof safety.loop) => `${c.cost.toFixed(2)}x (${(c.bus * 1000).toFixed(0)} ms with the bus checker, ${(c.off * 1000).toFixed(0)} ms without)`;
  report(`bench safety: a checked run costs ${cost(safety.loop)} for the loop guest, ${cost(safety.syscall)} for the syscall guest`);
  return { reference, segment, mips: mipsRates, paging, translate, pagingStride, nested, nestedStride, refs, shadow, ...(churn ? { churn } : {}), ...(diff ? { diffMs: diff } : {}), vmm, safety };
}

/** The same loop bare and nested, measured in turn, with the nested machine's TLB figures. */
function nestedFigures(bare: Machine, nested: Machine, o: BenchOptions): BenchFigures['nested'] {
  return { ...measurePair(bare, nested, o), ...tlbFigures(nested) };
}
