// Profiles the VMM does not carry yet are refused with a reason (an address-region hook by asking
// it); three modes are hosted; a profile cause without an
// address is reflected as bare hardware delivers it (address 0, error 0); the end convention
// cannot place a VM's end at 4 GiB.

import { describe, expect, it } from 'vitest';
import { ST_IE } from '../../src/isa/arch.js';
import { CLASSIC_INSTRUCTIONS } from '../../src/isa/instructions.js';
import type { Profile } from '../../src/isa/profile.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { mips } from '../../src/isa/profiles/mips.js';
import { x86lite } from '../../src/isa/profiles/x86-lite.js';
import { checkLayout, guestRealModes } from '../../src/vmm/construction.js';
import { realModeEscapes } from '../../src/vmm/hardware.js';
import { controlChanges } from '../../src/vmm/safety.js';
import { guestFromSources, guestProblem, type GuestImage } from '../../src/vmm/guest.js';
import { runGuest, whyNot, whyNotTogether } from '../../src/vmm/run.js';
import { expectEquivalentAndSafe } from './helpers.js';

const tiny = (profile: Profile, source = '.org 0x80\nhalt', vmsize = 0x2000, bounds: 'size' | 'end' = 'size'): GuestImage =>
  guestFromSources({ name: 'g', profile, vmsize, bounds, programs: [{ at: 0, source }], psw: { pc: 0x80, status: 0, base: 0, limit: vmsize, ptbr: 0, extra: 0 }, budget: 100 });

/** An 8 KiB guest: `kernel` at 0 (started at 0x80 in supervisor mode), `process` at 0x1000. */
const kernelAndProcess = (name: string, profile: Profile, kernel: string, process: string, budget: number): GuestImage =>
  guestFromSources({ name, profile, vmsize: 0x2000, programs: [{ at: 0, source: kernel }, { at: 0x1000, source: process }], psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 }, budget });

describe('profiles this VMM does not carry yet, and what it now hosts', () => {
  it('refuses a virtual mode run in real supervisor mode, saying why; hosts three modes (each run in real user mode), which only the assembly VMM refuses', () => {
    const supervised: Profile = { ...classic, name: 'bad-v', realModeOf: [0, 1] };
    expect(guestProblem(tiny(supervised))).toMatch(/runs a virtual mode in real supervisor mode/);
    const rings: Profile = { ...classic, name: 'rings', modes: ['k', 's', 'u'], realModeOf: [2, 2, 2] };
    expect(guestProblem(tiny(rings))).toBeUndefined();
    for (const kind of ['vmm', 'hvm'] as const) expectEquivalentAndSafe(runGuest(kind, tiny(rings, '.org 0x80\nli r1, 7\nout r1, 1\nhalt')));
    expect(whyNot('vmm2', tiny(rings))).toMatch(/3 modes; vmm.s handles two/);
  });

  it('asks an address-region hook, in every real mode the VMM uses, whether it would hand out physical addresses: one that would is refused, as is one without a grain to ask it by; MIPS (address errors in real user mode) is hosted', () => {
    const open: Profile = { ...classic, name: 'open-kseg', region: (_m, va) => (va >= 0x80000000 ? va - 0x80000000 : -1), regionGrain: 2 ** 29 };
    expect(guestProblem(tiny(open))).toMatch(/gives real mode u physical addresses at 0x80000000/);
    const ungrained: Profile = { ...classic, name: 'no-grain', region: () => -1 };
    expect(guestProblem(tiny(ungrained))).toMatch(/without a grain/);
    expect(guestProblem(tiny(mips))).toBeUndefined();
  });
});

