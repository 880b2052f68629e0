// fast-check generators of random but valid classic programs, and the machines that run them:
// a user program at virtual 0 of a segment (B, L) under a small kernel in low memory.

import fc from 'fast-check';
import { assemble } from '../../src/asm/index.js';
import { Machine, type MachineConfig } from '../../src/isa/machine.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { snapshot, type MachineSnapshot } from '../../src/isa/snapshot.js';
import { PhysicalMemory } from '../../src/mmu/memory.js';
import type { BoundsConvention } from '../../src/mmu/segment.js';
import { MEM } from './helpers.js';

const RRR = ['add', 'sub', 'and', 'or', 'xor', 'shl', 'shr', 'sar', 'mul', 'divu', 'remu', 'slt', 'sltu'];
const RRI = ['addi', 'andi', 'ori', 'xori', 'shli', 'shri', 'sari', 'muli', 'slti', 'sltiu'];
const BRANCHES = ['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu'];
const MEMORY_OPS = ['ld', 'ldb', 'st', 'stb'];

const reg = fc.integer({ min: 0, max: 15 }).map((r) => `r${r}`);
const imm = fc.oneof(fc.integer({ min: -16, max: 16 }), fc.integer());

export interface ProgramShape {
  /** instructions in the program (code occupies [0, 8 * length)) */
  readonly length: number;
  /** the size of the region data addresses are drawn from (typically the segment size) */
  readonly span: number;
  /** include stores into the program's own code */
  readonly selfModifying?: boolean;
}

/** An address: mostly inside [0, span) and word-aligned, sometimes at the edge or anywhere. */
function address(span: number): fc.Arbitrary<number> {
  const top = Math.max(span, 4);
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: top - 1 }).map((a) => a & ~3) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: top + 8 }) },
    { weight: 1, arbitrary: fc.constantFrom(top - 4, top - 3, top - 1, top, top + 4).filter((a) => a >= 0) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) },
  );
}

/** One instruction line of a program of `shape`. */
function instruction(shape: ProgramShape): fc.Arbitrary<string> {
  const target = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0, max: shape.length }).map((k) => 8 * k) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: shape.length }).map((k) => 8 * k + 4) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_fff8 }) },
  );
  const disp = fc.oneof(fc.integer({ min: -8, max: 8 }).map((d) => 4 * d), fc.integer({ min: -64, max: 64 }), fc.integer());
  const options: { weight: number; arbitrary: fc.Arbitrary<string> }[] = [
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...RRR), reg, reg, reg).map(([m, d, s, t]) => `${m} ${d}, ${s}, ${t}`) },
    { weight: 6, arbitrary: fc.tuple(fc.constantFrom(...RRI), reg, reg, imm).map(([m, d, s, i]) => `${m} ${d}, ${s}, ${i}`) },
    { weight: 3, arbitrary: fc.tuple(reg, fc.oneof(address(shape.span), imm)).map(([d, i]) => `li ${d}, ${i}`) },
    { weight: 1, arbitrary: fc.tuple(reg, reg).map(([d, s]) => `mov ${d}, ${s}`) },
    { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...MEMORY_OPS), reg, disp, reg).map(([m, d, o, s]) => `${m} ${d}, ${o}(${s})`) },
    { weight: 5, arbitrary: fc.tuple(fc.constantFrom(...MEMORY_OPS), reg, address(shape.span)).map(([m, d, a]) => `${m} ${d}, ${a}`) },
    { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...BRANCHES), reg, reg, target).map(([m, s, t, a]) => `${m} ${s}, ${t}, ${a}`) },
    { weight: 1, arbitrary: target.map((a) => `jmp ${a}`) },
    { weight: 1, arbitrary: target.map((a) => `call ${a}`) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('jr', 'callr'), reg).map(([m, s]) => `${m} ${s}`) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 300 }).map((n) => `svc ${n}`) },
    { weight: 1, arbitrary: fc.constant('nop') },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.tuple(fc.constantFrom('lpsw', 'spsw'), address(shape.span)).map(([m, a]) => `${m} ${a & ~3}`),
        fc.constantFrom('halt', 'tlbflush'),
        fc.tuple(fc.constantFrom('settimer', 'setptbr', 'invlpg'), reg).map(([m, s]) => `${m} ${s}`),
        fc.tuple(fc.constantFrom('gettimer', 'getptbr'), reg).map(([m, d]) => `${m} ${d}`),
        fc.tuple(reg, fc.integer({ min: 0, max: 1 })).map(([s, p]) => `out ${s}, ${p}`),
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom('.word 0xff, 0', '.word 0x00200001, 0', '.word 0, 0') },
  ];
  if (shape.selfModifying) {
    const codeWord = fc.integer({ min: 0, max: Math.max(0, 2 * shape.length - 1) }).map((k) => 4 * k);
    options.push({
      weight: 4,
      arbitrary: fc.tuple(fc.constantFrom('st', 'stb'), reg, codeWord, fc.integer({ min: 0, max: 3 })).map(([m, s, a, b]) => `${m} ${s}, ${m === 'stb' ? a + b : a}`),
    });
    // keep code-patching stores useful: a register holding an instruction header
    options.push({ weight: 2, arbitrary: fc.tuple(reg, fc.constantFrom(0x20, 0x11, 0x51, 0x48, 0x50, 0x32)).map(([d, op]) => `li ${d}, ${op | (1 << 8)}`) });
  }
  return fc.oneof(...options);
}

