// Snapshots, restore, the virtual view and run comparison, by example.

import { describe, expect, it } from 'vitest';
import { Cause, ST_FLAGS_MASK } from '../../src/isa/arch.js';
import type { Machine } from '../../src/isa/machine.js';
import type { Profile } from '../../src/isa/profile.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { compareRuns, compareViews, consoleDifference, restore, snapshot, virtualView, type MachineSnapshot } from '../../src/isa/snapshot.js';
import { boot, bootUser, HALT_KERNEL, stepTo } from './helpers.js';

/** A kernel that resumes after every trap (skipping faulting instructions), halting at the 4th. */
const RESUME_KERNEL = `
        .org 0
        .psw pc=handler, mode=s, base=0, limit=MEM
        .org 0x80
handler: st   r1, save1
        ld   r1, count
        addi r1, r1, 1
        st   r1, count
        slti r1, r1, 4
        beq  r1, r0, stop
        ld   r1, 0x40
        addi r1, r1, -5          ; svc
        beq  r1, r0, resume
        ld   r1, 0x20
        addi r1, r1, 8
        st   r1, 0x20
resume: ld   r1, save1
        lpsw 0x20
stop:   halt
        .align 4
save1:  .word 0
count:  .word 0
`;

const USER_PROGRAM = `
        li   r1, 10
        li   r2, 0x100
loop:   st   r1, (r2)
        addi r2, r2, 4
        addi r1, r1, -1
        svc  1
        bne  r1, r0, loop
        .word 0xff, 0
        halt
`;

function run(m: Machine, steps: number, each?: (i: number) => void): MachineSnapshot[] {
  const out = [snapshot(m)];
  for (let i = 0; i < steps; i++) {
    m.step();
    each?.(i);
    out.push(snapshot(m));
  }
  return out;
}

const fingerprint = (s: MachineSnapshot) => JSON.stringify({ ...s, memory: s.memory.hash() });

describe('snapshot', () => {
  it('captures the state; its structured parts are deeply frozen', () => {
    const m = bootUser(USER_PROGRAM, { kernel: RESUME_KERNEL });
    m.run(7);
    const s = snapshot(m);
    expect(s.retired).toBe(m.retired);
    expect(s.psw).toEqual(m.psw());
    expect(s.regs).toEqual(Array.from(m.regs));
    expect(s.trapsDelivered).toBe(1);
    expect(s.lastTrap).toMatchObject({ cause: Cause.Svc });
    for (const part of [s, s.psw, s.regs, s.banks, s.control, s.timer, s.lastTrap]) expect(Object.isFrozen(part)).toBe(true);
    expect(() => {
      (s.regs as number[])[0] = 1;
    }).toThrow(TypeError);
  });

  it('never changes while the machine goes on (memory included)', () => {
    const m = bootUser(USER_PROGRAM, { kernel: RESUME_KERNEL });
    const snaps = run(m, 40);
    const before = snaps.map(fingerprint);
    m.run(1000);
    m.mem.write32(0x1100, 12345);
    expect(snaps.map(fingerprint)).toEqual(before);
    expect(snaps[0].memory.read32(0x1100)).toBe(0);
  });

  it('costs no memory copy: consecutive snapshots share every frame not written in between', () => {
    const m = bootUser(USER_PROGRAM, { kernel: RESUME_KERNEL });
    run(m, 60);
    // each step writes at most the user data frame and the trap-area frame
    expect(m.mem.store.framesCopied).toBeLessThanOrEqual(2 * 60);
    expect(m.mem.framesAllocated).toBe(2);
  });
});

