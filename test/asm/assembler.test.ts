// Example tests: every operand kind, every directive, expressions, symbols, chunks and the
// source map. Encodings are checked against the header layout of arch.ts.

import { describe, expect, it } from 'vitest';
import { encodeHeader } from '../../src/isa/arch.js';
import { Op } from '../../src/isa/instructions.js';
import { pdp10 } from '../../src/isa/profiles/pdp10.js';
import { asm, byteAt, encode, instrAt, wordAt } from './helpers.js';

const h = encodeHeader;

describe('operand kinds', () => {
  it('rd, rs, rt: registers in their fields', () => {
    expect(encode('add r1, r2, r3')).toEqual([h(Op.Add, 1, 2, 3, false), 0]);
    expect(encode('sub r15, r0, r9')).toEqual([h(Op.Sub, 15, 0, 9, false), 0]);
  });

  it('accepts sp and lr, and any case', () => {
    expect(encode('ADD SP, Lr, r10')).toEqual([h(Op.Add, 15, 14, 10, false), 0]);
    expect(encode('Mov R3, sP')).toEqual([h(Op.Mov, 3, 15, 0, false), 0]);
  });

  it('imm: an expression in the immediate word', () => {
    expect(encode('li r1, -1')).toEqual([h(Op.Li, 1, 0, 0, false), 0xffffffff]);
    expect(encode('addi r2, r3, 0x10 * 2')).toEqual([h(Op.Addi, 2, 3, 0, false), 32]);
    expect(encode("svc 'A'")).toEqual([Op.Svc, 65]);
  });

  it('mem: displacement(base), (base) and a bare absolute address', () => {
    expect(encode('ld r1, 8(r2)')).toEqual([h(Op.Ld, 1, 2, 0, false), 8]);
    expect(encode('st r1, -4(sp)')).toEqual([h(Op.St, 1, 15, 0, false), 0xfffffffc]);
    expect(encode('ldb r1, (r7)')).toEqual([h(Op.Ldb, 1, 7, 0, false), 0]);
    expect(encode('stb r1, 0x100')).toEqual([h(Op.Stb, 1, 0, 0, true), 0x100]);
    expect(encode('lpsw (4+4)')).toEqual([h(Op.Lpsw, 0, 0, 0, true), 8]);
    expect(encode('spsw (2)*4(r3)')).toEqual([h(Op.Spsw, 0, 3, 0, false), 8]);
  });

  it('mem: labels as displacement or address', () => {
    const r = asm('ld r1, data(r2)\nld r3, data\ndata: .word 7');
    expect(instrAt(r, 0)).toEqual([h(Op.Ld, 1, 2, 0, false), 16]);
    expect(instrAt(r, 8)).toEqual([h(Op.Ld, 3, 0, 0, true), 16]);
  });

  it('target: addresses, forward and backward, and .', () => {
    const r = asm('top: beq r1, r2, done\njmp top\ndone: call .\n', { origin: 0x80 });
    expect(instrAt(r, 0x80)).toEqual([h(Op.Beq, 0, 1, 2, false), 0x90]);
    expect(instrAt(r, 0x88)).toEqual([h(Op.Jmp, 0, 0, 0, false), 0x80]);
    expect(instrAt(r, 0x90)).toEqual([h(Op.Call, 0, 0, 0, false), 0x90]);
  });

  it('n4: a small number in the rd field (pdp10 jrst)', () => {
    const r = asm('start: jrst 1, start\njrst 15, 0x200', { profile: pdp10 });
    expect(instrAt(r, 0)).toEqual([h(0x80, 1, 0, 0, false), 0]);
    expect(instrAt(r, 8)).toEqual([h(0x80, 15, 0, 0, false), 0x200]);
  });

  it('no operands', () => {
    expect(encode('nop')).toEqual([Op.Nop, 0]);
    expect(encode('HALT')).toEqual([Op.Halt, 0]);
  });

  it('aliases: ret is jr r14', () => {
    expect(encode('ret')).toEqual(encode('jr r14'));
    expect(encode('RET')).toEqual([h(Op.Jr, 0, 14, 0, false), 0]);
  });
});

