// Property tests: random (and hostile) guest kernels and user programs under the VMM, the
// hybrid VMM, several VMs at once, and the assembly VMM under the VMM. Equivalence with the
// bare run and safety on the observed host bus must hold for every one. A failure is
// shrunk and printed as the guest's assembly (random-guests.ts).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BoundsConvention } from '../../src/mmu/segment.js';
import { runVmm2 } from '../../src/vmm/vmm2.js';
import { runGuest, runVms } from '../../src/vmm/run.js';
import { expectEquivalentAndSafe } from './helpers.js';
import { fcParams, PROPERTY_TIMEOUT } from './params.js';
import { forProfile, guestOf, randomGuest, withLines } from './random-guests.js';
import { arm } from '../../src/isa/profiles/arm.js';
import { ibm360 } from '../../src/isa/profiles/ibm360.js';
import { mips } from '../../src/isa/profiles/mips.js';
import { pdp10 } from '../../src/isa/profiles/pdp10.js';
import { x86lite, x86vt } from '../../src/isa/profiles/x86-lite.js';
import { withOverrides, type Profile } from '../../src/isa/profile.js';

/** 2 or 3 random guests of one bounds convention (one real machine has one). */
const sameConvention = () => fc.constantFrom<BoundsConvention>('size', 'end').chain((b) => fc.array(randomGuest(b), { minLength: 2, maxLength: 3 }));

/**
 * Random kernels of `profile` with `line(i)` (sensitive, unprivileged instructions) inserted
 * after every line, under the VMM and the hybrid VMM: every run must be safe, and the hybrid VMM
 * (which interprets the deprivileged modes) equivalent. Returns how many VMM runs diverged.
 */
function sensitiveKernels(profile: Profile, line: (i: number) => string): number {
  let vmmDiffer = 0;
  fc.assert(
    fc.property(randomGuest(), fc.constantFrom('vmm' as const, 'hvm' as const), (rg, kind) => {
      const r = runGuest(kind, guestOf(withLines(forProfile(rg, profile), line), 'sensitive', profile));
      const c = r.checks!;
      if (!c.safety.holds) throw new Error(`not safe: ${c.safety.first?.detail}`);
      if (kind === 'hvm' && !c.equivalence.holds) throw new Error(`hybrid VMM not equivalent: ${JSON.stringify(c.equivalence.first)}`);
      if (kind === 'vmm' && !c.equivalence.holds) vmmDiffer++;
    }),
    fcParams(40),
  );
  return vmmDiffer;
}

/** Line `i` of a kernel that names descriptors of the reset GDT (ring-0 code and data, ring-3 code and data, null) with x86's descriptor instructions. */
function descriptorLine(i: number): string {
  const sel = [0x08, 0x10, 0x1b, 0x23, 0][i % 5];
  const use = [`lar r9, r8`, `lsl r9, r8`, `verr r8`, `verw r8`, `wrseg 3, r8`, `pushseg 3\npopseg 0`, `rdseg r9, 3`, `jmpf r8, d${i}\nd${i}:`][i % 8];
  return `li r8, ${sel}\n${use}`;
}

