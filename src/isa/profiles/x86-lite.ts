// x86-lite, first part: the four rings (CPL in CS.RPL), IF and IOPL in the flags, the system
// registers GDTR, IDTR, LDTR, TR and CR0 (MSW), and the critical instructions of Robin & Irvine
// that read or silently skip that state without trapping (docs/profiles/x86-lite.md):
//
//   pushf rd     rd = the status word: flags, IF (the PSW's IE), IOPL (status bits 17..16), CPL
//   popf rs      flags from rs always; IF only when CPL <= IOPL, IOPL only at CPL 0 — the rest
//                ignored silently, never a trap
//   sgdt, sidt, sldt, str rd   rd = GDTR, IDTR, LDTR, TR, in every ring
//   smsw rd      rd = CR0's low word (PE, MP, EM, TS, ..., and PG in bit 31 of CR0 kept here)
//   movcs rd     rd = CS's selector, whose low two bits (RPL) are the CPL
//
// and their privileged partners (lgdt, lidt, lldt, ltr, lmsw: ring 0 only). Descriptors, lar /
// lsl / verr / verw, segment-register moves, far transfers, iret and int n are not modelled yet.
//
// V (what a VMM installs on the real machine): guest rings 0–2 run in real ring 1, 2, 2 — ring 0
// is the VMM's (ring compression) — ring 3 in ring 3; IF on, IOPL 0; the VMM's own GDTR, IDTR,
// LDTR and TR; CR0 with PE and PG set.

import { ST_FLAGS_MASK, ST_IE, ST_MODE_MASK, ST_PROFILE_SHIFT } from '../arch.js';
import type { ProfileCpu } from '../cpu.js';
import { CLASSIC_INSTRUCTIONS, type ExecFn, type InstructionDef } from '../instructions.js';
import type { Profile } from '../profile.js';

/** IOPL: two bits of the status word's profile byte. */
export const IOPL_SHIFT = ST_PROFILE_SHIFT;
export const IOPL_MASK = 3 << IOPL_SHIFT;

/** The system registers, in Profile.controlRegisters order. */
export const GDTR = 0;
export const IDTR = 1;
export const LDTR = 2;
export const TR = 3;
export const CR0 = 4;

/** The code selector a ring runs with: index 1 of the GDT, RPL = CPL. */
const CS_SELECTOR = 0x08;

const iopl = (m: ProfileCpu) => (m.status & IOPL_MASK) >>> IOPL_SHIFT;

const pushf: ExecFn = (m, rd) => {
  m.regs[rd] = m.status & (ST_FLAGS_MASK | ST_IE | IOPL_MASK | ST_MODE_MASK);
  return 0;
};

const popf: ExecFn = (m, _rd, rs) => {
  const v = m.regs[rs];
  let take = ST_FLAGS_MASK;
  if (m.mode <= iopl(m)) take |= ST_IE;
  if (m.mode === 0) take |= IOPL_MASK;
  m.setStatus((m.status & ~take) | (v & take));
  return 0;
};

/** `store` reads system register `r` in every ring; `load` writes it, ring 0 only. */
function systemRegister(store: string, load: string, r: number, op: number, what: string): InstructionDef[] {
  return [
    { mnemonic: store, op, operands: ['rd'], summary: `rd = ${what}, in every ring (never traps)`, exec: (m, rd) => ((m.regs[rd] = m.control[r]), 0) },
    { mnemonic: load, op: op + 1, operands: ['rs'], trapsIn: ['r1', 'r2', 'r3'], summary: `${what} = rs (ring 0 only)`, exec: (m, _rd, rs) => ((m.control[r] = m.regs[rs]), 0) },
  ];
}

export const x86lite: Profile = {
  name: 'x86-lite',
  summary: 'x86-32 reduced: rings 0-3, IF and IOPL, GDTR/IDTR/LDTR/TR/CR0, and pushf, popf, sgdt, sidt, sldt, str, smsw, mov from cs, which never trap',
  modes: ['r0', 'r1', 'r2', 'r3'],
  instructions: [
    // rings 1 and 2 are not ring 0: the classic privileged instructions trap in every ring but 0
    ...CLASSIC_INSTRUCTIONS,
    { mnemonic: 'pushf', op: 0xa0, operands: ['rd'], summary: 'rd = flags, IF, IOPL and CPL, in every ring (never traps)', exec: pushf },
    { mnemonic: 'popf', op: 0xa1, operands: ['rs'], summary: 'flags = rs; IF only when CPL <= IOPL, IOPL only at CPL 0; the rest ignored, never a trap', exec: popf },
    ...systemRegister('sgdt', 'lgdt', GDTR, 0xa2, 'GDTR'),
    ...systemRegister('sidt', 'lidt', IDTR, 0xa4, 'IDTR'),
    ...systemRegister('sldt', 'lldt', LDTR, 0xa6, 'LDTR'),
    ...systemRegister('str', 'ltr', TR, 0xa8, 'TR'),
    ...systemRegister('smsw', 'lmsw', CR0, 0xaa, 'CR0 (the machine status word)'),
    { mnemonic: 'movcs', op: 0xac, operands: ['rd'], summary: "rd = CS's selector, whose RPL (low two bits) is the CPL; never traps", exec: (m, rd) => ((m.regs[rd] = CS_SELECTOR | m.mode), 0) },
  ],
  causes: [],
  controlRegisters: [
    { name: 'gdtr', reset: 0x1000, real: 0x7f000 },
    { name: 'idtr', reset: 0x1800, real: 0x7f800 },
    { name: 'ldtr', reset: 0, real: 0x18 },
    { name: 'tr', reset: 0x20, real: 0x28 },
    { name: 'cr0', reset: 0x1, real: 0x80000001 | 0 },
  ],
  bankedRegisters: [],
  realModeOf: [1, 1, 2, 3],
  realStatusOn: ST_IE,
  realStatusOff: IOPL_MASK,
};
