// The trap architecture (docs/machine.md, Traps), one tiny program per rule.

import { describe, expect, it } from 'vitest';
import { Cause, ST_IE } from '../../src/isa/arch.js';
import { CLASSIC_INSTRUCTIONS, Op, type OperandKind } from '../../src/isa/instructions.js';
import type { TrapEvent } from '../../src/isa/machine.js';
import { ERR_FETCH, ERR_USER, ERR_WRITE } from '../../src/mmu/fault.js';
import { snapshot } from '../../src/isa/snapshot.js';
import type { Profile } from '../../src/isa/profile.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { at, boot, bootUser, HALT_KERNEL, MEM, newPsw, oldPsw, pswAt, stepTo, trapRecord, USER } from './helpers.js';

const B = 0x1000;
const L = 0x1000;
const userPsw = (pc: number) => ({ pc, status: USER, base: B, limit: L, ptbr: 0, extra: 0 });

/** Runs a user program under HALT_KERNEL until it halts; returns the machine and its traps. */
function runUser(user: string, o: Parameters<typeof bootUser>[1] = {}) {
  const m = bootUser(user, o);
  const traps: TrapEvent[] = [];
  m.onTrap = (t) => traps.push(t);
  const exit = m.run(1000);
  return { m, traps, exit };
}

/** Operand text for an instruction row, with harmless values. */
function operandText(kind: OperandKind): string {
  return { rd: 'r1', rs: 'r2', rt: 'r3', mem: '0x100', imm: '1', target: '0', n4: '1' }[kind];
}

describe('privileged-instruction', () => {
  const privileged = CLASSIC_INSTRUCTIONS.filter((d) => d.supervisorOnly);

  it('the classic profile has the expected supervisor-only rows', () => {
    expect(privileged.map((d) => d.mnemonic).sort()).toEqual(
      ['getptbr', 'gettimer', 'halt', 'invlpg', 'lpsw', 'out', 'setptbr', 'settimer', 'spsw', 'tlbflush'].sort(),
    );
  });

  for (const d of privileged) {
    it(`${d.mnemonic} in user mode traps with cause privileged, detail = opcode, saved pc = it, and has no effect`, () => {
      const text = `${d.mnemonic} ${d.operands.map(operandText).join(', ')}`;
      const { m, traps } = runUser(`        li r2, 5\n        nop\n        ${text}\n        nop\n`);
      expect(traps).toHaveLength(1);
      expect(trapRecord(m)).toEqual({ cause: Cause.Privileged, vaddr: 0, error: 0, detail: d.op });
      expect(oldPsw(m)).toEqual({ ...userPsw(16), pad: [0, 0] });
      expect(m.retired).toBe(2 + 1); // li, nop, then the kernel's halt
      expect([m.console, m.timerEnabled, m.ptbr]).toEqual(['', false, 0]);
      expect(m.mem.read32(B + 0x100)).toBe(0);
    });
  }

  it('the same instructions run in supervisor mode without a privileged trap', () => {
    const m = boot(`
        ${HALT_KERNEL}
start:  li   r2, 65
        out  r2, 0
        spsw 0x400
        getptbr r3
        gettimer r4
        tlbflush
        invlpg r2
        halt
`);
    const traps: TrapEvent[] = [];
    m.onTrap = (t) => traps.push(t);
    expect(m.run(100)).toBe('halted');
    expect(traps).toEqual([]);
    expect(m.console).toBe('A');
  });
});

