// Disassembler examples: canonical forms, the `.word` fallback, listings.

import { describe, expect, it } from 'vitest';
import { disassemble, disassembleRange, formatListing } from '../../src/asm/index.js';
import { encodeHeader, HDR_ABS } from '../../src/isa/arch.js';
import { Op } from '../../src/isa/instructions.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { pdp10 } from '../../src/isa/profiles/pdp10.js';
import { asm, encode } from './helpers.js';

const h = encodeHeader;
const dis = (w0: number, imm: number) => disassemble(w0, imm, classic);

describe('disassemble: canonical text', () => {
  it.each([
    ['add r1, r2, r3', 'add r1, r2, r3'],
    ['ADD SP, LR, R0', 'add r15, r14, r0'],
    ['li r1, 4095', 'li r1, 4095'],
    ['li r1, -4095', 'li r1, -4095'],
    ['li r1, 4096', 'li r1, 0x1000'],
    ['li r1, -4096', 'li r1, 0xfffff000'],
    ['li r1, 0xDEADBEEF', 'li r1, 0xdeadbeef'],
    ["svc 'A'", 'svc 65'],
    ['ld r1, 8(r2)', 'ld r1, 8(r2)'],
    ['ld r1, 0(r2)', 'ld r1, (r2)'],
    ['st r1, -4(sp)', 'st r1, -4(r15)'],
    ['st r1, 0x10000(r3)', 'st r1, 0x10000(r3)'],
    ['ldb r1, 0x40', 'ldb r1, 0x40'],
    ['lpsw 0', 'lpsw 0x0'],
    ['jmp 0x80', 'jmp 0x80'],
    ['beq r1, r2, 8', 'beq r1, r2, 0x8'],
    ['ret', 'jr r14'],
    ['nop', 'nop'],
  ])('%s → %s', (source, text) => {
    const [w0, imm] = encode(source);
    expect(dis(w0, imm)).toBe(text);
  });

  it('n4 in decimal (pdp10)', () => {
    const [w0, imm] = encode('jrst 9, 0x100', pdp10);
    expect(disassemble(w0, imm, pdp10)).toBe('jrst 9, 0x100');
  });
});

describe('disassemble: .word fallback', () => {
  it.each([
    ['an undefined opcode', 0x00, 5],
    ['an opcode past the core', 0xff, 0],
    ['a profile opcode in a profile without it', h(0x80, 1, 0, 0, false), 0x80],
    ['a reserved header bit', (Op.Nop | (1 << 21)) >>> 0, 0],
    ['the top reserved bit', (Op.Add | 0x80000000) >>> 0, 0],
    ['an immediate the row does not use', h(Op.Add, 1, 2, 3, false), 7],
    ['a register field the row does not use', h(Op.Li, 1, 2, 0, false), 7],
    ['rt in a memory instruction', h(Op.Ld, 1, 2, 3, false), 0],
    ['the A bit without a memory operand', h(Op.Add, 1, 2, 3, true), 0],
    ['a base register beside the A bit', h(Op.Ld, 1, 2, 0, true), 0x40],
  ])('%s', (_, w0, imm) => {
    const text = dis(w0, imm);
    expect(text).toBe(`.word 0x${(w0 >>> 0).toString(16).padStart(8, '0')}, 0x${imm.toString(16).padStart(8, '0')}`);
    expect(encode(text)).toEqual([w0 >>> 0, imm]);
  });

  it('jrst is an instruction in pdp10 but data in classic', () => {
    const w0 = h(0x80, 1, 0, 0, false);
    expect(disassemble(w0, 0x80, pdp10)).toBe('jrst 1, 0x80');
    expect(disassemble(w0, 0x80, classic)).toBe('.word 0x00000180, 0x00000080');
  });

  it('the A bit alone prints as an absolute address', () => {
    expect(dis(Op.Ld | (3 << 8) | HDR_ABS, 0x1234)).toBe('ld r3, 0x1234');
  });
});

describe('disassembleRange', () => {
  const source = ['.org 0x80', 'start: li r1, 3', 'loop: addi r1, r1, -1', '  bne r1, r0, loop', '  ld r2, data', '  jmp start', 'data: .word 0x51, 0'].join('\n');
  const r = asm(source);
  const chunk = r.chunks[0];

  it('lists instructions from bytes, naming labels', () => {
    const lines = disassembleRange(chunk.bytes, chunk.address, 6, classic, r.labels);
    expect(lines.map((l) => [l.address, l.label, l.text])).toEqual([
      [0x80, 'start', 'li r1, 3'],
      [0x88, 'loop', 'addi r1, r1, -1'],
      [0x90, undefined, 'bne r1, r0, loop'],
      [0x98, undefined, 'ld r2, data'],
      [0xa0, undefined, 'jmp start'],
      [0xa8, 'data', 'nop'],
    ]);
    expect(lines[0]).toMatchObject({ header: h(Op.Li, 1, 0, 0, false), imm: 3 });
  });

  it('reads through a word reader and prints numbers without labels', () => {
    const read = (a: number) => new DataView(chunk.bytes.buffer).getUint32(a - 0x80, true);
    expect(disassembleRange(read, 0x90, 2, classic).map((l) => l.text)).toEqual(['bne r1, r0, 0x88', 'ld r2, 0xa8']);
  });

  it('a listing re-assembles with the labels as predefined symbols', () => {
    const lines = disassembleRange(chunk.bytes, chunk.address, 5, classic, r.labels);
    const again = asm(['.org 0x80', ...lines.map((l) => l.text)].join('\n'), { symbols: Object.fromEntries(r.labels) });
    expect(again.chunks[0].bytes).toEqual(chunk.bytes.subarray(0, 40));
  });

  it('formats a listing', () => {
    expect(formatListing(disassembleRange(chunk.bytes, chunk.address, 3, classic, r.labels))).toBe(
      ['start:', '00000080  00000120 00000003  li r1, 3', 'loop:', '00000088  00001111 ffffffff  addi r1, r1, -1', '00000090  00001041 00000088  bne r1, r0, loop'].join('\n'),
    );
  });

  it('refuses to read past the bytes given', () => {
    expect(() => disassembleRange(chunk.bytes, chunk.address, 7, classic)).toThrow(RangeError);
  });
});