/** Assembly text of a random program of `shape` (code at virtual 0). */
export function programText(shape: ProgramShape): fc.Arbitrary<string> {
  return fc.array(instruction(shape), { minLength: shape.length, maxLength: shape.length }).map((lines) => lines.map((l) => `        ${l}`).join('\n') + '\n');
}

/** Initial register values: mostly small (in-range addresses), sometimes anything. */
export function registerValues(span: number): fc.Arbitrary<number[]> {
  return fc.array(fc.oneof(address(span), fc.integer({ min: -8, max: 8 }), fc.integer()), { minLength: 16, maxLength: 16 });
}

/** A segment (B, L) in a memory of `memorySize`, in the given convention. */
export interface Segment {
  readonly bounds: BoundsConvention;
  readonly base: number;
  /** L as the PSW holds it (a size, or an end address in the end convention) */
  readonly limit: number;
}

/** The physical range [lo, hi) a segment allows (clipped to memory). */
export function segmentRange(s: Segment, memorySize: number): [number, number] {
  const hi = s.bounds === 'end' ? s.limit : s.base + s.limit;
  return [Math.min(s.base, memorySize), Math.max(Math.min(hi, memorySize), Math.min(s.base, memorySize))];
}

/**
 * Segments whose base lies at or above `minBase`: ordinary ones, ones ending at or past the end
 * of memory, bases with every alignment mod 8 near frame boundaries, and bases past memory.
 */
export function segment(minBase: number, memorySize = MEM): fc.Arbitrary<Segment> {
  const base = fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: minBase, max: memorySize - 0x100 }) },
    { weight: 3, arbitrary: fc.tuple(fc.integer({ min: Math.ceil(minBase / 0x1000) + 1, max: memorySize / 0x1000 - 1 }), fc.integer({ min: 0, max: 0x60 })).map(([f, d]) => f * 0x1000 - d) },
    { weight: 1, arbitrary: fc.integer({ min: memorySize - 0x200, max: memorySize + 0x100 }) },
    { weight: 1, arbitrary: fc.constantFrom(0xffff_f000, 0xffff_fff8) },
  );
  const size = fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 0, max: 0x800 }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: memorySize }) },
    { weight: 1, arbitrary: fc.constantFrom(0, 1, 7, 8, 0xffff_ffff) },
  );
  return fc.tuple(fc.constantFrom<BoundsConvention>('size', 'end'), base, size).map(([bounds, b, l]) => ({
    bounds,
    base: b,
    limit: bounds === 'end' ? Math.min(b + l, 0xffff_ffff) : l,
  }));
}

/** A kernel whose trap handler halts. */
export const HALTING_KERNEL = `
        .org 0
        .psw pc=handler, mode=s, base=0, limit=MEM
        .org 0x80
handler: halt
`;

/**
 * A kernel that resumes the interrupted program after every trap (skipping a faulting
 * instruction, so execution always moves on) and halts at the MAXTRAPS-th trap. It uses only
 * r1/r2, saved and restored, and kernel memory below 0x400.
 */
