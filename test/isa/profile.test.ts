// Profiles as data: the pdp10's JRST 1, overrides, and the compiled dispatch tables.

import { describe, expect, it } from 'vitest';
import { Cause, ST_IE, ST_MODE_MASK, ST_PG } from '../../src/isa/arch.js';
import { CLASSIC_INSTRUCTIONS, Op } from '../../src/isa/instructions.js';
import type { TrapEvent } from '../../src/isa/machine.js';
import { compileProfile, OP_UNDEFINED, withOverrides, type Profile } from '../../src/isa/profile.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { pdp10 } from '../../src/isa/profiles/pdp10.js';
import { ibm360 } from '../../src/isa/profiles/ibm360.js';
import { at, boot, bootPaged, bootUser, HALT_KERNEL, oldPsw, trapRecord, USER } from './helpers.js';

function traced(m: ReturnType<typeof boot>): TrapEvent[] {
  const traps: TrapEvent[] = [];
  m.onTrap = (t) => traps.push(t);
  return traps;
}

describe('pdp10: jrst', () => {
  it('jrst 1, t in supervisor mode jumps to t in user mode without trapping', () => {
    const m = boot(
      `${HALT_KERNEL}
start:  jrst 1, there
        .org 0x400
there:  li   r1, 7
        svc  2
`,
      { profile: pdp10, psw: { status: ST_IE | (6 << 24) } },
    );
    const traps = traced(m);
    m.step();
    expect(traps).toEqual([]);
    expect(m.pc).toBe(at(m, 'there'));
    expect(m.mode).toBe(1);
    expect(m.status).toBe(USER | ST_IE | (6 << 24)); // only the mode changed
    expect([m.base, m.limit]).toEqual([0, m.mem.size]);
    m.run(10);
    expect(m.regs[1]).toBe(7);
    expect(oldPsw(m)).toMatchObject({ status: USER | ST_IE | (6 << 24), pc: at(m, 'there') + 16 });
  });

  it('jrst 1, t in user mode only jumps (harmless): no trap, still user', () => {
    const m = bootUser(`        jrst 1, there\n        .org 0x40\nthere:  li r1, 7\n        svc 0\n`, { profile: pdp10 });
    const traps = traced(m);
    m.step();
    expect([traps.length, m.mode, m.pc]).toEqual([0, 1, 0x40]);
    m.run(10);
    expect(traps.map((t) => t.cause)).toEqual([Cause.Svc]);
    expect(m.regs[1]).toBe(7);
  });

  it('jrst 0, t is a plain jump in supervisor mode', () => {
    const m = boot(`${HALT_KERNEL}\nstart:  jrst 0, there\n        halt\nthere:  li r1, 1\n        halt\n`, { profile: pdp10 });
    m.run(10);
    expect([m.mode, m.regs[1], m.machineStatus]).toEqual([0, 1, 'halted']);
  });

  it('jrst is illegal in the classic profile', () => {
    const m = boot(`${HALT_KERNEL}\nstart:  .word 0x180, 0x400\n`);
    m.step();
    expect(trapRecord(m)).toMatchObject({ cause: Cause.Illegal, detail: 0x80 });
  });
});

describe('ibm360: lra', () => {
  it('in user mode: the real address of a virtual one (B + va), -1 past the bounds; no trap, no other state changed', () => {
    const m = bootUser(`        li r1, 0x100\n        lra r2, r1\n        li r1, 0x1000\n        lra r3, r1\n        svc 0\n`, { profile: ibm360, base: 0x1000, limit: 0x1000 });
    const traps = traced(m);
    m.run(4);
    expect(traps).toEqual([]);
    expect([m.regs[2], m.regs[3], m.mode, m.base, m.limit]).toEqual([0x1100, -1, 1, 0x1000, 0x1000]);
  });

  it('in supervisor mode: the same at base 0', () => {
    const m = boot(`${HALT_KERNEL}\nstart:  li r1, 0x400\n        lra r2, r1\n        halt\n`, { profile: ibm360 });
    m.run(10);
    expect([m.regs[2], m.machineStatus]).toEqual([0x400, 'halted']);
  });

  it('under paging: the frame the walk gives, or -1 for an unmapped page', () => {
    const source = `${HALT_KERNEL}\nstart:  li r1, 0x400123\n        lra r2, r1\n        li r1, 0x800000\n        lra r3, r1\n        halt\n`;
    const { m, root } = bootPaged(source, 'paging', [[0, 0, 0x10000, { write: true, exec: true }], [0x400000, 0x13000, 0x1000, { write: true }]], { profile: ibm360 });
    m.loadPsw({ ...m.psw(), status: ST_PG, ptbr: root });
    m.run(10);
    expect([m.regs[2], m.regs[3], m.machineStatus]).toEqual([0x13123, -1, 'halted']);
  });

  it('traps in no mode, and is illegal in the classic profile', () => {
    const c = compileProfile(ibm360);
    expect(c.opInfo[c.byMnemonic.get('lra')!.op]).toBe(0);
    const m = boot(`${HALT_KERNEL}\nstart:  .word 0x181, 0\n`);
    m.step();
    expect(trapRecord(m)).toMatchObject({ cause: Cause.Illegal, detail: 0x81 });
  });
});