describe('expressions', () => {
  /** The value of `e`, via `.word` at address 0x100. */
  const value = (e: string, extra = '') => wordAt(asm(`.org 0x100\n.word ${e}\n${extra}`), 0x100);

  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['1 << 2 + 1', 8],
    ['6 & 3 | 8', 10],
    ['1 | 6 ^ 3', 5],
    ['5 ^ 3 & 1', 4],
    ['12 & 10 ^ 6', 14],
    ['10 - 2 - 3', 5],
    ['100 / 10 / 5', 2],
    ['2 * 3 % 4', 2],
    ['-2 * 3', -6 >>> 0],
    ['-(2 + 3)', -5 >>> 0],
    ['~0', 0xffffffff],
    ['~0x0f & 0xff', 0xf0],
    ['- -7', 7],
    ['-8 / 2', 0x7ffffffc],
    ['7 % 3', 1],
    ['0xc0000000 >> 22', 0x300],
    ['1 << 31', 0x80000000],
    ['1 << 32', 0],
    ['0x7fffffff + 1', 0x80000000],
    ['0xffffffff + 1', 0],
    ['0 - 1', 0xffffffff],
    ['0x10000 * 0x10000', 0],
    ['0b1011', 11],
    ['0B11 + 0XfF', 258],
    ['010', 10],
    ["'a'", 97],
    ["'\\n' + '\\x41'", 75],
    ["'\\''", 39],
    ['4294967295', 0xffffffff],
  ])('%s = %d', (e, v) => {
    expect(value(e)).toBe(v);
  });

  it('. is the address of the statement', () => {
    expect(value('. + 4')).toBe(0x104);
    const r = asm('.org 0x40\n.word ., .');
    expect([wordAt(r, 0x40), wordAt(r, 0x44)]).toEqual([0x40, 0x40]);
  });

  it('symbols: forward references, constants referring forward, chains', () => {
    expect(value('end - 0x100', 'end:')).toBe(4);
    expect(value('A', 'A = B * 2\nB = C + 1\nC = 20')).toBe(42);
    expect(value('here', 'here = .')).toBe(0x104);
  });

  it('symbols are case-sensitive', () => {
    const r = asm('x = 1\nX = 2\n.word x, X');
    expect([wordAt(r, 0), wordAt(r, 4)]).toEqual([1, 2]);
  });
});

describe('directives', () => {
  it('.org sets the location counter; gaps make separate chunks; it may go backwards', () => {
    const r = asm('.org 0x20\n.word 1\n.org 0x10\n.word 2\n.word 3\n.org 0x100\n.byte 4');
    expect(r.chunks.map((c) => [c.address, c.bytes.length])).toEqual([
      [0x10, 8],
      [0x20, 4],
      [0x100, 1],
    ]);
    expect(wordAt(r, 0x10)).toBe(2);
    expect(wordAt(r, 0x20)).toBe(1);
  });

  it('contiguous output from different .org runs merges into one chunk', () => {
    const r = asm('.org 4\n.word 2\n.org 0\n.word 1');
    expect(r.chunks).toHaveLength(1);
    expect([...r.chunks[0].bytes]).toEqual([1, 0, 0, 0, 2, 0, 0, 0]);
  });

  it('.word: little-endian words', () => {
    const r = asm('.word 0x12345678, -1');
    expect([...r.chunks[0].bytes]).toEqual([0x78, 0x56, 0x34, 0x12, 0xff, 0xff, 0xff, 0xff]);
  });

  it('.byte: -128..255', () => {
    expect([...asm('.byte 1, 255, -1, -128, \'z\'').chunks[0].bytes]).toEqual([1, 255, 255, 128, 122]);
  });

  it('.ascii and .asciz with escapes', () => {
    expect([...asm('.ascii "hi", "\\n\\t\\r\\0\\\\\\"\\x7f"').chunks[0].bytes]).toEqual([104, 105, 10, 9, 13, 0, 92, 34, 127]);
    expect([...asm('.asciz "a", "", "b;#"').chunks[0].bytes]).toEqual([97, 0, 0, 98, 59, 35, 0]);
  });

  it('.space with and without fill', () => {
    expect([...asm('.space 3\n.space 2, 0xee\n.space 1, -1\n.space 0').chunks[0].bytes]).toEqual([0, 0, 0, 0xee, 0xee, 0xff]);
  });

  it('.align pads with zeros to a power of two', () => {
    const r = asm('.byte 1\n.align 8\nnop\n.byte 2\n.align 4\nx: .word 3\n.align 1');
    expect(r.symbols.get('x')).toBe(20);
    expect(r.chunks[0].bytes.length).toBe(24);
    expect(byteAt(r, 7)).toBe(0);
    expect(asm('.align 16').chunks).toEqual([]);
  });

  it('.equ and NAME = expr define constants', () => {
    const r = asm('.equ SIZE, 0x40\nHALF = SIZE / 2\n.word SIZE, HALF');
    expect([wordAt(r, 0), wordAt(r, 4)]).toEqual([0x40, 0x20]);
    expect(r.symbols.get('SIZE')).toBe(0x40);
    expect(r.labels.has('SIZE')).toBe(false);
  });

  it('.psw: every key in the documented layout', () => {
    const r = asm(
      '.psw pc=handler, mode=u, ie=1, pg=1, wp=1, nxe=1, sum=1, profile=0xab, flags=0b1010, base=0x1000, limit=0x2000, ptbr=0x3000, extra=-1\nhandler: halt',
    );
    const words = Array.from({ length: 8 }, (_, i) => wordAt(r, 4 * i));
    expect(words).toEqual([32, (1 | 0x1f00 | (0xab << 16) | (0xa << 24)) >>> 0, 0x1000, 0x2000, 0x3000, 0xffffffff, 0, 0]);
  });

  it('.psw: defaults to zero, mode by name (any case) or number', () => {
    expect(asm('.psw').chunks[0].bytes).toEqual(new Uint8Array(32));
    const r = asm('.psw mode=S\n.psw mode=1\n.psw MODE=U, PC=8');
    expect([wordAt(r, 4), wordAt(r, 36), wordAt(r, 68), wordAt(r, 64)]).toEqual([0, 1, 1, 8]);
  });

  it('.psw: a mode may also be a symbol', () => {
    expect(wordAt(asm('USER = 1\n.psw mode=USER'), 4)).toBe(1);
  });

  it('directive names are case-insensitive', () => {
    expect([...asm('.WORD 1\n.Byte 2').chunks[0].bytes]).toEqual([1, 0, 0, 0, 2]);
  });
});

