// The classifier (the Popek–Goldberg definitions, docs/classify.md) on the segment machine: the verdicts the definitions expect of the
// lab's profiles, derived by execution, and checks that turn when the profile or the checker is
// sabotaged.

import { describe, expect, it } from 'vitest';
import { classify, classifyInstruction, DEFAULT_STATES, EXTEND_LIMIT, executeOnce, witnessSample, type Classification, type Comparisons, type InstructionClass } from '../../src/checker/classify/classify.js';
import { controlDifferences, stateDifferences } from '../../src/checker/classify/compare.js';
import { applyPhi } from '../../src/checker/classify/transforms.js';
import { withOverrides, type Profile } from '../../src/isa/profile.js';
import { PROFILES } from '../../src/isa/profiles/index.js';
import { ADDRESS_ERROR } from '../../src/isa/profiles/mips.js';
import { SELECTOR_FAULT } from '../../src/isa/profiles/x86-lite.js';

const profile = (name: string): Profile => PROFILES.get(name)!;
const cache = new Map<string, Classification>();
/** The default classification of a bundled profile (computed once per file). */
function classified(name: string): Classification {
  if (!cache.has(name)) cache.set(name, classify(profile(name)));
  return cache.get(name)!;
}
const of = (c: Classification, name: string): InstructionClass => {
  const i = c.instructions.find((x) => x.name === name);
  if (!i) throw new Error(`no instruction ${name} in ${c.profile}`);
  return i;
};
const names = (c: Classification, pick: (i: InstructionClass) => boolean) => c.instructions.filter(pick).map((i) => i.name);

describe('classic: sensitive ⊆ privileged', () => {
  it('the instructions that trap in user mode are privileged, and no other', () => {
    const c = classified('classic');
    expect(names(c, (i) => i.privileged)).toEqual(['lpsw', 'spsw', 'halt', 'settimer', 'gettimer', 'out', 'setptbr', 'getptbr', 'invlpg', 'tlbflush']);
  });

  it('lpsw, settimer, setptbr are control-sensitive; lpsw and spsw location-sensitive; st and add innocuous', () => {
    const c = classified('classic');
    expect(names(c, (i) => i.controlSensitive)).toEqual(['lpsw', 'settimer', 'setptbr']);
    expect(names(c, (i) => i.locationSensitive)).toEqual(['lpsw', 'spsw']);
    for (const n of ['st', 'add', 'ld', 'jmp', 'svc']) expect(of(c, n).innocuous, n).toBe(true);
    expect(of(c, 'st').witness).toBeNull();
  });

  it('on the segment machine halt, out, gettimer, getptbr, invlpg and tlbflush show no witness: nothing of R or of a φ reaches them without paging', () => {
    const c = classified('classic');
    expect(names(c, (i) => i.privileged && !i.sensitive)).toEqual(['halt', 'gettimer', 'out', 'getptbr', 'invlpg', 'tlbflush']);
  });

  it("both preconditions hold", () => {
    const c = classified('classic');
    expect(c.theorems).toEqual({ t1: { precondition: true, violators: [] }, t3: { precondition: true, violators: [] } });
  });
});

describe('pdp10: JRST 1', () => {
  it('is control-sensitive (it leaves supervisor mode), not privileged, not mode-sensitive, not user-sensitive', () => {
    const j = of(classified('pdp10'), 'jrst');
    expect(j).toMatchObject({ privileged: false, controlSensitive: true, modeSensitive: false, userSensitive: false });
    expect(j.witness?.class).toBe('control');
    expect(j.witness?.mode).toBe('s');
    expect(j.witness?.differences).toEqual([{ component: 'mode', a: 0, b: 1 }]);
    expect(j.evidence.mode).toBeGreaterThan(20);
  });

  it('breaks Theorem 1 alone; Theorem 3 holds', () => {
    expect(classified('pdp10').theorems).toEqual({ t1: { precondition: false, violators: ['jrst'] }, t3: { precondition: true, violators: [] } });
  });
});