describe('illegal-instruction', () => {
  it('an undefined opcode traps with cause illegal, detail = the opcode', () => {
    for (const op of [0x00, 0x12, 0x7f, 0x80, 0xff]) {
      const { m, traps } = runUser(`        nop\n        .word ${op}, 0\n`);
      expect(traps[0]).toMatchObject({ cause: Cause.Illegal, detail: op, savedPc: 8 });
      expect(trapRecord(m)).toEqual({ cause: Cause.Illegal, vaddr: 0, error: 0, detail: op });
      expect(oldPsw(m).pc).toBe(8);
    }
  });

  it('reserved header bits 31..21 make a defined instruction illegal', () => {
    for (const bit of [21, 25, 31]) {
      const header = (Op.Add | (1 << 8) | (1 << bit)) >>> 0;
      const { m, traps } = runUser(`        li r1, 3\n        .word ${header}, 0\n`);
      expect(traps[0]).toMatchObject({ cause: Cause.Illegal, detail: Op.Add, savedPc: 8 });
      expect(m.regs[1]).toBe(3);
    }
  });

  it('lpsw of a PSW with an unknown mode or a reserved status bit is illegal and changes nothing', () => {
    for (const status of [2, 15, 1 << 4, 1 << 7, 1 << 13, 1 << 15, 1 << 28, 1 << 31]) {
      const m = boot(`
        ${HALT_KERNEL}
start:  lpsw bad
        .align 4
bad:    .word 0x2000, ${status}, 0, 0x10000, 0, 0, 0, 0
`);
      const before = m.psw();
      m.step();
      expect(trapRecord(m), `status ${status}`).toEqual({ cause: Cause.Illegal, vaddr: 0, error: 0, detail: Op.Lpsw });
      expect(oldPsw(m)).toEqual({ ...before, pad: [0, 0] });
      expect(m.retired).toBe(0);
    }
  });

  it('lpsw of a valid PSW with every defined status bit set is accepted', () => {
    const status = (1 | ST_IE | (0xff << 16) | (0xf << 24) | (0x1f << 8)) >>> 0;
    const m = boot(`
        ${HALT_KERNEL}
start:  lpsw good
        .align 4
good:   .word 0x2000, ${status}, 0x100, 0x200, 0x3000, 7, 0, 0
`);
    m.step();
    expect(m.lastTrap).toBeUndefined();
    expect(m.psw()).toEqual({ pc: 0x2000, status: status | 0, base: 0x100, limit: 0x200, ptbr: 0x3000, extra: 7 });
  });
});

