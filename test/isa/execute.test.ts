// What executing each kind of classic instruction does (semantics in supervisor mode).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Op } from '../../src/isa/instructions.js';
import { at, boot, HALT_KERNEL } from './helpers.js';

/** Runs `body` (supervisor, after HALT_KERNEL) with r1 = a, r2 = b and returns r3. */
function alu(body: string, a: number, b: number): number {
  const m = boot(`${HALT_KERNEL}\nstart:  ${body}\n        halt\n`);
  m.regs[1] = a;
  m.regs[2] = b;
  m.run(10);
  expect(m.machineStatus).toBe('halted');
  return m.regs[3];
}

const REF: Record<string, (a: number, b: number) => number> = {
  add: (a, b) => (a + b) | 0,
  sub: (a, b) => (a - b) | 0,
  and: (a, b) => a & b,
  or: (a, b) => a | b,
  xor: (a, b) => a ^ b,
  shl: (a, b) => a << (b & 31),
  shr: (a, b) => (a >>> (b & 31)) | 0,
  sar: (a, b) => a >> (b & 31),
  mul: (a, b) => Number((BigInt(a) * BigInt(b)) & 0xffffffffn) | 0,
  divu: (a, b) => (b === 0 ? -1 : Math.floor((a >>> 0) / (b >>> 0)) | 0),
  remu: (a, b) => (b === 0 ? a : ((a >>> 0) % (b >>> 0)) | 0),
  slt: (a, b) => (a < b ? 1 : 0),
  sltu: (a, b) => (a >>> 0 < b >>> 0 ? 1 : 0),
};

describe('ALU', () => {
  const int = fc.oneof(fc.integer(), fc.integer({ min: -40, max: 40 }), fc.constantFrom(0, 1, -1, 0x7fffffff, -0x80000000));

  it('register forms agree with a reference in 32-bit arithmetic', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(REF)), int, int, (mn, a, b) => {
        expect(alu(`${mn} r3, r1, r2`, a, b)).toBe(REF[mn](a, b));
      }),
      { seed: 0xa1, numRuns: 400 },
    );
  });

  it('immediate forms agree with the register forms', () => {
    fc.assert(
      fc.property(fc.constantFrom('add', 'and', 'or', 'xor', 'shl', 'shr', 'sar', 'mul', 'slt', 'sltu'), int, int, (mn, a, b) => {
        const imm = mn === 'sltu' ? 'sltiu' : `${mn}i`;
        expect(alu(`${imm} r3, r1, ${b}`, a, 0)).toBe(REF[mn](a, b));
      }),
      { seed: 0xa2, numRuns: 300 },
    );
  });

  it('li, mov, and divide by zero', () => {
    expect(alu('li r3, 0xdeadbeef', 0, 0)).toBe(0xdeadbeef | 0);
    expect(alu('mov r3, r2', 0, -7)).toBe(-7);
    expect(alu('divu r3, r1, r2', 17, 0)).toBe(-1);
    expect(alu('remu r3, r1, r2', 17, 0)).toBe(17);
    expect(alu('divu r3, r1, r2', -1, 2)).toBe(0x7fffffff);
  });
});

describe('loads, stores, branches, calls', () => {
  it('ld/st words, ldb zero-extends, stb writes the low byte; base + displacement wraps mod 2^32', () => {
    const m = boot(`${HALT_KERNEL}
start:  li   r1, 0x400
        li   r2, 0x80ff7f01
        st   r2, 4(r1)
        ldb  r3, 5(r1)
        ldb  r4, 6(r1)
        li   r5, -1
        stb  r5, 0x408
        ld   r6, 0x408
        li   r7, 0x500
        ld   r8, -0x100(r7)
        halt
`);
    m.mem.write32(0x400, 0x11223344);
    m.run(100);
    expect(m.mem.read32(0x404)).toBe(0x80ff7f01 | 0);
    expect([m.regs[3], m.regs[4], m.regs[6], m.regs[8]]).toEqual([0x7f, 0xff, 0xff, 0x11223344]);
  });

  it('branches compare signed or unsigned as named', () => {
    const cases: [string, number, number, boolean][] = [
      ['beq', 3, 3, true], ['beq', 3, 4, false],
      ['bne', 3, 4, true], ['bne', 3, 3, false],
      ['blt', -1, 0, true], ['blt', 0, -1, false],
      ['bge', 0, -1, true], ['bge', -1, 0, false], ['bge', 5, 5, true],
      ['bltu', 0, -1, true], ['bltu', -1, 0, false],
      ['bgeu', -1, 0, true], ['bgeu', 0, -1, false],
    ];
    for (const [mn, a, b, taken] of cases) {
      expect(alu(`${mn} r1, r2, yes\n        li r3, 1\n        halt\nyes:    li r3, 2`, a, b), `${mn} ${a} ${b}`).toBe(taken ? 2 : 1);
    }
  });

  it('call/ret/callr link through r14; jr jumps through a register', () => {
    const m = boot(`${HALT_KERNEL}
start:  call sub
back:   li   r1, sub2
        callr r1
back2:  li   r2, done
        jr   r2
        halt
sub:    mov  r5, r14
        ret
sub2:   mov  r6, r14
        ret
done:   halt
`);
    m.run(100);
    expect([m.regs[5], m.regs[6]]).toEqual([at(m, 'back'), at(m, 'back2')]);
    expect(m.pc).toBe(at(m, 'done') + 8);
  });

  it('nop retires and only advances the pc; opCounts count retired instructions', () => {
    const m = boot(`${HALT_KERNEL}\nstart:  nop\n        nop\n        halt\n`);
    m.run(10);
    expect([m.opCounts[Op.Nop], m.opCounts[Op.Halt], m.retired]).toEqual([2, 1, 3]);
  });
});
