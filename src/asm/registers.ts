// Register names: r0..r15, plus sp (r15) and lr (r14), case-insensitive. They are reserved:
// no symbol may be called by one.

import { LINK_REGISTER } from '../isa/instructions.js';

export const STACK_POINTER = 15;

const ALIASES: Readonly<Record<string, number>> = { sp: STACK_POINTER, lr: LINK_REGISTER };

/** The register number `name` denotes, or undefined if it is not a register name. */
export function parseRegister(name: string): number | undefined {
  const n = name.toLowerCase();
  const m = /^r([0-9]|1[0-5])$/.exec(n);
  if (m) return Number(m[1]);
  return Object.hasOwn(ALIASES, n) ? ALIASES[n] : undefined;
}

export function isRegisterName(name: string): boolean {
  return parseRegister(name) !== undefined;
}

/** The canonical name of register `n`. */
export function registerName(n: number): string {
  return `r${n}`;
}
