// ARMv7-like: three modes — svc, irq (privileged) and usr — with r13 and r14 banked per mode, and
// the instructions that make ARM break Popek and Goldberg's Theorem 1: they behave differently
// in user mode without trapping there (docs/profiles/arm.md).
//
//   cps n      change mode to n (privileged modes); in usr a no-op — no trap
//   mrs rd     rd = the status word (CPSR: mode, interrupt enable, flags), in every mode
//   msr rs     status word = rs: flags always; interrupt enable and mode only in privileged
//              modes — in usr those bits are ignored, without a trap
//   ldrt rd, rs  load the word at rs with usr's permissions, whatever the mode
//   strt rd, rs  store rd at rs with usr's permissions, whatever the mode
//   stmu rs    store usr's r13 and r14 (its bank) at rs and rs + 4 — from a privileged mode
//              the usr copies, from usr its own visible ones (ARM's `stm rs, {r13, r14}^`)
//   ldmu rs    load usr's r13 and r14 from rs and rs + 4 (ARM's `ldm rs, {r13, r14}^`)
//   mrss rd    rd = the current mode's SPSR (in usr, which has none: 0)
//   msrs rs    the current mode's SPSR = rs (in usr: ignored)
//   movspc rs  exception return, ARM's `movs pc, rs`: pc = rs and the status word = SPSR; in usr
//              (no SPSR) pc = rs alone
//   rfe rs     return from exception: pc = word at rs, status word = word at rs + 4 (in usr: its
//              flags only)
//   srs rs     store r14 and the SPSR at rs and rs + 4 (in usr: r14 and 0)
//
// Each privileged mode has an SPSR (control registers spsr_svc, spsr_irq): a trap saves the status
// word it leaves there, as an ARM exception does, besides the lab's MEM[1]. ARMv7-A leaves the
// SPSR instructions, rfe and srs UNPREDICTABLE in User mode; the lab picks the silent behaviours
// above (no trap), which is what makes them a problem for a VMM. The classic privileged
// instructions trap in usr only.

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

/** The SPSRs, in Profile.controlRegisters order: spsr_svc, spsr_irq (usr has none). */
export const SPSR = [0, 1];

/** The current mode's SPSR index, or -1 in usr. */
const spsrOf = (m: ProfileCpu) => (privileged(m) ? SPSR[m.mode] : -1);

/**
 * Loads status word `v` as an exception return does: flags, interrupt enable and mode from a
 * privileged mode (a mode that is not one: illegal instruction), the flags alone in usr. 0, or the cause.
 */
function returnStatus(m: ProfileCpu, v: number): number {
  if (privileged(m) && (v & ST_MODE_MASK) > m.userMode) return Cause.Illegal;
  const take = privileged(m) ? ST_MODE_MASK | ST_IE | ST_FLAGS_MASK : ST_FLAGS_MASK;
  m.setStatus((m.status & ~take) | (v & take));
  return 0;
}

/** Stores `words` at the word-aligned address `va` on (each translated in the current mode); 0, or the fault's cause. */
function storeWords(m: ProfileCpu, va: number, words: readonly number[]): number {
  const pas: number[] = [];
  for (let j = 0; j < words.length; j++) {
    const pa = translateWord(m, (va + 4 * j) >>> 0, Access.Write, false);
    if (pa < 0) return m.faultCause();
    pas.push(pa);
  }
  pas.forEach((pa, j) => m.store32(pa, words[j]));
  return 0;
}

/** Reads `n` words at `va` on into `out` (each translated in the current mode); 0, or the fault's cause. */
function loadWords(m: ProfileCpu, va: number, n: number, out: number[]): number {
  for (let j = 0; j < n; j++) {
    const pa = translateWord(m, (va + 4 * j) >>> 0, Access.Read, false);
    if (pa < 0) return m.faultCause();
    out[j] = m.load32(pa);
  }
  return 0;
}