describe('a profile cause without an address (a general-protection fault)', () => {
  const GP = 16;
  const gpProfile: Profile = {
    ...classic,
    name: 'with-gp',
    causes: [{ code: GP, name: 'general-protection', memory: false }],
    instructions: [...CLASSIC_INSTRUCTIONS, { mnemonic: 'gp', op: 0x81, operands: [], summary: 'raises general-protection', exec: () => GP }],
  };
  // the process faults on a bounds check first (address 0x2000, error user), then raises #GP; the
  // kernel prints cause, address and error of each and skips the instruction
  const guest = kernelAndProcess(
    'gp',
    gpProfile,
    `.org 0
                 .psw pc=h, mode=s, limit=0x2000
                 .org 0x80
                 lpsw up
        h:       ld r10, 0x40
                 out r10, 1
                 ld r10, 0x44
                 out r10, 1
                 ld r10, 0x48
                 out r10, 1
                 li r10, ' '
                 out r10, 0
                 ld r10, 0x40
                 li r11, 5
                 beq r10, r11, done
                 ld r10, 0x20
                 addi r10, r10, 8
                 st r10, 0x20
                 lpsw 0x20
        done:    halt
                 .align 4
        up:      .psw pc=0, mode=u, base=0x1000, limit=0x1000`,
    'ld r1, 0x1000\ngp\nsvc 0',
    500,
  );

  it('is reflected with address 0 and error 0, as the bare machine delivers it', () => {
    expect(runGuest('bare', guest).console).toBe('340964 1600 500 ');
    for (const kind of ['vmm', 'hvm'] as const) {
      const r = runGuest(kind, guest);
      expectEquivalentAndSafe(r);
      expect(r.console).toBe('340964 1600 500 ');
    }
  });

  it('vmm2 refuses profile causes (vmm.s knows the core memory causes only)', () => {
    expect(whyNot('vmm2', guest)).toMatch(/adds trap causes/);
  });
});

