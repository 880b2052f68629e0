// The arm profile's instructions in every mode, against the ARMv7-A rules they model
// (docs/profiles/arm.md): cps and msr change the mode only from a privileged mode and are silent
// no-ops in usr; mrs reads the mode anywhere; r13/r14 follow the mode; ldrt checks usr's page
// permissions from any mode; stmu stores usr's bank; a trap saves the status in the entered mode's
// SPSR, and the SPSR moves, movspc, rfe, srs, ldmu and strt act in privileged modes and are
// silent (no trap) in usr.

import { describe, expect, it } from 'vitest';
import { Cause, ST_FLAGS_MASK, ST_MODE_MASK, ST_PG } from '../../src/isa/arch.js';
import { arm } from '../../src/isa/profiles/arm.js';
import { ERR_USER } from '../../src/mmu/fault.js';
import { boot, bootPaged, trapRecord } from './helpers.js';

const SVC = 0;
const IRQ = 1;
const USR = 2;

/** Runs `body` from 0x80 in `mode` on an 8 KiB arm machine (segment translation, base 0), to its halt or first trap. */
function run(mode: number, body: string) {
  const m = boot(`.org 0\n.psw pc=stop, mode=svc, limit=0x2000\n.org 0x80\n${body}\nstop: halt\n`, { profile: arm, psw: { pc: 0x80, status: mode, limit: 0x2000 } });
  m.run(100);
  return m;
}

describe('arm: cps, msr, mrs and the banked r13/r14', () => {
  it('cps changes mode from svc and irq, r13 and r14 following it; in usr it does nothing and does not trap', () => {
    const m = run(SVC, 'li r13, 1\nli r14, 2\ncps 1\nli r13, 3\ncps 0\nmov r1, r13\nmov r2, r14\ncps 1\nmov r3, r13\nhalt');
    expect([m.regs[1], m.regs[2], m.regs[3], m.mode, m.trapCounts[Cause.Privileged]]).toEqual([1, 2, 3, IRQ, 0]); // irq is privileged: its halt does not trap
    const u = run(USR, 'li r13, 5\ncps 0\nli r13, 6\nmov r1, r13\nsvc 0');
    expect([trapRecord(u).cause, u.trapCounts[Cause.Privileged]]).toEqual([Cause.Svc, 0]); // the first trap is the svc, not cps
    expect(u.regs[1]).toBe(6); // still usr's r13
  });

  it('mrs reports the mode in every mode; msr writes the mode from a privileged mode only, the flags from any', () => {
    for (const mode of [SVC, IRQ, USR]) expect(run(mode, 'mrs r1').regs[1] & ST_MODE_MASK).toBe(mode);
    const flags = 0x5 << 24;
    const s = run(SVC, `li r1, ${flags | IRQ}\nmsr r1\nmrs r2\nhalt`);
    expect([s.regs[2] & ST_MODE_MASK, s.regs[2] & ST_FLAGS_MASK]).toEqual([IRQ, flags]);
    const u = run(USR, `li r1, ${flags | SVC}\nmsr r1\nmrs r2\nsvc 0`);
    expect([u.regs[2] & ST_MODE_MASK, u.regs[2] & ST_FLAGS_MASK, trapRecord(u).cause, u.trapCounts[Cause.Privileged]]).toEqual([USR, flags, Cause.Svc, 0]);
  });

  it('stmu stores usr’s r13 and r14: from svc its bank, from usr its visible registers', () => {
    const s = run(SVC, 'cps 2\nli r13, 11\nli r14, 12\nli r0, 0\nsvc 0');
    expect([s.mode, s.banks[USR * 2], s.banks[USR * 2 + 1]]).toEqual([SVC, 11, 12]); // the svc trap into svc banked usr's values
    const t = run(SVC, 'li r13, 99\nli r14, 98\nli r1, 0x400\nstmu r1\nld r2, 0x400\nld r3, 0x404\nhalt');
    expect([t.regs[2], t.regs[3]]).toEqual([0, 0]); // usr's bank was never written: zeros, not svc's 99, 98
    const u = run(USR, 'li r13, 7\nli r14, 8\nli r1, 0x400\nstmu r1\nld r2, 0x400\nld r3, 0x404\nsvc 0');
    expect([u.regs[2], u.regs[3]]).toEqual([7, 8]);
  });
});

