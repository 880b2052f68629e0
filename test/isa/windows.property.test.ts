// The CPU's translation windows (mmu/window.ts) are a cache: with them (tracing off) and
// without them (tracing on) every program must behave identically — also programs that store
// into their own code, and runs in which snapshots close the memory epoch in between.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareRuns, type MachineSnapshot } from '../../src/isa/snapshot.js';
import { boot, HALT_KERNEL, USER } from './helpers.js';
import { guestMachine, guestRun, RESUMING_KERNEL, runChunks, type GuestRun } from './programs.js';

/** Runs `g` (tracing: windows off) in chunks of `chunks[i]` retired instructions, snapshotting where `snap[i]` says. */
function runGuestChunks(g: GuestRun, tracing: boolean, chunks: readonly number[], snap: readonly boolean[], hostOffset?: number, trapSwitchesAddressSpace = true): MachineSnapshot[] {
  const m = guestMachine(RESUMING_KERNEL, g, { trapSwitchesAddressSpace }, hostOffset);
  m.tracing = tracing;
  return runChunks(m, chunks, snap);
}

describe('translation windows are invisible', () => {
  it('random programs (self-modifying included) end in identical virtual views with windows on and off', () => {
    fc.assert(
      fc.property(
        guestRun({ minBase: 0x400, modes: [0, USER], selfModifying: true }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 16 }),
        fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
        fc.boolean(),
        (g, chunks, snap, switches) => {
          // switches = false: the handler runs inside the program's segment (whatever is there)
          const traced = runGuestChunks(g, true, chunks, snap, undefined, switches);
          const windowed = runGuestChunks(g, false, chunks, snap, undefined, switches);
          const d = compareRuns(traced, windowed);
          expect(d && { field: d.field, a: d.a, b: d.b, retired: d.retired }).toBeUndefined();
        },
      ),
      { seed: 0x3d0, numRuns: 400 },
    );
  });

  it('... also when the machine runs on a window at an offset into a larger host memory', () => {
    fc.assert(
      fc.property(
        guestRun({ minBase: 0x400, modes: [0, USER], selfModifying: true }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        fc.constantFrom(0x1000, 0x1004, 0x2ffc, 0x3ff8, 0x802),
        (g, chunks, snap, offset) => {
          const traced = runGuestChunks(g, true, chunks, snap, offset);
          const windowed = runGuestChunks(g, false, chunks, snap, offset);
          const plain = runGuestChunks(g, true, chunks, snap);
          for (const other of [windowed, plain]) {
            const d = compareRuns(traced, other);
            expect(d && { field: d.field, a: d.a, b: d.b, retired: d.retired }).toBeUndefined();
          }
        },
      ),
      { seed: 0x3d1, numRuns: 200 },
    );
  });

  it('an instruction straddling a 4 KiB frame boundary (base = 4 mod 8) executes whole', () => {
    // user va 0xff8 → physical 0x1004 + 0xff8 = 0x1ffc: header in one frame, immediate in the next
    for (const tracing of [true, false]) {
      const m = boot(HALT_KERNEL, { psw: { pc: 0xfe0, status: USER, base: 0x1004, limit: 0x2000 } });
      m.tracing = tracing;
      const words = [ // li r1, 7; li r2, 9; li r3, 0x12345678; li r4, 0x55; svc 0
        [0x20 | (1 << 8), 7],
        [0x20 | (2 << 8), 9],
        [0x20 | (3 << 8), 0x12345678],
        [0x20 | (4 << 8), 0x55],
        [0x50, 0],
      ];
      words.forEach(([h, i], k) => {
        m.mem.write32(0x1004 + 0xfe0 + 8 * k, h);
        m.mem.write32(0x1004 + 0xfe0 + 8 * k + 4, i);
      });
      m.run(100);
      expect(Array.from(m.regs.slice(1, 5)), `tracing ${tracing}`).toEqual([7, 9, 0x12345678, 0x55]);
    }
  });
});
