// The classic instruction set as data rows: mnemonic, opcode, operands, and whether it traps
// outside supervisor mode. The rows drive the assembler, the disassembler and the privilege
// check of the step loop; the semantics of core opcodes live in the step loop's switch
// (machine.ts), those of profile opcodes in the row's `exec`.
//
// Nothing here says whether an instruction is "sensitive": the checker derives that by running it.

import type { ProfileCpu } from './cpu.js';

/**
 * Operand kinds and the header field each one fills:
 *   rd, rs, rt — a register (r0..r15) in that field
 *   mem        — `imm(rs)` (base + displacement) or a bare expression (absolute, A = 1)
 *   imm        — a 32-bit value in the immediate word
 *   target     — a code address (absolute) in the immediate word
 *   n4         — a small number 0..15 in the rd field (PDP-10 style accumulator field)
 */
export type OperandKind = 'rd' | 'rs' | 'rt' | 'mem' | 'imm' | 'target' | 'n4';

/**
 * Semantics of a profile instruction. Returns 0 when the instruction retires (having set
 * `m.nextPc` if it jumps) or a trap cause after calling `m.fault(...)`.
 */
export type ExecFn = (m: ProfileCpu, rd: number, rs: number, rt: number, imm: number) => number;

export interface InstructionDef {
  readonly mnemonic: string;
  readonly op: number;
  readonly operands: readonly OperandKind[];
  /** Traps with privileged-instruction in every mode but the most privileged (mode 0). */
  readonly supervisorOnly?: boolean;
  /** Modes (by name) in which it traps with privileged-instruction; overrides supervisorOnly. */
  readonly trapsIn?: readonly string[];
  /** Semantics for profile opcodes; core opcodes (below 0x80) are executed by the step loop. */
  readonly exec?: ExecFn;
  readonly summary: string;
}

/** Core opcodes. Values below 0x80 are reserved for the core; profiles use 0x80..0xFF. */
export const enum Op {
  Add = 0x01,
  Sub = 0x02,
  And = 0x03,
  Or = 0x04,
  Xor = 0x05,
  Shl = 0x06,
  Shr = 0x07,
  Sar = 0x08,
  Mul = 0x09,
  Divu = 0x0a,
  Remu = 0x0b,
  Slt = 0x0c,
  Sltu = 0x0d,
  Addi = 0x11,
  Andi = 0x13,
  Ori = 0x14,
  Xori = 0x15,
  Shli = 0x16,
  Shri = 0x17,
  Sari = 0x18,
  Muli = 0x19,
  Slti = 0x1c,
  Sltiu = 0x1d,
  Li = 0x20,
  Mov = 0x21,
  Ld = 0x30,
  Ldb = 0x31,
  St = 0x32,
  Stb = 0x33,
  Beq = 0x40,
  Bne = 0x41,
  Blt = 0x42,
  Bge = 0x43,
  Bltu = 0x44,
  Bgeu = 0x45,
  Jmp = 0x48,
  Jr = 0x49,
  Call = 0x4a,
  Callr = 0x4b,
  Svc = 0x50,
  Nop = 0x51,
  Lpsw = 0x60,
  Spsw = 0x61,
  Halt = 0x62,
  Settimer = 0x63,
  Gettimer = 0x64,
  Out = 0x65,
  Setptbr = 0x68,
  Getptbr = 0x69,
  Invlpg = 0x6a,
  Tlbflush = 0x6b,
}
export const PROFILE_OP_BASE = 0x80;

/** Register that `call` writes the return address to (and `ret` jumps through). */
export const LINK_REGISTER = 14;

const rrr: OperandKind[] = ['rd', 'rs', 'rt'];
const rri: OperandKind[] = ['rd', 'rs', 'imm'];
const branch: OperandKind[] = ['rs', 'rt', 'target'];

