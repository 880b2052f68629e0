// Profiles whose overrides weaken the machine: a VMM refuses a guest whose user mode can change
// the resource-control state without trapping (Theorem 1's precondition fails), runs it only
// when asked to for demonstration — and then its safety checker must see the breach from what
// really happened. Overrides that leave R alone (halt, out) are hosted.

import { describe, expect, it } from 'vitest';
import { withOverrides } from '../../src/isa/profile.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { pdp10 } from '../../src/isa/profiles/pdp10.js';
import { guestFromSources, type GuestImage } from '../../src/vmm/guest.js';
import { runGuest, runVms, whyNot, whyNotTogether } from '../../src/vmm/run.js';
import { expectEquivalentAndSafe } from './helpers.js';

const unprivileged = (...mnemonics: string[]) => withOverrides(classic, mnemonics.map((mnemonic) => ({ mnemonic, trapsIn: [] })));

/**
 * A 16 KiB guest whose kernel — run by the VMM in real user mode with B' = addr0 = 0x1000 —
 * loads a supervisor PSW with base 0 (possible only because its profile makes lpsw
 * unprivileged), reads and writes real address 0x100 (the VMM's reserve), puts the value back,
 * and reloads the very PSW fields the VMM installed (B' = 0x1000, L' = 0x4000, IE for the real
 * timer) before its next trap, so nothing is left to see at the exit.
 */
function escaping(profile = unprivileged('lpsw')): GuestImage {
  return guestFromSources({
    name: 'escaping',
    profile,
    vmsize: 0x4000,
    programs: [
      {
        at: 0,
        source: `.org 0
                 .psw pc=h, mode=s, limit=0x4000
                 .org 0x80
                 lpsw evil                 ; real mode s, base 0 when lpsw does not trap
        away:    ld   r1, 0x100            ; (runs at real 0x1000 + away) the VMM's reserve
                 addi r1, r1, 1
                 st   r1, 0x100
                 addi r1, r1, -1
                 st   r1, 0x100            ; put it back
                 lpsw 0x1000 + back        ; what the VMM installed (B' = 0x1000, L' = 0x4000, IE)
        after:   svc  0
        h:       ld   r10, 0x40
                 out  r10, 1
                 halt
                 .align 4
        evil:    .psw pc=0x1000 + away, mode=s, base=0, limit=0x10000
        back:    .psw pc=after, mode=u, ie=1, base=0x1000, limit=0x4000`,
      },
    ],
    psw: { pc: 0x80, status: 0, base: 0, limit: 0x4000, ptbr: 0, extra: 0 },
    budget: 200,
  });
}

describe('a guest whose profile makes lpsw unprivileged', () => {
  it('is refused by every VMM, naming lpsw and Theorem 1’s precondition', () => {
    for (const kind of ['vmm', 'hvm', 'vmm2'] as const) {
      const why = whyNot(kind, escaping());
      expect(why, kind).toMatch(/^'lpsw' changes \w+ .* in mode u without trapping: Theorem 1's precondition \(every instruction that changes the resource-control state must trap in user mode\) fails/);
    }
    expect(whyNot('bare', escaping())).toBeUndefined();
    expect(() => runGuest('vmm', escaping())).toThrow(RangeError);
  });

  it('run anyway for demonstration: the bus sees the breach as it happens — a supervisor fetch, the reserve read and written — though nothing is left to see at the end', () => {
    const run = runVms('vmm', [escaping()], { allowUnsafe: true });
    const s = run.vms[0].checks!.safety;
    expect(s).toMatchObject({ holds: false, level: 'bus', reserveIntact: true }); // it put the value back
    expect(s.note).toBeUndefined(); // the checker assumes nothing of the instruction set, so nothing to fall back from
    // six instructions fetched in real supervisor mode (ld, addi, st, addi, st, lpsw), the reserve read once and written twice
    expect(s.violations).toBe(9);
    expect(s.first).toMatchObject({ kind: 'supervisor', path: 'direct', access: 'fetch', address: 0x1088, retired: 1 });
    const reserve = s.kept.filter((v) => v.kind === 'access').map((v) => [v.access, v.address, v.retired]);
    expect(reserve).toEqual([
      ['read', 0x100, 1],
      ['write', 0x100, 3],
    ]); // the first five violations are kept: three fetches, the read, the first write
    expect(s.kept[1].detail).toBe("direct: read of 4 bytes at host 0x100 outside VM 0's memory [0x1000, 0x5000), in the VMM's reserve");
    expect(run.safety.counts).toEqual([9]);
  });

  it("a guest that never leaves its memory but changes the real PTBR without a trap: a control violation, from the PSW its trap stored", () => {
    const g = guestFromSources({
      name: 'ptbr',
      profile: unprivileged('setptbr'),
      vmsize: 0x4000,
      programs: [{ at: 0, source: '.org 0\n.psw pc=h, mode=s, limit=0x4000\n.org 0x80\nli r1, 0x3000\nsetptbr r1\nsvc 0\nh: halt' }],
      psw: { pc: 0x80, status: 0, base: 0, limit: 0x4000, ptbr: 0, extra: 0 },
      budget: 100,
    });
    const s = runGuest('vmm', g, { allowUnsafe: true }).checks!.safety;
    expect(s).toMatchObject({ holds: false, violations: 1 });
    expect(s.first).toMatchObject({ kind: 'control', path: 'direct', retired: 3 });
    expect(s.first!.detail).toBe("direct: the guest changed the real machine's resource-control state without a trap (ptbr 0x0 → 0x3000)");
  });

  it('is safe on a machine whose lpsw traps (the same guest on the classic profile)', () => {
    const r = runGuest('vmm', escaping(classic));
    expectEquivalentAndSafe(r);
    expect(r.console).not.toBe('5'); // its kernel's lpsw was emulated: it never reached real address 0x100
  });

  it('shares a machine safely with a VM whose lpsw traps: the real machine traps it for both, and it is emulated for the escaping one', () => {
    const lde = guestFromSources({
      name: 'plain',
      profile: classic,
      vmsize: 0x2000,
      programs: [{ at: 0, source: '.org 0x80\nli r1, 7\nout r1, 1\nhalt' }],
      psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 },
      budget: 100,
    });
    expect(whyNotTogether('vmm', [escaping(), lde])).toBeUndefined();
    const run = runVms('vmm', [escaping(), lde], { quantum: 7 });
    expect(run.safety.violations).toEqual([]);
    expect(run.vms[1].console).toBe('7');
    expect(run.vms[1].checks!.equivalence.holds).toBe(true);
    // the escaping guest's own machine executes its lpsw: emulated, it loads its vPSW (base 0 in
    // guest terms) and goes on inside its own memory, as on its bare machine
    expect(run.vms[0].checks!.equivalence.holds).toBe(true);
    expect(run.vms[0].efficiency!.exits.emulate).toBeGreaterThan(1);
  });
});

