// Every diagnostic the assembler gives: file:line:column, what was found, what was expected.

import { describe, expect, it } from 'vitest';
import { AsmError, assemble } from '../../src/asm/index.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { pdp10 } from '../../src/isa/profiles/pdp10.js';
import { asm, errors } from './helpers.js';

describe('diagnostics', () => {
  it.each([
    // mnemonics and operands
    ['  lod r1, 5', "prog.s:1:3: unknown mnemonic 'lod' (did you mean 'ld'?)"],
    ['frobnicate', "prog.s:1:1: unknown mnemonic 'frobnicate' in profile classic"],
    ['loop addi r1, r1, 1', "prog.s:1:1: unknown mnemonic 'loop' (a label needs a colon: 'loop:')"],
    ['add r1, r2, ; comment', 'prog.s:1:12: operand expected, found end of line'],
    ['add r1, r2, 5', "prog.s:1:13: register expected, found '5'"],
    ['add r1, r2, r16', "prog.s:1:13: register expected, found 'r16'"],
    ['add r1, r2', "prog.s:1:1: 'add' expects 3 operands (rd, rs, rt), found 2"],
    ['nop r1', "prog.s:1:1: 'nop' expects no operands, found 1"],
    ['ret r1', "prog.s:1:1: 'ret' expects no operands, found 1"],
    ['jmp r1, r2', "prog.s:1:1: 'jmp' expects 1 operand (target), found 2"],
    ['add r1,, r2', "prog.s:1:8: operand expected, found ','"],
    ['add r1, r2,', 'prog.s:1:12: operand expected, found end of line'],
    ['li r1, r2', "prog.s:1:8: value expected, found register 'r2'"],
    ['li r1, 5(r2)', "prog.s:1:9: unexpected '(' after expression"],
    ['ld r1, r2', "prog.s:1:8: memory operand expected (expr(rN), (rN) or an address), found register 'r2'"],
    ['ld r1, 4(r16)', "prog.s:1:10: register expected, found 'r16'"],
    ['ld r1, +4(r2)', "prog.s:1:8: value expected, found '+'"],
    ['5 nop', "prog.s:1:1: label, instruction or directive expected, found '5'"],
    // expressions and tokens
    ['li r1, (1 + 2', "prog.s:1:14: ')' expected, found end of line"],
    ['.word 1 +, 2', "prog.s:1:10: value expected, found ','"],
    ['addi r1, r2, 1 +', 'prog.s:1:17: value expected, found end of line'],
    ['.word 1)', "prog.s:1:8: unexpected ')' after expression"],
    ['.word 1 / 0', "prog.s:1:9: division by zero in '/'"],
    ['.word 1 % (2 - 2)', "prog.s:1:9: division by zero in '%'"],
    ['li r1, 12z', "prog.s:1:8: invalid number '12z'"],
    ['li r1, 0x100000000', 'prog.s:1:8: number 0x100000000 does not fit 32 bits'],
    ['li r1, 4294967296', 'prog.s:1:8: number 4294967296 does not fit 32 bits'],
    ['li r1, @', "prog.s:1:8: unexpected character '@'"],
    ["li r1, ''", "prog.s:1:8: character expected after '"],
    ["li r1, 'ab'", "prog.s:1:8: unterminated character literal (missing closing ')"],
    ['.ascii "abc', 'prog.s:1:8: unterminated string (missing closing ")'],
    ['.ascii "a\\qb"', "prog.s:1:10: unknown escape '\\q' (expected \\n \\t \\r \\0 \\\\ \\\" \\' or \\xNN)"],
    ['.ascii "\\x4"', "prog.s:1:9: \\x needs two hex digits, found '4\"'"],
    ['.ascii "é"', "prog.s:1:9: character 'é' is not printable ASCII (use \\xNN)"],
    // symbols
    ['loop: jmp loop2', "prog.s:1:11: undefined symbol 'loop2' (did you mean 'loop'?)"],
    ['jmp nowhere', "prog.s:1:5: undefined symbol 'nowhere'"],
    ['nop\nnop\nx: nop\nx: nop', "prog.s:4:1: duplicate label 'x' (first defined at line 3)"],
    ['x = 1\nx: nop', "prog.s:2:1: duplicate label 'x' (first defined at line 1)"],
    ['x: nop\n.equ x, 2', "prog.s:2:6: duplicate constant 'x' (first defined at line 1)"],
    ['r1: nop', "prog.s:1:1: 'r1' is a register name and cannot name a label"],
    ['SP = 4', "prog.s:1:1: 'SP' is a register name and cannot name a constant"],
    ['a = b\nb = a\n.word a', "prog.s:2:5: circular definition: 'a' depends on itself"],
    ['x =', "prog.s:1:4: value expected after 'x =', found end of line"],
    ['.equ 5, 3', "prog.s:1:6: constant name expected, found '5'"],
    // directives
    ['.wrod 1', "prog.s:1:1: unknown directive '.wrod' (did you mean '.word'?)"],
    ['.org', "prog.s:1:1: '.org' expects 1 operand (.org expr), found 0"],
    ['.word', "prog.s:1:1: '.word' expects at least 1 operand (.word expr, ...), found 0"],
    ['.space 1, 2, 3', "prog.s:1:1: '.space' expects 1 to 2 operands (.space n[, fill]), found 3"],
    ['.byte 300', 'prog.s:1:7: value 300 does not fit a byte (-128..255)'],
    ['.byte 1, -129', 'prog.s:1:10: value -129 does not fit a byte (-128..255)'],
    ['.space 2, 256', 'prog.s:1:11: value 256 does not fit a byte (-128..255)'],
    ['.ascii 5', "prog.s:1:8: string expected, found '5'"],
    ['.space 0x2000000', "prog.s:1:8: '.space' count 0x2000000 is too large (at most 0x1000000)"],
    ['.align 12', "prog.s:1:8: '.align' expects a power of two (bytes), found 12"],
    ['.align 0', "prog.s:1:8: '.align' expects a power of two (bytes), found 0"],
    ['.space end\nend:', "prog.s:1:8: '.space' count must be known here, but 'end' is defined later"],
    ['.org 8 + end\nend:', "prog.s:1:10: '.org' address must be known here, but 'end' is defined later"],
    ['N = end\n.align N * 2\nend:', "prog.s:2:8: '.align' boundary must be known here, but 'end' is defined later"],
    // alignment, overlap, address space
    ['.byte 1\nnop', 'prog.s:2:1: instruction at 0x1 is not 8-aligned (instructions are fetched 8 bytes at a time; use .align 8)'],
    ['.word 1\nnop', 'prog.s:2:1: instruction at 0x4 is not 8-aligned (instructions are fetched 8 bytes at a time; use .align 8)'],
    ['.byte 1\n.word 2', 'prog.s:2:1: data at 0x1 is not 4-aligned (it holds words; use .align 4)'],
    ['.byte 1\n.psw', 'prog.s:2:1: data at 0x1 is not 4-aligned (it holds words; use .align 4)'],
    ['.word 1, 2\n.org 4\n.word 3', 'prog.s:3:1: output at 0x4..0x7 overlaps output of line 1 (0x0..0x7)'],
    ['.org 0x10\nnop\n.org 0\n.space 0x20', 'prog.s:4:1: output at 0x0..0x1f overlaps output of line 2 (0x10..0x17)'],
    ['.org 0xfffffffc\n.word 1, 2', 'prog.s:2:1: output at 0xfffffffc runs past the end of the 32-bit address space'],
    // .psw
    ['.psw pcc=3', "prog.s:1:6: unknown psw key 'pcc' (did you mean 'pc'?)"],
    ['.psw pc=1, PC=2', "prog.s:1:12: duplicate psw key 'pc'"],
    ['.psw 5', "prog.s:1:6: psw key expected (pc, mode, ie, pg, wp, nxe, sum, profile, flags, base, limit, ptbr, extra), found '5'"],
    ['.psw pc 4', "prog.s:1:9: '=' after 'pc' expected, found '4'"],
    ['.psw ie=2', "prog.s:1:9: value 2 does not fit psw key 'ie' (0..1)"],
    ['.psw flags=16', "prog.s:1:12: value 16 does not fit psw key 'flags' (0..15)"],
    ['.psw profile=256', "prog.s:1:14: value 256 does not fit psw key 'profile' (0..255)"],
    ['.psw mode=user', "prog.s:1:11: unknown mode 'user' (profile classic has 0 = s, 1 = u)"],
    ['.psw mode=sup', "prog.s:1:11: unknown mode 'sup' (profile classic has 0 = s, 1 = u) (did you mean 's'?)"],
    ['.psw mode=2', 'prog.s:1:11: mode 2 is not a mode of profile classic (0 = s, 1 = u)'],
  ])('%j', (source, message) => {
    expect(errors(source)).toEqual([message]);
  });

  it('n4 out of range (pdp10)', () => {
    expect(errors('x: jrst 300, x', { profile: pdp10 })).toEqual(['prog.s:1:9: value 300 does not fit n4 (0..15)']);
    expect(errors('x: jrst -1, x', { profile: pdp10 })).toEqual(['prog.s:1:9: value -1 does not fit n4 (0..15)']);
  });

  it('a profile instruction is unknown in a profile without it', () => {
    expect(errors('jrst 1, 0')).toEqual(["prog.s:1:1: unknown mnemonic 'jrst' (did you mean 'jr'?)"]);
  });

  it('collects every problem, in line order, not just the first', () => {
    const src = ['start: nop', 'lod r1, 4', 'add r1, r2', 'jmp strat', '.byte 999, 1, 2, 3, 4, 5, 6, 7', 'start: nop'].join('\n');
    expect(errors(src)).toEqual([
      "prog.s:2:1: unknown mnemonic 'lod' (did you mean 'ld'?)",
      "prog.s:3:1: 'add' expects 3 operands (rd, rs, rt), found 2",
      "prog.s:4:5: undefined symbol 'strat' (did you mean 'start'?)",
      'prog.s:5:7: value 999 does not fit a byte (-128..255)',
      "prog.s:6:1: duplicate label 'start' (first defined at line 1)",
    ]);
  });

  it('a broken instruction keeps its 8 bytes, so later addresses stay right', () => {
    expect(errors('lod r1\nnop\nx: .word 1\n.org 16\n.word 2')).toEqual([
      "prog.s:1:1: unknown mnemonic 'lod' (did you mean 'ld'?)",
      'prog.s:5:1: output at 0x10..0x13 overlaps output of line 3 (0x10..0x13)',
    ]);
    // ... but a broken constant or directive takes no space
    expect(errors('X = 1 +\n.word 5\n.org 8\n.word 6')).toEqual(['prog.s:1:8: value expected, found end of line']);
    expect(errors('.word 1 +\n.word 5\n.org 4\n.word 6')).toEqual(['prog.s:1:10: value expected, found end of line']);
  });

  it('a broken constant is reported once, where it is defined', () => {
    expect(errors('X = 1 / 0\n.word X, X\nli r1, X')).toEqual(["prog.s:1:7: division by zero in '/'"]);
    expect(errors('X = 1 +\nli r1, X')).toEqual(['prog.s:1:8: value expected, found end of line']);
  });

  it('a symbol predefined by the caller cannot be redefined', () => {
    expect(errors('BASE: nop', { symbols: { BASE: 4 } })).toEqual(["prog.s:1:1: duplicate label 'BASE' (predefined by the caller)"]);
  });

  it('stops after 50 problems and says so (a huge bad file costs no more than its first 50 errors)', () => {
    const lines = errors(Array.from({ length: 100_000 }, () => 'bad').join('\n'));
    expect(lines).toHaveLength(51);
    expect(lines[50]).toBe('prog.s:50:1: too many errors: the assembler stopped after 50');
  });

  it('firstLine and indent place diagnostics in an enclosing file', () => {
    expect(errors('nop\n  lod r1', { file: 'scenario.yaml', firstLine: 12, indent: 4 })).toEqual([
      "scenario.yaml:13:7: unknown mnemonic 'lod' (did you mean 'ld'?)",
    ]);
  });

  it('AsmError carries the diagnostics as data and its message is the formatted list', () => {
    let caught: unknown;
    try {
      assemble('nop\n  bogus', { profile: classic, file: 'a.s' });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AsmError);
    const e = caught as AsmError;
    expect(e.diagnostics).toEqual([{ file: 'a.s', line: 2, column: 3, message: "unknown mnemonic 'bogus' in profile classic" }]);
    expect(e.message).toBe(e.format());
    expect(e.format()).not.toMatch(/\n\s+at /);
  });

  it('a bad origin is a usage error, not a diagnostic', () => {
    expect(() => asm('nop', { origin: -1 })).toThrow(/origin/);
    expect(() => asm('nop', { origin: 2 ** 32 })).toThrow(/origin/);
  });
});
