// Theorem 2 by running it: the assembly VMM (scenarios/vmm/vmm.s) under the TypeScript VMM,
// running guests. What is compared is listed in src/vmm/vmm2.ts.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classic } from '../../src/isa/profiles/classic.js';
import { syscallGuest } from '../../src/bench/vmm.js';
import { guestFromSources, type GuestImage } from '../../src/vmm/guest.js';
import { withOverrides, type Profile } from '../../src/isa/profile.js';
import { Monitor } from '../../src/vmm/monitor.js';
import { runVmm2, VMM2_EXIT_COST, VMM2_LOG, vmm2Allowance, vmm2Image } from '../../src/vmm/vmm2.js';
import { runGuest, whyNot } from '../../src/vmm/run.js';
import { expectEquivalentAndSafe, SCENARIOS, scenarioGuest } from './helpers.js';

const VMM_S = readFileSync(resolve(SCENARIOS, 'vmm/vmm.s'), 'utf8');

/** vmm.s with one passage replaced (the passage must be there: the test is about that code). */
function mutated(from: string, to: string): string {
  expect(VMM_S).toContain(from);
  return VMM_S.replace(from, to);
}

/** A guest whose kernel touches memory beyond its limit, then loads a forged PSW with a huge base. */
const hostileKernel: GuestImage = guestFromSources({
  name: 'hostile',
  profile: classic,
  vmsize: 0x2000,
  programs: [
    {
      at: 0,
      source: `
        .org 0
        .psw pc=handler, mode=s, limit=0x2000
        .org 0x80
        boot:    ld   r1, 0x5000           ; beyond memory in supervisor mode: bounds, error 0
        after:   lpsw forged                ; a process with a base past the end, limit 4 GiB
        handler: ld   r10, 0x40
                 out  r10, 1
                 ld   r10, 0x48
                 out  r10, 1
                 li   r10, ' '
                 out  r10, 0
                 ld   r11, count
                 addi r11, r11, 1
                 st   r11, count
                 li   r12, 3
                 beq  r11, r12, stop
                 li   r10, after
                 st   r10, 0x20
                 lpsw 0x20
        stop:    halt
                 .align 4
        count:   .word 0
        forged:  .word 0, 0x101, 0xfffff000, 0xffffffff, 0, 0, 0, 0`,
    },
  ],
  psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 },
  budget: 1000,
});

describe('vmm2: the assembly VMM under the TypeScript VMM', () => {
  it('runs LDE equivalently: every trap of the trap log, then the whole final view', () => {
    const lde = scenarioGuest('lde.yaml');
    const r = runGuest('vmm2', lde);
    expectEquivalentAndSafe(r);
    expect(r.console).toBe('ping pong ping pong ping pong \nall processes done; free regions: 4\n');
    expect(r.traps).toEqual({ svc: 8, timer: 8 });
    expect(r.vmm2!.trapLog).toMatchObject({ logged: 16, kept: 16, truncated: false });
    expect(r.vmm2!.trapLog.first).toHaveLength(8);
    expect(r.checks!.equivalence.compared).toBe(17);
    // one resume at boot, one after every exit but the last (the emulated halt)
    expect(r.vmm2!.innerResumes).toBe(r.vmm2!.innerExits);
    // both VMMs trap on exactly the same guest instructions
    const one = runGuest('vmm', lde).efficiency!;
    expect(r.efficiency!.exits.emulate).toBe(one.exits.emulate);
    expect(r.efficiency!.exits.reflect).toBe(one.exits.reflect);
    expect(r.efficiency!.directShare).toBe(one.directShare);
  });

  for (const file of ['vmm/ticks.yaml', 'vmm/spin.yaml']) {
    it(`runs ${file} equivalently`, () => {
      expectEquivalentAndSafe(runGuest('vmm2', scenarioGuest(file)));
    });
  }

  it('runs a syscall-heavy guest equivalently', () => {
    const r = runGuest('vmm2', syscallGuest(100));
    expectEquivalentAndSafe(r);
    expect(r.traps.svc).toBe(101);
  });

  it('confines a hostile guest kernel: kernel bounds faults in guest terms, a forged huge base', () => {
    const r = runGuest('vmm2', hostileKernel);
    expectEquivalentAndSafe(r);
    // cause 3 (bounds): error 0 for the kernel's read, then 20 (fetch | user) for the forged process
    expect(r.console).toBe('30 320 320 ');
    expect(r.vmm2!.innerResumes).toBeGreaterThan(0);
  });

  it('level-2 safety can fail: a vmm.s that does not clamp L\' lets its guest out, and the bus says where it went', () => {
    const source = mutated('        bltu r1, r3, rs_in\n        li   r1, 0\n        li   r2, 0\n        jmp  rs_seg\nrs_in:  sub  r3, r3, r1\n        bltu r2, r3, rs_seg\n        mov  r2, r3\n', '');
    const r = runVmm2(hostileKernel, { source });
    expect(r.vmm2!.innerViolations.length).toBeGreaterThan(0);
    expect(r.vmm2!.innerViolations[0]).toMatch(/outside the guest's \[0x22000, 0x24000\)/);
    // the bus saw it happen: the forged base wraps below ADDR0, and the guest runs vmm.s's own memory
    const s = r.checks!.safety;
    expect(s.holds).toBe(false);
    expect(s.first).toMatchObject({ kind: 'inner', path: 'direct', access: 'fetch', address: 0x22000 });
    expect(s.first!.detail).toBe("direct: fetch of 4 bytes at host 0x22000 outside the inner guest's memory [0x23000, 0x25000) (VM 0 in virtual user mode)");
  });

  it('equivalence can fail: a vmm.s that reflects the real user bit shows the guest a different error code', () => {
    const source = mutated('ge_mem: andi r3, r3, ~ERR_USER', 'ge_mem: ret\n        andi r3, r3, ~ERR_USER');
    const r = runVmm2(hostileKernel, { source });
    expect(r.checks!.equivalence.holds).toBe(false);
    expect(r.checks!.equivalence.first!.field).toBe('trapLog[0].error');
    expect([r.checks!.equivalence.first!.bare, r.checks!.equivalence.first!.actual]).toEqual([0, 4]);
    expect(r.console).toBe('34 320 320 ');
  });

  it('is assembled from scenarios/vmm/vmm.s, below its trap log, with the symbols it needs', () => {
    const img = vmm2Image(scenarioGuest('lde.yaml'));
    expect(img.asm.symbols.get('vmm_end')!).toBeLessThanOrEqual(VMM2_LOG);
    expect(img.addr0 % 4096).toBe(0);
    expect(img.guest.config.memorySize).toBe(img.addr0 + 0x10000);
    expect(() => vmm2Image({ ...hostileKernel, config: { ...hostileKernel.config, bounds: 'end' } })).toThrow(/end convention/);
  });
});

/** A guest whose process faults on every instruction and whose kernel resumes it at once: two exits per instruction retired. */
function faultingGuest(budget: number): GuestImage {
  return guestFromSources({
    name: 'faulting',
    profile: classic,
    vmsize: 0x2000,
    programs: [
      { at: 0, source: '.org 0\n.psw pc=h, mode=s, limit=0x2000\n.org 0x80\nlpsw up\nh: lpsw 0x20\n.align 4\nup: .psw pc=0, mode=u, base=0x1000, limit=0x1000' },
      { at: 0x1000, source: 'ld r1, 0x5000' },
    ],
    psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 },
    budget,
  });
}

