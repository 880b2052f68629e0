// The bench helpers: deterministic counts only (speed is measured by `npm run bench`, not here).

import { describe, expect, it } from 'vitest';
import { benchLoopGuest, benchVmm, syscallGuest } from '../../src/bench/vmm.js';
import { runGuest } from '../../src/vmm/run.js';

describe('bench helpers', () => {
  it('the user-dominated loop guest runs at least 99% directly; the figures come back', () => {
    const b = benchVmm({ instructions: 600_000, runs: 1, syscalls: 1000 });
    expect(b.directShare).toBeGreaterThanOrEqual(0.99);
    expect(b.bareIps).toBeGreaterThan(0);
    expect(b.ratio).toBeCloseTo(b.vmmIps / b.bareIps, 10);
    // per system call: the svc is reflected and the kernel's lpsw emulated; plus the boot
    // lpsw, the final svc 0 and the halt
    expect(b.syscall.exits).toBe(2 * 1000 + 3);
    expect(b.syscall.usPerExit).toBeGreaterThan(0);
  });

  it('the bench guests are the bench loop and a syscall loop, equivalent under the VMM', () => {
    const loop = runGuest('vmm', benchLoopGuest(1000));
    expect(loop.checks!.equivalence.holds).toBe(true);
    expect(loop.instructions).toMatchObject({ ld: 1000, st: 1000, addi: 2000, xor: 1000, bne: 1000 });
    const sys = runGuest('vmm', syscallGuest(200));
    expect(sys.checks!.equivalence.holds).toBe(true);
    expect(sys.traps).toEqual({ svc: 201 });
  });
});
