// The safety checker on the host bus, failing on purpose: each test breaks the VMM so that one
// path reaches host memory its VM was not given, and watches the verdict turn — reads included,
// named by the path that made the access. None of these could be seen by the checker the bus
// replaced: it watched only direct runs (emulation, reflection, tick delivery and interpretation
// went unchecked), never saw a read, and proved the real segment instead of watching accesses.

import { describe, expect, it } from 'vitest';
import { classic } from '../../src/isa/profiles/classic.js';
import { guestFromSources, type GuestImage } from '../../src/vmm/guest.js';
import { runGuest, runVms } from '../../src/vmm/run.js';
import { Monitor } from '../../src/vmm/monitor.js';
import type { SafetyViolation } from '../../src/vmm/safety.js';
import { misdirected, scenarioGuest } from './helpers.js';

/** One VM at 0x2000 in 24 KiB of host memory: [0x1000, 0x2000) and [0x4000, 0x6000) are no VM's. */
const gapped = { reserve: 0x1000, allocations: [{ addr0: 0x2000, vmsize: 0x2000 }], memorySize: 0x6000 };

/** An 8 KiB guest whose kernel runs `kernel` from 0x80 in supervisor mode. */
const kernelGuest = (kernel: string, budget = 200): GuestImage =>
  guestFromSources({
    name: 'kernel',
    profile: classic,
    vmsize: 0x2000,
    programs: [{ at: 0, source: `.org 0x80\n${kernel}` }],
    psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 },
    budget,
  });

/** `[kind, path, access, address]` of each violation kept. */
const seen = (vs: readonly SafetyViolation[]) => vs.map((v) => [v.kind, v.path, v.access, v.address]);

describe('the paths of the VMM, broken', () => {
  it('reflect: the old PSW written through a wrong view lands in the other VM', () => {
    const svc = guestFromSources({
      name: 'svc',
      profile: classic,
      vmsize: 0x2000,
      programs: [
        { at: 0, source: '.org 0\n.psw pc=h, mode=s, limit=0x2000\n.org 0x80\nlpsw up\nh: ld r10, 0x40\nout r10, 1\nhalt\n.align 4\nup: .psw pc=0, mode=u, base=0x1000, limit=0x1000' },
        { at: 0x1000, source: 'svc 0' },
      ],
      psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 },
      budget: 100,
    });
    const run = runVms('vmm', [svc, kernelGuest('li r1, 7\nout r1, 1\nhalt')], { memory: misdirected(0, 0x20, 0x3020) });
    const s = run.vms[0].checks!.safety;
    expect(run.vms[0].console).toBe('5'); // the svc, reflected and handled
    expect(s).toMatchObject({ holds: false, violations: 8 }); // the eight words of the old PSW
    expect(seen(s.kept)).toEqual([0, 4, 8, 12, 16].map((i) => ['access', 'reflect', 'write', 0x3020 + i]));
    expect(s.first!.detail).toBe("reflect: write of 4 bytes at host 0x3020 outside VM 0's memory [0x1000, 0x3000), in VM 1's memory");
    expect(s.first!.retired).toBe(2);
    expect(run.vms[1].checks!.safety.holds).toBe(true); // VM 1 made no bad access: it was written to
  });

  it('emulate: an emulated spsw writes its image outside the VM', () => {
    const r = runGuest('vmm', kernelGuest('spsw 0x200\nhalt'), { layout: gapped, memory: misdirected(0, 0x200, 0x5000) });
    const s = r.checks!.safety;
    expect(s).toMatchObject({ holds: false, violations: 8 });
    expect(s.first).toMatchObject({ kind: 'access', path: 'emulate', access: 'write', address: 0x5000, retired: 0 });
    expect(s.first!.detail).toBe("emulate: write of 4 bytes at host 0x5000 outside VM 0's memory [0x2000, 0x4000), in memory no VM was given");
  });

  it("tick: a virtual timer interrupt delivered through a wrong view, then the kernel's emulated lpsw reads it back", () => {
    const r = runGuest('vmm', scenarioGuest('vmm/spin.yaml', 2000), { layout: gapped, memory: misdirected(0, 0x20, 0x5020) });
    const s = r.checks!.safety;
    expect(s.holds).toBe(false);
    expect(s.first).toMatchObject({ kind: 'access', path: 'tick', access: 'write', address: 0x5020, retired: 502 });
    // three ticks in 2000 instructions, each: the old PSW's eight words written, then six read by `lpsw 0x20`
    expect(s.violations).toBe(3 * (8 + 6));
  });

  it('interpret: the hybrid VMM interprets the kernel over a wrong view; the VMM running it directly is safe', () => {
    const g = kernelGuest('li r2, 5\nl: ld r1, 0x400\naddi r1, r1, 1\nst r1, 0x400\naddi r2, r2, -1\nbne r2, r0, l\nout r1, 1\nhalt');
    const broken = { layout: gapped, memory: misdirected(0, 0x400, 0x5400) };
    const s = runGuest('hvm', g, broken).checks!.safety;
    expect(s.violations).toBe(10); // five loads, five stores
    expect(seen(s.kept.slice(0, 2))).toEqual([
      ['access', 'interpret', 'read', 0x5400],
      ['access', 'interpret', 'write', 0x5400],
    ]);
    expect(runGuest('vmm', g, broken).checks!.safety.holds).toBe(true); // its kernel ran directly, in its own memory
  });
});