describe('withOverrides', () => {
  it('makes out legal in user mode', () => {
    const p = withOverrides(classic, [{ mnemonic: 'out', trapsIn: [] }]);
    const user = `        li r1, 'k'\n        out r1, 0\n        svc 0\n`;
    const plain = bootUser(user);
    plain.run(10);
    expect([plain.console, trapRecord(plain).cause]).toEqual(['', Cause.Privileged]);
    const m = bootUser(user, { profile: p });
    m.run(10);
    expect([m.console, trapRecord(m).cause]).toEqual(['k', Cause.Svc]);
  });

  it('makes add trap in user mode (and only there)', () => {
    const p = withOverrides(classic, [{ mnemonic: 'add', trapsIn: ['u'] }]);
    const m = bootUser(`        li r1, 1\n        add r2, r1, r1\n`, { profile: p });
    m.run(10);
    expect(trapRecord(m)).toEqual({ cause: Cause.Privileged, vaddr: 0, error: 0, detail: Op.Add });
    expect([m.regs[2], oldPsw(m).pc]).toEqual([0, 8]);
    const s = boot(`${HALT_KERNEL}\nstart:  li r1, 1\n        add r2, r1, r1\n        halt\n`, { profile: p });
    s.run(10);
    expect([s.regs[2], s.trapCounts[Cause.Privileged]]).toEqual([2, 0]);
  });

  it('can make an instruction trap in supervisor mode too', () => {
    const p = withOverrides(classic, [{ mnemonic: 'nop', trapsIn: ['s', 'u'] }]);
    const s = boot(`${HALT_KERNEL}\nstart:  nop\n`, { profile: p });
    s.step();
    expect(trapRecord(s)).toMatchObject({ cause: Cause.Privileged, detail: Op.Nop });
  });

  it('leaves the base profile alone and refuses unknown mnemonics and modes', () => {
    const p = withOverrides(classic, [{ mnemonic: 'halt', trapsIn: [] }]);
    expect(compileProfile(classic).opInfo[Op.Halt]).toBe(2);
    expect(compileProfile(p).opInfo[Op.Halt]).toBe(0);
    expect(withOverrides(classic, [])).toBe(classic);
    expect(() => withOverrides(classic, [{ mnemonic: 'popf', trapsIn: ['u'] }])).toThrow(/no instruction 'popf'/);
    expect(() => withOverrides(classic, [{ mnemonic: 'add', trapsIn: ['k'] }])).toThrow(/no mode 'k'/);
  });
});

describe('compileProfile', () => {
  it('marks undefined opcodes, and supervisor-only rows trap in every mode but 0', () => {
    const c = compileProfile(classic);
    const defined = new Set(CLASSIC_INSTRUCTIONS.map((d) => d.op));
    for (let op = 0; op < 256; op++) {
      const d = c.byOp[op];
      if (!defined.has(op)) expect(c.opInfo[op], `op ${op}`).toBe(OP_UNDEFINED);
      else expect(c.opInfo[op]).toBe(d!.supervisorOnly ? 2 : 0);
    }
    const three: Profile = { ...classic, name: 'three', modes: ['k', 's', 'u'], realModeOf: [2, 2, 2] };
    expect(compileProfile(three).opInfo[Op.Halt]).toBe(0b110);
    expect(compileProfile(three).userMode).toBe(2);
  });

  it('refuses duplicate opcodes or mnemonics and bad mode counts', () => {
    const dupOp: Profile = { ...classic, instructions: [...CLASSIC_INSTRUCTIONS, { ...CLASSIC_INSTRUCTIONS[0], mnemonic: 'add2' }] };
    expect(() => compileProfile(dupOp)).toThrow(/opcode 1 twice/);
    const dupName: Profile = { ...classic, instructions: [...CLASSIC_INSTRUCTIONS, { ...CLASSIC_INSTRUCTIONS[0], op: 0x90 }] };
    expect(() => compileProfile(dupName)).toThrow(/add twice/);
    expect(() => compileProfile({ ...classic, modes: [] })).toThrow(/0 modes/);
  });

  it('refuses semantics for a core opcode (the step loop would ignore them) and a profile opcode without any', () => {
    const exec = () => 0;
    const onCore: Profile = { ...classic, instructions: [...CLASSIC_INSTRUCTIONS, { mnemonic: 'mine', op: 0x70, operands: [], summary: '', exec }] };
    expect(() => compileProfile(onCore)).toThrow(/mine \(opcode 112\).*need exec semantics/);
    const bare: Profile = { ...classic, instructions: [...CLASSIC_INSTRUCTIONS, { mnemonic: 'mine', op: 0x90, operands: [], summary: '' }] };
    expect(() => compileProfile(bare)).toThrow(/mine \(opcode 144\)/);
  });

  it('a three-mode profile: lpsw of mode 2 is valid, mode 3 illegal', () => {
    const three: Profile = { ...classic, name: 'three', modes: ['k', 's', 'u'], realModeOf: [2, 2, 2] };
    for (const [mode, ok] of [[2, true], [3, false]] as const) {
      const m = boot(`${HALT_KERNEL}\nstart:  lpsw p\n        .align 4\np:      .word 0x400, ${mode}, 0, 0x10000, 0, 0, 0, 0\n`, { profile: three });
      m.step();
      expect(m.lastTrap === undefined).toBe(ok);
      if (ok) expect(m.status & ST_MODE_MASK).toBe(2);
    }
  });
});
