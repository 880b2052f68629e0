// ARMv7-like: three modes — svc, irq (privileged) and usr — with r13 and r14 banked per mode, and
// the instructions that make ARM break Popek and Goldberg's Theorem 1: they behave differently
// in user mode without trapping there (docs/profiles/arm.md).
//
//   cps n      change mode to n (privileged modes); in usr a no-op — no trap
//   mrs rd     rd = the status word (CPSR: mode, interrupt enable, flags), in every mode
//   msr rs     status word = rs: flags always; interrupt enable and mode only in privileged
//              modes — in usr those bits are ignored, without a trap
//   ldrt rd, rs  load the word at rs with usr's permissions, whatever the mode
//   stmu rs    store usr's r13 and r14 (its bank) at rs and rs + 4 — from a privileged mode
//              the usr copies, from usr its own visible ones (ARM's `stm rs, {r13, r14}^`)
//
// The lab's trap architecture stores the old PSW in MEM[1] and `lpsw` returns from a trap, so
// there is no SPSR, and `rfe`, `srs` and the flag-setting data-processing return to pc are not
// modelled; the classic privileged instructions trap in usr only.

import { Cause, ST_FLAGS_MASK, ST_IE, ST_MODE_MASK } from '../arch.js';
import { CLASSIC_INSTRUCTIONS } from '../instructions.js';
import type { ProfileCpu } from '../cpu.js';
import type { Profile } from '../profile.js';
import { Access, accessError, memFault } from '../../mmu/fault.js';

const USR = 2;
const BANKED = [13, 14];

/** Whether `m` runs in a privileged mode (svc or irq). */
const privileged = (m: ProfileCpu) => m.mode !== USR;

/** The status word with the mode changed to `mode` (banks swapped by setStatus). */
const withMode = (status: number, mode: number) => (status & ~ST_MODE_MASK) | mode;

/**
 * Translates the word access at `va` in the current mode, or with usr's page permissions
 * (`asUser`); the physical address, or -1 with the fault set (an unaligned word: alignment).
 */
function translateWord(m: ProfileCpu, va: number, access: Access, asUser: boolean): number {
  const user = asUser || !privileged(m);
  if ((va & 3) !== 0) {
    m.fault = memFault('alignment', va, accessError(access, user));
    return -1;
  }
  if (!asUser) return m.translate(va, 4, access);
  const saved = m.pagingMode;
  m.pagingMode = USR;
  try {
    return m.translate(va, 4, access);
  } finally {
    m.pagingMode = saved;
  }
}

/** usr's copy of banked register `j` (0: r13, 1: r14): its bank from a privileged mode, the visible register in usr. */
const userCopy = (m: ProfileCpu, j: number) => (privileged(m) ? m.banks[USR * BANKED.length + j] : m.regs[BANKED[j]]);

export const arm: Profile = {
  name: 'arm',
  summary: 'ARMv7-like: svc, irq and usr modes, r13/r14 banked per mode, and cps, mrs, msr, ldrt, stm^ that behave differently in usr without trapping',
  modes: ['svc', 'irq', 'usr'],
  instructions: [
    // svc and irq are both privileged: the classic privileged instructions trap in usr only
    ...CLASSIC_INSTRUCTIONS.map((d) => (d.supervisorOnly ? { ...d, supervisorOnly: false, trapsIn: ['usr'] } : d)),
    {
      mnemonic: 'cps',
      op: 0x82,
      operands: ['n4'],
      summary: 'privileged modes: mode = n (r13, r14 switch banks); usr: nothing, and no trap',
      exec: (m, n) => {
        if (privileged(m) && n <= m.userMode) m.setStatus(withMode(m.status, n));
        else if (privileged(m)) return Cause.Illegal;
        return 0;
      },
    },
    {
      mnemonic: 'mrs',
      op: 0x83,
      operands: ['rd'],
      summary: 'rd = the status word (mode, interrupt enable, flags) in every mode; never traps',
      exec: (m, rd) => {
        m.regs[rd] = m.status & (ST_MODE_MASK | ST_IE | ST_FLAGS_MASK);
        return 0;
      },
    },
    {
      mnemonic: 'msr',
      op: 0x84,
      operands: ['rs'],
      summary: 'status word = rs: the flags in every mode; interrupt enable and mode in privileged modes only (ignored in usr, no trap)',
      exec: (m, _rd, rs) => {
        const v = m.regs[rs];
        if (privileged(m) && (v & ST_MODE_MASK) > m.userMode) return Cause.Illegal;
        const take = privileged(m) ? ST_MODE_MASK | ST_IE | ST_FLAGS_MASK : ST_FLAGS_MASK;
        m.setStatus((m.status & ~take) | (v & take));
        return 0;
      },
    },
    {
      mnemonic: 'ldrt',
      op: 0x85,
      operands: ['rd', 'rs'],
      summary: "rd = the word at rs, translated with usr's permissions in every mode",
      exec: (m, rd, rs) => {
        const pa = translateWord(m, m.regs[rs] >>> 0, Access.Read, true);
        if (pa < 0) return m.faultCause();
        m.regs[rd] = m.load32(pa);
        return 0;
      },
    },
    {
      mnemonic: 'stmu',
      op: 0x86,
      operands: ['rs'],
      summary: "store usr's r13 and r14 at rs and rs + 4 (from a privileged mode its bank, in usr the visible ones)",
      exec: (m, _rd, rs) => {
        const va = m.regs[rs] >>> 0;
        for (let j = 0; j < BANKED.length; j++) {
          const pa = translateWord(m, (va + 4 * j) >>> 0, Access.Write, false);
          if (pa < 0) return m.faultCause();
          m.store32(pa, userCopy(m, j));
        }
        return 0;
      },
    },
  ],
  causes: [],
  controlRegisters: [],
  bankedRegisters: BANKED,
  realModeOf: [USR, USR, USR],
};
