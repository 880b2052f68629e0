// The states the classifier executes an instruction on: seeded random ones (pure-rand, never
// Math.random) and a bounded-exhaustive set for a tiny configuration. Operand values come from
// the operand kinds and the profile's data — its mode numbers, the status word's fields, the
// blocks of its address-region hook — never from instruction names.
//
// Where the checks need their evidence, the draws lean (measured in docs/classify.md):
// - modes: odd samples cycle through the modes V moves (realModeOf[m] !== m), since
//   deprivileging changes nothing in a mode V leaves alone — half the states are where
//   mode-sensitivity can show; of the even ones, half are in the user mode, where
//   user-sensitivity shows, and half cycle through every mode;
// - control registers: all at reset three times in four (a table the profile defines at reset,
//   such as x86's descriptors, is what most instructions that read it expect), else each drawn;
// - the stack pointer (r15, the assembler's sp) points at one of the stack frames one time in
//   two, so pops and returns read a frame rather than an arbitrary word.
//
// Layout of a generated machine (segment translation, size convention):
//
//   physical  [0, MEMORY)          a background pattern (different per state), then:
//   B + 0x80 .. B + 0x1000         the instruction, at virtual pc
//   B + IMAGES ..                  IMAGE_COUNT valid PSW images (for PSW loads)
//   B + pointer ..                 at each of POINTERS pointers into the segment, FRAME_WORDS
//                                  words from the value pool: a stack frame for pops and returns
//   [B, B + L)                     the segment; B + L <= SEGMENT_END, so every relocation by
//                                  delta <= MEMORY keeps it inside the relocated twin's memory
//
// With paging (a geometry given): B = 0, PG on, and the virtual pages of [0, SEGMENT_END) in
// frames 0 .. PAGES - 1 in a random order (pages 0 and 1, the code and the images, always
// mapped; the others seven times in eight), each user-accessible and writable three times in
// four, A preset; the tables in the frames above; a few TLB entries filled by translating
// mapped pages in the state's mode, and one time in four one of them made stale (its leaf
// rewritten to another frame after the fill, no invalidation). The exhaustive mode pages too
// when given a geometry: one fixed family's mappings, fixed fills, nothing stale (tinyPaging).

import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { encodeHeader, PSW_BYTES, ST_FLAGS_MASK, ST_FLAGS_SHIFT, ST_IE, ST_PG, ST_PROFILE_SHIFT } from '../../isa/arch.js';
import type { InstructionDef, OperandKind } from '../../isa/instructions.js';
import { Machine, type MachineConfig, type Psw } from '../../isa/machine.js';
import type { Profile } from '../../isa/profile.js';
import { checkpoint, type MachineSnapshot } from '../../isa/snapshot.js';
import { Access } from '../../mmu/fault.js';
import { FRAME_SIZE, imageOfFrames, PhysicalMemory } from '../../mmu/memory.js';
import { leafEntry, writeEntry, leafAddress, type Geometry, type MapPerms } from '../../paging/index.js';
import { buildTables, pagedConfig, type PageMap } from './paging.js';
import { STACK_POINTER } from '../../asm/registers.js';

/** Bytes of physical memory of a generated state. */
export const MEMORY = 0x10000;
/** Where the segment ends at the latest. */
const SEGMENT_END = 0xc000;
/** Virtual address of the first PSW image, and how many there are. */
const IMAGES = 0x1000;
const IMAGE_COUNT = 8;
/** The relocations tried: delta = DELTA_FRAMES frames of the lab's frame size at most. */
const DELTA_FRAMES = 16;
/** Pointers into the segment per state, and the words of the stack frame written at each. */
const POINTERS = 3;
const FRAME_WORDS = 4;
/** Small values: every selector-sized number 0 .. SMALL - 1 (an 8-entry table, TI and RPL). */
const SMALL = 64;
/** Paging: the virtual pages mapped (those of [0, SEGMENT_END)), and the first table frame. */
const PAGES = SEGMENT_END / FRAME_SIZE;
const TABLE_FRAMES = Array.from({ length: MEMORY / FRAME_SIZE - PAGES }, (_, i) => PAGES + i);

