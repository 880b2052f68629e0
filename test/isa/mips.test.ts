// The mips profile's address map against the MIPS32 architecture's rules (docs/profiles/mips.md):
// which mode reaches which segment, where the unmapped segments land, what an access a mode may
// not make raises, and that what the kernel may read the process it drops to may not.

import { describe, expect, it } from 'vitest';
import { Cause, ST_PG } from '../../src/isa/arch.js';
import { Machine } from '../../src/isa/machine.js';
import { ADDRESS_ERROR, BUS_ERROR, mips } from '../../src/isa/profiles/mips.js';
import { Access, ERR_FETCH, ERR_USER, ERR_WRITE } from '../../src/mmu/fault.js';
import { guestFromSources, inModesOf } from '../../src/vmm/guest.js';
import { runBare } from '../../src/vmm/bare.js';
import { bootPaged, HALT_KERNEL } from './helpers.js';

const KERNEL = 0;
const SUPERVISOR = 1;
const USER = 2;
const BASE = 0x1000;
const LIMIT = 0x1000;

/** A 16 KiB mips machine in `mode` with base 0x1000, limit 0x1000: where `va` goes, or the fault. */
function translate(mode: number, va: number, access = Access.Read): number | { cause: number; error: number } {
  const m = new Machine({ profile: mips, memorySize: 0x4000 });
  m.loadPsw({ pc: 0, status: mode, base: BASE, limit: LIMIT, ptbr: 0, extra: 0 });
  const pa = m.translate(va >>> 0, 4, access);
  return pa >= 0 ? pa : { cause: m.faultCause(), error: m.fault.error };
}

describe('the MIPS32 address map', () => {
  // rows from the architecture: kuseg all modes, kseg0/kseg1 kernel only and unmapped,
  // ksseg kernel and supervisor, kseg3 kernel only; mapped segments go to base and bounds
  // the error code's user bit: user mode only (supervisor is a supervisor for it, as x86 ring 1 is)
  const addressError = (mode: number) => ({ cause: ADDRESS_ERROR, error: mode === USER ? ERR_USER : 0 });
  const bounds = (mode: number) => ({ cause: Cause.Bounds, error: mode === USER ? ERR_USER : 0 });
  const rows: [string, number, (mode: number) => number | object][] = [
    ['kuseg', 0x00000100, () => BASE + 0x100],
    ['kuseg, past the limit', 0x00001000, (mode) => bounds(mode)],
    ['kseg0', 0x80000100, (mode) => (mode === KERNEL ? 0x100 : addressError(mode))],
    ['kseg1', 0xa0000200, (mode) => (mode === KERNEL ? 0x200 : addressError(mode))],
    ['ksseg', 0xc0000000, (mode) => (mode === USER ? addressError(mode) : bounds(mode))],
    ['kseg3', 0xe0000000, (mode) => (mode === KERNEL ? bounds(mode) : addressError(mode))],
  ];
  for (const [name, va, want] of rows) {
    it(`${name} (0x${va.toString(16)}) in every mode`, () => {
      for (const mode of [KERNEL, SUPERVISOR, USER]) expect(translate(mode, va), `mode ${mips.modes[mode]}`).toEqual(want(mode));
    });
  }

  it('an address error says what the access was; an unmapped access past memory is a bus error', () => {
    expect(translate(USER, 0x80000000, Access.Write)).toEqual({ cause: ADDRESS_ERROR, error: ERR_USER | ERR_WRITE });
    expect(translate(SUPERVISOR, 0x80000000, Access.Fetch)).toEqual({ cause: ADDRESS_ERROR, error: ERR_FETCH });
    expect(translate(KERNEL, 0x80004000)).toEqual({ cause: BUS_ERROR, error: 0 });
    expect(translate(KERNEL, 0x80003ffc)).toBe(0x3ffc);
  });

  it('the kernel reads kseg0 and drops to a process that reads the same address: the process gets an address error, not the kernel’s answer', () => {
    const g = guestFromSources({
      name: 'window',
      profile: mips,
      vmsize: 0x4000,
      programs: [
        {
          at: 0,
          source: `.org 0
            .psw pc=0x80000000+stop, mode=kernel, limit=0x4000
            .org 0x80
            li r1, 0x80000800
            ld r2, (r1)        ; the kernel reads kseg0
            ld r2, 4(r1)
            lpsw 0x80000000+up
            stop: halt
            .align 4
            up: .psw pc=0x800, mode=user, limit=0x4000`,
        },
        { at: 0x800, source: 'ld r3, (r1)\nhalt' },
      ],
      psw: { pc: 0x80000080, status: KERNEL, base: 0, limit: 0x4000, ptbr: 0, extra: 0 },
      budget: 50,
    });
    const r = runBare(g);
    expect(r.traps).toMatchObject({ 'address-error': 1 });
    expect(r.final.regs[3]).toBe(0);
  });
});

describe('page permissions in a three-mode profile', () => {
  it('only the last mode is user for U/S: supervisor reads a supervisor-only page, user takes the page fault with the user bit', () => {
    const { m, root } = bootPaged(inModesOf(HALT_KERNEL, mips), 'paging', [[0x400000, 0x5000, 0x1000, { write: true }]], { profile: mips });
    const read = (mode: number) => {
      m.loadPsw({ pc: 0, status: mode | ST_PG, base: 0, limit: 0, ptbr: root, extra: 0 });
      const pa = m.translate(0x400010, 4, Access.Read);
      return pa >= 0 ? pa : { cause: m.faultCause(), error: m.fault.error & ERR_USER };
    };
    expect(read(KERNEL)).toBe(0x5010);
    expect(read(SUPERVISOR)).toBe(0x5010);
    expect(read(USER)).toEqual({ cause: Cause.PageFault, error: ERR_USER });
  });
});
