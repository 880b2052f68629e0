// IBM 360 with a hypothetical unprivileged load-real-address. `lra rd, rs` puts in rd the real
// (physical) address that the virtual address in rs translates to for a read in the current
// mode — base and bounds, or the page walk — or -1 when it does not translate; it never traps.
// The real S/370 LRA is privileged; the seed's point is what happens if it were not: the
// instruction reveals where the machine really put the program (location-sensitive), in every
// mode, so a VMM that relocates its guests cannot hide itself from it (docs/profiles/ibm360.md).

import { Access } from '../../mmu/fault.js';
import { CLASSIC_INSTRUCTIONS } from '../instructions.js';
import type { Profile } from '../profile.js';

export const ibm360: Profile = {
  name: 'ibm360',
  summary: 'classic plus a hypothetical unprivileged LRA (load real address)',
  modes: ['s', 'u'],
  instructions: [
    ...CLASSIC_INSTRUCTIONS,
    {
      mnemonic: 'lra',
      op: 0x81,
      operands: ['rd', 'rs'],
      summary: 'rd = the real address of virtual address rs (a read in the current mode), -1 if it does not translate; traps in no mode',
      exec: (m, rd, rs) => {
        const pa = m.translate(m.regs[rs] >>> 0, 1, Access.Read);
        m.regs[rd] = pa < 0 ? -1 : pa;
        return 0;
      },
    },
  ],
  causes: [],
  controlRegisters: [],
  bankedRegisters: [],
  realModeOf: [1, 1],
};