/** One generated state with the instruction at its pc, and the relocation its twin gets. */
export interface Sample {
  /** position in the sequence (random: from the seed; exhaustive: in the enumeration) */
  readonly index: number;
  readonly state: MachineSnapshot;
  readonly header: number;
  readonly imm: number;
  /** the relocation's delta for this state (a multiple of the frame size): under paging, the real memory's growth */
  readonly delta: number;
  /** paging: the relocation's π, the real frame of each guest frame */
  readonly frames?: readonly number[];
}

/** The machine every generated state runs on (the relocated twin: a larger memory, the same rest); with `geometry`, paging. */
export function machineConfig(p: Profile, memorySize = MEMORY, geometry?: Geometry): MachineConfig {
  return geometry ? pagedConfig(p, memorySize, geometry) : { profile: p, memorySize, translation: 'segment', bounds: 'size' };
}

/** What the generator chooses from; the random generator draws, the exhaustive one enumerates. */
interface Choice {
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
}

function randomChoice(seed: number, index: number, salt: number): Choice {
  const rng = xoroshiro128plus((seed ^ Math.imul(index + 1, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b)) | 0);
  const int = (lo: number, hi: number) => uniformInt(rng, lo, hi);
  return { int, pick: (xs) => xs[int(0, xs.length - 1)] };
}

/** A status word of `p` in `mode`: interrupt enable, profile byte and flags as given. */
function statusWord(mode: number, ie: boolean, profileByte: number, flags: number): number {
  return mode | (ie ? ST_IE : 0) | ((profileByte & 0xff) << ST_PROFILE_SHIFT) | ((flags << ST_FLAGS_SHIFT) & ST_FLAGS_MASK);
}

/**
 * The operand values worth trying in `p`: 0, 1, -1, every mode number and the one past the last,
 * status words (each mode, interrupt enable, profile bits, flags), small numbers (0 .. SMALL - 1:
 * every selector of an 8-entry table), the state's own control register values, pointers to the
 * PSW images and into the segment, and with a region hook an address near the start of every
 * block of its grain.
 */
function interestingValues(p: Profile, c: Choice, control: readonly number[], pointers: readonly number[]): number[] {
  const out = [0, 1, -1, c.int(0, 0x7fffffff) | 0];
  for (let m = 0; m <= p.modes.length; m++) out.push(m);
  for (let m = 0; m < p.modes.length; m++) out.push(statusWord(m, c.int(0, 1) === 1, c.int(0, 255), c.int(0, 15)));
  for (let i = 0; i < 4; i++) out.push(c.int(0, SMALL - 1));
  out.push(...control);
  for (let i = 0; i < IMAGE_COUNT; i++) out.push(IMAGES + i * PSW_BYTES);
  out.push(...pointers);
  out.push(...regionStarts(p).map((a) => (a + c.int(0, MEMORY / 4 - 1) * 4) | 0));
  return out;
}

/** A memory operand's address: inside the segment or at a PSW image, or, three times in four when the profile has a region hook, in one of its blocks. */
function address(p: Profile, c: Choice, limit: number): number {
  const blocks = regionStarts(p);
  if (blocks.length && c.int(0, 3) !== 0) return (c.pick(blocks) + c.int(0, MEMORY / 4 - 1) * 4) | 0;
  return c.int(0, 1) === 1 ? IMAGES + c.int(0, IMAGE_COUNT - 1) * PSW_BYTES : c.int(0, limit / 4 - 1) * 4;
}

/** With a region hook: the first address of every block of its grain (2^29: 0, 0x20000000, ... 0xe0000000). */
function regionStarts(p: Profile): number[] {
  if (!p.region) return [];
  const grain = p.regionGrain ?? 2 ** 29;
  return Array.from({ length: Math.min(64, 2 ** 32 / grain) }, (_, b) => b * grain);
}

