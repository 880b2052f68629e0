// The speed reference the bench compares against: a hand-written interpreter of the same ISA
// shape — the same 8-byte encoding fetched from a flat word array and decoded with shifts, the
// same loop of ALU / load / store / branch instructions — with no translation, traps, timer or
// accounting. It shows what a simple interpreter reaches on this machine, measured in the same
// run as the real step loop.

import { encodeHeader } from '../isa/arch.js';
import { Op } from '../isa/instructions.js';

/**
 * Runs the bench loop (6 instructions per iteration, `iterations` times) and returns the
 * instructions executed and the final value of the loop's memory word (so the work is kept).
 */
export function runReference(iterations: number): { instructions: number; result: number } {
  const mem = new Int32Array(2048);
  const program: [number, number, number, number, number][] = [
    [Op.Ld, 3, 2, 0, 0], // 0x80: r3 = [r2]
    [Op.Addi, 3, 3, 0, 3], // r3 += 3
    [Op.St, 3, 2, 0, 0], // [r2] = r3
    [Op.Addi, 1, 1, 0, 1], // r1 += 1
    [Op.Xor, 4, 1, 3, 0], // r4 = r1 ^ r3
    [Op.Bne, 0, 1, 5, 0x80], // if r1 != r5 goto 0x80
  ];
  program.forEach(([op, rd, rs, rt, imm], i) => {
    mem[(0x80 >> 2) + 2 * i] = encodeHeader(op, rd, rs, rt, false);
    mem[(0x80 >> 2) + 2 * i + 1] = imm;
  });
  const regs = new Int32Array(16);
  regs[2] = 0x1000;
  regs[5] = iterations;
  let pc = 0x80;
  let n = 0;
  for (;;) {
    const w0 = mem[pc >> 2];
    const imm = mem[(pc >> 2) + 1];
    const rd = (w0 >>> 8) & 15;
    const rs = (w0 >>> 12) & 15;
    const rt = (w0 >>> 16) & 15;
    n++;
    pc += 8;
    switch (w0 & 0xff) {
      case Op.Ld: regs[rd] = mem[(regs[rs] + imm) >> 2]; break;
      case Op.Addi: regs[rd] = regs[rs] + imm; break;
      case Op.St: mem[(regs[rs] + imm) >> 2] = regs[rd]; break;
      case Op.Xor: regs[rd] = regs[rs] ^ regs[rt]; break;
      case Op.Bne:
        if (regs[rs] === regs[rt]) return { instructions: n, result: mem[0x1000 >> 2] };
        pc = imm;
        break;
    }
  }
}