describe('overrides that leave the resource-control state alone', () => {
  /** A guest whose process halts in user mode (its profile lets it) after printing nothing. */
  const halting = (profile = unprivileged('halt')) =>
    guestFromSources({
      name: 'user-halt',
      profile,
      vmsize: 0x2000,
      programs: [
        { at: 0, source: '.org 0\n.psw pc=h, mode=s, limit=0x2000\n.org 0x80\nlpsw up\nh: ld r10, 0x40\nout r10, 1\nhalt\n.align 4\nup: .psw pc=0, mode=u, base=0x1000, limit=0x1000' },
        { at: 0x1000, source: 'li r1, 5\naddi r1, r1, 1\nhalt\nli r1, 99' },
      ],
      psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 },
      budget: 100,
    });

  it('a user-mode halt that does not trap halts the VM, as bare: no exception, the other VMs go on', () => {
    for (const kind of ['vmm', 'hvm'] as const) {
      const r = runGuest(kind, halting());
      expectEquivalentAndSafe(r);
      expect(r.end).toBe('halted');
      expect(r.final.regs[1]).toBe(6);
    }
    const run = runVms('vmm', [halting(), halting(classic)], { quantum: 2 });
    expect(run.vms.map((v) => [v.end, v.console])).toEqual([
      ['halted', ''],
      ['halted', '1'],
    ]);
    for (const r of run.vms) expectEquivalentAndSafe(r);
  });

  it('vmm2 refuses it: vmm.s would never see the halt', () => {
    expect(whyNot('vmm2', halting())).toMatch(/'halt' does not trap in user mode/);
  });

  it('several VMs with overrides (the same or different) share one machine; different instruction sets are refused with a reason', () => {
    const leaky = () => unprivileged('out');
    const printing = (profile: typeof classic, name: string) =>
      guestFromSources({
        name,
        profile,
        vmsize: 0x2000,
        programs: [
          { at: 0, source: '.org 0\n.psw pc=h, mode=s, limit=0x2000\n.org 0x80\nlpsw up\nh: halt\n.align 4\nup: .psw pc=0, mode=u, base=0x1000, limit=0x1000' },
          { at: 0x1000, source: "li r1, 'x'\nout r1, 0\nsvc 0" },
        ],
        psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 },
        budget: 100,
      });
    const same = runVms('vmm', [printing(leaky(), 'a'), printing(leaky(), 'b')]);
    expect(same.vms.map((v) => v.console)).toEqual(['x', 'x']);
    const mixed = runVms('vmm', [printing(leaky(), 'a'), printing(classic, 'b')]);
    // on a real machine that traps out (because b's does), a's out is emulated at its instruction
    expectEquivalentAndSafe(mixed.vms[0]);
    expect(mixed.vms.map((v) => v.console)).toEqual(['x', '']);
    const other = printing(pdp10, 'c');
    expect(whyNotTogether('vmm', [printing(classic, 'b'), other])).toMatch(/profiles classic and pdp10 are different machines/);
    expect(() => runVms('vmm', [printing(classic, 'b'), other])).toThrow(RangeError);
  });
});
