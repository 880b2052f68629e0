// x86-lite's critical instructions in every ring, against the IA-32 rules they model
// (docs/profiles/x86-lite.md): none of them traps; popf changes IF only when CPL <= IOPL and IOPL
// only at CPL 0, silently; the descriptor-table registers and CR0 read anywhere, load in ring 0;
// lar, lsl, verr and verw check DPL against CPL and RPL and answer in ZF; segment loads, far
// transfers and iret check their descriptors and raise #GP(selector) otherwise — the lab's
// `selector` cause, a memory-like trap whose fault address is the selector — while a privileged
// instruction outside ring 0 raises #GP(0), the lab's `privileged`.

import { describe, expect, it } from 'vitest';
import { Cause, ST_IE, ST_MODE_MASK } from '../../src/isa/arch.js';
import { CS, DESC0, DS, ES, ESP, IOPL_SHIFT, SELECTOR_FAULT, SEG0, SS, x86lite, x86vt, ZF } from '../../src/isa/profiles/x86-lite.js';
import { ERR_USER, ERR_WRITE } from '../../src/mmu/fault.js';
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
  it('sgdt, sidt, sldt, str, smsw and rdseg of CS read in every ring without trapping; their loads trap outside ring 0', () => {
    for (const ring of [0, 1, 2, 3]) {
      const m = run(ring, 'sgdt r1\nsidt r2\nsldt r3\nstr r4\nsmsw r5\nrdseg r6, 1');
      expect(trapRecord(m).cause).toBe(Cause.Svc);
      expect(Array.from(m.regs.slice(1, 7))).toEqual([0x1000, 0x1800, 0, 0x20, 1, 0x08 | ring]);
    }
    expect(run(0, 'li r1, 0x1c00\nlgdt r1\nsgdt r2').regs[2]).toBe(0x1c00);
    expect(trapRecord(run(0, 'li r1, 0x3000\nlgdt r1')).cause).toBe(Cause.Bounds); // the table past the segment's limit
    for (const [load, ring] of [['lgdt', 1], ['lidt', 2], ['lldt', 3], ['ltr', 1], ['lmsw', 3]] as const) {
      expect(trapRecord(run(ring, `${load} r1`)).cause, `${load} in ring ${ring}`).toBe(Cause.Privileged);
    }
  });
});

// The reset GDT: 1 ring-0 code (0x08), 2 ring-0 data (0x10), 3 ring-3 code (0x18, RPL 3: 0x1b),
// 4 ring-3 data (0x23 with RPL 3); 0x40 is past the table, 0x0c names the LDT.
const SELECTORS = [0x08, 0x10, 0x1b, 0x23, 0x00, 0x40, 0x0c];

/** ZF after `op` on every selector of SELECTORS in `ring` (the instruction never traps). */
function zf(ring: number, op: string): number[] {
  return SELECTORS.map((sel) => {
    const m = run(ring, `li r2, ${sel}\nli r1, 77\n${op}\npushf r3`);
    expect(trapRecord(m).cause).toBe(Cause.Svc);
    return (m.regs[3] & ZF) !== 0 ? 1 : 0;
  });
}

