// Shared helpers for the machine-core tests: assemble programs, load them into a fresh machine,
// and read the trap record of low memory.

import { assemble } from '../../src/asm/index.js';
import { SLOT_NEW_PSW, SLOT_OLD_PSW, ST_MODE_MASK, TRAP_CAUSE, TRAP_DETAIL, TRAP_ERROR, TRAP_VADDR } from '../../src/isa/arch.js';
import { Machine, type MachineConfig, type Psw } from '../../src/isa/machine.js';
import type { Profile } from '../../src/isa/profile.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { createPager } from '../../src/mmu/paging-unit.js';
import { GEOMETRIES, map, type MapPerms } from '../../src/paging/index.js';

/** Default memory size of test machines (64 KiB). */
export const MEM = 0x10000;
/** Status word of user mode in a two-mode profile. */
export const USER = 1;

export interface BootOptions extends Partial<Omit<MachineConfig, 'profile'>> {
  readonly profile?: Profile;
  /** initial PSW fields (default: pc = `start` or 0x80, supervisor, base 0, limit = memory size) */
  readonly psw?: Partial<Psw>;
  /** constants predefined for the assembler (MEM = memory size is always defined) */
  readonly symbols?: Readonly<Record<string, number>>;
}

export type Booted = Machine & { readonly labels: ReadonlyMap<string, number> };

/** Assembles `source` (physical addresses, `MEM` predefined) for `profile`. */
export function assembleFor(source: string, profile: Profile = classic, symbols: Readonly<Record<string, number>> = {}) {
  return assemble(source, { profile, file: 'test.s', symbols });
}

/** A machine with `source` assembled and loaded at physical 0, started with `o.psw`. */
export function boot(source: string, o: BootOptions = {}): Booted {
  const profile = o.profile ?? classic;
  const memorySize = o.memorySize ?? MEM;
  const r = assembleFor(source, profile, { MEM: Math.min(memorySize, 2 ** 32 - 1), ...o.symbols });
  const m = new Machine({ ...o, profile, memorySize });
  for (const c of r.chunks) m.mem.writeBytes(c.address, c.bytes);
  m.loadPsw({ pc: r.labels.get('start') ?? 0x80, status: 0, base: 0, limit: Math.min(memorySize, 2 ** 32 - 1), ptbr: 0, extra: 0, ...o.psw });
  return Object.assign(m, { labels: r.labels });
}

/** The kernel most examples use: MEM[0] sends every trap to a `halt` at 0x80. */
export const HALT_KERNEL = `
        .org 0
        .psw pc=handler, mode=s, base=0, limit=MEM
        .org 0x80
handler: halt
`;

export interface UserOptions extends BootOptions {
  /** the kernel (physical addresses); default HALT_KERNEL */
  readonly kernel?: string;
  /** user segment (default base 0x1000, limit 0x1000 in the size convention) */
  readonly base?: number;
  readonly limit?: number;
  /** status word of the initial PSW (default user mode) */
  readonly status?: number;
}

/**
 * A machine running the user program `user` (assembled at virtual 0 and loaded at `base`) in
 * user mode under (base, limit), with `kernel` in low memory. `labels` are the user program's.
 */
export function bootUser(user: string, o: UserOptions = {}): Booted {
  const base = o.base ?? 0x1000;
  const limit = o.limit ?? 0x1000;
  const m = boot(o.kernel ?? HALT_KERNEL, { ...o, psw: { pc: 0, status: o.status ?? USER, base, limit, ...o.psw } });
  const r = assembleFor(user, m.profile, { MEM: m.mem.size, ...o.symbols });
  for (const c of r.chunks) m.mem.writeBytes(base + c.address, c.bytes);
  return Object.assign(m, { labels: r.labels });
}

/** The address of label `name`. */
export function at(m: { labels: ReadonlyMap<string, number> }, name: string): number {
  const a = m.labels.get(name);
  if (a === undefined) throw new Error(`at: no label ${name}`);
  return a;
}

/** The PSW image at physical address `pa` as fields, plus its two reserved words. */
export function pswAt(m: Machine, pa: number): Psw & { readonly pad: readonly [number, number] } {
  const w = (i: number) => m.mem.read32(pa + 4 * i);
  return { pc: w(0) >>> 0, status: w(1), base: w(2) >>> 0, limit: w(3) >>> 0, ptbr: w(4) >>> 0, extra: w(5), pad: [w(6), w(7)] };
}

/** The old PSW (MEM[1]) and new PSW (MEM[0]) slots. */
export const oldPsw = (m: Machine) => pswAt(m, SLOT_OLD_PSW);
export const newPsw = (m: Machine) => pswAt(m, SLOT_NEW_PSW);

/** The trap record at 0x40..0x4F: cause, fault address, error code, detail. */
export function trapRecord(m: Machine): { cause: number; vaddr: number; error: number; detail: number } {
  return {
    cause: m.mem.read32(TRAP_CAUSE),
    vaddr: m.mem.read32(TRAP_VADDR) >>> 0,
    error: m.mem.read32(TRAP_ERROR),
    detail: m.mem.read32(TRAP_DETAIL),
  };
}

/** Steps until the PC is `pc` (or the machine stops, or `limit` steps pass). */
export function stepTo(m: Machine, pc: number, limit = 10_000): void {
  for (let i = 0; i < limit && m.running && m.pc !== pc; i++) m.step();
  if (m.pc !== pc) throw new Error(`stepTo: never reached pc 0x${pc.toString(16)} (at 0x${m.pc.toString(16)}, ${m.machineStatus})`);
}

export const modeOf = (status: number) => status & ST_MODE_MASK;

/**
 * `source` booted (as `boot` does) on a 256 KiB machine that pages with x86-32 geometry
 * (`translation` paging or segment+paging, an 8x2 TLB), and a page table built at 0x20000 up
 * with `maps` ([va, pa, size, perms]); returns the machine and the root (not yet installed).
 */
export function bootPaged(source: string, translation: 'paging' | 'segment+paging', maps: readonly [number, number, number, MapPerms][], o: BootOptions = {}): { m: Booted; root: number } {
  const g = GEOMETRIES['x86-32'];
  const m = boot(source, { ...o, memorySize: 0x40000, translation, pager: (mem) => createPager(mem, { geometry: g, tlb: { entries: 8, ways: 2 } }) });
  let next = 0x20000;
  const alloc = () => (next += 0x1000) - 0x1000;
  const root = alloc();
  for (const [va, pa, size, perms] of maps) map(g, m.mem, root, va, pa, size, perms, alloc);
  return { m, root };
}
