// x86-lite: the part of x86-32 protected mode that Robin & Irvine's analysis turns on — four
// rings (CPL in CS.RPL), IF and IOPL in the flags, the system registers GDTR, IDTR, LDTR, TR and
// CR0 (MSW), a GDT of eight flat descriptors, six segment registers, and the instructions that
// read or check that state without trapping (docs/profiles/x86-lite.md). x86-vt is the same
// machine with a non-root copy of every ring in which those instructions exit.
//
// Descriptors. `lgdt rs` loads GDTR and reads the GDT at that linear address: eight 8-byte
// entries, of which the lab keeps the high word's access byte (bits 15..8) — every segment is
// flat (base 0, limit 4 GiB), so base and limit are not stored. The processor here caches the
// table at `lgdt` (x86 reads it at every selector load): a changed descriptor counts from the
// next `lgdt`. Access byte, as x86's:
//
//    15  14 13  12  11  10  9   8
//   +---+------+---+---+---+---+---+
//   | P | DPL  | S | E |C/ED|R/W| A |   E = 1 code (C conforming, R readable); E = 0 data (W writable)
//   +---+------+---+---+---+---+---+
//
// A selector is index << 3 | TI << 2 | RPL; index 0 is the null selector, indexes past 7 and TI
// = 1 (the LDT, not modelled) name no descriptor; a selector is a register's low 16 bits.
//
// Traps. x86 raises #GP for two different things, and its error code tells them apart: #GP(0)
// for an instruction the ring may not execute, #GP(selector) (and #NP, #SS) for a selector that
// fails a descriptor check. The first is the lab's `privileged` cause. The second is `selector`, a
// memory-like trap: the descriptor is x86's relocation register, and a failed check on it is the
// segmentation unit refusing an operand, as a bounds trap is (docs/profiles/x86-lite.md). Its
// fault address is the selector.
//
// The stack is r15 (the assembler's `sp`): push stores at sp − 4 and lowers sp.

import { Cause, PROFILE_CAUSE_BASE, ST_FLAGS_MASK, ST_FLAGS_SHIFT, ST_IE, ST_MODE_MASK, ST_PROFILE_SHIFT } from '../arch.js';
import type { ProfileCpu } from '../cpu.js';
import { CLASSIC_INSTRUCTIONS, type ExecFn, type InstructionDef } from '../instructions.js';
import type { ControlRegisterDef, Profile } from '../profile.js';
import { Access } from '../../mmu/fault.js';

/** IOPL: two bits of the status word's profile byte. */
export const IOPL_SHIFT = ST_PROFILE_SHIFT;
export const IOPL_MASK = 3 << IOPL_SHIFT;
/** ZF, the flag lar, lsl, verr and verw report in (NZCV: Z is the second). */
export const ZF = 1 << (ST_FLAGS_SHIFT + 2);

/** A selector failed a descriptor check: x86's #GP(selector), #NP, #SS (see the header). */
export const SELECTOR_FAULT = PROFILE_CAUSE_BASE;

/** The system registers, in Profile.controlRegisters order. */
export const GDTR = 0;
export const IDTR = 1;
export const LDTR = 2;
export const TR = 3;
export const CR0 = 4;
/** The GDT's access words: control registers DESC0 .. DESC0 + 7. */
export const DESC0 = 5;
export const GDT_ENTRIES = 8;
/** The segment registers, by x86's Sreg encoding (ES 0, CS 1, SS 2, DS 3, FS 4, GS 5): control registers SEG0 + n. */
export const SEG0 = DESC0 + GDT_ENTRIES;
export const ES = 0;
export const CS = 1;
export const SS = 2;
export const DS = 3;
export const FS = 4;
export const GS = 5;
const SEGMENT_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
/** The stack pointer (the assembler's sp). */
export const ESP = 15;

/** Access-byte bits. */
export const D_PRESENT = 1 << 15;
export const D_DPL_SHIFT = 13;
export const D_SEGMENT = 1 << 12;
export const D_CODE = 1 << 11;
export const D_CONFORMING = 1 << 10;
/** readable (code) or writable (data) */
export const D_RW = 1 << 9;
const D_ACCESS_MASK = 0xff00;