describe('x86-lite: lar, lsl, verr, verw', () => {
  it('lar and lsl answer for a descriptor whose DPL >= max(CPL, RPL), with its access byte or flat limit; otherwise ZF = 0 and rd is kept', () => {
    expect(zf(0, 'lar r1, r2')).toEqual([1, 1, 1, 1, 0, 0, 0]);
    expect(zf(1, 'lar r1, r2')).toEqual([0, 0, 1, 1, 0, 0, 0]);
    expect(zf(3, 'lsl r1, r2')).toEqual([0, 0, 1, 1, 0, 0, 0]);
    expect(run(0, 'li r2, 0x10\nlar r1, r2').regs[1]).toBe(0x9200);
    expect(run(3, 'li r2, 0x1b\nlsl r1, r2').regs[1]).toBe(-1);
    expect(run(1, 'li r1, 77\nli r2, 0x10\nlar r1, r2').regs[1]).toBe(77);
  });

  it('verr: readable code or data; verw: writable data — each visible at CPL and RPL', () => {
    expect(zf(0, 'verr r2')).toEqual([1, 1, 1, 1, 0, 0, 0]);
    expect(zf(0, 'verw r2')).toEqual([0, 1, 0, 1, 0, 0, 0]);
    expect(zf(2, 'verw r2')).toEqual([0, 0, 0, 1, 0, 0, 0]);
  });

  it("lgdt reads the GDT's eight access bytes at GDTR (an entry's high word, bits 15..8), and lar sees them", () => {
    const m = run(0, 'li r1, 0x1000\nlgdt r1\nli r2, 0x18\nlar r3, r2\nli r2, 0x08\nlar r4, r2\npushf r5', 0);
    expect(trapRecord(m).cause).toBe(Cause.Svc);
    expect(m.control[DESC0 + 1]).toBe(0); // the table at 0x1000 is zeros but for entry 3
    expect(m.regs[5] & ZF).toBe(0);
    const g = boot(`.org 0\n.psw pc=stop, mode=r0, limit=0x2000\n.org 0x80\nli r1, 0x1000\nlgdt r1\nli r2, 0x18\nlar r3, r2\nsvc 0\nstop: halt\n.org 0x101c\n.word 0x12349e77\n`, { profile: x86lite, psw: { pc: 0x80, limit: 0x2000 } });
    g.run(100);
    expect(g.regs[3]).toBe(0x9e00); // present, DPL 0, conforming readable code; the rest of the word dropped
  });
});

describe('x86-lite: segment registers', () => {
  it('wrseg loads DS with a descriptor visible at CPL and RPL (or null), SS only with writable data of the CPL; CS never', () => {
    const load = (ring: number, seg: number, sel: number) => {
      const m = run(ring, `li r1, ${sel}\nwrseg ${seg}, r1\nrdseg r2, ${seg}`);
      return trapRecord(m).cause === Cause.Svc ? m.regs[2] : trapRecord(m).cause === SELECTOR_FAULT ? 'gp' : 'ud';
    };
    expect(load(0, DS, 0x10)).toBe(0x10);
    expect(load(3, DS, 0x10)).toBe('gp');
    expect(load(3, DS, 0x23)).toBe(0x23);
    expect(load(3, DS, 0x00)).toBe(0);
    expect(load(0, DS, 0x08)).toBe(0x08); // readable code
    expect(load(0, DS, 0x40)).toBe('gp');
    expect(load(0, SS, 0x10)).toBe(0x10);
    expect(load(0, SS, 0x00)).toBe('gp');
    expect(load(0, SS, 0x13)).toBe('gp'); // RPL 3 != CPL 0
    expect(load(3, SS, 0x23)).toBe(0x23);
    expect(load(0, CS, 0x08)).toBe('ud');
  });

  it('pushseg and popseg move selectors through the stack at sp (r15); a refused pop keeps sp', () => {
    const m = run(0, `li r15, 0x1800\npushseg ${DS}\npopseg ${ES}\nrdseg r1, ${ES}`);
    expect([m.regs[1], m.regs[ESP]]).toEqual([0x10, 0x1800]);
    const bad = run(3, `li r15, 0x1800\nli r1, 0x10\nst r1, 0x1800\npopseg ${DS}`);
    expect([trapRecord(bad).cause, bad.regs[ESP]]).toEqual([SELECTOR_FAULT, 0x1800]);
  });

  it('a refused selector is a selector fault recording the selector as the fault address and a read in the ring (x86 #GP(selector)); lgdt outside ring 0 stays privileged (#GP(0))', () => {
    const inRing = (ring: number) => trapRecord(run(ring, 'li r1, 0x13\nwrseg 3, r1'));
    expect(inRing(1)).toEqual({ cause: SELECTOR_FAULT, vaddr: 0x13, error: 0, detail: 0 });
    expect(inRing(3)).toEqual({ cause: SELECTOR_FAULT, vaddr: 0x13, error: ERR_USER, detail: 0 });
    expect(inRing(3).error & ERR_WRITE).toBe(0);
    expect(trapRecord(run(1, 'lgdt r1')).cause).toBe(Cause.Privileged);
    expect(x86lite.causes).toEqual([{ code: SELECTOR_FAULT, name: 'selector', memory: true }]);
  });
});

