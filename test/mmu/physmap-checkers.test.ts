// The checkers read memory through the general face every guest memory offers (write trackers,
// host ranges), so they work for a guest whose memory lies over a physmap as for a window:
// the equivalence checker compares guest-physical memory, and sees a host write under a guest
// page; the safety checker, on the host bus, holds a VM to host ranges that need not be contiguous.

import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/isa/machine.js';
import { classic } from '../../src/isa/profiles/classic.js';
import { PhysicalMemory } from '../../src/mmu/memory.js';
import { explicitPhysmap } from '../../src/mmu/physmap.js';
import { PhysmapMemory } from '../../src/mmu/physmap-memory.js';
import { EventSource } from '../../src/vmm/events.js';
import { guestFromSources } from '../../src/vmm/guest.js';
import { Lockstep } from '../../src/vmm/lockstep.js';
import { BusChecker } from '../../src/vmm/safety.js';

/** A guest that fills a table across three pages, printing as it goes. */
const filler = guestFromSources({
  name: 'filler',
  profile: classic,
  vmsize: 0x4000,
  programs: [
    {
      at: 0,
      source: `
        .org 0
        .psw pc=0x80, mode=s, limit=0x4000
        .org 0x80
        li   r1, 0x1ff0
        li   r2, 0
loop:   st   r2, (r1)
        addi r1, r1, 0x404
        addi r2, r2, 1
        out  r2, 1
        li   r3, 8
        bne  r2, r3, loop
        halt`,
    },
  ],
  psw: { pc: 0x80, status: 0, base: 0, limit: 0x4000, ptbr: 0, extra: 0 },
  budget: 1000,
});

/** The guest's memory over a pool of host pages handed out in reverse order. */
function pooledMemory(host: PhysicalMemory): PhysmapMemory {
  const r = explicitPhysmap({ guestBytes: 0x4000, pageBytes: 0x1000, hostBytes: host.size, pool: [0xc000, 0x9000, 0x6000, 0x3000].map((hpa) => ({ hpa, size: 0x1000 })) });
  if (!r.ok) throw new Error('pooledMemory');
  return new PhysmapMemory(host, r.physmap);
}

/** Runs `m` (the guest loaded) one step at a time under the equivalence checker; `meddle` after step `at`. */
function checkedRun(m: Machine, meddle?: { at: number; act: () => void }) {
  const lockstep = new Lockstep(filler, m);
  const source = new EventSource(m, true, lockstep.onEvent);
  for (let i = 0; i < filler.budget && m.running; i++) {
    m.run(1, true);
    source.poll();
    if (meddle && i === meddle.at) meddle.act();
  }
  source.end();
  return lockstep.verdict();
}

function loaded(mem: PhysicalMemory): Machine {
  const m = new Machine(filler.config, mem);
  filler.load(m.mem);
  m.loadPsw(filler.psw);
  return m;
}

describe('checkers over a physmap memory', () => {
  it('equivalence holds for the guest over a pool physmap, compared in guest-physical terms', () => {
    const v = checkedRun(loaded(pooledMemory(new PhysicalMemory(0x10000))));
    expect(v.holds).toBe(true);
    expect(v.compared).toBe(10); // 8 console events, halt, end
  });

  it('equivalence sees a host write under a guest page, at its guest-physical address', () => {
    const host = new PhysicalMemory(0x10000);
    const mem = pooledMemory(host);
    const v = checkedRun(loaded(mem), { at: 20, act: () => host.write32(mem.hostAddress(0x1ff4), 0x77) });
    expect(v.holds).toBe(false);
    expect(v.first).toMatchObject({ field: 'memory[0x1ff4]', bare: 0, actual: 0x77 });
  });

  it('safety holds a VM to its host ranges, however scattered: an access in any is fine, one between is not', () => {
    const ranges = (...his: number[]) => his.map((lo) => ({ lo, hi: lo + 0x1000 }));
    const run = (given: { lo: number; hi: number }[]) => {
      const host = new Machine({ profile: classic, memorySize: 0x10000 });
      const vcpu = loaded(pooledMemory(host.mem)); // its pages come from 0xc000, 0x9000, 0x6000, 0x3000 as it touches them
      const safety = new BusChecker('bus', host, [vcpu], { vms: [given], reserve: 0x1000, entry: 0x80 });
      safety.attach();
      safety.act(0, 'execute');
      vcpu.run(filler.budget);
      safety.close();
      expect(vcpu.console).toBe('12345678');
      return safety.report();
    };
    expect(run(ranges(0x3000, 0x6000, 0x9000, 0xc000))).toMatchObject({ counts: [0], violations: [] });
    const r = run(ranges(0x3000, 0x9000, 0xc000));
    expect(r.counts).toEqual([3]); // the three stores that land in the page at 0x6000
    expect(r.violations[0]).toMatchObject({ kind: 'access', vm: 0, path: 'emulate', address: 0x63f4, bytes: 4, access: 'write' });
    expect(r.violations[0].detail).toMatch(/^emulate: write of 4 bytes at host 0x63f4 outside VM 0's memory \(3 host ranges\), in memory no VM was given/);
  });
});
