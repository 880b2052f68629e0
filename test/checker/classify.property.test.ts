// Every witness replays: S generated again from (profile, seed, instruction, sample), the
// instruction executed on S and on φ(S), and the stated difference observed again.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyInstruction, DEFAULT_STATES, replayWitness, type Witness } from '../../src/checker/classify/classify.js';
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

  it('in the exhaustive mode too', () => {
    const p = PROFILES.get('pdp10')!;
    const jrst = p.instructions.find((x) => x.mnemonic === 'jrst')!;
    const c = classifyInstruction(p, jrst, { exhaustive: true });
    expect(c.witnesses.control).not.toBeNull();
    expect(replayWitness(p, 'jrst', c.witnesses.control!, { exhaustive: true })).toEqual(c.witnesses.control!.differences);
  });
});