describe('arm: ldrt', () => {
  it("loads with usr's page permissions from svc: a supervisor-only page faults with the user bit, a user page loads", () => {
    const maps: [number, number, number, { write?: boolean; user?: boolean }][] = [
      [0, 0, 0x2000, { write: true }],
      [0x400000, 0x5000, 0x1000, { write: true }],
      [0x401000, 0x6000, 0x1000, { write: true, user: true }],
    ];
    const { m, root } = bootPaged('.org 0\n.psw pc=stop, mode=svc\n.org 0x80\nli r1, 0x401000\nldrt r2, r1\nli r1, 0x400000\nld r3, (r1)\nldrt r4, r1\nstop: halt\n', 'paging', maps, { profile: arm });
    m.mem.write32(0x6000, 42);
    m.mem.write32(0x5000, 43);
    m.loadPsw({ pc: 0x80, status: SVC | ST_PG, base: 0, limit: 0, ptbr: root, extra: 0 });
    m.run(20);
    expect([m.regs[2], m.regs[3]]).toEqual([42, 43]); // svc reads both pages with ld
    expect(trapRecord(m)).toMatchObject({ cause: Cause.PageFault, vaddr: 0x400000 });
    expect(trapRecord(m).error & ERR_USER).toBe(ERR_USER);
  });
});

describe('arm: SPSR, exception return, rfe, srs, ldm^, strt', () => {
  it('a trap saves the status word it leaves in the entered mode\'s SPSR; mrss reads it, msrs writes it — in usr, which has none, 0 and ignored', () => {
    // the kernel drops to usr with movspc (SPSR = usr, IE off); the process's svc enters svc mode
    const m = boot(
      `.org 0\n.psw pc=handler, mode=svc, limit=0x2000\n.org 0x80\nli r1, ${USR | 0x3000000}\nmsrs r1\nli r2, user\nmovspc r2\nuser: li r3, 5\nmsrs r3\nmrss r4\nsvc 0\nhandler: mrss r5\nhalt\n`,
      { profile: arm, psw: { pc: 0x80, status: SVC, limit: 0x2000 } },
    );
    m.run(100);
    expect(m.machineStatus).toBe('halted');
    expect([m.regs[4], m.regs[5] & (ST_MODE_MASK | ST_FLAGS_MASK)]).toEqual([0, USR | 0x3000000]);
  });

  it('movspc from svc returns to the SPSR\'s mode (r13/r14 switching banks); from usr it only jumps, no trap', () => {
    const svc = run(SVC, `li r1, ${IRQ}\nmsrs r1\nli r2, there\nmovspc r2\nhalt\nthere: mrs r3\nsvc 1`);
    expect([trapRecord(svc).cause, svc.regs[3] & ST_MODE_MASK]).toEqual([Cause.Svc, IRQ]);
    const usr = run(USR, `li r2, there\nmovspc r2\nhalt\nthere: mrs r3\nsvc 1`);
    expect([trapRecord(usr).cause, usr.regs[3] & ST_MODE_MASK]).toEqual([Cause.Svc, USR]);
  });

  it('rfe loads pc and the status word from memory (usr: the flags only); srs stores r14 and the SPSR (usr: r14 and 0)', () => {
    const body = `li r1, 0x1800\nli r2, there\nst r2, 0(r1)\nli r2, ${IRQ | 0x8000000}\nst r2, 4(r1)\nrfe r1\nhalt\nthere: mrs r3\nli r14, 77\nli r5, 0x1900\nsrs r5\nsvc 1`;
    const svc = run(SVC, body);
    expect([svc.regs[3] & (ST_MODE_MASK | ST_FLAGS_MASK), svc.load32(0x1900), svc.load32(0x1904)]).toEqual([IRQ | 0x8000000, 77, 0]); // irq's SPSR: 0 (nothing trapped into irq)
    const usr = run(USR, body);
    expect([usr.regs[3] & (ST_MODE_MASK | ST_FLAGS_MASK), usr.load32(0x1900), usr.load32(0x1904)]).toEqual([USR | 0x8000000, 77, 0]);
  });

  it('ldmu loads usr\'s r13 and r14: from svc into its bank, from usr into the visible registers; strt stores with usr\'s permissions', () => {
    const svc = run(SVC, `li r1, 0x1800\nli r2, 11\nst r2, 0(r1)\nli r2, 22\nst r2, 4(r1)\nli r13, 5\nldmu r1\nli r3, 7\nstrt r3, r1`);
    expect([svc.regs[13], svc.banks[USR * 2], svc.banks[USR * 2 + 1], svc.load32(0x1800)]).toEqual([5, 11, 22, 7]);
    const usr = run(USR, `li r1, 0x1800\nli r2, 11\nst r2, 0(r1)\nli r2, 22\nst r2, 4(r1)\nldmu r1`);
    expect([usr.banks[USR * 2], usr.banks[USR * 2 + 1]]).toEqual([11, 22]); // usr's (banked away by the halt's trap into svc)
  });
});