/** A valid PSW of `p` for a PSW image: any mode, switches off (paging, `root` given: PG on three times in four, PTBR the state's root one time in two), profile byte and flags random, a segment inside memory. */
function imagePsw(p: Profile, c: Choice, root?: number): Psw {
  const base = c.int(0, 7) * FRAME_SIZE;
  const status = statusWord(c.int(0, p.modes.length - 1), c.int(0, 1) === 1, c.int(0, 255), c.int(0, 15));
  const ptbr = c.int(0, MEMORY / 4 - 1) * 4;
  return {
    pc: c.int(0x10, 0x1ff) * 8,
    status: root !== undefined && c.int(0, 3) !== 0 ? status | ST_PG : status,
    base,
    limit: c.int(1, (SEGMENT_END - base) / FRAME_SIZE) * FRAME_SIZE,
    ptbr: root !== undefined && c.int(0, 1) === 0 ? root : ptbr,
    extra: c.int(0, 0x7fffffff),
  };
}

/** Encodes `d` with operand fields and immediate from `field`/`imm` (fields the row does not use stay 0). */
function encode(d: InstructionDef, fields: { rd: number; rs: number; rt: number; n4: number; abs: boolean }, imm: number): { header: number; imm: number } {
  const has = (k: OperandKind) => d.operands.includes(k);
  const rd = has('rd') ? fields.rd : has('n4') ? fields.n4 : 0;
  const rs = has('rs') || (has('mem') && !fields.abs) ? fields.rs : 0;
  const rt = has('rt') ? fields.rt : 0;
  const usesImm = has('imm') || has('target') || has('mem');
  return { header: encodeHeader(d.op, rd, rs, rt, has('mem') && fields.abs), imm: usesImm ? imm | 0 : 0 };
}

const backgrounds = new Map<string, readonly (readonly [number, Int32Array])[]>();

/**
 * The background memory of state family `family`: every frame a cheap hash of seed, family and
 * address (no generator calls), shared by the samples of the family — a state's image shares
 * them, and a machine restored from it copies a frame before writing it.
 */
function background(seed: number, family: number): readonly (readonly [number, Int32Array])[] {
  const key = `${seed}:${family}`;
  let frames = backgrounds.get(key);
  if (!frames) {
    let h = (seed ^ Math.imul(family + 1, 0x27d4eb2d)) | 0;
    frames = Array.from({ length: MEMORY / FRAME_SIZE }, (_, fn) => {
      const words = new Int32Array(FRAME_SIZE / 4);
      for (let i = 0; i < words.length; i++) {
        h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + fn * words.length + i;
        words[i] = h ^ (h >>> 13);
      }
      return [fn, words] as const;
    });
    if (backgrounds.size > 64) backgrounds.clear();
    backgrounds.set(key, frames);
  }
  return frames;
}

/** Paging's part of a state: the geometry, the mappings and their tables, the TLB fills made, and a leaf made stale after them. */
interface PagedSpec {
  readonly geometry: Geometry;
  readonly pages: PageMap;
  /** the table frames, built from `pages` with the root at ROOT */
  readonly tables: readonly (readonly [number, Int32Array])[];
  /** virtual addresses translated (in the state's mode) to fill the TLB, and whether as a write */
  readonly fills: readonly { readonly va: number; readonly write: boolean }[];
  /** after the fills: the page `page`'s leaf rewritten to map frame `frame` (the TLB keeps the old translation) */
  readonly stale?: { readonly page: number; readonly frame: number };
}

/** Everything a state is made of, chosen by the random or the exhaustive generator. */
interface StateSpec {
  readonly mode: number;
  readonly ie: boolean;
  readonly profileByte: number;
  readonly flags: number;
  readonly base: number;
  readonly limit: number;
  readonly pc: number;
  readonly regs: readonly number[];
  readonly banks: readonly number[];
  readonly control: readonly number[];
  readonly timer: { readonly reload: number; readonly count: number; readonly enabled: boolean };
  readonly images: readonly Psw[];
  /** words written at virtual addresses (stack frames) */
  readonly words?: readonly (readonly [number, number])[];
  readonly memory: readonly (readonly [number, Int32Array])[];
  readonly header: number;
  readonly imm: number;
  readonly paging?: PagedSpec;
}

/** The root table's frame of a paged state. */
const ROOT = TABLE_FRAMES[0] * FRAME_SIZE;

