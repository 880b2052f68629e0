// PDP-10: classic plus JRST. `jrst 1, target` jumps and, with bit 0 of its accumulator field
// set, returns to user mode — without trapping in supervisor mode, and harmlessly in user mode.

import { CLASSIC_INSTRUCTIONS } from '../instructions.js';
import type { Profile } from '../profile.js';
import { ST_MODE_MASK } from '../arch.js';

export const pdp10: Profile = {
  name: 'pdp10',
  summary: 'classic plus the unprivileged JRST 1 (jump and return to user mode)',
  modes: ['s', 'u'],
  instructions: [
    ...CLASSIC_INSTRUCTIONS,
    {
      mnemonic: 'jrst',
      op: 0x80,
      operands: ['n4', 'target'],
      summary: 'pc = target; if bit 0 of the field is set, mode = user (not privileged)',
      exec: (m, rd, _rs, _rt, imm) => {
        m.nextPc = imm >>> 0;
        if (rd & 1) m.setStatus((m.status & ~ST_MODE_MASK) | m.userMode);
        return 0;
      },
    },
  ],
  causes: [],
  controlRegisters: [],
  bankedRegisters: [],
  realModeOf: [1, 1],
};
