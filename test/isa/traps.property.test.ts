// Every trap stores the exact old PSW in MEM[1] and loads MEM[0], for random programs in both
// modes, with the timer running.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Cause } from '../../src/isa/arch.js';
import { isFaultCause, type Psw, type TrapEvent } from '../../src/isa/machine.js';
import { newPsw, oldPsw, trapRecord } from './helpers.js';
import { guestMachine, guestRun, RESUMING_KERNEL } from './programs.js';

describe('trap entry under random programs', () => {
  it('MEM[1] holds the PSW before the step (pc = the instruction for faults, the next one for svc); the new PSW is MEM[0]', () => {
    const seen = new Map<number, number>();
    fc.assert(
      fc.property(guestRun({ minBase: 0x400, modes: [0, 1], selfModifying: true }), fc.boolean(), (g, tracing) => {
        const m = guestMachine(RESUMING_KERNEL, g);
        m.tracing = tracing;
        let before: Psw = m.psw();
        let delivered: TrapEvent | undefined;
        let problem: string | undefined;
        m.onTrap = (t) => {
          delivered = t;
          if (t.doubleFault) return;
          const expectedPc = isFaultCause(t.cause) || t.cause === Cause.Timer ? before.pc : (before.pc + 8) >>> 0;
          const stored = oldPsw(m);
          const want = { ...before, pc: expectedPc, pad: [0, 0] };
          if (JSON.stringify(stored) !== JSON.stringify(want)) problem = `cause ${t.cause}: MEM[1] = ${JSON.stringify(stored)}, expected ${JSON.stringify(want)}`;
          const { pad: _, ...loaded } = newPsw(m);
          if (JSON.stringify(m.psw()) !== JSON.stringify(loaded)) problem = `cause ${t.cause}: PSW ${JSON.stringify(m.psw())} is not MEM[0] ${JSON.stringify(loaded)}`;
          const rec = trapRecord(m);
          if (rec.cause !== t.cause || rec.vaddr !== t.vaddr || rec.error !== t.error || rec.detail !== t.detail) problem = `trap record ${JSON.stringify(rec)} vs event ${JSON.stringify(t)}`;
          if (t.savedPc !== expectedPc) problem = `event savedPc ${t.savedPc} vs ${expectedPc}`;
          seen.set(t.cause, (seen.get(t.cause) ?? 0) + 1);
        };
        for (let i = 0; i < 300 && m.running; i++) {
          before = m.psw();
          delivered = undefined;
          m.step();
          if (problem) throw new Error(problem);
          const t = delivered as TrapEvent | undefined; // set by onTrap during the step
          if (t && !t.doubleFault && isFaultCause(t.cause)) expect(m.retired).toBe(t.retired); // a fault retires nothing
        }
      }),
      { seed: 0x7a1, numRuns: 250 },
    );
    // the generator reaches every core cause but page faults (no paging here)
    for (const c of [Cause.Privileged, Cause.Illegal, Cause.Bounds, Cause.Svc, Cause.Timer, Cause.Alignment]) expect(seen.get(c) ?? 0, `cause ${c}`).toBeGreaterThan(10);
  });
});
