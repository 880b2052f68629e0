// The paper's well-behaved machine: two modes, and every instruction that reads or changes
// the resource-control state traps in user mode.

import { CLASSIC_INSTRUCTIONS } from '../instructions.js';
import type { Profile } from '../profile.js';

export const classic: Profile = {
  name: 'classic',
  summary: "the paper's well-behaved two-mode machine",
  modes: ['s', 'u'],
  instructions: CLASSIC_INSTRUCTIONS,
  causes: [],
  controlRegisters: [],
  bankedRegisters: [],
  realModeOf: [1, 1],
};
