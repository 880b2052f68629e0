// Guests of unusual sizes: 3 GiB (past the 2 GiB where 32-bit signed arithmetic turns negative)
// and 0x1002 bytes (not a multiple of 4). Each guest is taken from a built machine
// (guestFromMachine, whose image the VMM copies into its allocation) and checked against an
// independent bare run of the same machine, built again and never copied.

import { describe, expect, it } from 'vitest';
import { assemble } from '../../src/asm/index.js';
import { Machine } from '../../src/isa/machine.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { runMachine } from '../../src/isa/run.js';
import { compareViews, virtualView } from '../../src/isa/snapshot.js';
import { guestFromMachine } from '../../src/vmm/guest.js';
import { runGuest } from '../../src/vmm/run.js';
import { expectEquivalentAndSafe } from './helpers.js';

/** A machine of `size` bytes with `source` assembled at physical 0 and `data` bytes placed, booted at 0x80. */
function built(size: number, source: string, data: readonly [number, readonly number[]][]): Machine {
  const m = new Machine({ profile: classic, memorySize: size });
  for (const c of assemble(source, { profile: classic, file: 'sizes.s' }).chunks) m.mem.writeBytes(c.address, c.bytes);
  for (const [at, bytes] of data) m.mem.writeBytes(at, bytes);
  m.loadPsw({ pc: 0x80, status: 0, base: 0, limit: Math.min(size, 0xffffffff), ptbr: 0, extra: 0 });
  return m;
}

const cases = [
  {
    name: '3 GiB',
    size: 3 * 2 ** 30,
    // reads a word above 2 GiB and the very last byte, prints both, stores, halts
    source: `.org 0x80
        ld   r1, 0xb0000000
        out  r1, 1
        li   r3, 0xbfffffff
        ldb  r2, 0(r3)
        out  r2, 1
        st   r1, 0x100
        halt`,
    data: [
      [0xb000_0000, [0x2a, 0, 0, 0]],
      [3 * 2 ** 30 - 1, [0x63]],
    ] as [number, number[]][],
    console: '4299',
  },
  {
    name: '0x1002 bytes',
    size: 0x1002,
    source: `.org 0x80
        ldb  r1, 0x1001
        out  r1, 1
        ldb  r2, 0x1000
        out  r2, 1
        halt`,
    data: [[0x1000, [7, 9]]] as [number, number[]][],
    console: '97',
  },
];

describe('guests of unusual sizes are loaded whole', () => {
  for (const c of cases) {
    it(`${c.name}: every VMM agrees with an independent bare run of the machine`, () => {
      const reference = runMachine(built(c.size, c.source, c.data), 100);
      expect(reference.end).toBe('halted');
      expect(reference.final.console).toBe(c.console);
      const guest = guestFromMachine(c.name, built(c.size, c.source, c.data), 100);
      for (const kind of ['bare', 'vmm', 'hvm', 'vmm2'] as const) {
        const r = runGuest(kind, guest);
        expect(r.end, kind).toBe('halted');
        expect(compareViews(virtualView(r.final), virtualView(reference.final)), kind).toBeUndefined();
        if (kind !== 'bare') expectEquivalentAndSafe(r);
      }
    });
  }
});