describe('x86-lite: the critical instructions', () => {
  const critical = ['pushf', 'popf', 'smsw', 'sgdt', 'sidt', 'sldt', 'str'];

  it('are user-sensitive via control substitution, and not privileged', () => {
    const c = classified('x86-lite');
    for (const n of critical) {
      const i = of(c, n);
      expect(i.privileged, n).toBe(false);
      expect(i.userSensitive, n).toBe(true);
      expect(i.userSensitiveVia, n).toContain('substitution');
      expect(i.witnesses.user?.mode, n).toBe('r3');
    }
    expect(c.theorems.t1.violators).toEqual(expect.arrayContaining(critical));
    expect(c.theorems.t3.violators).toEqual(expect.arrayContaining(critical));
  });

  it('at the defaults, Theorem 1 fails on exactly the critical instructions with a witness: all but the segment loads and jmpf (which differ only by trapping) and int n (svc: a trap stores the PSW unchanged)', () => {
    const c = classified('x86-lite');
    expect(c.theorems.t1.violators).toEqual(['pushf', 'popf', 'sgdt', 'sidt', 'sldt', 'str', 'smsw', 'lar', 'lsl', 'verr', 'verw', 'rdseg', 'pushseg', 'callf', 'retf', 'iret']);
    expect(c.theorems.t3.violators).toEqual(['pushf', 'popf', 'sgdt', 'sidt', 'sldt', 'str', 'smsw']);
    // callf's witness is a far call to the reset table's conforming code segment, pushing CS with the CPL
    const callf = of(c, 'callf').witnesses.mode!;
    expect(callf.mode).toBe('r0');
    expect(callf.differences.some((d) => d.component.startsWith('memory['))).toBe(true);
  });

  it('an instruction that faults in nearly every state gets more of them (retf: a valid return selector on the stack), a system call never', () => {
    const c = classified('x86-lite');
    const retf = of(c, 'retf').evidence;
    expect(retf.states).toBeGreaterThan(DEFAULT_STATES);
    expect(retf.states).toBeLessThanOrEqual(DEFAULT_STATES * EXTEND_LIMIT);
    expect(retf.states === DEFAULT_STATES * EXTEND_LIMIT || retf.untrapped >= DEFAULT_STATES / 8).toBe(true);
    expect(of(c, 'svc').evidence).toMatchObject({ states: DEFAULT_STATES, untrapped: 0 });
    expect(of(c, 'add').evidence.states).toBe(DEFAULT_STATES);
  });

  it("their loads are privileged: each traps outside ring 0", () => {
    const c = classified('x86-lite');
    for (const n of ['lgdt', 'lidt', 'lldt', 'ltr', 'lmsw']) expect(of(c, n).privileged, n).toBe(true);
  });

  it('sgdt shows the VMM\'s GDTR: the witness names the register it read', () => {
    const w = of(classified('x86-lite'), 'sgdt').witnesses.user!;
    expect(w.phi).toEqual({ kind: 'substitution', part: 'control', index: 0 });
    expect(w.differences).toHaveLength(1);
    expect(w.differences[0].component).toMatch(/^regs\.r\d+$/);
    expect(w.differences[0].b).toBe(0x7f000);
  });
});

describe('x86 selectors and x86-vt', () => {
  it('lar, lsl and verr are mode-sensitive: ring 0 sees its DPL-0 segments, real ring 1 answers ZF = 0; not user-sensitive (V changes nothing they read in r3)', () => {
    const c = classified('x86-lite');
    for (const n of ['lar', 'lsl', 'verr']) {
      const i = of(c, n);
      expect(i, n).toMatchObject({ privileged: false, modeSensitive: true, userSensitive: false });
      expect(i.witnesses.mode?.mode, n).toBe('r0');
      expect(i.witnesses.mode?.differences.some((d) => d.component === 'flags'), n).toBe(true);
    }
  });

  it('x86-vt: every critical instruction that never faults in r0 traps in the non-root user ring — privileged; Theorem 3 holds', () => {
    const c = classified('x86-vt');
    for (const n of ['pushf', 'popf', 'sgdt', 'sidt', 'sldt', 'str', 'smsw', 'lar', 'lsl', 'verr', 'verw']) expect(of(c, n).privileged, n).toBe(true);
    expect(c.theorems.t3).toEqual({ precondition: true, violators: [] });
  });

  it("x86-vt: Theorem 1 holds — the far returns leave r0-r2 without a trap (control-sensitive), but trap in v3 and raise no privilege trap in r0: a bad return selector there is a selector fault, memory-like", () => {
    const c = classified('x86-vt');
    expect(c.theorems.t1).toEqual({ precondition: true, violators: [] });
    for (const n of ['retf', 'iret']) {
      const i = of(c, n);
      expect(i, n).toMatchObject({ privileged: true, controlSensitive: true, userSensitive: false });
      expect(['r0', 'r1', 'r2'], n).toContain(i.witnesses.control!.mode);
    }
    // retf's witness returns to an outer ring: the mode changes
    expect(of(c, 'retf').witnesses.control!.differences.some((d) => d.component === 'mode')).toBe(true);
    // the decision matters: among retf's states, some in r0 end in a selector fault
    const p = profile('x86-vt');
    const r0Faults = Array.from({ length: DEFAULT_STATES }, (_, i) => witnessSample(p, 'retf', { sample: i }).state)
      .filter((s) => (s.psw.status & 0xf) === 0)
      .filter((s) => executeOnce(p, s).cause === SELECTOR_FAULT);
    expect(r0Faults.length).toBeGreaterThan(0);
  });

  it('sabotage: with selector faults reported as a non-memory cause (as #GP(0) is), the far returns are not privileged and break Theorem 1 on x86-vt', () => {
    const p = profile('x86-vt');
    const gp: Profile = { ...p, causes: [{ code: SELECTOR_FAULT, name: 'selector', memory: false }] };
    const c = classify(gp);
    expect(c.theorems.t1).toEqual({ precondition: false, violators: ['retf', 'iret'] });
    for (const n of ['retf', 'iret']) expect(of(c, n).notPrivileged, n).toMatchObject({ mode: 'r0', why: 'a privilege trap in the most privileged mode' });
  });
});