export const arm: Profile = {
  name: 'arm',
  summary: 'ARMv7-like: svc, irq and usr modes, r13/r14 banked per mode, SPSRs, and cps, mrs, msr, SPSR moves, movs pc, rfe, srs, ldrt, strt, ldm^/stm^ that behave differently in usr without trapping',
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
      exec: (m, _rd, rs) => returnStatus(m, m.regs[rs]),
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
      exec: (m, _rd, rs) => storeWords(m, m.regs[rs] >>> 0, BANKED.map((_, j) => userCopy(m, j))),
    },
    {
      mnemonic: 'ldmu',
      op: 0x87,
      operands: ['rs'],
      summary: "load usr's r13 and r14 from rs and rs + 4 (from a privileged mode into its bank, in usr the visible ones)",
      exec: (m, _rd, rs) => {
        const w: number[] = [];
        const cause = loadWords(m, m.regs[rs] >>> 0, BANKED.length, w);
        if (cause !== 0) return cause;
        BANKED.forEach((r, j) => {
          if (privileged(m)) m.banks[USR * BANKED.length + j] = w[j];
          else m.regs[r] = w[j];
        });
        return 0;
      },
    },
    {
      mnemonic: 'strt',
      op: 0x88,
      operands: ['rd', 'rs'],
      summary: "store rd at rs, translated with usr's permissions in every mode",
      exec: (m, rd, rs) => {
        const pa = translateWord(m, m.regs[rs] >>> 0, Access.Write, true);
        if (pa < 0) return m.faultCause();
        m.store32(pa, m.regs[rd]);
        return 0;
      },
    },
    {
      mnemonic: 'mrss',
      op: 0x89,
      operands: ['rd'],
      summary: "rd = the current mode's SPSR (usr has none: 0); never traps",
      exec: (m, rd) => ((m.regs[rd] = spsrOf(m) < 0 ? 0 : m.control[spsrOf(m)]), 0),
    },
    {
      mnemonic: 'msrs',
      op: 0x8a,
      operands: ['rs'],
      summary: "the current mode's SPSR = rs (ignored in usr, no trap)",
      exec: (m, _rd, rs) => {
        if (spsrOf(m) >= 0) m.control[spsrOf(m)] = m.regs[rs];
        return 0;
      },
    },
    {
      mnemonic: 'movspc',
      op: 0x8b,
      operands: ['rs'],
      summary: "exception return (movs pc, rs): pc = rs and the status word = the SPSR; in usr pc = rs alone, no trap",
      exec: (m, _rd, rs) => {
        const cause = spsrOf(m) < 0 ? 0 : returnStatus(m, m.control[spsrOf(m)]);
        if (cause === 0) m.nextPc = m.regs[rs] >>> 0;
        return cause;
      },
    },
    {
      mnemonic: 'rfe',
      op: 0x8c,
      operands: ['rs'],
      summary: 'return from exception: pc = word at rs, status word = word at rs + 4 (in usr its flags only, no trap)',
      exec: (m, _rd, rs) => {
        const w: number[] = [];
        const cause = loadWords(m, m.regs[rs] >>> 0, 2, w) || returnStatus(m, w[1]);
        if (cause === 0) m.nextPc = w[0] >>> 0;
        return cause;
      },
    },
    {
      mnemonic: 'srs',
      op: 0x8d,
      operands: ['rs'],
      summary: 'store r14 and the SPSR at rs and rs + 4 (in usr: r14 and 0)',
      exec: (m, _rd, rs) => storeWords(m, m.regs[rs] >>> 0, [m.regs[14], spsrOf(m) < 0 ? 0 : m.control[spsrOf(m)]]),
    },
  ],
  causes: [],
  controlRegisters: [
    { name: 'spsr_svc', reset: 0, trapWritten: true },
    { name: 'spsr_irq', reset: 0, trapWritten: true },
  ],
  onTrap: (m, oldStatus) => {
    if (privileged(m)) m.control[SPSR[m.mode]] = oldStatus;
  },
  bankedRegisters: BANKED,
  realModeOf: [USR, USR, USR],
};