/** The ring of a mode: r0..r3 (and x86-vt's non-root v0..v3) in the low two bits. */
const cpl = (m: ProfileCpu) => m.mode & 3;
const iopl = (m: ProfileCpu) => (m.status & IOPL_MASK) >>> IOPL_SHIFT;
const dpl = (d: number) => (d >>> D_DPL_SHIFT) & 3;

/** The access word selector `sel` names, or undefined (null, past the GDT, in the LDT, or not a code/data segment). */
function descriptor(m: ProfileCpu, sel: number): number | undefined {
  const index = (sel & 0xffff) >>> 3;
  if (index === 0 || index >= GDT_ENTRIES || (sel & 4) !== 0) return undefined;
  const d = m.control[DESC0 + index];
  return (d & D_SEGMENT) !== 0 ? d : undefined;
}

/** Whether a descriptor may be named at the current CPL with `sel`'s RPL (conforming code: always). */
function visible(m: ProfileCpu, sel: number, d: number): boolean {
  if ((d & (D_CODE | D_CONFORMING)) === (D_CODE | D_CONFORMING)) return true;
  return dpl(d) >= Math.max(cpl(m), sel & 3);
}

/** ZF = `on`, the other flags kept. */
function setZf(m: ProfileCpu, on: boolean): void {
  m.setStatus(on ? m.status | ZF : m.status & ~ZF);
}

/** The selector in segment register `n` (CS: its RPL is the CPL). */
function selector(m: ProfileCpu, n: number): number {
  const v = m.control[SEG0 + n];
  return n === CS ? (v & ~3) | cpl(m) : v;
}

/** Records a failed descriptor check of `sel` (a read of its descriptor) and returns SELECTOR_FAULT. */
function selectorFault(m: ProfileCpu, sel: number): number {
  m.regionFault(sel & 0xffff, SELECTOR_FAULT, Access.Read);
  return SELECTOR_FAULT;
}

/** 0 when `sel` may be loaded into data segment register `n`, else its selector fault (segmentLoadable). */
function segmentLoadCause(m: ProfileCpu, n: number, sel: number): number {
  return segmentLoadable(m, n, sel) ? 0 : selectorFault(m, sel);
}

/** Whether `sel` may be loaded into data segment register `n` (not CS) at the current CPL, as `mov`/`pop` of a segment register checks it. */
function segmentLoadable(m: ProfileCpu, n: number, sel: number): boolean {
  const null_ = (sel & 0xfffc) === 0;
  const d = descriptor(m, sel);
  if (n === SS) {
    if (null_ || d === undefined || (sel & 3) !== cpl(m) || dpl(d) !== cpl(m)) return false;
    return (d & (D_CODE | D_RW)) === D_RW && (d & D_PRESENT) !== 0;
  }
  if (null_) return true;
  if (d === undefined || ((d & D_CODE) !== 0 && (d & D_RW) === 0)) return false;
  return visible(m, sel, d) && (d & D_PRESENT) !== 0;
}

/** A segment register number from an instruction's immediate (0..5; CS only where `csOk`), or -1. */
function segmentOperand(imm: number, csOk: boolean): number {
  return imm >>> 0 < SEGMENT_NAMES.length && (csOk || imm !== CS) ? imm : -1;
}

/**
 * Whether a far transfer may go to code selector `sel` with no change of ring (`jmp`, `call`):
 * a present code segment, non-conforming with DPL = CPL and RPL <= CPL, or conforming with DPL <= CPL.
 */
function sameRingCode(m: ProfileCpu, sel: number): boolean {
  const d = descriptor(m, sel);
  if (d === undefined || (d & (D_CODE | D_PRESENT)) !== (D_CODE | D_PRESENT)) return false;
  return (d & D_CONFORMING) !== 0 ? dpl(d) <= cpl(m) : dpl(d) === cpl(m) && (sel & 3) <= cpl(m);
}

/**
 * Whether a return may go to code selector `sel`, whose RPL is the ring returned to: not an inner
 * ring, a present code segment with DPL = RPL (conforming: DPL <= RPL).
 */
