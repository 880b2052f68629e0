// Nested paging as a memory strategy: random paging guests run bare and under the nested-paging
// VMM (contiguous and on-demand physmaps) are equivalent and safe — and so under shadow paging; the checkers fail on purpose
// when the VMM's stage-2 table sends a guest page into the VMM's own memory or another VM's —
// a read alone, and a table walk, included. The guest has one TLB: an emulated instruction
// translates through the entries the direct run left, stale ones included.

import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { Cause } from '../../src/isa/arch.js';
import { map } from '../../src/paging/index.js';
import { parseScenario } from '../../src/scenario/load.js';
import { guestOf } from '../../src/scenario/under.js';
import { Monitor, runGuest, type GuestImage, type NestedOptions } from '../../src/vmm/index.js';
import { NestedMemory } from '../../src/vmm/nested-memory.js';
import { programText, RESUMING_KERNEL } from '../isa/programs.js';
import { describeDivergence, expectEquivalentAndSafe, scenarioGuest } from './helpers.js';
import { fcParams, PROPERTY_TIMEOUT } from './params.js';

/** A paging guest: the resuming kernel unpaged at 0, the random `program` as a user process at virtual 0x400000 with three data pages at virtual 0. */
function pagingGuest(program: string, budget = 400, trapSwitchesAddressSpace = true) {
  const kernel = RESUMING_KERNEL.replace(/MEM/g, '0x40000').replace(/MAXTRAPS/g, '12');
  const text = `machine:
  memory: 256 KiB
  translation: paging
  trapSwitchesAddressSpace: ${trapSwitchesAddressSpace}
  paging: { geometry: x86-32, tlb: { entries: 8, ways: 2 } }
pageTables:
  - name: upt
    map:
      - { va: 0x400000, pa: 0x10000, size: 4 KiB, perms: rxu }
      - { va: 0, pa: 0x20000, size: 12 KiB, perms: rwu }
programs:
  - { name: kernel, at: 0, source: ${JSON.stringify(kernel)} }
  - { name: user, at: 0x10000, org: 0x400000, source: ${JSON.stringify(`.org 0x400000\n${program}`)} }
psw: { pc: 0x400000, mode: u, pg: true, ptbr: upt }
steps: ${budget}
`;
  return guestOf(parseScenario(text, 'random-paging.yaml'));
}

const program = programText({ length: 24, span: 0x3000 });