describe('x86-lite: far transfers, iret, int', () => {
  it('jmpf and callf go to code of the same ring (CS loaded, callf pushes CS and the return address); another ring is a selector fault', () => {
    const m = run(0, 'li r15, 0x1800\nli r1, 0x08\ncallf r1, there\nsvc 1\nthere: rdseg r2, 1');
    expect(trapRecord(m).cause).toBe(Cause.Svc);
    expect([m.regs[ESP], m.load32(0x17f8), m.load32(0x17fc), m.regs[2]]).toEqual([0x17f8, m.labels.get('there')! - 8, 0x08, 0x08]);
    expect(trapRecord(run(3, 'li r1, 0x08\njmpf r1, 0x80')).cause).toBe(SELECTOR_FAULT);
    expect(trapRecord(run(0, 'li r1, 0x1b\njmpf r1, 0x80')).cause).toBe(SELECTOR_FAULT);
  });

  it('retf to an outer ring changes the ring, loads sp from the stack and nulls data segment registers the ring may not name; to an inner ring it is a selector fault', () => {
    const setup = 'li r15, 0x1800\nli r1, after\nst r1, 0x1800\nli r1, 0x1b\nst r1, 0x1804\nli r1, 0x1700\nst r1, 0x1808\nli r1, 0x23\nwrseg 0, r1';
    const m = run(0, `${setup}\nretf\nafter: svc 2`);
    expect(trapRecord(m).cause).toBe(Cause.Svc);
    expect(m.load32(0x20 + 4) & ST_MODE_MASK).toBe(3); // the svc was raised in ring 3
    expect([m.regs[ESP], m.control[SEG0 + DS], m.control[SEG0 + ES], m.control[SEG0 + CS]]).toEqual([0x1700, 0, 0x23, 0x1b]);
    const inner = run(3, 'li r15, 0x1800\nli r1, 0x08\nst r1, 0x1804\nretf');
    expect([trapRecord(inner).cause, inner.regs[ESP]]).toEqual([SELECTOR_FAULT, 0x1800]);
  });

  it('iret takes IF only when CPL <= IOPL and IOPL only at CPL 0, like popf, and returns within the ring', () => {
    const body = (cs: number) => `li r15, 0x1800\nli r1, back\nst r1, 0x1800\nli r1, ${cs}\nst r1, 0x1804\nli r1, ${ST_IE | (3 << IOPL_SHIFT)}\nst r1, 0x1808\niret\nback: pushf r2`;
    const at0 = run(0, body(0x08));
    expect([at0.regs[2] & ST_IE, (at0.regs[2] >>> IOPL_SHIFT) & 3, at0.regs[ESP]]).toEqual([ST_IE, 3, 0x180c]);
    const at3 = run(3, body(0x1b));
    expect([at3.regs[2] & ST_IE, (at3.regs[2] >>> IOPL_SHIFT) & 3]).toEqual([0, 0]);
  });

  it("int n is x86-lite's spelling of svc n", () => {
    const m = run(3, 'int 0x21');
    expect([trapRecord(m).cause, trapRecord(m).detail]).toEqual([Cause.Svc, 0x21]);
  });
});

describe('x86-vt: the non-root rings', () => {
  /** A 8 KiB x86-vt machine in `mode` running `body` to its first trap; the trap record's error code. */
  const errorIn = (mode: number, body: string) => {
    const m = boot(`.org 0\n.psw pc=stop, mode=r0, limit=0x2000\n.org 0x80\n${body}\nstop: halt\n`, { profile: x86vt, psw: { pc: 0x80, status: mode, limit: 0x2000 } });
    m.run(10);
    return trapRecord(m);
  };

  it('r3 and v3 are the user modes for error codes and page permissions; r0-r2 and v0-v2 are supervisors', () => {
    const user = [0, 1, 2, 3, 4, 5, 6, 7].map((mode) => (errorIn(mode, 'li r1, 0x3000\nld r2, (r1)').error & ERR_USER) !== 0);
    expect(user).toEqual([false, false, false, true, false, false, false, true]);
  });

  it('every x86 instruction and every privileged one traps in v0-v3 and runs as in x86-lite in r0-r3', () => {
    for (const mode of [4, 5, 6, 7]) for (const line of ['pushf r1', 'sgdt r1', 'li r2, 8\nlar r1, r2', 'lgdt r1', 'halt']) expect(errorIn(mode, line).cause, `${line} in v${mode - 4}`).toBe(Cause.Privileged);
    expect(errorIn(0, 'pushf r1\nsvc 0').cause).toBe(Cause.Svc);
  });
});