describe('memory traps', () => {
  it('a data access past the limit traps bounds with the faulting va and error code; saved pc = the instruction', () => {
    const { m, traps } = runUser(`        nop\n        ld r1, ${L}\n`);
    expect(traps[0]).toMatchObject({ cause: Cause.Bounds, vaddr: L, savedPc: 8 });
    expect(trapRecord(m)).toEqual({ cause: Cause.Bounds, vaddr: L, error: ERR_USER, detail: 0 });
    const w = runUser(`        li r2, -4\n        st r1, (r2)\n`);
    expect(trapRecord(w.m)).toEqual({ cause: Cause.Bounds, vaddr: 0xfffffffc, error: ERR_USER | ERR_WRITE, detail: 0 });
    expect(oldPsw(w.m).pc).toBe(8);
  });

  it('a fetch past the limit traps bounds with error fetch; saved pc = the unfetchable pc', () => {
    const { m, traps } = runUser(`        jmp ${L}\n`);
    expect(traps[0]).toMatchObject({ cause: Cause.Bounds, vaddr: L, savedPc: L });
    expect(trapRecord(m)).toEqual({ cause: Cause.Bounds, vaddr: L, error: ERR_USER | ERR_FETCH, detail: 0 });
    expect(oldPsw(m).pc).toBe(L);
    // running off the end of the segment: the last instruction retires, the next fetch traps
    const off = runUser(`        jmp ${L - 8}\n        .org ${L - 8}\n        nop\n`);
    expect(trapRecord(off.m)).toMatchObject({ cause: Cause.Bounds, vaddr: L });
    expect(off.m.retired).toBe(3); // jmp, nop, the kernel's halt
  });

  it('an instruction straddling the limit does not execute', () => {
    const { m } = runUser(`        jmp 0xff8\n        .org 0xff8\n        nop\n`, { limit: 0xffc });
    expect(trapRecord(m)).toMatchObject({ cause: Cause.Bounds, vaddr: 0xff8, error: ERR_USER | ERR_FETCH });
    expect(m.retired).toBe(2); // jmp, the kernel's halt
  });

  it('misaligned word accesses and fetches trap with cause alignment', () => {
    const ld = runUser(`        ld r1, 2\n`);
    expect(trapRecord(ld.m)).toEqual({ cause: Cause.Alignment, vaddr: 2, error: ERR_USER, detail: 0 });
    const st = runUser(`        li r2, 5\n        st r1, 1(r2)\n`);
    expect(trapRecord(st.m)).toEqual({ cause: Cause.Alignment, vaddr: 6, error: ERR_USER | ERR_WRITE, detail: 0 });
    expect(oldPsw(st.m).pc).toBe(8);
    const fetch = runUser(`        li r1, 12\n        jr r1\n`);
    expect(trapRecord(fetch.m)).toEqual({ cause: Cause.Alignment, vaddr: 12, error: ERR_USER | ERR_FETCH, detail: 0 });
    expect(oldPsw(fetch.m).pc).toBe(12);
    // bytes never need alignment
    const b = runUser(`        li r1, 0x77\n        stb r1, 3\n        ldb r2, 3\n        svc 0\n`);
    expect(b.m.regs[2]).toBe(0x77);
    expect(trapRecord(b.m).cause).toBe(Cause.Svc);
  });

  it('lpsw and spsw are all-or-nothing: a PSW image straddling the limit traps and nothing is read or written', () => {
    for (const op of ['lpsw', 'spsw']) {
      const m = boot(`${HALT_KERNEL}\n        .org 0x1000\nstart:  ${op} 0x1ff0\n        .org 0x1ff0\n        .word 0x1234, 0, 0, 0\n`, { psw: { limit: 0x2000 } });
      m.run(10);
      expect(trapRecord(m), op).toEqual({ cause: Cause.Bounds, vaddr: 0x2000, error: op === 'spsw' ? ERR_WRITE : 0, detail: 0 });
      expect(oldPsw(m)).toMatchObject({ pc: 0x1000, status: 0, base: 0, limit: 0x2000 });
      expect([m.mem.read32(0x1ff0), m.mem.read32(0x1ff4), m.mem.read32(0x2000)]).toEqual([0x1234, 0, 0]);
    }
  });

  it('a misaligned lpsw operand traps alignment', () => {
    const m = boot(`${HALT_KERNEL}\nstart:  lpsw 0x202\n`);
    m.step();
    expect(trapRecord(m)).toEqual({ cause: Cause.Alignment, vaddr: 0x202, error: 0, detail: 0 });
  });
});

describe('svc', () => {
  it('traps with cause svc, detail n, saved pc = the next instruction; the svc retires', () => {
    const { m, traps } = runUser(`        nop\n        svc 0x1234\n        nop\n`);
    expect(traps[0]).toMatchObject({ cause: Cause.Svc, detail: 0x1234, savedPc: 16, retired: 2 });
    expect(trapRecord(m)).toEqual({ cause: Cause.Svc, vaddr: 0, error: 0, detail: 0x1234 });
    expect(oldPsw(m)).toEqual({ ...userPsw(16), pad: [0, 0] });
    expect(m.opCounts[Op.Svc]).toBe(1);
  });

  it('detail holds the full 32-bit n', () => {
    const { m } = runUser(`        svc -1\n`);
    expect(trapRecord(m).detail).toBe(-1);
  });
});