describe('restore', () => {
  it('continues exactly like the original', () => {
    const m = bootUser(USER_PROGRAM, { kernel: RESUME_KERNEL });
    m.run(9);
    const s = snapshot(m);
    const r = restore(s, m.config);
    expect(compareViews(virtualView(snapshot(r)), virtualView(s))).toBeUndefined();
    m.run(1000);
    r.run(1000);
    expect(compareViews(virtualView(snapshot(r)), virtualView(snapshot(m)))).toBeUndefined();
    expect(r.retired).toBe(m.retired);
  });

  it('shares memory copy-on-write: writes to the restored machine leave the snapshot alone', () => {
    const m = bootUser(USER_PROGRAM, { kernel: RESUME_KERNEL });
    const s = snapshot(m);
    const h = s.memory.hash();
    const r = restore(s, m.config);
    r.run(1000);
    expect(s.memory.hash()).toBe(h);
    expect(m.mem.hash()).toBe(h);
  });

  it('counts the traps delivered before the snapshot in the virtual view', () => {
    const m = bootUser(USER_PROGRAM, { kernel: RESUME_KERNEL });
    stepTo(m, 0x30); // the first svc (at 0x28) has trapped and returned
    const s = snapshot(m);
    expect(s.trapsDelivered).toBe(1);
    const r = restore(s, m.config);
    expect(snapshot(r).trapsDelivered).toBe(1);
    m.run(1000);
    r.run(1000);
    expect(snapshot(r).trapsDelivered).toBe(snapshot(m).trapsDelivered);
    expect(r.trapCounts[Cause.Svc]).toBe(m.trapCounts[Cause.Svc]);
  });

  it('keeps a halted or double-faulted machine stopped', () => {
    const h = boot(`${HALT_KERNEL}\nstart:  halt\n`);
    h.run(10);
    const rh = restore(snapshot(h), h.config);
    expect([rh.machineStatus, rh.run(10), rh.retired]).toEqual(['halted', 'halted', 1]);

    const d = bootUser('        svc 0\n', { kernel: `        .org 0\n        .psw pc=0x84, mode=s, base=0, limit=MEM\n` });
    expect(d.run(10)).toBe('double-fault');
    const s = snapshot(d);
    expect(s.status).toBe('double-fault');
    const rd = restore(s, d.config);
    expect(rd.machineStatus).toBe('double-fault');
    expect(rd.run(10)).toBe('double-fault');
    expect(compareViews(virtualView(snapshot(rd)), virtualView(s))).toBeUndefined();
  });

  it('restores banked registers of every mode, whatever mode the snapshot was in', () => {
    const banked: Profile = { ...classic, name: 'banked', bankedRegisters: [13] };
    const m = boot(
      `
        .org 0
        .psw pc=handler, mode=s, base=0, limit=MEM
        .org 0x80
handler: mov  r4, r13              ; the supervisor's own r13
        halt
start:  li   r13, 111
        lpsw upsw
        .align 4
upsw:   .psw pc=0x1000, mode=u, base=0, limit=MEM
        .org 0x1000
        li   r13, 222
user:   nop
        svc  0
`,
      { profile: banked },
    );
    stepTo(m, 0x1008);
    expect(m.regs[13]).toBe(222);
    const s = snapshot(m);
    const r = restore(s, m.config);
    expect(Array.from(r.regs)).toEqual(s.regs);
    expect(Array.from(r.banks)).toEqual(s.banks);
    m.run(100);
    r.run(100);
    expect([m.regs[4], m.regs[13]]).toEqual([111, 111]);
    expect([r.regs[4], r.regs[13]]).toEqual([111, 111]);
    expect(compareViews(virtualView(snapshot(r)), virtualView(snapshot(m)))).toBeUndefined();
  });

  it('restores the timer (count, reload, pending)', () => {
    const m = boot(`${HALT_KERNEL}
start:  li       r1, 3
        settimer r1
        nop
        nop
        nop
        nop
        gettimer r5
        halt
`);
    m.run(4);
    const r = restore(snapshot(m), m.config);
    m.run(100);
    r.run(100);
    expect(r.regs[5]).toBe(m.regs[5]);
    expect([r.timerPending, r.timerCount, r.timerReload]).toEqual([m.timerPending, m.timerCount, m.timerReload]);
  });
});

