// Every witness replays: S generated again from (profile, seed, instruction, sample), the
// instruction executed on S and on φ(S), and the stated difference observed again.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyInstruction, DEFAULT_STATES, replayWitness, type Witness } from '../../src/checker/classify/classify.js';
import { randomSample } from '../../src/checker/classify/states.js';
import { PROFILES } from '../../src/isa/profiles/index.js';

const RUNS = Number(process.env.SHADOWLAB_RUNS ?? 20);
const SENSITIVE = [
  ['pdp10', 'jrst'],
  ['arm', 'cps'],
  ['arm', 'mrs'],
  ['arm', 'stmu'],
  ['mips', 'ld'],
  ['mips', 'stb'],
  ['ibm360', 'lra'],
  ['x86-lite', 'popf'],
  ['x86-lite', 'smsw'],
  ['classic', 'lpsw'],
  ['classic', 'spsw'],
] as const;

describe('witnesses replay', () => {
  it('for any seed, each witness of a sensitive instruction shows the same differences again', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SENSITIVE), fc.integer({ min: 0, max: 2 ** 32 - 1 }), ([profile, name], seed) => {
        const p = PROFILES.get(profile)!;
        const d = p.instructions.find((x) => x.mnemonic === name)!;
        const c = classifyInstruction(p, d, { seed, states: DEFAULT_STATES });
        const ws = Object.values(c.witnesses).filter((w): w is Witness => w !== null);
        expect(ws.length).toBeGreaterThan(0);
        for (const w of ws) expect(replayWitness(p, name, w, { seed, states: DEFAULT_STATES })).toEqual(w.differences);
        return true;
      }),
      { numRuns: RUNS, seed: 11 },
    );
  });

  it("for any seed, the far returns' witnesses replay, from the states past the first hundred too", () => {
    const p = PROFILES.get('x86-lite')!;
    fc.assert(
      fc.property(fc.constantFrom('retf', 'iret'), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (name, seed) => {
        const c = classifyInstruction(p, p.instructions.find((x) => x.mnemonic === name)!, { seed });
        for (const w of Object.values(c.witnesses).filter((x): x is Witness => x !== null)) expect(replayWitness(p, name, w, { seed })).toEqual(w.differences);
        return true;
      }),
      { numRuns: Math.max(4, RUNS / 4), seed: 12 },
    );
  });

  it('in the exhaustive mode too', () => {
    const p = PROFILES.get('pdp10')!;
    const jrst = p.instructions.find((x) => x.mnemonic === 'jrst')!;
    const c = classifyInstruction(p, jrst, { exhaustive: true });
    expect(c.witnesses.control).not.toBeNull();
    expect(replayWitness(p, 'jrst', c.witnesses.control!, { exhaustive: true })).toEqual(c.witnesses.control!.differences);
  });
});

describe('where the random states lean', () => {
  it('for any seed and profile, at least half the states are in the modes V moves, a quarter in the user mode, and every mode has its share', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PROFILES.keys()), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (name, seed) => {
        const p = PROFILES.get(name)!;
        const d = p.instructions[0];
        const modes = Array.from({ length: DEFAULT_STATES }, (_, i) => randomSample(p, d, seed, i).state.psw.status & 0xf);
        const moved = modes.filter((m) => p.realModeOf[m] !== m).length;
        expect(moved).toBeGreaterThanOrEqual(DEFAULT_STATES / 2);
        expect(modes.filter((m) => m === p.modes.length - 1).length).toBeGreaterThanOrEqual(DEFAULT_STATES / 4);
        for (let m = 0; m < p.modes.length; m++) expect(modes.filter((x) => x === m).length, p.modes[m]).toBeGreaterThanOrEqual(Math.floor(DEFAULT_STATES / 4 / p.modes.length));
        return true;
      }),
      { numRuns: RUNS, seed: 13 },
    );
  });
});
