// Generated guests for `verify`: a kernel in the profile's most privileged mode (trap vector,
// boot code, a trap handler) and a user process, as assembly text, with the profile's
// instructions drawn from a palette (palette.ts) — the ones the classifier flags most often,
// often as the classifier's own witnesses. Seeded with pure-rand: the same profile, palette,
// seed and index always give the same guest. Sizes are bounded (MAX_CHUNKS lines per part).
//
// Guest-physical layout (size convention, VMSIZE bytes):
//
//   0x00  trap vector: .psw pc=handler, mode=<kernel>      0x20 old PSW, 0x40 trap record
//   0x80  boot: <boot lines>, then lpsw upsw                (kernel, base 0, limit VMSIZE)
//         handler: count traps, halt after stopAfter, <handler lines>, return
//         count, upsw (the process's PSW: base USER_BASE, limit USER_SIZE, interrupts on)
//   USER_BASE  the process: <user lines>, a loop of `loop` iterations, svc 0, jmp 0
//
// With paging (the palette's `paging`, a geometry's name: verify --paging), the same kernel and
// process run on a paging machine (paging-guest.ts): the kernel's boot first writes its page
// tables and its process's, sets PTBR and turns paging on; traps run it paged in its own table;
// the process runs at virtual 0 in its own table.
//
// Where the profile's most privileged mode reaches physical memory directly, without base and
// bounds (MIPS: kseg0), the kernel lives there, as such kernels do: it is assembled at the
// address the region hook maps to physical 0 (kernelHome, found by asking the hook), and every
// address above is taken relative to it.
//
// A "line" is a chunk of assembly (a few lines: registers set, then one instruction, and the
// label its target names), the unit the shrinker removes. Registers: the lines use r1..r9, the
// handler r10..r13.

import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { Cause, PSW_PC, SLOT_OLD_PSW, TRAP_CAUSE } from '../../isa/arch.js';
import { Machine } from '../../isa/machine.js';
import { Access } from '../../mmu/fault.js';
import type { InstructionDef, OperandKind } from '../../isa/instructions.js';
import type { Profile } from '../../isa/profile.js';
import { guestFromSources, type GuestImage } from '../../vmm/guest.js';
import type { Palette, Template } from './palette.js';
import { PAGING_VMSIZE, pagingLayout, pagingMachine, pagingPrologue, type PagingLayout } from './paging-guest.js';

export const VMSIZE = 0x3000;
export const USER_BASE = 0x1000;
export const USER_SIZE = 0x1000;
export const KERNEL_PC = 0x80;
/** Most lines in each part (boot, handler, process). */
export const MAX_CHUNKS = 12;
/** Guest instructions retired before a run is stopped. */
export const GUEST_BUDGET = 2000;

/** A generated guest: plain data, rendered to assembly by kernelSource / userSource. */
export interface GuestPlan {
  readonly profile: string;
  /** r0..r15 at the start */
  readonly regs: readonly number[];
  readonly boot: readonly string[];
  readonly handler: readonly string[];
  readonly user: readonly string[];
  /** traps the handler serves before it halts */
  readonly stopAfter: number;
  /** iterations of the process's closing loop (its innocuous bulk: a guest that mostly runs its process, as guests do) */
  readonly loop: number;
  readonly budget: number;
  /** a paging guest: its geometry's name (absent: the segment machine) */
  readonly paging?: string;
}

/** Draws numbers from a seed; one per guest (seed, index). */
export interface Draw {
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
}

export function drawFor(seed: number, index: number): Draw {
  const rng = xoroshiro128plus((seed ^ Math.imul(index + 1, 0x9e3779b1) ^ 0x5bd1e995) | 0);
  const int = (lo: number, hi: number) => uniformInt(rng, lo, hi);
  return { int, pick: (xs) => xs[int(0, xs.length - 1)] };
}

/** The kernel's mode (the profile's first) and the process's (its first user mode, else its last). */
export function modesOf(p: Profile): { kernel: string; user: string } {
  return { kernel: p.modes[0], user: p.userModes?.[0] ?? p.modes[p.modes.length - 1] };
}

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

/**
 * The address the kernel is assembled at: the first block of the profile's address-region hook
 * that mode 0 reaches untranslated at physical 0 (asked of the hook on a probe machine), else 0.
 */