/** Builds the state `spec` on a machine of `p` and takes it as a snapshot. */
function build(p: Profile, spec: StateSpec): MachineSnapshot {
  const pg = spec.paging;
  const memory = pg ? [...spec.memory.filter(([fn]) => fn < PAGES), ...pg.tables] : spec.memory;
  const m = new Machine(machineConfig(p, MEMORY, pg?.geometry), imageOfFrames(MEMORY, memory).thaw());
  const pa = (va: number) => (pg ? pg.pages.frames[Math.floor(va / FRAME_SIZE)] * FRAME_SIZE + (va % FRAME_SIZE) : spec.base + va);
  const root = pg ? ROOT : 0;
  spec.images.forEach((psw, i) => m.writePswImage(pa(IMAGES + i * PSW_BYTES), psw));
  for (const [va, w] of spec.words ?? []) if (!pg || pg.pages.frames[Math.floor(va / FRAME_SIZE)] >= 0) m.store32(pa(va), w);
  m.store32(pa(spec.pc), spec.header);
  m.store32(pa(spec.pc + 4), spec.imm);
  const status = statusWord(spec.mode, spec.ie, spec.profileByte, spec.flags) | (pg ? ST_PG : 0);
  m.loadPsw({ pc: spec.pc, status, base: spec.base, limit: spec.limit, ptbr: root, extra: 0 });
  if (pg) fillTlb(m, pg, root);
  m.banks.set(spec.banks);
  m.regs.set(spec.regs);
  m.control.set(spec.control);
  m.timerReload = spec.timer.reload;
  m.timerCount = spec.timer.count;
  m.timerEnabled = spec.timer.enabled;
  return checkpoint(m);
}

/** Fills the TLB of `m` by translating `pg.fills` in its mode, then makes one leaf stale when asked. */
function fillTlb(m: Machine, pg: PagedSpec, root: number): void {
  for (const f of pg.fills) m.translate(f.va, 4, f.write ? Access.Write : Access.Read);
  if (!pg.stale) return;
  const g = pg.geometry;
  const at = leafAddress(g, m.mem, root, pg.stale.page * FRAME_SIZE);
  if (at >= 0) writeEntry(g.entry, m.mem, at, leafEntry(g, pg.stale.frame * FRAME_SIZE, g.indexBits.length - 1, { ...pg.pages.perms[pg.stale.page], accessed: true }));
}

