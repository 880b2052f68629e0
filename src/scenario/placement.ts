// Where a scenario puts things in physical memory, checked before anything is built: programs
// and memory blocks inside memory and apart, the bytes they reserve within a stated budget, the
// initial PSW's segment and root table inside memory — and a warning when the initial pc points
// at nothing the scenario loads.

import type { Profile } from '../isa/profile.js';
import { tableBytes } from '../paging/index.js';
import { blockAddress, resolveValue, type LoadedProgram, type Symbol } from './model.js';
import type { PagingSetup } from './paging.js';
import type { RefContext } from './refs.js';
import type { ScenarioFile } from './schema.js';
import type { Path } from './yaml.js';

/** Most bytes a scenario's programs (`.space` included) and memory blocks may place: 64 MiB. */
export const MAX_IMAGE_BYTES = 64 * 2 ** 20;

/** The PC a PSW starts at when the scenario does not say. */
export const DEFAULT_PC = 0x80;

const U32 = 2 ** 32;
const hex = (n: number) => `0x${n.toString(16)}`;
const range = (a: number, b: number) => `[${hex(a)}, ${hex(b)})`;

/** Bytes of a memory block. */
function blockBytes(b: ScenarioFile['memory'][number]): number {
  return b.words ? b.words.length * 4 : (b.bytes?.replace(/\s+/g, '').length ?? 0) >> 1;
}

/** Bytes the programs may still produce after the memory blocks (reported when the blocks alone exceed the budget). */
export function imageBudget(spec: ScenarioFile, report: (p: Path, m: string) => void): number {
  const blocks = spec.memory.reduce((n, b) => n + blockBytes(b), 0);
  if (blocks > MAX_IMAGE_BYTES) report(['memory'], `the memory blocks hold ${blocks} bytes, more than the ${MAX_IMAGE_BYTES} a scenario may place`);
  return MAX_IMAGE_BYTES - blocks;
}

/**
 * Programs and memory blocks must lie inside physical memory, programs outside the page-table
 * region and apart from each other, memory blocks apart from each other. (A memory block may
 * overwrite program bytes: that is how a scenario patches data into a program image.) The
 * initial PSW's segment and root table must lie inside memory.
 */
export function checkPlacement(spec: ScenarioFile, programs: readonly LoadedProgram[], paging: PagingSetup | undefined, ctx: RefContext): void {
  checkPrograms(spec, programs, paging, ctx.report);
  checkBlocks(spec, paging, ctx.report);
  checkSegment(spec, ctx.report);
  checkRoot(spec, paging, ctx);
}

function checkPrograms(spec: ScenarioFile, programs: readonly LoadedProgram[], paging: PagingSetup | undefined, report: (p: Path, m: string) => void): void {
  const size = spec.machine.memory;
  const tables = paging && spec.pageTables.length ? { lo: paging.layout.start, hi: paging.layout.end } : undefined;
  const placed: { lo: number; hi: number; i: number }[] = [];
  programs.forEach((p, i) => {
    for (const c of p.asm.chunks) {
      const lo = p.at + c.address - p.org;
      const hi = lo + c.bytes.length;
      if (lo < 0) return report(['programs', i, 'org'], `program '${p.name}' has bytes at address ${hex(c.address)}, below its org ${hex(p.org)}`);
      if (hi > size) return report(['programs', i, 'at'], `program '${p.name}' does not fit: bytes ${range(lo, hi)} lie beyond memory of ${hex(size)} bytes`);
      if (tables && lo < tables.hi && hi > tables.lo) {
        return report(['programs', i, 'at'], `program '${p.name}' bytes ${range(lo, hi)} overlap the page-table region ${range(tables.lo, tables.hi)} (see machine.paging.tables)`);
      }
      placed.push({ lo, hi, i });
    }
  });
  for (const [a, b] of overlaps(placed)) {
    if (a.i !== b.i) report(['programs', b.i, 'at'], `program '${programs[b.i].name}' bytes ${range(b.lo, b.hi)} overlap program '${programs[a.i].name}' ${range(a.lo, a.hi)}`);
  }
}

function checkBlocks(spec: ScenarioFile, paging: PagingSetup | undefined, report: (p: Path, m: string) => void): void {
  const size = spec.machine.memory;
  const placed: { lo: number; hi: number; i: number }[] = [];
  spec.memory.forEach((b, i) => {
    const digits = b.bytes?.replace(/\s+/g, '');
    if (digits && digits.length % 2 !== 0) report(['memory', i, 'bytes'], 'an odd number of hex digits (each byte needs two)');
    if (b.page !== undefined && !paging) return report(['memory', i, 'page'], 'a page number needs the paging hardware (its page size); use `at`');
    const n = blockBytes(b);
    if (b.page !== undefined && paging && n !== paging.pageBytes) {
      report(['memory', i, b.words ? 'words' : 'bytes'], `a page image must be exactly one page (${paging.pageBytes} bytes), got ${n} bytes`);
    }
    const at = blockAddress(b, paging);
    if (at + n > size) return report(['memory', i, b.page !== undefined ? 'page' : 'at'], `block ${range(at, at + n)} lies beyond memory of ${hex(size)} bytes`);
    if (n > 0) placed.push({ lo: at, hi: at + n, i });
  });
  for (const [a, b] of overlaps(placed)) report(['memory', b.i, spec.memory[b.i].page !== undefined ? 'page' : 'at'], `block ${range(b.lo, b.hi)} overlaps memory block ${a.i} ${range(a.lo, a.hi)}`);
}