describe('lines', () => {
  it('labels share lines, stack up, and stand alone; comments with ; and #', () => {
    const r = asm('a: b:\n  c: nop ; comment\n# whole-line comment\nd: nop # another\n\n   \ne:');
    expect(Object.fromEntries(r.labels)).toEqual({ a: 0, b: 0, c: 0, d: 8, e: 16 });
  });

  it('a ; inside a string or character literal is not a comment', () => {
    expect([...asm(".ascii \"a;b\"\n.byte ';'").chunks[0].bytes]).toEqual([97, 59, 98, 59]);
  });

  it('tabs and CRLF line endings', () => {
    const r = asm('start:\taddi\tr1,\tr1,\t1\r\n\tjmp\tstart\r\n');
    expect(instrAt(r, 8)).toEqual([Op.Jmp, 0]);
  });
});

describe('result', () => {
  const source = ['  .org 0x80', 'start: li r1, 5  ; five', '  .word 9', '  .align 8', 'next:  jmp start', 'K = 3'].join('\n');

  it('source map: address, file, line and text of every instruction', () => {
    expect(asm(source).sourceMap).toEqual([
      { address: 0x80, file: 'prog.s', line: 2, text: 'start: li r1, 5  ; five' },
      { address: 0x90, file: 'prog.s', line: 5, text: 'next:  jmp start' },
    ]);
  });

  it('symbols: labels, constants and predefined; labels alone', () => {
    const r = asm(source, { symbols: { BASE: 0x1000 } });
    expect(Object.fromEntries(r.symbols)).toEqual({ BASE: 0x1000, start: 0x80, next: 0x90, K: 3 });
    expect(Object.fromEntries(r.labels)).toEqual({ start: 0x80, next: 0x90 });
  });

  it('origin and predefined symbols', () => {
    const r = asm('li r1, BASE + 4', { origin: 0x200, symbols: { BASE: -16 } });
    expect(r.chunks[0].address).toBe(0x200);
    expect(instrAt(r, 0x200)[1]).toBe(0xfffffff4);
  });

  it('the file name defaults to <source>', () => {
    expect(asm('nop', { file: undefined }).sourceMap[0].file).toBe('<source>');
  });

  it('firstLine shifts the source map lines', () => {
    expect(asm('nop\nnop', { firstLine: 10 }).sourceMap.map((s) => s.line)).toEqual([10, 11]);
  });

  it('an empty source assembles to nothing', () => {
    expect(asm('')).toEqual({ chunks: [], symbols: new Map(), labels: new Map(), sourceMap: [] });
  });
});