function returnCode(m: ProfileCpu, sel: number): boolean {
  const rpl = sel & 3;
  const d = descriptor(m, sel);
  if (rpl < cpl(m) || d === undefined || (d & (D_CODE | D_PRESENT)) !== (D_CODE | D_PRESENT)) return false;
  return (d & D_CONFORMING) !== 0 ? dpl(d) <= rpl : dpl(d) === rpl;
}

/** Reads `n` words of the stack from sp up into `out`; 0, or the fault's cause. */
function popWords(m: ProfileCpu, out: number[], n: number): number {
  for (let i = 0; i < n; i++) {
    const pa = m.translate((m.regs[ESP] + 4 * i) >>> 0, 4, Access.Read);
    if (pa < 0) return m.faultCause();
    out[i] = m.load32(pa);
  }
  return 0;
}

/** Writes `words` below sp (the first lowest, as pushed last) and lowers sp; 0, or the fault's cause (sp kept). */
function pushWords(m: ProfileCpu, words: readonly number[]): number {
  const sp = m.regs[ESP];
  const pas: number[] = [];
  for (let i = 0; i < words.length; i++) {
    const pa = m.translate((sp - 4 * (words.length - i)) >>> 0, 4, Access.Write);
    if (pa < 0) return m.faultCause();
    pas.push(pa);
  }
  pas.forEach((pa, i) => m.store32(pa, words[i]));
  m.regs[ESP] = (sp - 4 * words.length) | 0;
  return 0;
}

/**
 * Ends a far return to `sel` at `pc`: to an outer ring, the mode changes to the ring (in the same
 * root or non-root group), sp is `outerSp`, and ES, DS, FS and GS holding a segment the outer
 * ring may not name are nulled, as x86 does.
 */
function farReturn(m: ProfileCpu, sel: number, pc: number, outerSp: number): void {
  const rpl = sel & 3;
  m.control[SEG0 + CS] = sel & 0xffff;
  m.nextPc = pc >>> 0;
  if (rpl === cpl(m)) return;
  m.regs[ESP] = outerSp;
  m.setStatus((m.status & ~ST_MODE_MASK) | (m.mode & ~3) | rpl);
  for (const n of [ES, DS, FS, GS]) {
    const d = descriptor(m, m.control[SEG0 + n]);
    if (d !== undefined && ((d & D_CODE) === 0 || (d & D_CONFORMING) === 0) && dpl(d) < rpl) m.control[SEG0 + n] = 0;
  }
}

/** The flags, IF and IOPL an image gives at the current CPL: IF only when CPL <= IOPL, IOPL only at CPL 0 — the rest kept, silently. */
function takeFlags(m: ProfileCpu, image: number): void {
  let take = ST_FLAGS_MASK;
  if (cpl(m) <= iopl(m)) take |= ST_IE;
  if (cpl(m) === 0) take |= IOPL_MASK;
  m.setStatus((m.status & ~take) | (image & take));
}

const pushf: ExecFn = (m, rd) => {
  m.regs[rd] = m.status & (ST_FLAGS_MASK | ST_IE | IOPL_MASK | ST_MODE_MASK);
  return 0;
};

const popf: ExecFn = (m, _rd, rs) => (takeFlags(m, m.regs[rs]), 0);

/** `lar`, `lsl`: rd = the descriptor's access byte, or its limit, and ZF = 1 — or ZF = 0, rd kept. */
function descriptorRead(value: (d: number) => number): ExecFn {
  return (m, rd, rs) => {
    const sel = m.regs[rs];
    const d = descriptor(m, sel);
    const ok = d !== undefined && visible(m, sel, d);
    if (ok) m.regs[rd] = value(d);
    setZf(m, ok);
    return 0;
  };
}

/** `verr`, `verw`: ZF = whether the segment `rs` names is visible and readable, or writable. */
function verify(writable: boolean): ExecFn {
  return (m, _rd, rs) => {
    const sel = m.regs[rs];
    const d = descriptor(m, sel);
    const kind = d === undefined ? false : writable ? (d & (D_CODE | D_RW)) === D_RW : (d & D_CODE) === 0 || (d & D_RW) !== 0;
    setZf(m, kind && visible(m, sel, d!));
    return 0;
  };
}