export function kernelHome(p: Profile): number {
  if (!p.region || !p.regionGrain) return 0;
  const probe = new Machine({ profile: p, memorySize: VMSIZE });
  probe.loadPsw({ pc: 0, status: 0, base: 0, limit: VMSIZE, ptbr: 0, extra: 0 });
  for (let va = p.regionGrain; va < 2 ** 32; va += p.regionGrain) if (p.region(probe, va, 4, Access.Read) === 0) return va;
  return 0;
}

/** Guest `index` of seed `seed` drawn from `palette`. */
export function generateGuest(palette: Palette, seed: number, index: number): GuestPlan {
  const d = drawFor(seed, index);
  const lines = (prefix: string, n: number, user: boolean) => Array.from({ length: n }, (_, i) => drawLine(palette, d, `${prefix}${i}`, user));
  const regs = Array.from({ length: 16 }, (_, r) => (r >= 1 && r <= 9 ? drawValue(palette, d) : 0));
  return {
    profile: palette.profile.name,
    regs,
    boot: lines('k', d.int(0, MAX_CHUNKS / 2), false),
    handler: lines('h', d.int(0, MAX_CHUNKS / 3), false),
    user: lines('u', d.int(1, MAX_CHUNKS), true),
    stopAfter: d.int(2, 24),
    loop: d.pick([50, 100, 200, 400]),
    budget: GUEST_BUDGET,
    ...(palette.paging ? { paging: palette.paging } : {}),
  };
}

/** The paging layout of `g` (undefined: a segment guest). */
function layoutOf(g: Pick<GuestPlan, 'paging'>): PagingLayout | undefined {
  return g.paging === undefined ? undefined : pagingLayout(g.paging, USER_BASE);
}

/** Guest-physical bytes of `g`'s machine. */
export function vmsizeOf(g: Pick<GuestPlan, 'paging'>): number {
  return g.paging === undefined ? VMSIZE : PAGING_VMSIZE;
}

/** A value for a register or an immediate: small numbers, mode numbers, addresses in the guest, the witnesses' values. */
function drawValue(palette: Palette, d: Draw): number {
  const modes = palette.profile.modes.length;
  switch (d.int(0, 4)) {
    case 0:
      return d.int(-2, modes);
    case 1:
      return d.int(0, VMSIZE / 4) * 4;
    case 2: {
      const paged = palette.paging === undefined ? [] : pagingLayout(palette.paging, USER_BASE).values;
      return d.pick([SLOT_OLD_PSW, TRAP_CAUSE, USER_SIZE - 4, USER_SIZE, VMSIZE, 0xfffffffc | 0, ...paged]);
    }
    default:
      return palette.values.length ? d.pick(palette.values) : d.int(0, 255);
  }
}

/** One line: a witness of the classifier's (half the time, for an instruction that has one), else the instruction with drawn operands. */
function drawLine(palette: Palette, d: Draw, label: string, user: boolean): string {
  const entry = pickWeighted(palette, d);
  const templates = palette.templates.filter((t) => t.mnemonic === entry.def.mnemonic && t.user === user);
  if (templates.length && d.int(0, 1) === 0) return fromTemplate(d.pick(templates), label);
  const reg = () => `r${d.int(1, 9)}`;
  const tableWords = palette.paging === undefined ? [] : pagingLayout(palette.paging, USER_BASE).entryAddresses; // its page-table entries
  const operand = (k: OperandKind): string => {
    if (k === 'rd' || k === 'rs' || k === 'rt') return reg();
    if (k === 'n4') return String(d.int(0, palette.profile.modes.length));
    if (k === 'target') return label;
    if (k === 'mem') return d.int(0, 1) === 0 ? `${d.pick([0, 4, 8, -4])}(${reg()})` : hex(d.pick([SLOT_OLD_PSW, TRAP_CAUSE, d.int(0, VMSIZE / 4) * 4, USER_SIZE, ...tableWords]));
    return String(drawValue(palette, d));
  };
  const ops = entry.def.operands.map(operand);
  return withLabel(ops.length ? `${entry.def.mnemonic} ${ops.join(', ')}` : entry.def.mnemonic, entry.def, label);
}

function pickWeighted(palette: Palette, d: Draw) {
  const total = palette.entries.reduce((s, e) => s + e.weight, 0);
  let x = d.int(0, total - 1);
  for (const e of palette.entries) {
    if (x < e.weight) return e;
    x -= e.weight;
  }
  return palette.entries[palette.entries.length - 1];
}

function fromTemplate(t: Template, label: string): string {
  const setup = t.setup.map(([r, v]) => `li r${r}, ${hex(v)}\n`).join('');
  const text = t.text.replace('@next', label);
  return text === t.text ? `${setup}${text}` : `${setup}${text}\n${label}:`;
}

