// Theorem 2 by running it: the assembly VMM (scenarios/vmm/vmm.s) under the TypeScript VMM,
// running guests. What is compared is listed in src/vmm/nested.ts.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classic } from '../../src/isa/profiles/classic.js';
import { syscallGuest } from '../../src/bench/vmm.js';
import { guestFromSources, type GuestImage } from '../../src/vmm/guest.js';
import { runNested, VMM2_LOG, vmm2Image } from '../../src/vmm/nested.js';
import { runGuest } from '../../src/vmm/run.js';
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
    const r = runGuest('vmm2', lde, { safety: 'trace' });
    expectEquivalentAndSafe(r);
    expect(r.console).toBe('ping pong ping pong ping pong \nall processes done; free regions: 4\n');
    expect(r.traps).toEqual({ svc: 8, timer: 8 });
    expect(r.nested!.trapLog).toMatchObject({ logged: 16, kept: 16, truncated: false });
    expect(r.nested!.trapLog.first).toHaveLength(8);
    expect(r.checks!.equivalence.compared).toBe(17);
    // one resume at boot, one after every exit but the last (the emulated halt)
    expect(r.nested!.innerResumes).toBe(r.nested!.innerExits);
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
    const r = runGuest('vmm2', hostileKernel, { safety: 'trace' });
    expectEquivalentAndSafe(r);
    // cause 3 (bounds): error 0 for the kernel's read, then 20 (fetch | user) for the forged process
    expect(r.console).toBe('30 320 320 ');
    expect(r.nested!.innerResumes).toBeGreaterThan(0);
  });

  it('level-2 safety can fail: a vmm.s that does not clamp L\' lets its guest out, and the check says where', () => {
    const source = mutated('        bltu r1, r3, rs_in\n        li   r1, 0\n        li   r2, 0\n        jmp  rs_seg\nrs_in:  sub  r3, r3, r1\n        bltu r2, r3, rs_seg\n        mov  r2, r3\n', '');
    const r = runNested(hostileKernel, { source });
    expect(r.nested!.innerViolations.length).toBeGreaterThan(0);
    expect(r.nested!.innerViolations[0]).toMatch(/outside the guest's \[0x22000, 0x24000\)/);
    expect(r.checks!.safety.holds).toBe(false);
  });

  it('equivalence can fail: a vmm.s that reflects the real user bit shows the guest a different error code', () => {
    const source = mutated('ge_mem: andi r3, r3, ~ERR_USER', 'ge_mem: ret\n        andi r3, r3, ~ERR_USER');
    const r = runNested(hostileKernel, { source });
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
