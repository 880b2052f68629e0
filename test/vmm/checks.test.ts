// The checkers can fail: each is shown a run that breaks its property, and must say where.

import { describe, expect, it } from 'vitest';
import { classic } from '../../src/isa/profiles/classic.js';
import { efficiencyVerdict } from '../../src/vmm/checks.js';
import { compareBare } from '../../src/vmm/lockstep.js';
import { Monitor, type ResumeObserver } from '../../src/vmm/monitor.js';
import { syscallGuest } from '../../src/bench/vmm.js';
import type { PhysicalMemory } from '../../src/mmu/memory.js';
import { guestFromSources, type GuestImage } from '../../src/vmm/guest.js';
import { runGuest, runVms } from '../../src/vmm/run.js';
import { expectEquivalentAndSafe, scenarioGuest } from './helpers.js';

const unclamped = (vb: number, vl: number, a: { addr0: number }) => ({ base: a.addr0 + vb, limit: vl });

/** An 8 KiB guest whose process (base 0x1f00, limit 0x1000) reaches past the end of its memory. */
function prying(user: string): GuestImage {
  return guestFromSources({
    name: 'prying',
    profile: classic,
    vmsize: 0x2000,
    programs: [
      {
        at: 0,
        source: `
          .org 0
          .psw pc=handler, mode=s, limit=0x2000
          .org 0x80
          boot:    lpsw upsw
          handler: ld r10, 0x40          ; print the cause, and r1 after an svc
                   out r10, 1
                   li r11, 5
                   bne r10, r11, stop
                   li r10, ' '
                   out r10, 0
                   out r1, 1
          stop:    halt
                   .align 4
          upsw:    .psw pc=0, mode=u, base=0x1f00, limit=0x1000`,
      },
      { at: 0x1f00, source: `.org 0\n${user}` },
    ],
    psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 },
    budget: 100,
  });
}

/** An 8 KiB guest holding a secret at guest-physical 0x100 that it prints at the end. */
const victim = guestFromSources({
  name: 'victim',
  profile: classic,
  vmsize: 0x2000,
  programs: [{ at: 0, source: '.org 0x80\nli r2, 2000\nw: addi r2, r2, -1\nbne r2, r0, w\nld r1, 0x100\nout r1, 1\nhalt\n.org 0x100\n.word 0x5ec2e7' }],
  psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 },
  budget: 10000,
});

describe('safety', () => {
  it('holds for a process that reaches past its memory under the real construction', () => {
    const run = runVms('vmm', [prying('ld r1, 0x200\nsvc 0'), victim], { quantum: 50 });
    for (const r of run.vms) expectEquivalentAndSafe(r);
    expect(run.vms[0].console).toBe('3');
  });

  it('fails, with the first violation and both snapshots, when L\' is not clamped: the process reads its neighbour', () => {
    const run = runVms('vmm', [prying('ld r1, 0x200\nsvc 0'), victim], { quantum: 50, compose: unclamped });
    const [spy] = run.vms;
    expect(spy.console).toBe(`5 ${0x5ec2e7}`);
    expect(spy.checks!.equivalence.holds).toBe(false);
    const s = spy.checks!.safety;
    expect(s.holds).toBe(false);
    expect(s.first).toMatchObject({ kind: 'access', vm: 0, path: 'direct', address: 0x3100, bytes: 4, access: 'read' });
    expect(s.first!.detail).toBe("direct: read of 4 bytes at host 0x3100 outside VM 0's memory [0x1000, 0x3000), in VM 1's memory");
    expect(s.first!.before!.psw).toMatchObject({ status: 0x101, base: 0x2f00, limit: 0x1000 }); // the real machine as resumed: user mode, IE, B' = addr0 + 0x1f00, L' not clamped
    expect(s.first!.after).toBeDefined();
    expect(run.vms[1].checks!.safety.holds).toBe(true);
  });

  it('sees a write into another VM at the access, with no tracing', () => {
    const run = runVms('vmm', [prying('li r1, 7\nst r1, 0x200\nsvc 0'), victim], { quantum: 50, compose: unclamped });
    expect(run.safety.violations.map((v) => [v.kind, v.path, v.access, v.address])).toEqual([['access', 'direct', 'write', 0x3100]]);
    expect(run.vms[0].checks!.safety).toMatchObject({ holds: false, violations: 1 });
    expect(run.vms[1].console).toBe('7');
    expect(run.vms[1].checks!.equivalence.holds).toBe(false);
  });
});

describe('equivalence', () => {
  it('reports the first event whose virtual view differs, with both snapshots', () => {
    // ticks' process never writes r7 and its kernel never saves it: a different initial r7 shows
    // at the first trap (LDE would not do: its kernel reloads every register from its tables)
    const ticks = scenarioGuest('vmm/ticks.yaml');
    const other = { ...ticks, regs: ticks.regs.map((v, i) => (i === 7 ? 99 : v)) };
    const v = compareBare(ticks, other);
    expect(v.holds).toBe(false);
    expect(v.first!.index).toBe(0);
    expect(v.first!.field).toBe('regs.7');
    expect([v.first!.bare, v.first!.actual]).toEqual([0, 99]);
    expect(v.first!.bareEvent!.snapshot.regs[7]).toBe(0);
    expect(v.first!.actualEvent!.snapshot.regs[7]).toBe(99);
  });

  it('finds no divergence where the guest cannot observe one (LDE reloads every register)', () => {
    const lde = scenarioGuest('lde.yaml');
    const other = { ...lde, regs: lde.regs.map((v, i) => (i === 13 ? 99 : v)) };
    expect(compareBare(lde, other).holds).toBe(true);
  });

  it('reports a missing event as an event divergence', () => {
    const lde = scenarioGuest('lde.yaml');
    const v = compareBare(lde, { ...lde, budget: 5000 });
    expect(v.holds).toBe(false);
    expect(v.first!.field).toBe('event');
    expect(v.first!.actual).toBe('end at 5000');
  });
});