/** A random order of 0 .. n - 1. */
function shuffled(c: Choice, n: number): number[] {
  const xs = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = c.int(0, i);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

const families = new Map<string, { readonly pages: PageMap; readonly tables: readonly (readonly [number, Int32Array])[] }>();

/**
 * The mappings of state family `family` and their tables (built once, shared by the family's
 * states as the background is): pages in a random order of frames, see the header.
 */
function pagingFamily(seed: number, family: number, g: Geometry): { readonly pages: PageMap; readonly tables: readonly (readonly [number, Int32Array])[] } {
  const key = `${seed}:${family}:${g.name}`;
  let f = families.get(key);
  if (!f) {
    const c = randomChoice(seed, family, 0x7a6);
    const frames = shuffled(c, PAGES).map((fn, v) => (v < 2 || c.int(0, 7) !== 0 ? fn : -1));
    const perms: MapPerms[] = frames.map((_, v) => {
      const write = c.int(0, 3) !== 0;
      return { user: v === 0 || c.int(0, 3) !== 0, write, accessed: true, dirty: write && c.int(0, 1) === 0 };
    });
    const pages = { frames, perms };
    const scratch = new PhysicalMemory(MEMORY);
    buildTables(g, scratch, pages, TABLE_FRAMES);
    const tables = TABLE_FRAMES.map((fn) => [fn, scratch.image().frameAt(fn * FRAME_SIZE) ?? new Int32Array(FRAME_SIZE / 4)] as const);
    if (families.size > 64) families.clear();
    families.set(key, (f = { pages, tables }));
  }
  return f;
}

/** The paging of random state `index` (see the header): its family's tables, TLB fills, a stale leaf one time in four. */
function randomPaging(c: Choice, g: Geometry, seed: number, index: number): PagedSpec {
  const { pages, tables } = pagingFamily(seed, index % 16, g);
  const mapped = pages.frames.flatMap((f, v) => (f >= 0 ? [v] : []));
  const fills = Array.from({ length: c.int(1, 6) }, () => ({ va: c.pick(mapped) * FRAME_SIZE + c.int(0, FRAME_SIZE / 4 - 1) * 4, write: c.int(0, 1) === 0 }));
  const stale = c.int(0, 3) === 0 ? { page: Math.floor(c.pick(fills).va / FRAME_SIZE), frame: c.int(0, PAGES - 1) } : undefined;
  return { geometry: g, pages, tables, fills, ...(stale ? { stale } : {}) };
}

/** The paging relocation's π for a state: guest frames into a real memory `delta` bytes larger, in a random order. */
function randomFrames(c: Choice, delta: number): number[] {
  return shuffled(c, (MEMORY + delta) / FRAME_SIZE).slice(0, MEMORY / FRAME_SIZE);
}

/**
 * The mode of random state `index`: odd indexes take the modes V moves (realModeOf[m] !== m) in
 * turn; of the even ones (every index when V moves none), every other one is in the user mode
 * (the profile's last) and the rest take every mode in turn. So deprivileging gets half the
 * states, the user mode at least a quarter, and every mode its share.
 */
function sampleMode(p: Profile, index: number): number {
  const moved = p.modes.flatMap((_, m) => (p.realModeOf[m] !== m ? [m] : []));
  const user = p.modes.length - 1;
  if (moved.length === 0) return index % 2 === 0 ? user : (index >> 1) % p.modes.length;
  if (index % 2 === 1) return moved[(index >> 1) % moved.length];
  return index % 4 === 0 ? user : (index >> 2) % p.modes.length;
}

/**
 * Random state `index` for instruction `d` of `p` from `seed` (with `geometry`: paging on): its
 * mode from sampleMode, the rest drawn — the same (seed, instruction, index, geometry) always
 * gives the same state.
 */
export function randomSample(p: Profile, d: InstructionDef, seed: number, index: number, geometry?: Geometry): Sample {
  const c = randomChoice(seed, index, d.op);
  const base = geometry ? 0 : c.int(0, 7) * FRAME_SIZE;
  const limit = c.int(2, (SEGMENT_END - base) / FRAME_SIZE) * FRAME_SIZE;
  const atReset = c.int(0, 3) !== 0;
  const control = p.controlRegisters.map((r) => (atReset ? r.reset : c.pick([r.reset, c.int(-0x80000000, 0x7fffffff), c.int(0, 0xffff) * 8, c.int(0, SMALL - 1)])));
  const pointers = Array.from({ length: POINTERS }, () => c.int(0x80 / 4, limit / 4 - FRAME_WORDS - 1) * 4);
  const values = interestingValues(p, c, control, pointers);
  const value = (): number => {
    const k = c.int(0, 7);
    if (k === 4 && control.length) return c.pick(control);
    return k === 0 ? c.int(-0x80000000, 0x7fffffff) : k <= 2 ? c.int(0, SMALL - 1) : k === 3 || k === 5 ? c.pick(pointers) : c.pick(values);
  };
  const pc = c.int(0x10, 0x1ff) * 8;
  const regs = Array.from({ length: 16 }, value);
  if (c.int(0, 1) === 0) regs[STACK_POINTER] = c.pick(pointers);
  const small = () => (c.int(0, 3) === 0 ? c.int(0, 15) : c.int(0, p.modes.length));
  const fields = { rd: c.int(0, 15), rs: c.int(0, 15), rt: c.int(0, 15), n4: small(), abs: c.int(0, 1) === 1 };
  const target = (pc + 8 * c.int(-8, 64)) >>> 0;
  const mem = d.operands.includes('mem');
  const imm = d.operands.includes('target') ? target : mem && !fields.abs ? c.pick([0, 4, 8, -4, c.int(-64, 64) * 4]) : mem ? address(p, c, limit) : c.int(0, 3) === 0 ? c.int(0, 7) : value();
  if (mem && !fields.abs) regs[fields.rs] = address(p, c, limit);
  const { header, imm: encodedImm } = encode(d, fields, imm);
  const words = pointers.flatMap((at) => Array.from({ length: FRAME_WORDS }, (_, i) => [at + 4 * i, value()] as const));
  const paging = geometry ? randomPaging(c, geometry, seed, index) : undefined;
  const spec: StateSpec = {
    mode: sampleMode(p, index),
    ie: c.int(0, 1) === 1,
    profileByte: c.int(0, 255),
    flags: c.int(0, 15),
    base,
    limit,
    pc,
    regs,
    banks: Array.from({ length: p.modes.length * p.bankedRegisters.length }, value),
    control,
    timer: { reload: c.int(1, 1000), count: c.int(2, 1000), enabled: c.int(0, 1) === 1 },
    images: Array.from({ length: IMAGE_COUNT }, () => imagePsw(p, c, geometry ? ROOT : undefined)),
    words,
    memory: background(seed, index % 16),
    header,
    imm: encodedImm,
    ...(paging ? { paging } : {}),
  };
  const delta = c.int(1, DELTA_FRAMES) * FRAME_SIZE;
  return { index, state: build(p, spec), header, imm: encodedImm, delta, ...(geometry ? { frames: randomFrames(c, delta) } : {}) };
}

/** The bounds of the exhaustive mode, as the result states them. */
export interface ExhaustiveBounds {
  readonly modes: readonly string[];
  /** the registers operands name; every other register holds 0, banked copies a fixed value per mode */
  readonly registers: readonly string[];
  /** the values r1, immediates and absolute addresses range over */
  readonly values: readonly number[];
  /** the values r2 ranges over (the same less the region addresses) */
  readonly r2Values: readonly number[];
  /** the status word's other fields: interrupt enable with the profile byte (e.g. x86's IOPL) */
  readonly statusFields: readonly string[];
  readonly memoryWords: number;
  readonly segment: { readonly base: number; readonly limit: number; readonly pc: number; readonly relocation: number };
  /** with paging: the geometry, the pages mapped of those in [0, limit), the TLB entries filled before the instruction */
  readonly paging: { readonly geometry: string; readonly pagesMapped: number; readonly pages: number; readonly tlbFilled: readonly string[] } | null;
}

/** Exhaustive configuration: fixed segment, pc and relocation. */
const TINY = { base: 0x1000, limit: 0x4000, pc: 0x100, delta: 0x4000 } as const;
/** The two status variants: interrupts off with every profile bit set, and on with none. */
const TINY_STATUS = [
  { ie: false, profileByte: 0xff },
  { ie: true, profileByte: 0 },
] as const;

/** The value set of the exhaustive mode for `p`: 0, -1, a PSW image's address, the user mode's number, a status word; with `regions`, an address in every region block but the first. */
function tinyValues(p: Profile, regions: boolean): number[] {
  const userMode = p.modes.length - 1;
  const base = [0, -1, IMAGES, userMode, statusWord(1 % p.modes.length, true, 3, 5)];
  return regions ? [...base, ...regionStarts(p).slice(1).map((a) => (a + 0x100) | 0)] : base;
}

export function exhaustiveBounds(p: Profile, geometry?: Geometry): ExhaustiveBounds {
  const pg = geometry ? tinyPaging(geometry) : undefined;
  return {
    modes: p.modes,
    registers: ['r1', 'r2'],
    values: tinyValues(p, true).map((v) => v >>> 0),
    r2Values: tinyValues(p, false).map((v) => v >>> 0),
    statusFields: TINY_STATUS.map((s) => `ie ${s.ie ? 1 : 0}, profile byte 0x${s.profileByte.toString(16)}`),
    memoryWords: MEMORY / 4,
    segment: pg ? { base: 0, limit: SEGMENT_END, pc: TINY.pc, relocation: TINY.delta } : { base: TINY.base, limit: TINY.limit, pc: TINY.pc, relocation: TINY.delta },
    paging: pg
      ? {
          geometry: pg.geometry.name,
          pagesMapped: pg.pages.frames.filter((f) => f >= 0).length,
          pages: PAGES,
          tlbFilled: pg.fills.map((f) => `${f.write ? 'write' : 'read'} at 0x${f.va.toString(16)}`),
        }
      : null,
  };
}

/**
 * The exhaustive mode's paging (with a geometry): the mappings of random state family 0 from
 * seed 0 (pages 0 and 1, the code and the images, always mapped), the TLB filled by reading
 * the code page and reading and writing the image page in the state's mode, no stale entry.
 */
function tinyPaging(g: Geometry): PagedSpec {
  const { pages, tables } = pagingFamily(0, 0, g);
  return { geometry: g, pages, tables, fills: [{ va: TINY.pc, write: false }, { va: IMAGES, write: false }, { va: IMAGES, write: true }] };
}

/** The exhaustive mode's relocation π under paging: one fixed permutation into a memory TINY.delta bytes larger. */
const tinyFrames = (): number[] => randomFrames(randomChoice(0, 0, 0x71e), TINY.delta);

/**
 * The exhaustive mode's PSW images: the first (the one the value set points at) returns to the
 * user mode with interrupts off inside the same segment; the others as the random generator
 * makes them from seed 0.
 */
function tinyImages(p: Profile, paging: boolean): Psw[] {
  const c = randomChoice(0, 0, 0);
  const first: Psw = paging
    ? { pc: TINY.pc + 8, status: (p.modes.length - 1) | ST_PG, base: 0, limit: SEGMENT_END, ptbr: ROOT, extra: 0 }
    : { pc: TINY.pc + 8, status: p.modes.length - 1, base: TINY.base, limit: TINY.limit, ptbr: 0, extra: 0 };
  return [first, ...Array.from({ length: IMAGE_COUNT - 1 }, () => imagePsw(p, c, paging ? ROOT : undefined))];
}

/**
 * Every state of the tiny configuration for `d`: each mode, each status variant, r1 over the
 * value set and r2 over the same less the region addresses, each operand variant (below). With
 * `geometry`, paging on as tinyPaging says, the segment from 0 (as in random paged states).
 */
export function* exhaustiveSamples(p: Profile, d: InstructionDef, geometry?: Geometry): Generator<Sample> {
  const values = tinyValues(p, true);
  const fixed = background(0, 0);
  const paging = geometry ? tinyPaging(geometry) : undefined;
  const images = tinyImages(p, paging !== undefined);
  const frames = paging ? tinyFrames() : undefined;
  const banks = Array.from({ length: p.modes.length * p.bankedRegisters.length }, (_, i) => 0x100 * (i + 1));
  let index = 0;
  for (let mode = 0; mode < p.modes.length; mode++)
    for (const st of TINY_STATUS)
      for (const r1 of values)
        for (const r2 of tinyValues(p, false))
          for (const v of operandVariants(p, d, values)) {
            const regs = new Array<number>(16).fill(0);
            regs[1] = r1;
            regs[2] = r2;
            const { header, imm } = encode(d, { rd: 1, rt: 2, ...v }, v.imm);
            const spec: StateSpec = {
              mode,
              ...st,
              flags: 0,
              base: paging ? 0 : TINY.base,
              limit: paging ? SEGMENT_END : TINY.limit,
              pc: TINY.pc,
              regs,
              banks,
              control: p.controlRegisters.map((r) => r.reset),
              timer: { reload: 100, count: 50, enabled: true },
              images,
              memory: fixed,
              header,
              imm,
              ...(paging ? { paging } : {}),
            };
            yield { index: index++, state: build(p, spec), header, imm, delta: TINY.delta, ...(frames ? { frames } : {}) };
          }
}

/** The exhaustive mode's operand fields for `d`: rs = r1 or r2; an absolute address or an immediate from `values`; a memory operand also as (rs) with no displacement; a target at the next instruction or pc itself; n4 from 0 to the mode count. */
function operandVariants(p: Profile, d: InstructionDef, values: readonly number[]): { rs: number; abs: boolean; imm: number; n4: number }[] {
  const has = (k: OperandKind) => d.operands.includes(k);
  const n4s = has('n4') ? Array.from({ length: p.modes.length + 1 }, (_, i) => i) : [0];
  const rss = has('rs') || has('mem') ? [1, 2] : [1];
  const imms = has('target') ? [TINY.pc + 8, TINY.pc] : has('imm') ? values : [0];
  const out: { rs: number; abs: boolean; imm: number; n4: number }[] = [];
  for (const n4 of n4s) {
    for (const rs of rss) for (const imm of imms) out.push({ rs, abs: false, imm, n4 });
    if (has('mem')) for (const imm of values) out.push({ rs: 0, abs: true, imm, n4 });
  }
  return out;
}