/** The most level-1 instructions vmm.s executed for one exit of `inner` (from the trap to the lpsw resuming it). */
function maxExitCost(inner: GuestImage): number {
  const img = vmm2Image(inner);
  let trappedAt: number | undefined;
  let max = 0;
  const monitor = new Monitor([img.guest], {
    kind: 'vmm',
    quantum: 1 << 30,
    observer: (_vm, vcpu) => {
      if (vcpu.mode !== 0) {
        if (trappedAt !== undefined) max = Math.max(max, vcpu.retired - trappedAt);
        trappedAt = undefined;
      } else trappedAt ??= vcpu.retired;
    },
  });
  monitor.run();
  return max;
}

describe('vmm2: its instruction allowance', () => {
  it('lets a guest that faults on every instruction run to its budget (7500)', () => {
    const r = runGuest('vmm2', faultingGuest(7500), { check: false });
    expect(r.end).toBe('budget');
    expect(r.retired).toBe(7500);
    expect(r.vmm2!.level1.end).toBe('halted');
    expect(r.vmm2!.allowance).toEqual({ outerBudget: vmm2Allowance(7500), exitCost: VMM2_EXIT_COST });
    expectEquivalentAndSafe(runGuest('vmm2', faultingGuest(300)));
  });

  it('rests on VMM2_EXIT_COST: no exit of these guests costs vmm.s more level-1 instructions', () => {
    const guests = [faultingGuest(200), hostileKernel, scenarioGuest('vmm/ticks.yaml'), scenarioGuest('lde.yaml'), syscallGuest(50)];
    const worst = Math.max(...guests.map(maxExitCost));
    expect(worst).toBeGreaterThan(200);
    expect(worst).toBeLessThanOrEqual(VMM2_EXIT_COST);
  });
});

describe('vmm2: what it refuses, and what it reports', () => {
  const withProfile = (profile: Profile) => ({ ...hostileKernel, config: { ...hostileKernel.config, profile } });

  it('refuses overrides vmm.s cannot emulate: an ld made privileged, an instruction trapping in supervisor mode', () => {
    const ld = withProfile(withOverrides(classic, [{ mnemonic: 'ld', trapsIn: ['u'] }]));
    expect(whyNot('vmm2', ld)).toMatch(/^'ld' traps in user mode, and vmm.s cannot emulate it/);
    expect(whyNot('vmm2', withProfile(withOverrides(classic, [{ mnemonic: 'nop', trapsIn: ['s', 'u'] }])))).toMatch(/^'nop' traps in supervisor mode/);
    // the TypeScript VMM emulates the kernel's ld on its virtual CPU: equivalent
    expectEquivalentAndSafe(runGuest('vmm', ld));
  });

  it('reports a failed check as plain, bounded data (no snapshots in runs[].vmm2)', () => {
    const source = mutated('ge_mem: andi r3, r3, ~ERR_USER', 'ge_mem: ret\n        andi r3, r3, ~ERR_USER');
    const r = runVmm2(syscallGuest(400), { source, logCapacity: 2000 });
    const json = JSON.stringify(r.vmm2);
    expect(json.length).toBeLessThan(20_000);
    expect(json).not.toMatch(/"snapshot"|"memory"/);
    expect(r.vmm2!.trapLog.first.length).toBeLessThanOrEqual(8);
  });
});