describe('trap entry: old PSW to MEM[1], new PSW from MEM[0], trap record at 0x40..0x4C', () => {
  it('stores exactly the old PSW (and zeroes its reserved words), loads exactly the new one', () => {
    const kernel = `
        .org 0
        .psw pc=handler, mode=s, ie=0, base=0x40, limit=0x9000, ptbr=0x5000, extra=0x77
        .org 0x20
        .word 1, 2, 3, 4, 5, 6, 7, 8      ; stale old-PSW slot: every word must be overwritten
        .word 9, 9, 9, 9                  ; stale trap record
        .org 0x80
handler: halt
`;
    const m = bootUser(`        li r1, 1\n        svc 9\n`, { kernel, psw: { status: USER | ST_IE | (5 << 24), extra: 0x1234 } });
    m.step();
    m.step();
    expect(oldPsw(m)).toEqual({ pc: 16, status: USER | ST_IE | (5 << 24), base: B, limit: L, ptbr: 0, extra: 0x1234, pad: [0, 0] });
    expect(trapRecord(m)).toEqual({ cause: Cause.Svc, vaddr: 0, error: 0, detail: 9 });
    expect(m.psw()).toEqual({ pc: 0x80, status: 0, base: 0x40, limit: 0x9000, ptbr: 0x5000, extra: 0x77 });
    const { pad: _, ...fields } = newPsw(m);
    expect(m.psw()).toEqual(fields);
  });

  it('a memory trap after an svc overwrites the whole record (no stale detail)', () => {
    const kernel = `
        .org 0
        .psw pc=handler, mode=s, base=0, limit=MEM
        .org 0x80
handler: ld   r1, count
        addi r1, r1, 1
        st   r1, count
        li   r2, 2
        beq  r1, r2, stop
        lpsw 0x20
stop:   halt
        .align 4
count:  .word 0
`;
    const m = bootUser(`        svc 5\n        ld r1, ${L}\n`, { kernel });
    m.run(100);
    expect(m.machineStatus).toBe('halted');
    expect(trapRecord(m)).toEqual({ cause: Cause.Bounds, vaddr: L, error: ERR_USER, detail: 0 });
    expect(oldPsw(m).pc).toBe(8);
  });

  it('a handler can return with lpsw MEM[1] and the program continues where it was', () => {
    const kernel = `
        .org 0
        .psw pc=handler, mode=s, base=0, limit=MEM
        .org 0x80
handler: lpsw 0x20
`;
    const m = bootUser(`        li r1, 1\n        svc 0\n        addi r1, r1, 1\n        svc 0\n        addi r1, r1, 1\n        .word 0xff, 0\n`, { kernel });
    m.onTrap = (t) => {
      if (t.cause === Cause.Illegal) m.halt();
    };
    m.run(100);
    expect(m.regs[1]).toBe(3);
    expect(m.trapCounts[Cause.Svc]).toBe(2);
  });
});

