// The bundled guests under the VMM and the hybrid VMM: LDE (scenarios/lde.yaml), a second
// kernel (ticks), a guest that never stops (spin), the pdp10 JRST guest, the bench guests, and
// several of them sharing one machine.

import { describe, expect, it } from 'vitest';
import { Cause } from '../../src/isa/arch.js';
import { withOverrides } from '../../src/isa/profile.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { guestFromSources } from '../../src/vmm/guest.js';
import { runGuest, runVms } from '../../src/vmm/run.js';
import { describeDivergence, expectEquivalentAndSafe, scenarioGuest } from './helpers.js';

describe('LDE (two processes, svc and timer) as a guest', () => {
  const lde = scenarioGuest('lde.yaml');

  it('under the VMM: equivalent at every event, safe on the observed bus, efficient', () => {
    const r = runGuest('vmm', lde);
    expectEquivalentAndSafe(r);
    expect(r.end).toBe('halted');
    expect(r.console).toBe('ping pong ping pong ping pong \nall processes done; free regions: 4\n');
    expect(r.checks!.equivalence.compared).toBe(Object.values(r.events).reduce((a, b) => a + b, 0));
    expect(r.events.trap).toBe(16);
    expect(r.checks!.safety.level).toBe('bus');
    const e = r.checks!.efficiency;
    expect(e.directShare).toBeGreaterThanOrEqual(0.99);
    expect(e.untrappedSoftware).toBe(0);
    expect(e.holds).toBe(true);
  });

  it('under the VMM, every privileged instruction of the kernel is emulated after exactly one exit, every trap reflected once', () => {
    const r = runGuest('vmm', lde);
    const privileged = ['lpsw', 'settimer', 'out', 'halt'].reduce((n, m) => n + (r.instructions[m] ?? 0), 0);
    expect(r.efficiency!.exits.emulate).toBe(privileged);
    expect(r.efficiency!.software).toBe(privileged);
    expect(r.efficiency!.exits.reflect).toBe(r.traps.svc);
    expect(r.efficiency!.interrupts).toBe(r.traps.timer);
  });

  it('under the hybrid VMM: equivalent; its kernel interpretation is reported, not hidden', () => {
    const r = runGuest('hvm', lde);
    expectEquivalentAndSafe(r);
    const e = r.checks!.efficiency;
    expect(e.untrappedSoftware).toBeGreaterThan(0);
    expect(e.directShare).toBeLessThan(0.99);
    expect(e.holds).toBe(false);
  });
});

describe('ticks: a second guest kernel (timer ticks, faults reported and skipped)', () => {
  const ticks = scenarioGuest('vmm/ticks.yaml');

  for (const kind of ['vmm', 'hvm'] as const) {
    it(`under the ${kind}: equivalent and safe`, () => {
      const r = runGuest(kind, ticks);
      expectEquivalentAndSafe(r);
      expect(r.console).toBe('44850 B20480/4 P98 75025 13 23\n');
      expect(r.traps).toEqual({ svc: 3, bounds: 1, privileged: 1, timer: 13 });
    });
  }

  it('is kernel-heavy: below the 0.99 direct share, and the verdict says so', () => {
    const e = runGuest('vmm', ticks).checks!.efficiency;
    expect(e.directShare).toBeLessThan(0.99);
    expect(e.holds).toBe(false);
    expect(e.untrappedSoftware).toBe(0);
  });
});

describe('spin: a guest that loops forever', () => {
  it('is stopped by its own budget, exactly as bare', () => {
    for (const kind of ['vmm', 'hvm'] as const) {
      const r = runGuest(kind, scenarioGuest('vmm/spin.yaml'));
      expectEquivalentAndSafe(r);
      expect(r.end).toBe('budget');
      expect(r.retired).toBe(20000);
    }
  });
});

describe('pdp10: the kernel returns to user mode with jrst 1', () => {
  const jrst = scenarioGuest('vmm/jrst.yaml');

  it('under the VMM it misbehaves: vPSW.M stays s, so the process’s out is emulated instead of reflected', () => {
    const r = runGuest('vmm', jrst);
    const bare = runGuest('bare', jrst);
    expect(bare.console).toBe('Ku[101]=1\n');
    expect(r.console).toBe('Kuu=0\n');
    expect(r.traps.privileged).toBeUndefined();
    const d = r.checks!.equivalence.first!;
    expect(r.checks!.equivalence.holds).toBe(false);
    // the first guest-visible event that differs: the process's svc 1, whose old PSW (MEM[1] at
    // 0x20, status at 0x24) says supervisor under the VMM and user on bare hardware
    expect(describeDivergence(d)).toBe('event #1 (bare trap@5, actual trap@5) at 5: memory[0x24] bare=1 actual=0');
    expect(d.bareEvent!.snapshot.lastTrap!.cause).toBe(Cause.Svc);
    expect(r.checks!.safety.holds).toBe(true);
  });

  it('under the hybrid VMM it is equivalent: the kernel is interpreted, so the mode change is seen', () => {
    const r = runGuest('hvm', jrst);
    expectEquivalentAndSafe(r);
    expect(r.console).toBe('Ku[101]=1\n');
  });
});