describe("the VMM's own code, and the checker's own witnesses", () => {
  /** Two VMs under the VMM, `meddle(host)` called at VM 0's third resume. */
  function meddling(meddle: (host: Monitor['host']) => void): Monitor {
    const loop = () => kernelGuest('li r2, 40\nl: addi r2, r2, -1\nbne r2, r0, l\nout r2, 1\nhalt');
    let resumes = 0;
    const m: Monitor = new Monitor([loop(), loop()], { kind: 'vmm', events: true, safety: 'bus', quantum: 10, observer: (vm) => vm === 0 && ++resumes === 3 && meddle(m.host) });
    m.run();
    return m;
  }

  it("vmm: the VMM's code writing into another VM is charged to the VM it works for", () => {
    const m = meddling((host) => host.mem.write32(0x3ff0, 0)); // the zero already there: only the bus can tell
    const r = m.safety.report();
    expect(r.counts).toEqual([1, 0]);
    expect(seen(r.violations)).toEqual([['access', 'vmm', 'write', 0x3ff0]]);
    expect(r.violations[0].detail).toBe("vmm: write of 4 bytes at host 0x3ff0 outside VM 0's memory [0x1000, 0x3000) and the VMM's memory, in VM 1's memory");
    expect(m.vms[1].equivalence()!.holds).toBe(true); // VM 1 never looks there: only the bus saw it
  });

  it("memory: the VMM's reserve is compared after every exit (here the VMM itself broke its canary)", () => {
    const m = meddling((host) => host.mem.write32(0x800, 0));
    const r = m.safety.report();
    expect(seen(r.violations)).toEqual([['memory', 'vmm', undefined, undefined]]);
    expect(r.violations[0].detail).toMatch(/^the VMM's reserve changed: host word 0x800 was 0x[0-9a-f]+, is 0x0 \(seen after the exit\)$/);
    expect(r.checkpoints).toBe(r.resumes + 1); // after every exit, and at the end
  });

  it('unobserved: a frame written around the bus is named at the next exit', () => {
    const m = meddling((host) => {
      host.mem.store.frameForWrite(2)[0] ^= 1;
    });
    const r = m.safety.report();
    expect(seen(r.violations)).toEqual([['unobserved', 'vmm', undefined, undefined]]);
    expect(r.violations[0].detail).toBe('host frame 0x2 was written without the bus seeing a write in it');
  });
});