describe('efficiency', () => {
  it('is a threshold on measured figures, and the hybrid VMM is not asked to run kernel code directly', () => {
    const f = runGuest('vmm', scenarioGuest('lde.yaml'), { check: false }).efficiency!;
    expect(efficiencyVerdict(f, 'vmm').holds).toBe(true);
    expect(efficiencyVerdict(f, 'vmm', 0.999).holds).toBe(false);
    expect(efficiencyVerdict({ ...f, untrappedSoftware: 1 }, 'vmm').holds).toBe(false);
    expect(efficiencyVerdict({ ...f, untrappedSoftware: 1 }, 'hvm').holds).toBe(true);
  });
});

describe('equivalence in lockstep: what it compares, and that it can fail', () => {
  const lde = () => scenarioGuest('lde.yaml');

  it('sees a VMM that scribbles on guest memory outside any direct run: the write log names the frame', () => {
    let resumes = 0;
    const observer: ResumeObserver = (_vm, vcpu) => {
      if (++resumes === 40) vcpu.mem.write8(0x7ff0, 0x80); // a byte the guest never touches
    };
    const m = new Monitor([lde()], { kind: 'vmm', events: true, observer });
    m.run();
    const v = m.vms[0].equivalence()!;
    expect(v.holds).toBe(false);
    expect(v.first).toMatchObject({ field: 'memory[0x7ff0]', bare: 0, actual: 0x80 });
    expect(v.first!.actualEvent!.snapshot.memory.read8(0x7ff0)).toBe(0x80);
    expect(v.first!.bareEvent!.snapshot.memory.read8(0x7ff0)).toBe(0);
  });

  it('sees a difference in the initial memory: the first comparison looks at every frame', () => {
    const g = lde();
    let loads = 0;
    const skewed = { ...g, load: (mem: PhysicalMemory) => { g.load(mem); if (loads++ === 0) mem.write8(0x7ff0, 1); } }; // the VM is loaded first
    const r = runGuest('vmm', skewed);
    expect(r.checks!.equivalence.first).toMatchObject({ index: 0, field: 'memory[0x7ff0]', bare: 0, actual: 1 });
  });

  it('reports console differences as bounded excerpts', () => {
    const printer = (extra: string) =>
      guestFromSources({
        name: 'printer',
        profile: classic,
        vmsize: 0x2000,
        programs: [{ at: 0, source: `.org 0x80\nli r2, 300\nli r1, 97\nl: out r1, 0\naddi r2, r2, -1\nbne r2, r0, l\n${extra}\nhalt` }],
        psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 },
        budget: 2000,
      });
    let n = 0;
    const observer: ResumeObserver = (_vm, vcpu) => {
      if (++n === 250) vcpu.console += 'Z';
    };
    const m = new Monitor([printer('')], { kind: 'vmm', events: true, observer });
    m.run();
    const d = m.vms[0].equivalence()!.first!;
    expect(d.field).toBe('console');
    expect(String(d.actual)).toMatch(/^\[24\d\] a+Z/);
    expect(String(d.actual).length).toBeLessThan(100);
  });

  it('catches console text changed in place (same length, count and hash) at the end at the latest', () => {
    const g = guestFromSources({
      name: 'printer',
      profile: classic,
      vmsize: 0x2000,
      programs: [{ at: 0, source: `.org 0x80\nli r2, 300\nli r1, 97\nl: out r1, 0\naddi r2, r2, -1\nbne r2, r0, l\nhalt` }],
      psw: { pc: 0x80, status: 0, base: 0, limit: 0x2000, ptbr: 0, extra: 0 },
      budget: 2000,
    });
    let n = 0;
    const observer: ResumeObserver = (_vm, vcpu) => {
      if (++n === 250) vcpu.console = `${vcpu.console.slice(0, -1)}Z`;
    };
    const m = new Monitor([g], { kind: 'vmm', events: true, observer });
    m.run();
    expect(m.vms[0].equivalence()!.first).toMatchObject({ field: 'console' });
  });

  it('keeps no snapshot per event: frames copied on write do not grow with the number of traps', () => {
    const copies = (n: number) => {
      const m = new Monitor([syscallGuest(n)], { kind: 'vmm', events: true, safety: 'bus' });
      m.run();
      expect(m.vms[0].equivalence()!.holds).toBe(true);
      return m.host.mem.store.framesCopied;
    };
    expect(copies(2000)).toBe(copies(50));
  });
});

describe('no verdict holds when nothing was checked', () => {
  it('safety without instrumentation, efficiency of a run that retired nothing', () => {
    const lde = scenarioGuest('lde.yaml');
    const off = runGuest('vmm', lde, { safety: 'off' }).checks!.safety;
    expect(off.holds).toBe(false);
    expect(off.note).toMatch(/not checked/);
    const none = runGuest('vmm', { ...lde, budget: 0 }).checks!;
    expect(none.efficiency.holds).toBe(false);
    expect(none.equivalence).toMatchObject({ holds: true, compared: 1 }); // the end, compared
  });
});