describe('several guests on one machine', () => {
  const guests = () => ['lde.yaml', 'vmm/ticks.yaml', 'vmm/spin.yaml'].map((f) => scenarioGuest(f));

  it('round robin with a small quantum: each VM equivalent to its bare run, the looping one stopped by its budget', () => {
    const run = runVms('vmm', guests(), { quantum: 333 });
    expect(run.holds).toBe(true);
    for (const r of run.vms) expectEquivalentAndSafe(r);
    expect(run.vms.map((r) => r.end)).toEqual(['halted', 'halted', 'budget']);
    expect(run.state.vms.map((v) => v.state)).toEqual(['halted', 'halted', 'budget']);
    expect(run.state.slices).toBeGreaterThan(run.vms.length * 10);
    expect(run.reserveIntact).toBe(true);
    const allocs = run.host.allocations;
    for (let i = 1; i < allocs.length; i++) expect(allocs[i].addr0).toBeGreaterThanOrEqual(allocs[i - 1].addr0 + allocs[i - 1].vmsize);
    expect(allocs[0].addr0).toBeGreaterThanOrEqual(run.host.reserve);
  });

  it('a double fault stops only the VM that took it', () => {
    const broken = guestFromSources({
      name: 'broken-vector',
      profile: classic,
      vmsize: 0x2000,
      programs: [{ at: 0, source: '.org 0\n.word 0x80, 0x10, 0, 0x2000\n.org 0x80\nli r1, 1\nsvc 0' }],
      psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 },
      budget: 100,
    });
    const run = runVms('vmm', [broken, scenarioGuest('lde.yaml')], { quantum: 100 });
    for (const r of run.vms) expectEquivalentAndSafe(r);
    expect(run.vms.map((r) => r.end)).toEqual(['double-fault', 'halted']);
    expect(run.vms[0].events).toEqual({ trap: 0, 'double-fault': 1, console: 0, halt: 0, end: 1 });
  });

  it('keeps its records frozen: one immer state per slice', () => {
    const run = runVms('hvm', guests(), { quantum: 5000, check: false });
    expect(Object.isFrozen(run.state)).toBe(true);
    expect(Object.isFrozen(run.state.vms[0])).toBe(true);
    expect(run.state.vms.reduce((n, v) => n + v.slices, 0)).toBe(run.state.slices);
    expect(run.state.vms.map((v) => v.retired)).toEqual(run.vms.map((r) => r.retired));
  });
});

describe('the bench guests', () => {
  it('user-dominated: at least 99% of the instructions run directly', () => {
    const r = runGuest('vmm', scenarioGuest('vmm/bench-loop.yaml'));
    expectEquivalentAndSafe(r);
    expect(r.efficiency!.directShare).toBeGreaterThanOrEqual(0.99);
    expect(r.checks!.efficiency.holds).toBe(true);
  });

  it('syscall-heavy: two exits per system call (the svc reflected, the kernel’s lpsw emulated)', () => {
    const r = runGuest('vmm', scenarioGuest('vmm/bench-syscall.yaml'));
    expectEquivalentAndSafe(r);
    const e = r.efficiency!;
    expect(e.exits.reflect).toBe(r.traps.svc);
    expect(e.exits.emulate).toBe(r.instructions.lpsw + r.instructions.halt);
    expect(e.exitsPer1000).toBeGreaterThan(250);
  });
});

describe('an instruction set whose out does not trap in user mode (a scenario override)', () => {
  it('breaks Theorem 1’s precondition, and the checker shows where: the console changes before the guest traps', () => {
    const profile = withOverrides(classic, [{ mnemonic: 'out', trapsIn: [] }]);
    const g = guestFromSources({
      name: 'leaky-out',
      profile,
      vmsize: 0x2000,
      programs: [
        { at: 0, source: '.org 0\n.psw pc=h, mode=s, limit=0x2000\n.org 0x80\nlpsw up\nh: halt\n.align 4\nup: .psw pc=0, mode=u, base=0x1000, limit=0x1000' },
        { at: 0x1000, source: "li r1, 'x'\nout r1, 0\nli r2, 1\nsvc 0" },
      ],
      psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 },
      budget: 100,
    });
    const r = runGuest('vmm', g);
    expect(r.console).toBe('x');
    expect(r.checks!.safety.holds).toBe(true);
    expect(r.checks!.equivalence.holds).toBe(false);
    expect(describeDivergence(r.checks!.equivalence.first)).toBe('event #0 (bare console@3, actual console@5) at 3: event bare="console at 3" actual="console at 5"');
  });
});