/** Every pair of intervals that overlap, each later-starting one with the one it runs into. */
function overlaps<T extends { lo: number; hi: number }>(items: readonly T[]): [T, T][] {
  const sorted = [...items].sort((x, y) => x.lo - y.lo || x.hi - y.hi);
  const out: [T, T][] = [];
  let reach: T | undefined;
  for (const it of sorted) {
    if (reach && it.lo < reach.hi) out.push([reach, it]);
    if (!reach || it.hi > reach.hi) reach = it;
  }
  return out;
}

/**
 * The initial segment: a 32-bit limit; with segment hardware alone, [B, B + L) (size
 * convention) or [B, L) (end convention) inside physical memory; before paging, inside 2^32.
 */
function checkSegment(spec: ScenarioFile, report: (p: Path, m: string) => void): void {
  const m = spec.machine;
  const p = spec.psw;
  if (m.translation === 'paging' || (p.base === undefined && p.limit === undefined)) return;
  const base = p.base ?? 0;
  const limit = p.limit ?? defaultLimit(spec);
  const field: Path = ['psw', p.limit !== undefined ? 'limit' : 'base'];
  const space = m.translation === 'segment' ? m.memory : U32;
  const what = m.translation === 'segment' ? `physical memory (${hex(m.memory)} bytes)` : 'the 32-bit linear address space';
  if (limit > U32 - 1) return report(['psw', 'limit'], `the limit ${hex(limit)} does not fit the 32-bit limit register (at most 0xffffffff)`);
  if (base > U32 - 1) return report(['psw', 'base'], `the base ${hex(base)} does not fit the 32-bit base register`);
  if (m.bounds === 'size' && base + limit > space) report(field, `base ${hex(base)} + limit ${hex(limit)} = ${hex(base + limit)} runs past ${what}`);
  if (m.bounds === 'end' && limit > space) report(['psw', 'limit'], `the end address ${hex(limit)} lies past ${what}`);
}

/** The limit a PSW gets when the scenario gives none: the rest of memory from the base. */
export function defaultLimit(spec: ScenarioFile): number {
  const memory = spec.machine.memory;
  const base = spec.psw.base ?? 0;
  return spec.machine.bounds === 'end' ? Math.min(memory, U32 - 1) : Math.min(Math.max(0, memory - base), U32 - 1);
}

/** The initial PTBR (a page-table name or an address) holds a whole root table, aligned to its size. */
function checkRoot(spec: ScenarioFile, paging: PagingSetup | undefined, ctx: RefContext): void {
  const v = spec.psw.ptbr;
  if (!paging || v === undefined || (typeof v === 'string' && !ctx.symbols.has(v))) return;
  const ptbr = resolveValue(v, ctx.symbols) >>> 0;
  const bytes = tableBytes(paging.geometry, 0);
  if (ptbr % bytes !== 0) ctx.report(['psw', 'ptbr'], `the root table at ${hex(ptbr)} must be aligned to its size (${bytes} bytes for geometry ${paging.geometry.name})`);
  else if (ptbr + bytes > spec.machine.memory) ctx.report(['psw', 'ptbr'], `the root table ${range(ptbr, ptbr + bytes)} lies past physical memory (${hex(spec.machine.memory)} bytes)`);
}

/**
 * Legal things that are probably mistakes, as one line each: the initial pc pointing at memory
 * that no program or block fills (say a program assembled at 0 while the pc defaults to 0x80).
 * Not judged where translation decides (paging on, or a profile's own address map such as
 * MIPS's unmapped kseg0).
 */
export function startWarnings(file: string, spec: ScenarioFile, profile: Profile, programs: readonly LoadedProgram[], paging: PagingSetup | undefined, symbols: ReadonlyMap<string, Symbol>): string[] {
  const pagingOn = paging !== undefined && spec.psw.pg === true;
  if (pagingOn || profile.region || programs.length === 0) return [];
  const pc = spec.psw.pc === undefined ? DEFAULT_PC : resolveValue(spec.psw.pc, symbols) >>> 0;
  const pa = spec.machine.translation === 'paging' ? pc : (spec.psw.base ?? 0) + pc;
  const covers = (lo: number, n: number) => pa >= lo && pa < lo + n;
  const inProgram = programs.some((p) => p.asm.chunks.some((c) => covers(p.at + c.address - p.org, c.bytes.length)));
  const inBlock = spec.memory.some((b) => covers(blockAddress(b, paging), blockBytes(b)));
  if (inProgram || inBlock) return [];
  const first = programs.flatMap((p) => p.asm.chunks.map((c) => ({ p, lo: p.at + c.address - p.org }))).sort((a, b) => a.lo - b.lo)[0];
  const why = spec.psw.pc === undefined ? `the default, psw.pc is not set` : `psw.pc`;
  const hint = first ? `; program '${first.p.name}' starts at physical ${hex(first.lo)} (assemble it with '.org ${hex(pc)}' or set psw.pc)` : '';
  return [`${file}: warning: the initial pc ${hex(pc)} (${why}) is at physical ${hex(pa)}, where no program or memory block puts anything${hint}`];
}
