// The step loop runs blocks of instructions between timer deadlines; single-stepping must reach
// the very same state. Programs here switch interrupts on and off with lpsw while ticks fall due
// (held pending while IE is clear), reprogram the timer and make system calls — the places where
// a block could run on past a tick that stepping delivers first.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Machine } from '../../src/isa/machine.js';
import { compareViews, snapshot, virtualView } from '../../src/isa/snapshot.js';
import { boot } from './helpers.js';
import { RESUMING_KERNEL } from './programs.js';

/** One line of the program (index i labels what follows an lpsw), with its PSW image if any. */
function line(): fc.Arbitrary<(i: number) => { code: string; data?: string }> {
  const plain = (s: fc.Arbitrary<string>) => s.map((code) => () => ({ code }));
  return fc.oneof(
    { weight: 5, arbitrary: plain(fc.tuple(fc.integer({ min: 3, max: 6 }), fc.integer({ min: -3, max: 9 })).map(([r, k]) => `addi r${r}, r${r}, ${k}`)) },
    { weight: 2, arbitrary: plain(fc.constantFrom('nop', 'svc 4', 'gettimer r5', 'st r3, 0x3f0', 'ld r4, 0x3f0')) },
    { weight: 2, arbitrary: plain(fc.integer({ min: 0, max: 5 }).map((n) => `li r6, ${n}\n        settimer r6`)) },
    {
      weight: 3,
      arbitrary: fc.tuple(fc.boolean(), fc.constantFrom('s', 's', 'u')).map(([ie, mode]) => (i: number) => ({
        code: `lpsw p${i}\nl${i}:`,
        data: `p${i}: .psw pc=l${i}, mode=${mode}, ie=${ie ? 1 : 0}, base=0, limit=MEM`,
      })),
    },
  );
}

/** A kernel-mode program (interrupts off at first) under RESUMING_KERNEL, as source text. */
const programs = fc.array(line(), { minLength: 4, maxLength: 30 }).map((ls) => {
  const parts = ls.map((f, i) => f(i));
  return [
    RESUMING_KERNEL,
    '        .org 0x400',
    'start:',
    ...parts.map((p) => `        ${p.code}`),
    '        halt',
    '        .align 4',
    ...parts.flatMap((p) => (p.data ? [`        ${p.data}`] : [])),
  ].join('\n');
});

/** Steps `m` one instruction or trap at a time up to `budget` retired, then takes a pending tick as run's loop top does. */
function stepRun(m: Machine, budget: number): void {
  const stop = m.retired + budget;
  while (m.running && m.retired < stop) m.run(stop - m.retired, true);
  m.run(0);
}

describe('blocks and single steps', () => {
  it('a block run and a single-stepped run of the same program end in the same state', () => {
    fc.assert(
      fc.property(programs, fc.integer({ min: 1, max: 400 }), (source, budget) => {
        const block = boot(source, { psw: { pc: 0x400 }, symbols: { MAXTRAPS: 40 } });
        const stepped = boot(source, { psw: { pc: 0x400 }, symbols: { MAXTRAPS: 40 } });
        block.run(budget);
        stepRun(stepped, budget);
        const [a, b] = [snapshot(block), snapshot(stepped)];
        expect(compareViews(virtualView(a), virtualView(b))).toBeUndefined();
        expect([a.retired, a.trapCounts, a.status]).toEqual([b.retired, b.trapCounts, b.status]);
      }),
      { seed: 0xb10c, numRuns: 300 },
    );
  });

  it('an lpsw that sets IE with a tick pending ends the block: the tick is taken before the next instruction', () => {
    const source = `${RESUMING_KERNEL}
        .org 0x400
start:  li       r6, 2
        settimer r6
        nop
        nop                      ; the tick falls due here; IE is off, so it waits
        lpsw     on
back:   addi     r3, r3, 1       ; must not run before the tick
        halt
        .align 4
on:     .psw     pc=back, mode=s, ie=1, base=0, limit=MEM
`;
    const m = boot(source, { psw: { pc: 0x400 }, symbols: { MAXTRAPS: 40 } });
    const retiredAtTick: number[] = [];
    m.onTrap = (t) => retiredAtTick.push(t.retired);
    m.run(6);
    expect(retiredAtTick[0]).toBe(5); // li, settimer, nop, nop, lpsw
    expect(m.regs[3]).toBe(0);
  });
});