describe('arm', () => {
  it('cps is like JRST 1: control-sensitive, not privileged, not user-sensitive (and, with banked registers, mode-sensitive)', () => {
    const cps = of(classified('arm'), 'cps');
    expect(cps).toMatchObject({ privileged: false, controlSensitive: true, userSensitive: false, modeSensitive: true });
    expect(cps.witnesses.mode?.differences.some((d) => /r1[34]$/.test(d.component))).toBe(true);
  });

  it('mrs is sensitive: it reports the deprivileged mode and the VMM\'s interrupt enable', () => {
    const mrs = of(classified('arm'), 'mrs');
    expect(mrs).toMatchObject({ privileged: false, sensitive: true, modeSensitive: true, substitutionSensitive: true });
    expect(classified('arm').theorems.t1.violators).toEqual(expect.arrayContaining(['cps', 'mrs', 'msr']));
  });
});

describe('mips: kernel-segment accesses', () => {
  it('loads and stores are location-sensitive in kernel mode, not user-sensitive, not privileged', () => {
    const c = classified('mips');
    for (const n of ['ld', 'ldb', 'st', 'stb']) {
      const i = of(c, n);
      expect(i, n).toMatchObject({ privileged: false, locationSensitive: true, modeSensitive: false, userSensitive: false });
      expect(i.witnesses.location?.mode, n).toBe('kernel');
    }
    expect(c.theorems).toEqual({ t1: { precondition: false, violators: ['ld', 'ldb', 'st', 'stb'] }, t3: { precondition: true, violators: [] } });
  });

  it("the witness's access traps with an address error in user mode", () => {
    const p = profile('mips');
    const w = of(classified('mips'), 'ld').witnesses.location!;
    const s = classifyInstructionSample(p, 'ld', w.sample);
    const user = { ...s, psw: { ...s.psw, status: (s.psw.status & ~0xf) | 2 } };
    expect(executeOnce(p, user).cause).toBe(ADDRESS_ERROR);
  });
});

describe('ibm360: the unprivileged load-real-address', () => {
  it('is location-sensitive and user-sensitive: both preconditions fail on it alone', () => {
    const c = classified('ibm360');
    const lra = of(c, 'lra');
    expect(lra).toMatchObject({ privileged: false, locationSensitive: true, userSensitive: true, modeSensitive: false });
    expect(lra.userSensitiveVia).toEqual(['location']);
    expect(c.theorems).toEqual({ t1: { precondition: false, violators: ['lra'] }, t3: { precondition: false, violators: ['lra'] } });
  });
});