export const CLASSIC_INSTRUCTIONS: readonly InstructionDef[] = [
  { mnemonic: 'add', op: Op.Add, operands: rrr, summary: 'rd = rs + rt' },
  { mnemonic: 'sub', op: Op.Sub, operands: rrr, summary: 'rd = rs - rt' },
  { mnemonic: 'and', op: Op.And, operands: rrr, summary: 'rd = rs & rt' },
  { mnemonic: 'or', op: Op.Or, operands: rrr, summary: 'rd = rs | rt' },
  { mnemonic: 'xor', op: Op.Xor, operands: rrr, summary: 'rd = rs ^ rt' },
  { mnemonic: 'shl', op: Op.Shl, operands: rrr, summary: 'rd = rs << (rt & 31)' },
  { mnemonic: 'shr', op: Op.Shr, operands: rrr, summary: 'rd = rs >>> (rt & 31)' },
  { mnemonic: 'sar', op: Op.Sar, operands: rrr, summary: 'rd = rs >> (rt & 31)' },
  { mnemonic: 'mul', op: Op.Mul, operands: rrr, summary: 'rd = low 32 bits of rs * rt' },
  { mnemonic: 'divu', op: Op.Divu, operands: rrr, summary: 'rd = rs / rt unsigned (0xFFFFFFFF when rt = 0)' },
  { mnemonic: 'remu', op: Op.Remu, operands: rrr, summary: 'rd = rs % rt unsigned (rs when rt = 0)' },
  { mnemonic: 'slt', op: Op.Slt, operands: rrr, summary: 'rd = rs < rt signed ? 1 : 0' },
  { mnemonic: 'sltu', op: Op.Sltu, operands: rrr, summary: 'rd = rs < rt unsigned ? 1 : 0' },
  { mnemonic: 'addi', op: Op.Addi, operands: rri, summary: 'rd = rs + imm' },
  { mnemonic: 'andi', op: Op.Andi, operands: rri, summary: 'rd = rs & imm' },
  { mnemonic: 'ori', op: Op.Ori, operands: rri, summary: 'rd = rs | imm' },
  { mnemonic: 'xori', op: Op.Xori, operands: rri, summary: 'rd = rs ^ imm' },
  { mnemonic: 'shli', op: Op.Shli, operands: rri, summary: 'rd = rs << (imm & 31)' },
  { mnemonic: 'shri', op: Op.Shri, operands: rri, summary: 'rd = rs >>> (imm & 31)' },
  { mnemonic: 'sari', op: Op.Sari, operands: rri, summary: 'rd = rs >> (imm & 31)' },
  { mnemonic: 'muli', op: Op.Muli, operands: rri, summary: 'rd = low 32 bits of rs * imm' },
  { mnemonic: 'slti', op: Op.Slti, operands: rri, summary: 'rd = rs < imm signed ? 1 : 0' },
  { mnemonic: 'sltiu', op: Op.Sltiu, operands: rri, summary: 'rd = rs < imm unsigned ? 1 : 0' },
  { mnemonic: 'li', op: Op.Li, operands: ['rd', 'imm'], summary: 'rd = imm' },
  { mnemonic: 'mov', op: Op.Mov, operands: ['rd', 'rs'], summary: 'rd = rs' },
  { mnemonic: 'ld', op: Op.Ld, operands: ['rd', 'mem'], summary: 'rd = word at address (4-aligned)' },
  { mnemonic: 'ldb', op: Op.Ldb, operands: ['rd', 'mem'], summary: 'rd = byte at address, zero-extended' },
  { mnemonic: 'st', op: Op.St, operands: ['rd', 'mem'], summary: 'word at address (4-aligned) = rd' },
  { mnemonic: 'stb', op: Op.Stb, operands: ['rd', 'mem'], summary: 'byte at address = low byte of rd' },
  { mnemonic: 'beq', op: Op.Beq, operands: branch, summary: 'if rs == rt: pc = target' },
  { mnemonic: 'bne', op: Op.Bne, operands: branch, summary: 'if rs != rt: pc = target' },
  { mnemonic: 'blt', op: Op.Blt, operands: branch, summary: 'if rs < rt (signed): pc = target' },
  { mnemonic: 'bge', op: Op.Bge, operands: branch, summary: 'if rs >= rt (signed): pc = target' },
  { mnemonic: 'bltu', op: Op.Bltu, operands: branch, summary: 'if rs < rt (unsigned): pc = target' },
  { mnemonic: 'bgeu', op: Op.Bgeu, operands: branch, summary: 'if rs >= rt (unsigned): pc = target' },
  { mnemonic: 'jmp', op: Op.Jmp, operands: ['target'], summary: 'pc = target' },
  { mnemonic: 'jr', op: Op.Jr, operands: ['rs'], summary: 'pc = rs (ret = jr r14)' },
  { mnemonic: 'call', op: Op.Call, operands: ['target'], summary: 'r14 = pc + 8; pc = target' },
  { mnemonic: 'callr', op: Op.Callr, operands: ['rs'], summary: 'r14 = pc + 8; pc = rs' },
  { mnemonic: 'svc', op: Op.Svc, operands: ['imm'], summary: 'system call: trap with cause svc, detail imm, saved pc = next' },
  { mnemonic: 'nop', op: Op.Nop, operands: [], summary: 'no operation' },
  { mnemonic: 'lpsw', op: Op.Lpsw, operands: ['mem'], supervisorOnly: true, summary: 'load the PSW from the 32 bytes at address' },
  { mnemonic: 'spsw', op: Op.Spsw, operands: ['mem'], supervisorOnly: true, summary: 'store the current PSW (pc = next) at address' },
  { mnemonic: 'halt', op: Op.Halt, operands: [], supervisorOnly: true, summary: 'stop the machine' },
  { mnemonic: 'settimer', op: Op.Settimer, operands: ['rs'], supervisorOnly: true, summary: 'timer reload = count = rs; enabled iff rs != 0; clears a pending tick' },
  { mnemonic: 'gettimer', op: Op.Gettimer, operands: ['rd'], supervisorOnly: true, summary: 'rd = instructions left before the next timer trap (0 when off)' },
  { mnemonic: 'out', op: Op.Out, operands: ['rs', 'imm'], supervisorOnly: true, summary: 'console: port 0 writes the low byte of rs as a character, port 1 rs as a signed decimal' },
  { mnemonic: 'setptbr', op: Op.Setptbr, operands: ['rs'], supervisorOnly: true, summary: 'PTBR = rs; flushes the TLB' },
  { mnemonic: 'getptbr', op: Op.Getptbr, operands: ['rd'], supervisorOnly: true, summary: 'rd = PTBR' },
  { mnemonic: 'invlpg', op: Op.Invlpg, operands: ['rs'], supervisorOnly: true, summary: 'drop the TLB entry for virtual address rs' },
  { mnemonic: 'tlbflush', op: Op.Tlbflush, operands: [], supervisorOnly: true, summary: 'drop every TLB entry' },
];

/** Assembler-only aliases expanded to a real instruction. */
export const ALIASES: Readonly<Record<string, { mnemonic: string; operands: string[] }>> = {
  ret: { mnemonic: 'jr', operands: ['r14'] },
};