describe('double fault', () => {
  function expectDoubleFault(kernel: string, user = '        svc 1\n') {
    const m = bootUser(user, { kernel });
    const traps: TrapEvent[] = [];
    m.onTrap = (t) => traps.push(t);
    const exit = m.run(1_000_000);
    expect(exit).toBe('double-fault');
    expect(m.machineStatus).toBe('double-fault');
    expect(m.running).toBe(false);
    expect(traps.at(-1)?.doubleFault).toBe(true);
    expect(traps.length).toBeLessThanOrEqual(2);
    expect(m.retired).toBeLessThanOrEqual(1);
    expect(m.run(10)).toBe('double-fault'); // stays stopped
    return { m, traps };
  }

  it('the new PSW fetches out of bounds', () => {
    const { traps } = expectDoubleFault(`        .org 0\n        .psw pc=0x80, mode=s, base=0, limit=0x80\n`);
    expect(traps.at(-1)).toMatchObject({ cause: Cause.Bounds, vaddr: 0x80, doubleFault: true });
  });

  it('the new PSW pc is misaligned', () => {
    expectDoubleFault(`        .org 0\n        .psw pc=0x84, mode=s, base=0, limit=MEM\n`);
  });

  it("the new PSW's first instruction is illegal", () => {
    const { traps } = expectDoubleFault(`        .org 0\n        .psw pc=0x80, mode=s, base=0, limit=MEM\n        .org 0x80\n        .word 0xff, 0\n`);
    expect(traps.at(-1)).toMatchObject({ cause: Cause.Illegal, detail: 0xff });
  });

  it("the new PSW is user mode and its first instruction is privileged", () => {
    expectDoubleFault(`        .org 0\n        .psw pc=0x80, mode=u, base=0, limit=MEM\n        .org 0x80\n        halt\n`);
  });

  it("the new PSW's first instruction makes a memory fault", () => {
    expectDoubleFault(`        .org 0\n        .psw pc=0x80, mode=s, base=0, limit=0x100\n        .org 0x80\n        ld r1, 0x100\n`);
  });

  it('the new PSW is invalid (unknown mode, reserved bit)', () => {
    expectDoubleFault(`        .org 0\n        .word 0x80, 3, 0, 0x10000, 0, 0, 0, 0\n        .org 0x80\n        halt\n`);
    expectDoubleFault(`        .org 0\n        .word 0x80, 0x10000000, 0, 0x10000, 0, 0, 0, 0\n        .org 0x80\n        halt\n`);
  });

  it('the first fault of a user program whose handler is broken double-faults too', () => {
    expectDoubleFault(`        .org 0\n        .psw pc=0x80, mode=s, base=0, limit=0x80\n`, '        ld r1, 0x7ffffff0\n');
  });

  it('a fault after the handler retired one instruction is an ordinary trap', () => {
    const m = bootUser('        svc 1\n', { kernel: `        .org 0\n        .psw pc=0x80, mode=s, base=0, limit=MEM\n        .org 0x80\n        nop\n        .word 0xff, 0\n` });
    expect(m.run(1000)).toBe('budget'); // nop, illegal, nop, illegal, ... never stops by itself
    expect(m.machineStatus).toBe('running');
    expect(m.trapCounts[Cause.Illegal]).toBeGreaterThan(100);
  });
});

describe('trapSwitchesAddressSpace', () => {
  const kernel = `
        .org 0
        .psw pc=0x80, mode=s, base=0, limit=MEM, ptbr=0x8000
        .org 0x80
        li  r5, 1       ; the handler at physical 0x80
        halt
`;
  const user = `
        svc 3
        .org 0x80
        li  r5, 2       ; va 0x80 of the user segment (physical B + 0x80)
        halt
`;

  it('true (default): the trap loads B, L and PTBR from the new PSW', () => {
    const m = bootUser(user, { kernel, psw: { ptbr: 0x4000 } });
    m.run(10);
    expect(m.regs[5]).toBe(1);
    expect([m.base, m.limit, m.ptbr, m.mode]).toEqual([0, MEM, 0x8000, 0]);
  });

  it('false: mode, PC and status change; B, L and PTBR stay, so the handler runs in the user segment', () => {
    const m = bootUser(user, { kernel, trapSwitchesAddressSpace: false, psw: { ptbr: 0x4000 } });
    m.run(10);
    expect(m.regs[5]).toBe(2);
    expect([m.base, m.limit, m.ptbr, m.mode]).toEqual([B, L, 0x4000, 0]);
    expect(oldPsw(m)).toMatchObject({ pc: 8, base: B, limit: L, ptbr: 0x4000, status: USER });
  });
});