describe('verdicts follow the semantics: sabotage', () => {
  it('pushf made to trap outside ring 0 becomes privileged, and leaves both lists of violators', () => {
    const p = withOverrides(profile('x86-lite'), [{ mnemonic: 'pushf', trapsIn: ['r1', 'r2', 'r3'] }]);
    const c = classify(p, { states: 60 });
    expect(of(c, 'pushf').privileged).toBe(true);
    const before = classify(profile('x86-lite'), { states: 60 }).theorems;
    expect(c.theorems.t1.violators).toEqual(before.t1.violators.filter((n) => n !== 'pushf'));
    expect(c.theorems.t3.violators).toEqual(before.t3.violators.filter((n) => n !== 'pushf'));
  });

  it('jrst made to trap in user mode only is still not privileged (it runs in s) — a label would not change that', () => {
    const p = withOverrides(profile('pdp10'), [{ mnemonic: 'jrst', trapsIn: ['u'] }]);
    const j = classifyInstruction(p, p.instructions.find((d) => d.mnemonic === 'jrst')!, { states: 60 });
    expect(j.privileged).toBe(true);
    expect(j.controlSensitive).toBe(true);
  });

  it('a comparison of R that skips the mode misses JRST 1', () => {
    const p = profile('pdp10');
    const broken: Comparisons = { state: stateDifferences, control: (a, b, n) => controlDifferences(a, b, n).filter((d) => d.component !== 'mode') };
    const jrst = p.instructions.find((d) => d.mnemonic === 'jrst')!;
    expect(classifyInstruction(p, jrst, { states: 60 }).sensitive).toBe(true);
    expect(classifyInstruction(p, jrst, { states: 60, comparisons: broken }).sensitive).toBe(false);
  });

  it('a whole-state comparison that skips the registers misses LRA and pushf', () => {
    const broken: Comparisons = { control: controlDifferences, state: (a, b, n) => stateDifferences(a, b, n).filter((d) => !d.component.startsWith('regs.')) };
    const lra = profile('ibm360').instructions.find((d) => d.mnemonic === 'lra')!;
    expect(classifyInstruction(profile('ibm360'), lra, { states: 60, comparisons: broken }).locationSensitive).toBe(false);
    const x86 = profile('x86-lite');
    const pushf = x86.instructions.find((d) => d.mnemonic === 'pushf')!;
    expect(classifyInstruction(x86, pushf, { states: 60 }).userSensitive).toBe(true);
    expect(classifyInstruction(x86, pushf, { states: 60, comparisons: broken }).userSensitive).toBe(false);
  });

  it("a comparison that skips the banked registers misses cps's mode-sensitivity", () => {
    const broken: Comparisons = { control: controlDifferences, state: (a, b, n) => stateDifferences(a, b, n).filter((d) => !d.component.startsWith('banks.') && !/^regs\.r1[34]$/.test(d.component)) };
    const arm = profile('arm');
    const cps = arm.instructions.find((d) => d.mnemonic === 'cps')!;
    expect(classifyInstruction(arm, cps, { states: 60, comparisons: broken }).modeSensitive).toBe(false);
  });

  it("φ comes from the profile's V: with IE not forced on and no real GDTR, pushf and sgdt are no longer user-sensitive", () => {
    const x86 = profile('x86-lite');
    const p: Profile = { ...x86, realStatusOn: 0, realStatusOff: 0, controlRegisters: x86.controlRegisters.map(({ real: _real, ...c }) => c) };
    for (const n of ['pushf', 'sgdt', 'smsw']) {
      const d = p.instructions.find((x) => x.mnemonic === n)!;
      expect(classifyInstruction(p, d, { states: 60 }).substitutionSensitive, n).toBe(false);
    }
  });

  it('with realModeOf the identity, nothing is mode-sensitive', () => {
    const arm = profile('arm');
    const p: Profile = { ...arm, realModeOf: arm.modes.map((_, i) => i) };
    for (const n of ['cps', 'mrs', 'stmu']) {
      const d = p.instructions.find((x) => x.mnemonic === n)!;
      expect(classifyInstruction(p, d, { states: 60 }).modeSensitive, n).toBe(false);
    }
  });
});

describe('transformations', () => {
  it('deprivileging trades the banked copies without a status write: the twin sees the kernel\'s r13 in usr', () => {
    const arm = profile('arm');
    const cps = arm.instructions.find((d) => d.mnemonic === 'cps')!;
    const w = classifyInstruction(arm, cps, { states: 60 }).witnesses.mode!;
    const s = classifyInstructionSample(arm, 'cps', w.sample);
    const t = applyPhi(arm, { kind: 'deprivileging' }, s, 'size')!;
    expect(t.psw.status & 0xf).toBe(2);
    expect(t.regs).toEqual(s.regs);
    const mode = s.psw.status & 0xf;
    expect(t.banks.slice(4, 6)).toEqual(s.banks.slice(2 * mode, 2 * mode + 2));
  });

  it('relocation puts the same contents at base + delta in a larger memory, the VMM\'s filler below', () => {
    const p = profile('classic');
    const s = classifyInstructionSample(p, 'st', 0);
    const t = applyPhi(p, { kind: 'relocation', delta: 0x3000 }, s, 'size')!;
    expect(t.psw.base).toBe(s.psw.base + 0x3000);
    expect(t.memory.size).toBe(s.memory.size + 0x3000);
    for (const pa of [0, 0x100, 0x1234, s.memory.size - 4]) expect(t.memory.read32(pa + 0x3000)).toBe(s.memory.read32(pa));
  });
});

/** Random sample `index` of instruction `name` with the default seed. */
function classifyInstructionSample(p: Profile, name: string, index: number) {
  return witnessSample(p, name, { sample: index }).state;
}