describe('virtual view and compareViews', () => {
  const base = () => {
    const m = bootUser(USER_PROGRAM, { kernel: RESUME_KERNEL });
    m.run(12);
    return m;
  };

  it('equal machines have equal views', () => {
    expect(compareViews(virtualView(snapshot(base())), virtualView(snapshot(base())))).toBeUndefined();
  });

  it('flags are the status word NZCV bits', () => {
    const m = base();
    m.setStatus(m.status | (0xa << 24));
    expect(virtualView(snapshot(m)).flags).toBe((0xa << 24) & ST_FLAGS_MASK);
  });

  it('names the first differing field', () => {
    const cases: [string, (m: Machine) => void][] = [
      ['regs.7', (m) => (m.regs[7] ^= 1)],
      ['psw.pc', (m) => m.loadPsw({ ...m.psw(), pc: m.pc + 8 })],
      ['psw.limit', (m) => m.loadPsw({ ...m.psw(), limit: 5 })],
      ['console', (m) => (m.console += 'x')],
      ['status', (m) => m.halt()],
      ['timer.reload', (m) => (m.timerReload = 9)],
      ['memory[0x1234]', (m) => m.mem.write8(0x1234, 1)],
      ['trapsDelivered', (m) => m.trap(Cause.Svc, 0, 0, 77, m.pc)],
    ];
    for (const [field, poke] of cases) {
      const a = base();
      const b = base();
      poke(b);
      const d = compareViews(virtualView(snapshot(a)), virtualView(snapshot(b)));
      expect(d?.field, field).toBe(field);
    }
  });
});

describe('compareRuns', () => {
  it('reports nothing for two identical runs, and the first aligned difference otherwise', () => {
    const mk = () => bootUser(USER_PROGRAM, { kernel: RESUME_KERNEL });
    const a = mk();
    const b = mk();
    expect(compareRuns(run(a, 50), run(b, 50))).toBeUndefined();

    const left = run(mk(), 50);
    const c = mk();
    let pokedAt = -1;
    const right = run(c, 50, (i) => {
      if (i === 20) {
        c.regs[9] = 42;
        pokedAt = c.retired;
      }
    });
    const d = compareRuns(left, right);
    expect(d).toMatchObject({ field: 'regs.9', a: 0, b: 42, retired: pokedAt });
    expect(d!.left.retired).toBe(pokedAt);
  });

  it('aligns by instructions retired, not by snapshot index', () => {
    const a = bootUser(USER_PROGRAM, { kernel: RESUME_KERNEL });
    const b = bootUser(USER_PROGRAM, { kernel: RESUME_KERNEL });
    const left = run(a, 40);
    const right = [snapshot(b)];
    for (let i = 0; i < 8; i++) {
      b.run(3);
      right.push(snapshot(b), snapshot(b));
    }
    while (b.retired < a.retired) b.step();
    right.push(snapshot(b));
    expect(b.retired).toBe(a.retired);
    expect(compareRuns(left, right)).toBeUndefined();
  });

  it('runs that end at different retired counts differ at the end', () => {
    const a = bootUser(USER_PROGRAM, { kernel: RESUME_KERNEL });
    const b = bootUser(USER_PROGRAM, { kernel: RESUME_KERNEL });
    const d = compareRuns(run(a, 10), run(b, 14));
    expect(d?.field).toBe('retired');
  });
});

describe('consoleDifference', () => {
  it('shows short consoles whole and long ones as a bounded excerpt at the first difference', () => {
    expect(consoleDifference('abc', 'abd')).toEqual({ field: 'console', a: 'abc', b: 'abd' });
    expect(consoleDifference('same', 'same')).toBeUndefined();
    const long = 'x'.repeat(5000);
    const d = consoleDifference(`${long}A${long}`, `${long}B${long}`)!;
    expect(d.a).toBe(`[5000] ${'x'.repeat(16)}A${'x'.repeat(63)}`);
    expect(String(d.b).length).toBeLessThan(100);
    // from: the text before it is known to agree and not looked at again
    expect(consoleDifference('Zbc', 'abc', 1)).toBeUndefined();
    expect(consoleDifference('ab', 'abc', 2)).toMatchObject({ a: 'ab', b: 'abc' });
  });
});