const lgdt: ExecFn = (m, _rd, rs) => {
  const base = m.regs[rs];
  const words: number[] = [];
  const saved = m.pagingMode;
  m.pagingMode = 0; // descriptor-table reads are supervisor accesses in every ring
  try {
    for (let i = 0; i < GDT_ENTRIES; i++) {
      const pa = m.translate((base + 8 * i + 4) >>> 0, 4, Access.Read);
      if (pa < 0) return m.faultCause();
      words.push(m.load32(pa) & D_ACCESS_MASK);
    }
  } finally {
    m.pagingMode = saved;
  }
  m.control[GDTR] = base;
  words.forEach((w, i) => (m.control[DESC0 + i] = w));
  return 0;
};

const rdseg: ExecFn = (m, rd, _rs, _rt, imm) => {
  const n = segmentOperand(imm, true);
  if (n < 0) return Cause.Illegal;
  m.regs[rd] = selector(m, n);
  return 0;
};

const wrseg: ExecFn = (m, _rd, rs, _rt, imm) => {
  const n = segmentOperand(imm, false);
  if (n < 0) return Cause.Illegal;
  const sel = m.regs[rs];
  const cause = segmentLoadCause(m, n, sel);
  if (cause === 0) m.control[SEG0 + n] = sel & 0xffff;
  return cause;
};

const pushseg: ExecFn = (m, _rd, _rs, _rt, imm) => {
  const n = segmentOperand(imm, true);
  return n < 0 ? Cause.Illegal : pushWords(m, [selector(m, n)]);
};

const popseg: ExecFn = (m, _rd, _rs, _rt, imm) => {
  const n = segmentOperand(imm, false);
  if (n < 0) return Cause.Illegal;
  const w: number[] = [];
  const cause = popWords(m, w, 1) || segmentLoadCause(m, n, w[0]);
  if (cause !== 0) return cause;
  m.control[SEG0 + n] = w[0] & 0xffff;
  m.regs[ESP] = (m.regs[ESP] + 4) | 0;
  return 0;
};

const jmpf: ExecFn = (m, _rd, rs, _rt, imm) => {
  const sel = m.regs[rs];
  if (!sameRingCode(m, sel)) return selectorFault(m, sel);
  m.control[SEG0 + CS] = sel & 0xffff;
  m.nextPc = imm >>> 0;
  return 0;
};

const callf: ExecFn = (m, _rd, rs, _rt, imm) => {
  const sel = m.regs[rs];
  if (!sameRingCode(m, sel)) return selectorFault(m, sel);
  const cause = pushWords(m, [m.nextPc, selector(m, CS)]);
  if (cause !== 0) return cause;
  m.control[SEG0 + CS] = sel & 0xffff;
  m.nextPc = imm >>> 0;
  return 0;
};

/**
 * A far return: pops EIP, CS and, with `flags` (`iret`), EFLAGS — taken as popf takes them, at the
 * ring returning — and, to an outer ring, ESP (SS is not switched here). A CS that fails the
 * return checks is a selector fault.
 */
function returnInstruction(flags: boolean): ExecFn {
  const n = flags ? 3 : 2;
  return (m) => {
    const w: number[] = [];
    const cause = popWords(m, w, n);
    if (cause !== 0) return cause;
    const outer = (w[1] & 3) > cpl(m);
    if (!returnCode(m, w[1])) return selectorFault(m, w[1]);
    if (outer && popWords(m, w, n + 1) !== 0) return m.faultCause();
    const frameEnd = (m.regs[ESP] + 4 * n) | 0;
    if (flags) takeFlags(m, w[2]);
    farReturn(m, w[1], w[0], outer ? w[n] : frameEnd);
    if (!outer) m.regs[ESP] = frameEnd;
    return 0;
  };
}

