// The real machine's profile and Theorem 1's precondition, decided by executing instructions.

import { describe, expect, it } from 'vitest';
import { withOverrides, type Profile } from '../../src/isa/profile.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { pdp10 } from '../../src/isa/profiles/pdp10.js';
import { ST_MODE_MASK } from '../../src/isa/arch.js';
import { hardwareProblem, realModeEscapes, realProfile } from '../../src/vmm/hardware.js';

const unprivileged = (...mnemonics: string[]) => withOverrides(classic, mnemonics.map((mnemonic) => ({ mnemonic, trapsIn: [] })));

describe('realModeEscapes: instructions that change R in user mode without trapping', () => {
  it('finds none in the classic and pdp10 profiles (jrst 1 in user mode stays in user mode)', () => {
    expect(realModeEscapes(classic)).toEqual([]);
    expect(realModeEscapes(pdp10)).toEqual([]);
  });

  it('finds lpsw, settimer and setptbr made unprivileged, each with the part of R it changed and a witness', () => {
    const found = realModeEscapes(unprivileged('lpsw', 'settimer', 'setptbr'));
    expect(found.map((e) => e.mnemonic).sort()).toEqual(['lpsw', 'setptbr', 'settimer']);
    const byName = new Map(found.map((e) => [e.mnemonic, e]));
    expect(byName.get('lpsw')!).toMatchObject({ field: 'mode', before: 1, after: 0 }); // of all trials, the most telling change
    expect(byName.get('settimer')!.field).toBe('timer.reload');
    expect(byName.get('setptbr')!.field).toBe('ptbr');
    for (const e of found) {
      expect(e.realMode).toBe(1);
      expect(e.witness.psw.status & ST_MODE_MASK).toBe(1);
      expect(e.before).not.toEqual(e.after);
    }
  });

  it('does not count instructions that leave R alone: out, halt, spsw, gettimer made unprivileged', () => {
    expect(realModeEscapes(unprivileged('out', 'halt', 'spsw', 'gettimer', 'tlbflush', 'invlpg'))).toEqual([]);
  });

  it('sees a profile instruction by what it does, whatever it is called', () => {
    const sneaky: Profile = {
      ...classic,
      name: 'sneaky',
      instructions: [
        ...classic.instructions,
        { mnemonic: 'frob', op: 0x90, operands: ['rs'], summary: 'looks harmless; sets the base', exec: (m, _rd, rs) => { m.loadPsw({ ...m.psw(), base: m.regs[rs] >>> 0, pc: m.nextPc }); return 0; } },
      ],
    };
    const [e] = realModeEscapes(sneaky);
    expect(e).toMatchObject({ mnemonic: 'frob', field: 'base' });
  });
});

describe('the real machine of several VMs', () => {
  it('traps an instruction wherever any VM’s profile traps it, and is the profile itself when they agree', () => {
    const leaky = unprivileged('out');
    expect(realProfile([classic, classic])).toBe(classic);
    const real = realProfile([leaky, classic]);
    expect(real.instructions.find((d) => d.mnemonic === 'out')!.trapsIn).toEqual(['u']);
    expect(realModeEscapes(realProfile([unprivileged('lpsw'), classic]))).toEqual([]);
  });

  it('refuses different instruction sets on one machine', () => {
    expect(hardwareProblem([classic, withOverrides(classic, [{ mnemonic: 'out', trapsIn: [] }])])).toBeUndefined();
    expect(hardwareProblem([classic, pdp10])).toMatch(/different machines/);
  });
});