describe('halt, spsw, out', () => {
  it('halt stops the machine and retires', () => {
    const m = boot(`${HALT_KERNEL}\nstart:  nop\n        halt\n        nop\n`);
    expect(m.run(100)).toBe('halted');
    expect([m.machineStatus, m.retired, m.pc]).toEqual(['halted', 2, at(m, 'start') + 16]);
    expect(m.run(100)).toBe('halted');
    expect(m.retired).toBe(2);
  });

  it('spsw stores the current PSW with pc = the next instruction', () => {
    const m = boot(`${HALT_KERNEL}\nstart:  spsw 0x400\n        halt\n`, { psw: { status: (3 << 24) | ST_IE, base: 0, limit: MEM, ptbr: 0x123000, extra: 9 } });
    m.mem.write32(0x418, -1);
    m.mem.write32(0x41c, -1);
    m.run(10);
    expect(m.mem.read32(0x400)).toBe(at(m, 'start') + 8);
    expect(pswAt(m, 0x400)).toEqual({ pc: at(m, 'start') + 8, status: (3 << 24) | ST_IE, base: 0, limit: MEM, ptbr: 0x123000, extra: 9, pad: [0, 0] });
  });

  it('out: port 0 writes a character, port 1 a signed decimal', () => {
    const m = boot(`${HALT_KERNEL}
start:  li  r1, 0x148      ; low byte 'H'
        out r1, 0
        li  r1, 'i'
        out r1, 0
        li  r2, -42
        out r2, 1
        li  r2, 0x7fffffff
        out r2, 1
        halt
`);
    m.run(100);
    expect(m.console).toBe('Hi-422147483647');
  });
});

describe('self-modifying code', () => {
  const program = `${HALT_KERNEL}
start:  li   r3, 0
loop:   nop
target: li   r5, 1          ; runs twice: the second time with the immediate stored below
        bne  r3, r0, done
        li   r3, 1
        li   r1, 99
patch:  st   r1, target+4
        jmp  loop
done:   halt
`;

  for (const tracing of [false, true]) {
    it(`a store over an already-executed instruction takes effect (tracing ${tracing})`, () => {
      const m = boot(program);
      m.tracing = tracing;
      m.run(100);
      expect(m.regs[5]).toBe(99);
    });

    it(`... also when the code frame is shared with a snapshot taken just before (tracing ${tracing})`, () => {
      const m = boot(program);
      m.tracing = tracing;
      stepTo(m, at(m, 'patch'));
      const s = snapshot(m);
      const copied = m.mem.store.framesCopied;
      m.run(100);
      expect(m.regs[5]).toBe(99);
      expect(m.mem.store.framesCopied).toBe(copied + 1);
      expect(s.memory.read32(at(m, 'target') + 4)).toBe(1);
    });
  }

  it('a store over the very next instruction header takes effect', () => {
    const m = boot(`${HALT_KERNEL}
start:  li   r1, 0x520          ; header of li r5, imm
        st   r1, next
next:   li   r6, 7
        halt
`);
    m.run(10);
    expect([m.regs[5], m.regs[6]]).toEqual([7, 0]);
  });
});

describe('a profile cause without an address', () => {
  const GP = 16;
  const gpProfile: Profile = {
    ...classic,
    name: 'with-gp',
    causes: [{ code: GP, name: 'general-protection', memory: false }],
    instructions: [...CLASSIC_INSTRUCTIONS, { mnemonic: 'gp', op: 0x81, operands: [], summary: 'always raises general-protection', exec: () => GP }],
  };

  it('records fault address 0 and error 0, not those of an earlier memory fault', () => {
    const m = bootUser(`        ld   r1, 0x2000          ; past the limit: a bounds fault at 0x2000 (user)
        gp
`, { profile: gpProfile, kernel: `
        .org 0
        .psw pc=handler, mode=s, base=0, limit=MEM
        .org 0x80
handler: ld   r10, 0x20
        addi r10, r10, 8
        st   r10, 0x20
        lpsw 0x20
` });
    const traps: { cause: number; vaddr: number; error: number; record: ReturnType<typeof trapRecord> }[] = [];
    m.onTrap = (t) => traps.push({ cause: t.cause, vaddr: t.vaddr, error: t.error, record: trapRecord(m) });
    m.run(12);
    expect(traps.slice(0, 2)).toEqual([
      { cause: Cause.Bounds, vaddr: 0x2000, error: ERR_USER, record: { cause: Cause.Bounds, vaddr: 0x2000, error: ERR_USER, detail: 0 } },
      { cause: GP, vaddr: 0, error: 0, record: { cause: GP, vaddr: 0, error: 0, detail: 0 } },
    ]);
  });
});