describe('a VM ending at 4 GiB in the end convention', () => {
  it('is refused: its composed L\' = addr0 + vmsize = 2^32 does not fit a 32-bit L', () => {
    const layout = { reserve: 0x1000, allocations: [{ addr0: 2 ** 32 - 0x2000, vmsize: 0x2000 }], memorySize: 2 ** 32 };
    expect(checkLayout(layout, 'end')[0].message).toMatch(/ends at 4 GiB: with the end convention its limit L' = addr0 \+ vmsize would be 2\^32/);
    expect(checkLayout(layout, 'size')).toEqual([]);
    expect(whyNotTogether('vmm', [tiny(classic, undefined, 0x2000, 'end')], { layout })).toMatch(/ends at 4 GiB/);
    expect(whyNotTogether('vmm', [tiny(classic, undefined, 0x2000, 'size')], { layout })).toBeUndefined();
  });

  it('one VM lower is hosted, and reaches its last byte', () => {
    const layout = { reserve: 0x1000, allocations: [{ addr0: 2 ** 32 - 0x3000, vmsize: 0x2000 }], memorySize: 2 ** 32 - 0x1000 };
    const g = tiny(classic, '.org 0x80\nli r1, 0x1fff\nldb r2, 0(r1)\nout r2, 1\nhalt\n.org 0x1fff\n.byte 42', 0x2000, 'end');
    const r = runGuest('vmm', g, { layout });
    expectEquivalentAndSafe(r);
    expect(r.console).toBe('42');
  });
});

describe('banked registers (ARM-like r13 per mode)', () => {
  // the kernel keeps r13 = 100 in its own bank; the process sets its r13 = 7, calls svc, stores
  // its r13 after the return and calls svc again; at each trap the kernel prints its own r13 and
  // the word the process stored
  const banked: Profile = { ...classic, name: 'banked-r13', bankedRegisters: [13] };
  const guest = kernelAndProcess(
    'banked',
    banked,
    `.org 0
          .psw pc=h, mode=s, limit=0x2000
          .org 0x80
          li r13, 100
          lpsw up
          h: out r13, 1
          li r12, 32
          out r12, 0
          ld r12, 0x1100
          out r12, 1
          li r12, 32
          out r12, 0
          ld r12, 0x40
          li r11, 5
          bne r12, r11, stop
          lpsw 0x20
          stop: halt
          .align 4
          up: .psw pc=0, mode=u, base=0x1000, limit=0x1000`,
    'li r13, 7\nsvc 0\nst r13, 0x100\nsvc 0\nhalt\n',
    200,
  );

  it('each mode sees its own copy bare, under the VMM and under the hybrid VMM: the VMM takes the guest’s copies from the real machine’s bank after each trap', () => {
    expect(guestProblem(guest)).toBeUndefined();
    for (const kind of ['vmm', 'hvm'] as const) {
      const r = runGuest(kind, guest);
      expectEquivalentAndSafe(r);
      expect(r.console).toBe('100 0 100 7 100 7 ');
    }
  });
});

describe('control registers (an x86-like GDTR: lgdt privileged, sgdt not)', () => {
  const withGdtr = (real?: number): Profile => ({
    ...classic,
    name: 'gdtr',
    controlRegisters: [{ name: 'gdtr', reset: 0x100, ...(real === undefined ? {} : { real }) }],
    instructions: [
      ...CLASSIC_INSTRUCTIONS,
      { mnemonic: 'lgdt', op: 0x90, operands: ['rs'], supervisorOnly: true, summary: 'gdtr = rs', exec: (m, _rd, rs) => ((m.control[0] = m.regs[rs]), 0) },
      { mnemonic: 'sgdt', op: 0x91, operands: ['rd'], summary: 'rd = gdtr, in every mode', exec: (m, rd) => ((m.regs[rd] = m.control[0]), 0) },
    ],
  });
  // the kernel loads its table register, reads it back and prints it
  const guestOn = (p: Profile) => tiny(p, '.org 0x80\nli r1, 0x200\nlgdt r1\nsgdt r2\nout r2, 1\nhalt');

  it('carried to and fro when V leaves it to the guest: every VMM equivalent', () => {
    const p = withGdtr();
    expect(runGuest('bare', guestOn(p)).console).toBe('512');
    for (const kind of ['vmm', 'hvm'] as const) expectEquivalentAndSafe(runGuest(kind, guestOn(p)));
  });

  it('when V installs the VMM’s own value, the unprivileged sgdt run directly reveals it (x86’s sgdt): the trap-and-emulate VMM is not equivalent there, the hybrid VMM, interpreting the kernel, is', () => {
    const p = withGdtr(0x7000);
    const vmm = runGuest('vmm', guestOn(p));
    expect([vmm.checks!.equivalence.holds, vmm.console]).toEqual([false, String(0x7000)]);
    expectEquivalentAndSafe(runGuest('hvm', guestOn(p)));
  });

  it('a guest value written without a trap (lgdt made unprivileged: refused, run with allowUnsafe) comes back from the real machine at the next exit', () => {
    const leaky: Profile = { ...withGdtr(), instructions: withGdtr().instructions.map((d) => (d.mnemonic === 'lgdt' ? { ...d, supervisorOnly: false } : d)) };
    const g = guestOn(leaky);
    expect(whyNot('vmm', g)).toMatch(/lgdt/);
    const r = runGuest('vmm', g, { allowUnsafe: true });
    expect([r.checks!.equivalence.holds, r.console]).toEqual([true, '512']);
  });
});

describe('V for the status word (realStatusOn): an x86-like IOPL the VMM forces', () => {
  const IOPL = 1 << 16; // a profile bit of the status word
  const pushf: Profile = {
    ...classic,
    name: 'pushf',
    realStatusOn: ST_IE | IOPL,
    instructions: [...CLASSIC_INSTRUCTIONS, { mnemonic: 'pushf', op: 0x92, operands: ['rd'], summary: 'rd = the status word, in every mode', exec: (m, rd) => ((m.regs[rd] = m.status), 0) }],
  };
  // the kernel reads its status word (IOPL clear, as the scenario started it) and prints the bit
  const g = tiny(pushf, `.org 0x80\npushf r1\nli r2, ${IOPL}\nand r1, r1, r2\nout r1, 1\nhalt`);

  it('is installed on the real machine: pushf run directly shows it (x86’s pushf), the virtual PSW keeps the guest’s bit; the hybrid VMM, interpreting the kernel, shows the guest’s', () => {
    expect(runGuest('bare', g).console).toBe('0');
    const vmm = runGuest('vmm', g);
    expect([vmm.checks!.equivalence.holds, vmm.console, vmm.final.psw.status & IOPL]).toEqual([false, String(IOPL), 0]);
    expectEquivalentAndSafe(runGuest('hvm', g));
  });
});

describe('x86-lite under the VMM: V keeps IOPL at 0 on the real machine', () => {
  // the kernel raises its IOPL to 3 with lpsw (emulated), then clears IF with popf, which runs
  // directly in real ring 1: with the real IOPL 3 it would turn the real interrupt enable off
  const source = `.org 0
    .psw pc=stop, mode=r0, limit=0x2000
    .org 0x80
    lpsw up
    .align 4
    up: .word 0xc0, 0x30000, 0, 0x2000, 0, 0, 0, 0   ; pc 0xc0, ring 0, IOPL 3
    .org 0xc0
    li r1, 0
    popf r1
    pushf r2
    out r2, 1
    stop: halt`;
  const g = (p: Profile) => tiny(p, source);

  it('so a popf run directly cannot turn the real interrupts off: safe; with IOPL passed through to the real machine, the safety checker sees the real IE dropped', () => {
    const r = runGuest('vmm', g(x86lite));
    expect(r.checks!.safety.holds).toBe(true);
    const passThrough: Profile = { ...x86lite, name: 'x86-lite-iopl', realStatusOff: 0 };
    const bad = runGuest('vmm', g(passThrough), { allowUnsafe: true });
    expect(bad.checks!.safety.holds).toBe(false);
    expect(bad.checks!.safety.first!.detail).toBe("direct: the guest changed the real machine's resource-control state without a trap (status 0x101 → 0x1)"); // IE (0x100) dropped
  });
});

describe('x86 far returns to an outer ring: run directly, followed by the VMM', () => {
  // the kernel irets to ring 3 (an outer-ring return: no trap in real ring 1); the process's
  // int 0x21 is delivered to the kernel, which prints the ring the old PSW (MEM[1]) was saved in
  const kernel = `.org 0
    .psw pc=sys, mode=r0, limit=0x2000
    .org 0x80
    li r1, 0x1800
    li r2, 0x1000
    st r2, 0(r1)
    li r2, 0x1b
    st r2, 4(r1)
    st r0, 8(r1)
    li r2, 0x1f00
    st r2, 12(r1)
    mov r15, r1
    iret
    sys: ld r3, 0x24
    andi r3, r3, 15
    out r3, 1
    halt`;
  const g = (p: Profile) => kernelAndProcess('iret', p, kernel, 'li r0, 0\nint 0x21', 200);

  it('is no escape (a demotion to a mode the VMM runs guests in gives nothing), so x86-lite is hosted; the VMM follows the guest into ring 3 and the run is equivalent', () => {
    expect(guestProblem(g(x86lite))).toBeUndefined();
    expect(realModeEscapes(x86lite)).toEqual([]);
    const r = runGuest('vmm', g(x86lite));
    expectEquivalentAndSafe(r);
    expect(r.console).toBe('3');
    expect([r.efficiency!.exits.emulate, r.efficiency!.exits.reflect]).toEqual([2, 1]); // out and halt; the int 0x21 — the iret ran directly
  });

  it('with a V whose real ring 3 runs two virtual rings, the VMM follows into the wrong one (ring 2), and the equivalence checker says so', () => {
    const ambiguous: Profile = { ...x86lite, name: 'x86-lite-ambiguous', realModeOf: [1, 1, 3, 3] };
    const r = runGuest('vmm', g(ambiguous));
    expect([r.checks!.equivalence.holds, r.console]).toEqual([false, '2']);
  });

  it('a move to a more privileged real mode is still an escape and a safety violation', () => {
    expect(controlChanges({ pc: 0, status: 3, base: 0, limit: 1, ptbr: 0, extra: 0 }, { pc: 0, status: 1, base: 0, limit: 1, ptbr: 0, extra: 0 }, guestRealModes(x86lite))).toBe('status 0x3 → 0x1');
    expect(controlChanges({ pc: 0, status: 1, base: 0, limit: 1, ptbr: 0, extra: 0 }, { pc: 0, status: 3, base: 0, limit: 1, ptbr: 0, extra: 0 }, guestRealModes(x86lite))).toBe('');
    const lifted: Profile = { ...x86lite, name: 'x86-lite-lifted', realModeOf: [2, 2, 2, 3] };
    expect(controlChanges({ pc: 0, status: 2, base: 0, limit: 1, ptbr: 0, extra: 0 }, { pc: 0, status: 1, base: 0, limit: 1, ptbr: 0, extra: 0 }, guestRealModes(lifted))).toBe('status 0x2 → 0x1');
  });
});