/** `store` reads system register `r` in every ring; `load` writes it, ring 0 only. */
function systemRegister(store: string, load: string, r: number, op: number, what: string): InstructionDef[] {
  return [
    { mnemonic: store, op, operands: ['rd'], summary: `rd = ${what}, in every ring (never traps)`, exec: (m, rd) => ((m.regs[rd] = m.control[r]), 0) },
    { mnemonic: load, op: op + 1, operands: ['rs'], trapsIn: ['r1', 'r2', 'r3'], summary: `${what} = rs (ring 0 only)`, exec: (m, _rd, rs) => ((m.control[r] = m.regs[rs]), 0) },
  ];
}

/** The x86 rows beyond the classic ones, with the root rings they trap in (x86-vt adds the non-root ones). */
const X86_ROWS: readonly InstructionDef[] = [
  { mnemonic: 'pushf', op: 0xa0, operands: ['rd'], summary: 'rd = flags, IF, IOPL and CPL, in every ring (never traps)', exec: pushf },
  { mnemonic: 'popf', op: 0xa1, operands: ['rs'], summary: 'flags = rs; IF only when CPL <= IOPL, IOPL only at CPL 0; the rest ignored, never a trap', exec: popf },
  { mnemonic: 'sgdt', op: 0xa2, operands: ['rd'], summary: 'rd = GDTR, in every ring (never traps)', exec: (m, rd) => ((m.regs[rd] = m.control[GDTR]), 0) },
  { mnemonic: 'lgdt', op: 0xa3, operands: ['rs'], trapsIn: ['r1', 'r2', 'r3'], summary: "GDTR = rs, and the GDT's eight access bytes read from there (ring 0 only)", exec: lgdt },
  ...systemRegister('sidt', 'lidt', IDTR, 0xa4, 'IDTR'),
  ...systemRegister('sldt', 'lldt', LDTR, 0xa6, 'LDTR'),
  ...systemRegister('str', 'ltr', TR, 0xa8, 'TR'),
  ...systemRegister('smsw', 'lmsw', CR0, 0xaa, 'CR0 (the machine status word)'),
  { mnemonic: 'lar', op: 0xb0, operands: ['rd', 'rs'], summary: "rd = the access byte of selector rs and ZF = 1 if its DPL >= max(CPL, RPL) (conforming code: always); else ZF = 0; never traps", exec: descriptorRead((d) => d) },
  { mnemonic: 'lsl', op: 0xb1, operands: ['rd', 'rs'], summary: 'rd = the limit of selector rs (flat: 0xffffffff) and ZF = 1, on the same check as lar; never traps', exec: descriptorRead(() => -1) },
  { mnemonic: 'verr', op: 0xb2, operands: ['rs'], summary: 'ZF = 1 if selector rs names a readable segment visible at CPL and RPL; never traps', exec: verify(false) },
  { mnemonic: 'verw', op: 0xb3, operands: ['rs'], summary: 'ZF = 1 if selector rs names a writable data segment visible at CPL and RPL; never traps', exec: verify(true) },
  { mnemonic: 'rdseg', op: 0xb4, operands: ['rd', 'imm'], summary: "rd = segment register imm's selector (0 es, 1 cs, 2 ss, 3 ds, 4 fs, 5 gs; CS's RPL is the CPL): x86 mov r, Sreg", exec: rdseg },
  { mnemonic: 'wrseg', op: 0xb5, operands: ['imm', 'rs'], summary: 'segment register imm (not cs) = selector rs, if the descriptor passes the load checks at CPL, else a selector fault (#GP(sel)): x86 mov Sreg, r', exec: wrseg },
  { mnemonic: 'pushseg', op: 0xb6, operands: ['imm'], summary: "push segment register imm's selector", exec: pushseg },
  { mnemonic: 'popseg', op: 0xb7, operands: ['imm'], summary: 'pop a selector into segment register imm (not cs), with the load checks of wrseg', exec: popseg },
  { mnemonic: 'jmpf', op: 0xb8, operands: ['rs', 'target'], summary: 'far jmp: CS = selector rs, pc = target, if it names code of this ring (conforming: of this ring or an inner one), else a selector fault (#GP(sel))', exec: jmpf },
  { mnemonic: 'callf', op: 0xb9, operands: ['rs', 'target'], summary: 'far call: push CS and the return address, then as jmpf', exec: callf },
  { mnemonic: 'retf', op: 0xba, operands: [], summary: 'far ret: pop EIP and CS; to an outer ring (RPL > CPL) also ESP, and the ring changes; an inner ring is a selector fault (#GP(sel))', exec: returnInstruction(false) },
  { mnemonic: 'iret', op: 0xbb, operands: [], summary: 'pop EIP, CS and EFLAGS (IF only when CPL <= IOPL, IOPL only at CPL 0); to an outer ring also ESP, and the ring changes', exec: returnInstruction(true) },
];