/** `text` followed by `label:` when the instruction has a target (it names the next line). */
function withLabel(text: string, def: InstructionDef, label: string): string {
  return def.operands.includes('target') ? `${text}\n${label}:` : text;
}

/** The kernel's source (vector, boot, handler, data), assembled at guest-physical 0; with paging, its boot builds the tables first. */
export function kernelSource(g: GuestPlan, p: Profile): string {
  const { kernel, user } = modesOf(p);
  const home = kernelHome(p);
  const at = (a: number) => hex(home + a);
  const pg = layoutOf(g);
  return [
    `.org ${at(0)}`,
    pg ? `.psw pc=handler, mode=${kernel}, pg=1, ptbr=${hex(pg.kernelRoot)}` : `.psw pc=handler, mode=${kernel}, limit=${hex(VMSIZE)}`,
    `.org ${at(KERNEL_PC)}`,
    'boot:',
    ...(pg ? pagingPrologue(pg, at) : []),
    ...g.boot,
    'lpsw upsw',
    'handler:',
    'ld r13, count',
    'addi r13, r13, 1',
    'st r13, count',
    `li r12, ${g.stopAfter}`,
    'beq r13, r12, done',
    ...g.handler,
    `ld r10, ${at(TRAP_CAUSE)}`,
    `li r11, ${Cause.Svc}`,
    'beq r10, r11, resume',
    `li r11, ${Cause.Timer}`,
    'beq r10, r11, resume',
    `ld r10, ${at(SLOT_OLD_PSW + PSW_PC)}`, // a fault: skip the instruction
    'addi r10, r10, 8',
    `st r10, ${at(SLOT_OLD_PSW + PSW_PC)}`,
    `resume: lpsw ${at(SLOT_OLD_PSW)}`,
    'done: halt',
    '.align 8',
    'count: .word 0',
    ...(pg
      ? [`upsw: .psw pc=0, mode=${user}, ie=1, pg=1, ptbr=${hex(pg.userRoot)}`, `kpsw: .psw pc=paged, mode=${kernel}, pg=1, ptbr=${hex(pg.kernelRoot)}`]
      : [`upsw: .psw pc=0, mode=${user}, ie=1, base=${hex(USER_BASE)}, limit=${hex(USER_SIZE)}`]),
  ].join('\n');
}

/** The process's source, assembled at its address 0 (guest-physical USER_BASE). */
export function userSource(g: GuestPlan): string {
  const loop = g.loop > 0 ? [`li r9, ${g.loop}`, 'loop: addi r9, r9, -1', 'bne r9, r0, loop'] : [];
  return ['.org 0', ...g.user, ...loop, 'svc 0', 'jmp 0'].join('\n');
}

/** The guest image of `g` on `p` (throws AsmError when a line does not assemble). */
export function guestImage(g: GuestPlan, p: Profile, name = 'generated'): GuestImage {
  const image = guestFromSources({
    name,
    profile: p,
    vmsize: vmsizeOf(g),
    bounds: 'size',
    programs: [
      { source: kernelSource(g, p), at: -kernelHome(p) }, // its address kernelHome at guest-physical 0
      { source: userSource(g), at: USER_BASE },
    ],
    psw: { pc: kernelHome(p) + KERNEL_PC, status: 0, base: 0, limit: vmsizeOf(g), ptbr: 0, extra: 0 },
    regs: g.regs,
    budget: g.budget,
  });
  const pg = layoutOf(g);
  return pg ? { ...image, ...pagingMachine(p, pg) } : image;
}

/** Lines of the guest's parts (what the shrinker counts). */
export function planSize(g: GuestPlan): number {
  return g.boot.length + g.handler.length + g.user.length;
}

/** The guest as one printable text: both programs, registers and budget. */
export function guestText(g: GuestPlan, p: Profile): string {
  const regs = g.regs.map((v, r) => [r, v] as const).filter(([, v]) => v !== 0).map(([r, v]) => `r${r}=${hex(v)}`);
  return [`; ${g.profile} guest, ${vmsizeOf(g)} bytes${g.paging ? `, paging ${g.paging} (the kernel builds its tables, then turns paging on)` : ''}, budget ${g.budget}, registers ${regs.join(' ') || 'all 0'}`, `; --- kernel @0${kernelHome(p) ? ` (assembled at ${hex(kernelHome(p))})` : ''}`, kernelSource(g, p), `; --- process @${hex(USER_BASE)}`, userSource(g)].join('\n');
}
