// Shared helpers for the assembler tests.

import { AsmError, assemble, type AsmOptions, type AsmResult } from '../../src/asm/index.js';
import type { Profile } from '../../src/isa/profile.js';
import { classic } from '../../src/isa/profiles/classic.js';

/** Assembles `source` (classic unless `profile` is given). */
export function asm(source: string, options: Partial<AsmOptions> = {}): AsmResult {
  return assemble(source, { profile: classic, file: 'prog.s', ...options });
}

/** The byte at `address` in the output, or undefined where nothing was emitted. */
export function byteAt(r: AsmResult, address: number): number | undefined {
  for (const c of r.chunks) if (address >= c.address && address < c.address + c.bytes.length) return c.bytes[address - c.address];
  return undefined;
}

/** The little-endian 32-bit word at `address` (every byte must have been emitted). */
export function wordAt(r: AsmResult, address: number): number {
  let w = 0;
  for (let i = 3; i >= 0; i--) {
    const b = byteAt(r, address + i);
    if (b === undefined) throw new Error(`wordAt: nothing at ${(address + i).toString(16)}`);
    w = (w << 8) | b;
  }
  return w >>> 0;
}

/** The two words of the instruction at `address`. */
export function instrAt(r: AsmResult, address: number): [number, number] {
  return [wordAt(r, address), wordAt(r, address + 4)];
}

/** The two words of a one-instruction program. */
export function encode(line: string, profile: Profile = classic): [number, number] {
  return instrAt(asm(line, { profile }), 0);
}

/** The formatted diagnostics of a source that must fail, one string per problem. */
export function errors(source: string, options: Partial<AsmOptions> = {}): string[] {
  try {
    asm(source, options);
  } catch (e) {
    if (e instanceof AsmError) return e.format().split('\n');
    throw e;
  }
  throw new Error('errors: the source assembled');
}
