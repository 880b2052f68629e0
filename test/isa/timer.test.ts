// The interval timer (docs/machine.md, Traps): counts instructions retired, traps with saved pc = next,
// held pending while IE is clear, delivered as soon as IE is set.

import { describe, expect, it } from 'vitest';
import { Cause, ST_IE } from '../../src/isa/arch.js';
import type { TrapEvent } from '../../src/isa/machine.js';
import { at, boot, bootUser, oldPsw, stepTo, trapRecord, USER } from './helpers.js';

const KERNEL_IE = `
        .org 0
        .psw pc=handler, mode=s, base=0, limit=MEM
        .org 0x80
handler: halt
`;

function traced(m: ReturnType<typeof boot>): TrapEvent[] {
  const traps: TrapEvent[] = [];
  m.onTrap = (t) => traps.push(t);
  return traps;
}

describe('timer', () => {
  it('settimer n: the count is n after it; gettimer reads the instructions left', () => {
    const m = boot(`${KERNEL_IE}
start:  li       r1, 5
        settimer r1
        gettimer r2
        gettimer r3
        halt
`);
    m.run(100);
    expect([m.regs[2], m.regs[3]]).toEqual([5, 4]);
  });

  it('traps after exactly n instructions retire following settimer; saved pc = the next instruction', () => {
    for (const n of [1, 2, 3, 7]) {
      const m = boot(
        `${KERNEL_IE}
start:  li       r1, ${n}
        settimer r1
        ${Array.from({ length: 10 }, (_, i) => `n${i}: addi r2, r2, 1`).join('\n        ')}
        halt
`,
        { psw: { status: ST_IE } },
      );
      const traps = traced(m);
      m.run(100);
      expect(traps).toHaveLength(1);
      expect(traps[0]).toMatchObject({ cause: Cause.Timer, savedPc: at(m, `n${n}`), retired: 2 + n });
      expect(m.regs[2]).toBe(n);
      expect(trapRecord(m)).toEqual({ cause: Cause.Timer, vaddr: 0, error: 0, detail: 0 });
      expect(oldPsw(m)).toMatchObject({ pc: at(m, `n${n}`), status: ST_IE });
    }
  });

  it('reloads: a user program is interrupted every n instructions', () => {
    const kernel = `
        .org 0
        .psw pc=handler, mode=s, base=0, limit=MEM
        .org 0x80
handler: lpsw 0x20
`;
    const m = bootUser(`loop:   addi r1, r1, 1\n        jmp loop\n`, { kernel, psw: { status: USER | ST_IE } });
    m.timerReload = m.timerCount = 4;
    m.timerEnabled = true;
    const traps: TrapEvent[] = [];
    m.onTrap = (t) => traps.push(t);
    m.run(4 * 5 * 2);
    // every period: 3 user instructions + the handler's lpsw = 4 retired
    expect(traps.map((t) => t.retired)).toEqual(Array.from({ length: 10 }, (_, i) => 4 * (i + 1)));
    expect(traps.every((t) => t.cause === Cause.Timer && t.mode === 1)).toBe(true);
  });

  it('a trapping instruction does not count; only retired ones do', () => {
    const m = bootUser(`        halt\n`, { psw: { status: USER } });
    m.timerReload = m.timerCount = 10;
    m.timerEnabled = true;
    m.step(); // privileged trap: nothing retired
    expect(m.timerCount).toBe(10);
    m.step(); // the kernel's halt retires
    expect(m.timerCount).toBe(9);
  });

  it('is held pending while IE is clear and delivered right after the lpsw that sets IE', () => {
    const m = boot(`${KERNEL_IE}
start:  li       r1, 2
        settimer r1
        nop
        nop
        nop
go:     lpsw     upsw
        .align   4
upsw:   .psw     pc=0x1000, mode=u, ie=1, base=0, limit=MEM
        .org     0x1000
        li       r7, 1
`);
    const traps = traced(m);
    stepTo(m, at(m, 'go'));
    expect(m.timerPending).toBe(true);
    expect(traps).toEqual([]);
    const retired = m.retired;
    m.step(); // lpsw
    expect(m.timerPending).toBe(true);
    m.step(); // the timer trap, before the user's first instruction
    expect(traps).toHaveLength(1);
    expect(traps[0]).toMatchObject({ cause: Cause.Timer, savedPc: 0x1000, retired: retired + 1 });
    expect(oldPsw(m)).toMatchObject({ pc: 0x1000, status: USER | ST_IE });
    expect(m.regs[7]).toBe(0);
    expect(m.timerPending).toBe(false);
  });

  it('run() delivers the pending tick in the same call as the lpsw', () => {
    const m = boot(`${KERNEL_IE}
start:  li       r1, 1
        settimer r1
        lpsw     upsw
        .align   4
upsw:   .psw     pc=0x1000, mode=u, ie=1, base=0, limit=MEM
        .org     0x1000
        li       r7, 1
`);
    const traps = traced(m);
    m.run(100);
    expect(traps.map((t) => [t.cause, t.savedPc])).toEqual([
      [Cause.Timer, 0x1000],
    ]);
    expect(m.regs[7]).toBe(0);
  });

  it('settimer 0 disables the timer and clears a pending tick; gettimer then reads 0', () => {
    const m = boot(`${KERNEL_IE}
start:  li       r1, 2
        settimer r1
        nop
        nop
        settimer r0
        gettimer r4
        lpsw     upsw
        .align   4
upsw:   .psw     pc=0x1000, mode=u, ie=1, base=0, limit=MEM
        .org     0x1000
        li       r7, 1
        svc      3
`);
    const traps = traced(m);
    m.regs[4] = 99;
    m.run(100);
    expect(traps.map((t) => t.cause)).toEqual([Cause.Svc]);
    expect([m.regs[4], m.regs[7], m.timerEnabled, m.timerPending]).toEqual([0, 1, false, false]);
  });

  it('a second settimer restarts the count and clears a pending tick', () => {
    const m = boot(`${KERNEL_IE}
start:  li       r1, 1
        settimer r1
        li       r1, 3
        settimer r1
        gettimer r2
        halt
`);
    m.run(100);
    expect(m.regs[2]).toBe(3);
    expect(m.timerPending).toBe(false);
  });
});

describe('a tick falling due on an svc', () => {
  it('counts the svc when it retires, before the svc trap is delivered: the handler sees the tick pending', () => {
    const m = boot(`${KERNEL_IE}
start:  li       r1, 3
        settimer r1
        nop
        nop
        svc      9                 ; the 3rd instruction after settimer: the count reaches 0 here
`);
    const seen: { cause: number; pending: boolean; count: number }[] = [];
    m.onTrap = (t) => seen.push({ cause: t.cause, pending: m.timerPending, count: m.timerCount });
    m.step();
    m.step();
    m.step();
    m.step();
    m.step(); // the svc retires and traps in this one step
    expect(seen).toEqual([{ cause: Cause.Svc, pending: true, count: 3 }]);
  });
});