const ROOT_RINGS = ['r0', 'r1', 'r2', 'r3'];
const NON_ROOT_RINGS = ['v0', 'v1', 'v2', 'v3'];

/**
 * The GDT's access words, one descriptor of each kind the rules tell apart: ring-0 code and data
 * (entries 1, 2), ring-3 code and data (3, 4), ring-1 code (5) — the ring ring compression runs
 * a kernel in — conforming ring-0 code (6) and ring-1 data (7).
 */
const RESET_GDT = [0, 0x9a00, 0x9200, 0xfa00, 0xf200, 0xba00, 0x9e00, 0xb200];

/** The system, descriptor and segment registers, with V's real values for the system registers. */
const CONTROL_REGISTERS: readonly ControlRegisterDef[] = [
  { name: 'gdtr', reset: 0x1000, real: 0x7f000 },
  { name: 'idtr', reset: 0x1800, real: 0x7f800 },
  { name: 'ldtr', reset: 0, real: 0x18 },
  { name: 'tr', reset: 0x20, real: 0x28 },
  { name: 'cr0', reset: 0x1, real: 0x80000001 | 0 },
  ...RESET_GDT.map((reset, i) => ({ name: `gdt${i}`, reset })),
  ...SEGMENT_NAMES.map((name) => ({ name, reset: name === 'cs' ? 0x08 : name === 'fs' || name === 'gs' ? 0 : 0x10, program: true })),
];

/**
 * The x86 profile: `nonRoot` adds rings v0..v3, the rings a VMM runs guests in with VT-x, in which
 * every critical instruction and every privileged one exits (traps) — the classic privileged
 * instructions already trap in every mode but r0.
 */
function x86Profile(nonRoot: boolean): Profile {
  const exits = nonRoot ? NON_ROOT_RINGS : [];
  const rows = X86_ROWS.map((d): InstructionDef => ({ ...d, trapsIn: [...(d.trapsIn ?? []), ...exits] }));
  return {
    name: nonRoot ? 'x86-vt' : 'x86-lite',
    summary: nonRoot
      ? 'x86-lite plus non-root rings v0-v3 (VT-x): there every critical and privileged instruction exits to the VMM'
      : 'x86-32 reduced: rings 0-3, IF and IOPL, GDTR/IDTR/LDTR/TR/CR0, 8 flat descriptors, segment registers, and the critical instructions (pushf, popf, lar, lsl, verr, verw, segment moves, far transfers, iret, s*dt, str, smsw) that never trap',
    modes: [...ROOT_RINGS, ...exits],
    userModes: nonRoot ? ['r3', 'v3'] : ['r3'],
    instructions: [...CLASSIC_INSTRUCTIONS, ...rows],
    aliases: { int: { mnemonic: 'svc', operands: [] } },
    causes: [{ code: SELECTOR_FAULT, name: 'selector', memory: true }],
    controlRegisters: CONTROL_REGISTERS,
    bankedRegisters: [],
    // x86-lite: rings 0 and 1 in real ring 1 (ring compression); x86-vt: every ring in its non-root twin
    realModeOf: nonRoot ? [4, 5, 6, 7, 4, 5, 6, 7] : [1, 1, 2, 3],
    realStatusOn: ST_IE,
    realStatusOff: IOPL_MASK,
  };
}

export const x86lite = x86Profile(false);
export const x86vt = x86Profile(true);