describe('random guests', () => {
  it('under the VMM: equivalent to bare, safe (every host access observed)', () => {
    fc.assert(
      fc.property(randomGuest(), (rg) => {
        expectEquivalentAndSafe(runGuest('vmm', guestOf(rg)));
      }),
      fcParams(60),
    );
  }, PROPERTY_TIMEOUT);

  it('under the hybrid VMM: equivalent to bare, safe', () => {
    fc.assert(
      fc.property(randomGuest(), (rg) => {
        expectEquivalentAndSafe(runGuest('hvm', guestOf(rg)));
      }),
      fcParams(40),
    );
  }, PROPERTY_TIMEOUT);

  it('several VMs on one machine, any quantum: each equivalent to its bare run, none reaches another', () => {
    fc.assert(
      fc.property(sameConvention(), fc.integer({ min: 1, max: 400 }), fc.constantFrom('vmm' as const, 'hvm' as const), (rgs, quantum, kind) => {
        const run = runVms(kind, rgs.map((rg, i) => guestOf(rg, `vm${i}`)), { quantum });
        for (const r of run.vms) expectEquivalentAndSafe(r);
        expect(run.reserveIntact).toBe(true);
        expect(run.safety.violations).toEqual([]);
      }),
      fcParams(20),
    );
  }, PROPERTY_TIMEOUT);

  it('ibm360 guests with LRA after every line of kernel and process: under the VMM and the hybrid VMM, safe (LRA reveals where the VM really is, so equivalence is not asked; it fails where LRA is run directly)', () => {
    let differ = 0;
    fc.assert(
      fc.property(randomGuest(), fc.constantFrom('vmm' as const, 'hvm' as const), (rg, kind) => {
        const r = runGuest(kind, guestOf(withLines(rg, () => 'lra r5, r6', true), 'lra', ibm360));
        const c = r.checks!;
        if (!c.safety.holds) throw new Error(`not safe: ${c.safety.first?.detail}`);
        if (!c.equivalence.holds) differ++;
      }),
      fcParams(40),
    );
    expect(differ).toBeGreaterThan(0); // the relocation does show
  }, PROPERTY_TIMEOUT);

  it('pdp10 guests with JRST 1 to the next line after every line of the kernel: under the VMM and the hybrid VMM, safe (the VMM misses the mode change, so equivalence is not asked; the hybrid VMM, which interprets the kernel, stays equivalent)', () => {
    // JRST 1 is sensitive and not privileged: the trap-and-emulate VMM goes wrong
    expect(sensitiveKernels(pdp10, (i) => `jrst 1, j${i}\nj${i}:`)).toBeGreaterThan(0);
  }, PROPERTY_TIMEOUT);

  it('mips guests reading kseg0 after every line of kernel and process: under the VMM and the hybrid VMM, equivalent and safe (every kseg0 access traps in real user mode: emulated for the kernel, the process’s address error reflected)', () => {
    let emulated = 0;
    fc.assert(
      fc.property(randomGuest(), fc.constantFrom('vmm' as const, 'hvm' as const), (rg, kind) => {
        const r = runGuest(kind, guestOf(withLines(forProfile(rg, mips), (i) => `li r7, ${0x80000000 + ((i * 4) & 0xffc)}\nld r8, (r7)`, true), 'kseg', mips));
        expectEquivalentAndSafe(r);
        emulated += r.efficiency!.exits.emulate;
      }),
      fcParams(40),
    );
    expect(emulated).toBeGreaterThan(0);
  }, PROPERTY_TIMEOUT);

  it('arm guests with cps, mrs, msr and the SPSR moves after every line of the kernel: under the VMM and the hybrid VMM, safe (in real usr they change nothing but flags); the hybrid VMM, which interprets svc and irq, stays equivalent; the VMM goes wrong', () => {
    const lines = ['cps 1', 'mrs r9', 'cps 0', 'msr r9', 'msrs r9', 'mrss r9'];
    expect(sensitiveKernels(arm, (i) => lines[i % lines.length])).toBeGreaterThan(0);
  }, PROPERTY_TIMEOUT);

  it('x86-lite guests with pushf, popf, sgdt and rdseg of CS after every line of the kernel: under the VMM and the hybrid VMM, safe; the hybrid VMM, which interprets ring 0, stays equivalent; the VMM goes wrong', () => {
    const lines = ['pushf r9', 'popf r9', 'sgdt r9', 'rdseg r9, 1'];
    expect(sensitiveKernels(x86lite, (i) => lines[i % lines.length])).toBeGreaterThan(0);
  }, PROPERTY_TIMEOUT);

  it('x86-lite guests asking about, loading and jumping through descriptors after every line of the kernel (lar, lsl, verr, verw, segment moves, jmpf): safe under both VMMs, the hybrid VMM equivalent, the VMM not always', () => {
    expect(sensitiveKernels(x86lite, descriptorLine)).toBeGreaterThan(0);
  }, PROPERTY_TIMEOUT);

  it('x86-vt guests with the same lines and the critical ones: the VMM, whose non-root rings make every one of them exit, is equivalent too', () => {
    const critical = ['pushf r9', 'popf r9', 'sgdt r9', 'smsw r9'];
    expect(sensitiveKernels(x86vt, (i) => (i % 3 === 0 ? critical[i % critical.length] : descriptorLine(i)))).toBe(0);
  }, PROPERTY_TIMEOUT);

  it('x86-vt with sgdt made not to exit in non-root rings: the VMM goes wrong (the real GDTR is the VMM’s), the hybrid VMM does not', () => {
    const leaky = withOverrides(x86vt, [{ mnemonic: 'sgdt', trapsIn: [] }]);
    expect(sensitiveKernels(leaky, () => 'sgdt r9')).toBeGreaterThan(0);
  }, PROPERTY_TIMEOUT);

  it('under the assembly VMM under the VMM (vmm2): equivalent to bare, safe at both levels', () => {
    fc.assert(
      fc.property(randomGuest('size'), (rg) => {
        const budget = Math.min(rg.budget, 1500);
        // at most one trap without a retired instruction between two retired ones (else a double
        // fault): a log of 2 * budget + 8 records keeps every trap for the comparison
        const r = runVmm2({ ...guestOf(rg), budget }, { logCapacity: 2 * budget + 8 });
        expect(r.vmm2!.trapLog.truncated).toBe(false);
        expectEquivalentAndSafe(r);
      }),
      fcParams(25),
    );
  }, PROPERTY_TIMEOUT);

  it('finds, shrinks and prints as assembly a guest that escapes a VMM with an unclamped L\' = vL', () => {
    const unclamped = (vb: number, vl: number, a: { addr0: number }) => ({ base: a.addr0 + vb, limit: vl });
    const details = fc.check(
      fc.property(randomGuest(), (rg) => {
        const r = runGuest('vmm', guestOf(rg), { compose: unclamped });
        return r.checks!.safety.holds;
      }),
      fcParams(200),
    );
    expect(details.failed).toBe(true);
    const report = fc.defaultReportMessage(details)!;
    expect(report).toContain('--- kernel @0');
    expect(report).toContain('--- user @0x1000');
    const witness = runGuest('vmm', guestOf(details.counterexample![0]), { compose: unclamped });
    expect(witness.checks!.safety.first).toMatchObject({ kind: 'access', path: 'direct' }); // an access it really made outside its memory
    expect(runGuest('vmm', guestOf(details.counterexample![0])).checks!.safety.holds).toBe(true);
  });
});
