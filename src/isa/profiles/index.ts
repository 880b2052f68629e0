// The profiles the lab ships, by name.

import type { Profile } from '../profile.js';
import { arm } from './arm.js';
import { classic } from './classic.js';
import { ibm360 } from './ibm360.js';
import { mips } from './mips.js';
import { pdp10 } from './pdp10.js';
import { x86lite, x86vt } from './x86-lite.js';

export const PROFILES: ReadonlyMap<string, Profile> = new Map([classic, pdp10, ibm360, mips, arm, x86lite, x86vt].map((p) => [p.name, p]));

/** The profile called `name`, or undefined. */
export function profileByName(name: string): Profile | undefined {
  return PROFILES.get(name);
}
