// x86-lite's critical instructions in every ring, against the IA-32 rules they model
// (docs/profiles/x86-lite.md): none of them traps; popf changes IF only when CPL <= IOPL and IOPL
// only at CPL 0, silently; the descriptor-table registers and CR0 read anywhere, load in ring 0.

import { describe, expect, it } from 'vitest';
import { Cause, ST_IE } from '../../src/isa/arch.js';
import { IOPL_SHIFT, x86lite } from '../../src/isa/profiles/x86-lite.js';
import { boot, trapRecord } from './helpers.js';

/** Runs `body` from 0x80 in ring `ring` with IOPL `iopl` and IF `ie` on an 8 KiB x86-lite machine, to its svc (or first trap). */
function run(ring: number, body: string, iopl = 0, ie = false) {
  const status = ring | (iopl << IOPL_SHIFT) | (ie ? ST_IE : 0);
  const m = boot(`.org 0\n.psw pc=stop, mode=r0, limit=0x2000\n.org 0x80\n${body}\nsvc 0\nstop: halt\n`, { profile: x86lite, psw: { pc: 0x80, status, limit: 0x2000 } });
  m.run(100);
  return m;
}

/** popf of IF = 1 and IOPL = 3 from ring `ring` at IOPL `iopl` with IF clear: [IF, IOPL] after, read back with pushf. */
function popf(ring: number, iopl: number): [number, number] {
  const m = run(ring, `li r1, ${ST_IE | (3 << IOPL_SHIFT)}\npopf r1\npushf r2`, iopl);
  expect(trapRecord(m).cause).toBe(Cause.Svc); // popf and pushf never trapped
  return [(m.regs[2] & ST_IE) >>> 8, (m.regs[2] >>> IOPL_SHIFT) & 3];
}

describe('x86-lite: popf, pushf', () => {
  it('popf sets IF and IOPL at CPL 0; IF but not IOPL when CPL <= IOPL; neither above IOPL — silently', () => {
    expect(popf(0, 0)).toEqual([1, 3]);
    expect(popf(1, 1)).toEqual([1, 1]);
    expect(popf(2, 3)).toEqual([1, 3]);
    expect(popf(1, 0)).toEqual([0, 0]);
    expect(popf(3, 2)).toEqual([0, 2]);
  });

  it('pushf reads the flags, IF, IOPL and the CPL in every ring', () => {
    for (const ring of [0, 1, 2, 3]) expect(run(ring, 'pushf r1', 2, true).regs[1] & 0x3010f).toBe(ring | ST_IE | (2 << IOPL_SHIFT));
  });
});

describe('x86-lite: system registers and CS', () => {
  it('sgdt, sidt, sldt, str, smsw and movcs read in every ring without trapping; their loads trap outside ring 0', () => {
    for (const ring of [0, 1, 2, 3]) {
      const m = run(ring, 'sgdt r1\nsidt r2\nsldt r3\nstr r4\nsmsw r5\nmovcs r6');
      expect(trapRecord(m).cause).toBe(Cause.Svc);
      expect(Array.from(m.regs.slice(1, 7))).toEqual([0x1000, 0x1800, 0, 0x20, 1, 0x08 | ring]);
    }
    expect(run(0, 'li r1, 0x3000\nlgdt r1\nsgdt r2').regs[2]).toBe(0x3000);
    for (const [load, ring] of [['lgdt', 1], ['lidt', 2], ['lldt', 3], ['ltr', 1], ['lmsw', 3]] as const) {
      expect(trapRecord(run(ring, `${load} r1`)).cause, `${load} in ring ${ring}`).toBe(Cause.Privileged);
    }
  });
});
