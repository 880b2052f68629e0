// Translation paths beyond plain base and bounds: segment+paging (the segment check, then the
// walk of the linear address) and a profile's address-region hook (before any translation).

import { describe, expect, it } from 'vitest';
import { Cause, ST_PG } from '../../src/isa/arch.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { REGION_TRANSLATE, type Profile } from '../../src/isa/profile.js';
import { Access } from '../../src/mmu/fault.js';
import { at, boot, bootPaged, HALT_KERNEL, trapRecord, USER } from './helpers.js';


describe('segment+paging', () => {
  /** User code at virtual 0 of the segment (B = 0x400000, L = 0x2000); the linear page 0x400000 maps to 0x5000. */
  function machine(user: string) {
    const { m, root } = bootPaged(HALT_KERNEL, 'segment+paging', [[0x400000, 0x5000, 0x1000, { write: true, user: true }]]);
    const code = boot(user).mem; // assemble the user program at virtual 0
    for (let a = 0; a < 0x100; a += 4) m.mem.write32(0x5000 + a, code.read32(a));
    m.loadPsw({ pc: 0, status: USER | ST_PG, base: 0x400000, limit: 0x2000, ptbr: root, extra: 0 });
    return m;
  }

  it('relocates by B, checks L, then walks the linear address', () => {
    const m = machine('  li r1, 0x77\n  st r1, 0x40\n  ld r2, 0x40\n  halt\n');
    expect(m.translate(0x40, 4, Access.Read)).toBe(0x5040);
    m.run(3);
    expect(m.regs[2]).toBe(0x77);
    expect(m.mem.read32(0x5040)).toBe(0x77);
  });

  it('an address past L is a bounds trap, before any walk', () => {
    const m = machine('  ld r1, 0x2000\n');
    m.run(10);
    expect(trapRecord(m)).toMatchObject({ cause: Cause.Bounds, vaddr: 0x2000 });
  });

  it('an address inside L on an unmapped linear page is a page fault at the virtual address', () => {
    const m = machine('  ld r1, 0x1000\n');
    m.run(10);
    expect(trapRecord(m)).toMatchObject({ cause: Cause.PageFault, vaddr: 0x1000 });
  });
});

describe('address-region hook', () => {
  // A MIPS-like region: supervisor addresses at or above 0x8000 are unmapped (pa = va - 0x8000);
  // user mode touching them raises the profile's own cause.
  const ADDRESS_ERROR = 16;
  const kseg: Profile = {
    ...classic,
    name: 'kseg',
    causes: [{ code: ADDRESS_ERROR, name: 'address-error', memory: true }],
    region: (m, va, _n, access) => {
      if (va < 0x8000) return REGION_TRANSLATE;
      if (m.mode !== 0) return m.regionFault(va, ADDRESS_ERROR, access);
      return va - 0x8000;
    },
  };

  it('claims its region in supervisor mode (no relocation), passes other addresses to base and bounds', () => {
    const m = boot(`${HALT_KERNEL}\nstart: li r1, 5\n  st r1, 0x8100\n  ld r2, 0x8100\n  halt\n`, { profile: kseg, psw: { base: 0x1000, limit: 0x2000, pc: 0 } });
    m.mem.writeBytes(0x1000, m.mem.readBytes(at(m, 'start'), 40));
    m.run(10);
    expect(m.regs[2]).toBe(5);
    expect(m.mem.read32(0x100)).toBe(5);
    expect(m.translate(0x10, 4, Access.Read)).toBe(0x1010);
  });

  it("refuses it in user mode with the profile's cause and the faulting address", () => {
    const m = boot(`${HALT_KERNEL}\nstart: ld r2, 0x8100\n  halt\n`, { profile: kseg });
    m.mem.writeBytes(0x1000, m.mem.readBytes(at(m, 'start'), 16));
    m.loadPsw({ pc: 0, status: USER, base: 0x1000, limit: 0x1000, ptbr: 0, extra: 0 });
    m.run(10);
    expect(trapRecord(m)).toMatchObject({ cause: ADDRESS_ERROR, vaddr: 0x8100 });
    expect(m.trapCounts[ADDRESS_ERROR]).toBe(1);
  });
});