describe('nested paging', () => {
  it.each<['nested' | 'shadow-eager' | 'shadow-lazy', string, NestedOptions, boolean]>([
    ['nested', 'contiguous', {}, true],
    ['nested', 'on-demand', { memory: 0x60000, physmaps: ['on-demand'] }, true],
    ['shadow-eager', 'contiguous', {}, true],
    ['shadow-eager', 'on-demand', { memory: 0x80000, physmaps: ['on-demand'] }, true],
    ['shadow-lazy', 'contiguous', {}, true],
    ['shadow-eager', 'contiguous, traps keeping the address space (the VMM\'s region pinned in every space)', {}, false],
  ])('random paging guests are equivalent and safe under %s (%s physmap)', (kind, _name, nested, switches) => {
    fc.assert(
      fc.property(program, (text) => {
        const r = runGuest(kind, pagingGuest(text, 400, switches), { nested });
        const c = r.checks!;
        if (!c.equivalence.holds) throw new Error(`not equivalent: ${describeDivergence(c.equivalence.first)}`);
        if (!c.safety.holds) throw new Error(`not safe: ${c.safety.first?.detail}`);
      }),
      fcParams(40),
    );
  }, PROPERTY_TIMEOUT);

  it('a first touch of an on-demand page is a stage-2 fault the VMM repairs, invisible to the guest', () => {
    const r = runGuest('nested', pagingGuest('li r1, 5\nst r1, 0x2000\nld r2, 0x2000\nsvc 0\n'), { nested: { memory: 0x60000, physmaps: ['on-demand'] } });
    expect(r.checks!.equivalence.holds).toBe(true);
    expect(r.efficiency!.exits.repair).toBeGreaterThan(0);
    expect(r.traps[`cause ${Cause.Stage2}`] ?? r.traps['stage2-fault'] ?? 0).toBe(0);
  });

  /** A nested-paging monitor for `guests` whose VM 0 has guest-physical page `gpa` sent to host `hpa` by its stage-2 table. */
  function misMapped(guests: GuestImage[], gpa: number, hpa: number): Monitor {
    const m = new Monitor(guests, { kind: 'nested', events: true, safety: 'bus' });
    const mem = m.vms[0].memory as NestedMemory;
    map(mem.stage2, m.host.mem, mem.root, gpa, hpa, 4096, { write: true, user: true }, () => {
      throw new Error('no table needed');
    });
    return m;
  }

  it('the checkers fail when the stage-2 table sends a guest page into the VMM\'s reserve: the write at the access, the reserve after the exit', () => {
    // guest-physical 0x21000 (the data page at virtual 0x1000) now lies in the VMM's reserve
    const m = misMapped([pagingGuest('li r1, 0x5a5a\nst r1, 0x1000\nld r2, 0x1000\nsvc 0\n', 50)], 0x21000, 0);
    m.run();
    const found = m.safety.report().violations.map((v) => [v.kind, v.path, v.access, v.address, v.retired]);
    expect(found).toEqual([
      ['access', 'direct', 'write', 0, 1],
      ['access', 'direct', 'read', 0, 2],
      ['memory', 'vmm', undefined, undefined, 4], // the VMM's entry PSW, found changed at the svc's exit
    ]);
    expect(m.safety.report().violations[0].detail).toBe("direct: write of 4 bytes at host 0x0 outside VM 0's memory [0x3000, 0x43000), in the VMM's reserve");
    expect(m.vms[0].equivalence()!.holds).toBe(false);
  });

  it('a read alone is caught, though the guest never uses what it read: a stage-2 entry into the reserve, or into another VM', () => {
    const reader = () => pagingGuest('ld r2, 0x1000\nli r2, 0\nsvc 0\n', 50);
    const one = misMapped([reader()], 0x21000, 0);
    one.run();
    expect(one.vms[0].equivalence()!.holds).toBe(true); // nothing the guest can see
    expect(one.safety.report().violations.map((v) => [v.kind, v.path, v.access, v.address])).toEqual([['access', 'direct', 'read', 0]]);
    const two = misMapped([reader(), reader()], 0x21000, 0x66000);
    two.run();
    const r = two.safety.report();
    expect(r.counts).toEqual([1, 0]);
    expect(r.violations[0].detail).toBe("direct: read of 4 bytes at host 0x66000 outside VM 0's memory [0x5000, 0x45000), in VM 1's memory");
  });

  it('a table walk is held to the VM\'s memory and the stage-2 tables: the guest\'s page directory sent into the reserve', () => {
    const guest = pagingGuest('li r1, 1\nsvc 0\n', 50);
    const m = misMapped([guest], guest.psw.ptbr, 0);
    m.run();
    const [first] = m.safety.report().violations;
    expect(first).toMatchObject({ kind: 'access', path: 'walk', access: 'read', retired: 0 });
    expect(first.detail).toMatch(/^walk: read of 4 bytes at host 0x[0-9a-f]+ outside VM 0's memory \[0x3000, 0x43000\) and the stage-2 table area, in the VMM's reserve$/);
  });

  it('an emulated lpsw reads its PSW image through the stale TLB entry the direct loads used, as bare hardware does (nested/stale-emulated); without the TLB handed to the virtual CPU, a fresh walk faults and the run diverges', () => {
    const guest = scenarioGuest('nested/stale-emulated.yaml');
    const r = runGuest('nested', guest);
    expectEquivalentAndSafe(r);
    expect(r.console).toBe('ok');

    const broken = vi.spyOn(NestedMemory.prototype, 'beforeVcpu').mockImplementation(() => {});
    try {
      const b = runGuest('nested', guest);
      expect(b.checks!.equivalence.holds).toBe(false);
      expect(b.console).toBe('F');
      expect(b.traps['page-fault']).toBe(1);
    } finally {
      broken.mockRestore();
    }
  });
});