export const RESUMING_KERNEL = `
        .org 0
        .psw pc=handler, mode=s, base=0, limit=MEM
        .org 0x80
handler: st   r1, save1
        st   r2, save2
        ld   r1, count
        addi r1, r1, 1
        st   r1, count
        li   r2, MAXTRAPS
        bge  r1, r2, stop
        ld   r1, 0x40
        li   r2, 5                 ; svc: the saved pc is already the next instruction
        beq  r1, r2, resume
        li   r2, 6                 ; timer: likewise
        beq  r1, r2, resume
        ld   r1, 0x20
        addi r1, r1, 8
        st   r1, 0x20
resume: ld   r1, save1
        ld   r2, save2
        lpsw 0x20
stop:   halt
        .align 4
save1:  .word 0
save2:  .word 0
count:  .word 0
`;

export interface GuestRun {
  readonly program: string;
  readonly regs: readonly number[];
  readonly segment: Segment;
  /** status word of the program's PSW (mode, IE) */
  readonly status: number;
  /** timer reload (0 = off) */
  readonly timer: number;
}

/**
 * A fresh machine with `kernel` in low memory and the run's program at B (as much as fits).
 * With `hostOffset`, its memory is a window at that offset onto a larger host memory (as a VMM
 * gives a guest's interpreter).
 */
export function guestMachine(kernel: string, g: GuestRun, config: Partial<MachineConfig> = {}, hostOffset?: number): Machine {
  const memorySize = config.memorySize ?? MEM;
  const memory = hostOffset === undefined ? undefined : new PhysicalMemory(memorySize + hostOffset + 0x1000).window(hostOffset, memorySize);
  return guestMachineOn(kernel, g, memory, config);
}

/** guestMachine over `memory` (any PhysicalMemory of config.memorySize bytes: a window, a physmap memory). */
export function guestMachineOn(kernel: string, g: GuestRun, memory: PhysicalMemory | undefined, config: Partial<MachineConfig> = {}): Machine {
  const memorySize = config.memorySize ?? MEM;
  const m = new Machine({ profile: classic, memorySize, ...config, bounds: g.segment.bounds }, memory);
  for (const c of assemble(kernel, { profile: classic, symbols: { MEM: memorySize, MAXTRAPS: 24 } }).chunks) m.mem.writeBytes(c.address, c.bytes);
  for (const c of assemble(g.program, { profile: classic }).chunks) {
    const at = g.segment.base + c.address;
    const n = Math.max(0, Math.min(c.bytes.length, memorySize - at));
    if (n > 0) m.mem.writeBytes(at, c.bytes.subarray(0, n));
  }
  m.regs.set(g.regs);
  m.loadPsw({ pc: 0, status: g.status, base: g.segment.base, limit: g.segment.limit, ptbr: 0, extra: 0 });
  m.timerReload = m.timerCount = g.timer;
  m.timerEnabled = g.timer !== 0;
  return m;
}

/**
 * Random guest runs: a program of 4..24 instructions, registers, segment, mode/IE, timer. Timer
 * periods are short (a tick every instruction or so) or longer than RESUMING_KERNEL's 15-instruction
 * handler, so that programs still progress between ticks.
 */
export function guestRun(o: { minBase: number; modes: readonly number[]; selfModifying?: boolean }): fc.Arbitrary<GuestRun> {
  return fc
    .tuple(segment(o.minBase), fc.integer({ min: 4, max: 24 }), fc.constantFrom(...o.modes), fc.boolean(), fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 3, arbitrary: fc.integer({ min: 16, max: 48 }) }))
    .chain(([seg, length, mode, ie, timer]) => {
      const span = Math.min(seg.bounds === 'end' ? Math.max(0, seg.limit - seg.base) : seg.limit, 0x2000);
      return fc.record({
        program: programText({ length, span: Math.max(span, 8 * length), selfModifying: o.selfModifying }),
        regs: registerValues(span),
        segment: fc.constant(seg),
        status: fc.constant(mode | (ie ? 1 << 8 : 0)),
        timer: fc.constant(timer),
      });
    });
}

/**
 * Runs `m` in chunks of `chunks[i]` retired instructions (1: one step), snapshotting after chunk i
 * where `snap[i]` says — the same points in two runs compared, as a retired count may hold several
 * steps — then `tail` more instructions and a last snapshot; the snapshots taken.
 */
export function runChunks(m: Machine, chunks: readonly number[], snap: readonly boolean[], tail = 300): MachineSnapshot[] {
  const out: MachineSnapshot[] = [];
  chunks.forEach((k, i) => {
    if (k === 1) m.step();
    else m.run(k);
    if (snap[i]) out.push(snapshot(m));
  });
  m.run(tail);
  out.push(snapshot(m));
  return out;
}
